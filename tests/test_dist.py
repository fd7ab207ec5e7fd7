"""`make dist`: the wheel and the single-file zipapp. The zipapp is built once, then run by the
plain interpreter (no virtualenv, no site-packages: `python -I -S kdeploy.pyz`) through the whole
README demo (render, lint, apply, diff, history, rollback, status) against the emulator."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        ["make", "-s", "-C", str(REPO), "dist", f"DIST={out}"],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    yield out


def _plain_python() -> str:
    """The interpreter the test's virtualenv was made from: Python without kdeploy installed."""
    return str(getattr(sys, "_base_executable", sys.executable))


def _runner(tmp_path: Path, pyz: Path) -> Path:
    """An executable that runs the zipapp with the plain interpreter, isolated from every
    site-packages directory and PYTHONPATH, as a machine without kdeploy installed would."""
    script = tmp_path / "kdeploy"
    script.write_text(f'#!/bin/sh\nexec "{_plain_python()}" -I -S "{pyz}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_dist_builds_a_wheel_and_a_zipapp(dist: Path) -> None:
    names = sorted(p.name for p in dist.iterdir())
    assert names == ["kdeploy-0.1.0-py3-none-any.whl", "kdeploy.pyz"]


def test_the_zipapp_runs_the_demo_on_a_plain_python(
    dist: Path, tmp_path: Path, emulator: Any
) -> None:
    runner = _runner(tmp_path, dist / "kdeploy.pyz")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    }
    # the zipapp unpacks its dependencies once, here
    env["SHIV_ROOT"] = str(tmp_path / "shiv")
    version = subprocess.run(
        [str(runner), "--version"], env=env, capture_output=True, text=True, timeout=300
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == "kdeploy, version 0.1.0"
    env.update(
        KDEPLOY_BIN=str(runner),
        KDEPLOY_DEMO_KUBECONFIG=str(emulator.kubeconfig_path),
        KDEPLOY_DEMO_OUT=str(tmp_path / "demo"),
    )
    result = subprocess.run(
        ["bash", str(REPO / ".ci" / "demo.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "kdeploy rollback web --to 1 -n demo --yes" in out
    assert "Done. Rendered manifests are in" in out
