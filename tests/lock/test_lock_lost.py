"""ReleaseLock.check over the emulator: a deployer finds out before its next write that its lock
was broken (unlock --force) or taken over after it was paused longer than the lease."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kdeploy.errors import EXIT_LOCKED, LockLostError
from kdeploy.history.identity import format_time
from kdeploy.lock import LeaseLocker, ReleaseLock, break_lock, read_lock


@pytest.fixture
def api(emulator: Any) -> Iterator[Any]:
    from kdeploy.kube.config import ClusterTarget, new_api_client

    client = new_api_client(ClusterTarget(kubeconfig=str(emulator.kubeconfig_path)))
    yield client
    client.close()


class Clock:
    """A clock the test moves by hand (the lock's own notion of time)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def lock(api: Any, ns: str, holder: str, clock: Clock | None = None, **kw: Any) -> ReleaseLock:
    if clock is not None:
        kw["clock"] = clock
    return ReleaseLock(api, "web", ns, holder, renew_every=3600, host="elsewhere", **kw)


def test_paused_holder_finds_the_takeover_before_its_next_write(api: Any, namespace: str) -> None:
    clock = Clock(datetime.now(UTC) - timedelta(minutes=5))
    paused = lock(api, namespace, "alice@laptop", clock)
    paused.acquire()
    taker = lock(api, namespace, "bob@ci", operation="apply")
    taker.acquire()  # alice's lease expired long ago
    taken = read_lock(api, "web", namespace)
    assert taken is not None and taken.acquired is not None
    clock.now = datetime.now(UTC)  # alice's process wakes up
    with pytest.raises(LockLostError) as caught:
        paused.check("applying phase 'workloads'")
    assert caught.value.exit_code == EXIT_LOCKED
    assert caught.value.message == (
        f"lost the release lock of release web in namespace {namespace} to bob@ci "
        f"(pid {taker.pid} on elsewhere, apply) at {format_time(taken.acquired)}; "
        "stopped before applying phase 'workloads'"
    )
    # the new holder's lease was not touched
    assert read_lock(api, "web", namespace) == taken
    paused.release()
    assert read_lock(api, "web", namespace) == taken
    taker.release()


def test_broken_lock_is_found_by_the_check(api: Any, namespace: str) -> None:
    start = datetime.now(UTC)
    clock = Clock(start)
    held = lock(api, namespace, "alice@laptop", clock, verify_after=2)
    held.acquire()
    state = read_lock(api, "web", namespace)
    assert state is not None and break_lock(api, "web", namespace, state)
    held.check("applying phase 'services'")  # renewed just now: no request, not noticed yet
    clock.now = start + timedelta(seconds=3)
    with pytest.raises(LockLostError) as caught:
        held.check("applying phase 'services'")
    assert caught.value.message == (
        f"lost the release lock of release web in namespace {namespace} at "
        f"{format_time(clock.now)}: its Lease was deleted (kdeploy unlock --force?); "
        "stopped before applying phase 'services'"
    )
    assert read_lock(api, "web", namespace) is None  # PATCH never re-creates a broken lock
    held.release()


def test_expired_lease_nobody_took_is_still_ours(api: Any, namespace: str) -> None:
    clock = Clock(datetime.now(UTC) - timedelta(minutes=5))
    held = lock(api, namespace, "alice@laptop", clock)
    held.acquire()
    clock.now = datetime.now(UTC)
    held.check("pruning phase 'workloads'")
    state = read_lock(api, "web", namespace)
    assert state is not None and state.renewed is not None
    assert state.holder == "alice@laptop"
    assert abs((state.renewed - clock.now).total_seconds()) < 1
    held.release()
    assert read_lock(api, "web", namespace) is None


def test_locker_checks_the_lock_it_holds(api: Any, namespace: str) -> None:
    locks = LeaseLocker(api, "alice@laptop", operation="apply")
    with locks.hold("web", namespace):
        locks.check("web", namespace, "applying phase 'configuration'")
        state = read_lock(api, "web", namespace)
        assert state is not None and break_lock(api, "web", namespace, state)
        # the background renewal (or a later check) notices; force it now
        held = next(iter(locks._held.values()))
        held.renew()
        with pytest.raises(LockLostError, match="its Lease was deleted"):
            locks.check("web", namespace, "applying phase 'configuration'")
    locks.check("other", namespace, "anything")  # not held here: nothing to check
