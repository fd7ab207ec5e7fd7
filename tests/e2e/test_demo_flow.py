"""The README's demo flow (`make demo`, i.e. .ci/demo.sh) on the test cluster: render and lint the
example environments, apply `local`, diff (no changes), change a value, apply revision 2, show the
history, roll back to revision 1 from a directory without project files, show the status. On the
real control plane this is the demo as a user would run it against a cluster."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_readme_demo_flow_runs_on_the_test_cluster(emulator: Any, tmp_path: Path) -> None:
    kdeploy = shutil.which("kdeploy")
    assert kdeploy, "kdeploy is not on PATH"
    env = {
        **os.environ,
        "KDEPLOY_BIN": kdeploy,
        "KDEPLOY_DEMO_KUBECONFIG": str(emulator.kubeconfig_path),
        "KDEPLOY_DEMO_OUT": str(tmp_path / "demo"),
    }
    result = subprocess.run(
        ["bash", str(REPO / ".ci" / "demo.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "kdeploy rollback web --to 1 -n demo --yes" in out
    history = out.split("revision 3: rollback to 1")[-1]
    assert "rollback" in history.lower(), out[-4000:]
    assert "Done. Rendered manifests are in" in out
