"""Crash recovery: a deployer killed (SIGKILL) at any API request of an apply leaves a state from
which the next `apply` and `rollback` succeed without manual steps, and the cluster then holds
exactly the release's objects.

The kill comes from the emulator itself (fault actions `kill` / `kill-after`): `kill` ends the
client when its k-th request arrives, before the server acts on it; `kill-after` lets the server
make the change and ends the client before it sees the answer. A dry pass counts the requests of
the apply; every k from 1 to that count is a kill point, by default once (`kill` at odd k,
`kill-after` at even k); KDEPLOY_CRASH_ALL=1 tries both actions at every k (twice as long).
KDEPLOY_CRASH_REPORT=FILE appends the counts to FILE.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kdeploy.emulator.app import Emulator
from kdeploy.emulator.types import ControllerKnobs, FaultRule
from kdeploy.lock import ANN_HOST, ENV_LEASE_PREFIX, lease_name
from tests.helpers import CONFIGMAP_TEMPLATE as CONFIGMAP
from tests.helpers import IMAGE_DEPLOYMENT_TEMPLATE as DEPLOYMENT
from tests.helpers import NAMESPACE_TEMPLATE as NAMESPACE
from tests.helpers import SECRET_TEMPLATE as SECRET
from tests.helpers import CliResult, ProjectBuilder, run_kdeploy

pytestmark = pytest.mark.slow

RELEASE = "web"
EXTRA = """\
{% if values.extra %}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-extra
data:
  enabled: "yes"
{% endif %}
"""
# only rendered with --set added=true (an object a killed run created that nobody wants after)
ADDED = """\
{% if values.added | default(false) %}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-added
data:
  greeting: added
{% endif %}
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: {{ release.name }}
spec:
  selector: {app: {{ release.name }}}
  ports:
  - port: {{ values.port }}
    targetPort: 80
"""
REV1 = {
    "greeting": "hello",
    "extra": True,
    "password": "first-Secret-1",
    "port": 80,
    "image": "nginx:1.26",
}
# revision 2 changes every kept object and no longer renders web-extra (so it is pruned)
REV2 = {
    "greeting": "bye",
    "extra": False,
    "password": "second-Secret-2",
    "port": 8080,
    "image": "nginx:1.27",
}
REV2_ARGS = ("-f", "rev2.yaml")


def expected(values: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """(kind, name) -> the key field of every object the release must have, nothing else."""
    out: dict[tuple[str, str], Any] = {
        ("ConfigMap", f"{RELEASE}-config"): values["greeting"],
        ("Secret", f"{RELEASE}-secret"): values["password"],
        ("Service", RELEASE): values["port"],
        ("Deployment", RELEASE): values["image"],
    }
    if values["extra"]:
        out[("ConfigMap", f"{RELEASE}-extra")] = "yes"
    return out


@pytest.fixture(scope="module")
def emu(cluster_target: str) -> Iterator[Emulator]:
    """An emulator of our own: the kill rules count every request it receives."""
    if cluster_target == "real":
        pytest.skip("emulator-only: kills clients through the emulator's fault injection")
    with Emulator(knobs=ControllerKnobs(ready_delay=0.05, job_duration=0.05)) as emulator:
        yield emulator


@dataclass
class Round:
    """One release in its own namespace (the release creates it), with its project directory."""

    emu: Emulator
    root: Path
    ns: str

    def kd(self, *args: str) -> CliResult:
        return run_kdeploy("-C", str(self.root), *args)

    def apply(self, *extra: str) -> CliResult:
        return self.kd("apply", "-e", "dev", "--yes", "--no-wait", *extra)

    def rollback(self, to: int) -> CliResult:
        return self.kd("rollback", RELEASE, "-e", "dev", "--to", str(to), "--yes", "--no-wait")

    def apply_args(self) -> list[str]:
        """The command line of the apply of revision 2."""
        return ["-C", str(self.root), "apply", "-e", "dev", "--yes", "--no-wait", *REV2_ARGS]


def make_round(emu: Emulator, tmp_path: Path) -> Round:
    ns = f"crash-{uuid.uuid4().hex[:10]}"
    root = tmp_path / ns
    proj = ProjectBuilder(root)
    proj.package(
        "webapp",
        templates={
            "namespace.yaml": NAMESPACE,
            "configmap.yaml": CONFIGMAP,
            "extra.yaml": EXTRA,
            "added.yaml": ADDED,
            "secret.yaml": SECRET,
            "service.yaml": SERVICE,
            "deployment.yaml": DEPLOYMENT,
        },
        values=REV1,
    )
    proj.write("rev2.yaml", REV2)
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(emu.kubeconfig_path)},
            "namespace": ns,
            "releases": {RELEASE: {"package": "webapp"}},
        },
    )
    return Round(emu, root, ns)


# The child waits for a line on stdin, so the kill rule naming its pid is in place before its
# first request; exec keeps the pid.
_LAUNCH = (
    "import os, sys; sys.stdin.readline(); "
    "os.execv(sys.executable, [sys.executable, '-m', 'kdeploy.cli', *sys.argv[1:]])"
)


def run_with_kill(
    emu: Emulator,
    action: str | None,
    k: int,
    args: list[str],
    *,
    method: str = "*",
    path: str = ".*",
) -> subprocess.CompletedProcess[str]:
    """Run the kdeploy CLI with `args` in a child process that the emulator kills (`action`) at
    its k-th request matching `method` and `path` (no kill when `action` is None). Returns the
    finished process (returncode -9 when killed)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    emu.clear_faults()
    if action is not None:
        rule = FaultRule(method=method, path=path, action=action, pid=proc.pid, skip=k - 1)
        emu.add_fault(rule)
    try:
        out, err = proc.communicate("go\n", timeout=60)
    finally:
        emu.clear_faults()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


