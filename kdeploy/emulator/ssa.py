"""Server-side apply and managedFields tracking, after structured-merge-diff (smd merge/update.go).

Field sets are FieldsV1 tries: keys are path elements (`f:name`, `k:{"name":"web"}`, `v:"x"`,
`i:0`) and the key `.` marks "this node itself is owned". Internally a node owns itself iff it has
a `.` key, so a FieldsV1 leaf `{}` reads as `{".": {}}`.

`server_side_apply` merges the applied configuration into the live object (associative lists by
their keys), records what the applier now owns, removes what it owned before and no longer applies
(unless someone else owns it), raises ApplyConflict when the change would touch a field another
manager owns (unless forced), and re-runs defaulting. `track_update` does the bookkeeping of
ordinary writes (POST, PUT, non-apply PATCH, subresource writes).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kdeploy.emulator.defaults import apply_defaults
from kdeploy.emulator.patch import PatchError
from kdeploy.emulator.schema import (
    GVK,
    LIST,
    SCALAR,
    STRUCT,
    SchemaRegistry,
    TypeNode,
    type_for,
)

Obj = dict[str, Any]
Trie = dict[str, Any]

FIRST_APPLY_MANAGER = "before-first-apply"
# The one manager name whose applies take over client-side-applied fields.
KUBECTL_MANAGER = "kubectl"
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES_MANAGER = "ancient-changes"

# Never owned by anyone (smd stripmeta.go); metadata itself is stripped as a member only.
_STRIPPED: Trie = {
    "f:apiVersion": {".": {}},
    "f:kind": {".": {}},
    "f:metadata": {
        ".": {},
        **{
            f"f:{name}": {".": {}}
            for name in (
                "name",
                "namespace",
                "creationTimestamp",
                "selfLink",
                "uid",
                "clusterName",
                "generation",
                "managedFields",
                "resourceVersion",
            )
        },
    },
}

# System metadata a client may echo back in an applied configuration; it never merges.
_SYSTEM_METADATA = (
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)

_MISSING: Any = object()


class ApplyConflict(Exception):
    """The apply would change fields other managers own. `conflicts` lists (manager, path) with
    paths rendered like `.spec.template.spec.containers[name="web"].image`; `causes` are the
    Status `details.causes` entries; str() is the real server's message."""

    def __init__(
        self, conflicts: list[tuple[str, str]], causes: list[dict[str, str]], message: str
    ):
        super().__init__(message)
        self.conflicts = conflicts
        self.causes = causes
        self.message = message


# ---------------------------------------------------------------------------------------------
# Field-set tries


def _member() -> Trie:
    return {".": {}}


def from_fields_v1(fields: Any) -> Trie:
    """FieldsV1 JSON -> internal trie."""
    if not isinstance(fields, dict) or not fields:
        return _member()
    out: Trie = {}
    for key, value in fields.items():
        out[key] = {} if key == "." else from_fields_v1(value)
    return out


def _element_order(key: str) -> tuple[int, str]:
    return ({"f": 0, "k": 1, "v": 2, "i": 3}.get(key[:1], 4), key)


def to_fields_v1(trie: Trie) -> Trie:
    """Internal trie -> FieldsV1 JSON (`.` first, then path elements in smd order)."""
    children = {
        k: to_fields_v1(trie[k]) for k in sorted((k for k in trie if k != "."), key=_element_order)
    }
    if "." in trie and children:
        return {".": {}, **children}
    return children


def _union(a: Trie, b: Trie) -> Trie:
    if not a:
        return b
    if not b:
        return a
    out = dict(a)
    for k, v in b.items():
        out[k] = {} if k == "." else _union(a[k], v) if k in a else v
    return out


def _difference(a: Trie, b: Trie) -> Trie:
    """Members of `a` that are not members of `b` (not recursive: removing a node keeps its
    children)."""
    if not a or not b:
        return a
    out: Trie = {}
    for k, v in a.items():
        if k == ".":
            if "." not in b:
                out["."] = {}
        elif k in b:
            sub = _difference(v, b[k])
            if sub:
                out[k] = sub
        else:
            out[k] = v
    return out


