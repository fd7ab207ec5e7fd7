"""The project built step by step in docs/getting-started.md works as the guide says.

Every code block preceded by `<!-- file: PATH -->` in the guide is written to PATH in a temporary
project, so the guide and this test cannot drift apart.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "getting-started.md"
FILE_BLOCK = re.compile(r"<!-- file: (?P<path>\S+) -->\n```\w*\n(?P<body>.*?)\n```", re.DOTALL)


@pytest.fixture
def hello_project(tmp_path: Path) -> Path:
    blocks = FILE_BLOCK.findall(GUIDE.read_text(encoding="utf-8"))
    assert len(blocks) >= 6, "the guide lost its <!-- file: ... --> markers"
    for rel, body in blocks:
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body + "\n", encoding="utf-8")
    return tmp_path


def kdeploy(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kdeploy.cli", "-C", str(project), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def deployment(project: Path, env: str) -> dict[str, Any]:
    result = kdeploy(project, "render", "-e", env)
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert [d["kind"] for d in docs] == ["Deployment"]
    return docs[0]


def test_guide_project_renders_prod_and_staging(hello_project: Path) -> None:
    prod = deployment(hello_project, "prod")
    staging = deployment(hello_project, "staging")
    assert prod["metadata"]["namespace"] == "hello"
    assert prod["spec"]["replicas"] == 3
    assert staging["metadata"]["namespace"] == "hello-staging"
    assert staging["spec"]["replicas"] == 1
    env = staging["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "MESSAGE", "value": "Hello from staging"}]
    assert staging["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kdeploy"


def test_guide_project_lint_warns_only_about_the_missing_pdb_in_prod(hello_project: Path) -> None:
    prod = kdeploy(hello_project, "lint", "-e", "prod", "--output", "json")
    assert prod.returncode == 0, prod.stderr
    findings = [f for f in json.loads(prod.stdout)["findings"] if f["severity"] != "info"]
    assert [(f["rule"], f["severity"]) for f in findings] == [("pdb-for-replicas", "warning")]

    staging = kdeploy(hello_project, "lint", "-e", "staging", "--output", "json")
    assert staging.returncode == 0, staging.stderr
    assert [f for f in json.loads(staging.stdout)["findings"] if f["severity"] != "info"] == []