class ClusterView:
    """Reads a release's namespace through the official client, for assertions."""

    def __init__(self, emu: Emulator, ns: str) -> None:
        from kdeploy.kube.config import ClusterTarget, new_api_client
        from kdeploy.kube.real import RealCluster

        self.api = new_api_client(ClusterTarget(kubeconfig=str(emu.kubeconfig_path)))
        self.cluster = RealCluster(self.api)
        self.ns = ns

    def close(self) -> None:
        self.api.close()

    def objects(self) -> dict[tuple[str, str], Any]:
        """(kind, name) -> key field of every ConfigMap, Secret, Service and Deployment in the
        namespace that is not history or put there by the server."""
        out: dict[tuple[str, str], Any] = {}
        for api_version, kind in (
            ("v1", "ConfigMap"),
            ("v1", "Secret"),
            ("v1", "Service"),
            ("apps/v1", "Deployment"),
        ):
            for obj in self.cluster.list_by_labels(api_version, kind, self.ns, ""):
                meta = obj["metadata"]
                name = meta["name"]
                if name == "kube-root-ca.crt" or name.startswith("kdeploy."):
                    continue
                labels = meta.get("labels") or {}
                assert labels.get("app.kubernetes.io/instance") == RELEASE, (
                    f"{kind} {name} lacks the release's ownership label: {labels}"
                )
                out[(kind, name)] = key_field(kind, name, obj)
        return out

    def history(self) -> dict[int, str]:
        """revision number -> status."""
        out = {}
        for cm in self.cluster.list_by_labels(
            "v1",
            "ConfigMap",
            self.ns,
            f"app.kubernetes.io/managed-by=kdeploy,kdeploy.dev/release={RELEASE}",
        ):
            labels = cm["metadata"]["labels"]
            if "kdeploy.dev/revision" in labels and "kdeploy.dev/status" in labels:
                out[int(labels["kdeploy.dev/revision"])] = labels["kdeploy.dev/status"]
        return dict(sorted(out.items()))

    def revision(self, number: int) -> Any:
        from kdeploy.history.configmap import ConfigMapDriver
        from kdeploy.history.store import HistoryStore

        return HistoryStore(ConfigMapDriver(self.api)).get(RELEASE, self.ns, number)

    def leases(self) -> list[str]:
        return [
            o["metadata"]["name"]
            for o in self.cluster.list_by_labels("coordination.k8s.io/v1", "Lease", self.ns, "")
        ]

    def lease(self) -> dict[str, Any] | None:
        from kdeploy.kube.client import ObjectRef

        return self.cluster.get(
            ObjectRef("coordination.k8s.io/v1", "Lease", self.ns, lease_name(RELEASE))
        )


def key_field(kind: str, name: str, obj: dict[str, Any]) -> Any:
    if kind == "ConfigMap":
        return (obj.get("data") or {}).get("enabled" if name.endswith("-extra") else "greeting")
    if kind == "Secret":
        return base64.b64decode(obj["data"]["password"]).decode()
    if kind == "Service":
        return obj["spec"]["ports"][0]["port"]
    return obj["spec"]["template"]["spec"]["containers"][0]["image"]