def _recursive_difference(a: Trie, b: Trie) -> Trie:
    """Like _difference, but a member of `b` also removes everything under it from `a`."""
    if not a or not b:
        return a
    out: Trie = {}
    for k, v in a.items():
        if k == ".":
            if "." not in b:
                out["."] = {}
        elif k in b:
            if "." in b[k]:
                continue
            sub = _recursive_difference(v, b[k])
            if sub:
                out[k] = sub
        else:
            out[k] = v
    return out


def _intersection(a: Trie, b: Trie) -> Trie:
    out: Trie = {}
    for k, v in a.items():
        if k not in b:
            continue
        if k == ".":
            out["."] = {}
        else:
            sub = _intersection(v, b[k])
            if sub:
                out[k] = sub
    return out


def _ensure_named_fields(trie: Trie, node: TypeNode) -> Trie:
    """smd Set.EnsureNamedFieldsAreMembers: a declared struct field with owned children counts as
    owned itself (map keys and list items do not)."""
    out: Trie = {}
    for k, v in trie.items():
        if k == ".":
            out["."] = {}
            continue
        if k.startswith("f:"):
            name = k[2:]
            sub = _ensure_named_fields(v, node.field(name))
            if node.has_field(name) and sub:
                sub = {".": {}, **sub} if "." not in sub else sub
        else:
            sub = _ensure_named_fields(v, node.items)
        if sub:
            out[k] = sub
    return out


def _iter_members(trie: Trie, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    keys = sorted((k for k in trie if k != "."), key=_element_order)
    for k in keys:
        if "." in trie[k]:
            yield (*prefix, k)
    for k in keys:
        if any(c != "." for c in trie[k]):
            yield from _iter_members(trie[k], (*prefix, k))


def render_path(elements: tuple[str, ...]) -> str:
    """`("f:spec", "f:template", ..., 'k:{"name":"web"}', "f:image")` ->
    `.spec.template...containers[name="web"].image` (smd fieldpath String)."""
    parts = []
    for e in elements:
        kind, rest = e[:1], e[2:]
        if kind == "f":
            parts.append(f".{rest}")
        elif kind == "k":
            try:
                keys = json.loads(rest)
                parts.append(
                    "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(keys.items())) + "]"
                )
            except (ValueError, AttributeError):
                parts.append(f"[{rest}]")
        elif kind == "v":
            parts.append(f"[={rest}]")
        elif kind == "i":
            parts.append(f"[{rest}]")
        else:
            parts.append(e)
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# Typed value walks


def _key_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _item_element(node: TypeNode, item: Any, index: int) -> str:
    if node.list_type == "map" and isinstance(item, dict):
        keys: dict[str, Any] = {}
        for k in node.list_keys:
            if k in item and item[k] is not None:
                keys[k] = item[k]
            elif k == "protocol":
                # The schema default of every `protocol` list-map key (kubernetes#98576).
                keys[k] = "TCP"
        if keys:
            return "k:" + _key_json(keys)
        return f"i:{index}"
    if node.list_type == "set":
        return "v:" + _key_json(item)
    return f"i:{index}"


def _granular_map(value: Any, node: TypeNode) -> bool:
    return isinstance(value, dict) and not node.atomic and node.kind not in (SCALAR, LIST)


def _granular_list(value: Any, node: TypeNode) -> bool:
    return isinstance(value, list) and node.kind == LIST and node.list_type in ("map", "set")


def _index_items(items: list[Any], node: TypeNode) -> tuple[list[str], dict[str, Any]]:
    elements: list[str] = []
    by_element: dict[str, Any] = {}
    for i, item in enumerate(items):
        pe = _item_element(node, item, i)
        elements.append(pe)
        by_element.setdefault(pe, item)
    return elements, by_element


