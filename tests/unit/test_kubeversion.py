"""kubeVersion constraints: the parser and matcher, package.yaml errors, and the lint rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kdeploy.kubeversion import ConstraintSyntaxError, parse_constraint, parse_version
from tests.helpers import ProjectBuilder, kd


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.28", (1, 28, 0)),
        ("v1.28.3", (1, 28, 3)),
        ("1.28.3-eks-abc", (1, 28, 3)),
        ("v1.30.2+k3s1", (1, 30, 2)),
        ("1", (1, 0, 0)),
    ],
)
def test_parse_version(text: str, expected: tuple[int, int, int]) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["", "x1.28", "1.28.x", "one", "1..2"])
def test_parse_version_rejects(text: str) -> None:
    with pytest.raises(ConstraintSyntaxError, match="not a version"):
        parse_version(text)


@pytest.mark.parametrize(
    ("constraint", "version", "allowed"),
    [
        (">=1.28", "1.28.0", True),
        (">=1.28", "v1.28.3-eks-abc", True),
        (">=1.28", "1.27.9", False),
        (">1.28", "1.28.9", False),
        (">1.28", "1.29.0", True),
        (">1.28.3", "1.28.4", True),
        ("<1.36", "1.35.9", True),
        ("<1.36", "1.36.0", False),
        ("<=1.28", "1.28.7", True),
        ("<=1.28", "1.29.0", False),
        ("=1.28", "1.28.5", True),
        ("1.28", "1.29.0", False),
        ("!=1.29", "1.29.1", False),
        ("!=1.29", "1.30.0", True),
        (">=1.27 <1.36", "1.31.0", True),
        (">=1.27 <1.36", "1.36.1", False),
        (">=1.27, <1.36", "1.26.0", False),
        (">= 1.27, < 1.36", "1.30.0", True),
        ("<1.25 || >=1.30", "1.24.0", True),
        ("<1.25 || >=1.30", "1.27.0", False),
        ("<1.25 || >=1.30", "1.30.0", True),
        (">=1.28.0-0", "1.28.0", True),
    ],
)
def test_constraint_matching(constraint: str, version: str, allowed: bool) -> None:
    assert parse_constraint(constraint).allows(parse_version(version)) is allowed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("~1.28", '"~1.28" is not a comparison'),
        (">=", 'operator ">=" has no version'),
        (">= || <1.2", 'operator ">=" has no version'),
        (">=1.28 ||", "empty alternative"),
        ("=>1.28", '"=>1.28" is not a comparison'),
        (">=1.28 banana", '"banana" is not a comparison'),
    ],
)
def test_constraint_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(ConstraintSyntaxError, match=message):
        parse_constraint(text)


def _project(tmp_path: Path, kube_version: str) -> Path:
    proj = ProjectBuilder(tmp_path)
    proj.package(
        "webapp",
        meta={"name": "webapp", "version": "1.0.0", "kubeVersion": kube_version},
    )
    proj.environment("dev", {"namespace": "shop", "releases": {"web": {"package": "webapp"}}})
    return tmp_path


def test_invalid_constraint_is_an_error_naming_package_yaml(tmp_path: Path) -> None:
    result = kd(_project(tmp_path, ">=1.28 <<1.30"), "render", "-e", "dev")
    assert result.code == 1
    assert "packages/webapp/package.yaml" in result.stderr
    assert 'kubeVersion ">=1.28 <<1.30" is not a valid constraint' in result.stderr
    assert "Traceback" not in result.stderr


def test_lint_reports_unsatisfied_constraint(tmp_path: Path) -> None:
    project = _project(tmp_path, ">=1.27 <1.30")
    result = kd(project, "lint", "-e", "dev", "--kube-version", "1.31", "-o", "json")
    assert result.code == 1, result.stderr
    found = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "kube-version"]
    assert len(found) == 1
    assert found[0]["severity"] == "error"
    assert found[0]["source"] == "packages/webapp/package.yaml"
    assert 'requires Kubernetes ">=1.27 <1.30"' in found[0]["message"]
    assert "target version is 1.31" in found[0]["message"]


def test_lint_passes_satisfied_constraint(tmp_path: Path) -> None:
    project = _project(tmp_path, ">=1.27 <1.30")
    result = kd(project, "lint", "-e", "dev", "--kube-version", "1.29", "-o", "json")
    rules = {f["rule"] for f in json.loads(result.stdout)["findings"]}
    assert "kube-version" not in rules


def test_lint_default_version_checks_constraint(tmp_path: Path) -> None:
    # the newest bundled version is far above 1.20
    result = kd(_project(tmp_path, "<1.20"), "lint", "-e", "dev")
    assert result.code == 1
    assert "kube-version" in result.stdout
    assert "packages/webapp/package.yaml" in result.stdout


def test_lint_kube_version_can_be_disabled_per_package(tmp_path: Path) -> None:
    proj = ProjectBuilder(tmp_path)
    proj.package(
        "webapp",
        meta={
            "name": "webapp",
            "version": "1.0.0",
            "kubeVersion": "<1.20",
            "lint": {"disable": ["kube-version"]},
        },
    )
    proj.environment("dev", {"namespace": "shop", "releases": {"web": {"package": "webapp"}}})
    result = kd(tmp_path, "lint", "-e", "dev", "-o", "json")
    rules = {f["rule"] for f in json.loads(result.stdout)["findings"]}
    assert "kube-version" not in rules
    assert "lint-config" not in rules
