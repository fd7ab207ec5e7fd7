"""The local control plane's launcher (tests/controlplane/launcher.py) leaves no process behind:
not after stop(), and not when the test process that started it is killed outright. Runs on the
real target only (`--cluster=real`); each test starts a control plane of its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.controlplane.launcher import ControlPlane

REPO = Path(__file__).resolve().parents[2]
COMPONENTS = {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}


@pytest.fixture(autouse=True)
def _real_only(cluster_target: str) -> None:
    if cluster_target != "real":
        pytest.skip("starts the real control plane (--cluster=real)")


def running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_gone(pids: dict[str, int], timeout: float = 20.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = {name: pid for name, pid in pids.items() if running(pid)}
        if not left:
            return {}
        time.sleep(0.2)
    return {name: pid for name, pid in pids.items() if running(pid)}


def test_stop_ends_every_component() -> None:
    cp = ControlPlane.start()
    pids = cp.pids()
    workdir = cp.workdir
    assert set(pids) == COMPONENTS
    assert all(running(pid) for pid in pids.values())
    assert Path(cp.kubeconfig_path).is_file()
    cp.stop()
    assert wait_gone(pids, timeout=1.0) == {}
    assert not workdir.exists()


def test_components_die_with_a_killed_test_process() -> None:
    script = (
        "import json, sys, time\n"
        "from tests.controlplane.launcher import ControlPlane\n"
        "cp = ControlPlane.start()\n"
        "print(json.dumps(cp.pids()), flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        pids = json.loads(line)
        assert set(pids) == COMPONENTS
        os.kill(proc.pid, signal.SIGKILL)  # no atexit, no finally: only the kernel cleans up
        proc.wait(timeout=10)
        assert wait_gone(pids) == {}
    finally:
        if proc.poll() is None:
            proc.kill()
