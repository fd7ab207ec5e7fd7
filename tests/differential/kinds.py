"""The kinds the differential cases are generated over: one small valid manifest each, where it
is served, and which of its fields a real cluster's controllers write on their own schedule."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

# What controllers (deployment, replicaset, job, quota, scheduler, kwok) write after a create:
# left out of the comparison for the kinds they touch, since their timing differs by server.
ASYNC_DROP: tuple[tuple[str, ...], ...] = (
    ("status",),
    ("metadata", "resourceVersion"),
    ("metadata", "annotations", "deployment.kubernetes.io/revision"),
    ("spec", "nodeName"),
    ("spec", "volumeName"),
    ("metadata", "annotations", "pv.kubernetes.io/bind-completed"),
    ("metadata", "annotations", "pv.kubernetes.io/bound-by-controller"),
    ("metadata", "annotations", "volume.kubernetes.io/storage-provisioner"),
    ("metadata", "annotations", "volume.beta.kubernetes.io/storage-provisioner"),
)
ASYNC_MANAGERS = ("kube-controller-manager", "kube-scheduler", "kwok", "kdeploy-emulator")

POD_SPEC: dict[str, Any] = {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}
TEMPLATE: dict[str, Any] = {"metadata": {"labels": {"app": "diff"}}, "spec": POD_SPEC}
SELECTOR: dict[str, Any] = {"matchLabels": {"app": "diff"}}


@dataclass(frozen=True)
class Kind:
    """A served kind and a minimal valid body for it (`fields`: everything beside metadata)."""

    kind: str
    api_version: str
    plural: str
    namespaced: bool = True
    fields: dict[str, Any] = field(default_factory=dict)
    controlled: bool = False  # controllers write its status/metadata on a real cluster
    needs_service_account: bool = False
    known: str = ""  # a difference every case of this kind shows on the emulator
    # what the cluster's own configuration decides, not the API server (left out everywhere)
    cluster_drop: tuple[tuple[str, ...], ...] = ()

    @property
    def rbac(self) -> bool:
        """RBAC objects take any path-segment name (`Bad_Name` is valid for them)."""
        return self.api_version.startswith("rbac.")

    @property
    def collection(self) -> str:
        """The collection URL path (with `${ns}` for the case's namespace)."""
        group = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        return (
            f"{group}/namespaces/${{ns}}/{self.plural}"
            if self.namespaced
            else f"{group}/{self.plural}"
        )

    @property
    def slug(self) -> str:
        return self.kind.lower()

    def name(self, base: str = "x") -> str:
        """An object name unique to the run for cluster-scoped kinds (namespaces isolate the rest)."""
        return base if self.namespaced else f"{base}-${{ns}}"

    def item(self, base: str = "x") -> str:
        """The URL path of the object called `base`."""
        return f"{self.collection}/{self.name(base)}"

    def manifest(
        self, base: str = "x", labels: dict[str, str] | None = None, **meta: Any
    ) -> dict[str, Any]:
        """A valid object of this kind named `base` (labels default to app=diff)."""
        metadata: dict[str, Any] = {"name": self.name(base), "labels": labels or {"app": "diff"}}
        metadata.update(meta)
        body = {"apiVersion": self.api_version, "kind": self.kind, "metadata": metadata}
        body.update(copy.deepcopy(self.fields))
        return body

    @property
    def drop(self) -> tuple[tuple[str, ...], ...]:
        return (ASYNC_DROP if self.controlled else ()) + self.cluster_drop

    @property
    def drop_managers(self) -> tuple[str, ...]:
        return ASYNC_MANAGERS if self.controlled else ()


KINDS: tuple[Kind, ...] = (
    Kind(
        "ReplicationController",
        "v1",
        "replicationcontrollers",
        fields={"spec": {"replicas": 0, "selector": {"app": "diff"}, "template": TEMPLATE}},
        controlled=True,
    ),
    Kind("ConfigMap", "v1", "configmaps", fields={"data": {"k": "v"}}),
    Kind("Secret", "v1", "secrets", fields={"type": "Opaque", "data": {"k": "dg=="}}),
    Kind("ServiceAccount", "v1", "serviceaccounts"),
    Kind(
        "Service",
        "v1",
        "services",
        fields={"spec": {"selector": {"app": "diff"}, "ports": [{"port": 80}]}},
    ),
    Kind(
        "Endpoints",
        "v1",
        "endpoints",
        fields={"subsets": [{"addresses": [{"ip": "10.1.2.3"}], "ports": [{"port": 80}]}]},
    ),
    Kind(
        "LimitRange",
        "v1",
        "limitranges",
        fields={"spec": {"limits": [{"type": "Container", "default": {"cpu": "100m"}}]}},
    ),
    Kind(
        "ResourceQuota",
        "v1",
        "resourcequotas",
        fields={"spec": {"hard": {"pods": "10"}}},
        controlled=True,
    ),
    Kind(
        "PersistentVolumeClaim",
        "v1",
        "persistentvolumeclaims",
        fields={
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            }
        },
        controlled=True,
        # the DefaultStorageClass admission plugin fills in the cluster's default class: the
        # control plane of the tests has one (kwok-volume), the emulator serves none
        cluster_drop=(("spec", "storageClassName"),),
    ),
    Kind(
        "Pod", "v1", "pods", fields={"spec": POD_SPEC}, controlled=True, needs_service_account=True
    ),
    Kind(
        "Deployment",
        "apps/v1",
        "deployments",
        fields={"spec": {"selector": SELECTOR, "template": TEMPLATE}},
        controlled=True,
    ),
    Kind(
        "StatefulSet",
        "apps/v1",
        "statefulsets",
        fields={"spec": {"selector": SELECTOR, "template": TEMPLATE, "serviceName": "x"}},
        controlled=True,
    ),
    Kind(
        "DaemonSet",
        "apps/v1",
        "daemonsets",
        fields={"spec": {"selector": SELECTOR, "template": TEMPLATE}},
        controlled=True,
    ),
    Kind(
        "ReplicaSet",
        "apps/v1",
        "replicasets",
        fields={"spec": {"replicas": 0, "selector": SELECTOR, "template": TEMPLATE}},
        controlled=True,
    ),
    Kind(
        "Job",
        "batch/v1",
        "jobs",
        fields={
            "spec": {"suspend": True, "template": {"spec": {**POD_SPEC, "restartPolicy": "Never"}}}
        },
        controlled=True,
    ),
    Kind(
        "CronJob",
        "batch/v1",
        "cronjobs",
        fields={
            "spec": {
                "schedule": "0 0 1 1 *",
                "jobTemplate": {
                    "spec": {"template": {"spec": {**POD_SPEC, "restartPolicy": "Never"}}}
                },
            }
        },
    ),
    Kind(
        "Role",
        "rbac.authorization.k8s.io/v1",
        "roles",
        fields={"rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]},
    ),
    Kind(
        "RoleBinding",
        "rbac.authorization.k8s.io/v1",
        "rolebindings",
        fields={
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "x"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "d"}],
        },
    ),
    Kind(
        "ClusterRole",
        "rbac.authorization.k8s.io/v1",
        "clusterroles",
        namespaced=False,
        fields={"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]},
    ),
    Kind(
        "NetworkPolicy",
        "networking.k8s.io/v1",
        "networkpolicies",
        fields={"spec": {"podSelector": {}}},
    ),
    Kind(
        "Ingress",
        "networking.k8s.io/v1",
        "ingresses",
        fields={"spec": {"defaultBackend": {"service": {"name": "x", "port": {"number": 80}}}}},
    ),
    Kind(
        "HorizontalPodAutoscaler",
        "autoscaling/v2",
        "horizontalpodautoscalers",
        fields={
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"},
                "maxReplicas": 3,
            }
        },
        controlled=True,
    ),
    Kind(
        "PodDisruptionBudget",
        "policy/v1",
        "poddisruptionbudgets",
        fields={"spec": {"minAvailable": 1, "selector": SELECTOR}},
        controlled=True,
    ),
    Kind(
        "Lease",
        "coordination.k8s.io/v1",
        "leases",
        fields={"spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}},
    ),
    Kind(
        "ClusterRoleBinding",
        "rbac.authorization.k8s.io/v1",
        "clusterrolebindings",
        namespaced=False,
        fields={
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "view",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}],
        },
    ),
    Kind(
        "IngressClass",
        "networking.k8s.io/v1",
        "ingressclasses",
        namespaced=False,
        fields={"spec": {"controller": "example.com/ingress"}},
    ),
)

# Kinds a real API server serves that the emulator does not (every case of them differs).
UNSERVED: tuple[Kind, ...] = (
    Kind(
        "PodTemplate",
        "v1",
        "podtemplates",
        fields={"template": TEMPLATE},
        known="PodTemplates are not served by the emulator (404)",
    ),
    Kind(
        "PriorityClass",
        "scheduling.k8s.io/v1",
        "priorityclasses",
        namespaced=False,
        fields={"value": 1000},
        known="PriorityClasses are not served by the emulator (404)",
    ),
    Kind(
        "StorageClass",
        "storage.k8s.io/v1",
        "storageclasses",
        namespaced=False,
        fields={"provisioner": "example.com/none"},
        known="StorageClasses are not served by the emulator (404)",
    ),
)

CORE = ("ConfigMap", "Service", "Deployment", "ClusterRole")


def kind(name: str) -> Kind:
    """The table entry for `name`."""
    return next(k for k in KINDS + UNSERVED if k.kind == name)
