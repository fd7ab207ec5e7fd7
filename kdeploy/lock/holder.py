"""Holder liveness: whether the process that holds a lock is known to be gone, so the lock may be
taken over before its lease expires.

A process id means something only on one running kernel and inside one PID namespace. A host name
does not pin either down: host-network containers and hostNetwork pods share their node's host
name while each has its own PID namespace, and a rebooted machine reuses pids. So a holder is
judged gone only when its Lease records the same host name, the same boot id
(/proc/sys/kernel/random/boot_id, new at every boot) and the same PID namespace (the inode of
/proc/self/ns/pid) as ours, and no process with its pid exists. Anything else (another machine,
another container, a record without them, a system without /proc) waits for the lease to expire.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
PID_NAMESPACE_FILE = Path("/proc/self/ns/pid")


@dataclass(frozen=True)
class Machine:
    """Where a process runs: its host name, the kernel's boot id and the inode of its PID
    namespace (None when unknown, e.g. without /proc)."""

    host: str
    boot_id: str | None = None
    pid_namespace: str | None = None

    def same_pids_as(self, other: Machine) -> bool:
        """True when a pid means the same process here and in `other`: same host, same boot and
        same PID namespace, all known."""
        return (
            self.host == other.host
            and self.boot_id is not None
            and self.boot_id == other.boot_id
            and self.pid_namespace is not None
            and self.pid_namespace == other.pid_namespace
        )


def this_machine(
    boot_id_file: Path = BOOT_ID_FILE, pid_namespace_file: Path = PID_NAMESPACE_FILE
) -> Machine:
    """The Machine this process runs on."""
    try:
        boot_id: str | None = boot_id_file.read_text().strip() or None
    except OSError:
        boot_id = None
    try:
        pid_namespace: str | None = str(os.stat(pid_namespace_file).st_ino)
    except OSError:
        pid_namespace = None
    return Machine(socket.gethostname(), boot_id, pid_namespace)


def holder_process_gone(
    holder: Machine, holder_pid: int | None, me: Machine, pid: int, alive: Callable[[int], bool]
) -> bool:
    """True when the holder's process `holder_pid` provably no longer runs: it ran where pids mean
    what they mean for us (`me`, see Machine.same_pids_as) and `alive` says no such process exists
    (our own `pid` is alive by definition)."""
    if holder_pid is None or holder_pid == pid or not holder.same_pids_as(me):
        return False
    return not alive(holder_pid)


def pid_alive(pid: int) -> bool:
    """True when a process `pid` exists in this PID namespace (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True