def field_set(value: Any, node: TypeNode) -> Trie:
    """The field set a value claims (smd ToFieldSet): scalars, atomic nodes, list items, map keys
    and empty/null values are members; declared struct fields only through their children."""
    if _granular_map(value, node):
        out: Trie = {}
        for k, v in value.items():
            sub = field_set(v, node.field(k))
            if v is None or v == {} or not node.has_field(k):
                sub = {".": {}, **sub}
            if sub:
                out[f"f:{k}"] = sub
        return out
    if isinstance(value, list) and node.kind == LIST and node.list_type != "atomic":
        out = {}
        item_node = node.items
        for i, item in enumerate(value):
            out[_item_element(node, item, i)] = {".": {}, **field_set(item, item_node)}
        return out
    if value is None:
        return {}
    return _member()


def _config_items_valid(items: list[Any], node: TypeNode, where: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if node.list_type == "map":
            if not isinstance(item, dict):
                raise PatchError(f"{where}: element {i}: expected a map in associative list", 422)
            for k in node.list_keys:
                if k not in item and k != "protocol":
                    raise PatchError(
                        f"{where}: element {i}: associative list with keys has an element that "
                        f'omits key field "{k}" (and doesn\'t have default value)',
                        422,
                    )
        pe = _item_element(node, item, i)
        if pe in seen:
            raise PatchError(
                f"{where}: duplicate entries for key {render_path((pe,))[1:-1]}",
                422,
            )
        seen.add(pe)


def _validate_config(value: Any, node: TypeNode, where: str = "") -> None:
    if _granular_map(value, node):
        for k, v in value.items():
            _validate_config(v, node.field(k), f"{where}.{k}")
    elif _granular_list(value, node):
        _config_items_valid(value, node, where)
        for item in value:
            _validate_config(item, node.items, where)


def merge(live: Any, config: Any, node: TypeNode) -> Any:
    """smd typed Merge: the config wins on leaves; granular maps merge per key; associative
    lists merge per item key keeping the live order around the config's order."""
    if config is _MISSING:
        return live
    if live is _MISSING or live is None or config is None:
        return config
    if _granular_map(config, node) and isinstance(live, dict):
        out = dict(live)
        for k, v in config.items():
            out[k] = merge(live.get(k, _MISSING), v, node.field(k))
        return out
    if _granular_list(config, node) and isinstance(live, list):
        return _merge_lists(live, config, node)
    return config


def _merge_lists(live: list[Any], config: list[Any], node: TypeNode) -> list[Any]:
    item_node = node.items
    l_pes, l_map = _index_items(live, node)
    r_pes, r_map = _index_items(config, node)
    shared = [pe for pe in r_pes if pe in l_map]
    shared_at = 0
    out: list[Any] = []
    merged_r: set[str] = set()
    li = ri = 0
    while li < len(l_pes) or ri < len(r_pes):
        next_shared = shared[shared_at] if shared_at < len(shared) else None
        if li < len(l_pes) and ri < len(r_pes):
            pe = l_pes[li]
            if pe == r_pes[ri]:
                merged_r.add(pe)
                out.append(merge(l_map[pe], r_map[pe], item_node))
                li += 1
                ri += 1
                if next_shared == pe:
                    shared_at += 1
                continue
            if pe in r_map and next_shared is not None and next_shared != pe:
                li += 1
                continue
        if li < len(l_pes):
            pe = l_pes[li]
            if pe not in r_map:
                out.append(live[li])
                li += 1
                continue
            if pe in merged_r:
                li += 1
                continue
        if ri < len(r_pes):
            pe = r_pes[ri]
            merged_r.add(pe)
            out.append(merge(l_map.get(pe, _MISSING), r_map[pe], item_node))
            ri += 1
            if next_shared == pe:
                shared_at += 1
    return out


@dataclass
class Comparison:
    """Paths added, modified and removed between two versions of an object."""

    added: Trie
    modified: Trie
    removed: Trie


def compare(lhs: Any, rhs: Any, node: TypeNode) -> Comparison:
    """smd typed Compare of two whole objects."""
    c = Comparison({}, {}, {})
    _compare_into(lhs, rhs, node, c.added, c.modified, c.removed)
    return c


def _empty(value: Any) -> bool:
    return value is _MISSING or value is None or value == {} or value == []


def _compare_into(
    lhs: Any, rhs: Any, node: TypeNode, added: Trie, modified: Trie, removed: Trie
) -> None:
    both_maps = (_granular_map(lhs, node) or lhs in (_MISSING, None)) and (
        _granular_map(rhs, node) or rhs in (_MISSING, None)
    )
    both_lists = (_granular_list(lhs, node) or lhs in (_MISSING, None)) and (
        _granular_list(rhs, node) or rhs in (_MISSING, None)
    )
    structured = (both_maps and (isinstance(lhs, dict) or isinstance(rhs, dict))) or (
        both_lists and (isinstance(lhs, list) or isinstance(rhs, list))
    )
    if not structured or (_empty(lhs) and _empty(rhs)):
        if lhs is _MISSING:
            added["."] = {}
        elif rhs is _MISSING:
            removed["."] = {}
        elif lhs != rhs:
            modified["."] = {}
        return
    if isinstance(lhs, dict) or isinstance(rhs, dict):
        ldict = lhs if isinstance(lhs, dict) else {}
        rdict = rhs if isinstance(rhs, dict) else {}
        keys = list(ldict) + [k for k in rdict if k not in ldict]
        for k in keys:
            _compare_child(
                f"f:{k}",
                ldict.get(k, _MISSING),
                rdict.get(k, _MISSING),
                node.field(k),
                added,
                modified,
                removed,
            )
    else:
        llist = lhs if isinstance(lhs, list) else []
        rlist = rhs if isinstance(rhs, list) else []
        l_pes, l_map = _index_items(llist, node)
        r_pes, r_map = _index_items(rlist, node)
        item_node = node.items
        for pe in r_pes + [p for p in l_pes if p not in r_map]:
            _compare_child(
                pe,
                l_map.get(pe, _MISSING),
                r_map.get(pe, _MISSING),
                item_node,
                added,
                modified,
                removed,
            )
    if lhs is _MISSING:
        added["."] = {}
    elif rhs is _MISSING:
        removed["."] = {}


def _compare_child(
    pe: str, lhs: Any, rhs: Any, node: TypeNode, added: Trie, modified: Trie, removed: Trie
) -> None:
    a: Trie = {}
    m: Trie = {}
    r: Trie = {}
    _compare_into(lhs, rhs, node, a, m, r)
    if a:
        added[pe] = a
    if m:
        modified[pe] = m
    if r:
        removed[pe] = r


def remove_items(value: Any, trie: Trie, node: TypeNode) -> Any:
    """A copy of `value` without the members of `trie` (their whole subtrees)."""
    if not trie:
        return value
    if _granular_map(value, node):
        out = {}
        for k, v in value.items():
            sub = trie.get(f"f:{k}")
            if sub is None:
                out[k] = v
            elif "." not in sub:
                out[k] = remove_items(v, sub, node.field(k))
        return out
    if _granular_list(value, node):
        items = []
        for i, item in enumerate(value):
            sub = trie.get(_item_element(node, item, i))
            if sub is None:
                items.append(item)
            elif "." not in sub:
                items.append(remove_items(item, sub, node.items))
        return items
    return value


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# managedFields entries


@dataclass
class _Entry:
    manager: str
    operation: str
    api_version: str
    subresource: str
    time: str | None
    fields: Trie

    @property
    def identity(self) -> tuple[str, str, str, str]:
        version = self.api_version if self.operation != "Apply" else ""
        return (self.manager, self.operation, version, self.subresource)

    def identity_json(self) -> str:
        d = {"manager": self.manager, "operation": self.operation}
        if self.operation != "Apply":
            d["apiVersion"] = self.api_version
        if self.subresource:
            d["subresource"] = self.subresource
        return json.dumps(d, separators=(",", ":"))

    def display(self) -> str:
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation != "Apply":
            text += f" using {self.api_version}"
        return text

    def encode(self) -> Obj:
        out: Obj = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
        }
        if self.time is not None:
            out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = to_fields_v1(self.fields)
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def _decode_entries(managed: Any) -> list[_Entry]:
    entries: list[_Entry] = []
    for raw in managed if isinstance(managed, list) else ():
        if not isinstance(raw, dict) or (not raw.get("manager") and not raw.get("fieldsV1")):
            continue
        if raw.get("fieldsType", "FieldsV1") != "FieldsV1":
            continue
        entries.append(
            _Entry(
                manager=str(raw.get("manager", "")),
                operation=str(raw.get("operation", "Update")),
                api_version=str(raw.get("apiVersion", "")),
                subresource=str(raw.get("subresource", "")),
                time=raw.get("time"),
                fields=from_fields_v1(raw.get("fieldsV1") or {}),
            )
        )
    return entries


