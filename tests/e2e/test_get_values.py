"""`kdeploy get values` shows what the environment and the command line set for a revision (as
`helm get values` does), `--all` the merged values; secrets stay redacted. The values come from
apply with -f, --set, --set-file and --set-json, and a rollback keeps its revision's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import kd, live_project

NS_PREFIX = "get-values"
TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}
data:
  greeting: {{ values.greeting | quote }}
  motd: {{ values.motd | quote }}
  limits: {{ values.resources | tojson | quote }}
  password: {{ values.password | sha256 }}
"""
DEFAULTS = {"greeting": "hello", "motd": "", "resources": {}, "password": "", "unused": 1}


@pytest.fixture
def project(tmp_path: Path, emulator: Any, ns: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = live_project(
        tmp_path / "proj",
        str(emulator.kubeconfig_path),
        ns,
        templates={"cm.yaml": TEMPLATE},
        values=DEFAULTS,
    )
    env = root / "environments/dev.yaml"
    data = yaml.safe_load(env.read_text())
    data["releases"]["web"]["values"] = {"greeting": "hi"}
    data["secrets"] = {"password": {"env": "WEB_PASSWORD"}}
    env.write_text(yaml.safe_dump(data))
    (root / "motd.txt").write_text("welcome\n")
    monkeypatch.setenv("WEB_PASSWORD", "pa55-w0rd-secret")
    return root


def get_values(project: Path, *args: str) -> Any:
    result = kd(project, "get", "values", "web", "-e", "dev", "-o", "json", *args)
    assert result.code == 0, result.stderr
    assert "pa55-w0rd-secret" not in result.stdout + result.stderr
    return json.loads(result.stdout)


def test_get_values_shows_what_was_set_and_all_shows_the_merged_values(project: Path) -> None:
    apply = kd(
        project, "apply", "-e", "dev", "--yes",
        "--set-file", "web:motd=motd.txt",
        "--set-json", 'resources={"limits": {"cpu": "1"}}',
    )  # fmt: skip
    assert apply.code == 0, apply.stderr
    assert "pa55-w0rd-secret" not in apply.stdout + apply.stderr

    user = get_values(project)
    assert set(user) == {"greeting", "motd", "resources", "password"}  # no package defaults
    assert user["greeting"] == "hi"
    assert user["motd"] == "welcome\n"
    assert user["resources"] == {"limits": {"cpu": "1"}}
    assert user["password"].startswith("<redacted:")

    merged = get_values(project, "--all")
    assert merged["unused"] == 1
    assert merged["greeting"] == "hi"
    assert merged["password"].startswith("<redacted:")

    diff = kd(
        project, "diff", "-e", "dev", "--detailed-exitcode",
        "--set-file", "web:motd=motd.txt",
        "--set-json", 'resources={"limits": {"cpu": "1"}}',
    )  # fmt: skip
    assert diff.code == 0, diff.stdout + diff.stderr

    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    assert set(get_values(project)) == {"greeting", "password"}
    rollback = kd(project, "rollback", "web", "-e", "dev", "--to", "1", "--yes")
    assert rollback.code == 0, rollback.stderr
    assert get_values(project)["motd"] == "welcome\n"  # revision 3 restores revision 1's
