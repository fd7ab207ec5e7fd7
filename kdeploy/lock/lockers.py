"""Locker strategies: how actions hold release locks (Deps.locks). `LeaseLocker` takes a Lease per
release (kdeploy.lock.lease); `NoLocks` and `AlreadyHeld` take none."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

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


class NoLocks:
    """A Locker that locks nothing (action tests with an in-memory cluster)."""

    @contextmanager
    def hold(self, release: str, namespace: str) -> Iterator[None]:
        yield

    def ensure(self, release: str, namespace: str) -> None:
        """Nothing to take."""

    def check(self, release: str, namespace: str, stage: str) -> None:
        """Nothing can be lost."""


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

    @contextmanager
    def hold(self, release: str, namespace: str) -> Iterator[None]:
        lock = ReleaseLock(
            self.api_client,
            release,
            namespace,
            self.holder,
            operation=self.operation,
            duration=self.duration,
            wait=self.wait,
            poll=self.poll,
            notify=self.notify,
        )
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
