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


def _image_project(root: Path, kubeconfig: str, namespace: str) -> Path:
    from tests.helpers import IMAGE_DEPLOYMENT_TEMPLATE, live_project

    return live_project(
        root,
        kubeconfig,
        namespace,
        templates={"deployment.yaml": IMAGE_DEPLOYMENT_TEMPLATE},
        values={"image": "nginx:1.27"},
    )


PWNED = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "pwned", "labels": {"app.kubernetes.io/instance": "web"}},
    "data": {"by": "attacker"},
}


def _forge_revision(
    live: Any, number: int, *, manager: str, copy_from: int, signature_from: int | None = None
) -> None:
    """What anyone who may create ConfigMaps in the namespace can do: a newer `deployed` revision
    of release web whose manifests are the attacker's, checksum and all."""
    import base64
    import gzip
    import hashlib
    import json

    from kubernetes import client

    core = client.CoreV1Api(live.api)
    source = core.read_namespaced_config_map(f"kdeploy.web.v{copy_from}", live.ns)
    payload = gzip.compress(
        json.dumps({"format": 1, "manifests": [PWNED], "values": {}}).encode(), mtime=0
    )
    annotations = dict(source.metadata.annotations or {})
    annotations.pop("kdeploy.dev/signature", None)
    if signature_from is not None:
        signed = core.read_namespaced_config_map(f"kdeploy.web.v{signature_from}", live.ns)
        annotations["kdeploy.dev/signature"] = signed.metadata.annotations["kdeploy.dev/signature"]
    labels = dict(source.metadata.labels) | {
        "kdeploy.dev/revision": str(number),
        "kdeploy.dev/status": "deployed",
    }
    meta = json.loads(source.data["meta.json"])
    meta["description"] = "apply"
    meta["payloadSha256"] = hashlib.sha256(payload).hexdigest()
    meta.pop("hasSecrets", None)
    body = {
        "metadata": {
            "name": f"kdeploy.web.v{number}",
            "labels": labels,
            "annotations": annotations,
        },
        "data": {
            **source.data,
            "meta.json": json.dumps(meta),
            "payload.sha256": hashlib.sha256(payload).hexdigest(),
            "payload.chunks": "1",
        },
        "binaryData": {"payload.json.gz": base64.b64encode(payload).decode()},
    }
    core.create_namespaced_config_map(live.ns, body, field_manager=manager)


def _pwned(live: Any) -> bool:
    from kdeploy.kube.client import ObjectRef

    return live.cluster.get(ObjectRef("v1", "ConfigMap", live.ns, "pwned")) is not None


def test_atomic_never_rolls_back_to_a_revision_written_by_someone_else(
    tmp_path: Path, emulator: Any, ns: str, live: Any
) -> None:
    proj = _image_project(tmp_path / "p", str(emulator.kubeconfig_path), ns)
    assert kd(proj, "apply", "-e", "dev", "--yes").code == 0
    assert kd(proj, "apply", "-e", "dev", "--yes", "--set", "image=nginx:1.28").code == 0
    _forge_revision(live, 3, manager="kubectl-create", copy_from=2)

    history = kd(proj, "history", "web", "-e", "dev")
    assert history.code == 0, history.stderr
    assert "warning: revision 3" in history.stderr and "kubectl-create" in history.stderr
    status = kd(proj, "status", "web", "-e", "dev")
    assert "revision 2 (deployed)" in status.stdout, status.stdout
    assert f"warning: revision 3 of release web in namespace {ns} (deployed) is not trusted" in (
        status.stderr
    )

    failed = kd(
        proj, "apply", "-e", "dev", "--yes", "--atomic", "--timeout", "3s",
        "--set", "image=nginx:never-ready",
    )  # fmt: skip
    assert failed.code == 4, failed.stderr
    assert "revision 3" in failed.stderr and "kubectl-create" in failed.stderr
    assert "rolled back to revision 2" in failed.stderr, failed.stderr
    assert not _pwned(live)
    assert live.image() == "nginx:1.28"

    refused = kd(proj, "rollback", "web", "-e", "dev", "--yes", "--to", "3", "--no-wait")
    assert refused.code == 1
    assert "revision 3" in refused.stderr and "--allow-unverified" in refused.stderr
    assert not _pwned(live)
    default = kd(proj, "rollback", "web", "-e", "dev", "--yes", "--no-wait")
    assert default.code == 0, default.stderr
    assert not _pwned(live)
    forced = kd(
        proj, "rollback", "web", "-e", "dev", "--yes", "--to", "3", "--allow-unverified",
        "--no-wait",
    )  # fmt: skip
    assert forced.code == 0, forced.stderr
    assert _pwned(live)