def _cap_update_managers(entries: list[_Entry]) -> list[_Entry]:
    """Beyond MAX_UPDATE_MANAGERS Update entries, fold the oldest ones into one
    `ancient-changes` entry per apiVersion (apiserver capmanagers.go)."""
    updaters = sorted(
        (e for e in entries if e.operation != "Apply"), key=lambda e: (e.time or "", e.manager)
    )
    if len(updaters) <= MAX_UPDATE_MANAGERS:
        return entries
    out = list(entries)
    first_by_version: dict[str, _Entry] = {}
    buckets: dict[str, _Entry] = {}
    count = len(updaters)
    for entry in updaters:
        if count <= MAX_UPDATE_MANAGERS:
            break
        first = first_by_version.get(entry.api_version)
        if first is None:
            first_by_version[entry.api_version] = entry
            continue
        bucket = buckets.get(entry.api_version)
        if bucket is None:
            bucket = _Entry(
                ANCIENT_CHANGES_MANAGER, "Update", entry.api_version, "", first.time, first.fields
            )
            buckets[entry.api_version] = bucket
            out = [bucket if e is first else e for e in out]
        bucket.fields = _union(bucket.fields, entry.fields)
        bucket.time = entry.time
        out = [e for e in out if e is not entry]
        count -= 1
    return out


