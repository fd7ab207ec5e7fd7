"""Deploy order as users meet it: two pipelines that wait for the lock deploy in the order they
get it, so the older commit could land last. `apply --if-newer` (on by default when CI=true)
refuses a commit that is an ancestor of the deployed one; `--allow-older` deploys it anyway; an
environment-wide lock keeps two applies of one environment from interleaving release by release.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CONFIGMAP_TEMPLATE as CONFIGMAP
from tests.helpers import LiveCluster, ProjectBuilder, commit_all, git, kd, revisions

NS_PREFIX = "deploy-order"

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def greeting(live: LiveCluster) -> str:
    from kdeploy.kube.client import ObjectRef

    cm = live.cluster.get(ObjectRef("v1", "ConfigMap", live.ns, "web-config"))
    assert cm is not None
    return str(cm["data"]["greeting"])


@pytest.fixture
def two_commits(tmp_path: Path, emulator: Any, ns: str) -> tuple[Path, str, str]:
    """A git project whose newer commit (greeting "new") is deployed; the work tree is then
    checked out at the older commit (greeting "old"), as the slower of two pipelines has it."""
    root = tmp_path / "project"
    proj = ProjectBuilder(root)
    proj.package("webapp", templates={"configmap.yaml": CONFIGMAP}, values={"greeting": "old"})
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig_path)},
            "namespace": ns,
            "releases": {"web": {"package": "webapp"}},
        },
    )
    older = commit_all(root, "old")
    (root / "packages" / "webapp" / "values.yaml").write_text("greeting: new\n")
    newer = commit_all(root, "new")
    deployed = kd(root, "apply", "-e", "dev", "--yes")
    assert deployed.code == 0, deployed.stderr
    git(root, "checkout", "-q", older)
    return root, older, newer


@needs_git
def test_in_ci_an_older_commit_is_refused_naming_both(
    two_commits: tuple[Path, str, str], live: LiveCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, older, newer = two_commits
    monkeypatch.setenv("CI", "true")

    result = kd(project, "apply", "-e", "dev", "--yes")

    assert result.code == 1, result.stderr
    assert (
        f"Error: release web in namespace {live.ns} runs commit {newer[:12]} (revision 1, "
        "deployed by "
    ) in result.stderr
    assert (
        f"this apply is from commit {older[:12]}, an ancestor of it: refusing to deploy an older "
        "commit over a newer one (--if-newer, on by default in CI); nothing was changed"
    ) in result.stderr
    assert "pass --allow-older" in result.stderr
    assert greeting(live) == "new"
    assert len(revisions(project)) == 1


@needs_git
def test_allow_older_deploys_it_on_purpose(
    two_commits: tuple[Path, str, str], live: LiveCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, older, _ = two_commits
    monkeypatch.setenv("CI", "true")

    result = kd(project, "apply", "-e", "dev", "--yes", "--allow-older")

    assert result.code == 0, result.stderr
    assert greeting(live) == "old"
    assert revisions(project)[-1]["gitCommit"] == older


@needs_git
def test_outside_ci_only_if_newer_asks_for_the_check(
    two_commits: tuple[Path, str, str], live: LiveCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, _, _ = two_commits
    monkeypatch.delenv("CI", raising=False)

    refused = kd(project, "apply", "-e", "dev", "--yes", "--if-newer")
    assert refused.code == 1, refused.stderr
    assert greeting(live) == "new"

    plain = kd(project, "apply", "-e", "dev", "--yes")
    assert plain.code == 0, plain.stderr
    assert greeting(live) == "old"


@needs_git
def test_the_same_or_a_newer_commit_is_deployed(
    two_commits: tuple[Path, str, str], live: LiveCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, _, newer = two_commits
    monkeypatch.setenv("CI", "true")
    git(project, "checkout", "-q", newer)
    (project / "packages" / "webapp" / "values.yaml").write_text("greeting: newest\n")
    commit_all(project, "newest")

    result = kd(project, "apply", "-e", "dev", "--yes")

    assert result.code == 0, result.stderr
    assert greeting(live) == "newest"


@needs_git
def test_a_deployed_commit_missing_from_the_clone_is_deployed_with_a_warning(
    two_commits: tuple[Path, str, str], live: LiveCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shallow CI clone may lack the deployed commit: git cannot tell the order then."""
    project, _, newer = two_commits
    monkeypatch.setenv("CI", "true")
    shutil.rmtree(project / ".git")
    commit_all(project, "a clone without the deployed commit")

    result = kd(project, "apply", "-e", "dev", "--yes")

    assert result.code == 0, result.stderr
    assert (
        "warning: --if-newer: cannot tell whether commit " in result.stderr
        and f"is older than commit {newer[:12]} of revision 1 of release web in namespace "
        f"{live.ns}: it is not in this clone"
        in result.stderr
    ), result.stderr
    assert greeting(live) == "old"


