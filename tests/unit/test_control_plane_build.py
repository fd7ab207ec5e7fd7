"""tests/controlplane/build.sh fails with a message naming the step: an unreachable module proxy
(step 'download modules') and a broken source file (step 'check the sources'), never silently. Both
fail fast: no module cache and no proxy; a syntax error found before any package is compiled."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "controlplane"

pytestmark = pytest.mark.skipif(shutil.which("go") is None, reason="needs a Go toolchain")


def copy_module(tmp_path: Path) -> Path:
    module = tmp_path / "controlplane"
    module.mkdir()
    for name in ("build.sh", "go.mod", "go.sum"):
        shutil.copy(SOURCE / name, module / name)
    shutil.copytree(SOURCE / "cmd", module / "cmd")
    return module


def build(module: Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(module / "build.sh")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={
            **os.environ,
            "KDEPLOY_CONTROL_PLANE_DIR": str(tmp_path / "bin"),
            "GOTOOLCHAIN": "local",
            **env,
        },
    )


def test_unreachable_proxy_fails_at_the_download_step(tmp_path: Path) -> None:
    module = copy_module(tmp_path)
    result = build(
        module,
        tmp_path,
        GOPROXY="http://127.0.0.1:9/",
        GOMODCACHE=str(tmp_path / "empty-modcache"),
        GOFLAGS="-modcacherw",
    )
    assert result.returncode == 1
    assert "FAILED at step 'download modules'" in result.stderr
    assert "is the Go module proxy (http://127.0.0.1:9/) reachable?" in result.stderr
    assert not (tmp_path / "bin").exists()
    shutil.rmtree(tmp_path / "empty-modcache", ignore_errors=True)


def test_broken_source_fails_at_the_check_step(tmp_path: Path) -> None:
    module = copy_module(tmp_path)
    main = module / "cmd" / "etcd" / "main.go"
    main.write_text(main.read_text() + "\nthis is not Go\n")
    # no module is needed before this step: it holds on a machine with an empty module cache
    result = build(module, tmp_path, GOPROXY="off", GOMODCACHE=str(tmp_path / "empty-modcache"))
    assert result.returncode == 1
    assert "FAILED at step 'check the sources'" in result.stderr
    assert "cmd/etcd/main.go:" in result.stderr and "expected declaration" in result.stderr
    assert not (tmp_path / "bin").exists()
