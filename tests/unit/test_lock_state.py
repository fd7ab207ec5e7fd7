"""The pure side of the release lock: expiry, orphan detection and the held-lock message."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kdeploy.lock import (
    LeaseState,
    Machine,
    held_hint,
    held_message,
    holder_process_gone,
    lease_name,
    this_machine,
)

T0 = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


def state(**kw: object) -> LeaseState:
    base: dict[str, object] = {
        "holder": "alice@laptop",
        "acquired": T0,
        "renewed": T0 + timedelta(seconds=10),
        "duration": 30,
        "pid": 42,
        "host": "laptop",
        "token": "t",
        "operation": "apply",
        "resource_version": "7",
    }
    base.update(kw)
    return LeaseState(**base)  # type: ignore[arg-type]


def test_expiry_counts_from_the_last_renewal() -> None:
    s = state()
    assert s.expires() == T0 + timedelta(seconds=40)
    assert not s.expired(T0 + timedelta(seconds=40))
    assert s.expired(T0 + timedelta(seconds=40, microseconds=1))


def test_released_or_untimed_leases_count_as_expired() -> None:
    assert state(holder="").expired(T0)
    assert state(acquired=None, renewed=None).expired(T0)
    assert state(renewed=None).expires() == T0 + timedelta(seconds=30)


LAPTOP = Machine("laptop", "boot-1", "4026531836")


def test_orphan_only_on_the_same_machine_and_pid_namespace_with_a_dead_pid() -> None:
    dead = lambda _pid: False  # noqa: E731
    alive = lambda _pid: True  # noqa: E731
    holder = Machine("laptop", "boot-1", "4026531836")
    assert holder_process_gone(holder, 42, LAPTOP, 1, dead)
    assert not holder_process_gone(holder, 42, LAPTOP, 1, alive)
    assert not holder_process_gone(holder, None, LAPTOP, 1, dead)
    assert not holder_process_gone(holder, 42, LAPTOP, 42, dead)  # that is us
    # same host name, but pids of another machine, another boot or another PID namespace
    assert not holder_process_gone(Machine("desk", "boot-1", "4026531836"), 42, LAPTOP, 1, dead)
    assert not holder_process_gone(Machine("laptop", "boot-2", "4026531836"), 42, LAPTOP, 1, dead)
    assert not holder_process_gone(Machine("laptop", "boot-1", "4026532001"), 42, LAPTOP, 1, dead)
    # a holder (or we) that could not tell: never proven
    assert not holder_process_gone(Machine("laptop"), 42, LAPTOP, 1, dead)
    assert not holder_process_gone(holder, 42, Machine("laptop"), 1, dead)
    assert not holder_process_gone(Machine("laptop"), 42, Machine("laptop"), 1, dead)


def test_lease_state_tells_where_its_holder_ran() -> None:
    assert state(boot_id="b", pid_namespace="7").machine == Machine("laptop", "b", "7")
    assert state(host=None).machine == Machine("")


def test_this_machine_reads_boot_id_and_pid_namespace(tmp_path: Path) -> None:
    boot = tmp_path / "boot_id"
    boot.write_text("0f0e-boot\n")
    ns = tmp_path / "ns"
    ns.write_text("")
    me = this_machine(boot, ns)
    assert (me.host, me.boot_id, me.pid_namespace) == (
        socket.gethostname(),
        "0f0e-boot",
        str(ns.stat().st_ino),
    )
    unknown = this_machine(tmp_path / "missing", tmp_path / "missing")
    assert (unknown.boot_id, unknown.pid_namespace) == (None, None)


def test_held_message_names_holder_since_expiry_and_lease() -> None:
    text = held_message("web", "shop", state(), T0 + timedelta(seconds=25))
    assert text == (
        "release web in namespace shop is locked by alice@laptop (pid 42 on laptop, apply) since "
        "2026-11-23T12:00:00Z; its lease expires at 2026-11-23T12:00:40Z (in 15s) unless the "
        "holder renews it (Lease shop/kdeploy-lock.web)"
    )
    assert "kdeploy unlock web -n shop --force" in held_hint("web", "shop")
    assert lease_name("web") == "kdeploy-lock.web"