def assert_settled(view: ClusterView, values: dict[str, Any], where: str) -> dict[int, str]:
    """The namespace holds exactly the release's objects for `values`, history has exactly one
    deployed revision and nothing pending, and no lock is left. Returns the history."""
    assert view.objects() == expected(values), where
    history = view.history()
    assert list(history.values()).count("deployed") == 1, f"{where}: {history}"
    assert "pending" not in history.values(), f"{where}: {history}"
    # A killed apply's environment lock stays until the next apply takes it over (its process
    # is gone) or it expires: a rollback takes no environment lock (docs/locking.md).
    assert [n for n in view.leases() if not n.startswith(ENV_LEASE_PREFIX)] == [], where
    return history


def count_requests(emu: Emulator, tmp_path: Path) -> int:
    """The dry pass: how many requests a full apply of revision 2 over revision 1 makes."""
    rnd = make_round(emu, tmp_path)
    first = rnd.apply()
    assert first.code == 0, first.stderr
    before = emu.request_count
    done = run_with_kill(emu, None, 0, rnd.apply_args())
    assert done.returncode == 0, done.stderr
    return emu.request_count - before


def kill_points(action: str, requests: int) -> list[int]:
    """The kill points (1-based request numbers) to try with `action`: by default every other
    one, `kill` the odd and `kill-after` the even ones, so that each request is a kill point once;
    with KDEPLOY_CRASH_ALL=1, every one with both actions."""
    if os.environ.get("KDEPLOY_CRASH_ALL"):
        return list(range(1, requests + 1))
    return list(range(1 if action == "kill" else 2, requests + 1, 2))


@dataclass
class Outcome:
    """What one kill point did: how the killed apply ended and the history it left."""

    action: str
    k: int
    killed: bool
    left: dict[int, str]


def crash_round(emu: Emulator, tmp_path: Path, action: str, k: int) -> Outcome:
    """Revision 1 applied; revision 2's apply killed at request k; apply again; roll back to 1.
    Checks the cluster after each step and returns what the kill left behind."""
    rnd = make_round(emu, tmp_path)
    view = ClusterView(emu, rnd.ns)
    where = f"{action} at request {k}"
    try:
        first = rnd.apply()
        assert first.code == 0, first.stderr
        assert_settled(view, REV1, "after revision 1")

        killed = run_with_kill(emu, action, k, rnd.apply_args())
        assert killed.returncode in (-9, 0), f"{where}: {killed.returncode} {killed.stderr}"
        # whatever the kill left, every object in the namespace carries the release's labels
        # (checked by objects()) and is one of the two revisions' objects
        left = view.objects()
        assert set(left) <= set(expected(REV1)) | set(expected(REV2)), f"{where}: {left}"
        history = view.history()
        assert list(history.values()).count("pending") <= 1, f"{where}: {history}"

        again = rnd.apply(*REV2_ARGS)
        assert again.code == 0, f"{where}: recovery apply failed:\n{again.stdout}\n{again.stderr}"
        after = assert_settled(view, REV2, f"{where}: after the recovery apply")
        for number, status in history.items():
            if status == "pending":
                rev = view.revision(number)
                assert (after[number], rev.result) == ("failed", "interrupted"), where
        latest = max(after)
        assert after[latest] == "deployed", f"{where}: {after}"

        back = rnd.rollback(1)
        assert back.code == 0, f"{where}: rollback failed:\n{back.stdout}\n{back.stderr}"
        assert_settled(view, REV1, f"{where}: after the rollback")
        return Outcome(action, k, killed.returncode == -9, history)
    finally:
        view.close()


@pytest.fixture(scope="module")
def apply_requests(emu: Emulator, tmp_path_factory: pytest.TempPathFactory) -> int:
    return count_requests(emu, tmp_path_factory.mktemp("dry"))


