"""Which values a package's templates use: tracked while they render, and read from their source.

While a release renders, its templates see `values` as a TrackedValues mapping that records every
key a template reads. Reading a scalar or a list reads it; going into a mapping
(`values.image.tag`) only enters `image`; anything that takes a whole mapping (`toyaml`, `tojson`,
`items()`, a `for` loop, printing it) reads all of it. Since a template may skip a value only
because of another (`{% if values.ingress.enabled %}`), the values named in the templates' source
(`values.ingress.host`, in any branch or macro) count as used too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from jinja2 import nodes

ValuePath = tuple[str | int, ...]
# names under which templates hold the values: the context's, and the macros' parameters
_VALUES_NAMES = frozenset({"values"})
_WHOLE_METHODS = frozenset({"items", "keys", "values"})


class ValueReads:
    """The values read during one render: `read` paths were read whole (with all below them),
    `entered` ones are those a read went through or into."""

    def __init__(self) -> None:
        self.read: set[ValuePath] = set()
        self.entered: set[ValuePath] = set()

    def add(self, path: ValuePath, *, whole: bool) -> None:
        """Record that a template read `path` (whole: with everything below it)."""
        if whole:
            self.read.add(path)
        for end in range(len(path) + 1):
            self.entered.add(path[:end])

    def covers(self, path: ValuePath) -> bool:
        """True when the value at `path` was used: it, or a mapping or list holding it, was read
        whole, or a template looked up something below it."""
        if path in self.entered:
            return True
        return any(path[:end] in self.read for end in range(len(path)))


class TrackedValues(dict[Any, Any]):
    """A read-only view of a values mapping that records what templates read of it (the sandbox
    refuses the mutating dict methods on it as on any dict)."""

    __slots__ = ("_kdeploy_path", "_kdeploy_reads")

    def __init__(self, data: dict[Any, Any], reads: ValueReads, path: ValuePath = ()) -> None:
        super().__init__(data)
        self._kdeploy_reads = reads
        self._kdeploy_path = path

    def _whole(self) -> None:
        self._kdeploy_reads.add(self._kdeploy_path, whole=True)

    def __getitem__(self, key: Any) -> Any:
        value = dict.__getitem__(self, key)
        path = (*self._kdeploy_path, key)
        if type(value) is dict:
            self._kdeploy_reads.add(path, whole=not value)
            return TrackedValues(value, self._kdeploy_reads, path)
        self._kdeploy_reads.add(path, whole=True)
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if dict.__contains__(self, key) else default

    def __contains__(self, key: object) -> bool:
        found = dict.__contains__(self, key)
        if found:
            self._kdeploy_reads.add((*self._kdeploy_path, key), whole=True)  # type: ignore[arg-type]
        return found

    def __iter__(self) -> Iterator[Any]:
        self._whole()
        return dict.__iter__(self)

    def items(self) -> Any:
        self._whole()
        return dict.items(self)

    def keys(self) -> Any:
        self._whole()
        return dict.keys(self)

    def values(self) -> Any:
        self._whole()
        return dict.values(self)

    def copy(self) -> dict[Any, Any]:
        self._whole()
        return dict(dict.items(self))

    def __repr__(self) -> str:
        self._whole()
        return dict.__repr__(self)

    __str__ = __repr__

    def __reduce__(self) -> Any:
        self._whole()
        return (dict, (dict(dict.items(self)),))


def mentioned_values(templates: Iterable[nodes.Template]) -> set[ValuePath]:
    """The value paths the templates name in their source, each as far as it is written
    (`values.image.tag` gives ("image", "tag"); `values.env[name]` gives ("env",), since any key
    of it may be read). `values` alone, handed whole to a macro, is left out: what the macro reads
    of it is tracked while rendering."""
    found: set[ValuePath] = set()
    for template in templates:
        _collect(template, found)
    found.discard(())
    return found


def _chain(node: nodes.Node) -> ValuePath | None:
    """The path `node` names when it is `values`, `values.a`, `values["a"]`, `values.get("a")`..."""
    if isinstance(node, nodes.Name):
        return () if node.name in _VALUES_NAMES else None
    if isinstance(node, nodes.Getattr):
        base = _chain(node.node)
        return None if base is None else (*base, node.attr)
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        key = node.arg.value
        base = _chain(node.node)
        if base is None or not isinstance(key, (str, int)):
            return None
        return (*base, key)
    if (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Getattr)
        and node.node.attr == "get"
        and node.args
        and isinstance(node.args[0], nodes.Const)
        and isinstance(node.args[0].value, str)
    ):
        base = _chain(node.node.node)
        return None if base is None else (*base, node.args[0].value)
    return None


def _collect(node: nodes.Node, found: set[ValuePath]) -> None:
    path = _chain(node)
    if path is not None:
        if path and path[-1] in _WHOLE_METHODS:
            path = path[:-1]  # values.env.items(): all of env
        found.add(path)
        if isinstance(node, nodes.Call):
            for arg in node.args[1:]:
                _collect(arg, found)
        return
    for child in node.iter_child_nodes():
        _collect(child, found)
