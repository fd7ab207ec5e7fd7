"""Structural type information for Kubernetes kinds, from the OpenAPI definitions shipped offline
with `kubernetes-validate`, plus the openAPIV3Schema of CRDs registered at run time.

The navigator answers what server-side apply and strategic merge patch need at each field: is the
value a struct, a map or a list; for lists, their SSA type (atomic, set, or map with key fields) and
their strategic-merge patch strategy and merge key. Kinds without a schema are "deduced" like the
real server does for unknown types: maps are granular, lists atomic.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

GVK = tuple[str, str, str]

SCHEMA_VERSION_DIR: Final = "v1.37.0-local-strict"
OBJECT_META_DEF: Final = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

# Node kinds.
SCALAR: Final = "scalar"
STRUCT: Final = "struct"
MAP: Final = "map"
LIST: Final = "list"
# No schema: the value decides (dicts are granular maps, lists atomic).
UNTYPED: Final = "untyped"

_SCALAR_TYPES: Final = frozenset({"string", "integer", "number", "boolean"})


def definitions_path() -> Path:
    """Path of the bundled `_definitions.json` (JSON Schema 2020-12, `$defs` keyed by
    `io.k8s.api.apps.v1.Deployment`-style names)."""
    import kubernetes_validate

    base = Path(kubernetes_validate.__file__).parent
    return base / "kubernetes-json-schema" / SCHEMA_VERSION_DIR / "_definitions.json"


def _type_names(raw: Mapping[str, Any]) -> set[str]:
    t = raw.get("type")
    if isinstance(t, str):
        return {t}
    if isinstance(t, list):
        return {x for x in t if isinstance(x, str) and x != "null"}
    return set()


class TypeNode:
    """The type of one position in an object. Children are built lazily and memoised, so walking
    the same paths again (every apply does) costs dictionary lookups only."""

    __slots__ = (
        "_children",
        "_elem",
        "_index",
        "_items",
        "_props",
        "atomic",
        "crd",
        "definition",
        "kind",
        "list_keys",
        "list_type",
        "patch_merge_key",
        "patch_strategy",
        "required",
        "root",
        "scalar",
    )

    def __init__(
        self,
        index: _DefinitionIndex | None,
        raw: Mapping[str, Any] | None,
        *,
        root: bool = False,
        crd: bool = False,
    ) -> None:
        self._index = index
        self._children: dict[str, TypeNode] = {}
        self._props: Mapping[str, Any] | None = None
        self._elem: Mapping[str, Any] | None = None
        self._items: Mapping[str, Any] | TypeNode | None = None
        self.root = root
        self.crd = crd
        self.definition = ""
        self.kind = UNTYPED
        self.list_type = ""
        self.list_keys: tuple[str, ...] = ()
        self.patch_strategy = ""
        self.patch_merge_key = ""
        self.atomic = False
        self.required: frozenset[str] = frozenset()
        # the JSON type a scalar must have: "numeric", "string", "boolean", or "" (any)
        self.scalar = ""
        if raw is None:
            return
        target: Mapping[str, Any] = raw
        # Extensions written beside a `$ref` (on the property) win over those of the definition.
        ext: dict[str, Any] = {}
        for _ in range(16):
            ext = {**{k: v for k, v in target.items() if k.startswith("x-")}, **ext}
            ref = target.get("$ref")
            if ref is None:
                all_of = target.get("allOf")
                if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
                    ref = all_of[0].get("$ref")
            if not isinstance(ref, str) or index is None:
                break
            name = ref.rsplit("/", 1)[-1]
            resolved = index.defs.get(name)
            if resolved is None:
                break
            self.definition = name
            target = resolved
        self.patch_strategy = str(ext.get("x-kubernetes-patch-strategy", ""))
        self.patch_merge_key = str(ext.get("x-kubernetes-patch-merge-key", ""))
        types = _type_names(target)
        props = target.get("properties")
        addl = target.get("additionalProperties")
        if "array" in types or "items" in target:
            self.kind = LIST
            items = target.get("items")
            self._items = items if isinstance(items, dict) else None
            lt = ext.get("x-kubernetes-list-type")
            keys = ext.get("x-kubernetes-list-map-keys")
            # Built-in types without a list type: merge strategy + merge key means a map.
            if (
                lt is None
                and not crd
                and "merge" in self.patch_strategy.split(",")
                and self.patch_merge_key
            ):
                lt, keys = "map", [self.patch_merge_key]
            self.list_type = str(lt) if lt in ("atomic", "set", "map") else "atomic"
            if self.list_type == "map":
                self.list_keys = tuple(str(k) for k in keys or ())
                if not self.list_keys:
                    self.list_type = "atomic"
        elif isinstance(props, dict) and props:
            self.kind = STRUCT
            self._props = props
            required = target.get("required")
            if isinstance(required, list):
                self.required = frozenset(str(r) for r in required)
        elif isinstance(addl, dict):
            self.kind = MAP
            self._elem = addl
        elif (
            types & _SCALAR_TYPES
            or "oneOf" in target
            or "anyOf" in target
            or ext.get("x-kubernetes-int-or-string")
        ):
            self.kind = SCALAR
            if not (
                ext.get("x-kubernetes-int-or-string") or "oneOf" in target or "anyOf" in target
            ):
                if types & {"integer", "number"}:
                    self.scalar = "numeric"
                elif types == {"string"} or types == {"boolean"}:
                    self.scalar = next(iter(types))
        else:
            self.kind = UNTYPED
        map_type = ext.get("x-kubernetes-map-type")
        self.atomic = map_type == "atomic" or (self.kind == LIST and self.list_type == "atomic")
        if crd and self.kind == STRUCT and ext.get("x-kubernetes-embedded-resource"):
            self.root = True

    def __repr__(self) -> str:
        extra = f" {self.list_type}{list(self.list_keys) or ''}" if self.kind == LIST else ""
        return f"<TypeNode {self.kind}{extra} {self.definition}>"

    def field(self, name: str) -> TypeNode:
        """Type of the struct field or map value `name` (an untyped node if unknown)."""
        node = self._children.get(name)
        if node is not None:
            return node
        index = self._index
        crd = self.crd
        if self.root and name == "metadata" and index is not None:
            node = index.object_meta()
        elif self.kind == STRUCT and self._props is not None and name in self._props:
            node = TypeNode(index, self._props[name], crd=crd)
        elif self.kind == MAP and self._elem is not None:
            node = TypeNode(index, self._elem, crd=crd)
        else:
            node = _UNTYPED
        self._children[name] = node
        return node

    @property
    def items(self) -> TypeNode:
        """Type of the elements of a list (untyped if unknown)."""
        cached = self._items
        if isinstance(cached, TypeNode):
            return cached
        if cached is None:
            return _UNTYPED
        node = TypeNode(self._index, cached, crd=self.crd)
        self._items = node
        return node

    def has_field(self, name: str) -> bool:
        """True if `name` is a declared field of this struct (not a map key)."""
        return self.kind == STRUCT and self._props is not None and name in self._props

    def at(self, *path: str) -> TypeNode:
        """Walk struct fields / map keys; the element `[]` steps into list items."""
        node = self
        for part in path:
            node = node.items if part == "[]" else node.field(part)
        return node

    @property
    def merge_list(self) -> bool:
        """True if strategic merge patch merges this list (patch strategy contains `merge`)."""
        return self.kind == LIST and "merge" in self.patch_strategy.split(",")

    @property
    def replace_map(self) -> bool:
        """True if strategic merge patch replaces this map/struct wholesale."""
        return "replace" in self.patch_strategy.split(",")


_UNTYPED = TypeNode(None, None)


class _DefinitionIndex:
    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.by_gvk: dict[GVK, str] = {}
        for name in sorted(defs):
            for gvk in defs[name].get("x-kubernetes-group-version-kind", ()):
                key = (gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", ""))
                self.by_gvk.setdefault(key, name)
        self._meta: TypeNode | None = None
        self._roots: dict[str, TypeNode] = {}

    def object_meta(self) -> TypeNode:
        if self._meta is None:
            self._meta = TypeNode(self, {"$ref": f"#/$defs/{OBJECT_META_DEF}"})
        return self._meta

    def untyped_root(self) -> TypeNode:
        node = self._roots.get("")
        if node is None:
            node = TypeNode(self, {"type": "object"}, root=True)
            self._roots[""] = node
        return node

    def root(self, name: str) -> TypeNode:
        node = self._roots.get(name)
        if node is None:
            node = TypeNode(self, {"$ref": f"#/$defs/{name}"}, root=True)
            self._roots[name] = node
        return node


class SchemaRegistry:
    """Built-in definitions (loaded once, lazily) plus CRD schemas registered at run time.
    Thread-safe; nodes handed out are shared and must be treated as read-only."""

    def __init__(self, definitions_file: Path | None = None) -> None:
        self._file = definitions_file
        self._lock = threading.Lock()
        self._index: _DefinitionIndex | None = None
        self._crds: dict[GVK, TypeNode] = {}
        self._crd_sources: dict[GVK, dict[str, Any]] = {}

    def _builtin(self) -> _DefinitionIndex:
        index = self._index
        if index is None:
            with self._lock:
                if self._index is None:
                    path = self._file or definitions_path()
                    with path.open("rb") as f:
                        self._index = _DefinitionIndex(json.load(f)["$defs"])
                index = self._index
        return index

    @property
    def definitions(self) -> dict[str, Any]:
        """The raw built-in `$defs` (read-only)."""
        return self._builtin().defs

    def definition_name(self, gvk: GVK) -> str | None:
        """The `$defs` key of a built-in kind (`io.k8s.api.apps.v1.Deployment`), or None."""
        return self._builtin().by_gvk.get(gvk)

    def builtin_kinds(self, group: str, version: str) -> dict[str, str]:
        """Kind -> definition name of the built-in kinds of one group/version."""
        return {
            k: n for (g, v, k), n in self._builtin().by_gvk.items() if g == group and v == version
        }

    def register_crd_schema(
        self, group: str, version: str, kind: str, schema: dict[str, Any]
    ) -> None:
        """Use a CRD version's `openAPIV3Schema` for this kind from now on."""
        node = TypeNode(self._builtin(), schema, root=True, crd=True)
        with self._lock:
            self._crds[(group, version, kind)] = node
            self._crd_sources[(group, version, kind)] = schema

    def ensure_crd_schema(
        self, group: str, version: str, kind: str, schema: dict[str, Any]
    ) -> None:
        """Register `schema` unless exactly this schema is already registered for the kind
        (cheap enough to call on every request)."""
        current = self._crd_sources.get((group, version, kind))
        if current is not None and (current is schema or current == schema):
            return
        self.register_crd_schema(group, version, kind, schema)

    def unregister_crd_schema(self, group: str, version: str, kind: str) -> None:
        """Forget a registered CRD schema (no error if absent)."""
        with self._lock:
            self._crds.pop((group, version, kind), None)
            self._crd_sources.pop((group, version, kind), None)

    def crd_schema_registered(self, gvk: GVK) -> bool:
        """True if a CRD schema is registered for this kind."""
        return gvk in self._crds

    def root(self, gvk: GVK) -> TypeNode:
        """Type of a whole object of this kind: the CRD schema if registered, else the built-in
        definition, else an untyped root (whose `metadata` is still ObjectMeta)."""
        node = self._crds.get(gvk)
        if node is not None:
            return node
        index = self._builtin()
        name = index.by_gvk.get(gvk)
        if name is not None:
            return index.root(name)
        return index.untyped_root()


