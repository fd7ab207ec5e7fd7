"""Waiting in CI, end to end: the `still waiting` heartbeat of plain progress, `--fail-fast` (on by
default when CI=true or GITLAB_CI is set), the evidence of a failed `--atomic` apply printed before
its rollback, and exit code 5 when the automatic rollback fails too. The real CLI against the
built-in emulator, whose kubelet keeps `never-ready` images in ImagePullBackOff and crash-loops
`crashloop` images (so these tests ask for `own_emulator`)."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import IMAGE_CONFIGMAP_TEMPLATE as CONFIGMAP
from tests.helpers import IMAGE_DEPLOYMENT_TEMPLATE as DEPLOYMENT
from tests.helpers import CliResult, LiveCluster, kd, live_project, revisions

NS_PREFIX = "waitci"


@pytest.fixture
def project(tmp_path: Path, emulator: Any, ns: str) -> Path:
    return live_project(
        tmp_path / "project",
        str(emulator.kubeconfig_path),
        ns,
        templates={"configmap.yaml": CONFIGMAP, "deployment.yaml": DEPLOYMENT},
        values={"image": "nginx:1.27", "replicas": 2},
    )


@pytest.fixture
def laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not in CI: fail-fast is off unless asked for."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GITLAB_CI", raising=False)


def apply(project: Path, *args: str) -> CliResult:
    """`kdeploy apply -e dev --yes ARGS`."""
    return kd(project, "apply", "-e", "dev", "--yes", *args)


def timed_apply(project: Path, *args: str) -> tuple[CliResult, float]:
    started = time.monotonic()
    result = apply(project, *args)
    return result, time.monotonic() - started


def statuses(project: Path) -> list[tuple[int, str]]:
    return [(r["revision"], r["status"]) for r in revisions(project)]


HEARTBEAT = re.compile(r"^  still waiting after (\d+(?:\.\d)?)s: (.*)$", re.M)


def test_plain_progress_says_what_is_awaited_at_every_interval(
    project: Path, ns: str, own_emulator: Any, laptop: None
) -> None:
    result = apply(
        project, "--timeout", "5s", "--progress-interval", "1s", "--set", "image=nginx:never-ready"
    )
    assert result.code == 4, result.stderr
    beats = HEARTBEAT.findall(result.stderr)
    assert len(beats) >= 3, result.stderr
    times = [float(t) for t, _ in beats]
    # at most one interval (plus a poll's slack) without a line
    assert all(b - a <= 1.6 for a, b in itertools.pairwise(times)), times
    # it names the object, its ready count and the failing container of one of its pods
    last = beats[-1][1]
    assert re.fullmatch(
        r"Deployment/web 0/2 ready \(pod web-[a-z0-9-]+: container app: ImagePullBackOff"
        r"( for [0-9.]+s)?, 1 more failing pod\)",
        last,
    ), last
    assert "\x1b" not in result.stderr
    # the wait still ends at --timeout, with the usual evidence
    assert f"timed out after 5.0s waiting for Deployment {ns}/web" in result.stderr


def test_progress_interval_comes_from_its_variable(
    project: Path, own_emulator: Any, laptop: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KDEPLOY_PROGRESS_INTERVAL", "1s")
    result = apply(project, "--timeout", "3s", "--set", "image=nginx:never-ready")
    assert result.code == 4, result.stderr
    assert len(HEARTBEAT.findall(result.stderr)) >= 2, result.stderr


def test_default_interval_is_quiet_for_a_short_wait(
    project: Path, own_emulator: Any, laptop: None
) -> None:
    result = apply(project, "--timeout", "3s", "--set", "image=nginx:never-ready")
    assert result.code == 4, result.stderr
    assert "still waiting" not in result.stderr


def test_fail_fast_fails_an_image_pull_backoff_after_the_grace(
    project: Path, ns: str, own_emulator: Any, laptop: None
) -> None:
    result, took = timed_apply(
        project,
        "--fail-fast",
        "--fail-fast-grace",
        "1s",
        "--timeout",
        "2m",
        "--set",
        "image=nginx:never-ready",
    )
    assert result.code == 4, result.stderr
    assert took < 30, took
    err = result.stderr
    first = next(line for line in err.splitlines() if line.startswith("Error: "))
    assert re.search(
        rf"release web in namespace {ns} is not healthy: Deployment {ns}/web failed fast after "
        r"[0-9.]+s: pod web-[a-z0-9-]+: container app in (ImagePullBackOff|ErrImagePull) for "
        r"[0-9.]+s, longer than --fail-fast-grace \(1\.0s\)$",
        first,
    ), first
    # the same evidence as a timed-out wait
    assert f"  Deployment {ns}/web: Waiting for rollout to finish: 0 of 2 updated" in err
    assert "container app: ImagePullBackOff" in err
    assert 'Back-off pulling image "nginx:never-ready"' in err
    assert "event Failed on Pod web-" in err
    assert "--no-fail-fast waits until --timeout instead" in err
    (rev,) = revisions(project)
    assert rev["status"] == "failed"
    assert "failed fast" in rev["result"].splitlines()[0]


def test_fail_fast_fails_a_crash_loop(
    project: Path, ns: str, own_emulator: Any, laptop: None
) -> None:
    result, took = timed_apply(
        project,
        "--fail-fast",
        "--fail-fast-grace",
        "1s",
        "--set",
        "image=busybox:crashloop",
        "--set",
        "replicas=1",
    )
    assert result.code == 4, result.stderr
    assert took < 30, took
    err = result.stderr
    assert f"Deployment {ns}/web failed fast after" in err
    assert ": container app in CrashLoopBackOff for " in err
    assert "container app: CrashLoopBackOff (last exit code 1, Error;" in err
    assert [s for _, s in statuses(project)] == ["failed"]


def test_a_healthy_rollout_is_not_failed_by_fail_fast(
    project: Path, own_emulator: Any, laptop: None
) -> None:
    result = apply(project, "--fail-fast", "--fail-fast-grace", "1s")
    assert result.code == 0, result.stderr
    assert statuses(project) == [(1, "deployed")]


@pytest.mark.parametrize("ci", [{"CI": "true"}, {"GITLAB_CI": "true"}])
def test_fail_fast_is_on_by_default_in_ci(
    project: Path,
    ns: str,
    own_emulator: Any,
    laptop: None,
    monkeypatch: pytest.MonkeyPatch,
    ci: dict[str, str],
) -> None:
    for name, value in ci.items():
        monkeypatch.setenv(name, value)
    result, took = timed_apply(
        project, "--fail-fast-grace", "1s", "--timeout", "2m", "--set", "image=nginx:never-ready"
    )
    assert result.code == 4, result.stderr
    assert f"Deployment {ns}/web failed fast after" in result.stderr
    assert took < 30, took


def test_fail_fast_blames_the_new_revisions_pods_not_the_old_ones(
    project: Path, ns: str, own_emulator: Any, laptop: None
) -> None:
    # revision 1 is stuck in ImagePullBackOff; revision 2 crash-loops while those old pods remain
    first = apply(project, "--timeout", "3s", "--set", "image=nginx:never-ready")
    assert first.code == 4, first.stderr
    result = apply(project, "--fail-fast", "--fail-fast-grace", "1s", "--set", "image=crashloop")
    assert result.code == 4, result.stderr
    headline = next(line for line in result.stderr.splitlines() if "failed fast after" in line)
    assert "CrashLoopBackOff" in headline, result.stderr
    assert "ImagePullBackOff" not in headline, result.stderr


def test_fail_fast_is_off_by_default_outside_ci_and_with_no_fail_fast(
    project: Path, ns: str, own_emulator: Any, laptop: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = ("--fail-fast-grace", "1s", "--timeout", "4s", "--set", "image=nginx:never-ready")
    # GITLAB_CI=false (gitlab-ci-local sets it) is not CI either
    monkeypatch.setenv("GITLAB_CI", "false")
    result = apply(project, *bad)
    assert result.code == 4, result.stderr
    assert "failed fast" not in result.stderr
    assert f"timed out after 4.0s waiting for Deployment {ns}/web" in result.stderr
    monkeypatch.setenv("CI", "true")
    result = apply(project, "--no-fail-fast", *bad)
    assert result.code == 4, result.stderr
    assert "failed fast" not in result.stderr
    assert f"timed out after 4.0s waiting for Deployment {ns}/web" in result.stderr
    # a CI project can turn it off for every job with a variable
    monkeypatch.setenv("KDEPLOY_FAIL_FAST", "0")
    result = apply(project, *bad)
    assert result.code == 4, result.stderr
    assert "failed fast" not in result.stderr


@pytest.mark.parametrize("value", ["0s", "soon"])
def test_bad_grace_is_a_usage_error_that_changes_nothing(
    project: Path, live: LiveCluster, value: str
) -> None:
    result = apply(project, "--fail-fast-grace", value)
    assert result.code == 64, result.stderr
    assert "--fail-fast-grace" in result.stderr
    # the flag as the user typed it, never its parameter name
    assert "--fail_fast_grace" not in result.stderr
    assert live.object("ConfigMap", "web-config") is None


def merged_apply(project: Path, *args: str) -> tuple[int, str]:
    """`kdeploy apply` in a fresh interpreter with stdout and stderr in one stream, as a CI log
    shows them (diffs go to stdout, progress and errors to stderr)."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "GITLAB_CI")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kdeploy.cli",
            "-C",
            str(project),
            "apply",
            "-e",
            "dev",
            "--yes",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        env=env,
    )
    return proc.returncode, proc.stdout