@pytest.fixture
def env_project(tmp_path: Path, emulator: Any, ns: str) -> Path:
    """Environment dev with two releases, web and api, in one namespace."""
    root = tmp_path / "envproject"
    proj = ProjectBuilder(root)
    proj.package("webapp", templates={"configmap.yaml": CONFIGMAP}, values={"greeting": "hi"})
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig_path)},
            "namespace": ns,
            "releases": {"web": {"package": "webapp"}, "api": {"package": "webapp"}},
        },
    )
    return root


def other_pipeline(emulator: Any, ns: str) -> Any:
    """Another deployer holding the lock of environment dev (as a running apply does)."""
    from kdeploy.kube.config import ClusterTarget, new_api_client
    from kdeploy.lock import ReleaseLock

    api = new_api_client(ClusterTarget(kubeconfig=str(emulator.kubeconfig_path)))
    return ReleaseLock(
        api,
        "dev",
        ns,
        "ci-bot https://gitlab.example/shop/-/jobs/41",
        operation="apply",
        host="runner-3",
        renew_every=3600,
        kind="environment",
    )


def test_an_apply_of_an_environment_being_deployed_waits_for_it(
    env_project: Path, emulator: Any, ns: str
) -> None:
    holder = other_pipeline(emulator, ns)
    holder.acquire()
    try:
        refused = kd(env_project, "apply", "-e", "dev", "--yes")
    finally:
        holder.release()

    assert refused.code == 3, refused.stderr
    assert (
        f"Error: environment dev in namespace {ns} is locked by ci-bot "
        "https://gitlab.example/shop/-/jobs/41 (pid "
    ) in refused.stderr
    assert f"(Lease {ns}/kdeploy-env-lock.dev)" in refused.stderr
    assert f"kubectl delete lease kdeploy-env-lock.dev -n {ns}" in refused.stderr
    for release in ("web", "api"):  # nothing was deployed
        assert kd(env_project, "history", release, "-e", "dev").code != 0

    after = kd(env_project, "apply", "-e", "dev", "--yes")
    assert after.code == 0, after.stderr
    from kdeploy.lock import read_lock

    assert read_lock(holder.api_client, "dev", ns) is None  # released (and no release Lease left)


def test_wait_for_lock_waits_for_the_whole_other_apply(
    env_project: Path, emulator: Any, ns: str
) -> None:
    import threading

    holder = other_pipeline(emulator, ns)
    holder.acquire()
    released_at: list[float] = []

    def finish_other() -> None:
        import time

        time.sleep(2.0)
        released_at.append(time.monotonic())
        holder.release()

    thread = threading.Thread(target=finish_other)
    thread.start()
    try:
        result = kd(env_project, "apply", "-e", "dev", "--yes", "--wait-for-lock=30s")
    finally:
        thread.join()
    assert result.code == 0, result.stderr
    assert f"environment dev in namespace {ns} is locked by ci-bot" in result.stderr
    assert "waiting up to 30s (--wait-for-lock)" in result.stderr
    for release in ("web", "api"):
        assert len(revisions(env_project, release)) == 1


def test_an_apply_of_one_release_needs_only_that_release_lock(
    env_project: Path, emulator: Any, ns: str
) -> None:
    # one release is one step under its own lock: another apply of the environment deploys it
    # wholly before or wholly after, so the environment lock (and its two requests) is not taken
    holder = other_pipeline(emulator, ns)
    holder.acquire()
    try:
        single = kd(env_project, "apply", "-e", "dev", "api", "--yes")
    finally:
        holder.release()
    assert single.code == 0, single.stderr
    assert "is locked" not in single.stderr
    assert len(revisions(env_project, "api")) == 1
