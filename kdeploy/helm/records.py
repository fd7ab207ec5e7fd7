"""Helm's release records, decoded (pure).

Helm 3 and 4 store revision N of release R in namespace NS as a Secret (the default driver) or a
ConfigMap (`HELM_DRIVER=configmap`) named `sh.helm.release.v1.R.vN`, labelled `owner=helm`,
`name=R`, `version=N`, `status=...`. Its `data.release` is base64 (of a gzip stream, or of plain
JSON) of the release object: name, namespace, version, info (status, times, description),
chart (metadata: name, version, appVersion; default values), config (the values the user set),
manifest (the rendered objects as one YAML stream) and hooks. A Secret's data is base64 once more,
as all Secret data is.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

from kdeploy.errors import HelmImportError
from kdeploy.model import Manifest, Values
from kdeploy.values import merge

OWNER_SELECTOR = "owner=helm"
RECORD_TYPE = "helm.sh/release.v1"
# the statuses of an operation that has not finished (or whose helm process was killed)
PENDING = frozenset({"pending-install", "pending-upgrade", "pending-rollback"})
_GZIP_MAGIC = b"\x1f\x8b"


def record_selector(release: str) -> str:
    """The label selector of a release's Helm records."""
    return f"{OWNER_SELECTOR},name={release}"


@dataclass(frozen=True)
class HelmHook:
    """A hook of a Helm revision: an object Helm runs at events, not part of the release's
    manifest."""

    kind: str
    name: str
    events: tuple[str, ...]


@dataclass(frozen=True)
class HelmRevision:
    """One decoded Helm revision. `record` names the object it was read from
    (`Secret shop/sh.helm.release.v1.web.v2`); `values` are the chart's defaults merged with
    what the user set (`user_values`), as `helm get values --all` shows them."""

    record: str
    record_kind: str
    record_name: str
    release: str
    namespace: str
    number: int
    status: str
    description: str
    deployed_at: str
    chart: str
    chart_version: str
    app_version: str
    manifest: str
    values: Values = field(default_factory=dict)
    user_values: Values = field(default_factory=dict)
    hooks: tuple[HelmHook, ...] = ()


def decode_record(obj: Mapping[str, Any]) -> HelmRevision:
    """The Helm revision stored in a Secret or ConfigMap. Raises HelmImportError naming the object
    when it cannot be read (not base64, not gzip, not JSON: Helm may one day write protobuf)."""
    meta = obj.get("metadata") or {}
    kind = str(obj.get("kind") or "Secret")
    where = f"{kind} {meta.get('namespace', '')}/{meta.get('name', '')}"
    raw = (obj.get("data") or {}).get("release")
    if not isinstance(raw, str) or not raw:
        raise _unreadable(where, "it has no data.release")
    try:
        text = base64.b64decode(raw, validate=True)
        if kind == "Secret":  # Secret data is base64 once more
            text = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise _unreadable(where, f"data.release is not base64 ({e})") from e
    if text.startswith(_GZIP_MAGIC):
        try:
            text = gzip.decompress(text)
        except (OSError, EOFError, zlib.error) as e:
            raise _unreadable(where, f"data.release is not a valid gzip stream ({e})") from e
    try:
        release = json.loads(text)
    except ValueError as e:
        raise _unreadable(
            where,
            "the release is not JSON (Helm may have written it in another encoding, such as "
            "protobuf, which this kdeploy cannot read)",
        ) from e
    if not isinstance(release, dict):
        raise _unreadable(where, "the release is not a JSON object")
    return _revision(release, where, kind, str(meta.get("name", "")))


def _revision(release: dict[str, Any], where: str, kind: str, name: str) -> HelmRevision:
    info = _mapping(release.get("info"))
    chart = _mapping(release.get("chart"))
    chart_meta = _mapping(chart.get("metadata"))
    number = release.get("version")
    if type(number) is not int or number < 1:
        raise _unreadable(where, f"its revision number is {number!r}")
    defaults = _mapping(chart.get("values"))
    user = _mapping(release.get("config"))
    hooks = tuple(
        HelmHook(
            kind=str(h.get("kind", "")),
            name=str(h.get("name", "")),
            events=tuple(str(e) for e in h.get("events") or ()),
        )
        for h in release.get("hooks") or ()
        if isinstance(h, dict)
    )
    return HelmRevision(
        record=where,
        record_kind=kind,
        record_name=name,
        release=str(release.get("name", "")),
        namespace=str(release.get("namespace", "")),
        number=number,
        status=str(info.get("status") or "unknown"),
        description=str(info.get("description") or ""),
        deployed_at=helm_time(str(info.get("last_deployed") or info.get("first_deployed") or "")),
        chart=str(chart_meta.get("name", "")),
        chart_version=str(chart_meta.get("version", "")),
        app_version=str(chart_meta.get("appVersion") or ""),
        manifest=str(release.get("manifest") or ""),
        values=merge(defaults, user),
        user_values=user,
        hooks=hooks,
    )


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _unreadable(where: str, why: str) -> HelmImportError:
    return HelmImportError(
        f"cannot read the Helm release record {where}: {why}; nothing was changed",
        hint="check it with `helm history`; a record Helm cannot read either can be deleted with "
        "kubectl, losing that revision",
    )


_FRACTION = re.compile(r"(\d{2}:\d{2}:\d{2})\.\d+")


def helm_time(text: str) -> str:
    """Helm's RFC 3339 time with nanoseconds and any offset (`2026-12-03T09:19:15.53521076Z`,
    `...+01:00`) as kdeploy's UTC seconds (`2026-12-03T09:19:15Z`); "" when absent or unreadable."""
    if not text:
        return ""
    try:
        when = datetime.fromisoformat(_FRACTION.sub(r"\1", text).replace("Z", "+00:00"))
    except ValueError:
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def manifest_objects(revision: HelmRevision) -> list[Manifest]:
    """The objects of a revision's manifest (a YAML stream with `# Source:` comments), in order;
    `List` objects are expanded into their items. Raises HelmImportError naming the record when a
    document is not an object with apiVersion, kind and metadata.name."""
    try:
        docs = list(yaml.safe_load_all(revision.manifest))
    except yaml.YAMLError as e:
        raise HelmImportError(
            f"the manifest of Helm revision {revision.number} ({revision.record}) is not valid "
            f"YAML: {e}; nothing was changed"
        ) from e
    out: list[Manifest] = []
    for doc in docs:
        if doc is None:
            continue
        items = doc.get("items") if isinstance(doc, dict) and _is_list(doc) else [doc]
        for item in items or ():
            if not (
                isinstance(item, dict)
                and item.get("apiVersion")
                and item.get("kind")
                and isinstance(item.get("metadata"), dict)
                and item["metadata"].get("name")
            ):
                raise HelmImportError(
                    f"the manifest of Helm revision {revision.number} ({revision.record}) holds "
                    f"a document that is not a Kubernetes object: {str(item)[:120]}; nothing "
                    "was changed"
                )
            out.append(item)
    return out


def _is_list(doc: dict[str, Any]) -> bool:
    return str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list)
