"""The keep policy: an object annotated `kdeploy.dev/resource-policy: keep` (or Helm's
`helm.sh/resource-policy: keep`, so ported charts keep their meaning) is never deleted by a prune
or an uninstall; it is left in the cluster and no longer belongs to the release. Pure.
Docs: docs/operations.md ("Keeping objects").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KEEP_ANNOTATIONS = ("kdeploy.dev/resource-policy", "helm.sh/resource-policy")
KEEP = "keep"


def keep_policy(*manifests: Mapping[str, Any] | None) -> str | None:
    """`annotation: keep` as the first of `manifests` that asks to be kept says it (the live
    object, then the manifest kdeploy recorded), or None when none does. Compared like Helm:
    surrounding spaces and case are ignored."""
    for manifest in manifests:
        if not manifest:
            continue
        annotations = (manifest.get("metadata") or {}).get("annotations") or {}
        if not isinstance(annotations, Mapping):
            continue
        for name in KEEP_ANNOTATIONS:
            value = annotations.get(name)
            if isinstance(value, str) and value.strip().lower() == KEEP:
                return f"{name}: {KEEP}"
    return None
