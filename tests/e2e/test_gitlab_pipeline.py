"""The pipeline documented in docs/gitlab-ci.md, run job by job against the test cluster: a small
runner stand-in reads the documented `.gitlab-ci.yml`, and runs each job's `script` lines with
bash, with the pipeline's `variables:` and the GitLab predefined variables a runner sets
(CI_COMMIT_SHA, CI_PIPELINE_URL, CI_ENVIRONMENT_SLUG...), in a git clone of the example project.
`before_script` (installing kdeploy) is skipped: the kdeploy under test is on PATH. The cluster
comes from KDEPLOY_KUBECONFIG and KDEPLOY_CONTEXT, as a project would set them as CI variables.

What it proves: the documented jobs need no shell glue beyond their one-liners, each exits 0,
leaves the artifacts it declares (report, dotenv, manifests), and the manual rollback job of an
older pipeline returns prod to that pipeline's commit."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import commit_all

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "gitlab-ci.md"


def documented_pipeline() -> dict[str, Any]:
    """The first ```yaml block of docs/gitlab-ci.md that starts with `# .gitlab-ci.yml`."""
    text = DOC.read_text(encoding="utf-8")
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        if block.startswith("# .gitlab-ci.yml"):
            loaded: dict[str, Any] = yaml.safe_load(block)
            return loaded
    raise AssertionError("docs/gitlab-ci.md has no `# .gitlab-ci.yml` block")


class Runner:
    """Runs jobs of one pipeline (one commit of the project) like a GitLab shell runner."""

    def __init__(self, project: Path, pipeline: dict[str, Any], kubeconfig: str, context: str):
        self.project = project
        self.pipeline = pipeline
        self.cluster = {"KDEPLOY_KUBECONFIG": kubeconfig, "KDEPLOY_CONTEXT": context}

    def variables(self, job: dict[str, Any], commit: str, number: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KDEPLOY_", "CI_"))}
        env.update({k: str(v) for k, v in (self.pipeline.get("variables") or {}).items()})
        env.update(self.cluster)
        env.update(
            {
                "CI": "true",
                "GITLAB_CI": "true",
                "GITLAB_USER_LOGIN": "maintainer",
                "CI_PROJECT_DIR": str(self.project),
                "CI_PROJECT_PATH_SLUG": "shop-deploy",
                "CI_PROJECT_URL": "https://gitlab.example.com/shop/deploy",
                "CI_COMMIT_SHA": commit,
                "CI_COMMIT_SHORT_SHA": commit[:8],
                "CI_COMMIT_BRANCH": "main",
                "CI_COMMIT_REF_NAME": "main",
                "CI_DEFAULT_BRANCH": "main",
                "CI_PIPELINE_SOURCE": "push",
                "CI_PIPELINE_URL": f"https://gitlab.example.com/shop/deploy/-/pipelines/{number}",
                "CI_JOB_URL": f"https://gitlab.example.com/shop/deploy/-/jobs/{number}0",
                "CI_JOB_TOKEN": "glcbt-runner-job-token",
            }
        )
        environment = job.get("environment")
        if isinstance(environment, dict) and environment.get("name"):
            env["CI_ENVIRONMENT_NAME"] = environment["name"]
            env["CI_ENVIRONMENT_SLUG"] = re.sub(r"[^a-z0-9]+", "-", environment["name"].lower())
        return env

    def run(self, name: str, commit: str, number: int) -> subprocess.CompletedProcess[str]:
        """Check out `commit`, then run job `name`'s script lines in one bash -e, in the project."""
        subprocess.run(["git", "-C", str(self.project), "checkout", "-q", commit], check=True)
        job = self.pipeline[name]
        script = "\n".join(job["script"])
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=self.project,
            env=self.variables(job, commit, number),
            capture_output=True,
            text=True,
            timeout=600,
        )


def _context(kubeconfig: str) -> str:
    loaded = yaml.safe_load(Path(kubeconfig).read_text())
    return str(loaded["current-context"])


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A git work tree with the example project (packages/, environments/)."""
    project = tmp_path / "shop-deploy"
    for part in ("packages", "environments"):
        shutil.copytree(ROOT / part, project / part)
    # job artifacts are never committed
    (project / ".gitignore").write_text("*.xml\n*.json\n*.env\nmanifests/\n")
    return project


def _ok(result: subprocess.CompletedProcess[str], job: str) -> None:
    assert result.returncode == 0, f"job {job} failed:\n{result.stdout}\n{result.stderr}"


def test_the_documented_pipeline_runs_without_glue(example: Path, emulator: Any) -> None:
    pipeline = documented_pipeline()
    kubeconfig = str(emulator.kubeconfig_path)
    runner = Runner(example, pipeline, kubeconfig, _context(kubeconfig))
    first = commit_all(example, "first release")

    lint = runner.run("lint", first, 1)
    _ok(lint, "lint")
    assert (example / "lint-staging.xml").is_file() and (example / "lint-prod.xml").is_file()

    staging = runner.run("deploy-staging", first, 1)
    _ok(staging, "deploy-staging")
    report = json.loads((example / "deploy-staging.json").read_text())
    assert report["status"] == "succeeded"
    assert {r["status"] for r in report["releases"]} == {"deployed"}
    dotenv = (example / "deploy.env").read_text().splitlines()
    assert "KDEPLOY_STATUS=succeeded" in dotenv
    assert "KDEPLOY_ENVIRONMENT_URL=https://staging.shop.example.com" in dotenv
    assert (example / "manifests" / "web.yaml").is_file()
    _ok(runner.run("deploy-prod", first, 1), "deploy-prod")

    # the next commit, through a merge-request diff and both deploys
    values = example / "environments" / "prod.yaml"
    values.write_text(values.read_text().replace("replicas: 3", "replicas: 4", 1))
    second = commit_all(example, "more replicas")
    diff = runner.run("diff-staging", second, 2)
    _ok(diff, "diff-staging")
    assert "not a merge-request pipeline, no note posted" in diff.stderr
    assert json.loads((example / "diff-staging.json").read_text())["changes"] is True
    _ok(runner.run("deploy-staging", second, 2), "deploy-staging")
    _ok(runner.run("deploy-prod", second, 2), "deploy-prod")

    # incident: the maintainer runs the manual rollback job of the first pipeline
    rollback = runner.run("rollback-prod", first, 1)
    _ok(rollback, "rollback-prod")
    listed = subprocess.run(
        ["kdeploy", "releases", "-e", "prod", "-o", "json"],
        cwd=example,
        env=runner.variables({}, first, 1),
        capture_output=True,
        text=True,
        check=True,
    )
    releases = json.loads(listed.stdout)["releases"]
    assert {r["gitCommit"] for r in releases} == {first}
    history = subprocess.run(
        ["kdeploy", "history", "web", "-e", "prod", "-o", "json"],
        cwd=example,
        env=runner.variables({}, first, 1),
        capture_output=True,
        text=True,
        check=True,
    )
    newest = json.loads(history.stdout)["revisions"][-1]
    assert newest["description"].startswith("rollback to")
    assert newest["ci"]["pipelineUrl"].endswith("/pipelines/1")
    for text in (lint.stdout, staging.stderr, rollback.stderr, history.stdout):
        assert "glcbt-runner-job-token" not in text
