"""`lookup` in templates: opt-in per package, live objects on diff and apply, None on an offline
render, and a Secret read this way is redacted like the release's own secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import LiveCluster, kd, live_project

NS_PREFIX = "lookup"
FIRST = "first-Pass-1234"
SECOND = "second-Pass-5678"

KEEP_PASSWORD = """\
{% set existing = lookup("v1", "Secret", release.namespace, release.name ~ "-db") %}
apiVersion: v1
kind: Secret
metadata:
  name: {{ release.name }}-db
stringData:
  password: {{ ((existing.data.password | b64decode) if existing else values.password) | quote }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-copy
data:
  found: {{ ("yes" if existing else "no") | quote }}
  leaked: {{ ((existing.data.password | b64decode) if existing else "none") | quote }}
"""


def _project(tmp_path: Path, emulator: Any, ns: str, allow: bool) -> Path:
    project = live_project(
        tmp_path,
        str(emulator.kubeconfig_path),
        ns,
        templates={"db.yaml": KEEP_PASSWORD},
        values={"password": FIRST},
    )
    meta = project / "packages/webapp/package.yaml"
    if allow:
        meta.write_text(meta.read_text() + "lookup: true\n")
    return project


def _secret_password(live: LiveCluster) -> str:
    import base64

    secret = live.object("Secret", "web-db")
    assert secret is not None
    return base64.b64decode(secret["data"]["password"]).decode()


def test_lookup_keeps_a_generated_password_and_redacts_what_it_read(
    tmp_path: Path, emulator: Any, ns: str, live: LiveCluster
) -> None:
    project = _project(tmp_path, emulator, ns, allow=True)
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    assert _secret_password(live) == FIRST

    diff = kd(project, "diff", "-e", "dev", "--set", f"password={SECOND}")
    assert diff.code == 0, diff.stderr
    out = diff.stdout + diff.stderr
    assert FIRST not in out and SECOND not in out
    assert "+  found: 'yes'" in out or '+  found: "yes"' in out, out

    again = kd(project, "apply", "-e", "dev", "--yes", "--set", f"password={SECOND}")
    assert again.code == 0, again.stderr
    assert FIRST not in again.stdout + again.stderr
    assert _secret_password(live) == FIRST  # the live password was kept
    copy = live.object("ConfigMap", "web-copy")
    assert copy is not None and copy["data"]["found"] == "yes"


def test_offline_render_gets_none_from_lookup(tmp_path: Path, emulator: Any, ns: str) -> None:
    project = _project(tmp_path, emulator, ns, allow=True)
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    rendered = kd(project, "render", "-e", "dev", "--set", f"password={SECOND}")
    assert rendered.code == 0, rendered.stderr
    docs = {d["kind"]: d for d in rendered.docs()}
    secret, copy = docs["Secret"], docs["ConfigMap"]
    assert secret["stringData"]["password"] == SECOND
    assert copy["data"]["found"] == "no"


def test_lookup_without_opting_in_fails_naming_package_yaml(
    tmp_path: Path, emulator: Any, ns: str
) -> None:
    project = _project(tmp_path, emulator, ns, allow=False)
    result = kd(project, "apply", "-e", "dev", "--yes")
    assert result.code == 1
    assert "packages/webapp/templates/db.yaml:1" in result.stderr
    assert "package webapp does not allow lookup" in result.stderr
    assert "lookup: true" in result.stderr
