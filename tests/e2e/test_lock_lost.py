"""A deployer that loses its release lock mid-apply (broken with `kdeploy unlock --force`, or
taken over) stops before its next write, exits 3 naming the new holder and the stage, records its
revision failed, and the next apply succeeds. Against the emulator, whose latency fault keeps the
apply busy on one request while the lock changes hands."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kdeploy.emulator.types import FaultRule
from kdeploy.errors import EXIT_LOCKED
from kdeploy.lock import ANN_HOST, ANN_PID, ANN_TOKEN, lease_name, read_lock
from tests.helpers import (
    CONFIGMAP_TEMPLATE,
    IMAGE_DEPLOYMENT_TEMPLATE,
    LiveCluster,
    kd,
    live_project,
)

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: {{ release.name }}
spec:
  selector: {app: {{ release.name }}}
  ports:
  - port: {{ values.port }}
"""
# The Service (phase "services") answers this late: longer than the lock's verification
# interval (3 s with the default 30 s lease), so the check before "workloads" asks the server.
DELAY = 3.5


def history(live: LiveCluster) -> dict[int, tuple[str, str]]:
    from kdeploy.history.configmap import ConfigMapDriver
    from kdeploy.history.store import HistoryStore

    store = HistoryStore(ConfigMapDriver(live.api))
    return {r.number: (r.status, r.result) for r in store.revisions("web", live.ns)}


def take_over(live: LiveCluster, holder: str) -> None:
    """What another deployer's takeover writes: its own holder, token and acquire time."""
    from kubernetes import client

    now = datetime.now(UTC).replace(microsecond=1).isoformat().replace("+00:00", "Z")
    client.CoordinationV1Api(live.api).patch_namespaced_lease(
        lease_name("web"),
        live.ns,
        {
            "metadata": {
                "annotations": {ANN_TOKEN: uuid.uuid4().hex, ANN_PID: "4242", ANN_HOST: "ci-7"}
            },
            "spec": {"holderIdentity": holder, "acquireTime": now, "renewTime": now},
        },
    )


