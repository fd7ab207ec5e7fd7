"""ReleaseLock over the emulator through the official client: acquire, hold, renew, release,
refuse, wait, take over expired and orphaned leases."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kdeploy.errors import EXIT_LOCKED, LockHeldError
from kdeploy.history.identity import format_time
from kdeploy.lock import (
    ANN_HOST,
    ANN_PID,
    ReleaseLock,
    break_lock,
    lease_name,
    read_lock,
)


@pytest.fixture
def api(emulator: Any) -> Iterator[Any]:
    from kdeploy.kube.config import ClusterTarget, new_api_client

    client = new_api_client(ClusterTarget(kubeconfig=str(emulator.kubeconfig_path)))
    yield client
    client.close()


def raw_lease(api: Any, ns: str, release: str = "web") -> dict[str, Any] | None:
    import json

    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        resp: Any = client.CoordinationV1Api(api).read_namespaced_lease(
            lease_name(release), ns, _preload_content=False
        )
    except ApiException as e:
        if e.status == 404:
            return None
        raise
    found: dict[str, Any] = json.loads(resp.data)
    return found


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def lock(api: Any, ns: str, holder: str, **kw: Any) -> ReleaseLock:
    notes: list[str] = kw.pop("notes", [])
    kw.setdefault("renew_every", 3600)  # renewal is tested explicitly
    return ReleaseLock(api, "web", ns, holder, notify=notes.append, **kw)


def test_acquire_records_holder_and_release_deletes_the_lease(api: Any, namespace: str) -> None:
    with lock(api, namespace, "alice@laptop", operation="apply") as held:
        assert held.held
        lease = raw_lease(api, namespace)
        assert lease is not None
        assert lease["metadata"]["name"] == "kdeploy-lock.web"
        assert lease["spec"]["holderIdentity"] == "alice@laptop"
        assert lease["spec"]["leaseDurationSeconds"] == 30
        annotations = lease["metadata"]["annotations"]
        assert annotations[ANN_PID] == str(held.pid)
        assert annotations[ANN_HOST] == held.host
        assert annotations["kdeploy.dev/lock-operation"] == "apply"
        # MicroTime: always six fractional digits
        assert (
            "." in lease["spec"]["renewTime"]
            and len(lease["spec"]["renewTime"].split(".")[1].split("+")[0].rstrip("Z")) == 6
        )
    assert raw_lease(api, namespace) is None


def test_whole_second_clock_still_writes_a_fraction(api: Any, namespace: str) -> None:
    fixed = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
    with lock(api, namespace, "a@x", clock=lambda: fixed):
        lease = raw_lease(api, namespace)
        assert lease is not None
        assert lease["spec"]["acquireTime"].startswith("2026-11-23T12:00:00.000001")


def test_second_deployer_fails_at_once_naming_holder_since_and_expiry(
    api: Any, namespace: str
) -> None:
    first = lock(api, namespace, "alice@laptop", operation="apply")
    first.acquire()
    try:
        state = read_lock(api, "web", namespace)
        assert state is not None and state.acquired is not None
        second = lock(api, namespace, "bob@ci", sleep=lambda _s: pytest.fail("must not wait"))
        with pytest.raises(LockHeldError) as info:
            second.acquire()
        err = info.value
        assert err.exit_code == EXIT_LOCKED == 3
        text = err.format_message()
        assert f"release web in namespace {namespace} is locked by alice@laptop" in text
        assert f"pid {first.pid} on {first.host}, apply" in text
        assert f"since {format_time(state.acquired)}" in text
        expires = state.expires()
        assert expires is not None
        assert f"its lease expires at {format_time(expires)}" in text
        assert "--wait-for-lock" in text
        assert f"kdeploy unlock web -n {namespace} --force" in text
        assert not second.held
    finally:
        first.release()
    assert raw_lease(api, namespace) is None


def test_expired_lease_is_taken_over_and_the_old_holder_cannot_delete_it(
    api: Any, namespace: str
) -> None:
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    crashed = lock(api, namespace, "crashed@ci", clock=lambda: long_ago, host="elsewhere")
    crashed.acquire()
    notes: list[str] = []
    taker = lock(api, namespace, "bob@laptop", notes=notes)
    taker.acquire()
    assert taker.held
    assert len(notes) == 1
    assert "Took over the lock of release web" in notes[0]
    assert "from crashed@ci" in notes[0] and "its lease expired at" in notes[0]
    lease = raw_lease(api, namespace)
    assert lease is not None
    assert lease["spec"]["holderIdentity"] == "bob@laptop"
    assert lease["spec"]["leaseTransitions"] == 1
    # the crashed holder comes back and releases: the precondition protects the new holder
    crashed.release()
    lease = raw_lease(api, namespace)
    assert lease is not None and lease["spec"]["holderIdentity"] == "bob@laptop"
    taker.release()
    assert raw_lease(api, namespace) is None


def test_dead_process_on_the_same_machine_is_taken_over_at_once(api: Any, namespace: str) -> None:
    gone = dead_pid()
    orphan = lock(api, namespace, "alice@laptop", pid=gone, host="laptop")
    orphan.acquire()
    notes: list[str] = []
    again = lock(api, namespace, "alice@laptop", host="laptop", notes=notes)
    again.acquire()
    assert again.held
    assert f"its process {gone} on this machine is gone" in notes[0]
    again.release()


def test_dead_process_on_another_machine_is_not_taken_over(api: Any, namespace: str) -> None:
    orphan = lock(api, namespace, "alice@laptop", pid=dead_pid(), host="laptop")
    orphan.acquire()
    try:
        with pytest.raises(LockHeldError, match="locked by alice@laptop"):
            lock(api, namespace, "bob@desk", host="desk").acquire()
    finally:
        orphan.release()


def test_live_process_on_the_same_machine_keeps_the_lock(api: Any, namespace: str) -> None:
    # another running process of ours (the test runner's parent, alive) holds it
    import os

    other = lock(api, namespace, "alice@laptop", pid=os.getppid(), host="laptop")
    other.acquire()
    try:
        with pytest.raises(LockHeldError):
            lock(api, namespace, "alice@laptop", host="laptop").acquire()
    finally:
        other.release()


def test_wait_for_lock_waits_until_the_holder_releases(api: Any, namespace: str) -> None:
    first = lock(api, namespace, "alice@laptop")
    first.acquire()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            first.release()

    notes: list[str] = []
    second = lock(api, namespace, "bob@ci", wait=300, sleep=sleep, notes=notes)
    second.acquire()
    assert second.held
    assert len(sleeps) == 3
    assert sleeps == sorted(sleeps) and sleeps[0] < sleeps[-1]  # backoff
    # who holds it is said once, not at every poll
    assert len(notes) == 1
    assert "locked by alice@laptop" in notes[0] and "waiting up to 5m" in notes[0]
    lease = raw_lease(api, namespace)
    assert lease is not None and lease["spec"]["holderIdentity"] == "bob@ci"
    second.release()


def test_wait_for_lock_gives_up_at_the_deadline(api: Any, namespace: str) -> None:
    first = lock(api, namespace, "alice@laptop", duration=3600)
    first.acquire()
    now = [datetime.now(UTC)]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += timedelta(seconds=seconds)

    second = lock(api, namespace, "bob@ci", wait=20, clock=lambda: now[0], sleep=sleep)
    try:
        with pytest.raises(LockHeldError) as info:
            second.acquire()
        assert "(waited 20s with --wait-for-lock)" in info.value.format_message()
        assert info.value.exit_code == 3
        assert sum(slept) == pytest.approx(20, abs=0.01)
        assert max(slept) <= 5.0
    finally:
        first.release()


def test_waiting_takes_over_when_the_holder_stops_renewing(api: Any, namespace: str) -> None:
    start = datetime.now(UTC)
    now = [start]
    stale = lock(api, namespace, "crashed@ci", clock=lambda: start, host="elsewhere")
    stale.acquire()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += timedelta(seconds=seconds)

    notes: list[str] = []
    waiter = lock(
        api, namespace, "bob@ci", wait=300, clock=lambda: now[0], sleep=sleep, notes=notes
    )
    waiter.acquire()
    assert waiter.held
    # it polled until just after the 30 s lease ran out, not for the whole 5 minutes
    assert 30 <= sum(slept) <= 36
    assert "its lease expired at" in notes[-1]
    waiter.release()


def test_renew_moves_renew_time_and_notices_a_broken_lock(api: Any, namespace: str) -> None:
    times = iter(
        [datetime(2026, 11, 23, 12, 0, 0, 5, tzinfo=UTC)]
        + [datetime(2026, 11, 23, 12, 0, 10, 5, tzinfo=UTC)] * 10
    )
    notes: list[str] = []
    held = lock(api, namespace, "alice@laptop", clock=lambda: next(times), notes=notes)
    held.acquire()
    before = read_lock(api, "web", namespace)
    held.renew()
    after = read_lock(api, "web", namespace)
    assert before is not None and after is not None
    assert after.renewed is not None and before.renewed is not None
    assert (after.renewed - before.renewed).total_seconds() == pytest.approx(10)
    assert after.acquired == before.acquired
    assert break_lock(api, "web", namespace, after)
    held.renew()
    assert held.lost is not None and not held.held
    assert "lost the lock of release web" in notes[-1]
    held.release()  # nothing to delete, no error


def test_background_renewal_keeps_the_lease_fresh(api: Any, namespace: str) -> None:
    import time

    held = ReleaseLock(api, "web", namespace, "alice@laptop", renew_every=0.05)
    with held:
        first = read_lock(api, "web", namespace)
        assert first is not None
        deadline = time.monotonic() + 10
        latest = first
        while latest.resource_version == first.resource_version and time.monotonic() < deadline:
            time.sleep(0.05)
            again = read_lock(api, "web", namespace)
            assert again is not None
            latest = again
        assert latest.resource_version != first.resource_version
        assert latest.renewed is not None and first.renewed is not None
        assert latest.renewed > first.renewed
    assert read_lock(api, "web", namespace) is None


def test_released_on_exception_and_on_keyboard_interrupt(api: Any, namespace: str) -> None:
    with pytest.raises(RuntimeError), lock(api, namespace, "a@x"):
        assert raw_lease(api, namespace) is not None
        raise RuntimeError("boom")
    assert raw_lease(api, namespace) is None
    with pytest.raises(KeyboardInterrupt), lock(api, namespace, "a@x"):
        assert raw_lease(api, namespace) is not None
        raise KeyboardInterrupt
    assert raw_lease(api, namespace) is None


@pytest.mark.parametrize("when", ["before the thread starts", "after it started"])
def test_ctrl_c_while_the_renewal_thread_starts_releases_the_lease(
    api: Any, namespace: str, when: str
) -> None:
    """A Ctrl-C right after the Lease was created, as the renewal thread starts, used to end in
    "Internal error: RuntimeError: cannot join thread before it is started" (exit 70), or to
    leave the Lease behind. The signal is simulated where it can land in _start_renewing."""
    import threading

    class Interrupted(ReleaseLock):
        def _start_renewing(self) -> None:
            if when == "after it started":
                super()._start_renewing()
            else:  # the thread exists but the signal lands before start()
                self._thread = threading.Thread(target=lambda: None)
            raise KeyboardInterrupt

    held = Interrupted(api, "web", namespace, "a@x", renew_every=3600)
    with pytest.raises(KeyboardInterrupt):
        held.acquire()
    assert raw_lease(api, namespace) is None
    held.release()  # the command's own cleanup releasing again is harmless


def test_missing_namespace_defers_the_lock(api: Any) -> None:
    later = lock(api, "no-such-namespace-yet", "a@x")
    later.acquire()
    assert later.deferred and not later.held
    later.release()
    assert not later.deferred


def test_concurrent_acquisition_has_exactly_one_winner(api: Any, namespace: str) -> None:
    import threading

    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    locks = [lock(api, namespace, f"d{i}@x") for i in range(8)]

    def contend(one: ReleaseLock) -> None:
        barrier.wait()
        try:
            one.acquire()
            outcomes.append("won")
        except LockHeldError:
            outcomes.append("refused")

    threads = [threading.Thread(target=contend, args=(one,)) for one in locks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused"] * 7 + ["won"]
    winners = [one for one in locks if one.held]
    assert len(winners) == 1
    lease = raw_lease(api, namespace)
    assert lease is not None and lease["spec"]["holderIdentity"] == winners[0].holder
    winners[0].release()


def test_renewal_survives_transient_api_errors(api: Any, namespace: str, own_emulator: Any) -> None:
    import time

    from kdeploy.emulator.types import FaultRule

    own_emulator.add_fault(
        FaultRule(method="PATCH", path=f"/namespaces/{namespace}/leases/", status=503, times=2)
    )
    notes: list[str] = []
    held = ReleaseLock(api, "web", namespace, "alice@laptop", renew_every=0.05, notify=notes.append)
    try:
        with held:
            first = read_lock(api, "web", namespace)
            assert first is not None
            deadline = time.monotonic() + 10
            latest = first
            while latest.resource_version == first.resource_version:
                assert time.monotonic() < deadline, notes
                time.sleep(0.05)
                again = read_lock(api, "web", namespace)
                assert again is not None
                latest = again
            assert held.held and held.lost is None
    finally:
        own_emulator.clear_faults()
    warnings = [
        n for n in notes if n.startswith("warning: could not renew the lock of release web")
    ]
    # the two 503s are retried inside one renewal (kdeploy.kube.retry): nothing to warn about
    assert warnings == [], notes
    puts = [p for m, p in own_emulator.request_log if m == "PATCH" and f"/{namespace}/leases/" in p]
    assert len(puts) >= 3
    assert read_lock(api, "web", namespace) is None
