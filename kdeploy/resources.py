"""Facts about Kubernetes objects that rendering and deploying share: ownership labels, which kinds
are cluster-scoped, and the order in which objects are installed. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kdeploy.model import Manifest

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "kdeploy"
INSTANCE_LABEL = "app.kubernetes.io/instance"
RELEASE_ANNOTATION = "kdeploy.dev/release"
# the namespace of the release (its history's home): a release is (namespace, name)
RELEASE_NAMESPACE_ANNOTATION = "kdeploy.dev/release-namespace"
ENV_ANNOTATION = "kdeploy.dev/environment"

# (API group, kind) of the built-in cluster-scoped kinds; every other built-in kind is namespaced.
CLUSTER_SCOPED: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("node.k8s.io", "RuntimeClass"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("policy", "PodSecurityPolicy"),
        ("authentication.k8s.io", "TokenReview"),
        ("authentication.k8s.io", "SelfSubjectReview"),
        ("authorization.k8s.io", "SubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectRulesReview"),
        ("resource.k8s.io", "DeviceClass"),
        ("resource.k8s.io", "ResourceSlice"),
        ("storagemigration.k8s.io", "StorageVersionMigration"),
    }
)

# Kinds in install order (uninstall runs it backwards). Dependencies come first: a namespace before
# what lives in it, CRDs before their resources, identities and config before the pods that use them.
INSTALL_ORDER: tuple[str, ...] = (
    "Namespace",
    "ResourceQuota",
    "LimitRange",
    "CustomResourceDefinition",
    "ServiceAccount",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "PersistentVolumeClaim",
    "Service",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Pod",
    "Job",
    "CronJob",
)
_RANK: Mapping[str, int] = {kind: i for i, kind in enumerate(INSTALL_ORDER)}


def api_group(api_version: str) -> str:
    """The API group of an apiVersion: 'apps/v1' -> 'apps', 'v1' -> ''."""
    return api_version.rpartition("/")[0]


def crd_scopes(manifests: Iterable[Manifest]) -> dict[tuple[str, str], str]:
    """(group, kind) -> scope ('Namespaced' or 'Cluster') of every CustomResourceDefinition among
    `manifests`, so objects of a CRD defined in the same render are scoped by it."""
    scopes: dict[tuple[str, str], str] = {}
    for m in manifests:
        if m.get("kind") != "CustomResourceDefinition":
            continue
        spec = m.get("spec")
        if not isinstance(spec, dict):
            continue
        names = spec.get("names")
        group, scope = spec.get("group"), spec.get("scope")
        if isinstance(names, dict) and isinstance(group, str) and isinstance(scope, str):
            kind = names.get("kind")
            if isinstance(kind, str):
                scopes[(group, kind)] = scope
    return scopes


def is_namespaced(group: str, kind: str, crd_scopes: Mapping[tuple[str, str], str]) -> bool:
    """Whether objects of (group, kind) live in a namespace. CRDs in `crd_scopes` decide for their
    kinds; kinds that are neither built-in cluster-scoped nor known CRDs are taken as namespaced
    (most custom resources are)."""
    scope = crd_scopes.get((group, kind))
    if scope is not None:
        return scope != "Cluster"
    return (group, kind) not in CLUSTER_SCOPED


def install_order(obj: Manifest) -> tuple[int, str, str, str]:
    """Sort key for installing `obj`: the kind's rank in INSTALL_ORDER (other kinds after, by kind
    name), then namespace, then name."""
    kind = str(obj.get("kind", ""))
    meta = obj.get("metadata") or {}
    rank = _RANK.get(kind, len(INSTALL_ORDER))
    return (
        rank,
        kind if rank == len(INSTALL_ORDER) else "",
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )


def sort_objects(objs: Iterable[Manifest]) -> list[Manifest]:
    """The manifests in install order (stable for equal keys)."""
    return sorted(objs, key=install_order)


def stamp_ownership(
    manifest: Manifest, release: str, environment: str, *, namespace: str | None = None
) -> Manifest:
    """A copy of `manifest` whose own metadata carries the managed-by and instance labels and the
    release, release namespace and environment annotations (`namespace` None: no release
    namespace, as kdeploy stamped objects before releases were (namespace, name); see
    kdeploy.ownership). Nested metadata (pod templates) and selectors are left alone: changing a
    selector would break immutable fields."""
    meta: dict[str, Any] = dict(manifest.get("metadata") or {})
    labels = dict(meta.get("labels") or {})
    labels[MANAGED_BY_LABEL] = MANAGED_BY_VALUE
    labels[INSTANCE_LABEL] = release
    annotations = dict(meta.get("annotations") or {})
    annotations[RELEASE_ANNOTATION] = release
    if namespace is not None:
        annotations[RELEASE_NAMESPACE_ANNOTATION] = namespace
    annotations[ENV_ANNOTATION] = environment
    meta["labels"] = labels
    meta["annotations"] = annotations
    stamped = dict(manifest)
    stamped["metadata"] = meta
    return stamped


def stamp_release_namespace(
    manifests: Iterable[Manifest], release: str, namespace: str
) -> list[Manifest]:
    """The manifests, with those stamped for `release` also carrying the release namespace
    annotation (copies; the others unchanged). A revision recorded by an older kdeploy stamped
    the name only: re-applying it (a rollback) must not drop the namespace from the live
    objects."""
    out: list[Manifest] = []
    for m in manifests:
        meta = m.get("metadata") or {}
        labels = meta.get("labels") or {}
        annotations = meta.get("annotations") or {}
        if (
            labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE
            and annotations.get(RELEASE_ANNOTATION) == release
            and annotations.get(RELEASE_NAMESPACE_ANNOTATION) != namespace
        ):
            annotations = {**annotations, RELEASE_NAMESPACE_ANNOTATION: namespace}
            m = {**m, "metadata": {**meta, "annotations": annotations}}
        out.append(m)
    return out
