"""Where a value of a release came from: the values layer that set it, as `file:line` for a file
(an environment, its valuesFiles, a -f file) or as the flag (`--set web:replicas=0`).

Files are read again only when a message needs a line (kdeploy.yamlio.key_lines), so loading stays
on the fast path.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from kdeploy.model import Package, ValuesLayer

ValuePath = tuple[str | int, ...]
_MISSING = object()


def lookup(values: Any, path: Sequence[Any]) -> Any:
    """The value at `path` in `values`, or the module's _MISSING marker (see `holds`)."""
    node = values
    for part in path:
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not in_list and not (isinstance(node, dict) and part in node):
            return _MISSING
        node = node[part]
    return node


def holds(values: Any, path: Sequence[Any]) -> bool:
    """True when `values` has a value at `path` (a null one too)."""
    return lookup(values, path) is not _MISSING


@functools.lru_cache(maxsize=32)
def _file_lines(file: Path, mtime_ns: int) -> dict[tuple[str, ...], int]:
    from kdeploy.yamlio import key_lines

    try:
        return key_lines(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return {}


def line_in_file(layer: ValuesLayer, path: Sequence[Any]) -> int | None:
    """The line of the file of `layer` where the key (or list item) at `path` of its values is
    written (or in its text, for standard input), or None when the layer is no file or the file
    has changed since."""
    if layer.text is not None:
        from kdeploy.yamlio import key_lines

        lines = key_lines(layer.text)
    elif layer.file is None:
        return None
    else:
        try:
            mtime = layer.file.stat().st_mtime_ns
        except OSError:
            return None
        lines = _file_lines(layer.file, mtime)
    key = tuple(str(p) for p in (*layer.root, *path))
    # a value set inside a list or a flow mapping: the nearest line written for its path
    while key and key not in lines:
        key = key[:-1]
    return lines.get(key) if key else None


def describe_layer(layer: ValuesLayer, path: Sequence[Any]) -> str:
    """`environments/prod.yaml:12` for a file layer (the file and the line that sets `path`),
    else the layer's source (`--set replicas=0`)."""
    line = line_in_file(layer, path)
    if line is None or not layer.shown:
        return layer.source
    return f"{layer.shown}:{line}"


def set_where(origin: str) -> str:
    """`set in environments/prod.yaml:7`, `set by --set replicas=0`."""
    return f"set {'by' if origin.startswith('-') else 'in'} {origin}"


def setting_layer(layers: Sequence[ValuesLayer], path: Sequence[Any]) -> ValuesLayer | None:
    """The layer of `layers` (lowest precedence first) whose value at `path` is the one in effect:
    the last that holds it. None when no layer does."""
    for layer in reversed(layers):
        if holds(layer.values, path):
            return layer
    return None


def set_paths(values: Any, prefix: ValuePath = ()) -> Iterator[ValuePath]:
    """The path of every value that `values` (one layer) sets: the leaves of its mappings. A list
    is one value, an empty mapping too; a null sets nothing (it removes a key)."""
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from set_paths(value, (*prefix, key))
    elif values is not None and prefix:
        yield prefix


def user_set_paths(layers: Sequence[ValuesLayer]) -> dict[ValuePath, ValuesLayer]:
    """Every value path that `layers` set, with the layer whose value is in effect (the last)."""
    found: dict[ValuePath, ValuesLayer] = {}
    for layer in layers:
        for path in set_paths(layer.values):
            found.pop(path, None)  # keep the order of the last layer that set it
            found[path] = layer
    return found


def package_defaults_layer(package: Package) -> ValuesLayer:
    """The package's values.yaml as the lowest layer."""
    from kdeploy.project import PACKAGES_DIR, VALUES_FILE

    shown = f"{PACKAGES_DIR}/{package.path.name}/{VALUES_FILE}"
    return ValuesLayer(
        source=shown, values=package.defaults, file=package.path / VALUES_FILE, shown=shown
    )


def origin_finder(
    layers: Sequence[ValuesLayer], prefix: Sequence[Any] = ()
) -> Callable[[Sequence[Any]], str | None]:
    """A function giving, for a value path (under `prefix`: a dependency's values are under its
    alias), where the value in effect was set (describe_layer of the last of `layers` that holds
    it), or None when none does."""

    def find(path: Sequence[Any]) -> str | None:
        full = (*prefix, *path)
        layer = setting_layer(layers, full)
        return None if layer is None else describe_layer(layer, full)

    return find
