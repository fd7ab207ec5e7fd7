"""`kdeploy rollback -e ENV --all [--to-commit SHA]`: every release of an environment back to the
revisions of one git commit (or each to its previous one), chosen for all releases before any
change."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import NAMESPACE_TEMPLATE, ProjectBuilder, commit_all, kd, revisions

NS_PREFIX = "rbenv"


def _project(root: Path, kubeconfig: str) -> str:
    namespace = f"{NS_PREFIX}-{uuid.uuid4().hex[:8]}"
    proj = ProjectBuilder(root)
    proj.package("setup", templates={"namespace.yaml": NAMESPACE_TEMPLATE})
    proj.package("web", values={"greeting": "v1"})
    proj.environment(
        "staging",
        {
            "cluster": {"kubeconfig": kubeconfig},
            "namespace": namespace,
            "releases": {"setup": {"package": "setup"}, "web": {"package": "web"}},
        },
    )
    return namespace


def _two_commits(root: Path, kubeconfig: str) -> tuple[str, str]:
    """Deploy commit A (greeting v1), then commit B (greeting v2); returns (A, B)."""
    _project(root, kubeconfig)
    first = commit_all(root, "v1")
    assert kd(root, "apply", "-e", "staging", "--yes").code == 0
    values = root / "packages/web/values.yaml"
    values.write_text(yaml.safe_dump({"greeting": "v2"}), encoding="utf-8")
    second = commit_all(root, "v2")
    applied = kd(root, "apply", "-e", "staging", "--yes")
    assert applied.code == 0, applied.stderr
    return first, second


def test_rollback_all_to_commit_restores_each_release_of_that_commit(
    tmp_path: Path, emulator: Any
) -> None:
    first, _ = _two_commits(tmp_path, str(emulator.kubeconfig_path))

    result = kd(tmp_path, "rollback", "-e", "staging", "--all", "--to-commit", first[:10], "--yes")

    assert result.code == 0, result.stderr
    assert f"revision 1 of commit {first[:10]} is deployed already, skipped" in result.stderr
    web = revisions(tmp_path, "web", "staging")
    assert [(r["revision"], r["status"]) for r in web] == [
        (1, "superseded"),
        (2, "superseded"),
        (3, "deployed"),
    ]
    assert web[-1]["description"] == "rollback to 1"
    assert web[-1]["gitCommit"] == first
    manifest = kd(tmp_path, "get", "manifest", "web", "-e", "staging")
    assert "greeting: v1" in manifest.stdout


def test_an_unknown_commit_or_nothing_to_roll_back_changes_nothing(
    tmp_path: Path, emulator: Any
) -> None:
    _two_commits(tmp_path, str(emulator.kubeconfig_path))

    unknown = kd(tmp_path, "rollback", "-e", "staging", "--all", "--to-commit", "deadbeef00", "-y")
    default = kd(tmp_path, "rollback", "-e", "staging", "--all", "--yes")

    assert unknown.code == 1
    assert "no deployed revision of commit deadbeef00 for release(s) setup" in unknown.stderr
    assert "web (namespace" in unknown.stderr
    assert default.code == 1
    assert "nothing to roll back to for release(s) setup" in default.stderr
    assert "nothing was rolled back" in default.stderr
    assert [r["revision"] for r in revisions(tmp_path, "web", "staging")] == [1, 2]


def test_rollback_all_and_to_commit_are_checked_as_usage(tmp_path: Path, emulator: Any) -> None:
    _project(tmp_path, str(emulator.kubeconfig_path))
    for args in (
        ["web", "-e", "staging", "--all"],
        ["-e", "staging", "--all", "--to", "1"],
        ["-e", "staging", "--all", "--to-commit", "not-a-sha"],
        ["-e", "staging"],
    ):
        result = kd(tmp_path, "rollback", *args, "--yes")
        assert result.code == 64, (args, result.stderr)