@pytest.mark.parametrize("action", ["kill", "kill-after"])
def test_killed_at_every_request_then_apply_and_rollback_recover(
    emu: Emulator, apply_requests: int, tmp_path: Path, action: str
) -> None:
    assert apply_requests > 20  # the dry pass saw a whole apply
    points = kill_points(action, apply_requests)
    failures: list[str] = []
    outcomes: list[Outcome] = []
    for k in points:
        try:
            outcomes.append(crash_round(emu, tmp_path / f"k{k}", action, k))
        except AssertionError as e:
            failures.append(f"k={k}: {e}")
    report = os.environ.get("KDEPLOY_CRASH_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as f:
            killed = sum(o.killed for o in outcomes)
            pending = sum("pending" in o.left.values() for o in outcomes)
            f.write(
                f"{action}: {len(points)} kill points of {apply_requests} requests, "
                f"{killed} killed, {pending} left a pending revision, "
                f"{len(failures)} failed\n"
            )
            for line in failures:
                f.write(f"  {line}\n")
    assert not failures, "\n".join(failures)
    assert all(o.killed for o in outcomes), [o.k for o in outcomes if not o.killed]


def test_killed_deployer_of_another_host_blocks_until_its_lease_expires(
    emu: Emulator, tmp_path: Path
) -> None:
    rnd = make_round(emu, tmp_path)
    view = ClusterView(emu, rnd.ns)
    try:
        assert rnd.apply().code == 0
        # killed right after its first real change: the pending revision is recorded, the lock held
        killed = run_with_kill(
            emu, "kill-after", 1, rnd.apply_args(), method="PATCH", path=r"web-config\?(?!.*dryRun)"
        )
        assert killed.returncode == -9, killed.stderr
        assert view.objects()[("ConfigMap", f"{RELEASE}-config")] == REV2["greeting"]
        assert view.history() == {1: "deployed", 2: "pending"}
        # as if it had run on a CI runner: its process cannot be checked from here, only its
        # lease's expiry (shortened to 3 s instead of the default 30 s to keep the test short)
        from kubernetes import client

        now = datetime.now(UTC).replace(microsecond=1)
        client.CoordinationV1Api(view.api).patch_namespaced_lease(
            lease_name(RELEASE),
            rnd.ns,
            {
                "metadata": {"annotations": {ANN_HOST: "ci-runner-7"}},
                "spec": {
                    "leaseDurationSeconds": 3,
                    "renewTime": now.isoformat().replace("+00:00", "Z"),
                },
            },
        )

        blocked = rnd.apply(*REV2_ARGS)
        assert blocked.code == 3, blocked.stderr
        assert "is locked by" in blocked.stderr and "on ci-runner-7" in blocked.stderr
        assert "lease expires at" in blocked.stderr
        assert view.history() == {1: "deployed", 2: "pending"}

        waited = rnd.apply(*REV2_ARGS, "--wait-for-lock=1m")
        assert waited.code == 0, waited.stderr
        out = waited.stdout + waited.stderr
        assert "Took over the lock" in out and "its lease expired" in out
        assert "revision 2 of release web was interrupted" in out
        history = assert_settled(view, REV2, "after taking over the expired lock")
        assert history == {1: "superseded", 2: "failed", 3: "deployed"}
        assert view.revision(2).result == "interrupted"

        back = rnd.rollback(1)
        assert back.code == 0, back.stderr
        assert_settled(view, REV1, "after the rollback")
    finally:
        view.close()


def test_killed_before_marking_its_revision_deployed_apply_records_the_cluster_state(
    emu: Emulator, tmp_path: Path
) -> None:
    """Every object already changed, the revision still pending: the plan has no changes, but
    the next apply must still resolve the pending revision and record a deployed one."""
    rnd = make_round(emu, tmp_path)
    view = ClusterView(emu, rnd.ns)
    try:
        assert rnd.apply().code == 0
        killed = run_with_kill(
            emu,
            "kill",
            1,
            rnd.apply_args(),
            method="PATCH",
            path=r"/configmaps/kdeploy\.web\.v2(\?|$)",
        )
        assert killed.returncode == -9, killed.stderr
        assert view.objects() == expected(REV2)
        assert view.history() == {1: "deployed", 2: "pending"}

        again = rnd.apply(*REV2_ARGS)
        assert again.code == 0, again.stderr
        assert "0 to create, 0 to change, 0 to delete" in again.stdout
        assert "revision 2 of release web was interrupted" in again.stdout + again.stderr
        assert assert_settled(view, REV2, "after") == {1: "superseded", 2: "failed", 3: "deployed"}
    finally:
        view.close()


def test_killed_between_deployed_and_superseded_leaves_one_deployed_revision(
    emu: Emulator, tmp_path: Path
) -> None:
    rnd = make_round(emu, tmp_path)
    view = ClusterView(emu, rnd.ns)
    try:
        assert rnd.apply().code == 0
        killed = run_with_kill(
            emu,
            "kill",
            1,
            rnd.apply_args(),
            method="PATCH",
            path=r"/configmaps/kdeploy\.web\.v1(\?|$)",
        )
        assert killed.returncode == -9, killed.stderr
        assert view.history() == {1: "deployed", 2: "deployed"}

        again = rnd.apply(*REV2_ARGS)
        assert again.code == 0, again.stderr
        assert "no changes, nothing recorded" in again.stdout + again.stderr
        assert assert_settled(view, REV2, "after") == {1: "superseded", 2: "deployed"}
    finally:
        view.close()


def first_install_round(emu: Emulator, tmp_path: Path, action: str, k: int) -> Outcome:
    """The first install (which creates the namespace) killed at request k, then applied again.
    Returns what the kill left behind."""
    rnd = make_round(emu, tmp_path)
    view = ClusterView(emu, rnd.ns)
    where = f"first install, {action} at request {k}"
    try:
        killed = run_with_kill(emu, action, k, rnd.apply_args()[:-2])
        assert killed.returncode in (-9, 0), f"{where}: {killed.returncode} {killed.stderr}"
        left = view.history()
        again = rnd.apply()
        assert again.code == 0, f"{where}: recovery apply failed:\n{again.stdout}\n{again.stderr}"
        history = assert_settled(view, REV1, f"{where}: after the recovery apply")
        assert history[max(history)] == "deployed", f"{where}: {history}"
        assert view.objects() == expected(REV1), where
        for number, status in left.items():
            if status == "pending":
                assert (history[number], view.revision(number).result) == (
                    "failed",
                    "interrupted",
                ), where
        return Outcome(action, k, killed.returncode == -9, left)
    finally:
        view.close()


@pytest.fixture(scope="module")
def install_requests(emu: Emulator, tmp_path_factory: pytest.TempPathFactory) -> int:
    rnd = make_round(emu, tmp_path_factory.mktemp("dry-install"))
    before = emu.request_count
    done = run_with_kill(emu, None, 0, rnd.apply_args()[:-2])
    assert done.returncode == 0, done.stderr
    return emu.request_count - before


@pytest.mark.parametrize("action", ["kill", "kill-after"])
def test_first_install_killed_at_every_request_then_apply_recovers(
    emu: Emulator, install_requests: int, tmp_path: Path, action: str
) -> None:
    assert install_requests > 10
    failures: list[str] = []
    outcomes: list[Outcome] = []
    points = kill_points(action, install_requests)
    for k in points:
        try:
            outcomes.append(first_install_round(emu, tmp_path / f"k{k}", action, k))
        except AssertionError as e:
            failures.append(f"k={k}: {e}")
    killed = sum(o.killed for o in outcomes)
    report = os.environ.get("KDEPLOY_CRASH_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as f:
            f.write(
                f"first install, {action}: {len(points)} kill points of {install_requests} requests, "
                f"{killed} killed, "
                f"{sum('pending' in o.left.values() for o in outcomes)} left a pending revision, "
                f"{len(failures)} failed\n"
            )
            for line in failures:
                f.write(f"  {line}\n")
    assert not failures, "\n".join(failures)
    assert killed == len(points)


@pytest.mark.parametrize("then", ["apply", "rollback"])
def test_object_created_by_an_interrupted_run_is_pruned_by_the_next_one(
    emu: Emulator, tmp_path: Path, then: str
) -> None:
    """Revision 2 (which adds web-added) is killed right after creating web-added; the next
    apply of revision 1's values (or a rollback to 1) does not render it, and it is known only
    from the interrupted revision's manifests: it must be deleted all the same."""
    rnd = make_round(emu, tmp_path)
    view = ClusterView(emu, rnd.ns)
    try:
        assert rnd.apply().code == 0
        args = [*rnd.apply_args(), "--set", "added=true"]
        killed = run_with_kill(
            emu, "kill-after", 1, args, method="PATCH", path=r"web-added\?(?!.*dryRun)"
        )
        assert killed.returncode == -9, killed.stderr
        assert ("ConfigMap", f"{RELEASE}-added") in view.objects()
        assert view.history() == {1: "deployed", 2: "pending"}

        done = rnd.apply() if then == "apply" else rnd.rollback(1)
        assert done.code == 0, done.stderr
        assert "deleted ConfigMap" in done.stdout + done.stderr
        assert_settled(view, REV1, f"after the {then}")
        assert view.history() == {1: "superseded", 2: "failed", 3: "deployed"}
    finally:
        view.close()
