"""Golden tests: each example environment renders exactly to tests/golden/<env>.yaml.

A mismatch fails with a diff. When the change is intended, regenerate and review:

    KDEPLOY_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py
    git diff tests/golden/
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN_DIR = ROOT / "tests" / "golden"
ENVIRONMENTS = sorted(p.stem for p in (ROOT / "environments").glob("*.yaml"))
UPDATE = os.environ.get("KDEPLOY_UPDATE_GOLDEN") == "1"
REGENERATE = "KDEPLOY_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py"
MAX_DIFF_LINES = 200


def render(env: str) -> str:
    """stdout of `kdeploy -C <repo> render -e ENV`, run as a user would run it."""
    result = subprocess.run(
        [sys.executable, "-m", "kdeploy.cli", "-C", str(ROOT), "render", "-e", env],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"kdeploy render -e {env} failed:\n{result.stderr}"
    return result.stdout


def test_examples_exist() -> None:
    assert {"dev", "local", "prod", "staging"} <= set(ENVIRONMENTS)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_example_environment_renders_as_its_golden_file(env: str) -> None:
    actual = render(env)
    golden = GOLDEN_DIR / f"{env}.yaml"
    if UPDATE:
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
        return
    if not golden.exists():
        pytest.fail(f"{golden.relative_to(ROOT)} is missing; create it with: {REGENERATE}")
    expected = golden.read_text(encoding="utf-8")
    if actual != expected:
        diff = list(
            difflib.unified_diff(
                expected.splitlines(),
                actual.splitlines(),
                fromfile=f"tests/golden/{env}.yaml (expected)",
                tofile=f"kdeploy render -e {env} (actual)",
                lineterm="",
            )
        )
        shown = diff[:MAX_DIFF_LINES]
        if len(diff) > MAX_DIFF_LINES:
            shown.append(f"... {len(diff) - MAX_DIFF_LINES} more diff lines")
        pytest.fail(
            f"kdeploy render -e {env} differs from tests/golden/{env}.yaml:\n"
            + "\n".join(shown)
            + f"\n\nIf the change is intended, regenerate the golden files and review them:\n"
            f"  {REGENERATE}\n  git diff tests/golden/",
            pytrace=False,
        )


def test_every_golden_file_belongs_to_an_environment() -> None:
    stale = sorted(p.name for p in GOLDEN_DIR.glob("*.yaml") if p.stem not in ENVIRONMENTS)
    assert not stale, f"golden files without an environment (delete them): {stale}"