def wait_for_request(emu: Any, method: str, fragment: str, since: int) -> None:
    """Return once the emulator saw a real (not dry-run) request `method` with `fragment`."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log = emu.request_log[since:]
        if any(m == method and fragment in p and "dryRun" not in p for m, p in log):
            return
        time.sleep(0.02)
    pytest.fail(f"the apply never sent {method} ...{fragment}")


@pytest.mark.parametrize("how", ["unlock", "takeover"])
def test_apply_that_loses_its_lock_stops_and_the_next_apply_succeeds(
    own_emulator: Any, namespace: str, tmp_path: Path, how: str
) -> None:
    kubeconfig = str(own_emulator.kubeconfig_path)
    root = live_project(
        tmp_path,
        kubeconfig,
        namespace,
        templates={
            "configmap.yaml": CONFIGMAP_TEMPLATE,
            "service.yaml": SERVICE,
            "deployment.yaml": IMAGE_DEPLOYMENT_TEMPLATE,
        },
        values={"greeting": "hello", "port": 80, "image": "nginx:1.26"},
    )
    live = LiveCluster(kubeconfig, namespace)
    rev2 = ("--set", "greeting=bye", "--set", "port=8080", "--set", "image=nginx:1.27")
    try:
        assert kd(root, "apply", "-e", "dev", "--yes", "--no-wait").code == 0
        since = len(own_emulator.request_log)
        own_emulator.add_fault(
            FaultRule(
                method="PATCH",
                path=rf"/namespaces/{namespace}/services/web\?(?!.*dryRun)",
                action="latency",
                delay=DELAY,
                times=1,
            )
        )
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kdeploy.cli",
                "-C",
                str(root),
                "apply",
                "-e",
                "dev",
                "--yes",
                "--no-wait",
                *rev2,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_request(own_emulator, "PATCH", f"/namespaces/{namespace}/services/web?", since)
            if how == "unlock":
                broken = kd(root, "unlock", "web", "-e", "dev", "--force")
                assert broken.code == 0, broken.stderr
            else:
                take_over(live, "bob@ci")
            taken = read_lock(live.api, "web", namespace)
            noticed_from = len(own_emulator.request_log)
            _out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            own_emulator.clear_faults()
        assert proc.returncode == EXIT_LOCKED, err
        if how == "unlock":
            assert taken is None
            assert f"lost the release lock of release web in namespace {namespace} at " in err
            assert "its Lease was deleted (kdeploy unlock --force?)" in err
        else:
            assert taken is not None and taken.holder == "bob@ci"
            assert (
                f"lost the release lock of release web in namespace {namespace} to bob@ci "
                "(pid 4242 on ci-7, apply) at " in err
            ), err
        assert (
            "stopped before applying phase 'workloads'; revision 2 marked failed; "
            "run apply again" in err
        )
        # after the lock changed hands: the renewal that found out, then only our own revision's
        # history record; no object was written, the Lease was neither renewed nor deleted (a
        # one-release environment takes no environment lock)
        writes = [
            (m, p)
            for m, p in own_emulator.request_log[noticed_from:]
            if m in ("POST", "PUT", "PATCH", "DELETE")
        ]
        lease = f"/namespaces/{namespace}/leases/{lease_name('web')}"
        assert writes[0][0] == "PATCH" and writes[0][1].split("?")[0].endswith(lease), writes
        assert all(p.split("?")[0].endswith("/configmaps/kdeploy.web.v2") for _, p in writes[1:]), (
            writes
        )
        assert live.image() == "nginx:1.26"  # the Deployment was not touched
        assert history(live)[2][0] == "failed"
        assert "stopped before applying phase 'workloads'" in history(live)[2][1]
        if how == "takeover":
            state = read_lock(live.api, "web", namespace)
            assert state is not None and state.holder == "bob@ci"  # left to its holder
            from kdeploy.lock import break_lock

            assert break_lock(live.api, "web", namespace, state)  # bob@ci finishes

        again = kd(root, "apply", "-e", "dev", "--yes", "--no-wait", *rev2)
        assert again.code == 0, again.stderr
        assert live.image() == "nginx:1.27"
        assert {n: s for n, (s, _) in history(live).items()} == {
            1: "superseded",
            2: "failed",
            3: "deployed",
        }
        assert read_lock(live.api, "web", namespace) is None
    finally:
        live.api.close()


def test_waiting_for_a_hook_stops_when_the_lock_is_broken(
    own_emulator: Any, namespace: str, tmp_path: Path
) -> None:
    import yaml

    from tests.e2e.test_hooks import HOOKS

    kubeconfig = str(own_emulator.kubeconfig_path)
    root = live_project(
        tmp_path,
        kubeconfig,
        namespace,
        templates={"deployment.yaml": IMAGE_DEPLOYMENT_TEMPLATE, "hooks.yaml": HOOKS},
        values={"image": "nginx:1.26", "hooks": []},
    )
    live = LiveCluster(kubeconfig, namespace)
    # a migration that never finishes (suspended), waited for up to 10 minutes
    stuck = root / "stuck.yaml"
    stuck.write_text(
        yaml.safe_dump(
            {
                "image": "nginx:1.27",
                "hooks": [{"name": "migrate", "phase": "pre-apply", "suspend": True}],
            }
        )
    )
    try:
        assert kd(root, "apply", "-e", "dev", "--yes", "--no-wait").code == 0
        since = len(own_emulator.request_log)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kdeploy.cli",
                "-C",
                str(root),
                "apply",
                "-e",
                "dev",
                "--yes",
                "--timeout",
                "10m",
                "-f",
                str(stuck),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_request(own_emulator, "PATCH", f"/namespaces/{namespace}/jobs/migrate?", since)
            broken = kd(root, "unlock", "web", "-e", "dev", "--force")
            assert broken.code == 0, broken.stderr
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == EXIT_LOCKED, err
        assert "its Lease was deleted (kdeploy unlock --force?)" in err
        assert (
            f"stopped before the next health check of pre-apply hook Job {namespace}/migrate; "
            "revision 2 marked failed; run apply again" in err
        ), err
        assert live.image() == "nginx:1.26"  # the main apply never started
        assert history(live)[2][0] == "failed"

        again = kd(root, "apply", "-e", "dev", "--yes", "--no-wait", "--set", "image=nginx:1.27")
        assert again.code == 0, again.stderr
        assert live.image() == "nginx:1.27"
    finally:
        live.api.close()
