"""The live benchmark's request accounting: how a logged request is classified, and which
requests count as reads and writes of release objects (the figures docs/performance.md judges
against the targets)."""

from __future__ import annotations

import pytest

from benchmarks.live import classify, is_release_object, summarise


@pytest.mark.parametrize(
    ("method", "target", "verb", "resource", "name"),
    [
        (
            "GET",
            "/api/v1/namespaces/ns/configmaps/app-001-config",
            "GET",
            "configmaps",
            "app-001-config",
        ),
        ("GET", "/api/v1/namespaces/ns/configmaps?labelSelector=a%3Db", "LIST", "configmaps", ""),
        ("GET", "/apis/apps/v1/namespaces/ns/deployments?watch=1", "WATCH", "deployments", ""),
        ("GET", "/api/v1/namespaces", "LIST", "namespaces", ""),
        ("GET", "/api/v1/namespaces/kd-big", "GET", "namespaces", "kd-big"),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/ns/deployments/app-001?dryRun=All&fieldManager=kdeploy",
            "PATCH dry-run",
            "deployments",
            "app-001",
        ),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/ns/deployments/app-001?fieldManager=kdeploy",
            "PATCH",
            "deployments",
            "app-001",
        ),
        (
            "GET",
            "/apis/apps/v1/namespaces/ns/deployments/app-001/status",
            "GET",
            "deployments",
            "app-001",
        ),
        ("POST", "/api/v1/namespaces/ns/secrets", "POST", "secrets", ""),
        ("GET", "/apis", "discovery", "", ""),
        ("GET", "/api/v1", "discovery", "", ""),
        ("GET", "/openapi/v3/apis/apps/v1", "discovery", "", ""),
        ("GET", "/version", "discovery", "", ""),
    ],
)
def test_classify(method: str, target: str, verb: str, resource: str, name: str) -> None:
    req = classify(method, target)
    assert (req.verb, req.resource, req.name) == (verb, resource, name)


def test_only_generated_objects_count_as_release_objects() -> None:
    log = [
        ("PATCH", "/api/v1/namespaces/ns/configmaps/app-003-config?fieldManager=kdeploy"),
        ("PATCH", "/api/v1/namespaces/ns/configmaps/kdeploy.big.v2"),  # history record
        ("POST", "/api/v1/namespaces/ns/configmaps"),  # history record creation
        ("PUT", "/api/v1/namespaces/ns/secrets/sh.helm.release.v1.big.v2"),  # helm's record
        ("DELETE", "/apis/coordination.k8s.io/v1/namespaces/ns/leases/kdeploy-lock.big"),
        ("GET", "/api/v1/namespaces/ns/secrets/app-003-secret"),
        ("PATCH", "/api/v1/namespaces/ns/secrets/app-003-secret?dryRun=All"),
    ]
    step = summarise(log, 1.0)
    assert step.total == 7
    assert dict(step.object_verbs) == {"PATCH": 1, "GET": 1, "PATCH dry-run": 1}
    assert not is_release_object(classify("GET", "/api/v1/namespaces/ns/pods/app-001-abcde"))
