"""`kdeploy import helm` refuses a command line that cannot name the release's namespace, before
connecting to any cluster."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import ProjectBuilder, kd, run_kdeploy


def test_without_namespace_or_environment_it_is_a_usage_error() -> None:
    result = run_kdeploy("import", "helm", "web")
    assert result.code == 64
    assert "-n NAMESPACE (or --into ENV" in result.stderr


def test_into_an_environment_of_another_namespace_is_refused(tmp_path: Path) -> None:
    proj = ProjectBuilder(tmp_path)
    proj.package("shop", templates={})
    proj.environment("dev", {"namespace": "shop", "releases": {"web": {"package": "shop"}}})
    result = kd(tmp_path, "import", "helm", "web", "--into", "dev", "-n", "other", "--yes")
    assert result.code == 1
    assert "environment dev deploys release web to namespace shop, not other" in result.stderr
    assert "dev.yaml" in result.stderr
    assert "Cluster:" not in result.stderr  # never connected
