"""The resource types the emulator serves: built-in kinds plus custom resources of Established CRDs."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUB_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class ResourceType:
    """One served resource at one group/version. `name_rule` is how object names are validated:
    'subdomain' (DNS-1123 subdomain), 'label' (DNS-1123 label), 'dns1035' or 'path' (RBAC names)."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    has_generation: bool = False
    name_rule: str = "subdomain"
    crd: str = ""
    # DELETE answers with the deleted object instead of a Status (the registry store's
    # ReturnDeletedObject in a real API server).
    returns_deleted: bool = False
    # JSON schema of a custom resource version (openAPIV3Schema), for OpenAPI documents.
    schema: Any = field(default=None, compare=False, hash=False)

    @property
    def api_version(self) -> str:
        """`v1` for the core group, `group/version` otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """`deployments.apps`, or `configmaps` for the core group (used in error messages)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group_kind(self) -> str:
        """`Deployment.apps`, or `ConfigMap` for the core group (used in Invalid messages)."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def list_kind(self) -> str:
        """The kind of a list of these objects."""
        return f"{self.kind}List"

    @property
    def has_status(self) -> bool:
        """Whether writes to the main resource keep the stored status (status subresource)."""
        return "status" in self.subresources


def _rt(
    group: str,
    version: str,
    kind: str,
    plural: str,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    all_cat: bool = False,
    subs: tuple[str, ...] = (),
    gen: bool = False,
    name_rule: str = "subdomain",
    returns_deleted: bool = False,
    cats: tuple[str, ...] = (),
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        namespaced=namespaced,
        short_names=short,
        categories=("all",) if all_cat else cats,
        subresources=subs,
        has_generation=gen,
        name_rule=name_rule,
        returns_deleted=returns_deleted,
    )


def builtin_types() -> list[ResourceType]:
    """Every built-in resource type, preferred version of each group first."""
    st, sc = ("status",), ("status", "scale")
    return [
        _rt(
            "",
            "v1",
            "Namespace",
            "namespaces",
            False,
            ("ns",),
            subs=st,
            name_rule="label",
            returns_deleted=True,
        ),
        _rt("", "v1", "ConfigMap", "configmaps", short=("cm",)),
        _rt("", "v1", "Secret", "secrets"),
        _rt(
            "",
            "v1",
            "Service",
            "services",
            short=("svc",),
            all_cat=True,
            subs=st,
            name_rule="dns1035",
            returns_deleted=True,
        ),
        _rt("", "v1", "ServiceAccount", "serviceaccounts", short=("sa",), returns_deleted=True),
        _rt(
            "",
            "v1",
            "Pod",
            "pods",
            short=("po",),
            all_cat=True,
            subs=st,
            returns_deleted=True,
            gen=True,
        ),
        _rt("", "v1", "Event", "events", short=("ev",)),
        _rt(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            short=("pvc",),
            subs=st,
            returns_deleted=True,
        ),
        _rt("", "v1", "Endpoints", "endpoints", short=("ep",)),
        _rt(
            "",
            "v1",
            "ResourceQuota",
            "resourcequotas",
            short=("quota",),
            subs=st,
            returns_deleted=True,
        ),
        _rt("", "v1", "LimitRange", "limitranges", short=("limits",)),
        _rt(
            "",
            "v1",
            "ReplicationController",
            "replicationcontrollers",
            short=("rc",),
            all_cat=True,
            subs=sc,
            gen=True,
        ),
        _rt("", "v1", "Node", "nodes", False, ("no",), subs=st),
        _rt(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            short=("deploy",),
            all_cat=True,
            subs=sc,
            gen=True,
        ),
        _rt(
            "apps",
            "v1",
            "ReplicaSet",
            "replicasets",
            short=("rs",),
            all_cat=True,
            subs=sc,
            gen=True,
        ),
        _rt(
            "apps",
            "v1",
            "StatefulSet",
            "statefulsets",
            short=("sts",),
            all_cat=True,
            subs=sc,
            gen=True,
        ),
        _rt(
            "apps", "v1", "DaemonSet", "daemonsets", short=("ds",), all_cat=True, subs=st, gen=True
        ),
        _rt("apps", "v1", "ControllerRevision", "controllerrevisions"),
        _rt("batch", "v1", "Job", "jobs", all_cat=True, subs=st, gen=True),
        _rt("batch", "v1", "CronJob", "cronjobs", short=("cj",), all_cat=True, subs=st, gen=True),
        _rt("networking.k8s.io", "v1", "Ingress", "ingresses", short=("ing",), subs=st, gen=True),
        _rt("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False, gen=True),
        _rt(
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            short=("netpol",),
            gen=True,
        ),
        _rt(
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            short=("hpa",),
            all_cat=True,
            subs=st,
            gen=True,
        ),
        _rt(
            "autoscaling",
            "v1",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            short=("hpa",),
            all_cat=True,
            subs=st,
            gen=True,
        ),
        _rt(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            short=("pdb",),
            subs=st,
            gen=True,
        ),
        _rt("rbac.authorization.k8s.io", "v1", "Role", "roles", name_rule="path"),
        _rt("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", name_rule="path"),
        _rt(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            False,
            name_rule="path",
        ),
        _rt(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            False,
            name_rule="path",
        ),
        _rt("coordination.k8s.io", "v1", "Lease", "leases"),
        _rt(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            False,
            ("crd", "crds"),
            subs=st,
            gen=True,
            cats=("api-extensions",),
        ),
        _rt(
            "apiregistration.k8s.io",
            "v1",
            "APIService",
            "apiservices",
            False,
            subs=st,
            cats=("api-extensions",),
        ),
    ]


def crd_types(crd: dict[str, Any]) -> list[ResourceType]:
    """The resource types a CustomResourceDefinition serves (its `served` versions, storage
    version first). Raises ValueError if the CRD lacks group, names or versions."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, kind, plural = spec.get("group"), names.get("kind"), names.get("plural")
    versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
    if not group or not kind or not plural or not versions:
        raise ValueError("CRD needs spec.group, spec.names.kind, spec.names.plural and versions")
    versions.sort(key=lambda v: not v.get("storage", False))
    out = []
    for v in versions:
        subs = tuple(s for s in ("status", "scale") if s in (v.get("subresources") or {}))
        out.append(
            ResourceType(
                group=group,
                version=v["name"],
                kind=kind,
                plural=plural,
                singular=names.get("singular") or kind.lower(),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=subs,
                has_generation=True,
                crd=str(crd.get("metadata", {}).get("name", "")),
                schema=(v.get("schema") or {}).get("openAPIV3Schema"),
            )
        )
    return out


