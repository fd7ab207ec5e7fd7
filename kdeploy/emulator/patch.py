"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902), as the API server applies them.

Inputs are never mutated: the result shares no mutable containers with the inputs.
"""

from __future__ import annotations

import copy
import json
from typing import Any

Obj = dict[str, Any]

# The real server refuses JSON patches with more operations than this (413).
MAX_JSON_PATCH_OPERATIONS = 10000


class PatchError(Exception):
    """A patch could not be decoded or applied. `code` is the HTTP status the API server answers
    with: 400 for a malformed patch, 422 for one that does not apply to the object, 413 for too
    many operations."""

    def __init__(self, message: str, code: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def json_merge_patch(target: Obj, patch: Obj) -> Obj:
    """RFC 7386: objects merge recursively, `null` deletes a key, anything else (lists included)
    replaces. Returns a new object.

    Raises PatchError(400) if the patch is not a JSON object (the server only accepts objects)."""
    if not isinstance(patch, dict):
        raise PatchError(
            "json: cannot unmarshal patch into Go value of type map[string]interface {}", 400
        )
    result = _merge(target if isinstance(target, dict) else {}, patch)
    assert isinstance(result, dict)
    return result


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out: Obj = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    # Values kept from the target must not be shared with the caller's object.
    for key in out:
        if key not in patch:
            out[key] = copy.deepcopy(out[key])
    return out


def _parse_pointer(path: Any, op: str) -> list[str]:
    if not isinstance(path, str):
        raise PatchError(f"{op} operation does not apply: path is not a string", 400)
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f'{op} operation does not apply: invalid JSON pointer "{path}"', 422)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list[Any], token: str, path: str, op: str, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(
            f'{op} operation does not apply: doc is missing path: "{path}": invalid index "{token}"'
        )
    i = int(token)
    limit = len(container) if allow_end else len(container) - 1
    if i > limit:
        raise PatchError(
            f'{op} operation does not apply: doc is missing path: "{path}": index out of range'
        )
    return i


def _parent(doc: Any, tokens: list[str], path: str, op: str) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise PatchError(
                    f'{op} operation does not apply: doc is missing path: "{path}": missing value'
                )
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, path, op, allow_end=False)]
        else:
            raise PatchError(
                f'{op} operation does not apply: doc is missing path: "{path}": missing value'
            )
    return node


def _get(doc: Any, path: str, op: str) -> Any:
    tokens = _parse_pointer(path, op)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, path, op)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(
                f'{op} operation does not apply: doc is missing path: "{path}": missing value'
            )
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, path, op, allow_end=False)]
    raise PatchError(f'{op} operation does not apply: doc is missing path: "{path}": missing value')


def _add(doc: Any, path: str, value: Any, op: str = "add") -> Any:
    tokens = _parse_pointer(path, op)
    if not tokens:
        return value
    parent = _parent(doc, tokens, path, op)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, path, op, allow_end=True), value)
    else:
        raise PatchError(
            f'{op} operation does not apply: doc is missing path: "{path}": missing value'
        )
    return doc


def _remove(doc: Any, path: str, op: str = "remove") -> tuple[Any, Any]:
    tokens = _parse_pointer(path, op)
    if not tokens:
        raise PatchError(f"{op} operation does not apply: cannot remove the whole document")
    parent = _parent(doc, tokens, path, op)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(
                f'{op} operation does not apply: doc is missing path: "{path}": missing value'
            )
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, last, path, op, allow_end=False))
    raise PatchError(f'{op} operation does not apply: doc is missing path: "{path}": missing value')


def _require(op: dict[str, Any], name: str) -> Any:
    if name not in op:
        raise PatchError(f"{op.get('op')} operation missing {name} field".replace("'", ""), 400)
    return op[name]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def json_patch(target: Obj, ops: list[dict[str, Any]]) -> Obj:
    """RFC 6902: apply `add`, `remove`, `replace`, `move`, `copy` and `test` in order, with JSON
    pointer escapes (`~0`, `~1`) and `-` for appending to a list. Returns a new object.

    Raises PatchError: 400 if the patch is malformed (not a list, unknown op, missing field),
    413 if it has more than 10000 operations, 422 if an operation does not apply (missing path,
    failed test) or the result is not an object."""
    if not isinstance(ops, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch", 400)
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise PatchError(
            f"The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}",
            413,
        )
    doc: Any = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict):
            raise PatchError("json: cannot unmarshal patch operation: not an object", 400)
        kind = op.get("op")
        path = _require(op, "path")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(_require(op, "value")))
        elif kind == "remove":
            doc, _ = _remove(doc, path)
        elif kind == "replace":
            value = copy.deepcopy(_require(op, "value"))
            tokens = _parse_pointer(path, "replace")
            if not tokens:
                doc = value
            else:
                _get(doc, path, "replace")
                parent = _parent(doc, tokens, path, "replace")
                if isinstance(parent, dict):
                    parent[tokens[-1]] = value
                else:
                    parent[_index(parent, tokens[-1], path, "replace", allow_end=False)] = value
        elif kind == "move":
            source = _require(op, "from")
            if path != source and path.startswith(source + "/"):
                raise PatchError(
                    f'move operation does not apply: "from" {source} is a prefix of "path" {path}'
                )
            doc, value = _remove(doc, source, "move")
            doc = _add(doc, path, value, "move")
        elif kind == "copy":
            value = copy.deepcopy(_get(doc, _require(op, "from"), "copy"))
            doc = _add(doc, path, value, "copy")
        elif kind == "test":
            expected = op.get("value")
            try:
                actual = _get(doc, path, "test")
            except PatchError:
                actual = None
                if expected is not None:
                    raise PatchError(f"testing value {path} failed: test failed") from None
            if _canonical(actual) != _canonical(expected):
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {kind}", 400)
    if not isinstance(doc, dict):
        raise PatchError("the result of the JSON patch is not an object", 422)
    return doc
