"""Release locks: a coordination.k8s.io/v1 Lease per release, held for a whole apply, rollback or
uninstall (see docs/locking.md).

- kdeploy.lock.lease: the Lease protocol (acquire, renew, check, release, read, break);
- kdeploy.lock.holder: holder liveness (when a holder is provably gone before its lease expires);
- kdeploy.lock.lockers: how actions hold locks (Locker, LeaseLocker, NoLocks, AlreadyHeld).
"""

from kdeploy.lock.holder import Machine, holder_process_gone, pid_alive, this_machine
from kdeploy.lock.lease import (
    ANN_BOOT_ID,
    ANN_HOST,
    ANN_OPERATION,
    ANN_PID,
    ANN_PID_NAMESPACE,
    ANN_TOKEN,
    DEFAULT_LEASE_SECONDS,
    DEFAULT_WAIT_SECONDS,
    ENV_LEASE_PREFIX,
    LEASE_PREFIX,
    LeaseState,
    ReleaseLock,
    break_lock,
    call_lease_api,
    describe_holder,
    held_hint,
    held_message,
    lease_name,
    lost_message,
    read_lock,
)
from kdeploy.lock.lockers import AlreadyHeld, LeaseLocker, Locker, NoLocks

__all__ = [
    "ANN_BOOT_ID",
    "ANN_HOST",
    "ANN_OPERATION",
    "ANN_PID",
    "ANN_PID_NAMESPACE",
    "ANN_TOKEN",
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_WAIT_SECONDS",
    "ENV_LEASE_PREFIX",
    "LEASE_PREFIX",
    "AlreadyHeld",
    "LeaseLocker",
    "LeaseState",
    "Locker",
    "Machine",
    "NoLocks",
    "ReleaseLock",
    "break_lock",
    "call_lease_api",
    "describe_holder",
    "held_hint",
    "held_message",
    "holder_process_gone",
    "lease_name",
    "lost_message",
    "pid_alive",
    "read_lock",
    "this_machine",
]