class Registry:
    """Thread-safe lookup of served resource types. Lookups return immutable ResourceTypes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._builtin = builtin_types()
        self._crds: dict[str, list[ResourceType]] = {}
        self._index: dict[tuple[str, str, str], ResourceType] = {}
        self._kinds: dict[tuple[str, str], ResourceType] = {}
        self._all: list[ResourceType] = []
        self._rebuild()

    def _rebuild(self) -> None:
        # Readers never lock: they see either the old or the new snapshot, both consistent.
        every = list(self._builtin)
        for types in self._crds.values():
            every.extend(types)
        index: dict[tuple[str, str, str], ResourceType] = {}
        kinds: dict[tuple[str, str], ResourceType] = {}
        for rt in every:
            index[(rt.group, rt.version, rt.plural)] = rt
            kinds.setdefault((rt.group, rt.kind), rt)
        self._all, self._index, self._kinds = every, index, kinds

    def all(self) -> list[ResourceType]:
        """Every served type: built-ins first, then custom resources."""
        return self._all

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The type served at /apis/<group>/<version>/<plural>, or None."""
        return self._index.get((group, version, plural))

    def by_kind(self, group: str, kind: str) -> ResourceType | None:
        """The preferred (storage) type of a group and kind, or None."""
        return self._kinds.get((group, kind))

    def group_versions(self) -> list[tuple[str, list[str]]]:
        """Groups in serving order with their versions, preferred first ('' is the core group)."""
        out: dict[str, list[str]] = {}
        for rt in self.all():
            versions = out.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return list(out.items())

    def served_crd_names(self) -> set[str]:
        """Names of the CRDs whose types are served."""
        return set(self._crds)

    def add_crd(self, crd: dict[str, Any]) -> list[ResourceType]:
        """Serve a CRD's types (replacing earlier ones of the same CRD); returns them.
        Raises ValueError for an incomplete CRD."""
        types = crd_types(crd)
        with self._lock:
            self._crds[str(crd["metadata"]["name"])] = types
            self._rebuild()
        return types

    def remove_crd(self, name: str) -> list[ResourceType]:
        """Stop serving a CRD's types; returns those that were served."""
        with self._lock:
            types = self._crds.pop(name, [])
            self._rebuild()
        return types
