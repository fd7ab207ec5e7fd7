"""Waiting for health, failure evidence and --atomic, end to end: the real CLI against the built-in
API emulator (whose simulated kubelet keeps `never-ready` images in ImagePullBackOff, crash-loops
`crashloop` images and fails Jobs whose image contains `job-fails`). Tests that rely on those
image patterns ask for `own_emulator`, so they are skipped against a real cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import IMAGE_CONFIGMAP_TEMPLATE as CONFIGMAP
from tests.helpers import IMAGE_DEPLOYMENT_TEMPLATE as DEPLOYMENT
from tests.helpers import CliResult, LiveCluster, kd, live_project, revisions

NS_PREFIX = "wait"

JOB = """\
{% if values.job %}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ release.name }}-migrate
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: {{ values.job }}
{% endif %}
"""


@pytest.fixture
def project(tmp_path: Path, emulator: Any, ns: str) -> Path:
    return live_project(
        tmp_path / "project",
        str(emulator.kubeconfig_path),
        ns,
        templates={"configmap.yaml": CONFIGMAP, "deployment.yaml": DEPLOYMENT, "job.yaml": JOB},
        values={"image": "nginx:1.27", "replicas": 2, "deadline": 600, "job": None},
    )


def apply(project: Path, *args: str) -> CliResult:
    """`kdeploy apply -e dev --yes ARGS`."""
    return kd(project, "apply", "-e", "dev", "--yes", *args)


def statuses(project: Path, ns: str) -> dict[int, str]:
    return {r["revision"]: r["status"] for r in revisions(project)}


def test_apply_waits_until_healthy_and_records_deployed(project: Path, ns: str) -> None:
    result = apply(project)
    assert result.code == 0, result.stderr
    assert "Waiting for release web to become healthy" in result.stderr
    assert "Deployment/web: ready 2/2" in result.stderr
    assert "all 1 healthy after" in result.stderr
    # Without a terminal: plain lines, no escape codes anywhere.
    assert "\x1b" not in result.stderr + result.stdout
    (rev,) = revisions(project)
    assert rev["status"] == "deployed"
    assert "healthy after" in rev["result"]


def test_image_pull_backoff_fails_with_pod_evidence(
    project: Path, ns: str, own_emulator: Any
) -> None:
    result = apply(
        project,
        "--timeout",
        "3s",
        "--set",
        "image=nginx:never-ready",
    )
    assert result.code == 4, result.stderr
    err = result.stderr
    assert "release web in namespace" in err and "is not healthy" in err
    assert f"timed out after 3.0s waiting for Deployment {ns}/web (pod web-" in err
    assert ": container app: ImagePullBackOff)\n" in err
    assert f"Deployment {ns}/web: Waiting for rollout to finish: 0 of 2 updated" in err
    assert "pod web-" in err and "container app: ImagePullBackOff" in err
    assert 'Back-off pulling image "nginx:never-ready"' in err
    assert "event Failed on Pod web-" in err and "Error: ImagePullBackOff" in err
    assert "\x1b" not in err
    (rev,) = revisions(project)
    assert rev["status"] == "failed"
    # The first line stands alone in `kdeploy history`.
    assert "ImagePullBackOff" in rev["result"].splitlines()[0]


def test_crash_loop_fails_at_the_progress_deadline_with_exit_code(
    project: Path, ns: str, own_emulator: Any
) -> None:
    result = apply(
        project,
        "--set",
        "image=busybox:crashloop",
        "--set",
        "deadline=2",
        "--set",
        "replicas=1",
    )
    assert result.code == 4, result.stderr
    err = result.stderr
    assert f"Deployment {ns}/web failed after" in err
    assert "exceeded its progress deadline (2s): ProgressDeadlineExceeded" in err
    assert "(pod web-" in err
    assert "container app: CrashLoopBackOff (last exit code 1, Error;" in err
    assert "event BackOff on Pod web-" in err
    assert statuses(project, ns) == {1: "failed"}


def test_failing_job_fails_the_wait(project: Path, ns: str, own_emulator: Any) -> None:
    result = apply(project, "--set", "job=busybox:job-fails")
    assert result.code == 4, result.stderr
    err = result.stderr
    assert (
        f"Job {ns}/web-migrate: Job failed: BackoffLimitExceeded: Job has reached the specified "
        "backoff limit" in err
    )
    assert "pod web-migrate-" in err and "container migrate: terminated with exit code 1" in err
    assert "event BackoffLimitExceeded on Job web-migrate" in err
    assert statuses(project, ns) == {1: "failed"}


def test_successful_job_is_waited_for(project: Path, ns: str) -> None:
    result = apply(project, "--set", "job=busybox:1.36")
    assert result.code == 0, result.stderr
    assert "Job/web-migrate: ready 1/1" in result.stderr
    assert statuses(project, ns) == {1: "deployed"}


def test_no_wait_returns_at_once(project: Path, ns: str) -> None:
    result = apply(project, "--no-wait", "--set", "image=x:never-ready")
    assert result.code == 0, result.stderr
    assert "Waiting for" not in result.stderr
    assert statuses(project, ns) == {1: "deployed"}


def test_atomic_restores_the_previous_revision(
    project: Path, ns: str, live: LiveCluster, own_emulator: Any
) -> None:
    assert apply(project).code == 0
    assert live.image() == "nginx:1.27"
    result = apply(
        project,
        "--atomic",
        "--timeout",
        "2s",
        "--set",
        "image=nginx:never-ready",
    )
    assert result.code == 4, result.stderr
    err = result.stderr
    assert "apply of release web in namespace" in err
    assert "failed (revision 2 recorded as failed)" in err
    assert "ImagePullBackOff" in err
    assert "--atomic: rolled back to revision 1 (recorded as revision 3)" in err
    assert live.image() == "nginx:1.27"
    revs = revisions(project)
    assert [(r["revision"], r["status"]) for r in revs] == [
        (1, "superseded"),
        (2, "failed"),
        (3, "deployed"),
    ]
    assert "ImagePullBackOff" in revs[1]["result"]
    assert revs[2]["description"] == "rollback to 1"


def test_atomic_first_install_leaves_the_failed_revision(
    project: Path, ns: str, own_emulator: Any
) -> None:
    result = apply(
        project,
        "--atomic",
        "--timeout",
        "1s",
        "--set",
        "image=a:never-ready",
    )
    assert result.code == 4, result.stderr
    assert (
        "--atomic: nothing to roll back to, revision 1 was the first install; its objects were left"
        in result.stderr
    )
    assert f"kdeploy uninstall web -n {ns}" in result.stderr
    assert statuses(project, ns) == {1: "failed"}


def test_rollback_waits_too(project: Path, ns: str) -> None:
    assert apply(project).code == 0
    bad = apply(project, "--no-wait", "--set", "image=b:never-ready")
    assert bad.code == 0, bad.stderr
    result = kd(project, "rollback", "web", "-e", "dev", "--yes", "--timeout", "30s")
    assert result.code == 0, result.stderr
    assert "Waiting for release web to become healthy" in result.stderr
    assert "Deployment/web: ready 2/2" in result.stderr
    assert statuses(project, ns) == {1: "superseded", 2: "superseded", 3: "deployed"}


@pytest.mark.parametrize("value", ["5", "fast", "1m5h", "0s"])
def test_bad_timeout_is_a_usage_error(project: Path, value: str) -> None:
    result = apply(project, "--timeout", value)
    assert result.code == 64, result.stderr
    assert "--timeout" in result.stderr
