"""Drift: fields of a release's objects that another field manager changed (`kubectl scale`,
`kubectl set image`, `kubectl edit`, an autoscaler) and what apply and rollback do about them (pure).

The policy (docs/operations.md, "Drift and field conflicts"): a conflicting field that kdeploy set
in the revisions being replaced (it is in kdeploy's applied manifest of that object) is reclaimed
(the hand change is reverted and reported); a field kdeploy never set stops the operation, as does
`spec.replicas` of a workload a HorizontalPodAutoscaler scales (reclaiming it would undo every
scaling decision). `--force-conflicts` takes every conflicting field.

Field paths are the API server's (structured-merge-diff) notation: `.spec.replicas`,
`.spec.template.spec.containers[name="app"].image`, `.spec.ports[port=80,protocol="TCP"]`,
`.metadata.finalizers[="x"]`, `.items[0]`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kdeploy.kube.client import FIELD_MANAGER
from kdeploy.model import ObjectKey

Action = Literal["reclaim", "conflict"]

# the field an autoscaler owns on the workload it scales
_SCALED_FIELD = ".spec.replicas"
# built-in workloads with a scale subresource; their spec.replicas defaults to 1
_SCALABLE = frozenset(
    {("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "ReplicaSet"),
     ("", "ReplicationController")}
)  # fmt: skip
_DEFAULT_REPLICAS = 1


@dataclass(frozen=True)
class Drift:
    """One conflicting field of one object: who owns it now, and whether apply reclaims it or
    stops on it (`reason` says why it stops when kdeploy did set it before)."""

    key: ObjectKey
    field: str
    manager: str
    action: Action
    reason: str = ""

    def describe(self) -> str:
        """`Deployment.apps shop/web: reverted drift: .spec.replicas was changed by "kubectl" ...`
        or `conflict: Deployment.apps shop/web .spec.replicas is owned by "ops" (...)`."""
        if self.action == "reclaim":
            return f"{self.key}: reverted drift: {self.field} was changed by {self.manager}"
        why = self.reason or "kdeploy never set it"
        if not self.manager:
            return f"conflict: {self.key} {self.field} was changed outside kdeploy ({why})"
        return f"conflict: {self.key} {self.field} is owned by {self.manager} ({why})"

    def to_json(self) -> dict[str, str]:
        return {
            "object": str(self.key),
            "field": self.field,
            "manager": self.manager,
            "action": self.action,
            "reason": self.reason,
        }


def classify(
    key: ObjectKey,
    conflicts: Iterable[tuple[str, str]],
    applied: Sequence[Mapping[str, Any]],
    autoscaler: str = "",
) -> list[Drift]:
    """The drift of object `key` from the (field, manager) conflicts of a dry-run apply: reclaimed
    when a manifest kdeploy applied before (`applied`) sets the field, a conflict otherwise.
    `autoscaler` (e.g. "HorizontalPodAutoscaler shop/web") names what scales the object: its
    `.spec.replicas` is then always a conflict."""
    out: list[Drift] = []
    for field, manager in conflicts:
        if field == _SCALED_FIELD and autoscaler:
            out.append(Drift(key, field, manager, "conflict", f"{autoscaler} scales it"))
        elif any(sets_field(m, field) for m in applied):
            out.append(Drift(key, field, manager, "reclaim"))
        else:
            out.append(Drift(key, field, manager, "conflict"))
    return out


def unrecorded_scale(
    key: ObjectKey,
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    applied: Sequence[Mapping[str, Any]],
    autoscaler: str = "",
) -> Drift | None:
    """The conflict a dry-run apply cannot report: `.spec.replicas` of a scalable workload that
    kdeploy never set (not in `applied`) and that no field manager owns, changed from its default
    through the scale subresource (`kubectl scale`, an autoscaler) while `desired` now sets another
    value. The API server records no field manager for such a write (it only moves the ownership
    of replicas that someone owned), so the apply would silently overwrite it. None otherwise."""
    if (key.group, key.kind) not in _SCALABLE or not _has(desired, _SCALED_FIELD):
        return None
    wanted = (desired.get("spec") or {}).get("replicas")
    current = (live.get("spec") or {}).get("replicas", _DEFAULT_REPLICAS)
    if current in (wanted, _DEFAULT_REPLICAS) or owners(live, "spec", "replicas"):
        return None
    if any(sets_field(m, _SCALED_FIELD) for m in applied):
        return None
    through = (
        f"it is {current}, set through the scale subresource (kubectl scale or an autoscaler), "
        "which the API server records for no field manager when nobody owned the field"
    )
    reason = f"{autoscaler} scales it" if autoscaler else "kdeploy never set it"
    return Drift(key, _SCALED_FIELD, "", "conflict", f"{reason}; {through}")


def secret_data_drift(
    key: ObjectKey,
    live: Mapping[str, Any],
    would_be: Mapping[str, Any],
    applied: Sequence[Mapping[str, Any]],
) -> list[Drift]:
    """Hand edits of a live Secret's `data` that the apply would undo without the server seeing a
    conflict: kdeploy writes a key through `stringData`, which the server folds into `data`, so
    another manager's write of `data.K` (`kubectl edit`, a patch) owns a different field. Each
    key whose would-be value differs from the live one and that another manager owns is drift:
    reclaimed when kdeploy set it before, a conflict otherwise (as `classify`). No value is kept."""
    if key.group or key.kind != "Secret":
        return []
    now = live.get("data") or {}
    after = would_be.get("data") or {}
    conflicts = []
    for name in sorted(after):
        if name in now and now[name] != after[name]:
            others = [m for m in owners(live, "data", name) if m != f'"{FIELD_MANAGER}"']
            if others:
                conflicts.append((f".data.{name}", others[0]))
    return classify(key, conflicts, applied)


def owners(obj: Mapping[str, Any], *path: str) -> list[str]:
    """The field managers whose `metadata.managedFields` entries own the field at `path` of `obj`,
    named as the server names them in a conflict (`"kubectl" with subresource "scale"`)."""
    out = []
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        node: Any = (entry or {}).get("fieldsV1") or {}
        for name in path:
            node = node.get(f"f:{name}") if isinstance(node, Mapping) else None
        if node is not None:
            manager = json.dumps(str(entry.get("manager", "")))
            sub = entry.get("subresource")
            out.append(f"{manager} with subresource {json.dumps(sub)}" if sub else manager)
    return out


def sets_field(manifest: Mapping[str, Any], path: str) -> bool:
    """Whether `manifest` sets the field at `path` (a server field path, see the module doc).
    A Secret's `.data.K` counts as set by `stringData.K` (the server folds one into the other)."""
    if _has(manifest, path):
        return True
    if manifest.get("kind") == "Secret" and path.startswith(".data."):
        return _has(manifest, ".stringData." + path.removeprefix(".data."))
    return False


