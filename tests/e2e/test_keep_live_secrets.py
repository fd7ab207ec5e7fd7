"""`diff --secrets keep-live`: a merge-request diff job without the protected production secrets
compares each Secret key it cannot render with the live value of that key, instead of failing or
reporting it changed; values are never printed, and apply has no such mode."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ProjectBuilder, kd

NS_PREFIX = "keeplive"
DB_PASSWORD = "Db-Kilo-5521-zx"
TOKEN = "Tok-Lima-7310-qy"
SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ release.name }}-creds
type: Opaque
stringData:
  password: {{ values.db.password | quote }}
data:
  token: {{ values.token | b64encode }}
"""
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-config
data:
  user: {{ values.db.user | quote }}
"""


def _project(root: Path, kubeconfig: str, namespace: str) -> Path:
    proj = ProjectBuilder(root)
    proj.package(
        "webapp",
        templates={"secret.yaml": SECRET, "configmap.yaml": CONFIGMAP},
        values={"db": {"user": "app", "password": ""}, "token": ""},
    )
    proj.environment(
        "prod",
        f"""\
        cluster: {{kubeconfig: {kubeconfig}}}
        namespace: {namespace}
        secrets:
          db.password: {{env: KD_KEEP_DB_PASSWORD}}
          token: {{env: KD_KEEP_TOKEN}}
        releases:
          web:
            package: webapp
        """,
    )
    return root


def _secret_free(*texts: str) -> None:
    for secret in (DB_PASSWORD, TOKEN):
        encoded = base64.b64encode(secret.encode()).decode()
        for text in texts:
            assert secret not in text
            assert encoded not in text


def test_a_job_without_the_secrets_compares_them_with_the_live_values(
    tmp_path: Path, emulator: Any, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, str(emulator.kubeconfig_path), namespace)
    monkeypatch.setenv("KD_KEEP_DB_PASSWORD", DB_PASSWORD)
    monkeypatch.setenv("KD_KEEP_TOKEN", TOKEN)
    deployed = kd(root, "apply", "-e", "prod", "--yes")
    assert deployed.code == 0, deployed.stderr
    # the merge-request job: no protected variables
    monkeypatch.delenv("KD_KEEP_DB_PASSWORD")
    monkeypatch.delenv("KD_KEEP_TOKEN")
    refused = kd(root, "diff", "-e", "prod")
    assert refused.code == 1
    assert "KD_KEEP_DB_PASSWORD" in refused.stderr

    result = kd(root, "diff", "-e", "prod", "--secrets", "keep-live", "--detailed-exitcode")

    assert result.code == 0, result.stdout + result.stderr  # no change: the live values are kept
    assert "0 to create, 0 to change, 0 to delete" in result.stdout
    for data_key in ("password", "token"):
        assert (
            f"~ Secret {namespace}/web-creds key {data_key}: secret not available in this job, "
            "compared with the live value (--secrets keep-live)"
        ) in result.stderr
    as_json = kd(root, "diff", "-e", "prod", "--secrets", "keep-live", "-o", "json")
    assert json.loads(as_json.stdout)["changes"] is False
    _secret_free(result.stdout, result.stderr, as_json.stdout, as_json.stderr)

    # a change elsewhere still shows, the secrets still do not
    (root / "packages/webapp/values.yaml").write_text(
        "db: {user: admin, password: ''}\ntoken: ''\n", encoding="utf-8"
    )
    changed = kd(root, "diff", "-e", "prod", "--secrets", "keep-live", "--detailed-exitcode")
    assert changed.code == 2, changed.stderr
    assert f"~ change ConfigMap {namespace}/web-config" in changed.stdout
    assert f"Secret {namespace}/web-creds\n" not in changed.stdout  # unchanged
    _secret_free(changed.stdout, changed.stderr)


def test_a_key_missing_from_the_live_secret_too_is_named_as_needed_by_apply(
    tmp_path: Path, emulator: Any, namespace: str
) -> None:
    root = _project(tmp_path, str(emulator.kubeconfig_path), namespace)

    result = kd(root, "diff", "-e", "prod", "--secrets", "keep-live")

    assert result.code == 0, result.stderr
    assert (
        f"! Secret {namespace}/web-creds key password: secret not available in this job and "
        "not in the live Secret: apply needs it"
    ) in result.stderr
    assert f"+ create Secret {namespace}/web-creds" in result.stdout


def test_keep_live_is_refused_with_show_secrets_and_does_not_exist_on_apply(
    tmp_path: Path, emulator: Any, namespace: str
) -> None:
    root = _project(tmp_path, str(emulator.kubeconfig_path), namespace)

    shown = kd(root, "diff", "-e", "prod", "--secrets", "keep-live", "--show-secrets")
    assert shown.code == 64
    assert "drop --show-secrets" in shown.stderr
    applied = kd(root, "apply", "-e", "prod", "--yes", "--secrets", "keep-live")
    assert applied.code == 64
    assert "No such option '--secrets'" in applied.stderr
