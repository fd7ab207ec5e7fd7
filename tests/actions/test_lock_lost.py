"""The deploy pipeline over the in-memory cluster stops before its next write once the release
lock is lost, records its revision failed and says so; apply --atomic does not roll back then."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from kdeploy.actions.apply import apply_releases
from kdeploy.actions.deploy import DeployOptions
from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import Target
from kdeploy.errors import EXIT_LOCKED, LockLostError
from kdeploy.history.identity import Identity
from kdeploy.history.memory import MemoryDriver
from kdeploy.history.store import HistoryStore
from kdeploy.resources import stamp_ownership
from kdeploy.wait import WaitOptions

from .fakes import FakeCluster, RecordingOutput

NS = "shop"
LOST = "lost the release lock of release web in namespace shop to bob@ci at 2026-01-01T12:00:00Z"


class LosingLocks:
    """A Locker whose lock is taken by bob@ci once the cluster has seen `after` writes (or at
    the `at_check`-th check); records every stage it was asked about."""

    def __init__(self, cluster: FakeCluster, after: int | None = None) -> None:
        self.cluster = cluster
        self.after = after
        self.at_check: int | None = None
        self.stages: list[str] = []
        self.on_loss: Any = None
        self.writes_at_loss: int | None = None

    @contextmanager
    def hold(self, release: str, namespace: str) -> Iterator[None]:
        yield

    def ensure(self, release: str, namespace: str) -> None:
        pass

    @contextmanager
    def hold_environment(self, environment: str, namespace: str) -> Iterator[None]:
        yield

    def check(self, release: str, namespace: str, stage: str) -> None:
        self.stages.append(stage)
        lost = (self.after is not None and len(self.cluster.log) >= self.after) or (
            self.at_check is not None and len(self.stages) >= self.at_check
        )
        if lost:
            if self.writes_at_loss is None:
                self.writes_at_loss = len(self.cluster.log)
                if self.on_loss is not None:
                    self.on_loss()
            raise LockLostError(f"{LOST}; stopped before {stage}")


@pytest.fixture
def cluster() -> FakeCluster:
    return FakeCluster()


@pytest.fixture
def deps(cluster: FakeCluster) -> Deps:
    def clock() -> datetime:
        return datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    store = HistoryStore(MemoryDriver(), clock=clock, identity=lambda: Identity(who="me@host"))
    return Deps(cluster=cluster, history=store, output=RecordingOutput(), clock=clock)


def obj(kind: str, name: str, api: str = "v1", **extra: Any) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name}, **extra}


def deployment(name: str) -> dict[str, Any]:
    return obj(
        "Deployment",
        name,
        "apps/v1",
        spec={
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    )


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


def statuses(deps: Deps) -> list[tuple[int, str]]:
    return [(r.number, r.status) for r in deps.history.revisions("web", NS)]


def lose(deps: Deps, cluster: FakeCluster, after: int | None) -> LosingLocks:
    locks = LosingLocks(cluster, after)
    deps.locks = locks
    return locks


RELEASE = (
    obj("ServiceAccount", "web"),
    obj("ConfigMap", "conf", data={"a": "1"}),
    obj("Service", "web", spec={"ports": [{"port": 80}]}),
    deployment("web"),
)


def test_apply_stops_before_the_next_phase_and_marks_its_revision_failed(
    deps: Deps, cluster: FakeCluster
) -> None:
    locks = lose(deps, cluster, after=1)  # taken over while the ServiceAccount was applied
    with pytest.raises(LockLostError) as caught:
        apply_releases(deps, [target(*RELEASE)], DeployOptions(), yes=True)
    assert caught.value.exit_code == EXIT_LOCKED
    assert caught.value.message == (
        f"{LOST}; stopped before applying phase 'configuration'; revision 1 marked failed; "
        "run apply again"
    )
    assert cluster.log == ["apply ServiceAccount shop/web"]  # no write after noticing
    assert cluster.find("Deployment", "web") is None
    assert locks.stages == [
        "recording a new revision",
        "applying phase 'identities and RBAC'",
        "applying phase 'configuration'",
    ]
    [revision] = deps.history.revisions("web", NS)
    assert (revision.status, revision.result) == (
        "failed",
        f"{LOST}; stopped before applying phase 'configuration'",
    )


def test_lock_is_checked_before_marking_the_revision_deployed(
    deps: Deps, cluster: FakeCluster
) -> None:
    lose(deps, cluster, after=len(RELEASE))
    with pytest.raises(LockLostError, match="stopped before marking revision 1 deployed; "):
        apply_releases(deps, [target(*RELEASE)], DeployOptions(), yes=True)
    assert statuses(deps) == [(1, "failed")]


def test_prune_stops_before_its_first_phase(deps: Deps, cluster: FakeCluster) -> None:
    apply_releases(deps, [target(*RELEASE)], DeployOptions(), yes=True)
    written = len(cluster.log)
    locks = lose(deps, cluster, after=written + 1)  # after the changed ConfigMap
    changed = (RELEASE[0], obj("ConfigMap", "conf", data={"a": "2"}))
    with pytest.raises(LockLostError) as caught:
        apply_releases(deps, [target(*changed)], DeployOptions(), yes=True)
    assert "; stopped before pruning phase 'workloads'; revision 2 marked failed" in str(
        caught.value.message
    )
    assert cluster.log[written:] == ["apply ConfigMap shop/conf"]
    assert cluster.find("Deployment", "web") is not None  # not pruned
    assert locks.writes_at_loss == written + 1
    assert statuses(deps) == [(1, "deployed"), (2, "failed")]


def test_revision_already_marked_by_the_new_holder_is_left_alone(
    deps: Deps, cluster: FakeCluster
) -> None:
    locks = lose(deps, cluster, after=1)

    def new_holder_marks_it() -> None:
        # what the next deployer does when it finds our revision pending
        pending = [r for r in deps.history.revisions("web", NS) if r.status == "pending"]
        for rev in pending:
            deps.history.mark_interrupted(rev)

    locks.on_loss = new_holder_marks_it
    with pytest.raises(LockLostError) as caught:
        apply_releases(deps, [target(*RELEASE)], DeployOptions(), yes=True)
    message = caught.value.message
    assert "; revision 1 not marked failed here (" in message and "already failed" in message
    assert message.endswith("; run apply again")
    [revision] = deps.history.revisions("web", NS)
    assert (revision.status, revision.result) == ("failed", "interrupted")


def test_waiting_stops_when_the_lock_is_lost(deps: Deps, cluster: FakeCluster) -> None:
    locks = lose(deps, cluster, after=None)
    locks.at_check = 7  # recording, 4 phases, marking... : the 2nd health poll
    waiting = DeployOptions(wait=WaitOptions(enabled=True, timeout=60))
    with pytest.raises(LockLostError) as caught:
        apply_releases(deps, [target(*RELEASE)], waiting, yes=True)
    assert "; stopped before the next health check; revision 1 marked failed" in str(
        caught.value.message
    )
    assert locks.stages[-2:] == ["the next health check", "the next health check"]
    assert statuses(deps) == [(1, "failed")]


def test_atomic_apply_does_not_roll_back_without_the_lock(deps: Deps, cluster: FakeCluster) -> None:
    apply_releases(deps, [target(*RELEASE)], DeployOptions(), yes=True)
    written = len(cluster.log)
    lose(deps, cluster, after=written + 1)
    changed = (*RELEASE[:1], obj("ConfigMap", "conf", data={"a": "2"}), *RELEASE[2:])
    with pytest.raises(LockLostError, match="revision 2 marked failed; run apply again"):
        apply_releases(deps, [target(*changed)], DeployOptions(atomic=True), yes=True)
    assert cluster.log[written:] == ["apply ConfigMap shop/conf"]
    assert statuses(deps) == [(1, "deployed"), (2, "failed")]


def test_uninstall_stops_deleting_once_the_lock_is_lost(deps: Deps, cluster: FakeCluster) -> None:
    from kdeploy.actions.uninstall import uninstall

    apply_releases(deps, [target(*RELEASE)], DeployOptions(), yes=True)
    writes = len(cluster.log)
    locks = lose(deps, cluster, after=writes + 1)  # taken over after the first deletion
    with pytest.raises(LockLostError, match="stopped before pruning phase"):
        uninstall(deps, "web", NS, yes=True)
    assert len(cluster.log) == writes + 1  # no deletion after noticing
    assert cluster.find("ConfigMap", "conf") is not None
    assert [n for n, _ in statuses(deps)] == [1]  # history kept for the next attempt
    assert locks.stages[0].startswith("pruning phase")
