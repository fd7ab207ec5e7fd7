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


SECRET_CONFIG = {
    "secret.yaml": """\
        apiVersion: v1
        kind: Secret
        metadata:
          name: {{ release.name }}-creds
        stringData:
          password: {{ values.password | quote }}
        """,
}


def _secret_project(root: Path, kubeconfig: str, namespace: str) -> Path:
    import textwrap

    from tests.helpers import live_project

    return live_project(
        root,
        kubeconfig,
        namespace,
        templates={k: textwrap.dedent(v) for k, v in SECRET_CONFIG.items()},
        values={"password": "pw-1"},
    )


def _revision_secrets(live: Any) -> list[str]:
    from kubernetes import client

    items = client.CoreV1Api(live.api).list_namespaced_secret(live.ns).items
    return sorted(s.metadata.name for s in items if s.type == "kdeploy.dev/revision-secrets")


def _delete_configmap(live: Any, name: str) -> None:
    from kubernetes import client

    client.CoreV1Api(live.api).delete_namespaced_config_map(name, live.ns)


def test_orphaned_revision_secrets_are_reported_by_status_and_removed_by_trim_and_uninstall(
    tmp_path: Path, own_emulator: Any, ns: str, live: Any
) -> None:
    from kdeploy.emulator.types import FaultRule

    proj = _secret_project(tmp_path / "p", str(own_emulator.kubeconfig_path), ns)
    for n in range(1, 4):
        done = kd(proj, "apply", "-e", "dev", "--yes", "--set", f"password=pw-{n}")
        assert done.code == 0, done.stderr
    assert _revision_secrets(live) == ["kdeploy.web.v1", "kdeploy.web.v2", "kdeploy.web.v3"]

    # a revision ConfigMap deleted by hand leaves its companion Secret (plaintext secrets) behind
    _delete_configmap(live, "kdeploy.web.v1")
    status = kd(proj, "status", "web", "-e", "dev")
    assert "Secret " + ns + "/kdeploy.web.v1" in status.stderr, status.stderr
    assert "orphan" in status.stderr and f"kubectl delete secret kdeploy.web.v1 -n {ns}" in (
        status.stderr
    )
    as_json = kd(proj, "status", "web", "-e", "dev", "-o", "json")
    assert any(
        f"Secret {ns}/kdeploy.web.v1 is an orphan" in p for p in json_problems(as_json.stdout)
    )

    # trimming killed between a revision's ConfigMap and its Secret leaves the Secret
    own_emulator.add_fault(
        FaultRule(method="DELETE", path=f"/namespaces/{ns}/secrets/kdeploy.web.v2", status=403)
    )
    try:
        trimmed = kd(
            proj, "apply", "-e", "dev", "--yes", "--history-max", "2", "--set", "password=pw-4"
        )
    finally:
        own_emulator.clear_faults()
    assert trimmed.code == 0, trimmed.stderr
    assert "warning: could not trim" in trimmed.stderr
    assert "kdeploy.web.v2" in _revision_secrets(live)

    # the next trim removes every orphan
    again = kd(proj, "apply", "-e", "dev", "--yes", "--history-max", "2", "--set", "password=pw-5")
    assert again.code == 0, again.stderr
    assert _revision_secrets(live) == ["kdeploy.web.v4", "kdeploy.web.v5"]
    assert "orphan" not in kd(proj, "status", "web", "-e", "dev").stderr

    # uninstall removes the companion Secrets, also of a revision whose ConfigMap is gone
    _delete_configmap(live, "kdeploy.web.v4")
    gone = kd(proj, "uninstall", "web", "-e", "dev", "--yes")
    assert gone.code == 0, gone.stderr
    assert _revision_secrets(live) == []


def json_problems(text: str) -> list[str]:
    import json

    return [str(p) for p in json.loads(text).get("historyProblems", [])]


def test_uninstall_of_a_release_whose_revision_configmaps_are_all_gone_removes_its_secrets(
    tmp_path: Path, emulator: Any, ns: str, live: Any
) -> None:
    proj = _secret_project(tmp_path / "p", str(emulator.kubeconfig_path), ns)
    assert kd(proj, "apply", "-e", "dev", "--yes").code == 0
    _delete_configmap(live, "kdeploy.web.v1")
    gone = kd(proj, "uninstall", "web", "-e", "dev", "--yes")
    assert gone.code == 0, gone.stderr
    assert f"deleted orphaned Secret {ns}/kdeploy.web.v1" in gone.stderr
    assert _revision_secrets(live) == []
    again = kd(proj, "uninstall", "web", "-e", "dev", "--yes")
    assert again.code == 1 and "has no history" in again.stderr
