"""Fault injection: a thread-safe list of FaultRules matched against each request."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from dataclasses import asdict
from typing import Any

from kdeploy.emulator.types import FaultRule

_ACTIONS = ("status", "latency", "drop", "drop-after", "kill", "kill-after")
KILL_ACTIONS = ("kill", "kill-after")


def rule_from_dict(data: dict[str, Any]) -> FaultRule:
    """A FaultRule from its JSON form (the fields of FaultRule). Raises ValueError for unknown
    fields, an unknown action or a bad path regex."""
    allowed = {"method", "path", "action", "status", "retry_after", "delay", "skip", "times", "pid"}
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"unknown fault rule field(s): {', '.join(sorted(unknown))}")
    rule = FaultRule(**data)
    if rule.action not in _ACTIONS:
        raise ValueError(f"fault action must be one of {', '.join(_ACTIONS)}, not {rule.action!r}")
    if rule.action in KILL_ACTIONS and not isinstance(rule.pid, int):
        raise ValueError(f"fault action {rule.action!r} needs the client's process id in `pid`")
    try:
        re.compile(rule.path)
    except re.error as e:
        raise ValueError(f"fault path is not a valid regex: {rule.path!r}: {e}") from e
    return rule


def kill_process(pid: int, timeout: float = 5.0) -> None:
    """SIGKILL `pid` and return once it has stopped running (gone, or a zombie awaiting its
    parent), at most `timeout` seconds later: the client must not act on the closed connection
    in the meantime. A process that is already gone is no error."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    end = time.monotonic() + timeout
    while time.monotonic() < end and _running(pid):
        time.sleep(0.001)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        # no procfs: a signal 0 tells whether it exists (a zombie still does)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state not in ("Z", "X")


def rule_to_dict(rule: FaultRule) -> dict[str, Any]:
    """The JSON form of a rule, including how many requests it has matched."""
    return asdict(rule)


class Faults:
    """The active fault rules. `match` counts every rule a request matches and returns the
    first rule whose window covers this request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        """Activate a rule (after the existing ones)."""
        re.compile(rule.path)
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        """The active rules."""
        with self._lock:
            return list(self._rules)

    def match(self, method: str, path: str) -> FaultRule | None:
        """The rule to apply to this request, or None. `path` includes the query string."""
        if not self._rules:
            return None
        hit = None
        with self._lock:
            for rule in self._rules:
                if rule.method not in ("*", method.upper()):
                    continue
                if not re.search(rule.path, path):
                    continue
                index = rule.seen
                rule.seen += 1
                if index < rule.skip:
                    continue
                if rule.times is not None and index >= rule.skip + rule.times:
                    continue
                if hit is None:
                    hit = rule
        return hit
