"""Values a person set that no template uses: most often a typo (`--set replicaCont=5`), which
would otherwise be ignored without a word. Pure.

A value set in an environment, a values file, -f or --set is used when a template read it while
rendering, or read a mapping or list holding it whole (kdeploy.valuereads), or names it in its
source, or the package declares it (its values.yaml has the key, or values.schema.yaml a property
for it). Docs: docs/lint-rules.md#values-unused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kdeploy.model import ValuesLayer
from kdeploy.origins import ValuePath, describe_layer, set_where, user_set_paths
from kdeploy.valuereads import ValueReads


@dataclass(frozen=True)
class UnusedValue:
    """A value set by `origin` (`environments/prod.yaml:7`, `--set replicaCont=5`) that no
    template uses, with the nearest key the package does use, if one is close."""

    path: ValuePath
    origin: str
    suggestion: ValuePath | None = None
    # set for every release of the environment, and used by none of them
    shared: bool = False

    def describe(self, *, with_origin: bool = True) -> str:
        """`replicaCont (set by --set replicaCont) is not used by any template; did you mean
        replicaCount?` (without the parenthesis when not `with_origin`)."""
        from kdeploy.validate import format_path

        by_what = "any release's templates" if self.shared else "any template"
        origin = f" ({set_where(self.origin)})" if with_origin else ""
        text = f"{format_path(self.path)}{origin} is not used by {by_what}"
        if self.suggestion is not None:
            text += f"; did you mean {format_path(self.suggestion)}?"
        return text


@dataclass(frozen=True)
class PackageUse:
    """What one package is known to use: its defaults, its schema, the values its templates name
    (kdeploy.valuereads.mentioned_values) and, for one release, what the render read."""

    defaults: Any
    schema: Any
    # the paths its templates name: asked for only when a value is neither read nor declared,
    # since reading every template's source again costs more than the render
    mentions: Callable[[], frozenset[ValuePath]]
    # application dependencies: (alias, what the dependency uses of the values under alias)
    dependencies: tuple[tuple[str, PackageUse], ...] = ()
    # the `condition:` paths of the dependencies, read when the release renders
    conditions: frozenset[ValuePath] = frozenset()

    def declares(self, path: ValuePath) -> bool:
        """True when values.yaml has the key at `path` (or a list above it), or the schema
        declares it (a property, or a mapping or list of free-form entries above it), or a
        dependency uses it (under its alias), or it is a dependency's condition."""
        if path in self.conditions:
            return True
        if _in_defaults(self.defaults, path) or _in_schema(self.schema, path):
            return True
        return any(path[:1] == (alias,) and use.uses(path[1:]) for alias, use in self.dependencies)

    def names(self, path: ValuePath) -> bool:
        """True when a template names `path`, a value holding it or one inside it."""
        return any(m[: len(path)] == path or path[: len(m)] == m for m in self.mentions())

    def uses(self, path: ValuePath, reads: ValueReads | None = None) -> bool:
        """True when the package uses `path` (with `reads`, what one render read)."""
        if reads is not None and reads.covers(path):
            return True
        return self.declares(path) or self.names(path)

    def known_paths(self, reads: ValueReads | None = None) -> set[ValuePath]:
        """Every path the package is known to use, for suggestions."""
        known = set(self.mentions()) | set(self.conditions)
        known.update(_paths(self.defaults))
        known.update(_schema_paths(self.schema))
        for alias, use in self.dependencies:
            known.add((alias,))
            known.update((alias, *path) for path in use.known_paths())
        if reads is not None:
            known.update(reads.entered)
        return known


def unused_values(
    layers: Sequence[ValuesLayer], use: PackageUse, reads: ValueReads
) -> list[UnusedValue]:
    """The values set by `layers` (a release's, lowest precedence first) that the package does
    not use in this render, each named by the layer whose value is in effect (file:line)."""
    found = []
    known: set[ValuePath] | None = None
    for path, layer in user_set_paths(layers).items():
        if use.uses(path, reads):
            continue
        if known is None:
            known = use.known_paths(reads)
        found.append(
            UnusedValue(
                path=path,
                origin=describe_layer(layer, path),
                suggestion=nearest(path, known),
                shared=layer.shared,
            )
        )
    return found


def nearest(path: ValuePath, known: Iterable[ValuePath]) -> ValuePath | None:
    """The known path that `path` most likely misspells: at the first key of `path` that is not
    known, the closest known key at that level (None when none is close)."""
    known = set(known)
    for depth in range(len(path)):
        if path[: depth + 1] in known:
            continue
        key = path[depth]
        if not isinstance(key, str):
            return None
        siblings = {
            sibling
            for k in known
            if len(k) > depth and k[:depth] == path[:depth]
            for sibling in (k[depth],)
            if isinstance(sibling, str)
        }
        import difflib  # only when a value is unused: render pays for it then

        close = difflib.get_close_matches(key, sorted(siblings), n=1, cutoff=0.6)
        return (*path[:depth], close[0], *path[depth + 1 :]) if close else None
    return None


def _in_defaults(node: Any, path: ValuePath) -> bool:
    for key in path:
        if isinstance(node, list):
            return True
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def _in_schema(schema: Any, path: ValuePath) -> bool:
    node = schema
    for key in path:
        if not isinstance(node, dict):
            return False
        if node.get("type") == "array" or "items" in node:
            return True
        props = node.get("properties")
        if not (isinstance(props, dict) and key in props):
            # free-form entries (a map of labels, of environment variables...) hold any key
            return bool(
                node.get("patternProperties") or isinstance(node.get("additionalProperties"), dict)
            )
        node = props[key]
    return isinstance(node, dict)


def _paths(node: Any, prefix: ValuePath = ()) -> Iterable[ValuePath]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))


def _schema_paths(node: Any, prefix: ValuePath = ()) -> Iterable[ValuePath]:
    props = node.get("properties") if isinstance(node, dict) else None
    if isinstance(props, dict):
        for key, sub in props.items():
            yield (*prefix, key)
            yield from _schema_paths(sub, (*prefix, key))
