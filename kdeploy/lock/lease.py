"""The Lease protocol of the per-release lock: a coordination.k8s.io/v1 Lease `kdeploy-lock.<release>` in the release
namespace, held by one deployer for a whole apply, rollback or uninstall.

Why a Lease and not the release status: a status flag outlives a killed process and strands the
release; a Lease carries its own expiry (renewTime + leaseDurationSeconds), so a crashed holder
blocks others for at most one lease duration, and a holder on the same machine whose process is
gone is replaced at once (kdeploy.lock.holder says when a holder is provably gone).

Acquisition is race-free through the API server's optimistic concurrency: create (409
AlreadyExists: someone holds or held it, read it), or replace with the resourceVersion just read
(409 Conflict: someone else won, read again). Release deletes the Lease with a resourceVersion
precondition, so a lock that was taken over meanwhile is never deleted by its former holder.

Times are written with microseconds (the API server parses MicroTime with a fixed six-digit
fraction, and the client drops a zero fraction), see `_micro`.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from kdeploy.durations import format_duration
from kdeploy.errors import ClusterError, LockHeldError, LockLostError
from kdeploy.history.identity import format_time, utc_now
from kdeploy.kube.client import FIELD_MANAGER
from kdeploy.lock.holder import Machine, holder_process_gone, pid_alive, this_machine

LEASE_PREFIX = "kdeploy-lock."
ENV_LEASE_PREFIX = "kdeploy-env-lock."
DEFAULT_LEASE_SECONDS = 30
DEFAULT_WAIT_SECONDS = 300.0
ANN_PID = "kdeploy.dev/lock-pid"
ANN_HOST = "kdeploy.dev/lock-host"
ANN_TOKEN = "kdeploy.dev/lock-token"
ANN_OPERATION = "kdeploy.dev/lock-operation"
# where the holder's pid means something (kdeploy.lock.holder)
ANN_BOOT_ID = "kdeploy.dev/lock-boot-id"
ANN_PID_NAMESPACE = "kdeploy.dev/lock-pid-namespace"
LABEL_RELEASE = "kdeploy.dev/release"
LABEL_ENVIRONMENT = "kdeploy.dev/environment"
MANAGED_BY = "app.kubernetes.io/managed-by"
# Polling backoff while waiting for a held lock (seconds): first pause, longest pause.
POLL_FIRST = 0.5
POLL_MAX = 5.0


def lease_name(release: str) -> str:
    """The Lease name of `release`'s lock."""
    return f"{LEASE_PREFIX}{release}"


def environment_lease_name(environment: str) -> str:
    """The Lease name of environment `environment`'s lock (a valid object name whatever the
    environment file is called)."""
    safe = re.sub(r"[^a-z0-9.-]+", "-", environment.lower()).strip("-.") or "env"
    return f"{ENV_LEASE_PREFIX}{safe}"


# -- pure --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaseState:
    """What a Lease says about its holder (times are aware UTC; None when unset)."""

    holder: str
    acquired: datetime | None
    renewed: datetime | None
    duration: int
    pid: int | None
    host: str | None
    token: str | None
    operation: str | None
    resource_version: str
    transitions: int = 0
    boot_id: str | None = None
    pid_namespace: str | None = None

    @property
    def machine(self) -> Machine:
        """Where the holder ran (host name, boot id, PID namespace; unknown parts None)."""
        return Machine(self.host or "", self.boot_id, self.pid_namespace)

    def expires(self) -> datetime | None:
        """When the lease runs out unless renewed; None for a lease that was never renewed."""
        when = self.renewed or self.acquired
        return None if when is None else when + timedelta(seconds=self.duration)

    def expired(self, now: datetime) -> bool:
        """True when nobody holds the lease: released (empty holder), never timed, or timed out."""
        expires = self.expires()
        return not self.holder or expires is None or expires < now


def describe_holder(state: LeaseState) -> str:
    """`alice@laptop (pid 42 on laptop, apply)`: who holds the lease and, when known, where."""
    extra = []
    if state.pid is not None and state.host:
        extra.append(f"pid {state.pid} on {state.host}")
    if state.operation:
        extra.append(state.operation)
    return state.holder + (f" ({', '.join(extra)})" if extra else "")