def scale_target(hpa: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, name) an autoscaler scales, None when it names none."""
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    kind, name = ref.get("kind"), ref.get("name")
    return (str(kind), str(name)) if kind and name else None


def _has(node: Any, path: str) -> bool:
    if not path:
        return True
    if path[0] == ".":
        if not isinstance(node, Mapping):
            return False
        rest = path[1:]
        # a field name may itself contain dots (label keys): try the keys that fit, longest first
        for name in sorted((str(k) for k in node), key=len, reverse=True):
            after = rest[len(name) :]
            if (
                rest.startswith(name)
                and (not after or after[0] in ".[")
                and _has(node[name], after)
            ):
                return True
        return False
    if path[0] == "[":
        end = _closing_bracket(path)
        if end < 0 or not isinstance(node, list):
            return False
        selector, rest = path[1:end], path[end + 1 :]
        return any(_has(item, rest) for item in _select(node, selector))
    return False


def _closing_bracket(path: str) -> int:
    quoted = escaped = False
    for i, ch in enumerate(path):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "]" and not quoted:
            return i
    return -1


def _select(items: list[Any], selector: str) -> list[Any]:
    """The list items a path element selects: `[=value]` (a set member), `[N]` (an index) or
    `[k=v,...]` (an associative list item by its keys; a key the manifest leaves out, such as a
    defaulted `protocol`, does not rule an item out)."""
    try:
        if selector.startswith("="):
            value = json.loads(selector[1:])
            return [item for item in items if item == value]
        if selector.isdigit():
            index = int(selector)
            return [items[index]] if index < len(items) else []
        keys = dict(_key_values(selector))
    except ValueError:
        return []
    return [
        item
        for item in items
        if isinstance(item, Mapping)
        and any(k in item for k in keys)
        and all(item.get(k, v) == v for k, v in keys.items())
    ]


def _key_values(selector: str) -> Iterable[tuple[str, Any]]:
    """`name="app",port=80` -> ("name", "app"), ("port", 80). Raises ValueError."""
    decoder = json.JSONDecoder()
    i = 0
    while i < len(selector):
        eq = selector.index("=", i)
        name = selector[i:eq]
        value, end = decoder.raw_decode(selector, eq + 1)
        yield name, value
        i = end + 1 if end < len(selector) and selector[end] == "," else end
        if end < len(selector) and selector[end] != ",":
            raise ValueError(f"bad key list {selector!r}")


def reclaimable(drift: Iterable[Drift], key: ObjectKey) -> frozenset[str]:
    """The fields of object `key` that apply may force (planned as reclaimed)."""
    return frozenset(d.field for d in drift if d.key == key and d.action == "reclaim")
