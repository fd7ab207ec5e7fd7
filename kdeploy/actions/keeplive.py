"""`diff --secrets keep-live`: a merge-request diff job usually lacks the protected secrets of
production. Rendered with placeholders instead (kdeploy.envsecrets), each Secret key whose value is
such a placeholder takes the live Secret's value for that key, so the diff compares what the job
can know and shows those keys unchanged instead of changed or removed. Values are never printed:
Secret data is masked in every diff, the live values join the target's secret strings, and
`--show-secrets` is refused with this mode. Never used by apply: it would deploy live values it
did not render.

A secret used outside a Secret's data (quoted in a ConfigMap, an environment variable) cannot be
recovered this way; such objects are named, and their diff shows the placeholder."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import Target
from kdeploy.kube.client import ObjectRef
from kdeploy.model import Manifest, ObjectKey

PLACEHOLDER_MARK = "<secret not available: "


@dataclass(frozen=True)
class KeptKey:
    """One Secret key whose value the job lacks: kept from the live Secret, or missing there too."""

    key: ObjectKey
    data_key: str
    kept: bool

    def describe(self) -> str:
        if self.kept:
            return (
                f"~ {self.key} key {self.data_key}: secret not available in this job, compared "
                "with the live value (--secrets keep-live)"
            )
        return (
            f"! {self.key} key {self.data_key}: secret not available in this job and not in the "
            "live Secret: apply needs it"
        )


def _decoded(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


def placeholder_keys(manifest: Mapping[str, Any]) -> list[str]:
    """The data and stringData keys of a Secret whose value holds a secret placeholder."""
    if manifest.get("kind") != "Secret":
        return []
    found = [k for k, v in (manifest.get("stringData") or {}).items() if PLACEHOLDER_MARK in str(v)]
    found += [k for k, v in (manifest.get("data") or {}).items() if PLACEHOLDER_MARK in _decoded(v)]
    return list(dict.fromkeys(found))


def with_live_keys(
    manifest: Manifest, keys: list[str], live: Mapping[str, Any] | None
) -> tuple[Manifest, list[str]]:
    """The Secret `manifest` with each of `keys` set to the live Secret's value (base64 `data`),
    and the keys that were taken (present in the live Secret). Pure."""
    live_data = (live or {}).get("data") or {}
    data = dict(manifest.get("data") or {})
    string_data = dict(manifest.get("stringData") or {})
    taken = []
    for k in keys:
        if k in live_data:
            data[k] = live_data[k]
            string_data.pop(k, None)
            taken.append(k)
    out = {**manifest, "data": data}
    if string_data:
        out["stringData"] = string_data
    else:
        out.pop("stringData", None)
    return out, taken


def keep_live_secrets(deps: Deps, target: Target) -> tuple[Target, list[KeptKey], list[ObjectKey]]:
    """`target` with its placeholder Secret keys taken from the live Secrets (one GET per such
    Secret), what was kept or is missing, and the other objects that hold a placeholder."""
    manifests: list[Manifest] = []
    kept: list[KeptKey] = []
    elsewhere: list[ObjectKey] = []
    live_strings: set[str] = set()
    for m in target.manifests:
        keys = placeholder_keys(m)
        if not keys:
            if PLACEHOLDER_MARK in json.dumps(m, default=str):
                elsewhere.append(ObjectKey.of(m))
            manifests.append(m)
            continue
        ref = ObjectRef.of(m)
        if not ref.namespace:
            ref = ObjectRef(ref.api_version, ref.kind, target.namespace, ref.name)
        live = deps.cluster.get(ref)
        m, taken = with_live_keys(m, keys, live)
        for k in taken:
            live_strings.add(_decoded((live or {}).get("data", {}).get(k)))
        key = ObjectKey.of({**m, "metadata": {**m.get("metadata", {}), "namespace": ref.namespace}})
        kept += [KeptKey(key, k, k in taken) for k in keys]
        manifests.append(m)
    strings = target.secret_strings | frozenset(s for s in live_strings if s)
    return replace(target, manifests=tuple(manifests), secret_strings=strings), kept, elsewhere