def _encode_entries(entries: list[_Entry]) -> list[Obj]:
    kept = _cap_update_managers([e for e in entries if e.fields])
    kept.sort(
        key=lambda e: (
            0 if e.operation == "Apply" else 1,
            e.time or "",
            e.manager,
            e.api_version,
            e.subresource,
        )
    )
    return [e.encode() for e in kept]


def _is_reset(managed: Any) -> bool:
    return isinstance(managed, list) and len(managed) == 1 and managed[0] == {}


def _without_managed_fields(obj: Obj) -> Obj:
    out = dict(obj)
    metadata = out.get("metadata")
    if isinstance(metadata, dict) and "managedFields" in metadata:
        out["metadata"] = {k: v for k, v in metadata.items() if k != "managedFields"}
    return out


def _with_managed_fields(obj: Obj, entries: list[_Entry]) -> Obj:
    metadata = dict(obj.get("metadata") or {})
    encoded = _encode_entries(entries)
    if encoded:
        metadata["managedFields"] = encoded
    else:
        metadata.pop("managedFields", None)
    return {**obj, "metadata": metadata}


def _owned(trie: Trie, ignored: Trie) -> Trie:
    return _recursive_difference(_difference(trie, _STRIPPED), ignored)


_POD_TEMPLATE_SKELETON: Obj = {"metadata": {}, "spec": {"containers": None}}
# Non-pointer structs (and non-omitempty lists) that Go's zero value of a kind already holds:
# whoever creates the object does not own these nodes themselves, only what is inside.
_ZERO_VALUE_SKELETONS: dict[str, Obj] = {
    "Deployment": {"spec": {"strategy": {}, "template": _POD_TEMPLATE_SKELETON}},
    "ReplicaSet": {"spec": {"template": _POD_TEMPLATE_SKELETON}},
    "StatefulSet": {"spec": {"updateStrategy": {}, "template": _POD_TEMPLATE_SKELETON}},
    "DaemonSet": {"spec": {"updateStrategy": {}, "template": _POD_TEMPLATE_SKELETON}},
    "Job": {"spec": {"template": _POD_TEMPLATE_SKELETON}},
    "CronJob": {
        "spec": {"jobTemplate": {"metadata": {}, "spec": {"template": _POD_TEMPLATE_SKELETON}}}
    },
    "Pod": {"spec": {"containers": None}},
    "PersistentVolumeClaim": {"spec": {"resources": {}}},
    "HorizontalPodAutoscaler": {"spec": {"scaleTargetRef": {}}},
    "NetworkPolicy": {"spec": {"podSelector": {}}},
    "CustomResourceDefinition": {"spec": {"names": {}}},
}


