"""Confirmation prompts on a terminal (docs/cli.md, "Exit codes"): answering no to apply,
rollback or uninstall changes nothing and exits 130, so a script never mistakes it for success;
answering yes goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import CONFIGMAP_TEMPLATE, LiveCluster, kd, kd_on_terminal, live_project

NS_PREFIX = "prompts"


@pytest.fixture
def project(tmp_path: Path, live: LiveCluster) -> Path:
    return live_project(
        tmp_path / "p",
        live.kubeconfig,
        live.ns,
        templates={"cm.yaml": CONFIGMAP_TEMPLATE},
        values={"greeting": "hello"},
    )


def _configmap(live: LiveCluster) -> dict[str, str] | None:
    from kdeploy.kube.client import ObjectRef

    obj = live.cluster.get(ObjectRef("v1", "ConfigMap", live.ns, "web-config"))
    return None if obj is None else dict(obj.get("data") or {})


def _revisions(live: LiveCluster) -> int:
    return len(live.cluster.list_by_labels("v1", "ConfigMap", live.ns, "kdeploy.dev/release=web"))


def test_declining_apply_changes_nothing_and_exits_130(project: Path, live: LiveCluster) -> None:
    result = kd_on_terminal(project, "apply", "-e", "dev", "--no-wait", answers="n\n")
    assert result.code == 130, result.stdout + result.stderr
    assert "[y/N]" in result.stderr
    assert (
        f"release web in namespace {live.ns}: not applied: the confirmation was declined; "
        "nothing was changed"
    ) in result.stderr
    assert _configmap(live) is None and _revisions(live) == 0

    agreed = kd_on_terminal(project, "apply", "-e", "dev", "--no-wait", answers="y\n")
    assert agreed.code == 0, agreed.stdout + agreed.stderr
    assert _configmap(live) is not None and _revisions(live) == 1


def test_declining_rollback_and_uninstall_changes_nothing_and_exits_130(
    project: Path, live: LiveCluster
) -> None:
    assert kd(project, "apply", "-e", "dev", "--yes", "--no-wait").code == 0
    changed = kd(project, "apply", "-e", "dev", "--yes", "--no-wait", "--set", "greeting=bye")
    assert changed.code == 0, changed.stderr
    before = _configmap(live)

    rollback = kd_on_terminal(project, "rollback", "web", "-e", "dev", "--to", "1", answers="n\n")
    assert rollback.code == 130, rollback.stdout + rollback.stderr
    assert "not rolled back to revision 1: the confirmation was declined" in rollback.stderr
    assert _configmap(live) == before and _revisions(live) == 2

    uninstall = kd_on_terminal(project, "uninstall", "web", "-e", "dev", answers="n\n")
    assert uninstall.code == 130, uninstall.stdout + uninstall.stderr
    assert "not uninstalled: the confirmation was declined" in uninstall.stderr
    assert _configmap(live) == before and _revisions(live) == 2
