"""Health in `kdeploy status` (kdeploy.actions.status.object_health) and the kubeVersion check of
diff and apply, over the in-memory cluster."""

from __future__ import annotations

from typing import Any

import pytest

from kdeploy.actions.apply import apply_releases
from kdeploy.actions.compat import KubeVersionError
from kdeploy.actions.deploy import DeployOptions
from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import Target, diff_releases
from kdeploy.actions.status import object_health
from kdeploy.history.identity import Identity
from kdeploy.history.memory import MemoryDriver
from kdeploy.history.store import HistoryStore
from kdeploy.model import ObjectKey

from .fakes import FakeCluster, RecordingOutput
from .test_deploy_actions import clock


@pytest.fixture
def cluster() -> FakeCluster:
    return FakeCluster()


@pytest.fixture
def deps(cluster: FakeCluster) -> Deps:
    store = HistoryStore(MemoryDriver(), clock=clock, identity=lambda: Identity(who="me@host"))
    return Deps(cluster=cluster, history=store, output=RecordingOutput(), clock=clock)


def _deployment(available: int, desired: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "generation": 1},
        "spec": {"replicas": desired, "selector": {"matchLabels": {"app": "web"}}},
        "status": {
            "observedGeneration": 1,
            "replicas": desired,
            "updatedReplicas": desired,
            "availableReplicas": available,
        },
    }


def _pod(name: str, reason: str, app: str = "web") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": app}},
        "spec": {"containers": [{"name": "app"}]},
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {"name": "app", "ready": False, "state": {"waiting": {"reason": reason}}}
            ],
        },
    }


def _put_pod(cluster: FakeCluster, pod: dict[str, Any]) -> None:
    """Store `pod` with its status (the fake's put replaces status, as a create would)."""
    cluster.put(pod)
    cluster.objects[ObjectKey("", "Pod", "shop", pod["metadata"]["name"])]["status"] = pod["status"]


def test_healthy_deployment_shows_ready_count(cluster: FakeCluster) -> None:
    health = object_health(cluster, _deployment(available=2))
    assert str(health) == "healthy 2/2"
    assert cluster.calls["list"] == 0  # healthy objects cost no request


def test_unhealthy_deployment_is_explained_by_its_pods(cluster: FakeCluster) -> None:
    _put_pod(cluster, _pod("web-b", "ImagePullBackOff"))
    _put_pod(cluster, _pod("other-a", "CrashLoopBackOff", app="other"))
    health = object_health(cluster, _deployment(available=0))
    assert health.state == "unhealthy"
    assert str(health) == "unhealthy 0/2: pod web-b: container app: ImagePullBackOff"
    assert cluster.calls["list"] == 1 and cluster.calls["get"] == 0


def test_deployment_rolling_out_without_problems_is_progressing(cluster: FakeCluster) -> None:
    _put_pod(cluster, _pod("web-a", "ContainerCreating"))
    health = object_health(cluster, _deployment(available=1))
    assert health.state == "progressing"
    assert health.message.startswith("Waiting for rollout to finish: 1 of 2 updated")


def test_failed_job_is_unhealthy_with_its_condition(cluster: FakeCluster) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "namespace": "shop"},
        "spec": {"completions": 1},
        "status": {
            "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
        },
    }
    health = object_health(cluster, job)
    assert str(health) == "unhealthy 0/1: Job failed: BackoffLimitExceeded"


def test_kinds_without_a_rule_are_healthy_when_present(cluster: FakeCluster) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    assert str(object_health(cluster, cm)) == "healthy"


def _target(constraint: str | None) -> Target:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}
    return Target(
        release="web",
        namespace="shop",
        manifests=(cm,),
        package="webapp",
        package_version="1.0.0",
        kube_version=constraint,
    )


def test_apply_and_diff_refuse_a_cluster_outside_the_constraint(
    deps: Deps, cluster: FakeCluster
) -> None:
    cluster.version = "v1.29.4-eks-0a1b2c"
    for run in (
        lambda: apply_releases(deps, [_target(">=1.30")], DeployOptions(), yes=True),
        lambda: diff_releases(deps, [_target(">=1.30")]),
    ):
        with pytest.raises(KubeVersionError) as caught:
            run()
        message = caught.value.message
        assert 'package webapp requires Kubernetes ">=1.30"' in message
        assert "packages/webapp/package.yaml" in message
        assert "the cluster runs v1.29.4-eks-0a1b2c" in message
    assert cluster.objects == {}
    assert cluster.calls["apply"] == 0 and cluster.calls["dry-run"] == 0
    assert cluster.calls["version"] == 2


def test_constraint_is_read_once_and_only_when_declared(deps: Deps, cluster: FakeCluster) -> None:
    diff_releases(deps, [_target(None)])
    assert cluster.calls["version"] == 0
    diff_releases(deps, [_target(">=1.28"), _target("<2")])
    assert cluster.calls["version"] == 1
