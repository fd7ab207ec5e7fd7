"""Locker strategies: how actions hold release locks (Deps.locks). `LeaseLocker` takes a Lease per
release, and one per environment around a whole apply (kdeploy.lock.lease); `NoLocks` and
`AlreadyHeld` take none."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from kdeploy.lock.lease import DEFAULT_LEASE_SECONDS, POLL_FIRST, POLL_MAX, ReleaseLock


class Locker(Protocol):
    """Hands out release locks to actions (Deps.locks)."""

    def hold(self, release: str, namespace: str) -> AbstractContextManager[None]:
        """Hold `release`'s lock for the `with` block; raises LockHeldError when held."""
        ...

    def ensure(self, release: str, namespace: str) -> None:
        """Take a lock that `hold` deferred because the namespace did not exist (call after
        creating it). Raises LockHeldError when another deployer got it first."""
        ...

    def check(self, release: str, namespace: str, stage: str) -> None:
        """Raise LockLostError when the held lock of `release` was broken or taken over (the
        message says the operation stopped before `stage`); call before every write batch."""
        ...

    def hold_environment(self, environment: str, namespace: str) -> AbstractContextManager[None]:
        """Hold the lock of a whole environment (stored in `namespace`) for the `with` block,
        taken before any of its release locks; raises LockHeldError when held."""
        ...


class NoLocks:
    """A Locker that locks nothing (action tests with an in-memory cluster)."""

    @contextmanager
    def hold(self, release: str, namespace: str) -> Iterator[None]:
        yield

    def ensure(self, release: str, namespace: str) -> None:
        """Nothing to take."""

    def check(self, release: str, namespace: str, stage: str) -> None:
        """Nothing can be lost."""

    @contextmanager
    def hold_environment(self, environment: str, namespace: str) -> Iterator[None]:
        yield


@dataclass
class AlreadyHeld:
    """A Locker for an action nested in one that holds the lock (apply --atomic rolling back):
    takes nothing, but still checks the outer operation's lock."""

    outer: Locker

    @contextmanager
    def hold(self, release: str, namespace: str) -> Iterator[None]:
        yield

    def ensure(self, release: str, namespace: str) -> None:
        """Nothing to take: the outer operation holds the lock."""

    def check(self, release: str, namespace: str, stage: str) -> None:
        self.outer.check(release, namespace, stage)

    @contextmanager
    def hold_environment(self, environment: str, namespace: str) -> Iterator[None]:
        yield


@dataclass
class LeaseLocker:
    """Locks releases with Leases on one cluster, for one kind of operation."""

    api_client: Any
    holder: str
    operation: str = ""
    wait: float | None = None
    notify: Callable[[str], None] = lambda _text: None
    duration: int = DEFAULT_LEASE_SECONDS
    poll: tuple[float, float] = (POLL_FIRST, POLL_MAX)
    _held: dict[tuple[str, str], ReleaseLock] = field(default_factory=dict, init=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, init=False)

    def _lock(
        self, name: str, namespace: str, kind: Literal["release", "environment"]
    ) -> ReleaseLock:
        return ReleaseLock(
            self.api_client,
            name,
            namespace,
            self.holder,
            operation=self.operation,
            duration=self.duration,
            wait=self.wait,
            poll=self.poll,
            notify=self.notify,
            kind=kind,
        )

    @contextmanager
    def hold_environment(self, environment: str, namespace: str) -> Iterator[None]:
        """The environment's Lease, waited for like a release lock. When `namespace` does not
        exist yet, nothing of its release was deployed and nothing is held: the release locks
        still serialise each release."""
        lock = self._lock(environment, namespace, "environment")
        try:
            lock.acquire()
            yield
        finally:
            lock.release()

    @contextmanager
    def hold(self, release: str, namespace: str) -> Iterator[None]:
        lock = self._lock(release, namespace, "release")
        try:
            lock.acquire()
            with self._guard:
                self._held[(namespace, release)] = lock
            yield
        finally:
            with self._guard:
                self._held.pop((namespace, release), None)
            lock.release()

    def ensure(self, release: str, namespace: str) -> None:
        with self._guard:
            lock = self._held.get((namespace, release))
        if lock is not None and lock.deferred:
            lock.acquire()

    def check(self, release: str, namespace: str, stage: str) -> None:
        with self._guard:
            lock = self._held.get((namespace, release))
        if lock is not None:
            lock.check(stage)