def held_message(
    release: str,
    namespace: str,
    state: LeaseState,
    now: datetime,
    *,
    lock: ReleaseLock | None = None,
) -> str:
    """The one-line explanation of a held lock: holder, since when, when the lease expires."""
    since = format_time(state.acquired) if state.acquired else "an unknown time"
    expires = state.expires()
    until = (
        f"its lease expires at {format_time(expires)} (in {format_duration(max(0.0, (expires - now).total_seconds()))}) "
        "unless the holder renews it"
        if expires
        else "its lease has no expiry"
    )
    return (
        f"{lock.subject if lock else f'release {release}'} in namespace {namespace} is locked by "
        f"{describe_holder(state)} since {since}; {until} "
        f"(Lease {namespace}/{lock.name if lock else lease_name(release)})"
    )


def held_hint(release: str, namespace: str, *, lock: ReleaseLock | None = None) -> str:
    """What to do about a held lock."""
    breaking = (
        f"kubectl delete lease {lock.name} -n {namespace}"
        if lock is not None and lock.kind == "environment"
        else f"kdeploy unlock {release} -n {namespace} --force"
    )
    return (
        f"wait for it with --wait-for-lock (default 5m, or e.g. --wait-for-lock=10m); if the holder "
        f"is gone for good, break the lock: {breaking}"
    )


def _micro(when: datetime) -> datetime:
    # The client serializes with isoformat(), which drops a zero fraction; the API server's MicroTime
    # parser needs exactly six digits, so never send microsecond 0.
    when = when.astimezone(UTC)
    return when.replace(microsecond=1) if when.microsecond == 0 else when


# -- the lock over the API ---------------------------------------------------------------------


class _Missing(Exception):
    """The Lease (or its namespace) does not exist."""


class _Clash(Exception):
    """409: AlreadyExists on create, Conflict on replace or delete."""


