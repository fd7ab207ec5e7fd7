"""Fixtures shared by every test suite.

- No test may touch the user's real `~/.kube/config`: KUBECONFIG points at a file that does not
  exist, for every test.
- `emulator` (session-scoped) is the cluster under test, chosen by `--cluster`:
  `emulator` (the default) is the built-in API emulator; `real` is a real control plane (the
  cluster named by `KDEPLOY_TEST_KUBECONFIG` if set, else a local etcd + kube-apiserver +
  controllers + kwok started once per session, see tests/controlplane/launcher.py); `both` runs
  every cluster test on each. Setting `KDEPLOY_TEST_KUBECONFIG` alone still selects that
  cluster. Tests that need emulator-only knobs (faults, direct store access, restarts) ask for
  `own_emulator`, which is skipped against a real cluster.
- `namespace` gives each test its own fresh namespace on that cluster and deletes it afterwards.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.helpers import option_envvars

# Property tests check laws, not speed: a loaded CI machine must not fail them on timing.
settings.register_profile(
    "kdeploy", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100
)
settings.load_profile("kdeploy")

_NS = itertools.count(1)
_TARGETS = ("emulator", "real")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cluster",
        choices=("emulator", "real", "both"),
        default=None,
        help="cluster for the cluster tests: the built-in emulator (default), a real control "
        "plane (KDEPLOY_TEST_KUBECONFIG's cluster, or a local one built from source), or both",
    )


def _cluster_option(config: pytest.Config) -> str:
    chosen = config.getoption("--cluster")
    if chosen:
        return str(chosen)
    return "real" if os.environ.get("KDEPLOY_TEST_KUBECONFIG") else "emulator"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # With --cluster=both every test that uses a cluster runs once per target.
    if "cluster_target" in metafunc.fixturenames and _cluster_option(metafunc.config) == "both":
        metafunc.parametrize("cluster_target", _TARGETS, indirect=True, scope="session")


class RealCluster:
    """The `emulator` fixture's stand-in when tests run against a real cluster."""

    real = True

    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig_path = kubeconfig
        self.kubeconfig = kubeconfig
        self.url = ""

    def add_fault(self, rule: Any) -> None:
        pytest.skip("fault injection needs the emulator (KDEPLOY_TEST_KUBECONFIG is set)")

    def clear_faults(self) -> None:
        """Nothing to clear on a real cluster."""

    def settle(self, timeout: float = 10.0) -> None:
        """Real controllers run on their own."""


@pytest.fixture(autouse=True)
def _no_user_kubeconfig(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path_factory.getbasetemp() / "no-such-kubeconfig"
    monkeypatch.setenv("KUBECONFIG", str(missing))
    # compiled templates go to a per-run cache, never the user's ~/.cache/kdeploy
    monkeypatch.setenv("KDEPLOY_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "jinja-cache"))
    # an option's variable set in the developer's shell (KDEPLOY_ENV, KDEPLOY_TIMEOUT...) must not
    # change what the tests run
    for name in option_envvars():
        monkeypatch.delenv(name, raising=False)
    # nor a CI system's own markers: they turn on --fail-fast, --diff-lines 1000 and GitLab log
    # sections; the tests of those set them themselves
    for name in ("CI", "GITLAB_CI"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def _session_emulator() -> Iterator[Any]:
    from kdeploy.emulator.app import Emulator
    from kdeploy.emulator.types import ControllerKnobs

    knobs = ControllerKnobs(ready_delay=0.3, job_duration=0.3)
    with Emulator(knobs=knobs) as emu:
        yield emu


@pytest.fixture(scope="session")
def cluster_target(request: pytest.FixtureRequest) -> str:
    """`emulator` or `real`: the target of this test (see `--cluster`)."""
    return str(getattr(request, "param", None) or _cluster_option(request.config))


@pytest.fixture(scope="session")
def _real_cluster() -> Iterator[RealCluster]:
    real = os.environ.get("KDEPLOY_TEST_KUBECONFIG")
    if real:
        if not Path(real).is_file():
            pytest.fail(f"KDEPLOY_TEST_KUBECONFIG={real} is not a file")
        yield RealCluster(real)
        return
    from tests.controlplane.launcher import ControlPlane, ControlPlaneUnavailable

    try:
        plane = ControlPlane.start()
    except ControlPlaneUnavailable as e:
        if os.environ.get("KDEPLOY_REQUIRE_REAL_CLUSTER") == "1":
            pytest.fail(f"real control plane required (KDEPLOY_REQUIRE_REAL_CLUSTER=1): {e}")
        pytest.skip(f"no real control plane: {e}")
    with plane:
        yield RealCluster(plane.kubeconfig_path)


@pytest.fixture(scope="session")
def emulator(request: pytest.FixtureRequest, cluster_target: str) -> Any:
    """The cluster end-to-end tests talk to: the emulator or a real cluster (`--cluster`)."""
    if cluster_target == "real":
        return request.getfixturevalue("_real_cluster")
    return request.getfixturevalue("_session_emulator")


@pytest.fixture(scope="session")
def own_emulator(request: pytest.FixtureRequest, cluster_target: str) -> Any:
    """The in-process emulator itself (skipped when testing against a real cluster)."""
    if cluster_target == "real":
        pytest.skip("needs the emulator's own knobs (fault injection, store access, restarts)")
    return request.getfixturevalue("_session_emulator")


@pytest.fixture
def namespace(emulator: Any) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards."""
    from kubernetes import client, config

    api = config.new_client_from_config(str(emulator.kubeconfig_path))
    core = client.CoreV1Api(api)
    name = f"t{next(_NS)}-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": name}})
    try:
        yield name
    finally:
        try:
            core.delete_namespace(name)
        except client.ApiException:
            pass
        api.close()
