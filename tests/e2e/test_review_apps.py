"""Review apps: one environment file whose namespace names a variable
(`namespace: review-${CI_ENVIRONMENT_SLUG}`), deployed and stopped by the jobs of
docs/gitlab-ci.md ("Fresh environments and review apps")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CONFIGMAP_TEMPLATE, LiveCluster, ProjectBuilder, kd

NS_PREFIX = "review"


@pytest.fixture
def project(tmp_path: Path, emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CI_ENVIRONMENT_SLUG", raising=False)
    proj = ProjectBuilder(tmp_path / "proj")
    proj.package("webapp", templates={"cm.yaml": CONFIGMAP_TEMPLATE}, values={"greeting": "hi"})
    proj.environment(
        "review",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig_path)},
            "namespace": "review-${CI_ENVIRONMENT_SLUG}",
            "releases": {"web": {"package": "webapp"}},
        },
    )
    return proj.root


def test_an_unset_variable_is_an_error_naming_file_and_variable(project: Path) -> None:
    result = kd(project, "render", "-e", "review")
    assert result.code == 1
    assert (
        "Error: environments/review.yaml: namespace: 'review-${CI_ENVIRONMENT_SLUG}' needs the "
        "variable CI_ENVIRONMENT_SLUG, which is not set" in result.stderr
    )
    assert result.stdout == ""


def test_a_value_that_makes_no_namespace_name_is_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI_ENVIRONMENT_SLUG", "MR_7")
    result = kd(project, "apply", "-e", "review", "--yes", "--create-namespace")
    assert result.code == 1
    assert "'review-MR_7' (from 'review-${CI_ENVIRONMENT_SLUG}') is not a valid namespace name" in (
        result.stderr
    )


def test_each_slug_deploys_and_stops_its_own_review_app(
    project: Path, emulator: Any, ns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = str(emulator.kubeconfig_path)
    first, second = f"{ns}-a", f"{ns}-b"
    for slug in (first, second):
        monkeypatch.setenv("CI_ENVIRONMENT_SLUG", slug)
        result = kd(project, "apply", "-e", "review", "--yes", "--no-wait", "--create-namespace")
        assert result.code == 0, result.stderr
        assert f"review-{slug}" in result.stdout + result.stderr
    for slug in (first, second):
        cm = LiveCluster(kubeconfig, f"review-{slug}").object("ConfigMap", "web-config")
        assert cm is not None and cm["data"]["greeting"] == "hi"
    # the stop job of the first review app removes it and leaves the second alone
    monkeypatch.setenv("CI_ENVIRONMENT_SLUG", first)
    stop = kd(project, "uninstall", "-e", "review", "--all", "--yes", "--delete-namespaces")
    assert stop.code == 0, stop.stderr
    assert LiveCluster(kubeconfig, f"review-{first}").object("ConfigMap", "web-config") is None
    kept = LiveCluster(kubeconfig, f"review-{second}").object("ConfigMap", "web-config")
    assert kept is not None
