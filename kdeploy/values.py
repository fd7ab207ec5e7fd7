"""Values: the overlay merge and `--set` expressions. Pure.

Merge rules (docs/values.md): mappings merge recursively; a list is replaced whole; `null` removes
the key; a value of another type replaces the old one. Inputs are never mutated and the result
shares no mutable part with them.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterable
from typing import Any

from kdeploy.errors import KdeployError, ProjectError
from kdeploy.model import Values

# A list index in --set builds the list up to it; a typo like a[99999999] must not eat the memory.
MAX_SET_INDEX = 10_000
_NULL_WORDS = frozenset({"null", "Null", "NULL", "~"})
SET_SYNTAX_HINT = (
    "use PATH=VALUE, e.g. --set image.tag=1.2.3, --set 'ingress.hosts[0]=example.com', "
    "--set 'podAnnotations.example\\.com/team=web'"
)

PathSegment = str | int

# `--set web:image.tag=1.2` and `-f web:values.yaml` apply to release `web` only. The scope is a
# release name (a DNS label) directly followed by ':'; a key that itself holds ':' escapes it.
_RELEASE_SCOPE = re.compile(r"^([a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?):")


def split_release_scope(expr: str) -> tuple[str | None, str]:
    """(release, rest) for a release-scoped `RELEASE:REST` command-line value (`--set`,
    `--set-string`, `-f`), (None, expr) for one that applies to every release. Pure."""
    match = _RELEASE_SCOPE.match(expr)
    if match is None:
        return None, expr
    return match.group(1), expr[match.end() :]


def set_target(expr: str) -> str:
    """The part of a `PATH=VALUE` expression before its first unescaped '=' (to name the flag
    in messages without its value, which may be a secret)."""
    i = 0
    while i < len(expr):
        if expr[i] == "\\":
            i += 2
            continue
        if expr[i] == "=":
            return expr[:i]
        i += 1
    return expr


_ATOMS = (str, int, float, bool, type(None))


def copy_tree(value: Any) -> Any:
    """A deep copy of a tree of values. Mappings and lists are copied by hand, scalars are shared
    (they are immutable): about five times faster than copy.deepcopy on the values of a large
    package, which every release copies. Anything else goes through copy.deepcopy."""
    kind = type(value)
    if kind is dict:
        return {k: copy_tree(v) for k, v in value.items()}
    if kind is list:
        return [copy_tree(v) for v in value]
    if kind in _ATOMS:
        return value
    return copy.deepcopy(value)


def _without_nulls(value: Any) -> Any:
    """A deep copy of `value` in which mapping entries whose value is null are gone (an overlay's
    null means 'no such key', also inside a subtree that the base did not have)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return copy_tree(value)


def _merge_dicts(config: Any, path: list[Any], base: dict[Any, Any], nxt: dict[Any, Any]) -> Any:
    for key, value in nxt.items():
        if value is None:
            base.pop(key, None)
        elif key in base:
            base[key] = config.value_strategy([*path, key], base[key], value)
        else:
            base[key] = _without_nulls(value)
    return base


def _replace(config: Any, path: list[Any], base: Any, nxt: Any) -> Any:
    return _without_nulls(nxt)


@functools.lru_cache(maxsize=1)
def _merger() -> Any:
    from deepmerge import Merger

    return Merger([(dict, [_merge_dicts]), (list, [_replace])], [_replace], [_replace])


def merge(base: Values, overlay: Values) -> Values:
    """`overlay` laid over `base`, as a new dict: mappings merge recursively, lists and other values
    are replaced whole, a null in `overlay` removes the key. Neither input is modified."""
    result: Values = _merger().merge(copy_tree(base), overlay)
    return result


def merge_layers(layers: Iterable[Values]) -> Values:
    """All layers merged in order, the later winning. The first layer is taken as it is (package
    defaults may hold explicit nulls); an empty iterable gives {}."""
    result: Values | None = None
    for layer in layers:
        result = copy_tree(layer) if result is None else _merger().merge(result, layer)
    return result if result is not None else {}


def _invalid(expr: str, flag: str, why: str) -> KdeployError:
    return KdeployError(f'invalid {flag} "{expr}": {why}', hint=SET_SYNTAX_HINT)


