"""Who owns a live object (pure): kdeploy only changes objects its own release created, and when it
refuses it says which release or tool owns the object.

A release is (namespace, name): release `web` in namespace a and release `web` in namespace b are
two releases. Objects are stamped with both (`kdeploy.dev/release` and
`kdeploy.dev/release-namespace`). Objects stamped by an older kdeploy carry the name only; such a
stamp is ambiguous, and is taken as this release's only where it cannot be another's: on a
namespaced object in the release's own namespace, or on an object this release's history records
(see `owned_by`). The next apply of that release stamps its namespace on it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kdeploy.kube.client import FIELD_MANAGER
from kdeploy.resources import (
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    RELEASE_ANNOTATION,
    RELEASE_NAMESPACE_ANNOTATION,
)

_HELM_RELEASE = "meta.helm.sh/release-name"
_HELM_NAMESPACE = "meta.helm.sh/release-namespace"


def owned_by(
    live: Mapping[str, Any], release: str, namespace: str, *, recorded: bool = False
) -> bool:
    """True when the live object belongs to release `release` of namespace `namespace`: it carries
    the kdeploy label and that release's name and namespace annotations.

    A stamp without a namespace (written by an older kdeploy) is ambiguous: it counts as this
    release's when the object lives in the release's own namespace, or when the release's history
    records it (`recorded`); anywhere else (a cluster-scoped object, another namespace) it may
    belong to a release of the same name in another namespace, so it is not ours."""
    meta = live.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE:
        return False
    if annotations.get(RELEASE_ANNOTATION) != release:
        return False
    stamped = annotations.get(RELEASE_NAMESPACE_ANNOTATION)
    if stamped is not None:
        return bool(stamped == namespace)
    return recorded or meta.get("namespace") == namespace


def kdeploy_stamped(live: Mapping[str, Any]) -> bool:
    """True when the live object carries a kdeploy release stamp (whichever release)."""
    meta = live.get("metadata") or {}
    return bool(
        (meta.get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE
        and (meta.get("annotations") or {}).get(RELEASE_ANNOTATION)
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
        if not other:
            return "kdeploy, without a release annotation"
        home = annotations.get(RELEASE_NAMESPACE_ANNOTATION)
        if home:
            return f'kdeploy release "{other}" in namespace {home}'
        return (
            f'kdeploy release "{other}" of an unknown namespace (stamped without its namespace by '
            "an older kdeploy, and not recorded in this release's history)"
        )
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
