"""History as a user meets it when it is damaged, incomplete or forged: trimming that cannot delete,
orphaned companion Secrets, damaged old revisions, and revision records written by someone else
(docs/history.md, "Trust")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ProjectBuilder, kd

NS_PREFIX = "hist"


@pytest.fixture(scope="module")
def tls_emulator() -> Iterator[Any]:
    """An HTTPS emulator with a user `nodelete` (token `nodelete-token`) who may do everything
    but delete."""
    from kdeploy.emulator.app import Emulator

    emu = Emulator(
        tls=True,
        tokens={"nodelete-token": "nodelete"},
        allow={"nodelete": {"get", "list", "watch", "create", "update", "patch"}},
    )
    with emu:
        yield emu


def _with_token(emu: Any, path: Path, token: str) -> str:
    config = yaml.safe_load(Path(emu.kubeconfig_path).read_text())
    for user in config["users"]:
        user["user"]["token"] = token
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_trimming_that_cannot_delete_is_a_warning_not_a_failed_deploy(
    tmp_path: Path, tls_emulator: Any
) -> None:
    from kubernetes import client, config

    api = config.new_client_from_config(str(tls_emulator.kubeconfig_path))
    client.CoreV1Api(api).create_namespace({"metadata": {"name": "trim"}})
    api.close()
    proj = ProjectBuilder(tmp_path / "proj")
    proj.package("webapp")
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(tls_emulator.kubeconfig_path)},
            "namespace": "trim",
            "releases": {"web": {"package": "webapp"}},
        },
    )
    for greeting in ("one", "two"):
        done = kd(proj.root, "apply", "-e", "dev", "--yes", "--set", f"greeting={greeting}")
        assert done.code == 0, done.stderr
    nodelete = _with_token(tls_emulator, tmp_path / "nodelete.kubeconfig", "nodelete-token")

    result = kd(
        proj.root,
        "apply", "-e", "dev", "--yes", "--atomic", "--history-max", "1",
        "--kubeconfig", nodelete, "--set", "greeting=three",
    )  # fmt: skip

    assert result.code == 0, result.stderr
    assert "revision 3" in result.stderr and "deployed" in result.stderr
    assert "warning: could not trim the history of release web" in result.stderr, result.stderr
    assert "kdeploy.web.v1" in result.stderr and "Forbidden" in result.stderr
    assert "--atomic" not in result.stderr and "uninstall" not in result.stderr
    history = kd(proj.root, "history", "web", "-e", "dev", "-o", "json")
    statuses = [r["status"] for r in yaml.safe_load(history.stdout)["revisions"]]
    assert statuses == ["superseded", "superseded", "deployed"]