def _skeleton_for(obj: Any, skeleton: Any) -> Any:
    if not isinstance(skeleton, dict) or not isinstance(obj, dict):
        return skeleton
    return {k: _skeleton_for(obj.get(k), v) for k, v in skeleton.items() if k in obj}


def _created_from(obj: Obj, node: TypeNode) -> Obj:
    """The `before` side of a create: Go's zero value of the kind, limited to what `obj` has.
    Its structs are there (empty), its maps and pointers are not (nil): a create that fills
    `data` owns the map itself too (`f:data: {.: {}}`). A custom resource starts empty."""
    if node.crd:
        return {}
    base: Obj = {
        k: {}
        for k, v in obj.items()
        if isinstance(v, dict) and node.has_field(k) and v and node.field(k).kind == STRUCT
    }
    skeleton = _ZERO_VALUE_SKELETONS.get(str(obj.get("kind", "")))
    if skeleton:
        for key, value in _skeleton_for(obj, skeleton).items():
            base[key] = value
    return base


def _ignored_fields(subresource: str, reset_status: bool) -> Trie:
    if subresource == "status":
        return {"f:spec": _member(), "f:metadata": _member()}
    if not subresource and reset_status:
        return {"f:status": _member()}
    return {}


# ---------------------------------------------------------------------------------------------
# Public operations


