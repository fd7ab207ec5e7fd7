"""Strategic merge patch, applied the way the API server applies it (apimachinery
`strategicpatch.StrategicMergeMapPatch` with MergeParallelList and IgnoreUnmatchedNulls).

Lists whose schema says `x-kubernetes-patch-strategy: merge` merge by their patch merge key
(containers and env by `name`, container ports by `containerPort`, volumeMounts by `mountPath`,
...); primitive merge lists are sets. Directives: `$patch: replace|delete` in maps and list items,
`$retainKeys`, `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>`; `null` deletes.
"""

from __future__ import annotations

import copy
from typing import Any

from kdeploy.emulator.patch import PatchError
from kdeploy.emulator.schema import GVK, SchemaRegistry, TypeNode, type_for

Obj = dict[str, Any]

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/"
SET_ELEMENT_ORDER = "$setElementOrder/"


def strategic_merge_patch(
    target: Obj, patch: Obj, gvk: GVK, *, registry: SchemaRegistry | None = None
) -> Obj:
    """Apply a strategic merge patch to `target` (an object of kind `gvk`) and return the result.
    Neither input is mutated.

    Raises PatchError (400) for a malformed patch: unknown `$patch` value, a merge-list item
    without its merge key, a bad `$retainKeys` or `$setElementOrder` list."""
    if not isinstance(patch, dict):
        raise PatchError(
            "json: cannot unmarshal patch into Go value of type map[string]interface {}", 400
        )
    original = copy.deepcopy(target) if isinstance(target, dict) else {}
    result = _merge_map(original, copy.deepcopy(patch), type_for(gvk, registry))
    return result


def _bad(message: str) -> PatchError:
    return PatchError(message, 400)


def _merge_map(original: Obj, patch: Obj, node: TypeNode) -> Obj:
    if DIRECTIVE in patch:
        directive = patch.pop(DIRECTIVE)
        if directive == "replace":
            cleaned = _remove_directives(patch)
            return cleaned if isinstance(cleaned, dict) else {}
        if directive == "delete":
            return {}
        raise _bad(f"unknown patch type: {directive} in map: {patch}")
    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, node)
    for key, value in list(patch.items()):
        is_delete_list = key.startswith(DELETE_FROM_PRIMITIVE_LIST)
        if is_delete_list:
            key = key[len(DELETE_FROM_PRIMITIVE_LIST) :]
        # `{$patch: delete}` on a field is equivalent to null: the field goes away.
        if value is None or (isinstance(value, dict) and value.get(DIRECTIVE) == "delete"):
            original.pop(key, None)
            continue
        if key not in original:
            if not is_delete_list:
                original[key] = _remove_directives(value)
            continue
        current = original[key]
        child = node.field(key)
        if isinstance(current, dict) and isinstance(value, dict):
            if child.replace_map:
                original[key] = _remove_directives(value)
            else:
                original[key] = _merge_map(current, value, child)
        elif isinstance(current, list) and isinstance(value, list):
            original[key] = _merge_list_field(current, value, child, is_delete_list)
        elif not is_delete_list:
            original[key] = _remove_directives(value)
    return original


def _apply_retain_keys(original: Obj, patch: Obj) -> None:
    if RETAIN_KEYS not in patch:
        return
    retain = patch.pop(RETAIN_KEYS)
    if not isinstance(retain, list):
        raise _bad("invalid patch format of retainKeys")
    keep = set(retain)
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)):
            continue
        if key not in keep:
            raise _bad("invalid patch format of retainKeys")
    for key in list(original):
        if key not in keep:
            del original[key]


def _merge_list_field(
    current: list[Any], value: list[Any], node: TypeNode, is_delete_list: bool
) -> list[Any]:
    if not node.merge_list:
        cleaned = _remove_directives(value)
        return cleaned if isinstance(cleaned, list) else []
    return _merge_list(current, value, node, is_delete_list)


def _merge_list(
    original: list[Any], patch: list[Any], node: TypeNode, is_delete_list: bool
) -> list[Any]:
    if not original and not patch:
        return original
    merge_key = node.patch_merge_key
    if not any(isinstance(v, dict) for v in [*original, *patch]):
        if is_delete_list:
            drop = [_hashable(v) for v in patch]
            return [v for v in original if _hashable(v) not in drop]
        merged = _dedupe([*original, *patch])
        return _normalize_order(merged, patch, original, "")
    if not merge_key:
        raise _bad(f"cannot merge lists without merge key for {node.definition or 'list'}")
    original, remaining = _merge_special_elements(original, patch, merge_key)
    merged = _merge_by_key(original, remaining, node.items, merge_key)
    return _normalize_order(merged, remaining, original, merge_key)


def _merge_special_elements(
    original: list[Any], patch: list[Any], merge_key: str
) -> tuple[list[Any], list[Any]]:
    remaining: list[Any] = []
    replace = False
    for item in patch:
        if not isinstance(item, dict):
            raise _bad(f"unable to merge list: element {item!r} is not a map")
        if DIRECTIVE not in item:
            remaining.append(item)
            continue
        directive = item[DIRECTIVE]
        if directive == "delete":
            if merge_key not in item:
                raise _bad(f"map: {item} does not contain declared merge key: {merge_key}")
            original = [
                o
                for o in original
                if not (isinstance(o, dict) and o.get(merge_key) == item[merge_key])
            ]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise _bad("merging lists cannot yet be specified in the patch")
        else:
            raise _bad(f"unknown patch type: {directive} in map: {item}")
    if replace:
        cleaned = _remove_directives(remaining)
        return (cleaned if isinstance(cleaned, list) else []), []
    return original, remaining