def test_atomic_prints_the_evidence_before_the_rollback(
    project: Path, ns: str, live: LiveCluster, own_emulator: Any
) -> None:
    assert apply(project, "--no-fail-fast").code == 0
    code, log = merged_apply(
        project,
        "--atomic",
        "--fail-fast",
        "--fail-fast-grace",
        "1s",
        "--set",
        "image=b:never-ready",
    )
    assert code == 4, log
    evidence = log.index('Back-off pulling image "b:never-ready"')
    rolling = log.index(f"--atomic: rolling back release web in namespace {ns} to revision 1")
    # the rollback's own diff (stdout) puts the old image back
    restoring = log.index("+      - image: nginx:1.27", rolling)
    error = log.index("Error: apply of release web")
    assert log.index(f"Deployment {ns}/web failed fast") < rolling
    assert evidence < rolling < restoring < error
    assert "event Failed on Pod web-" in log[:rolling]
    # the final error names the failure in one line and says what was restored
    final = log[error:]
    assert f"Deployment {ns}/web failed fast after" in final
    assert "(the evidence is shown above, before the rollback)" in final
    assert "--atomic: rolled back to revision 1 (recorded as revision 3)" in final
    assert live.image() == "nginx:1.27"
    assert statuses(project) == [(1, "superseded"), (2, "failed"), (3, "deployed")]


