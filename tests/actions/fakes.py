"""An in-memory `ClusterClient` and a recording `Output` for action tests.

This fakes kdeploy's own cluster protocol (not the kubernetes client): objects live in a dict, apply
returns the manifest plus server metadata and one defaulted field, conflicts and failures are
injected per object, and every call is counted so tests can check the request budget.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kdeploy.errors import ClusterError
from kdeploy.kube.client import FIELD_MANAGER, ObjectRef, ResourceInfo, error_from_status
from kdeploy.model import Manifest, ObjectKey

BUILTIN = {
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "ConfigMap"): ("configmaps", True),
    ("v1", "Secret"): ("secrets", True),
    ("v1", "Service"): ("services", True),
    ("v1", "ServiceAccount"): ("serviceaccounts", True),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("v1", "Pod"): ("pods", True),
    ("v1", "Event"): ("events", True),
    ("batch/v1", "Job"): ("jobs", True),
    ("apps/v1", "ReplicaSet"): ("replicasets", True),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): ("customresourcedefinitions", False),
}


@dataclass
class FakeCluster:
    objects: dict[ObjectKey, Manifest] = field(default_factory=dict)
    namespaces: set[str] = field(default_factory=lambda: {"default", "shop"})
    # key -> (field path, other manager): applying without force conflicts
    conflicts: dict[ObjectKey, tuple[str, str]] = field(default_factory=dict)
    # key -> error raised by a real (not dry-run) apply
    failures: dict[ObjectKey, ClusterError] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    max_parallel: int = 1
    log: list[str] = field(default_factory=list)
    version: str = "v1.35.0"
    _rv: int = 0
    _crds_served: set[tuple[str, str]] = field(default_factory=set)

    # -- helpers for tests
    def put(self, manifest: Manifest, manager: str = "kubectl-create") -> None:
        obj = copy.deepcopy(manifest)
        obj.setdefault("metadata", {})["managedFields"] = [
            {"manager": manager, "operation": "Update"}
        ]
        self._stamp(obj, None)
        self.objects[ObjectKey.of(obj)] = obj

    def find(self, kind: str, name: str) -> Manifest | None:
        for key, obj in self.objects.items():
            if key.kind == kind and key.name == name:
                return obj
        return None

    # -- ClusterClient
    def resolve(self, api_version: str, kind: str) -> ResourceInfo:
        group, _, version = api_version.rpartition("/")
        if (api_version, kind) in BUILTIN:
            plural, namespaced = BUILTIN[(api_version, kind)]
            return ResourceInfo(group, version, kind, plural, namespaced)
        if (group, kind) in self._crds_served:
            return ResourceInfo(group, version, kind, kind.lower() + "s", True)
        raise ClusterError(f"the cluster has no resource for kind {kind} in {api_version}")

    def get(self, ref: ObjectRef) -> Manifest | None:
        self.calls["get"] += 1
        self.resolve(ref.api_version, ref.kind)
        obj = self.objects.get(ref.key)
        return copy.deepcopy(obj) if obj else None

    def server_version(self) -> str:
        self.calls["version"] += 1
        return self.version

    def list_by_labels(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        selector: str,
        *,
        field_selector: str = "",
    ) -> list[Manifest]:
        self.calls["list"] += 1
        self.resolve(api_version, kind)
        wanted = dict(part.split("=", 1) for part in selector.split(",") if part)
        fields = dict(part.split("=", 1) for part in field_selector.split(",") if part)
        out = []
        for key, obj in self.objects.items():
            labels = obj["metadata"].get("labels") or {}
            if key.kind != kind or (namespace and key.namespace not in ("", namespace)):
                continue
            if any(_field(obj, path) != v for path, v in fields.items()):
                continue
            if all(labels.get(k) == v for k, v in wanted.items()):
                out.append(copy.deepcopy(obj))
        return out

    def apply(self, manifest: Manifest, *, dry_run: bool, force: bool) -> Manifest:
        self.calls["dry-run" if dry_run else "apply"] += 1
        ref = ObjectRef.of(manifest)
        info = self.resolve(ref.api_version, ref.kind)
        key = ref.key
        if info.namespaced and ref.namespace not in self.namespaces:
            raise error_from_status(
                {"reason": "NotFound", "message": f'namespaces "{ref.namespace}" not found'},
                404,
                action="apply",
                target=str(ref),
            )
        if not dry_run and key in self.failures:
            raise self.failures[key]
        live = self.objects.get(key)
        if live is not None and key in self.conflicts and not force:
            path, manager = self.conflicts[key]
            cause = {
                "reason": "FieldManagerConflict",
                "message": f'conflict with "{manager}"',
                "field": path,
            }
            raise error_from_status(
                {"reason": "Conflict", "message": "Apply failed", "details": {"causes": [cause]}},
                409,
                action="dry-run apply" if dry_run else "apply",
                target=str(ref),
            )
        obj = copy.deepcopy(manifest)
        if ref.kind == "Deployment":  # a server default, to check that diffs do not see it
            obj.setdefault("spec", {}).setdefault("progressDeadlineSeconds", 600)
        obj["metadata"]["managedFields"] = [{"manager": FIELD_MANAGER, "operation": "Apply"}]
        self._stamp(obj, live)
        if dry_run:
            return obj
        if force:
            self.conflicts.pop(key, None)
        self.objects[key] = obj
        self.log.append(f"apply {key}")
        if ref.kind == "Namespace":
            self.namespaces.add(ref.name)
        return copy.deepcopy(obj)

    def merge_patch(self, ref: ObjectRef, patch: Manifest) -> Manifest | None:
        self.calls["patch"] += 1
        live = self.objects.get(ref.key)
        if live is None:
            return None
        self.log.append(f"patch {ref.key}")
        self.objects[ref.key] = _merge_patch(live, patch)
        return copy.deepcopy(self.objects[ref.key])

    def delete(self, ref: ObjectRef, propagation: str = "Background") -> bool:
        self.calls["delete"] += 1
        self.log.append(f"delete {ref.key}")
        return self.objects.pop(ref.key, None) is not None

    def refresh_discovery(self) -> None:
        self.calls["discovery"] += 1
        for obj in self.objects.values():
            if obj["kind"] == "CustomResourceDefinition":
                self._crds_served.add((obj["spec"]["group"], obj["spec"]["names"]["kind"]))

    def wait_established(self, crd_name: str, timeout: float = 60.0) -> None:
        self.log.append(f"established {crd_name}")

    def pod_logs(self, namespace: str, name: str, tail_lines: int) -> str:
        return ""

    def api_kinds(self) -> list[tuple[str, str]]:
        self.calls["discovery"] += 1
        return sorted(BUILTIN)

    def namespaced_kinds(self) -> list[ResourceInfo]:
        self.calls["discovery"] += 1
        return [
            self.resolve(api_version, kind)
            for (api_version, kind), (_, namespaced) in BUILTIN.items()
            if namespaced
        ]

    def _stamp(self, obj: Manifest, live: Manifest | None) -> None:
        meta = obj["metadata"]
        if live is None:
            self._rv += 1
            meta.update(uid=f"uid-{self._rv}", resourceVersion=str(self._rv))
            meta["creationTimestamp"] = "2026-01-01T00:00:00Z"
        else:
            for name in ("uid", "resourceVersion", "creationTimestamp"):
                meta[name] = live["metadata"][name]
        obj["status"] = {"observed": True}


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: mappings merge, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


def _field(obj: Manifest, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


@dataclass
class RecordingOutput:
    interactive: bool = False
    answer: bool = True
    lines: list[str] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)

    def info(self, text: str) -> None:
        self.lines.append(text)

    def result(self, text: str) -> None:
        self.results.append(text)

    def diff(self, text: str) -> None:
        self.diffs.append(text)

    def confirm(self, question: str) -> bool:
        self.questions.append(question)
        return self.answer

    @property
    def text(self) -> str:
        return "\n".join([*self.lines, *self.diffs, *self.results])


def strip_server(obj: dict[str, Any]) -> dict[str, Any]:
    from kdeploy.diff import normalize

    return normalize(obj)
