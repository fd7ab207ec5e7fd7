"""`kdeploy test`: the test hooks of the deployed revision run on demand (never by apply), each
reported PASS or FAIL with its pods' logs, exit 0 when all pass and 1 when one fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import CONFIGMAP_TEMPLATE, LiveCluster, kd, live_project

NS_PREFIX = "tests"
SECRET_TOKEN = "t3st-Token-8765"

TESTS = """\
{% for t in values.tests %}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ release.name }}-{{ t.name }}
  annotations:
    kdeploy.dev/hook: test
    kdeploy.dev/hook-weight: {{ loop.index | string | quote }}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: check
        image: {{ t.image }}
        env:
        - {name: TOKEN, value: {{ values.token | quote }}}
{% endfor %}
"""
SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ release.name }}-token
stringData:
  token: {{ values.token | quote }}
"""


def _project(tmp_path: Path, emulator: Any, ns: str, tests: list[dict[str, str]]) -> Path:
    return live_project(
        tmp_path,
        str(emulator.kubeconfig_path),
        ns,
        templates={"cm.yaml": CONFIGMAP_TEMPLATE, "secret.yaml": SECRET, "tests.yaml": TESTS},
        values={"greeting": "hi", "token": SECRET_TOKEN, "tests": tests},
    )


def test_apply_never_runs_tests_and_test_runs_them_all(
    tmp_path: Path, emulator: Any, ns: str, live: LiveCluster
) -> None:
    tests = [
        {"name": "smoke", "image": "busybox:1.36"},
        {"name": "db", "image": "x:job-fails"},
        {"name": "api", "image": "busybox:1.36"},
    ]
    project = _project(tmp_path, emulator, ns, tests)
    applied = kd(project, "apply", "-e", "dev", "--yes")
    assert applied.code == 0, applied.stderr
    assert live.job("web-smoke") is None and live.job("web-db") is None

    result = kd(project, "test", "web", "-e", "dev", "--timeout", "60s")
    assert result.code == 1, result.stdout + result.stderr
    out = result.stdout
    assert f"Release web in namespace {ns}, revision 1: 3 tests" in out
    assert f"  PASS Job {ns}/web-smoke" in out
    assert f"  FAIL Job {ns}/web-db" in out
    assert f"  PASS Job {ns}/web-api" in out  # a failed test does not stop the others
    assert "test hook Job" in out and "failed" in out
    assert "logs of pod web-db-" in out
    assert "Tests: 2 passed, 1 failed" in out
    assert SECRET_TOKEN not in out + result.stderr
    assert live.job("web-smoke") is not None  # kept (before-run policy) for its logs


def test_all_tests_passing_exits_0_and_no_tests_is_not_a_failure(
    tmp_path: Path, emulator: Any, ns: str
) -> None:
    project = _project(tmp_path, emulator, ns, [{"name": "smoke", "image": "busybox:1.36"}])
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    passed = kd(project, "test", "web", "-n", ns, "--kubeconfig", str(emulator.kubeconfig_path))
    assert passed.code == 0, passed.stdout + passed.stderr
    assert "Tests: 1 passed, 0 failed" in passed.stdout

    none = kd(project, "apply", "-e", "dev", "--yes", "--set", "tests=[]", "--set", "greeting=x")
    assert none.code == 0, none.stderr
    result = kd(project, "test", "web", "-e", "dev")
    assert result.code == 0
    assert "revision 2: 0 tests" in result.stdout


def test_test_of_a_release_never_deployed_says_so(tmp_path: Path, emulator: Any, ns: str) -> None:
    project = _project(tmp_path, emulator, ns, [])
    result = kd(project, "test", "web", "-e", "dev")
    assert result.code == 1
    assert f"release web has no deployed revision in namespace {ns}" in result.stderr