def _merge_by_key(
    original: list[Any], patch: list[Any], item_node: TypeNode, merge_key: str
) -> list[Any]:
    merged = list(original)
    for item in patch:
        if merge_key not in item:
            raise _bad(f"map: {item} does not contain declared merge key: {merge_key}")
        for i, existing in enumerate(merged):
            if isinstance(existing, dict) and existing.get(merge_key) == item[merge_key]:
                merged[i] = _merge_map(existing, item, item_node)
                break
        else:
            merged.append(_remove_directives(item))
    return merged


def _identity(item: Any, merge_key: str) -> Any:
    if merge_key:
        return _hashable(item.get(merge_key)) if isinstance(item, dict) else None
    return _hashable(item)


def _normalize_order(
    merged: list[Any], patch_order: list[Any], server_order: list[Any], merge_key: str
) -> list[Any]:
    """Items named in the patch come in the patch's order; the others keep their server order,
    and the two sequences are interleaved by their server positions (apimachinery
    `normalizeElementOrder` + `mergeSortedSlice`)."""
    patch_index: dict[Any, int] = {}
    for i, item in enumerate(patch_order):
        patch_index.setdefault(_identity(item, merge_key), i)
    server_index: dict[Any, int] = {}
    for i, item in enumerate(server_order):
        server_index.setdefault(_identity(item, merge_key), i)
    in_patch = [m for m in merged if _identity(m, merge_key) in patch_index]
    server_only = [m for m in merged if _identity(m, merge_key) not in patch_index]
    in_patch.sort(key=lambda m: patch_index[_identity(m, merge_key)])
    server_only.sort(key=lambda m: server_index.get(_identity(m, merge_key), -1))
    out: list[Any] = []
    i = j = 0
    while i < len(server_only) or j < len(in_patch):
        if i >= len(server_only):
            out.append(in_patch[j])
            j += 1
        elif j >= len(in_patch):
            out.append(server_only[i])
            i += 1
        else:
            left = server_index.get(_identity(server_only[i], merge_key), -1)
            right = server_index.get(_identity(in_patch[j], merge_key), -1)
            if left >= 0 and right >= 0 and left < right:
                out.append(server_only[i])
                i += 1
            else:
                out.append(in_patch[j])
                j += 1
    return out


def _merge_ordered_lists(original: Obj, patch: Obj, node: TypeNode) -> None:
    """Handle `$setElementOrder/<field>` together with the patch list for that field."""
    for key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise _bad(f"invalid type for {key}: expected a list")
        field = key[len(SET_ELEMENT_ORDER) :]
        child = node.field(field)
        merge_key = child.patch_merge_key
        found_original = isinstance(original.get(field), list)
        found_patch = field in patch and isinstance(patch[field], list)
        original_list: list[Any] = original[field] if found_original else []
        patch_list: list[Any] = patch[field] if found_patch else []
        _validate_order(patch_list, order, merge_key)
        if found_original and not found_patch:
            merged = original_list
        elif found_patch and not found_original:
            cleaned = _remove_directives(patch_list)
            merged = cleaned if isinstance(cleaned, list) else []
        elif found_original and found_patch:
            merged = _merge_list_field(original_list, patch_list, child, False)
        else:
            continue
        original[field] = _normalize_order(merged, order, original_list, merge_key)
        patch.pop(field, None)


def _validate_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    if merge_key and any(not isinstance(o, dict) or merge_key not in o for o in order):
        raise _bad(f"$setElementOrder list items must contain the merge key {merge_key}")
    wanted = [_identity(o, merge_key) for o in order]
    position = 0
    for item in patch_list:
        if isinstance(item, dict) and DIRECTIVE in item:
            continue
        ident = _identity(item, merge_key)
        try:
            position = wanted.index(ident, position)
        except ValueError:
            raise _bad(
                f"the order in patch list:\n{patch_list}\n doesn't match "
                f"{SET_ELEMENT_ORDER} list:\n{order}"
            ) from None


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return ("{}", tuple(sorted((k, _hashable(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("[]", tuple(_hashable(v) for v in value))
    return (type(value).__name__ == "bool", value)


def _dedupe(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    out = []
    for v in values:
        h = _hashable(v)
        if h not in seen:
            seen.add(h)
            out.append(v)
    return out


def _remove_directives(value: Any) -> Any:
    """Strip `$`-directives from a value taken from the patch as-is; nulls vanish (they have
    nothing to delete) and a map carrying `$patch: delete` disappears."""
    if isinstance(value, dict):
        if value.get(DIRECTIVE) == "delete":
            return None
        out = {}
        for k, v in value.items():
            if k.startswith("$") or v is None:
                continue
            cleaned = _remove_directives(v)
            if cleaned is not None or not isinstance(v, dict):
                out[k] = cleaned
        return out
    if isinstance(value, list):
        items = []
        for v in value:
            if isinstance(v, dict) and DIRECTIVE in v:
                continue
            items.append(_remove_directives(v))
        return items
    return value