@pytest.mark.parametrize("spoof", ["unsigned", "copied signature"])
def test_with_a_history_key_a_forged_revision_does_not_verify(
    tmp_path: Path, emulator: Any, ns: str, live: Any, monkeypatch: pytest.MonkeyPatch, spoof: str
) -> None:
    monkeypatch.setenv("KDEPLOY_HISTORY_KEY", "correct horse battery staple")
    proj = _image_project(tmp_path / "p", str(emulator.kubeconfig_path), ns)
    assert kd(proj, "apply", "-e", "dev", "--yes").code == 0
    assert kd(proj, "apply", "-e", "dev", "--yes", "--set", "image=nginx:1.28").code == 0
    # the attacker even claims kdeploy's field manager
    _forge_revision(
        live, 3, manager="kdeploy", copy_from=2, signature_from=2 if spoof != "unsigned" else None
    )
    history = kd(proj, "history", "web", "-e", "dev", "-o", "json")
    trust = {r["revision"]: r["trust"] for r in yaml.safe_load(history.stdout)["revisions"]}
    assert trust == {
        1: "verified",
        2: "verified",
        3: "unsigned" if spoof == "unsigned" else "invalid",
    }
    assert "warning: revision 3" in history.stderr

    failed = kd(
        proj, "apply", "-e", "dev", "--yes", "--atomic", "--timeout", "3s",
        "--set", "image=nginx:never-ready",
    )  # fmt: skip
    assert failed.code == 4, failed.stderr
    assert "rolled back to revision 2" in failed.stderr, failed.stderr
    assert not _pwned(live)
    refused = kd(proj, "rollback", "web", "-e", "dev", "--yes", "--to", "3", "--no-wait")
    assert refused.code == 1 and "--allow-unverified" in refused.stderr
    # a verified revision stays verified through status changes
    later = kd(proj, "history", "web", "-e", "dev", "-o", "json")
    trusted = [r["trust"] for r in yaml.safe_load(later.stdout)["revisions"] if r["revision"] != 3]
    assert set(trusted) == {"verified"}


def _warnings(result: Any) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning:")]


def _trust_column(result: Any) -> dict[int, str]:
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    return {int(row[0]): row[2] for row in rows}


