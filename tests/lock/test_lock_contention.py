"""Two deployers applying the same release at the same moment, round after round, against the
emulator through the real client: the lock serializes them (no pending→deployed windows
overlap) and no revision is lost."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import pytest

from benchmarks.lock_contention import TimedHistory
from kdeploy.actions.apply import apply_releases
from kdeploy.actions.deploy import DeployOptions
from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import Target
from kdeploy.history.configmap import ConfigMapDriver
from kdeploy.history.identity import Identity
from kdeploy.lock import LeaseLocker, read_lock
from kdeploy.resources import stamp_ownership

ROUNDS = 50


@dataclass
class Quiet:
    interactive: bool = False
    lines: list[str] = field(default_factory=list)

    def info(self, text: str) -> None:
        self.lines.append(text)

    def result(self, text: str) -> None:
        """Not used by apply."""

    def diff(self, text: str) -> None:
        """Diffs are not checked here."""

    def confirm(self, question: str) -> bool:
        return True


@pytest.fixture
def kubeconfig(emulator: Any) -> str:
    return str(emulator.kubeconfig_path)


def deployer(
    kubeconfig: str, who: str, spans: list[tuple[int, float, float, str]]
) -> Generator[Deps, None, None]:
    from kdeploy.kube.config import ClusterTarget, new_api_client
    from kdeploy.kube.real import RealCluster

    api = new_api_client(ClusterTarget(kubeconfig=kubeconfig))
    locks = LeaseLocker(api, who, operation="apply", wait=120, poll=(0.01, 0.05))
    yield Deps(
        cluster=RealCluster(api),
        history=TimedHistory(ConfigMapDriver(api), spans, who),
        output=Quiet(),
        identity=Identity(who=who),
        locks=locks,
    )
    api.close()


def target(namespace: str, who: str, n: int) -> Target:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "web-config"},
        "data": {"deployer": who, "round": str(n)},
    }
    return Target(
        release="web",
        namespace=namespace,
        manifests=(stamp_ownership(cm, "web", "dev"),),
        values={"who": who, "round": n},
        package="webapp",
        package_version="1.0.0",
        environment="dev",
        description=f"{who} round {n}",
    )


def test_two_deployers_fifty_rounds_no_interleaving_no_lost_revision(
    kubeconfig: str, namespace: str
) -> None:
    spans: list[tuple[int, float, float, str]] = []
    names = ("alice@laptop", "gitlab-ci https://gitlab.example/-/jobs/1")
    gens = [deployer(kubeconfig, who, spans) for who in names]
    all_deps = [next(g) for g in gens]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    options = DeployOptions(history_max=0)

    def run(deps: Deps, who: str) -> None:
        for n in range(ROUNDS):
            barrier.wait()  # both start each round together
            try:
                apply_releases(deps, [target(namespace, who, n)], options, yes=True)
            except BaseException as e:
                errors.append(e)

    threads = [
        threading.Thread(target=run, args=(deps, who))
        for deps, who in zip(all_deps, names, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors

    history = all_deps[0].history.revisions("web", namespace)
    # no lost revision: every apply of both deployers is recorded, numbered without gaps
    assert [r.number for r in history] == list(range(1, 2 * ROUNDS + 1))
    assert sorted(r.description for r in history) == sorted(
        f"{who} round {n}" for who in names for n in range(ROUNDS)
    )
    assert [r.status for r in history].count("deployed") == 1
    assert {r.status for r in history[:-1]} == {"superseded"}
    # no interleaving: one pending→deployed window at a time
    ordered = sorted(spans, key=lambda s: s[1])
    assert [s[0] for s in ordered] == list(range(1, 2 * ROUNDS + 1))
    overlaps = sum(1 for a, b in itertools.pairwise(ordered) if b[1] < a[2])
    assert overlaps == 0
    # the cluster holds what the last revision applied
    from kubernetes import client

    api = all_deps[0].locks.api_client  # type: ignore[attr-defined]
    live = client.CoreV1Api(api).read_namespaced_config_map("web-config", namespace)
    who, _, n = history[-1].description.partition(" round ")
    assert live.data == {"deployer": who, "round": n}
    assert read_lock(api, "web", namespace) is None
    for g in gens:
        g.close()
