"""Who deployed and from which commit: user@host, GitLab CI job, git state of the project."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from kdeploy.history.identity import detect_identity, git_state, who_from_env
from tests.helpers import git


def test_gitlab_ci_records_user_and_job_url() -> None:
    env = {
        "GITLAB_CI": "true",
        "GITLAB_USER_LOGIN": "alice",
        "CI_JOB_URL": "https://gitlab.example/shop/-/jobs/4711",
        "CI_PIPELINE_URL": "https://gitlab.example/shop/-/pipelines/9",
    }
    assert who_from_env(env) == "alice https://gitlab.example/shop/-/jobs/4711"


def test_gitlab_ci_without_job_url_falls_back_to_pipeline() -> None:
    env = {"GITLAB_CI": "true", "CI_PIPELINE_URL": "https://gitlab.example/p/9"}
    assert who_from_env(env) == "gitlab-ci https://gitlab.example/p/9"


def test_outside_ci_records_user_at_host() -> None:
    who = who_from_env({})
    assert who.endswith("@" + socket.gethostname())
    assert len(who.split("@")[0]) > 0


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@needs_git
def test_git_commit_and_dirty_flag(tmp_path: Path) -> None:
    repo = tmp_path / "proj"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "a.txt").write_text("a")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "one")
    head = git(repo, "rev-parse", "HEAD")
    assert git_state(repo, {}) == (head, False)
    (repo / "a.txt").write_text("changed")
    assert git_state(repo, {}) == (head, True)
    identity = detect_identity(repo, {"GITLAB_CI": "true", "GITLAB_USER_LOGIN": "bob"})
    assert (identity.who, identity.git_commit, identity.git_dirty) == ("bob", head, True)


@needs_git
def test_a_jobs_own_output_files_do_not_make_the_tree_dirty(tmp_path: Path) -> None:
    # apply --report/--dotenv/--manifests-out write untracked files before the revision is made
    repo = tmp_path / "proj"
    (repo / "packages" / "web").mkdir(parents=True)
    (repo / "packages" / "web" / "package.yaml").write_text("name: web\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    head = git(repo, "rev-parse", "HEAD")
    (repo / "deploy-staging.json").write_text("{}")
    (repo / "deploy.env").write_text("A=1\n")
    (repo / "manifests").mkdir()
    (repo / "manifests" / "web.yaml").write_text("kind: ConfigMap\n")
    assert git_state(repo, {}) == (head, False)
    # an untracked template is a source: what is deployed is not the commit
    (repo / "packages" / "web" / "extra.yaml").write_text("kind: ConfigMap\n")
    assert git_state(repo, {}) == (head, True)


def test_no_git_work_tree_gives_none_or_the_ci_commit(tmp_path: Path) -> None:
    assert git_state(tmp_path, {}) == (None, None)
    assert git_state(tmp_path, {"CI_COMMIT_SHA": "deadbeef"}) == ("deadbeef", None)


@needs_git
def test_git_is_ancestor(tmp_path: Path) -> None:
    from kdeploy.history.identity import git_is_ancestor

    repo = tmp_path / "proj"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "commit", "-q", "--allow-empty", "-m", "one")
    one = git(repo, "rev-parse", "HEAD")
    git(repo, "commit", "-q", "--allow-empty", "-m", "two")
    two = git(repo, "rev-parse", "HEAD")
    assert git_is_ancestor(repo, one, two) is True
    assert git_is_ancestor(repo, two, one) is False
    assert git_is_ancestor(repo, one, "f" * 40) is None  # not in this clone
    assert git_is_ancestor(tmp_path, one, two) is None  # not a work tree
