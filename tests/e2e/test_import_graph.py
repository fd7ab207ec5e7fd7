"""Start-up cost: live commands import only what they use (docs/performance.md).

Each command runs in a fresh interpreter against the cluster, and reports which modules it had
imported when it finished. The `kubernetes` package's own `__init__` would import the dynamic client
(and with it kubernetes_validate and jsonschema), watch, stream (websocket) and more; kdeploy reads
plain JSON through `ApiClient`, so none of those, and none of the generated model classes, belong in
`history`, `get` or `status`; lint-only modules never belong in `render`, `diff` or `apply`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import kd, live_project

# Imported by `import kubernetes` but not needed by a command that reads plain JSON.
CLIENT_EXTRAS = (
    "kubernetes.dynamic",
    "kubernetes.watch",
    "kubernetes.stream",
    "kubernetes.leaderelection",
    "kubernetes.informer",
    "kubernetes_validate",
    "jsonschema",
    "websocket",
)
LINT_ONLY = ("kdeploy.lint", "kubernetes_validate", "jsonschema")
# Imported at module level by the client's kubeconfig loader and ApiClient, used only for an OIDC
# token refresh, typed responses and typed dates (kdeploy.kube.importing stands in for them).
LATE = ("pydantic", "requests", "requests_oauthlib", "oauthlib", "dateutil.parser")


def imported_by(root: Path, *args: str) -> tuple[int, set[str]]:
    """Run `kdeploy -C root ARGS` in a fresh interpreter; its exit code and the modules it had
    imported by then."""
    script = (
        "import json, sys\n"
        "from kdeploy.cli import main\n"
        "code = 0\n"
        "try:\n"
        f"    main(['-C', {str(root)!r}, *{list(args)!r}])\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    return int(report["code"] or 0), set(report["modules"])


def _loaded(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def _models(modules: set[str]) -> list[str]:
    """Generated model modules (kubernetes.client.models.v1_lease, ...), not the lazy package."""
    return sorted(m for m in modules if m.startswith("kubernetes.client.models."))


@pytest.fixture
def deployed(tmp_path: Path, emulator: Any, namespace: str) -> Path:
    root = live_project(tmp_path / "project", str(emulator.kubeconfig_path), namespace)
    result = kd(root, "apply", "-e", "dev", "--yes", "--no-wait")
    assert result.code == 0, result.stderr
    return root


@pytest.mark.parametrize(
    "command",
    [
        ("history", "web", "-e", "dev"),
        ("get", "values", "web", "-e", "dev"),
        ("status", "web", "-e", "dev"),
    ],
)
def test_read_only_commands_import_neither_client_extras_nor_models(
    deployed: Path, command: tuple[str, ...]
) -> None:
    code, modules = imported_by(deployed, *command)
    assert code == 0
    assert "kubernetes.config.kube_config" in modules  # the real client did the work
    assert _loaded(modules, CLIENT_EXTRAS) == []
    assert _models(modules) == []
    assert _loaded(modules, LATE) == []


@pytest.mark.parametrize(
    "command",
    [("render", "-e", "dev"), ("diff", "-e", "dev"), ("apply", "-e", "dev", "--yes", "--no-wait")],
)
def test_render_diff_and_apply_do_not_import_lint_or_client_extras(
    deployed: Path, command: tuple[str, ...]
) -> None:
    code, modules = imported_by(deployed, *command)
    assert code == 0
    assert _loaded(modules, LINT_ONLY) == []
    assert _loaded(modules, CLIENT_EXTRAS) == []
