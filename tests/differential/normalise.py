"""Making two servers' responses comparable: what differs by nature (uids, timestamps,
resourceVersions, generated names, allocated IPs, the random suffix of a pod's
`kube-api-access-` token volume) is replaced by stable placeholders.

Placeholders keep identity within one case: the first uid seen is `<uid-1>` wherever it appears
later (an ownerReference, a Status's details, a message), and the object resourceVersions are
numbered in order of first appearance, so "a no-op apply keeps the resourceVersion" is still
compared. List and bookmark resourceVersions are the server's global revision, which background
writes on a real server move, so they become a bare `<rv>`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

Path = tuple[str, ...]

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_IP_FIELDS = frozenset({"clusterIP", "clusterIPs", "podIP", "podIPs", "hostIP", "hostIPs", "ip"})
_RV_IN_TEXT = re.compile(r"(?i)(resource ?version[^0-9<]{0,40})\d+")
# The ServiceAccount admission plugin names a pod's token volume with a random suffix.
_API_ACCESS_VOLUME = re.compile(r"\bkube-api-access-[a-z0-9]{5}\b")
_LIST_META_KEYS = frozenset({"resourceVersion", "continue", "remainingItemCount"})


class Normaliser:
    """Replaces the run-specific parts of one case's responses (state spans the whole case)."""

    def __init__(self, drop: Iterable[Path] = (), drop_managers: Iterable[str] = ()) -> None:
        self._drop = tuple(drop)
        self._drop_managers = frozenset(drop_managers)
        self._uids: dict[str, str] = {}
        self._rvs: dict[str, str] = {}
        self._names: dict[str, str] = {}

    def response(self, data: dict[str, Any]) -> dict[str, Any]:
        """The normalised copy of one `Response.as_data()`."""
        out = copy.deepcopy(data)
        if "events" in out:
            for event in out["events"]:
                if isinstance(event, dict) and isinstance(event.get("object"), dict):
                    self._document(event["object"], bookmark=event.get("type") == "BOOKMARK")
        elif isinstance(out.get("body"), dict):
            self._document(out["body"])
        return self._strings(out)  # type: ignore[no-any-return]

    def _document(self, doc: dict[str, Any], bookmark: bool = False) -> None:
        items = doc.get("items")
        if isinstance(items, list) and str(doc.get("kind", "")).endswith("List"):
            meta = doc.get("metadata")
            if isinstance(meta, dict):
                for key in _LIST_META_KEYS & meta.keys():
                    meta[key] = f"<{key}>"
            for item in items:
                if isinstance(item, dict):
                    self._object(item)
            return
        if bookmark:
            meta = doc.get("metadata") or {}
            if "resourceVersion" in meta:
                meta["resourceVersion"] = "<rv>"
            return
        self._object(doc)

    def _object(self, obj: dict[str, Any]) -> None:
        for path in self._drop:
            _drop_path(obj, path)
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            return
        data = obj.get("data")
        if meta.get("name") == "kube-root-ca.crt" and isinstance(data, dict) and "ca.crt" in data:
            data["ca.crt"] = "<cluster CA>"  # every cluster has its own CA
        rv = meta.get("resourceVersion")
        if isinstance(rv, str) and rv:
            meta["resourceVersion"] = self._rvs.setdefault(rv, f"<rv-{len(self._rvs) + 1}>")
        prefix, name = meta.get("generateName"), meta.get("name")
        generated = isinstance(prefix, str) and isinstance(name, str) and name != prefix
        if generated and name.startswith(prefix):
            self._names.setdefault(name, f"{prefix}<generated-{len(self._names) + 1}>")
        fields = meta.get("managedFields")
        if isinstance(fields, list) and any(
            p[:2] == ("metadata", "annotations") for p in self._drop
        ):
            # A controller's annotation (dropped above) may land before or after a client's first
            # annotation; whether that client's entry owns the annotations map itself (".") then
            # depends on timing, on a real server as on the emulator.
            for entry in fields:
                fv1 = entry.get("fieldsV1") if isinstance(entry, dict) else None
                annotations = (fv1 or {}).get("f:metadata", {}).get("f:annotations")
                if isinstance(annotations, dict):
                    annotations.pop(".", None)
        if isinstance(fields, list) and self._drop_managers:
            meta["managedFields"] = [f for f in fields if not self._dropped_manager(f)] or fields[
                :0
            ]
            if not meta["managedFields"]:
                del meta["managedFields"]

    def _dropped_manager(self, entry: Any) -> bool:
        if not isinstance(entry, dict):
            return False
        return entry.get("manager") in self._drop_managers or entry.get("subresource") == "status"

    def _strings(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {self._strings(k): self._strings(v, k) for k, v in sorted(value.items())}
        if isinstance(value, list):
            return [self._strings(v, key) for v in value]
        if not isinstance(value, str):
            return value
        if _TIME.match(value):
            return "<time>"
        if key in _IP_FIELDS and _IPV4.match(value):
            return "<ip>"
        value = _UUID.sub(self._uid, value)
        value = _API_ACCESS_VOLUME.sub("kube-api-access-<random>", value)
        value = _RV_IN_TEXT.sub(r"\1<rv>", value)
        for name, placeholder in self._names.items():
            value = value.replace(name, placeholder)
        return value

    def _uid(self, match: re.Match[str]) -> str:
        return self._uids.setdefault(match.group(0), f"<uid-{len(self._uids) + 1}>")


def _drop_path(obj: Any, path: Path) -> None:
    """Remove `path` (keys; `*` matches every list element) from `obj` where present."""
    if not path:
        return
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(obj, list):
        for item in obj:
            _drop_path(item, rest)
        return
    if not isinstance(obj, dict) or head not in obj:
        return
    if rest:
        _drop_path(obj[head], rest)
        if obj[head] in ({}, []) and head in ("annotations", "labels"):
            del obj[head]
    else:
        del obj[head]


def differences(left: Any, right: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Every field where `left` and `right` differ, as (path, left value, right value);
    lists are compared in order, a missing key shows as `<absent>`."""
    if isinstance(left, dict) and isinstance(right, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(left.keys() | right.keys()):
            sub = f"{path}.{key}" if path else str(key)
            if key not in left:
                out.append((sub, "<absent>", right[key]))
            elif key not in right:
                out.append((sub, left[key], "<absent>"))
            else:
                out.extend(differences(left[key], right[key], sub))
        return out
    if isinstance(left, list) and isinstance(right, list):
        out = []
        for i in range(max(len(left), len(right))):
            sub = f"{path}[{i}]"
            if i >= len(left):
                out.append((sub, "<absent>", right[i]))
            elif i >= len(right):
                out.append((sub, left[i], "<absent>"))
            else:
                out.extend(differences(left[i], right[i], sub))
        return out
    return [] if left == right else [(path, left, right)]