def test_history_signing_warns_once_and_only_where_it_matters(
    tmp_path: Path, emulator: Any, ns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KDEPLOY_HISTORY_KEY", raising=False)
    proj = _image_project(tmp_path / "p", str(emulator.kubeconfig_path), ns)
    for image in ("nginx:1.27", "nginx:1.28"):
        done = kd(proj, "apply", "-e", "dev", "--yes", "--no-wait", "--set", f"image={image}")
        assert done.code == 0, done.stderr

    # the key is set: the two older records are unsigned, the deployed one among them
    monkeypatch.setenv("KDEPLOY_HISTORY_KEY", "correct horse battery staple")
    history = kd(proj, "history", "web", "-e", "dev")
    assert _trust_column(history) == {1: "unsigned", 2: "unsigned"}
    (warning,) = _warnings(history)
    assert "revisions 1, 2 are not signed" in warning and "deployed one (2)" in warning
    applied = kd(proj, "apply", "-e", "dev", "--yes", "--no-wait", "--set", "image=nginx:1.29")
    assert applied.code == 0, applied.stderr
    assert len(_warnings(applied)) == 1
    # from now on the unsigned records are history, not news
    for command in ("history", "status", "diff"):
        quiet = kd(proj, command, *(["web"] if command != "diff" else []), "-e", "dev")
        assert _warnings(quiet) == [], (command, quiet.stderr)
    listed = kd(proj, "history", "web", "-e", "dev", "-o", "json")
    revisions = yaml.safe_load(listed.stdout)["revisions"]
    assert [(r["trust"], r["signed"]) for r in revisions] == [
        ("unsigned", False),
        ("unsigned", False),
        ("verified", True),
    ]
    assert _trust_column(kd(proj, "history", "web", "-e", "dev"))[3] == "signed"

    # a deployer without the key: one warning that signatures go unchecked
    monkeypatch.delenv("KDEPLOY_HISTORY_KEY")
    keyless = kd(proj, "history", "web", "-e", "dev")
    (warning,) = _warnings(keyless)
    assert "revision 3 is signed, but no history key is set" in warning
    assert _trust_column(keyless) == {1: "unsigned", 2: "unsigned", 3: "unchecked"}
    back = kd(proj, "rollback", "web", "-e", "dev", "--to", "1", "--yes", "--no-wait")
    assert back.code == 0, back.stderr
    assert "warning: rolling back to revision 1, which is not signed while revision 3 is" in (
        back.stderr
    )


def _damage(
    live: Any, name: str, *, status: str | None = None, payload: bytes | None = None
) -> None:
    import base64
    import hashlib

    from kubernetes import client

    body: dict[str, Any] = {}
    if status is not None:
        body["metadata"] = {"labels": {"kdeploy.dev/status": status}}
    if payload is not None:
        body["binaryData"] = {"payload.json.gz": base64.b64encode(payload).decode()}
        body["data"] = {"payload.sha256": hashlib.sha256(payload).hexdigest()}
    client.CoreV1Api(live.api).patch_namespaced_config_map(name, live.ns, body)


def test_a_damaged_old_revision_stops_only_what_needs_it(
    tmp_path: Path, emulator: Any, ns: str, live: Any
) -> None:
    proj = _image_project(tmp_path / "p", str(emulator.kubeconfig_path), ns)
    for image in ("nginx:1.25", "nginx:1.26", "nginx:1.27"):
        done = kd(proj, "apply", "-e", "dev", "--yes", "--set", f"image={image}")
        assert done.code == 0, done.stderr
    _damage(live, "kdeploy.web.v1", status="bogus")
    _damage(live, "kdeploy.web.v2", payload=b"not gzip at all")

    history = kd(proj, "history", "web", "-e", "dev", "-o", "json")
    assert history.code == 0, history.stderr
    listed = yaml.safe_load(history.stdout)["revisions"]
    assert [r["status"] for r in listed] == ["damaged", "superseded", "deployed"]
    assert "bogus" in listed[0]["damage"]
    assert f"kubectl delete configmap kdeploy.web.v1 -n {ns}" in history.stderr

    diff = kd(proj, "diff", "-e", "dev", "--set", "image=nginx:1.28")
    assert diff.code == 0 and "1 to change" in diff.stdout, diff.stderr
    assert kd(proj, "status", "web", "-e", "dev").code in (0, 4)
    applied = kd(proj, "apply", "-e", "dev", "--yes", "--set", "image=nginx:1.28")
    assert applied.code == 0, applied.stderr
    back = kd(proj, "rollback", "web", "-e", "dev", "--yes", "--no-wait")
    assert back.code == 0, back.stderr
    assert live.image() == "nginx:1.27"

    for number in (1, 2):
        needed = kd(proj, "rollback", "web", "-e", "dev", "--yes", "--to", str(number))
        assert needed.code == 1
        assert f"kdeploy.web.v{number}" in needed.stderr
        assert f"kubectl delete configmap kdeploy.web.v{number} -n {ns}" in needed.stderr, (
            needed.stderr
        )
    gone = kd(proj, "uninstall", "web", "-e", "dev", "--yes")
    assert gone.code == 0, gone.stderr
    from kubernetes import client

    left = client.CoreV1Api(live.api).list_namespaced_config_map(ns).items
    assert [c.metadata.name for c in left if c.metadata.name.startswith("kdeploy.")] == []


def test_the_history_key_can_come_from_a_secret(
    tmp_path: Path, emulator: Any, ns: str, live: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubernetes import client

    proj = _image_project(tmp_path / "p", str(emulator.kubeconfig_path), ns)
    monkeypatch.setenv("KDEPLOY_HISTORY_KEY_SECRET", f"{ns}/history-key")
    missing = kd(proj, "apply", "-e", "dev", "--yes")
    assert missing.code == 1
    assert (
        f"Secret {ns}/history-key" in missing.stderr and "kubectl create secret" in missing.stderr
    )
    # nothing was recorded or changed
    assert not [
        c for c in client.CoreV1Api(live.api).list_namespaced_config_map(ns).items
        if c.metadata.name.startswith("kdeploy.")
    ]  # fmt: skip

    client.CoreV1Api(live.api).create_namespaced_secret(
        ns, {"metadata": {"name": "history-key"}, "stringData": {"history-key": "s3cret-key"}}
    )
    assert kd(proj, "apply", "-e", "dev", "--yes").code == 0
    listed = yaml.safe_load(kd(proj, "history", "web", "-e", "dev", "-o", "json").stdout)
    assert [r["trust"] for r in listed["revisions"]] == ["verified"]
    # the same key given directly verifies the same record; another key does not
    monkeypatch.delenv("KDEPLOY_HISTORY_KEY_SECRET")
    monkeypatch.setenv("KDEPLOY_HISTORY_KEY", "s3cret-key")
    same = yaml.safe_load(kd(proj, "history", "web", "-e", "dev", "-o", "json").stdout)
    assert [r["trust"] for r in same["revisions"]] == ["verified"]
    monkeypatch.setenv("KDEPLOY_HISTORY_KEY", "another-key")
    other = kd(proj, "history", "web", "-e", "dev", "-o", "json")
    assert [r["trust"] for r in yaml.safe_load(other.stdout)["revisions"]] == ["invalid"]
    assert "warning: revision 1" in other.stderr
