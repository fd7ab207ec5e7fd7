"""`kdeploy import helm` killed (SIGKILL) at any API request: the release is left either still
Helm's (all of Helm's records in place) or already kdeploy's (every revision recorded, every
object owned by kdeploy), never neither; running the import again finishes it, and
`kdeploy rollback --to 1` then restores Helm's first revision.

Kill points as in test_crash_recovery: a dry pass counts the import's requests, then every k is
tried once (`kill` at odd k, `kill-after` at even k; KDEPLOY_CRASH_ALL=1 tries both at every k).
Requests to the release lock's Lease are not counted: how often the lock is renewed or checked
depends on timing, and a kill there is a kill before or after the neighbouring request.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kdeploy.emulator.app import Emulator
from kdeploy.emulator.types import ControllerKnobs
from tests.e2e.helm_release import helm_cli, helm_records, install, marks, obj, write_chart
from tests.emulator.cli_clients import Cli, helm_binary
from tests.helpers import LiveCluster, run_kdeploy
from tests.reliability.test_crash_recovery import kill_points, run_with_kill

pytestmark = [
    pytest.mark.slow,
    pytest.mark.helm,
    pytest.mark.skipif(
        helm_binary() is None,
        reason="helm not found: run `make tools` or set KDEPLOY_HELM to a helm v4 binary",
    ),
]

OBJECTS = ("ConfigMap/web-config", "Secret/web-secret", "Deployment/web")
# every request but those to Leases
NOT_LEASES = r"^(?!.*/leases(/|$|\?))"


@pytest.fixture(scope="module")
def emu(cluster_target: str) -> Iterator[Emulator]:
    """An emulator of our own: the kill rules count every request it receives."""
    if cluster_target == "real":
        pytest.skip("emulator-only: kills clients through the emulator's fault injection")
    with Emulator(knobs=ControllerKnobs(ready_delay=0.05, job_duration=0.05)) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def helm(emu: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return helm_cli(str(emu.kubeconfig_path), tmp_path_factory.mktemp("helm-home"))


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_chart(tmp_path_factory.mktemp("chart"))


def helm_release(emu: Emulator, helm: Cli, chart: Path) -> LiveCluster:
    """Release web with 2 Helm revisions in a fresh namespace."""
    ns = f"imp-{uuid.uuid4().hex[:10]}"
    live = LiveCluster(str(emu.kubeconfig_path), "default")
    live.create_namespace(ns)
    install(helm, chart, "web", ns, revisions=2)
    return LiveCluster(str(emu.kubeconfig_path), ns)


def import_args(emu: Emulator, ns: str) -> list[str]:
    return ["import", "helm", "web", "-n", ns, "--yes", "--kubeconfig", str(emu.kubeconfig_path)]


def still_helms(state: dict[str, Any]) -> bool:
    return bool(state["helm records"] == ["sh.helm.release.v1.web.v1", "sh.helm.release.v1.web.v2"])


def kdeploys(state: dict[str, Any]) -> bool:
    recorded = state["kdeploy history"] == ["kdeploy.web.v1", "kdeploy.web.v2"]
    owned = all(state[name][0].get("app.kubernetes.io/managed-by") == "kdeploy" for name in OBJECTS)
    return recorded and owned


def imported(state: dict[str, Any]) -> bool:
    """Done: kdeploy's, and nothing of Helm's is left."""
    clean = all(
        not [a for a in state[name][1] if a.startswith("meta.helm.sh/")]
        and state[name][2] == ["kdeploy"]
        for name in OBJECTS
    )
    return kdeploys(state) and state["helm records"] == [] and clean


@pytest.fixture(scope="module")
def requests(emu: Emulator, helm: Cli, chart: Path) -> int:
    """The dry pass: how many requests a whole import makes."""
    live = helm_release(emu, helm, chart)
    before = len(emu.request_log)
    done = run_with_kill(emu, None, 0, import_args(emu, live.ns))
    assert done.returncode == 0, done.stderr
    made = emu.request_log[before:]
    assert imported(marks(live))
    return sum(1 for _, path in made if re.search(NOT_LEASES, path))


@pytest.mark.parametrize("action", ["kill", "kill-after"])
def test_a_killed_import_leaves_a_managed_release_and_a_rerun_finishes_it(
    emu: Emulator, helm: Cli, chart: Path, requests: int, action: str
) -> None:
    assert requests > 10
    for k in kill_points(action, requests):
        live = helm_release(emu, helm, chart)
        where = f"{action} at request {k} of {requests}"
        done = run_with_kill(emu, action, k, import_args(emu, live.ns), path=NOT_LEASES)
        assert done.returncode == -9, f"{where}: not killed\n{done.stderr}"
        state = marks(live)
        assert still_helms(state) or kdeploys(state), f"{where}: neither manages it: {state}"

        again = run_kdeploy(*import_args(emu, live.ns))
        assert again.code == 0, f"{where}: the rerun failed\n{again.stderr}"
        assert imported(marks(live)), f"{where}: {marks(live)}"
        assert helm_records(live, "web") == []

        back = run_kdeploy(
            "rollback", "web", "-n", live.ns, "--to", "1", "--yes", "--no-wait",
            "--kubeconfig", str(emu.kubeconfig_path),
        )  # fmt: skip
        assert back.code == 0, f"{where}: rollback --to 1 failed\n{back.stderr}"
        config = obj(live, "v1", "ConfigMap", "web-config")
        assert config is not None and config["data"]["greeting"] == "one", where
