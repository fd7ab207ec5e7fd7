"""A cancelled apply as users meet it: `kdeploy apply` runs as its own process while the rollout
of a `never-ready` image waits for health, and gets Ctrl-C (SIGINT) or SIGTERM (what GitLab sends
a cancelled job).

- Without --atomic, the last lines name the revision left failed and the exact rollback command.
- With --atomic, the first signal rolls back to the last deployed revision and says so.
- A second signal stops that rollback at once; `kdeploy rollback` then finishes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    IMAGE_DEPLOYMENT_TEMPLATE,
    LiveCluster,
    kd,
    live_project,
    revisions,
)

NS_PREFIX = "cancelled-apply"
GOOD = "nginx:1.27"
BAD = "nginx:never-ready"
SIGNALS = pytest.mark.parametrize(
    ("sig", "code", "name"),
    [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "Ctrl-C (SIGINT)")],
    ids=["sigterm", "ctrl-c"],
)


@pytest.fixture
def project(tmp_path: Path, emulator: Any, ns: str) -> Path:
    """Release web deployed once (revision 1, image GOOD, healthy)."""
    root = live_project(
        tmp_path / "project",
        str(emulator.kubeconfig_path),
        ns,
        templates={"deployment.yaml": IMAGE_DEPLOYMENT_TEMPLATE},
        values={"image": GOOD},
    )
    first = kd(root, "apply", "-e", "dev", "--yes")
    assert first.code == 0, first.stderr
    return root


class Running:
    """`kdeploy apply` (or another command) in a child process, as a CI job runs it."""

    def __init__(self, project: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kdeploy.cli", "-C", str(project), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
            # a shell that starts the suite in the background ignores SIGINT for its children, and
            # Python keeps an inherited SIG_IGN: restore the default so Ctrl-C reaches kdeploy
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )

    def until(self, what: str, ready: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            assert self.proc.poll() is None, (what, self.proc.communicate())
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)

    def finish(self) -> tuple[int, str]:
        _, err = self.proc.communicate(timeout=90)
        return self.proc.returncode, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for run in started:
        run.kill()


def statuses(project: Path) -> list[str]:
    return [r["status"] for r in revisions(project)]


def start_bad_apply(
    project: Path, live: LiveCluster, running: list[Running], *args: str
) -> Running:
    """Start an apply of the never-ready image and return once it waits for its rollout."""
    run = Running(project, "apply", "-e", "dev", "--yes", "--set", f"image={BAD}", *args)
    running.append(run)
    run.until("the rollout of revision 2", lambda: live.image() == BAD)
    run.until("revision 2 pending", lambda: statuses(project)[-1:] == ["pending"])
    time.sleep(0.5)  # well into the wait for health
    return run


@SIGNALS
def test_cancelled_apply_names_the_failed_revision_and_the_rollback_command(
    project: Path, live: LiveCluster, running: list[Running], sig: int, code: int, name: str
) -> None:
    run = start_bad_apply(project, live, running)
    run.proc.send_signal(sig)
    returncode, err = run.finish()

    assert returncode == code, err
    last = err.strip().splitlines()[-2:]
    assert last == [
        f"Error: {name} stopped the apply of release web in namespace {live.ns}: revision 2 is "
        "left failed, and what it applied stays in the cluster (a rollout may still be in "
        "progress)",
        "  hint: roll back to revision 1, the last deployed one: "
        "kdeploy rollback web -e dev --to 1",
    ], err
    assert statuses(project) == ["deployed", "failed"]
    assert live.image() == BAD  # nothing undone without --atomic
    # the command it names works
    undo = kd(project, "rollback", "web", "-e", "dev", "--to", "1", "--yes")
    assert undo.code == 0, undo.stderr
    assert live.image() == GOOD


@SIGNALS
def test_cancelled_atomic_apply_rolls_back(
    project: Path, live: LiveCluster, running: list[Running], sig: int, code: int, name: str
) -> None:
    run = start_bad_apply(project, live, running, "--atomic")
    run.proc.send_signal(sig)
    returncode, err = run.finish()

    assert returncode == code, err
    assert (
        f"--atomic: {name} received: rolling back release web in namespace {live.ns} to "
        "revision 1, waiting at most 20s (--atomic-grace); a second signal stops the rollback "
        "at once"
    ) in err
    assert (
        f"Error: {name} stopped the apply of release web in namespace {live.ns} (revision 2 "
        "recorded as failed)\n--atomic: rolled back to revision 1 (recorded as revision 3); "
        "the release runs revision 1's manifests again"
    ) in err
    assert live.image() == GOOD
    assert [(r["status"], r["description"]) for r in revisions(project)] == [
        ("superseded", "apply"),
        ("failed", "apply"),
        ("deployed", "rollback to 1"),
    ]


def test_second_signal_stops_the_atomic_rollback_and_rollback_finishes_it(
    project: Path, own_emulator: Any, live: LiveCluster, running: list[Running]
) -> None:
    from kdeploy.emulator.types import FaultRule

    run = start_bad_apply(project, live, running, "--atomic")
    # hold the rollback's change of the Deployment, so that the second signal finds it running
    own_emulator.add_fault(
        FaultRule(
            method="PATCH",
            path=rf"/namespaces/{live.ns}/deployments/web(\?(?!.*dryRun)|$)",
            action="latency",
            delay=20.0,
        )
    )
    try:
        run.proc.send_signal(signal.SIGTERM)
        run.until("the rollback's revision 3", lambda: len(statuses(project)) == 3)
        time.sleep(0.3)
        run.proc.send_signal(signal.SIGTERM)
        returncode, err = run.finish()
    finally:
        own_emulator.clear_faults()

    assert returncode == 143, err
    assert (
        "--atomic: a second signal (SIGTERM) stopped the rollback to revision 1 before it "
        f"finished\n  hint: finish it: kdeploy rollback web -n {live.ns}"
    ) in err
    assert statuses(project) == ["deployed", "failed", "failed"]
    again = kd(project, "rollback", "web", "-e", "dev", "--yes")
    assert again.code == 0, again.stderr
    assert live.image() == GOOD
    assert [r["rollbackTo"] for r in revisions(project)][-1] == 1
