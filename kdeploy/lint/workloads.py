"""Reading pod templates and containers out of workload manifests (pure helpers shared by rules)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kdeploy.lint.findings import Finding, Rule, object_label
from kdeploy.model import Manifest, RenderedObject


@dataclass(frozen=True)
class Container:
    """A container of a pod template with the field path that leads to it."""

    spec: dict[str, Any]
    path: str
    init: bool

    @property
    def name(self) -> str:
        return str(self.spec.get("name", "?"))


def pod_spec(manifest: Manifest) -> tuple[dict[str, Any], str] | None:
    """Return (pod spec, its field path) for pods and pod-template workloads, else None."""
    kind = manifest.get("kind")
    spec = _dict(manifest.get("spec"))
    if kind == "Pod":
        return spec, "spec"
    if kind == "CronJob":
        job_spec = _dict(_dict(spec.get("jobTemplate")).get("spec"))
        return _dict(_dict(job_spec.get("template")).get("spec")), (
            "spec.jobTemplate.spec.template.spec"
        )
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"):
        return _dict(_dict(spec.get("template")).get("spec")), "spec.template.spec"
    if kind == "Job":
        return _dict(_dict(spec.get("template")).get("spec")), "spec.template.spec"
    return None


def pod_labels(manifest: Manifest) -> dict[str, str]:
    """Return the labels of the pods a workload creates ({} when it has none)."""
    spec = _dict(manifest.get("spec"))
    meta = _dict(_dict(spec.get("template")).get("metadata"))
    labels = _dict(meta.get("labels"))
    return {str(k): str(v) for k, v in labels.items()}


def containers(manifest: Manifest) -> Iterator[Container]:
    """Yield the init containers and containers of a workload's pod template, in that order."""
    found = pod_spec(manifest)
    if found is None:
        return
    spec, base = found
    for field, init in (("initContainers", True), ("containers", False)):
        items = spec.get(field)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield Container(item, f"{base}.{field}[{i}]", init)


def finding(rule: Rule, obj: RenderedObject, message: str, path: str = "") -> Finding:
    """Build a finding of `rule` at its default severity about a rendered object."""
    return Finding(
        rule=rule.id,
        severity=rule.severity,
        message=message,
        obj=object_label(obj),
        source=obj.source,
        release=obj.release,
        path=path,
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
