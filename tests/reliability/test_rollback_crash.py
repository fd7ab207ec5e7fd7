"""Crash recovery of a rollback: `kdeploy rollback --to 1` killed (SIGKILL, by the emulator's
`kill` / `kill-after` fault actions) at its k-th API request leaves a state from which the same
rollback, run again, succeeds, and the next apply too; the cluster holds exactly the expected
objects after each.

A dry pass counts the requests of the rollback. By default every third k is a kill point,
alternating `kill` and `kill-after` (to keep the default run short); KDEPLOY_CRASH_ALL=1 tries
both actions at every k. KDEPLOY_CRASH_REPORT=FILE appends the counts to FILE.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdeploy.emulator.app import Emulator
from kdeploy.emulator.types import ControllerKnobs
from tests.reliability.test_crash_recovery import (
    REV1,
    REV2,
    REV2_ARGS,
    ClusterView,
    Outcome,
    Round,
    assert_settled,
    expected,
    make_round,
    run_with_kill,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def emu(cluster_target: str) -> Iterator[Emulator]:
    """An emulator of our own: the kill rules count every request it receives."""
    if cluster_target == "real":
        pytest.skip("emulator-only: kills clients through the emulator's fault injection")
    with Emulator(knobs=ControllerKnobs(ready_delay=0.05, job_duration=0.05)) as emulator:
        yield emulator


def rollback_args(rnd: Round) -> list[str]:
    return ["-C", str(rnd.root), "rollback", "web", "-e", "dev", "--to", "1", "--yes", "--no-wait"]


def deployed_twice(emu: Emulator, tmp_path: Path) -> tuple[Round, ClusterView]:
    """A release at revision 2 (REV2) over revision 1 (REV1)."""
    rnd = make_round(emu, tmp_path)
    view = ClusterView(emu, rnd.ns)
    first = rnd.apply()
    assert first.code == 0, first.stderr
    second = rnd.apply(*REV2_ARGS)
    assert second.code == 0, second.stderr
    assert assert_settled(view, REV2, "after revision 2") == {1: "superseded", 2: "deployed"}
    return rnd, view


@pytest.fixture(scope="module")
def rollback_requests(emu: Emulator, tmp_path_factory: pytest.TempPathFactory) -> int:
    """The dry pass: how many requests `rollback --to 1` makes from revision 2."""
    rnd, view = deployed_twice(emu, tmp_path_factory.mktemp("dry-rollback"))
    try:
        before = emu.request_count
        done = run_with_kill(emu, None, 0, rollback_args(rnd))
        assert done.returncode == 0, done.stderr
        return emu.request_count - before
    finally:
        view.close()


def kill_points(requests: int) -> list[tuple[str, int]]:
    """(action, k) pairs: every third k, alternating `kill` and `kill-after`; with
    KDEPLOY_CRASH_ALL=1, every k with both actions."""
    if os.environ.get("KDEPLOY_CRASH_ALL"):
        return [(a, k) for a in ("kill", "kill-after") for k in range(1, requests + 1)]
    ks = range(1, requests + 1, 3)
    return [("kill" if i % 2 == 0 else "kill-after", k) for i, k in enumerate(ks)]


def rollback_crash_round(emu: Emulator, tmp_path: Path, action: str, k: int) -> Outcome:
    """Revision 2 deployed; `rollback --to 1` killed at request k; the same rollback again; then
    apply revision 2's values again. Checks the cluster after each step."""
    rnd, view = deployed_twice(emu, tmp_path)
    where = f"rollback, {action} at request {k}"
    try:
        killed = run_with_kill(emu, action, k, rollback_args(rnd))
        assert killed.returncode in (-9, 0), f"{where}: {killed.returncode} {killed.stderr}"
        left = view.objects()
        assert set(left) <= set(expected(REV1)) | set(expected(REV2)), f"{where}: {left}"
        history = view.history()
        assert list(history.values()).count("pending") <= 1, f"{where}: {history}"

        again = rnd.kd(*rollback_args(rnd)[2:])
        assert again.code == 0, f"{where}: rollback again failed:\n{again.stdout}\n{again.stderr}"
        after = assert_settled(view, REV1, f"{where}: after the second rollback")
        assert after[max(after)] == "deployed", f"{where}: {after}"
        assert view.revision(max(after)).description == "rollback to 1", where
        for number, status in history.items():
            if status == "pending":
                assert (after[number], view.revision(number).result) == (
                    "failed",
                    "interrupted",
                ), where

        forward = rnd.apply(*REV2_ARGS)
        assert forward.code == 0, f"{where}: apply failed:\n{forward.stdout}\n{forward.stderr}"
        final = assert_settled(view, REV2, f"{where}: after the apply")
        assert final[max(final)] == "deployed", f"{where}: {final}"
        return Outcome(action, k, killed.returncode == -9, history)
    finally:
        view.close()


def test_rollback_killed_at_sampled_requests_then_rollback_and_apply_recover(
    emu: Emulator, rollback_requests: int, tmp_path: Path
) -> None:
    assert rollback_requests > 10  # the dry pass saw a whole rollback
    points = kill_points(rollback_requests)
    failures: list[str] = []
    outcomes: list[Outcome] = []
    for action, k in points:
        try:
            outcomes.append(rollback_crash_round(emu, tmp_path / f"{action}-{k}", action, k))
        except AssertionError as e:
            failures.append(f"{action} k={k}: {e}")
    report = os.environ.get("KDEPLOY_CRASH_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as f:
            killed = sum(o.killed for o in outcomes)
            pending = sum("pending" in o.left.values() for o in outcomes)
            f.write(
                f"rollback: {len(points)} kill points of {rollback_requests} requests, "
                f"{killed} killed, {pending} left a pending revision, {len(failures)} failed\n"
            )
            for line in failures:
                f.write(f"  {line}\n")
    assert not failures, "\n".join(failures)
    assert all(o.killed for o in outcomes), [(o.action, o.k) for o in outcomes if not o.killed]