def server_side_apply(
    live: Obj | None,
    applied: Obj,
    *,
    manager: str,
    force: bool,
    gvk: GVK,
    now: str,
    subresource: str = "",
    reset_status: bool = True,
    registry: SchemaRegistry | None = None,
) -> Obj:
    """Apply `applied` (the body of an `application/apply-patch+yaml` PATCH) as field manager
    `manager` to `live` (None: create) and return the new object, defaulted, with updated
    `metadata.managedFields`. `reset_status` drops `status` from the applied configuration (the
    main resource of every kind with a status subresource). Server-owned metadata of the live
    object (uid, resourceVersion, creationTimestamp, generation) is kept; checking a
    `resourceVersion` or `uid` in `applied` as a precondition is the caller's job.

    Raises ApplyConflict if the change touches fields another manager owns and `force` is
    false; PatchError (422) if an associative list item lacks its keys or repeats one."""
    node = type_for(gvk, registry)
    config = _config_without_system_fields(applied, reset_status and not subresource)
    if subresource == "status":
        # The status strategy keeps spec and metadata of the live object.
        raw_metadata = config.get("metadata")
        metadata: Obj = raw_metadata if isinstance(raw_metadata, dict) else {}
        config = {
            **{k: config[k] for k in ("apiVersion", "kind", "status") if k in config},
            "metadata": {k: metadata[k] for k in ("name", "namespace") if k in metadata},
        }
    _validate_config(config, node)
    live_obj = _without_managed_fields(copy.deepcopy(live)) if live else {}
    entries = _decode_entries((live or {}).get("metadata", {}).get("managedFields"))
    api_version = str(applied.get("apiVersion") or _api_version(gvk))
    ignored = _ignored_fields(subresource, reset_status)
    if live and not entries:
        created = compare(_created_from(live_obj, node), live_obj, node)
        entries.append(
            _Entry(
                FIRST_APPLY_MANAGER,
                "Update",
                str(live_obj.get("apiVersion") or api_version),
                "",
                now,
                _owned(_union(created.added, created.modified), {}),
            )
        )
    me = _Entry(manager, "Apply", api_version, subresource, None, {})
    previous = next((e for e in entries if e.identity == me.identity), None)
    others = [e for e in entries if e.identity != me.identity]
    last_set = previous.fields if previous else {}
    me.time = previous.time if previous else None

    merged = merge(live_obj, config, node)
    me.fields = _owned(field_set(config, node), ignored)
    pruned = _prune(merged, [*others, me], last_set, node)
    change = compare(live_obj, pruned, node)
    changed_paths = _union(change.added, change.modified)
    conflicts: list[tuple[_Entry, Trie]] = []
    for other in others:
        overlap = _intersection(other.fields, changed_paths)
        if overlap:
            conflicts.append((other, overlap))
    if conflicts and not force:
        if manager == KUBECTL_MANAGER:
            # Client-side to server-side apply migration: fields kubectl last applied
            # client-side, still unchanged in the live object, may be taken over.
            allowed = _allowed_from_last_applied(live_obj, node)
            conflicts = [
                (other, rest)
                for other, overlap in conflicts
                if (rest := _difference(overlap, allowed))
            ]
        if conflicts:
            raise _conflict_error(conflicts)
        conflicts = [(o, _intersection(o.fields, changed_paths)) for o in others]
    for other, overlap in conflicts:
        other.fields = _difference(other.fields, overlap)
    if change.removed:
        for other in others:
            other.fields = _difference(other.fields, change.removed)

    result = apply_defaults(_drop_nulls(pruned))
    if manager == KUBECTL_MANAGER:
        result = _sync_last_applied(result, applied)
    if _comparable(result) != _comparable(live_obj) or me.time is None:
        me.time = now
    return _with_managed_fields(result, [*others, me])


