"""Who owns a live object (pure): kdeploy only changes objects its own release created, and when it
refuses it says which release or tool owns the object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kdeploy.kube.client import FIELD_MANAGER
from kdeploy.resources import MANAGED_BY_LABEL, MANAGED_BY_VALUE, RELEASE_ANNOTATION

_HELM_RELEASE = "meta.helm.sh/release-name"
_HELM_NAMESPACE = "meta.helm.sh/release-namespace"


def owned_by(live: Mapping[str, Any], release: str) -> bool:
    """True when the live object carries this release's kdeploy label and annotation."""
    meta = live.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    return (
        labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE
        and annotations.get(RELEASE_ANNOTATION) == release
    )


def describe_owner(live: Mapping[str, Any]) -> str:
    """Who owns a live object, in words: another kdeploy release, a Helm release, a tool named by
    the managed-by label, or the field managers that wrote it (e.g. `kubectl-create`)."""
    meta = live.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    managed_by = labels.get(MANAGED_BY_LABEL)
    if managed_by == MANAGED_BY_VALUE:
        other = annotations.get(RELEASE_ANNOTATION)
        return f'kdeploy release "{other}"' if other else "kdeploy, without a release annotation"
    if _HELM_RELEASE in annotations:
        ns = annotations.get(_HELM_NAMESPACE)
        where = f"{ns}/" if ns else ""
        return f'Helm release "{where}{annotations[_HELM_RELEASE]}"'
    if managed_by:
        return f'"{managed_by}" (label {MANAGED_BY_LABEL})'
    managers = sorted(
        {
            str(entry.get("manager"))
            for entry in meta.get("managedFields") or []
            if isinstance(entry, Mapping)
            and entry.get("manager")
            and entry.get("manager") != FIELD_MANAGER
        }
    )
    if managers:
        return (
            f"no release: created by hand or another tool (field managers: {', '.join(managers)})"
        )
    return "no release: created by hand or another tool"
