"""Contracts shared by the emulator's parts: the store as seen by controllers, and the knobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

Obj = dict[str, Any]


@dataclass(frozen=True)
class ControllerKnobs:
    """Simulated-controller behaviour. Image patterns are substrings of a container image reference."""

    ready_delay: float = 1.0
    never_ready_pattern: str = "never-ready"
    crashloop_pattern: str = "crashloop"
    job_fail_pattern: str = "job-fails"
    # How long a Job with a normal image takes to complete.
    job_duration: float = 1.0


class StoreAPI(Protocol):
    """What simulated controllers may do to the store. Every call is atomic and thread-safe; objects
    passed in and returned are deep copies, never the stored instances, except those from
    `peek_objects` and `changes_since`: stored instances handed out to be read, never modified.

    `peek_objects` and `changes_since` are optional: a store without them gets a full controller
    pass over copies of every object after each change; with them, a pass reads only what changed
    since the previous one."""

    def list_objects(self, group: str, kind: str, namespace: str | None = None) -> list[Obj]:
        """All live objects of a kind (group '' for core), optionally in one namespace."""
        ...

    def get_object(self, group: str, kind: str, namespace: str, name: str) -> Obj | None:
        """One object, or None."""
        ...

    def peek_objects(self, group: str, kind: str) -> list[Obj]:
        """Optional. All live objects of a kind, sorted by namespace and name: the stored
        instances (read only)."""
        ...

    def changes_since(self, rv: int | None) -> tuple[int, list[tuple[str, Obj]] | None]:
        """Optional. The current resourceVersion, and the changes after resourceVersion `rv` in
        order as (ADDED | MODIFIED | DELETED, object) pairs: the state after the change, for
        DELETED the last state (read only). The list is None when `rv` is None or older than
        the retained history: the caller must re-read everything with `peek_objects`."""
        ...

    def system_create(self, obj: Obj) -> Obj:
        """Create as a controller would: assigns uid, resourceVersion, creationTimestamp, generation;
        emits an ADDED watch event. Raises KeyError if it already exists."""
        ...

    def system_update(self, obj: Obj) -> Obj:
        """Replace an object (spec, metadata and status) as a controller would; bumps
        resourceVersion, emits MODIFIED. Returns the stored copy. No-op (no event) if unchanged."""
        ...

    def system_delete(self, group: str, kind: str, namespace: str, name: str) -> None:
        """Remove an object at once (emits DELETED); no error if absent."""
        ...

    def record_event(
        self, involved: Obj, reason: str, message: str, event_type: str = "Normal"
    ) -> None:
        """Create or bump (count/lastTimestamp) a core/v1 Event about `involved`."""
        ...


Clock = Callable[[], float]


@dataclass
class FaultRule:
    """Fault injection: requests matching method (or '*'), a path regex, and count window
    get `action`: 'status' (return `status` code, with Retry-After for 429), 'latency' (sleep `delay`
    seconds then serve normally), 'drop' (close the connection without a response), 'drop-after'
    (process the request, then close the connection before the answer is sent), 'kill' (SIGKILL
    process `pid` before the request is processed) or 'kill-after' (process the request, then
    SIGKILL `pid` before it sees the answer): crash tests of a client at an exact request."""

    method: str = "*"
    path: str = ".*"
    action: str = "status"
    status: int = 500
    retry_after: int | None = None
    delay: float = 0.0
    # Apply to the `skip`+1-th matching request and the `times`-1 after it; times=None: forever.
    skip: int = 0
    times: int | None = 1
    # The client process the kill actions end (the emulator must be allowed to signal it).
    pid: int | None = None
    seen: int = field(default=0, compare=False)
