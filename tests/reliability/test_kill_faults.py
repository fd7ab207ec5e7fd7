"""The emulator's `kill` and `kill-after` fault actions: the client process named by `pid` is
SIGKILLed at the matching request, before or after the server acts on it."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from kdeploy.emulator.app import Emulator
from kdeploy.emulator.faults import rule_from_dict
from kdeploy.emulator.types import FaultRule

# Waits for a line on stdin (so the rule naming its pid is in place), then creates a ConfigMap
# and prints the answer's status.
CLIENT = """
import json, sys, urllib.request
sys.stdin.readline()
body = json.dumps({"metadata": {"name": sys.argv[2]}, "data": {"a": "b"}}).encode()
req = urllib.request.Request(sys.argv[1] + "/api/v1/namespaces/default/configmaps", body,
                             {"Content-Type": "application/json"}, method="POST")
print(urllib.request.urlopen(req).status, flush=True)
"""


@pytest.fixture(scope="module")
def emu(cluster_target: str) -> Iterator[Emulator]:
    if cluster_target == "real":
        pytest.skip("emulator-only: reads the emulator's store and kills its connections")
    with Emulator(controllers=False) as emulator:
        yield emulator


def configmap(emu: Emulator, name: str) -> dict[str, Any] | None:
    return emu.store.get("", "ConfigMap", "default", name)


def create_with(emu: Emulator, name: str, rule: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CLIENT, emu.url, name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if rule:
        # over the control endpoint, as a test in another process would
        req = urllib.request.Request(
            emu.url + "/_emulator/faults",
            json.dumps({**rule, "pid": proc.pid}).encode(),
            method="POST",
        )
        assert urllib.request.urlopen(req).status == 201
    try:
        out, err = proc.communicate("go\n", timeout=30)
    finally:
        emu.clear_faults()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_without_a_kill_the_client_gets_its_answer(emu: Emulator) -> None:
    done = create_with(emu, "plain", {})
    assert (done.returncode, done.stdout.strip()) == (0, "201")
    assert configmap(emu, "plain") is not None


def test_kill_ends_the_client_before_the_request_is_processed(emu: Emulator) -> None:
    done = create_with(emu, "never", {"method": "POST", "path": "/configmaps$", "action": "kill"})
    assert done.returncode == -9
    assert done.stdout == ""
    assert configmap(emu, "never") is None


def test_kill_after_makes_the_change_but_the_client_never_sees_the_answer(emu: Emulator) -> None:
    done = create_with(
        emu, "made", {"method": "POST", "path": "/configmaps$", "action": "kill-after"}
    )
    assert done.returncode == -9
    assert done.stdout == ""
    assert configmap(emu, "made") is not None


def test_the_kill_waits_for_its_window(emu: Emulator) -> None:
    # skip=1: the first matching request is served; this client makes only one
    done = create_with(
        emu, "spared", {"method": "POST", "path": "/configmaps$", "action": "kill", "skip": 1}
    )
    assert (done.returncode, done.stdout.strip()) == (0, "201")


@pytest.mark.parametrize("action", ["kill", "kill-after"])
def test_a_kill_rule_needs_a_pid(action: str) -> None:
    with pytest.raises(ValueError, match="needs the client's process id in `pid`"):
        rule_from_dict({"action": action})


def test_kill_rule_round_trips_through_json() -> None:
    rule = rule_from_dict({"action": "kill-after", "pid": 1234, "skip": 4})
    assert rule == FaultRule(action="kill-after", pid=1234, skip=4)
