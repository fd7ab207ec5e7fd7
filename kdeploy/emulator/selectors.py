"""Label and field selectors as the API server parses them (query parameters of list and watch)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

# Fields each kind can be selected by, beyond metadata.name and metadata.namespace.
_FIELDS: dict[str, tuple[str, ...]] = {
    "Secret": ("type",),
    "Pod": (
        "status.phase",
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    "Event": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "Namespace": ("status.phase",),
    "Job": ("status.successful",),
    "ReplicaSet": ("status.replicas",),
    "ReplicationController": ("status.replicas",),
    "Node": ("spec.unschedulable",),
}

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_SET_RE = re.compile(rf"^\s*({_NAME})\s+(in|notin)\s*\(([^)]*)\)\s*$")
_OP_RE = re.compile(rf"^\s*(!?)\s*({_NAME})\s*(?:(==|=|!=|>|<)\s*(\S*))?\s*$")


_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


class SelectorError(ValueError):
    """A selector that does not parse; the message is what the API server answers (400)."""


def _split_terms(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    terms: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    terms.append("".join(cur))
    return [t for t in terms if t.strip()]


def _check_value(value: str) -> None:
    if len(value) > 63 or not _VALUE_RE.match(value):
        raise SelectorError(
            f"unable to parse requirement: values[0][{value}]: Invalid value: {value!r}: a valid "
            "label must be an empty string or consist of alphanumeric characters, '-', '_' or "
            "'.', and must start and end with an alphanumeric character"
        )


def _label_term(term: str) -> Predicate:
    m = _SET_RE.match(term)
    if m:
        key, op = m.group(1), m.group(3)
        values = {v.strip() for v in m.group(4).split(",") if v.strip()}
        for v in values:
            _check_value(v)
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    m = _OP_RE.match(term)
    if not m:
        raise SelectorError(f"unable to parse requirement: {term.strip()!r}")
    neg, key, op, value = m.group(1), m.group(2), m.group(4), m.group(5)
    if neg:
        if op:
            raise SelectorError(f"unable to parse requirement: {term.strip()!r}")
        return lambda labels: key not in labels
    if op is None:
        return lambda labels: key in labels
    if op in ("=", "==", "!="):
        _check_value(value)
    if op in ("=", "=="):
        return lambda labels: labels.get(key) == value
    if op == "!=":
        return lambda labels: labels.get(key) != value
    try:
        bound = int(value)
    except ValueError as e:
        raise SelectorError(
            f"for 'Gt', 'Lt' operators, the value must be an integer: {value}"
        ) from e
    greater = op == ">"

    def compare(labels: Obj) -> bool:
        try:
            v = int(labels[key])
        except (KeyError, ValueError):
            return False
        return v > bound if greater else v < bound

    return compare


def parse_label_selector(text: str | None) -> Predicate:
    """A predicate over a whole object for a label selector (`a=b,c in (x,y),!d,e`).
    Empty or None selects everything. Raises SelectorError for a malformed selector."""
    if not text or not text.strip():
        return lambda obj: True
    terms = [_label_term(t) for t in _split_terms(text)]

    def match(obj: Obj) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(t(labels) for t in terms)

    return match


def label_selector_from_dict(selector: Obj | None) -> Predicate:
    """A predicate for a metav1.LabelSelector (matchLabels / matchExpressions). None matches
    nothing, an empty selector matches everything, as for workload selectors."""
    if selector is None:
        return lambda obj: False
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return parse_label_selector(",".join(parts))


def _field_value(obj: Obj, path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, dict) and path == "source":
        return str(cur.get("component", ""))
    return str(cur)


def parse_field_selector(text: str | None, kind: str) -> Predicate:
    """A predicate for a field selector (`metadata.name=x,status.phase!=Running`) on objects of
    `kind`. Raises SelectorError for a malformed term or a field the kind cannot be selected by
    (`field label not supported: <field>`, as the API server says)."""
    if not text or not text.strip():
        return lambda obj: True
    allowed = {"metadata.name", "metadata.namespace", *_FIELDS.get(kind, ())}
    checks: list[tuple[str, bool, str]] = []
    for term in _split_terms(text):
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not m:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term.strip()}'")
        name, op, value = m.group(1), m.group(2), m.group(3)
        if name not in allowed:
            if kind in _FIELDS:
                raise SelectorError(f"field label not supported: {name}")
            # kinds with only the default field set answer from the generic registry
            raise SelectorError(
                f'"{name}" is not a known field selector: only "metadata.name", '
                '"metadata.namespace"'
            )
        checks.append((name, op != "!=", value))

    def match(obj: Obj) -> bool:
        return all((_field_value(obj, f) == v) == eq for f, eq, v in checks)

    return match


def field_selector_name(text: str | None) -> str | None:
    """The single object name a field selector pins (`metadata.name=x`), if it does; lets a
    list skip scanning every object."""
    if not text:
        return None
    terms = _split_terms(text)
    for t in terms:
        m = re.match(r"^\s*metadata\.name\s*==?\s*(.*?)\s*$", t)
        if m:
            return m.group(1)
    return None
