"""The release lock as users meet it: apply, rollback and uninstall refuse a locked release with
exit code 3, `--wait-for-lock` waits, `kdeploy unlock` shows and breaks the lock, and the lock is
released when the command fails or is interrupted (Ctrl-C, in a real process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kdeploy.lock import ReleaseLock, read_lock
from tests.helpers import CONFIGMAP_TEMPLATE as CONFIGMAP
from tests.helpers import ProjectBuilder, kd, live_project, run_kdeploy


@pytest.fixture
def api(emulator: Any) -> Iterator[Any]:
    from kdeploy.kube.config import ClusterTarget, new_api_client

    client = new_api_client(ClusterTarget(kubeconfig=str(emulator.kubeconfig_path)))
    yield client
    client.close()


@pytest.fixture
def project(tmp_path: Path, emulator: Any, namespace: str) -> Path:
    return live_project(
        tmp_path / "project",
        str(emulator.kubeconfig_path),
        namespace,
        templates={"configmap.yaml": CONFIGMAP},
        values={"greeting": "hi"},
    )


@pytest.fixture
def held(api: Any, namespace: str) -> Iterator[ReleaseLock]:
    """Another deployer (a CI job) holding the lock of release `web`."""
    other = ReleaseLock(
        api,
        "web",
        namespace,
        "ci-bot https://gitlab.example/shop/-/jobs/42",
        operation="apply",
        host="runner-7",
        renew_every=3600,
    )
    other.acquire()
    yield other
    other.release()


def test_apply_takes_and_releases_the_lock(project: Path, api: Any, namespace: str) -> None:
    result = kd(project, "apply", "-e", "dev", "--yes")
    assert result.code == 0, result.stderr
    assert read_lock(api, "web", namespace) is None


def test_apply_into_a_namespace_the_release_creates(
    tmp_path: Path, emulator: Any, api: Any
) -> None:
    import uuid

    from kubernetes import client

    ns = f"fresh-{uuid.uuid4().hex[:6]}"
    root = tmp_path / "fresh"
    proj = ProjectBuilder(root)
    namespace_tpl = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ release.namespace }}\n"
    proj.package(
        "webapp",
        templates={"ns.yaml": namespace_tpl, "configmap.yaml": CONFIGMAP},
        values={"greeting": "hi"},
    )
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig_path)},
            "namespace": ns,
            "releases": {"web": {"package": "webapp"}},
        },
    )
    try:
        result = run_kdeploy("-C", str(root), "apply", "-e", "dev", "--yes")
        assert result.code == 0, result.stderr
        assert read_lock(api, "web", ns) is None
    finally:
        try:
            client.CoreV1Api(api).delete_namespace(ns)
        except client.ApiException:
            pass


def test_second_deployer_exits_3_naming_holder_since_and_expiry(
    project: Path, namespace: str, held: ReleaseLock, api: Any
) -> None:
    state = read_lock(api, "web", namespace)
    assert state is not None
    result = kd(project, "apply", "-e", "dev", "--yes")
    assert result.code == 3
    err = result.stderr
    assert (
        f"release web in namespace {namespace} is locked by "
        "ci-bot https://gitlab.example/shop/-/jobs/42" in err
    )
    assert "on runner-7, apply" in err
    assert " since 20" in err and "its lease expires at 20" in err
    assert "--wait-for-lock" in err
    assert f"kdeploy unlock web -n {namespace} --force" in err
    # nothing was recorded or changed
    history = kd(project, "history", "web", "-e", "dev")
    assert history.code == 1 and "no history" in history.stderr
    again = read_lock(api, "web", namespace)
    assert again is not None and again.token == state.token


def test_rollback_and_uninstall_are_locked_too(project: Path, namespace: str, api: Any) -> None:
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    other = ReleaseLock(api, "web", namespace, "alice@laptop", renew_every=3600)
    with other:
        for args in (
            ("rollback", "web", "-e", "dev", "--yes"),
            ("uninstall", "web", "-e", "dev", "--yes"),
        ):
            result = kd(project, *args)
            assert result.code == 3, (args, result.stderr)
            assert "locked by alice@laptop" in result.stderr
    # the release is untouched
    history = kd(project, "history", "web", "-e", "dev")
    assert history.code == 0 and history.stdout.count("deployed") == 1


def test_wait_for_lock_times_out_with_exit_3(project: Path, held: ReleaseLock) -> None:
    result = kd(project, "apply", "-e", "dev", "--yes", "--wait-for-lock=1s")
    assert result.code == 3
    assert "waiting up to 1s (--wait-for-lock)" in result.stderr
    assert "(waited 1s with --wait-for-lock)" in result.stderr


def test_wait_for_lock_without_value_waits_until_released(
    project: Path, held: ReleaseLock, api: Any, namespace: str
) -> None:
    releaser = threading.Timer(1.0, held.release)
    releaser.start()
    try:
        result = kd(project, "apply", "-e", "dev", "--yes", "--wait-for-lock")
    finally:
        releaser.cancel()
    assert result.code == 0, result.stderr
    assert result.stderr.count("waiting up to 5m (--wait-for-lock)") == 1
    assert "revision 1" in result.stderr
    assert read_lock(api, "web", namespace) is None


def test_bad_wait_duration_is_quoted(project: Path) -> None:
    result = kd(project, "apply", "-e", "dev", "--yes", "--wait-for-lock=5x")
    assert result.code == 64  # a bad option value is a usage error, as for --timeout
    assert "--wait-for-lock '5x' is not a duration" in result.stderr


def test_unlock_without_force_shows_holder_and_exits_1(
    namespace: str, held: ReleaseLock, api: Any, emulator: Any
) -> None:
    result = run_kdeploy("unlock", "web", "-n", namespace, "--kubeconfig", emulator.kubeconfig_path)
    assert result.code == 1
    assert "locked by ci-bot https://gitlab.example/shop/-/jobs/42" in result.stderr
    assert f"kdeploy unlock web -n {namespace} --force" in result.stderr
    assert read_lock(api, "web", namespace) is not None


def test_unlock_force_breaks_the_lock_and_the_next_apply_works(
    project: Path, namespace: str, held: ReleaseLock, api: Any, emulator: Any
) -> None:
    kubeconfig = str(emulator.kubeconfig_path)
    result = run_kdeploy("unlock", "web", "-n", namespace, "--force", "--kubeconfig", kubeconfig)
    assert result.code == 0, result.stderr
    assert "Broke the lock of release web" in result.stderr
    assert "ci-bot" in result.stderr
    assert read_lock(api, "web", namespace) is None
    applied = kd(project, "apply", "-e", "dev", "--yes")
    assert applied.code == 0, applied.stderr
    # the former holder notices at its next renewal instead of deleting the new lock
    held.renew()
    assert held.lost is not None


def test_unlock_by_environment_and_when_not_locked(project: Path, namespace: str) -> None:
    result = kd(project, "unlock", "web", "-e", "dev", "--force")
    assert result.code == 0
    assert f"release web in namespace {namespace} is not locked" in result.stderr


def test_unlock_needs_a_location(project: Path) -> None:
    result = kd(project, "unlock", "web", "--force")
    assert result.code == 64
    assert "-n NAMESPACE" in result.stderr


def test_lock_released_when_the_apply_fails(
    project: Path, own_emulator: Any, namespace: str, api: Any
) -> None:
    from kdeploy.emulator.types import FaultRule

    own_emulator.add_fault(
        FaultRule(
            method="PATCH",
            path=f"/namespaces/{namespace}/configmaps/web-config",
            status=403,
            times=None,
        )
    )
    try:
        result = kd(project, "apply", "-e", "dev", "--yes")
    finally:
        own_emulator.clear_faults()
    assert result.code == 1, result.stderr
    assert "Forbidden" in result.stderr
    assert read_lock(api, "web", namespace) is None
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"]
)
def test_lock_released_when_interrupted_by_ctrl_c(
    project: Path, own_emulator: Any, namespace: str, api: Any, sig: int, code: int
) -> None:
    from kdeploy.emulator.types import FaultRule

    # hold the first ConfigMap request long enough to interrupt the process while it is locked
    own_emulator.add_fault(
        FaultRule(
            method="*",
            path=f"/namespaces/{namespace}/configmaps/web-config",
            action="latency",
            delay=30.0,
        )
    )
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kdeploy.cli", "-C", str(project), "apply", "-e", "dev", "--yes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # a shell that starts the suite in the background ignores SIGINT for its children, and
        # Python keeps an inherited SIG_IGN: restore the default so Ctrl-C reaches kdeploy
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while read_lock(api, "web", namespace) is None:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the apply never took the lock"
            time.sleep(0.05)
        state = read_lock(api, "web", namespace)
        assert state is not None and state.pid == proc.pid
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        own_emulator.clear_faults()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert read_lock(api, "web", namespace) is None
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0


def test_lock_of_a_dead_process_on_this_machine_is_taken_over_at_once(
    project: Path, api: Any, namespace: str
) -> None:
    import socket

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    orphan = ReleaseLock(
        api, "web", namespace, "alice@laptop", pid=proc.pid, host=socket.gethostname()
    )
    orphan.acquire()
    orphan._stop.set()  # the process "died": nobody renews, nobody releases
    result = kd(project, "apply", "-e", "dev", "--yes")
    assert result.code == 0, result.stderr
    assert (
        f"Took over the lock of release web in namespace {namespace} from alice@laptop"
        in result.stderr
    )
    assert f"its process {proc.pid} on this machine is gone" in result.stderr
    assert read_lock(api, "web", namespace) is None


def boot_id() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def pid_namespace() -> str:
    return str(os.stat("/proc/self/ns/pid").st_ino)


@pytest.mark.skipif(not Path("/proc/self/ns/pid").exists(), reason="needs /proc")
@pytest.mark.parametrize("elsewhere", ["boot", "pid-namespace"])
def test_lock_of_a_dead_pid_in_another_container_with_our_host_name_is_not_taken(
    project: Path, api: Any, namespace: str, elsewhere: str
) -> None:
    """Host-network containers (and hostNetwork pods) share the node's host name, but each has its
    own PID namespace: a pid that does not exist here may be a live deployer there. The Lease is
    written as such a deployer writes it (its own boot id and PID namespace)."""
    import socket
    from datetime import UTC, datetime

    from kubernetes import client

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    host = socket.gethostname()
    now = datetime.now(UTC)
    annotations = {
        "kdeploy.dev/lock-pid": str(proc.pid),
        "kdeploy.dev/lock-host": host,
        "kdeploy.dev/lock-token": "other-container",
        "kdeploy.dev/lock-operation": "apply",
        "kdeploy.dev/lock-boot-id": "9a1c0000-another-boot" if elsewhere == "boot" else boot_id(),
        "kdeploy.dev/lock-pid-namespace": (
            "4026599999" if elsewhere == "pid-namespace" else pid_namespace()
        ),
    }
    lease = client.V1Lease(
        metadata=client.V1ObjectMeta(
            name="kdeploy-lock.web", namespace=namespace, annotations=annotations
        ),
        spec=client.V1LeaseSpec(
            holder_identity="bob@ci-container",
            lease_duration_seconds=30,
            acquire_time=now,
            renew_time=now,
        ),
    )
    client.CoordinationV1Api(api).create_namespaced_lease(namespace, lease)
    before = read_lock(api, "web", namespace)

    result = kd(project, "apply", "-e", "dev", "--yes")

    assert result.code == 3, result.stderr
    assert "Took over" not in result.stderr
    assert (
        f"release web in namespace {namespace} is locked by bob@ci-container "
        f"(pid {proc.pid} on {host}, apply)"
    ) in result.stderr
    assert read_lock(api, "web", namespace) == before
    assert kd(project, "history", "web", "-e", "dev").code != 0  # nothing was deployed


def test_lock_of_a_dead_process_of_an_older_kdeploy_waits_for_expiry(
    project: Path, api: Any, namespace: str
) -> None:
    """A Lease without boot id and PID namespace cannot prove where its pid lived."""
    import socket

    from kdeploy.lock import Machine

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    orphan = ReleaseLock(
        api,
        "web",
        namespace,
        "alice@laptop",
        pid=proc.pid,
        host=socket.gethostname(),
        machine=Machine(socket.gethostname()),
    )
    orphan.acquire()
    orphan._stop.set()
    result = kd(project, "apply", "-e", "dev", "--yes")
    assert result.code == 3, result.stderr
    assert "is locked by alice@laptop" in result.stderr
