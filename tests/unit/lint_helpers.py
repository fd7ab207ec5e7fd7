"""Builders of rendered releases for the lint tests (hand-built, no renderer involved)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from kdeploy.model import Package, ReleaseSpec, RenderedObject, RenderedRelease, ValuesLayer

GOOD_CONTAINER: dict[str, Any] = {
    "name": "web",
    "image": "nginx:1.27.2",
    "ports": [{"containerPort": 8080, "name": "http"}],
    "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
    "resources": {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    },
    "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
    "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
}


def container(**overrides: Any) -> dict[str, Any]:
    """A container that passes every rule, with fields replaced (None removes a field)."""
    c = copy.deepcopy(GOOD_CONTAINER)
    for key, value in overrides.items():
        if value is None:
            c.pop(key, None)
        else:
            c[key] = value
    return c


def deployment(
    name: str = "web",
    *,
    namespace: str = "shop",
    replicas: int | str = 1,
    containers: list[dict[str, Any]] | None = None,
    kind: str = "Deployment",
    annotations: dict[str, str] | None = None,
    pod_security: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Deployment (or StatefulSet/DaemonSet via `kind`) that passes every rule by default."""
    pod_spec: dict[str, Any] = {"containers": containers or [container()]}
    if pod_security is not None:
        pod_spec["securityContext"] = pod_security
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
    }
    if kind != "DaemonSet":
        spec["replicas"] = replicas
    if kind == "StatefulSet":
        spec["serviceName"] = name
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": spec}


def pdb(name: str, selector: dict[str, Any] | None, namespace: str = "shop") -> dict[str, Any]:
    spec: dict[str, Any] = {"maxUnavailable": 1}
    if selector is not None:
        spec["selector"] = selector
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def hpa(name: str, target_kind: str, target_name: str, min_replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": target_kind, "name": target_name},
            "minReplicas": min_replicas,
            "maxReplicas": 5,
        },
    }


def release(
    *manifests: dict[str, Any],
    name: str = "web",
    package: str = "webapp",
    lint_disable: tuple[str, ...] = (),
    schema: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    layers: tuple[ValuesLayer, ...] = (),
    defaults: dict[str, Any] | None = None,
    source: str = "templates/deployment.yaml",
) -> RenderedRelease:
    """A rendered release holding `manifests`, each attributed to `source`."""
    pkg = Package(
        name=package,
        version="1.0.0",
        path=Path("packages") / package,
        lint_disable=lint_disable,
        schema=schema,
        defaults=defaults or {},
    )
    spec = ReleaseSpec(
        name=name, package=package, namespace="shop", environment="dev", layers=layers
    )
    objects = tuple(RenderedObject(manifest=m, source=source, release=name) for m in manifests)
    return RenderedRelease(spec=spec, package=pkg, values=values or {}, objects=objects)


def objects(*manifests: dict[str, Any], release_name: str = "web") -> list[RenderedObject]:
    return list(release(*manifests, name=release_name).objects)
