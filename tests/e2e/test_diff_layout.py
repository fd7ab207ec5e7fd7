"""Long diffs in CI job logs: `--diff-lines` lists created objects by name only once a release's
diff is longer than N lines (1000 by default in CI), and in a GitLab CI job each release's diff is
a collapsible section of the job log with the summary line outside it (docs/gitlab-ci.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import LiveCluster, kd, live_project

NS_PREFIX = "diff-layout"
# ten ConfigMaps of 12 data lines each: a first install diff of about 190 lines
MANY = """\
{% for i in range(10) %}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: part-{{ i }}
data:
{% for k in range(12) %}
  key{{ k }}: "value {{ k }} of part {{ i }}"
{% endfor %}
{% endfor %}
"""
SECTION_START = re.compile(r"\x1b\[0Ksection_start:(\d+):([A-Za-z0-9_.-]+)(\[collapsed=true\])?\r")


@pytest.fixture
def project(tmp_path: Path, emulator: Any, ns: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("CI", "GITLAB_CI", "KDEPLOY_DIFF_LINES"):
        monkeypatch.delenv(var, raising=False)
    return live_project(
        tmp_path / "proj",
        str(emulator.kubeconfig_path),
        ns,
        templates={"many.yaml": MANY},
    )


def test_a_long_first_install_lists_created_objects_by_name(
    project: Path, live: LiveCluster
) -> None:
    result = kd(project, "diff", "-e", "dev", "--diff-lines", "50")
    assert result.code == 0, result.stderr
    for i in range(10):
        line = rf"\+ create ConfigMap {live.ns}/part-{i} \((\d+) diff lines not shown\)\n"
        match = re.search(line, result.stdout)
        assert match and int(match.group(1)) > 12, result.stdout
    assert "value 3 of part 4" not in result.stdout
    assert (
        "10 to create, 0 to change, 0 to delete (10 created objects shown by name only: the diff "
        "is longer than --diff-lines 50" in result.stdout
    )
    assert live.object("ConfigMap", "part-0") is None  # diff changed nothing


def test_changes_stay_whole_when_the_diff_is_long(project: Path, live: LiveCluster) -> None:
    assert kd(project, "apply", "-e", "dev", "--yes", "--no-wait").code == 0
    template = project / "packages" / "webapp" / "templates" / "many.yaml"
    text = template.read_text().replace('"value {{ k }} of', '"new value {{ k }} of')
    template.write_text(text + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: added\n")
    result = kd(project, "apply", "-e", "dev", "--yes", "--no-wait", "--diff-lines", "20")
    assert result.code == 0, result.stderr
    # the changed objects are shown line by line, the created one by name
    assert re.search(r"(?m)^\+  key3: .?new value 3 of part 4", result.stdout), result.stdout
    assert f"+ create ConfigMap {live.ns}/added (" in result.stdout
    cm = live.object("ConfigMap", "part-4")
    assert cm is not None and cm["data"]["key3"] == "new value 3 of part 4"


def test_in_ci_the_default_limit_is_1000_lines(
    project: Path, live: LiveCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = kd(project, "diff", "-e", "dev")
    assert result.code == 0, result.stderr
    assert "value 3 of part 4" in result.stdout  # about 190 lines: shown whole
    monkeypatch.setenv("KDEPLOY_DIFF_LINES", "40")
    result = kd(project, "diff", "-e", "dev")
    assert "value 3 of part 4" not in result.stdout
    assert "--diff-lines 40" in result.stdout
    # 0: no limit, also in CI
    result = kd(project, "diff", "-e", "dev", "--diff-lines", "0")
    assert "value 3 of part 4" in result.stdout


def test_a_gitlab_job_log_gets_one_collapsible_section_per_release(
    project: Path, live: LiveCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITLAB_CI", "true")
    result = kd(project, "diff", "-e", "dev")
    assert result.code == 0, result.stderr
    starts = SECTION_START.findall(result.stdout)
    assert len(starts) == 1
    _stamp, name, collapsed = starts[0]
    assert name == f"kdeploy_diff_{live.ns}_web"
    assert collapsed == "[collapsed=true]"  # long: folded in the log
    assert f"\x1b[0Kdiff of release web in namespace {live.ns}\n" in result.stdout
    end = result.stdout.index(f"\x1b[0Ksection_end:{_stamp}:{name}\r\x1b[0K")
    # the diff is inside the section, the summary line after it, visible when folded
    assert result.stdout.index("value 3 of part 4") < end
    assert result.stdout.index("10 to create, 0 to change, 0 to delete") > end


def test_a_bad_limit_is_a_usage_error_and_changes_nothing(project: Path, live: LiveCluster) -> None:
    result = kd(project, "apply", "-e", "dev", "--yes", "--diff-lines", "-1")
    assert result.code == 64
    assert "--diff-lines" in result.stderr
    assert live.object("ConfigMap", "part-0") is None
