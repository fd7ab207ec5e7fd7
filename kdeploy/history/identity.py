"""Who is deploying, from where, and from which source commit (recorded with each revision)."""

from __future__ import annotations

import getpass
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Identity:
    """The deployer and the source tree of a revision. `git_commit`/`git_dirty` are None when the
    project is not in a git work tree (or git is not installed)."""

    who: str
    git_commit: str | None = None
    git_dirty: bool | None = None
    # where the deployment came from in CI (ci_trace): pipeline, job, merge request, ref
    ci: tuple[tuple[str, str], ...] = ()


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the default clock)."""
    return datetime.now(UTC)


def format_time(when: datetime) -> str:
    """RFC 3339 UTC with seconds, e.g. `2026-11-23T12:00:05Z`."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def who_from_env(env: Mapping[str, str]) -> str:
    """`user@host`, or inside GitLab CI `<GITLAB_USER_LOGIN> <CI_JOB_URL>` (falling back to the
    pipeline URL) so a revision links to the job that made it."""
    if env.get("GITLAB_CI") == "true":
        user = env.get("GITLAB_USER_LOGIN") or "gitlab-ci"
        link = env.get("CI_JOB_URL") or env.get("CI_PIPELINE_URL")
        return f"{user} {link}" if link else user
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = env.get("USER") or "unknown"
    return f"{user}@{socket.gethostname()}"


def git_state(directory: Path, env: Mapping[str, str]) -> tuple[str | None, bool | None]:
    """(HEAD commit, dirty) of the git work tree holding `directory`. Without git or outside a work
    tree: the GitLab CI commit (`CI_COMMIT_SHA`, dirty unknown) or (None, None)."""
    head = _git(directory, "rev-parse", "HEAD")
    if head is None:
        return (env.get("CI_COMMIT_SHA") or None, None)
    # dirty: a tracked file changed anywhere, or an untracked file among the sources a render
    # reads (packages/, environments/); untracked output of a job (kdeploy's own --report,
    # --dotenv, --manifests-out files, JUnit reports) is not
    tracked = _git(directory, "status", "--porcelain", "--untracked-files=no")
    sources = _git(
        directory,
        "status",
        "--porcelain",
        "--untracked-files=all",
        "--",
        "packages",
        "environments",
    )
    if tracked is None or sources is None:
        return (head, None)
    return (head, bool(tracked) or bool(sources))


def git_is_ancestor(directory: Path, older: str, newer: str) -> bool | None:
    """Whether commit `older` is an ancestor of (or equal to) commit `newer` in the git work tree
    holding `directory`; None when git cannot tell (no git, no work tree, or either commit is not
    in this clone, e.g. a shallow CI clone)."""
    for commit in (older, newer):
        if _git(directory, "cat-file", "-e", f"{commit}^{{commit}}") is None:
            return None
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), "merge-base", "--is-ancestor", older, newer],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return {0: True, 1: False}.get(done.returncode)


def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def ci_trace(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """(field, value) pairs that link a revision to the GitLab CI run that made it: pipeline and
    job URL, merge request, branch or tag, CI environment. Only these named, non-secret
    predefined variables are read (never CI_JOB_TOKEN or any other)."""
    fields = {
        "pipelineUrl": env.get("CI_PIPELINE_URL", ""),
        "jobUrl": env.get("CI_JOB_URL", ""),
        "ref": env.get("CI_COMMIT_REF_NAME", ""),
        "ciEnvironment": env.get("CI_ENVIRONMENT_NAME", ""),
    }
    iid = env.get("CI_MERGE_REQUEST_IID", "")
    if iid:
        project = env.get("CI_MERGE_REQUEST_PROJECT_URL") or env.get("CI_PROJECT_URL", "")
        fields["mergeRequest"] = f"{project}/-/merge_requests/{iid}" if project else f"!{iid}"
    return tuple((k, v) for k, v in fields.items() if v)


def detect_identity(directory: Path, env: Mapping[str, str]) -> Identity:
    """The identity of a deployment started in `directory` with environment `env`."""
    commit, dirty = git_state(directory, env)
    return Identity(who=who_from_env(env), git_commit=commit, git_dirty=dirty, ci=ci_trace(env))
