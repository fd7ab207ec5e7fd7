"""`kdeploy status` shows each object's health by the rules apply waits with, and exits 4 when
something is unhealthy (1 when something is missing or drifted), end to end against the emulator
(whose simulated kubelet keeps `never-ready` images in ImagePullBackOff)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import IMAGE_CONFIGMAP_TEMPLATE as CONFIGMAP
from tests.helpers import IMAGE_DEPLOYMENT_TEMPLATE as DEPLOYMENT
from tests.helpers import CliResult, LiveCluster, kd, live_project

NS_PREFIX = "status"


@pytest.fixture
def project(tmp_path: Path, emulator: Any, ns: str) -> Path:
    return live_project(
        tmp_path / "project",
        str(emulator.kubeconfig_path),
        ns,
        templates={"configmap.yaml": CONFIGMAP, "deployment.yaml": DEPLOYMENT},
        values={"image": "nginx:1.27", "replicas": 3},
    )


def _status_until(project: Path, state: str, reason: str) -> CliResult:
    """`status -o json` until the Deployment's health is `state` with `reason` in its message
    (the emulator's kubelet goes through ErrImagePull before ImagePullBackOff), then that last
    result."""
    deadline = time.monotonic() + 30
    while True:
        result = kd(project, "status", "web", "-e", "dev", "-o", "json")
        doc = json.loads(result.stdout)
        health = next(o for o in doc["objects"] if o["kind"] == "Deployment")["health"]
        if health["state"] == state and reason in health["message"]:
            return result
        if time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_status_shows_healthy_objects_with_ready_counts(project: Path, ns: str) -> None:
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    result = kd(project, "status", "web", "-e", "dev")
    assert result.code == 0, result.stdout + result.stderr
    assert f"Deployment.apps {ns}/web" in result.stdout
    assert "in sync, healthy 3/3\n" in result.stdout
    assert f"ConfigMap {ns}/web-config" in result.stdout
    assert "in sync, healthy\n" in result.stdout


def test_status_shows_unhealthy_with_the_pod_reason_and_exits_4(
    project: Path, ns: str, own_emulator: Any
) -> None:
    applied = kd(
        project, "apply", "-e", "dev", "--yes", "--no-wait", "--set", "image=nginx:never-ready"
    )
    assert applied.code == 0, applied.stderr
    last = _status_until(project, "unhealthy", "ImagePullBackOff")
    assert last.code == 4
    dep = next(o for o in json.loads(last.stdout)["objects"] if o["kind"] == "Deployment")
    assert dep["state"] == "in sync"
    assert dep["health"]["ready"] == "0/3"
    assert "container app: ImagePullBackOff" in dep["health"]["message"]
    assert dep["health"]["message"].startswith("pod web-")

    text = kd(project, "status", "web", "-e", "dev")
    assert text.code == 4
    line = next(ln for ln in text.stdout.splitlines() if f"Deployment.apps {ns}/web" in ln)
    assert "in sync, unhealthy 0/3: pod web-" in line
    assert "container app: ImagePullBackOff" in line
    cm_line = next(ln for ln in text.stdout.splitlines() if "web-config" in ln)
    assert cm_line.endswith("in sync, healthy")


def test_missing_or_drifted_wins_over_unhealthy(project: Path, ns: str, own_emulator: Any) -> None:
    applied = kd(
        project, "apply", "-e", "dev", "--yes", "--no-wait", "--set", "image=nginx:never-ready"
    )
    assert applied.code == 0, applied.stderr
    from kdeploy.kube.client import ObjectRef

    live = LiveCluster(str(own_emulator.kubeconfig_path), ns)
    assert live.cluster.delete(ObjectRef("v1", "ConfigMap", ns, "web-config"))
    result = kd(project, "status", "web", "-e", "dev")
    assert result.code == 1
    assert "web-config  missing" in result.stdout
