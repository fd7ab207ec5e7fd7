"""Encrypted values files (`*.enc.yaml`, age): decrypted in memory with KDEPLOY_AGE_KEY or
KDEPLOY_AGE_KEY_FILE, their values redacted like every secret; `kdeploy secrets encrypt|decrypt|
edit`. A missing or wrong key stops before any cluster change, naming the file."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import SECRET_TEMPLATE, LiveCluster, ProjectBuilder, kd

NS_PREFIX = "encvals"
PASSWORD = "Enc-Papa-6612-rv"


def _keys() -> tuple[str, str]:
    from pyrage import x25519

    identity = x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def _project(root: Path, kubeconfig: str, namespace: str) -> Path:
    proj = ProjectBuilder(root)
    proj.package("web", templates={"secret.yaml": SECRET_TEMPLATE}, values={"password": "none"})
    proj.environment(
        "prod",
        {
            "cluster": {"kubeconfig": kubeconfig},
            "namespace": namespace,
            "releases": {"web": {"package": "web", "valuesFiles": ["values/web.enc.yaml"]}},
        },
    )
    proj.write("environments/values/web.yaml", {"password": PASSWORD})
    return root


def _encrypt(root: Path, recipient: str) -> Path:
    done = kd(root, "secrets", "encrypt", "environments/values/web.yaml", "-r", recipient)
    assert done.code == 0, done.stderr
    (root / "environments/values/web.yaml").unlink()
    return root / "environments/values/web.enc.yaml"


def _secret_free(*texts: str) -> None:
    encoded = base64.b64encode(PASSWORD.encode()).decode()
    for text in texts:
        assert PASSWORD not in text
        assert encoded not in text


def test_an_encrypted_values_file_is_decrypted_in_memory_and_redacted(
    tmp_path: Path, emulator: Any, live: LiveCluster, ns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_key, public = _keys()
    root = _project(tmp_path, str(emulator.kubeconfig_path), ns)
    sealed = _encrypt(root, public)
    assert sealed.read_text().startswith("-----BEGIN AGE ENCRYPTED FILE-----")
    _secret_free(sealed.read_text())
    monkeypatch.setenv("KDEPLOY_AGE_KEY", secret_key)

    result = kd(root, "apply", "-e", "prod", "--yes")

    assert result.code == 0, result.stderr
    from kdeploy.kube.client import ObjectRef

    secret = live.cluster.get(ObjectRef("v1", "Secret", ns, "web-secret"))
    assert secret is not None
    assert base64.b64decode(secret["data"]["password"]).decode() == PASSWORD
    from kubernetes import client

    stored = json.dumps(
        [cm.to_dict() for cm in client.CoreV1Api(live.api).list_namespaced_config_map(ns).items],
        default=str,
    )
    values = kd(root, "get", "values", "web", "-e", "prod")
    _secret_free(result.stdout, result.stderr, stored, values.stdout)
    assert "<redacted:" in values.stdout


def test_a_missing_or_wrong_key_stops_before_any_change_naming_the_file(
    tmp_path: Path, emulator: Any, live: LiveCluster, ns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, public = _keys()
    root = _project(tmp_path, str(emulator.kubeconfig_path), ns)
    _encrypt(root, public)

    missing = kd(root, "apply", "-e", "prod", "--yes")
    other_key, _ = _keys()
    monkeypatch.setenv("KDEPLOY_AGE_KEY", other_key)
    wrong = kd(root, "diff", "-e", "prod")
    monkeypatch.setenv("KDEPLOY_AGE_KEY", "AGE-SECRET-KEY-1NOTAKEY")
    malformed = kd(root, "diff", "-e", "prod")

    assert missing.code == 1
    assert "environments/values/web.enc.yaml is encrypted and no age key is set" in missing.stderr
    assert "KDEPLOY_AGE_KEY_FILE" in missing.stderr
    assert wrong.code == 1
    assert "environments/values/web.enc.yaml: cannot decrypt with the age key" in wrong.stderr
    assert malformed.code == 1
    assert "KDEPLOY_AGE_KEY: not a valid age secret key" in malformed.stderr
    assert "NOTAKEY" not in malformed.stderr
    from kdeploy.kube.client import ObjectRef

    assert live.cluster.get(ObjectRef("v1", "Secret", ns, "web-secret")) is None


def test_decrypt_and_edit_with_a_key_file(
    tmp_path: Path, emulator: Any, ns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_key, public = _keys()
    root = _project(tmp_path / "p", str(emulator.kubeconfig_path), ns)
    sealed = _encrypt(root, public)
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"# public key: {public}\n{secret_key}\n")
    monkeypatch.setenv("KDEPLOY_AGE_KEY_FILE", str(key_file))
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import os, stat, sys\n"
        "path = sys.argv[1]\n"
        "assert stat.S_IMODE(os.stat(path).st_mode) == 0o600\n"
        "open(path, 'a').write('extra: added\\n')\n"
        f"open({str(tmp_path / 'seen')!r}, 'w').write(path)\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")

    shown = kd(root, "secrets", "decrypt", "environments/values/web.enc.yaml")
    edited = kd(root, "secrets", "edit", "environments/values/web.enc.yaml")

    assert shown.code == 0, shown.stderr
    assert f"password: {PASSWORD}" in shown.stdout
    assert edited.code == 0, edited.stderr
    assert not Path((tmp_path / "seen").read_text()).exists()  # the clear copy is gone
    _secret_free(sealed.read_text())
    again = kd(root, "secrets", "decrypt", "environments/values/web.enc.yaml")
    assert "extra: added" in again.stdout
