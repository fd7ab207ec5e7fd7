"""apply --atomic over the in-memory cluster: an apply that fails after recording its revision is
rolled back through the rollback action; failures before any change are not."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kdeploy.actions.apply import apply_releases
from kdeploy.actions.deploy import DeployOptions
from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import Target
from kdeploy.errors import ClusterError, ConflictError, KdeployError, WaitError
from kdeploy.history.identity import Identity
from kdeploy.history.memory import MemoryDriver
from kdeploy.history.store import HistoryStore
from kdeploy.model import ObjectKey
from kdeploy.resources import stamp_ownership
from kdeploy.wait import WaitOptions

from .fakes import FakeCluster, RecordingOutput

NS = "shop"
ATOMIC = DeployOptions(atomic=True)


@pytest.fixture
def cluster() -> FakeCluster:
    return FakeCluster()


@pytest.fixture
def out() -> RecordingOutput:
    return RecordingOutput()


@pytest.fixture
def deps(cluster: FakeCluster, out: RecordingOutput) -> Deps:
    def clock() -> datetime:
        return datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    store = HistoryStore(MemoryDriver(), clock=clock, identity=lambda: Identity(who="me@host"))
    return Deps(cluster=cluster, history=store, output=out, clock=clock)


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def target(*manifests: dict[str, Any]) -> Target:
    return Target(
        release="web",
        namespace=NS,
        manifests=tuple(stamp_ownership(m, "web", "prod") for m in manifests),
        package="webapp",
        package_version="1.0.0",
        environment="prod",
        description="apply",
    )


def statuses(deps: Deps) -> list[tuple[int, str, str]]:
    return [(r.number, r.status, r.description) for r in deps.history.revisions("web", NS)]


def test_failed_apply_is_rolled_back_to_the_last_deployed_revision(
    deps: Deps, cluster: FakeCluster, out: RecordingOutput
) -> None:
    apply_releases(deps, [target(cm("a", v="1"))], ATOMIC, yes=True)
    cluster.failures[ObjectKey("", "ConfigMap", NS, "b")] = ClusterError(
        "apply ConfigMap shop/b: Forbidden: no"
    )
    with pytest.raises(KdeployError) as caught:
        apply_releases(deps, [target(cm("a", v="2"), cm("b"))], ATOMIC, yes=True)
    message = caught.value.format_message()
    assert message.startswith(
        "apply of release web in namespace shop failed (revision 2 recorded as failed): "
        "apply ConfigMap shop/b: Forbidden: no\n"
        "--atomic: rolled back to revision 1 (recorded as revision 3)"
    )
    assert caught.value.exit_code == 1
    assert "--atomic: rolling back release web in namespace shop to revision 1" in out.lines
    assert cluster.find("ConfigMap", "a")["data"] == {"v": "1"}  # type: ignore[index]
    assert statuses(deps) == [
        (1, "superseded", "apply"),
        (2, "failed", "apply"),
        (3, "deployed", "rollback to 1"),
    ]


def test_wait_failure_keeps_exit_code_4_after_rolling_back(
    deps: Deps, cluster: FakeCluster
) -> None:
    apply_releases(deps, [target(cm("a", v="1"))], ATOMIC, yes=True)
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate"},
        "spec": {"template": {}},
    }
    options = DeployOptions(atomic=True, wait=WaitOptions(enabled=True, timeout=0.01))
    # The fake never gives the Job a real status, so waiting for it times out.
    with pytest.raises(WaitError) as caught:
        apply_releases(deps, [target(cm("a", v="2"), job)], options, yes=True)
    assert caught.value.exit_code == 4
    assert "timed out after 0.0s waiting for Job shop/migrate" in caught.value.message
    assert "--atomic: rolled back to revision 1 (recorded as revision 3)" in caught.value.message
    assert cluster.find("Job", "migrate") is None  # pruned by the rollback
    assert [s for _, s, _ in statuses(deps)] == ["superseded", "failed", "deployed"]


def test_first_install_is_left_in_place(deps: Deps, cluster: FakeCluster) -> None:
    cluster.failures[ObjectKey("", "ConfigMap", NS, "b")] = ClusterError(
        "apply ConfigMap shop/b: x"
    )
    with pytest.raises(KdeployError, match="nothing to roll back to, revision 1 was the first"):
        apply_releases(deps, [target(cm("a"), cm("b"))], ATOMIC, yes=True)
    assert cluster.find("ConfigMap", "a") is not None
    assert statuses(deps) == [(1, "failed", "apply")]


def test_failure_before_any_change_rolls_nothing_back(deps: Deps, cluster: FakeCluster) -> None:
    apply_releases(deps, [target(cm("a", v="1"))], ATOMIC, yes=True)
    cluster.conflicts[ObjectKey("", "ConfigMap", NS, "a")] = ("f:data.f:v", "kubectl-edit")
    with pytest.raises(ConflictError, match='owned by "kubectl-edit"'):
        apply_releases(deps, [target(cm("a", v="2"))], ATOMIC, yes=True)
    assert statuses(deps) == [(1, "deployed", "apply")]