class ReleaseLock:
    """The lock of one release. Use as a context manager, or `acquire()` / `release()`.

    `holder` is the identity shown to others (user@host or the CI job). `wait` is how long
    `acquire` waits for a held lock (None: fail at once with LockHeldError), polling with a
    backoff from `poll[0]` to `poll[1]` seconds (re-reading soon after the lease would expire,
    and stopping at the deadline). `notify` receives
    human-readable lines (stderr). `clock` and `sleep` are injected for tests; `pid`, `machine`
    (default: this one; `host` overrides its host name) and `alive` tell whether a holder on this
    machine still runs. When the namespace does not exist
    yet, `acquire` leaves the lock `deferred` (nobody can have deployed there); call `acquire`
    again once the namespace has been created."""

    def __init__(
        self,
        api_client: Any,
        release: str,
        namespace: str,
        holder: str,
        *,
        operation: str = "",
        duration: int = DEFAULT_LEASE_SECONDS,
        renew_every: float | None = None,
        wait: float | None = None,
        poll: tuple[float, float] = (POLL_FIRST, POLL_MAX),
        notify: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        pid: int | None = None,
        host: str | None = None,
        alive: Callable[[int], bool] = pid_alive,
        machine: Machine | None = None,
        token: str | None = None,
        verify_after: float | None = None,
        kind: Literal["release", "environment"] = "release",
    ) -> None:
        self.api_client = api_client
        # `release` is the environment's name for an environment lock
        self.release_name = release
        self.kind = kind
        self.namespace = namespace
        self.holder = holder
        self.operation = operation
        self.duration = duration
        self.renew_every = renew_every
        self.wait = wait
        self.poll = poll
        self.notify: Callable[[str], None] = notify or (lambda _text: None)
        self.clock = clock
        self.sleep = sleep
        self.pid = os.getpid() if pid is None else pid
        machine = machine or this_machine()
        self.machine = (
            machine if host is None else Machine(host, machine.boot_id, machine.pid_namespace)
        )
        self.alive = alive
        self.token = token or uuid.uuid4().hex
        self.verify_after = verify_after
        self.deferred = False
        self.lost: str | None = None
        # who took the lock from us (None: the Lease was deleted) and when we noticed
        self.lost_to: LeaseState | None = None
        self.lost_at: datetime | None = None
        self._renewed_at: datetime | None = None
        self._rv: str | None = None
        self._acquired_at: datetime | None = None
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        if self.kind == "environment":
            return environment_lease_name(self.release_name)
        return lease_name(self.release_name)

    @property
    def subject(self) -> str:
        """What is locked, in words: `release web` or `environment prod`."""
        return f"{self.kind} {self.release_name}"

    @property
    def host(self) -> str:
        """The host name recorded as ours."""
        return self.machine.host

    @property
    def held(self) -> bool:
        """True while this instance holds the Lease."""
        return self._rv is not None

    def __enter__(self) -> ReleaseLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- acquire

    def acquire(self) -> None:
        """Take the lock: create the Lease, or take over a released, expired or orphaned one, and
        start renewing it in the background. Leaves the lock `deferred` when the namespace does
        not exist. Raises LockHeldError (exit 3) when another deployer holds it (after waiting up
        to `wait` seconds, if given), ClusterError when the API server refuses."""
        if self.held:
            return
        try:
            self._acquire()
        except BaseException:
            # e.g. Ctrl-C or SIGTERM between our create and the return: never leave our own
            # lease behind, even when the answer to our create or replace never reached us
            if self.held:
                self.release()
            else:
                self._drop_if_ours()
            raise
        if self.held:
            try:
                self._start_renewing()
            except BaseException:
                # Ctrl-C while the renewal thread starts: the Lease is ours, so delete it
                self.release()
                raise

    def _drop_if_ours(self) -> None:
        """Delete the Lease when it carries our token although we never saw our write succeed."""
        try:
            state = _state_of(self._read())
        except (_Missing, _Clash, ClusterError):
            return
        if state.token == self.token:
            with self._guard:
                self._rv = state.resource_version
            self.release()

    def _acquire(self) -> None:
        deadline = None if self.wait is None else self.clock() + timedelta(seconds=self.wait)
        delay, longest = self.poll
        announced: str | None = None
        while True:
            state = self._try_take()
            if state is None:
                return
            now = self.clock()
            if deadline is None or now >= deadline:
                waited = (
                    f" (waited {format_duration(self.wait)} with --wait-for-lock)"
                    if self.wait
                    else ""
                )
                raise LockHeldError(
                    held_message(self.release_name, self.namespace, state, now, lock=self) + waited,
                    hint=held_hint(self.release_name, self.namespace, lock=self),
                )
            if announced != state.token:
                left = (
                    f"up to {format_duration(self.wait or 0)}"
                    if announced is None
                    else f"{format_duration((deadline - now).total_seconds())} more"
                )
                announced = state.token
                self.notify(
                    held_message(self.release_name, self.namespace, state, now, lock=self)
                    + f"; waiting {left} (--wait-for-lock)"
                )
            pause = min(delay, (deadline - now).total_seconds())
            expires = state.expires()
            if expires is not None and expires > now:
                # no point polling much after the lease runs out
                pause = min(pause, (expires - now).total_seconds() + 0.05)
            self.sleep(max(0.01, pause))
            delay = min(delay * 1.5, longest)

    def _try_take(self) -> LeaseState | None:
        """One attempt. Returns None when the lock is now ours (or deferred), else the holder's
        state."""
        while True:
            now = self.clock()
            try:
                created = self._create(now)
            except _Missing:
                self.deferred = True
                return None
            except _Clash:
                pass
            else:
                self._won(created, now)
                return None
            try:
                lease = self._read()
            except _Missing:
                continue  # released between our create and read: try again
            state = _state_of(lease)
            reason = self._takeover_reason(state, now)
            if reason is None:
                return state
            try:
                replaced = self._replace_for_takeover(lease, state, now)
            except (_Clash, _Missing):
                continue  # someone else moved first: look again
            if reason != "released":
                self.notify(
                    f"Took over the lock of {self.subject} in namespace {self.namespace} "
                    f"from {describe_holder(state)}: {reason}."
                )
            self._won(replaced, now)
            return None

    def _takeover_reason(self, state: LeaseState, now: datetime) -> str | None:
        if not state.holder:
            return "released"
        if state.token == self.token:
            return "already ours"
        if holder_process_gone(state.machine, state.pid, self.machine, self.pid, self.alive):
            return f"its process {state.pid} on this machine is gone"
        if state.expired(now):
            expires = state.expires()
            when = format_time(expires) if expires else "long ago"
            return f"its lease expired at {when} (the holder stopped renewing it)"
        return None

    def _won(self, lease: Any, now: datetime) -> None:
        with self._guard:
            self._rv = str(lease.metadata.resource_version)
        self._acquired_at = now
        self._renewed_at = now
        self.deferred = False
        self.lost = None
        self.lost_to = None
        self.lost_at = None

    # -- renew

    def _start_renewing(self) -> None:
        every = self.renew_every or max(1.0, self.duration / 4)
        self._stop.clear()
        thread = threading.Thread(
            target=self._renew_loop, args=(every,), name=f"lock-{self.release_name}", daemon=True
        )
        # Started before it is recorded: a Ctrl-C between the two lines must not leave release()
        # a thread that was never started (join() would raise RuntimeError, an internal error).
        # A started but unrecorded thread still stops: it waits on the _stop that release() sets.
        thread.start()
        self._thread = thread

    def _renew_loop(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.renew()
            except Exception as e:
                # Transient (or unexpected): the next tick tries again, and the lease only lapses
                # after `duration`; a dying renewal thread would silently hand the lock to others.
                self.notify(f"warning: could not renew the lock of {self.subject}: {e}")
            if self.lost is not None:
                return

    def renew(self) -> None:
        """Push renewTime forward. Sets `lost` (and says so) when the Lease was deleted or taken
        over meanwhile. Raises ClusterError for other API failures."""
        with self._guard:
            rv = self._rv
            if rv is None:
                return
            now = self.clock()
            lease = self._body(now, acquired=self._acquired_at or now, rv=rv, transitions=None)
            try:
                # A PATCH, not a PUT: the API server re-creates a missing Lease on PUT (Leases
                # allow create-on-update), which would resurrect a lock broken by unlock --force.
                done = self._call(
                    lambda api: api.patch_namespaced_lease(
                        self.name, self.namespace, lease, field_manager=FIELD_MANAGER
                    ),
                    "renew",
                )
            except _Clash:
                # a repeated replace whose first attempt went through: the Lease is still ours
                done, other = self._ours_after_clash()
            except _Missing:
                done, other = None, None
            if done is not None:
                self._rv = str(done.metadata.resource_version)
                self._renewed_at = now
                return
            self._rv = None
            self.lost_to = other
            self.lost_at = now
        self.lost = (
            f"it was taken over by {describe_holder(other)}"
            if other is not None
            else "the Lease was deleted (kdeploy unlock --force?)"
        )
        self.notify(
            f"warning: lost the lock of {self.subject} in namespace {self.namespace}: {self.lost}"
        )

    def _ours_after_clash(self) -> tuple[Any, LeaseState | None]:
        """(the Lease, None) when it still carries our token (our own write won), else (None, the
        new holder's state, or None when the Lease is gone)."""
        try:
            lease = self._read()
        except _Missing:
            return None, None
        state = _state_of(lease)
        return (lease, None) if state.token == self.token else (None, state)

    # -- check

    def check(self, stage: str) -> None:
        """Raise LockLostError when the lock is no longer ours, saying we stopped before `stage`.

        Costs no request when the lease was renewed less than `verify_after` seconds ago
        (default: a tenth of the lease, at least 1 s): then only `kdeploy unlock --force` can
        have taken it, and the background renewal notices that soon. Otherwise renew now, which
        finds out whether the lease was deleted or taken over, e.g. after the process was paused
        (a suspended laptop, a stopped CI runner) longer than the lease. A lock that expired but
        that nobody took is simply ours again."""
        if self.lost is None and self.held and self._stale():
            try:
                self.renew()
            except ClusterError as e:
                if not self._may_have_expired():
                    return  # unconfirmed, but nobody can have taken an unexpired lease
                # cannot tell: carrying on could interleave with a new holder, so stop
                raise LockLostError(
                    f"cannot confirm the {self.kind} lock of {self.subject} in "
                    f"namespace {self.namespace} is still ours: {e.message}; stopped before {stage}",
                    hint="run the command again once the API server answers",
                ) from e
        if self.lost is not None:
            raise LockLostError(lost_message(self, stage))

    def _may_have_expired(self) -> bool:
        renewed = self._renewed_at
        return renewed is None or (self.clock() - renewed).total_seconds() >= self.duration

    def _stale(self) -> bool:
        renewed = self._renewed_at
        if renewed is None:
            return False
        limit = self.verify_after
        if limit is None:
            limit = max(1.0, self.duration / 10)
        return (self.clock() - renewed).total_seconds() > limit

    # -- release

    def release(self) -> None:
        """Stop renewing and delete the Lease if it is still ours. Never raises for API failures
        (the lease then simply expires); says so through `notify`."""
        self._stop.set()
        thread = self._thread
        if (
            thread is not None
            and thread.ident is not None
            and thread is not threading.current_thread()
        ):
            thread.join()
        self._thread = None
        with self._guard:
            rv = self._rv
            self._rv = None
        self.deferred = False
        if rv is None:
            return
        from kubernetes import client

        options = client.V1DeleteOptions(preconditions=client.V1Preconditions(resource_version=rv))
        try:
            self._call(
                lambda api: api.delete_namespaced_lease(self.name, self.namespace, body=options),
                "release",
            )
        except (_Clash, _Missing):
            pass  # taken over or broken meanwhile: not ours to delete
        except ClusterError as e:
            self.notify(
                f"warning: could not release the lock of {self.subject}: {e}; it expires "
                f"by itself within {self.duration}s"
            )

    # -- API calls

    def _create(self, now: datetime) -> Any:
        body = self._body(now, acquired=now, rv=None, transitions=0)
        return self._call(
            lambda api: api.create_namespaced_lease(
                self.namespace, body, field_manager=FIELD_MANAGER
            ),
            "acquire",
        )

    def _read(self) -> Any:
        return self._call(lambda api: api.read_namespaced_lease(self.name, self.namespace), "read")

    def _replace_for_takeover(self, lease: Any, state: LeaseState, now: datetime) -> Any:
        transitions = state.transitions + (0 if state.token == self.token else 1)
        body = self._body(now, acquired=now, rv=state.resource_version, transitions=transitions)
        return self._call(
            lambda api: api.replace_namespaced_lease(
                self.name, self.namespace, body, field_manager=FIELD_MANAGER
            ),
            "acquire",
        )

    def _body(
        self, now: datetime, *, acquired: datetime, rv: str | None, transitions: int | None
    ) -> Any:
        from kubernetes import client

        spec = client.V1LeaseSpec(
            holder_identity=self.holder,
            lease_duration_seconds=self.duration,
            acquire_time=_micro(acquired),
            renew_time=_micro(now),
            lease_transitions=transitions,
        )
        annotations = {ANN_PID: str(self.pid), ANN_HOST: self.machine.host, ANN_TOKEN: self.token}
        if self.machine.boot_id:
            annotations[ANN_BOOT_ID] = self.machine.boot_id
        if self.machine.pid_namespace:
            annotations[ANN_PID_NAMESPACE] = self.machine.pid_namespace
        if self.operation:
            annotations[ANN_OPERATION] = self.operation
        meta = client.V1ObjectMeta(
            name=self.name,
            namespace=self.namespace,
            resource_version=rv,
            labels={
                MANAGED_BY: "kdeploy",
                LABEL_ENVIRONMENT
                if self.kind == "environment"
                else LABEL_RELEASE: self.release_name,
            },
            annotations=annotations,
        )
        return client.V1Lease(
            api_version="coordination.k8s.io/v1", kind="Lease", metadata=meta, spec=spec
        )

    def _call(self, fn: Callable[[Any], Any], what: str) -> Any:
        return call_lease_api(self.api_client, fn, what, self.namespace, self.name)


def call_lease_api(
    api_client: Any, fn: Callable[[Any], Any], what: str, namespace: str, name: str
) -> Any:
    """Run `fn(CoordinationV1Api)`, repeating transient failures (kdeploy.kube.retry). Raises
    _Missing for 404, _Clash for 409 and ClusterError for other failures, naming the Lease.

    Every Lease write is safe to repeat: a create that already happened answers 409 and the
    caller reads the Lease (finding its own token), a replace carries a resourceVersion (a repeat
    answers 409, see `renew`), a delete that already happened answers 404."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    from kdeploy.kube.client import error_from_status
    from kdeploy.kube.retry import Retrier

    api = client.CoordinationV1Api(api_client)
    try:
        return Retrier().run(
            lambda: fn(api), what=f"{what} the lock Lease {namespace}/{name}", idempotent=True
        )
    except ApiException as e:
        if e.status == 404:
            raise _Missing() from e
        if e.status == 409:
            raise _Clash() from e
        try:
            status = json.loads(e.body) if e.body else None
        except ValueError:
            status = None
        raise error_from_status(
            status,
            int(e.status or 0),
            action=f"{what} the lock",
            target=f"Lease {namespace}/{name}",
        ) from e
    except HTTPError as e:
        host = api_client.configuration.host
        raise ClusterError(
            f"cannot {what} the lock Lease {namespace}/{name}: the API server at {host} is "
            f"unreachable: {e}"
        ) from e


def lost_message(lock: ReleaseLock, stage: str) -> str:
    """`lost the release lock of release web in namespace prod to bob@ci (pid 7 on ci-3, apply)
    at 2026-01-01T12:00:00Z; stopped before <stage>`: what an operation that lost its lock says.
    The time is when the new holder took the Lease, or when we found it deleted."""
    where = f"the {lock.kind} lock of {lock.subject} in namespace {lock.namespace}"
    other = lock.lost_to
    when = (other.acquired if other is not None else None) or lock.lost_at
    at = f" at {format_time(when)}" if when is not None else ""
    if other is not None:
        return f"lost {where} to {describe_holder(other)}{at}; stopped before {stage}"
    return (
        f"lost {where}{at}: its Lease was deleted (kdeploy unlock --force?); stopped before {stage}"
    )


def _state_of(lease: Any) -> LeaseState:
    spec = lease.spec
    annotations = lease.metadata.annotations or {}
    pid_text = annotations.get(ANN_PID)
    return LeaseState(
        holder=(spec.holder_identity if spec else None) or "",
        acquired=_aware(spec.acquire_time) if spec else None,
        renewed=_aware(spec.renew_time) if spec else None,
        duration=int((spec.lease_duration_seconds if spec else None) or DEFAULT_LEASE_SECONDS),
        pid=int(pid_text) if pid_text and pid_text.isdigit() else None,
        host=annotations.get(ANN_HOST),
        token=annotations.get(ANN_TOKEN),
        operation=annotations.get(ANN_OPERATION),
        resource_version=str(lease.metadata.resource_version),
        transitions=int((spec.lease_transitions if spec else None) or 0),
        boot_id=annotations.get(ANN_BOOT_ID),
        pid_namespace=annotations.get(ANN_PID_NAMESPACE),
    )


def _aware(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def read_lock(api_client: Any, release: str, namespace: str) -> LeaseState | None:
    """The current state of `release`'s lock, or None when there is no Lease (or no namespace).
    Raises ClusterError."""
    name = lease_name(release)
    try:
        lease = call_lease_api(
            api_client,
            lambda api: api.read_namespaced_lease(name, namespace),
            "read",
            namespace,
            name,
        )
    except _Missing:
        return None
    return _state_of(lease)


def break_lock(api_client: Any, release: str, namespace: str, state: LeaseState) -> bool:
    """Delete the lock Lease as `state` described it (resourceVersion precondition, so a lock
    that changed hands meanwhile is not broken blindly). Returns False when it no longer exists.
    Raises LockHeldError when it changed meanwhile, ClusterError for API failures."""
    from kubernetes import client

    name = lease_name(release)
    options = client.V1DeleteOptions(
        preconditions=client.V1Preconditions(resource_version=state.resource_version)
    )
    try:
        call_lease_api(
            api_client,
            lambda api: api.delete_namespaced_lease(name, namespace, body=options),
            "break",
            namespace,
            name,
        )
    except _Missing:
        return False
    except _Clash:
        raise LockHeldError(
            f"the lock of release {release} in namespace {namespace} changed while breaking it "
            "(renewed or taken by another deployer); nothing was deleted",
            hint="run the command again to see the current holder",
        ) from None
    return True
