"""The emulator as a service: fault injection, the control endpoint, the state file, the
request log, and the `kdeploy emulator` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client, config
from kubernetes.client import ApiException

from kdeploy.emulator.app import Emulator
from kdeploy.emulator.types import FaultRule


@pytest.fixture
def emu() -> Any:
    with Emulator(controllers=False) as e:
        yield e


def core_for(emu: Any) -> client.CoreV1Api:
    api = config.new_client_from_config(emu.kubeconfig_path)
    api.configuration.retries = 0
    return client.CoreV1Api(api)


def test_status_fault_hits_only_its_window(emu: Any) -> None:
    core = core_for(emu)
    emu.add_fault(
        FaultRule(method="GET", path=r"/api/v1/namespaces/default$", status=503, skip=1, times=1)
    )
    core.read_namespace("default")
    with pytest.raises(ApiException) as err:
        core.read_namespace("default")
    assert err.value.status == 503
    assert json.loads(err.value.body)["reason"] == "ServiceUnavailable"
    core.read_namespace("default")


def test_429_fault_carries_retry_after(emu: Any) -> None:
    emu.add_fault(FaultRule(path="/api/v1/namespaces$", status=429, retry_after=7, times=None))
    resp = urllib3.PoolManager().request("GET", emu.url + "/api/v1/namespaces", retries=False)
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "7"
    assert json.loads(resp.data)["details"]["retryAfterSeconds"] == 7
    emu.clear_faults()
    assert urllib3.PoolManager().request("GET", emu.url + "/api/v1/namespaces").status == 200


def test_drop_fault_closes_connection_without_answer(emu: Any) -> None:
    emu.add_fault(FaultRule(method="POST", path="configmaps", action="drop"))
    core = core_for(emu)
    with pytest.raises(urllib3.exceptions.HTTPError):
        core.create_namespaced_config_map("default", {"metadata": {"name": "x"}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "x"}})


def test_latency_fault_still_answers(emu: Any) -> None:
    emu.add_fault(FaultRule(path="/version", action="latency", delay=0.2))
    resp = urllib3.PoolManager().request("GET", emu.url + "/version")
    assert resp.status == 200 and json.loads(resp.data)["major"] == "1"


def test_fault_rules_over_the_control_endpoint(emu: Any) -> None:
    pool = urllib3.PoolManager()
    rule = {"method": "GET", "path": "/api/v1/namespaces/kube-system$", "status": 500}
    resp = pool.request("POST", emu.url + "/_emulator/faults", body=json.dumps(rule))
    assert resp.status == 201
    assert pool.request("GET", emu.url + "/api/v1/namespaces/kube-system").status == 500
    bad = pool.request("POST", emu.url + "/_emulator/faults", body=json.dumps({"action": "x"}))
    assert bad.status == 400 and "fault action must be one of" in json.loads(bad.data)["message"]
    assert pool.request("DELETE", emu.url + "/_emulator/faults").status == 200
    assert pool.request("GET", emu.url + "/api/v1/namespaces/kube-system").status == 200


def test_drop_after_over_the_control_endpoint_makes_the_change_but_loses_the_answer(
    emu: Any,
) -> None:
    pool = urllib3.PoolManager()
    rule = {"method": "POST", "path": "/configmaps$", "action": "drop-after"}
    resp = pool.request("POST", emu.url + "/_emulator/faults", body=json.dumps(rule))
    assert resp.status == 201, resp.data
    assert json.loads(resp.data)[0]["action"] == "drop-after"
    core = core_for(emu)
    with pytest.raises(urllib3.exceptions.HTTPError):
        core.create_namespaced_config_map("default", {"metadata": {"name": "lost-answer"}})
    assert core.read_namespaced_config_map("lost-answer", "default").metadata.name == "lost-answer"


@pytest.mark.parametrize(
    "rule",
    [
        {"action": "status", "status": 503},
        {"action": "latency", "delay": 0.1},
        {"action": "drop"},
        {"action": "drop-after"},
        {"action": "kill", "pid": 123456},
        {"action": "kill-after", "pid": 123456},
    ],
)
def test_every_documented_fault_action_is_accepted_from_json(rule: dict[str, Any]) -> None:
    from kdeploy.emulator.faults import rule_from_dict

    assert rule_from_dict(dict(rule)).action == rule["action"]


def test_cli_accepts_a_drop_after_fault_file(tmp_path: Path) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(
        json.dumps([{"method": "POST", "path": "configmaps", "action": "drop-after"}])
    )
    out = tmp_path / "kubeconfig"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "kdeploy.cli", "emulator", "--port", "0"),
            *("--faults", str(faults), "--kubeconfig-out", str(out)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == str(out)
        api = config.new_client_from_config(str(out))
        api.configuration.retries = 0
        core = client.CoreV1Api(api)
        with pytest.raises(urllib3.exceptions.HTTPError):
            core.create_namespaced_config_map("default", {"metadata": {"name": "from-file"}})
        assert core.read_namespaced_config_map("from-file", "default").metadata.name == "from-file"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0


def test_request_log_records_method_and_path(emu: Any) -> None:
    before = emu.request_count
    core_for(emu).list_namespaced_config_map("default", label_selector="a=b")
    assert emu.request_count == before + 1
    assert emu.request_log[-1] == (
        "GET",
        "/api/v1/namespaces/default/configmaps?labelSelector=a%3Db",
    )


def test_state_file_round_trip(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with Emulator(state_file=state, controllers=False) as first:
        core = core_for(first)
        core.create_namespace({"metadata": {"name": "kept"}})
        made = core.create_namespaced_config_map(
            "kept", {"metadata": {"name": "c"}, "data": {"k": "v"}}
        )
    assert state.is_file()
    with Emulator(state_file=state, controllers=False) as second:
        core = core_for(second)
        again = core.read_namespaced_config_map("c", "kept")
        assert again.data == {"k": "v"}
        assert again.metadata.uid == made.metadata.uid
        newer = core.create_namespaced_config_map("kept", {"metadata": {"name": "d"}})
        assert int(newer.metadata.resource_version) > int(made.metadata.resource_version)


def test_cli_prints_kubeconfig_path_and_saves_state_on_sigterm(tmp_path: Path) -> None:
    out = tmp_path / "kubeconfig"
    state = tmp_path / "state.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kdeploy.cli",
            "emulator",
            "--port",
            "0",
            "--kubeconfig-out",
            str(out),
            "--state",
            str(state),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == str(out)
        kubeconfig = json.loads(out.read_text())
        assert kubeconfig["current-context"] == "kdeploy-emulator"
        core = client.CoreV1Api(config.new_client_from_config(str(out)))
        core.create_namespaced_config_map("default", {"metadata": {"name": "from-cli"}})
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0
    saved = json.loads(state.read_text())
    assert any(o["metadata"]["name"] == "from-cli" for o in saved["objects"])


def test_cli_rejects_a_bad_fault_file(tmp_path: Path) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps([{"action": "explode"}]))
    res = subprocess.run(
        [sys.executable, "-m", "kdeploy.cli", "emulator", "--faults", str(faults)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 1
    assert f"{faults}: fault rule #1 is invalid" in res.stderr


def test_stop_ends_open_watches(tmp_path: Path) -> None:
    e = Emulator(controllers=False).start()
    resp = urllib3.PoolManager().request(
        "GET",
        e.url + "/api/v1/namespaces/default/configmaps?watch=1",
        preload_content=False,
        timeout=urllib3.Timeout(read=30),
    )
    e.stop()
    events = [json.loads(line) for line in resp.read().splitlines()]
    assert resp.status == 200
    assert [ev["type"] for ev in events] == ["ADDED"] * len(events)