def _last_applied(obj: Obj) -> str | None:
    annotations = (obj.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        value = annotations.get(LAST_APPLIED_ANNOTATION)
        if isinstance(value, str) and value:
            return value
    return None


def _allowed_from_last_applied(live: Obj, node: TypeNode) -> Trie:
    """Fields of the last-applied annotation whose value the live object still has
    (apiserver lastappliedmanager.go)."""
    text = _last_applied(live)
    if text is None:
        return {}
    try:
        last = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(last, dict):
        return {}
    change = compare(last, live, node)
    fields = field_set(last, node)
    for paths in (change.modified, change.added, change.removed):
        fields = _difference(fields, paths)
    return fields


def _go_json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _sync_last_applied(result: Obj, applied: Obj) -> Obj:
    """kubectl's server-side apply rewrites an existing last-applied annotation to the applied
    configuration (apiserver lastappliedupdater.go); it never creates one."""
    if _last_applied(result) is None:
        return result
    config = copy.deepcopy(applied)
    annotations = (config.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED_ANNOTATION, None)
    metadata = dict(result["metadata"])
    metadata["annotations"] = {
        **metadata["annotations"],
        # Go's json.Encoder, as UnstructuredJSONScheme uses it, ends with a newline.
        LAST_APPLIED_ANNOTATION: _go_json(config) + "\n",
    }
    return {**result, "metadata": metadata}


def track_update(
    old: Obj | None,
    new: Obj,
    *,
    manager: str,
    operation: str = "Update",
    gvk: GVK,
    now: str,
    subresource: str = "",
    reset_status: bool = True,
    registry: SchemaRegistry | None = None,
) -> Obj:
    """Record a non-apply write (POST, PUT, PATCH, a subresource write) of `new` over `old`
    (None: create) by `manager`: the fields it added or changed become owned by its `Update`
    entry (one per manager, apiVersion and subresource) and are taken from every other manager;
    removed fields leave every set. A request carrying `managedFields: [{}]` resets them, an
    absent or empty list keeps the live ones. Returns a copy of `new` with the updated
    `metadata.managedFields`. With `reset_status` (main resource of a kind with a status
    subresource) changes under `status` are not attributed, like the real server's reset fields."""
    node = type_for(gvk, registry)
    requested = (new.get("metadata") or {}).get("managedFields")
    if _is_reset(requested) and not subresource:
        entries: list[_Entry] = []
    elif requested and not subresource:
        entries = _decode_entries(requested)
    else:
        entries = _decode_entries(((old or {}).get("metadata") or {}).get("managedFields"))
    new_obj = _without_managed_fields(new)
    old_obj = _without_managed_fields(old) if old else _created_from(new_obj, node)
    change = compare(old_obj, new_obj, node)
    ignored = _ignored_fields(subresource, reset_status)
    gained = _owned(_union(change.added, change.modified), ignored)
    removed = _owned(change.removed, ignored)
    api_version = str(new.get("apiVersion") or _api_version(gvk))
    op = "Update" if operation != "Apply" else "Apply"
    me = _Entry(manager, op, api_version, subresource, None, {})
    previous = next((e for e in entries if e.identity == me.identity), None)
    others = [e for e in entries if e.identity != me.identity]
    for other in others:
        other.fields = _difference(_difference(other.fields, gained), removed)
    me.fields = _difference(_union(previous.fields if previous else {}, gained), removed)
    me.time = now if gained or previous is None else previous.time
    return copy.deepcopy(_with_managed_fields(new_obj, [*others, me]))


def _comparable(obj: Obj) -> Obj:
    return _without_managed_fields(obj)


def _api_version(gvk: GVK) -> str:
    return f"{gvk[0]}/{gvk[1]}" if gvk[0] else gvk[1]


def _config_without_system_fields(applied: Obj, drop_status: bool) -> Obj:
    config = copy.deepcopy(applied)
    if drop_status:
        config.pop("status", None)
    metadata = config.get("metadata")
    if isinstance(metadata, dict):
        for key in _SYSTEM_METADATA:
            metadata.pop(key, None)
    return config


def _prune(merged: Obj, managers: list[_Entry], last_set: Trie, node: TypeNode) -> Obj:
    """Remove what the applier owned last time and no longer applies, unless another manager
    (or its own new configuration) owns it (smd Updater.prune, addBackOwnedItems,
    addBackDanglingItems)."""
    if not last_set:
        return merged
    last = _ensure_named_fields(last_set, node)
    merged_set = _ensure_named_fields(field_set(merged, node), node)
    pruned = remove_items(merged, last, node)
    managed: Trie = {}
    for entry in managers:
        managed = _union(managed, entry.fields)
    managed = _ensure_named_fields(managed, node)
    pruned_set = _ensure_named_fields(field_set(pruned, node), node)
    pruned = remove_items(merged, _difference(merged_set, _union(pruned_set, managed)), node)
    pruned_set = _ensure_named_fields(field_set(pruned, node), node)
    dangling = _intersection(_difference(merged_set, pruned_set), last)
    result = remove_items(merged, dangling, node)
    assert isinstance(result, dict)
    return result


def _conflict_error(conflicts: list[tuple[_Entry, Trie]]) -> ApplyConflict:
    conflicts = sorted(conflicts, key=lambda c: c[0].identity_json())
    flat: list[tuple[_Entry, str]] = []
    for entry, trie in conflicts:
        flat.extend((entry, render_path(p)) for p in _iter_members(trie))
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {e.display()}",
            "field": rendered,
        }
        for e, rendered in flat
    ]
    if len(flat) == 1:
        only, rendered = flat[0]
        message = f"Apply failed with 1 conflict: conflict with {only.display()}: {rendered}"
    else:
        lines: list[str] = []
        for entry, trie in conflicts:
            lines.append(f"conflicts with {entry.display()}:")
            lines.extend(f"- {render_path(p)}" for p in _iter_members(trie))
        message = f"Apply failed with {len(flat)} conflicts: " + "\n".join(lines)
    return ApplyConflict([(e.manager, p) for e, p in flat], causes, message)
