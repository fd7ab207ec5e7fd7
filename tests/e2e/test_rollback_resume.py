"""What a rollback records and how a re-run finishes it, as users meet it against the emulator:

- a rollback records the git commit of the revision it restores, not the commit of the directory
  it happens to run in (a rollback is often run from a newer checkout, or from no project at all);
- a rollback killed half-way is finished by the next `kdeploy rollback` without `--to`, instead of
  rolling back to the revision the killed run was moving away from.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CONFIGMAP_TEMPLATE as CONFIGMAP
from tests.helpers import LiveCluster, commit_all, kd, live_project, revisions
from tests.reliability.test_crash_recovery import run_with_kill

NS_PREFIX = "rollback-resume"

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def greeting(live: LiveCluster) -> str:
    from kdeploy.kube.client import ObjectRef

    cm = live.cluster.get(ObjectRef("v1", "ConfigMap", live.ns, "web-config"))
    assert cm is not None
    return str(cm["data"]["greeting"])


def two_revisions(root: Path, kubeconfig: str, ns: str) -> Path:
    """Release web at revision 2 (greeting "bad") over revision 1 (greeting "good")."""
    project = live_project(
        root, kubeconfig, ns, templates={"configmap.yaml": CONFIGMAP}, values={"greeting": "good"}
    )
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    bad = kd(project, "apply", "-e", "dev", "--yes", "--set", "greeting=bad")
    assert bad.code == 0, bad.stderr
    return project


@needs_git
def test_rollback_records_the_commit_of_the_revision_it_restores(
    tmp_path: Path, emulator: Any, ns: str
) -> None:
    project = live_project(
        tmp_path / "project",
        str(emulator.kubeconfig_path),
        ns,
        templates={"configmap.yaml": CONFIGMAP},
        values={"greeting": "one"},
    )
    first = commit_all(project, "one")
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    (project / "packages" / "webapp" / "values.yaml").write_text("greeting: two\n")
    second = commit_all(project, "two")
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    newer = commit_all(project, "an unrelated later commit")

    result = kd(project, "rollback", "web", "-e", "dev", "--to", "1", "--yes")

    assert result.code == 0, result.stderr
    listed = revisions(project)
    assert [r["gitCommit"] for r in listed] == [first, second, first]
    assert listed[2]["description"] == "rollback to 1"
    assert newer not in {r["gitCommit"] for r in listed}


def test_rerun_of_a_killed_rollback_finishes_it(
    tmp_path: Path, own_emulator: Any, ns: str, live: LiveCluster
) -> None:
    project = two_revisions(tmp_path / "project", str(own_emulator.kubeconfig_path), ns)
    args = ["-C", str(project), "rollback", "web", "-e", "dev", "--yes", "--no-wait"]

    # killed right after it recorded revision 3 (pending) and changed the ConfigMap back
    killed = run_with_kill(
        own_emulator,
        "kill-after",
        1,
        args,
        method="PATCH",
        path=rf"/namespaces/{ns}/configmaps/web-config(\?(?!.*dryRun)|$)",
    )
    assert killed.returncode == -9, killed.stderr
    assert greeting(live) == "good"
    assert [r["status"] for r in revisions(project)] == ["superseded", "deployed", "pending"]

    rerun = kd(project, "rollback", "web", "-e", "dev", "--yes", "--no-wait")

    assert rerun.code == 0, rerun.stderr
    assert (
        "Revision 3 of release web (rollback to 1) did not finish (interrupted); finishing it: "
        "rolling back to revision 1 again"
    ) in rerun.stderr
    assert greeting(live) == "good"
    listed = revisions(project)
    assert [(r["status"], r["rollbackTo"], r["result"][:11]) for r in listed[2:]] == [
        ("failed", 1, "interrupted"),
        ("deployed", 1, "0 created, "),
    ]


def test_rerun_of_a_rollback_killed_before_any_change_finishes_it(
    tmp_path: Path, own_emulator: Any, ns: str, live: LiveCluster
) -> None:
    project = two_revisions(tmp_path / "project", str(own_emulator.kubeconfig_path), ns)
    args = ["-C", str(project), "rollback", "web", "-e", "dev", "--yes", "--no-wait"]

    killed = run_with_kill(
        own_emulator,
        "kill",
        1,
        args,
        method="PATCH",
        path=rf"/namespaces/{ns}/configmaps/web-config(\?(?!.*dryRun)|$)",
    )
    assert killed.returncode == -9, killed.stderr
    assert greeting(live) == "bad"

    rerun = kd(project, "rollback", "web", "-e", "dev", "--yes", "--no-wait")

    assert rerun.code == 0, rerun.stderr
    assert greeting(live) == "good"
    assert revisions(project)[-1]["description"] == "rollback to 1"