_REGISTRY_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _make_default_registry() -> SchemaRegistry:
    return SchemaRegistry()


def default_registry() -> SchemaRegistry:
    """The process-wide registry that patch and apply functions use unless given another."""
    with _REGISTRY_LOCK:
        return _make_default_registry()


def register_crd_schema(group: str, version: str, kind: str, schema: dict[str, Any]) -> None:
    """Register a CRD's openAPIV3Schema with the process-wide registry."""
    default_registry().register_crd_schema(group, version, kind, schema)


def ensure_crd_schema(group: str, version: str, kind: str, schema: dict[str, Any]) -> None:
    """Register a CRD schema with the process-wide registry unless already registered."""
    default_registry().ensure_crd_schema(group, version, kind, schema)


def unregister_crd_schema(group: str, version: str, kind: str) -> None:
    """Remove a CRD schema from the process-wide registry."""
    default_registry().unregister_crd_schema(group, version, kind)


def type_for(gvk: GVK, registry: SchemaRegistry | None = None) -> TypeNode:
    """Root type of a kind, from `registry` or the process-wide one."""
    return (registry or default_registry()).root(gvk)


def walk(gvk: GVK, path: Iterable[str], registry: SchemaRegistry | None = None) -> TypeNode:
    """Type at a field path such as `("spec", "template", "spec", "containers")`; `[]` enters
    list items."""
    return type_for(gvk, registry).at(*path)


