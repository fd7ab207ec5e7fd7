"""package.yaml `appVersion` end to end: recorded in each revision, shown by history and status,
carried over by a rollback, and available to templates as `package.appVersion`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import LiveCluster, ProjectBuilder, kd, revisions

NS_PREFIX = "appver"

CM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-config
  labels:
    app.kubernetes.io/version: {{ package.appVersion | quote }}
data:
  greeting: {{ values.greeting | quote }}
"""


def _project(root: Path, kubeconfig: str, ns: str, app_version: str) -> Path:
    proj = ProjectBuilder(root)
    proj.package(
        "webapp",
        meta={"name": "webapp", "version": "1.4.0", "appVersion": app_version},
        templates={"configmap.yaml": CM},
        values={"greeting": "hello"},
    )
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": kubeconfig},
            "namespace": ns,
            "releases": {"web": {"package": "webapp"}},
        },
    )
    return root


def test_app_version_is_recorded_and_shown_by_history_and_status(
    tmp_path: Path, emulator: Any, ns: str, live: LiveCluster
) -> None:
    project = _project(tmp_path, str(emulator.kubeconfig_path), ns, "2.7.1")
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    cm = live.object("ConfigMap", "web-config")
    assert cm is not None and cm["metadata"]["labels"]["app.kubernetes.io/version"] == "2.7.1"

    _project(tmp_path, str(emulator.kubeconfig_path), ns, "2.8.0")
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    assert [r["appVersion"] for r in revisions(project)] == ["2.7.1", "2.8.0"]

    table = kd(project, "history", "web", "-e", "dev")
    assert table.code == 0, table.stderr
    header, first, second = table.stdout.splitlines()
    assert "APP VERSION" in header
    assert "webapp@1.4.0  2.7.1" in first and "webapp@1.4.0  2.8.0" in second

    status = kd(project, "status", "web", "-e", "dev")
    assert "revision 2 (deployed), package webapp@1.4.0, app version 2.8.0" in status.stdout
    doc = json.loads(kd(project, "status", "web", "-e", "dev", "-o", "json").stdout)
    assert (doc["packageVersion"], doc["appVersion"]) == ("1.4.0", "2.8.0")

    back = kd(project, "rollback", "web", "-e", "dev", "--to", "1", "--yes")
    assert back.code == 0, back.stderr
    assert revisions(project)[-1]["appVersion"] == "2.7.1"


def test_without_app_version_history_shows_a_dash_and_json_null(
    tmp_path: Path, emulator: Any, ns: str
) -> None:
    project = _project(tmp_path, str(emulator.kubeconfig_path), ns, "1.0")
    meta = tmp_path / "packages/webapp/package.yaml"
    meta.write_text("name: webapp\nversion: 1.4.0\n")
    (tmp_path / "packages/webapp/templates/configmap.yaml").write_text(
        CM.replace("{{ package.appVersion | quote }}", "{{ package.appVersion or 'none' }}")
    )
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    assert revisions(project)[0]["appVersion"] is None
    table = kd(project, "history", "web", "-e", "dev").stdout.splitlines()
    assert "webapp@1.4.0  -" in table[1]