def parse_set_path(
    expr: str, *, as_string: bool = False, flag: str | None = None
) -> tuple[list[PathSegment], Any]:
    """Split `a.b[0].c=value` into its path (['a', 'b', 0, 'c']) and value. A backslash escapes the
    next character (`a\\.b` is one key 'a.b'). The value is parsed as a YAML scalar, or as a flow
    list/mapping when it starts with `[` or `{`; text that is not one stays a string; `as_string`
    keeps it a string always. Raises KdeployError quoting `expr` (and `flag`, default --set or
    --set-string) when it is malformed."""
    flag = flag or ("--set-string" if as_string else "--set")
    path: list[PathSegment] = []
    key: list[str] = []
    # after ']' only '.', '[' or '=' may follow; `key_done` tracks that a segment was closed
    key_done = False
    i, n = 0, len(expr)
    while i < n:
        ch = expr[i]
        if ch == "\\":
            if i + 1 >= n:
                raise _invalid(expr, flag, "a trailing backslash escapes nothing")
            if key_done:
                raise _invalid(expr, flag, f"unexpected text after ']' at position {i + 1}")
            key.append(expr[i + 1])
            i += 2
            continue
        if ch == "=":
            break
        if ch == ".":
            if not key and not key_done:
                raise _invalid(expr, flag, f"empty key before '.' at position {i + 1}")
            if key:
                path.append("".join(key))
                key = []
            key_done = False
            i += 1
            if i >= n or expr[i] in ".=":
                raise _invalid(expr, flag, f"empty key after '.' at position {i}")
            continue
        if ch == "[":
            if key:
                path.append("".join(key))
                key = []
            if not path:
                raise _invalid(expr, flag, "a list index needs a key before it (like a[0])")
            end = expr.find("]", i)
            if end < 0:
                raise _invalid(expr, flag, f"unclosed '[' at position {i + 1}")
            digits = expr[i + 1 : end]
            if not digits.isdigit() or not digits.isascii():
                raise _invalid(expr, flag, f"list index [{digits}] is not a non-negative integer")
            index = int(digits)
            if index > MAX_SET_INDEX:
                raise _invalid(expr, flag, f"list index {index} is larger than {MAX_SET_INDEX}")
            path.append(index)
            key_done = True
            i = end + 1
            continue
        if ch == "]":
            raise _invalid(expr, flag, f"']' without '[' at position {i + 1}")
        if key_done:
            raise _invalid(expr, flag, f"unexpected text after ']' at position {i + 1}")
        key.append(ch)
        i += 1
    if i >= n:
        raise _invalid(expr, flag, "no '=' between the path and the value")
    if key:
        path.append("".join(key))
    if not path:
        raise _invalid(expr, flag, "empty path before '='")
    raw = expr[i + 1 :]
    value = raw if as_string else _parse_value(raw, expr, flag)
    return path, value


def parse_set_json(expr: str) -> tuple[list[PathSegment], Any]:
    """`--set-json PATH=JSON`: the path (as for --set) and the JSON value (any JSON: an object,
    a list, a string, null to remove the key). Raises KdeployError naming the flag when the path
    is malformed or the value is not JSON."""
    import json

    path, raw = parse_set_path(expr, as_string=True, flag="--set-json")
    try:
        return path, json.loads(raw)
    except json.JSONDecodeError as e:
        raise KdeployError(
            f'invalid --set-json for "{set_target(expr)}": the value is not JSON: {e.msg} at '
            f"position {e.pos + 1}",
            hint="quote the whole flag for the shell, e.g. --set-json "
            '\'resources={"limits": {"cpu": "1"}}\'',
        ) from None


def _parse_value(raw: str, expr: str, flag: str) -> Any:
    from kdeploy.yamlio import load_user_text

    if raw.strip() == "":
        return raw
    is_flow = raw.lstrip()[:1] in ("[", "{")
    try:
        parsed = load_user_text(raw, f'{flag} "{expr}"')
    except ProjectError as e:
        if is_flow:
            raise _invalid(expr, flag, f"the value is not valid YAML: {e.message}") from None
        return raw
    if isinstance(parsed, (dict, list)) and not is_flow:
        return raw  # 'a: b' is text, not a mapping
    if parsed is None and raw.strip() not in _NULL_WORDS:
        return raw  # e.g. '#fff' is a comment to YAML but a colour to the user
    return parsed


def _set_in(node: Any, path: list[PathSegment], value: Any) -> Any:
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(node) if isinstance(node, list) else []
        while len(items) <= head:
            items.append(None)
        items[head] = _set_in(items[head], rest, value) if rest else value
        return items
    mapping = dict(node) if isinstance(node, dict) else {}
    if rest:
        mapping[head] = _set_in(mapping.get(head), rest, value)
    elif value is None:
        mapping.pop(head, None)
    else:
        mapping[head] = value
    return mapping


def set_path(values: Values, path: list[PathSegment], value: Any) -> Values:
    """A copy of `values` with `value` put at `path` (from parse_set_path); see apply_set."""
    result: Values = _set_in(copy_tree(values), path, copy_tree(value))
    return result


def apply_set(values: Values, expr: str, *, as_string: bool = False) -> Values:
    """A copy of `values` with the assignment `expr` (see parse_set_path) applied: the keys along the
    path are created as needed, a list index changes that element of the existing list, and a null
    value removes the key. Raises KdeployError when `expr` is malformed."""
    path, value = parse_set_path(expr, as_string=as_string)
    return set_path(values, path, value)


def parse_set(expr: str, *, as_string: bool = False) -> Values:
    """`--set a.b.c=value` as an overlay mapping ({'a': {'b': {'c': value}}}). Raises KdeployError
    quoting `expr` when it is malformed."""
    path, value = parse_set_path(expr, as_string=as_string)
    result: Values = _set_in({}, path, value)
    return result