def split_api_version(api_version: str) -> tuple[str, str]:
    """`apps/v1` -> (`apps`, `v1`); `v1` -> (``, `v1`)."""
    group, _, version = api_version.rpartition("/")
    return group, version


def unknown_fields(
    obj: dict[str, Any], gvk: GVK, registry: SchemaRegistry | None = None
) -> list[str]:
    """Paths of fields the built-in kind's schema does not declare, in the form of the real
    server's strict decoding errors (`spec.template.spec.containers[0].imagee`). Empty for kinds
    without a built-in schema (custom resources are pruned, not rejected)."""
    reg = registry or default_registry()
    if reg.crd_schema_registered(gvk) or reg.definition_name(gvk) is None:
        return []
    found: list[str] = []
    _collect_unknown(obj, reg.root(gvk), "", found)
    return found


def _collect_unknown(value: Any, node: TypeNode, path: str, found: list[str]) -> None:
    if isinstance(value, dict):
        if node.kind == STRUCT:
            for key, item in value.items():
                child_path = f"{path}.{key}" if path else key
                if not node.has_field(key):
                    found.append(child_path)
                else:
                    _collect_unknown(item, node.field(key), child_path, found)
        elif node.kind == MAP:
            for key, item in value.items():
                _collect_unknown(item, node.field(key), f"{path}[{key}]", found)
    elif isinstance(value, list) and node.kind == LIST:
        for i, item in enumerate(value):
            _collect_unknown(item, node.items, f"{path}[{i}]", found)
