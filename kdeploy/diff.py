"""What an apply would change, and how to show it (pure).

The desired side of each object is the API server's answer to a server-side dry-run apply, so
defaulting and admission are already in it; the live side is the object as read. Both are
normalised (server-managed metadata and status dropped) before comparing, so a diff right after an
apply is empty. Secret values are replaced by a short hash unless the caller opts in.
"""

from __future__ import annotations

import base64
import copy
import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from kdeploy.difflayout import ObjectText
from kdeploy.model import Manifest, ObjectKey
from kdeploy.secrets import redaction_token

Action = Literal["create", "change", "delete", "unchanged"]

# Metadata the server owns: never part of what the user manages, so never part of a diff.
_SERVER_METADATA = (
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
_IGNORED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
_SECRET_FIELDS = ("data", "stringData")
JSON_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Change:
    """One object's planned change; `before`/`after` are normalised (None when absent)."""

    key: ObjectKey
    action: Action
    before: Manifest | None = None
    after: Manifest | None = None

    @property
    def api_version(self) -> str:
        obj = self.after or self.before or {}
        return str(obj.get("apiVersion", ""))


@dataclass(frozen=True)
class Plan:
    """The changes of one release, in the order they were planned (desired objects, then deletes)."""

    changes: tuple[Change, ...] = field(default_factory=tuple)

    def of(self, action: Action) -> list[Change]:
        """The changes with the given action."""
        return [c for c in self.changes if c.action == action]

    @property
    def has_changes(self) -> bool:
        return any(c.action != "unchanged" for c in self.changes)

    def counts(self) -> dict[str, int]:
        """Number of objects per action (create, change, delete, unchanged)."""
        out = {"create": 0, "change": 0, "delete": 0, "unchanged": 0}
        for c in self.changes:
            out[c.action] += 1
        return out


def normalize(obj: Mapping[str, Any]) -> Manifest:
    """A deep copy of `obj` without server-managed metadata, status, or kubectl's
    last-applied annotation; empty labels/annotations maps are dropped."""
    out: Manifest = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for name in _SERVER_METADATA:
            meta.pop(name, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            for name in _IGNORED_ANNOTATIONS:
                annotations.pop(name, None)
        for name in ("annotations", "labels"):
            if name in meta and not meta[name]:
                del meta[name]
    return out


def plan(
    desired_dry_run: Mapping[ObjectKey, Mapping[str, Any]],
    live: Mapping[ObjectKey, Mapping[str, Any] | None],
    previous_keys: Iterable[ObjectKey],
) -> Plan:
    """Compare each desired object (as the dry-run apply returned it) with its live state, and list
    the objects of the previous revision that are no longer desired and still exist (deletes).

    Returns a Plan in desired order followed by deletes in sorted key order."""
    changes: list[Change] = []
    for key, would_be in desired_dry_run.items():
        after = normalize(would_be)
        current = live.get(key)
        if current is None:
            changes.append(Change(key, "create", None, after))
            continue
        before = normalize(current)
        action: Action = "unchanged" if before == after else "change"
        changes.append(Change(key, action, before, after))
    for key in sorted(set(previous_keys) - set(desired_dry_run)):
        current = live.get(key)
        if current is not None:
            changes.append(Change(key, "delete", normalize(current), None))
    return Plan(tuple(changes))


@dataclass(frozen=True)
class SecretRemoval:
    """A key of a Secret that the plan would remove or empty (it has a value now), or create with
    an empty value (a new Secret, or a key the live one does not have)."""

    key: ObjectKey
    data_key: str
    how: Literal["emptied", "removed", "created empty"]

    def describe(self) -> str:
        """`Secret shop/db: key password would be emptied` (never the value)."""
        return f"{self.key}: key {self.data_key} would be {self.how}"


def secret_removals(plan_: Plan) -> list[SecretRemoval]:
    """The keys of core Secrets that have a value now and that the plan would remove (absent from
    the would-be object) or empty (an empty value), and the keys it would create with an empty
    value (in a new Secret, or new in a live one), by object then key. A key that is empty now and
    stays empty is none of these."""
    out: list[SecretRemoval] = []
    for change in plan_.changes:
        if change.action not in ("create", "change") or change.after is None:
            continue
        if not _is_secret(change.after):
            continue
        after = {**(change.after.get("data") or {}), **(change.after.get("stringData") or {})}
        before = (change.before or {}).get("data") or {}
        for name, value in sorted(before.items()):
            if not value:
                continue
            if name not in after:
                out.append(SecretRemoval(change.key, str(name), "removed"))
            elif not after[name]:
                out.append(SecretRemoval(change.key, str(name), "emptied"))
        for name, value in sorted(after.items()):
            if not value and name not in before:
                out.append(SecretRemoval(change.key, str(name), "created empty"))
    return out


def summary(plan_: Plan) -> str:
    """The summary line, e.g. "1 to create, 2 to change, 0 to delete"."""
    c = plan_.counts()
    return f"{c['create']} to create, {c['change']} to change, {c['delete']} to delete"


def mask_secret(obj: Manifest | None, show_secrets: bool = False) -> Manifest | None:
    """For a core Secret, replace each value of data/stringData by a short hash of its decoded
    bytes, so a diff shows which keys changed but not the values. Other objects are returned as is."""
    if obj is None or show_secrets or not _is_secret(obj):
        return obj
    out = dict(obj)
    for name in _SECRET_FIELDS:
        values = obj.get(name)
        if isinstance(values, dict):
            out[name] = {
                k: _hash_label(_secret_bytes(v, base64_encoded=name == "data"))
                for k, v in values.items()
            }
    return out


def object_diff(
    change: Change, *, show_secrets: bool = False, redact: Callable[[str], str] = str
) -> str:
    """Unified YAML diff of one change ('' when unchanged); `redact` scrubs secret strings from the
    text (e.g. a secret value that also appears in a ConfigMap)."""
    if change.action == "unchanged":
        return ""
    before = _yaml(mask_secret(change.before, show_secrets))
    after = _yaml(mask_secret(change.after, show_secrets))
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"live/{_path_label(change.key)}",
        tofile=f"desired/{_path_label(change.key)}",
        n=3,
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return text if show_secrets else redact(text)


def text_parts(
    plan_: Plan, *, show_secrets: bool = False, redact: Callable[[str], str] = str
) -> list[ObjectText]:
    """The human diff of one release, object by object: a header and unified diff per changed
    object (kdeploy.difflayout shortens and lays them out)."""
    return [
        ObjectText(
            header=f"{_verb(change.action)} {change.key}\n",
            body=object_diff(change, show_secrets=show_secrets, redact=redact),
            created=change.action == "create",
        )
        for change in plan_.changes
        if change.action != "unchanged"
    ]


def format_text(
    plan_: Plan, *, show_secrets: bool = False, redact: Callable[[str], str] = str
) -> str:
    """The human diff of one release: a header and unified diff per changed object, then the
    summary line."""
    parts = text_parts(plan_, show_secrets=show_secrets, redact=redact)
    return "".join(p.header + p.body for p in parts) + summary(plan_) + "\n"


def to_json(
    plan_: Plan, *, show_secrets: bool = False, redact: Callable[[str], str] = str
) -> dict[str, Any]:
    """The machine form of one release's plan (documented in docs/cli.md, `diff --output json`)."""
    counts = plan_.counts()
    return {
        "summary": counts,
        "changes": [
            {
                "action": c.action,
                "apiVersion": c.api_version,
                "kind": c.key.kind,
                "namespace": c.key.namespace,
                "name": c.key.name,
                "diff": object_diff(c, show_secrets=show_secrets, redact=redact),
            }
            for c in plan_.changes
            if c.action != "unchanged"
        ],
    }


def _verb(action: Action) -> str:
    return {"create": "+ create", "change": "~ change", "delete": "- delete"}.get(action, action)


def _path_label(key: ObjectKey) -> str:
    kind = f"{key.kind}.{key.group}" if key.group else key.kind
    return f"{kind}/{key.namespace}/{key.name}" if key.namespace else f"{kind}/{key.name}"


def _is_secret(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def _secret_bytes(value: Any, *, base64_encoded: bool) -> bytes:
    text = "" if value is None else str(value)
    if base64_encoded:
        try:
            return base64.b64decode(text, validate=True)
        except ValueError:
            pass
    return text.encode()


def _hash_label(data: bytes) -> str:
    return redaction_token(data)


def _yaml(obj: Manifest | None) -> str:
    if obj is None:
        return ""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(obj, Dumper=dumper, sort_keys=True, default_flow_style=False)