def test_atomic_exits_5_when_its_rollback_fails_too(
    project: Path, ns: str, live: LiveCluster, own_emulator: Any, laptop: None
) -> None:
    # revision 1 was recorded deployed without waiting, but it never becomes healthy
    assert apply(project, "--no-wait", "--set", "image=a:never-ready").code == 0
    result = apply(project, "--atomic", "--timeout", "2s", "--set", "image=b:never-ready")
    assert result.code == 5, result.stderr
    err = result.stderr
    assert f"apply of release web in namespace {ns} failed (revision 2 recorded as failed)" in err
    assert (
        f"--atomic: the rollback to revision 1 failed too: release web in namespace {ns} is not "
        f"healthy: timed out after 2.0s waiting for Deployment {ns}/web" in err
    )
    assert f"`kdeploy rollback web -n {ns}` tries the rollback to revision 1 again" in err
    assert live.image() == "a:never-ready"
    assert statuses(project) == [(1, "deployed"), (2, "failed"), (3, "failed")]


PRE_APPLY_HOOK = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ release.name }}-migrate
  annotations:
    kdeploy.dev/hook: pre-apply
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: {{ values.hook_image }}
"""


def test_fail_fast_fails_a_hook_job_stuck_pulling(
    tmp_path: Path, emulator: Any, ns: str, live: LiveCluster, own_emulator: Any, laptop: None
) -> None:
    project = live_project(
        tmp_path / "hooked",
        str(emulator.kubeconfig_path),
        ns,
        templates={"deployment.yaml": DEPLOYMENT, "hook.yaml": PRE_APPLY_HOOK},
        values={"image": "nginx:1.27", "hook_image": "migrate:never-ready"},
    )
    result, took = timed_apply(project, "--fail-fast", "--fail-fast-grace", "1s", "--timeout", "2m")
    assert result.code == 4, result.stderr
    assert took < 30, took
    err = result.stderr
    assert f"pre-apply hook Job {ns}/web-migrate failed: Job {ns}/web-migrate failed fast" in err
    assert "container migrate in ImagePullBackOff for" in err or (
        "container migrate in ErrImagePull for" in err
    )
    assert 'Back-off pulling image "migrate:never-ready"' in err
    # the hook stopped the apply before the release's objects
    assert live.object("Deployment", "web", "apps/v1") is None
