"""Targets for the differential suite.

The emulator side is an emulator of the suite's own (its cases leave objects behind); the real
side is the session's real control plane (`--cluster=real|both`, or KDEPLOY_TEST_KUBECONFIG).
In the fast tier (`--cluster=emulator`) the comparison is skipped for one stated reason; with a
real cluster selected but not available it is skipped too, or fails when
KDEPLOY_REQUIRE_REAL_CLUSTER=1 (the `_real_cluster` fixture decides).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.wire import Target


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.differential)


def _emulator_target(name: str) -> Iterator[Target]:
    from kdeploy.emulator.app import Emulator
    from kdeploy.emulator.types import ControllerKnobs

    with Emulator(knobs=ControllerKnobs(ready_delay=0.3, job_duration=0.3)) as emu:
        target = Target(name, emu.kubeconfig_path)
        yield target
        target.close()


@pytest.fixture(scope="session")
def emulator_target() -> Iterator[Target]:
    """The built-in emulator, started for this suite alone."""
    yield from _emulator_target("emulator")


@pytest.fixture(scope="session")
def second_emulator_target() -> Iterator[Target]:
    """A second emulator, for the self-check that normalisation absorbs every run-specific value."""
    yield from _emulator_target("emulator-2")


def cluster_option(config: pytest.Config) -> str:
    chosen = config.getoption("--cluster", default=None)
    if chosen:
        return str(chosen)
    return "real" if os.environ.get("KDEPLOY_TEST_KUBECONFIG") else "emulator"


@pytest.fixture(scope="session")
def real_target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """A real kube-apiserver: KDEPLOY_TEST_KUBECONFIG's, or the session's own control plane."""
    kubeconfig = os.environ.get("KDEPLOY_TEST_KUBECONFIG")
    if not kubeconfig:
        if cluster_option(request.config) == "emulator":
            # the fast tier: the real-control-plane tier (make pytest-real) runs these
            pytest.skip(
                "emulator-vs-kube-apiserver comparison skipped: no real cluster selected "
                "(run with --cluster=real or --cluster=both)"
            )
        # started once per session by tests/conftest.py: skipped without Go, failed instead
        # when KDEPLOY_REQUIRE_REAL_CLUSTER=1
        cluster: Any = request.getfixturevalue("_real_cluster")
        kubeconfig = str(cluster.kubeconfig_path)
    target = Target("kube-apiserver", kubeconfig)
    yield target
    target.close()


@pytest.fixture(scope="session")
def run_token() -> str:
    """Part of every namespace and cluster-scoped name, so reruns never collide."""
    return uuid.uuid4().hex[:6]
