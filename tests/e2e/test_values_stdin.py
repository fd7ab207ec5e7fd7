"""`-f -`: a values file read from standard input (`vault kv get ... | kdeploy apply -f -`), for
every command that takes -f. Its errors name `<stdin>` and the line, and a bad one changes
nothing in the cluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CONFIGMAP_TEMPLATE, CliResult, LiveCluster, kd, live_project, revisions

NS_PREFIX = "values-stdin"
SCHEMA = {
    "type": "object",
    "properties": {"greeting": {"type": "string", "minLength": 2}},
    "additionalProperties": False,
}


def kd_stdin(project: Path, stdin: str, *args: str) -> CliResult:
    """`kdeploy -C PROJECT ARGS` in a fresh process with `stdin` piped to it."""
    proc = subprocess.run(
        [sys.executable, "-m", "kdeploy.cli", "-C", str(project), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return CliResult(code=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)


@pytest.fixture
def project(tmp_path: Path, emulator: Any, ns: str) -> Path:
    return live_project(
        tmp_path / "proj",
        str(emulator.kubeconfig_path),
        ns,
        templates={"cm.yaml": CONFIGMAP_TEMPLATE},
        values={"greeting": "hello"},
        schema=SCHEMA,
    )


def _greeting(live: LiveCluster) -> str | None:
    cm = live.object("ConfigMap", "web-config")
    return None if cm is None else str(cm["data"]["greeting"])


@pytest.mark.parametrize("given", ["-", "web:-"])
def test_render_reads_values_from_stdin(project: Path, given: str) -> None:
    result = kd_stdin(project, "greeting: from-a-pipe\n", "render", "-e", "dev", "-f", given)
    assert result.code == 0, result.stderr
    assert 'greeting: "from-a-pipe"' in result.stdout or "greeting: from-a-pipe" in result.stdout


def test_stdin_values_apply_after_files_and_before_set(project: Path) -> None:
    (project / "first.yaml").write_text("greeting: from-a-file\n")
    piped = kd_stdin(
        project, "greeting: from-a-pipe\n", "render", "-e", "dev", "-f", "first.yaml", "-f", "-"
    )
    assert "from-a-pipe" in piped.stdout and "from-a-file" not in piped.stdout
    over = kd_stdin(
        project,
        "greeting: from-a-pipe\n",
        "render",
        "-e",
        "dev",
        "-f",
        "-",
        "--set",
        "greeting=flag",
    )
    assert "flag" in over.stdout and "from-a-pipe" not in over.stdout


def test_lint_names_stdin_and_the_line_of_a_refused_value(project: Path) -> None:
    result = kd_stdin(project, "# piped\ngreeting: x\n", "lint", "-e", "dev", "-f", "-")
    assert result.code == 1
    assert "<stdin>:2" in result.stdout + result.stderr


def test_diff_shows_the_value_from_stdin(project: Path, live: LiveCluster) -> None:
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    result = kd_stdin(
        project, "greeting: from-a-pipe\n", "diff", "-e", "dev", "-f", "-", "--detailed-exitcode"
    )
    assert result.code == 2, result.stderr
    assert "from-a-pipe" in result.stdout
    assert _greeting(live) == "hello"


def test_apply_deploys_the_values_from_stdin(project: Path, live: LiveCluster) -> None:
    result = kd_stdin(project, "greeting: from-a-pipe\n", "apply", "-e", "dev", "--yes", "-f", "-")
    assert result.code == 0, result.stderr
    assert _greeting(live) == "from-a-pipe"


def test_apply_refuses_invalid_yaml_on_stdin_naming_the_line(
    project: Path, live: LiveCluster
) -> None:
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    result = kd_stdin(
        project, "greeting: ok\nother: [1, 2\n", "apply", "-e", "dev", "--yes", "-f", "-"
    )
    assert result.code == 1
    assert "Error: <stdin>:3:1: invalid YAML" in result.stderr
    assert _greeting(live) == "hello"


def test_apply_refuses_a_schema_error_on_stdin_naming_the_line(
    project: Path, live: LiveCluster
) -> None:
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    result = kd_stdin(project, "\n\ngreetin: typo\n", "apply", "-e", "dev", "--yes", "-f", "-")
    assert result.code == 1
    assert "greetin set in <stdin>:3" in result.stderr
    assert _greeting(live) == "hello"


def test_a_list_on_stdin_is_refused(project: Path) -> None:
    result = kd_stdin(project, "- greeting\n", "render", "-e", "dev", "-f", "-")
    assert result.code == 1
    assert "Error: <stdin>: a values file must hold a mapping at the top" in result.stderr


def test_stdin_is_read_once(project: Path, live: LiveCluster) -> None:
    result = kd_stdin(
        project, "greeting: from-a-pipe\n", "apply", "-e", "dev", "--yes", "-f", "-", "-f", "web:-"
    )
    assert result.code == 1
    assert 'Error: -f "web:-": standard input is read once, and "-f -" already reads it' in (
        result.stderr
    )
    assert _greeting(live) is None


def test_apply_without_yes_cannot_prompt_when_values_come_from_stdin(
    project: Path, live: LiveCluster
) -> None:
    result = kd_stdin(project, "greeting: from-a-pipe\n", "apply", "-e", "dev", "-f", "-")
    assert result.code == 1
    assert "pass --yes" in result.stderr
    assert _greeting(live) is None


@pytest.mark.parametrize("given", ["", "\n  \n"])
def test_empty_stdin_is_refused_and_nothing_deployed(
    project: Path, live: LiveCluster, given: str
) -> None:
    # `./generate-values.sh | kdeploy apply -f -` whose generator failed and printed nothing
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    result = kd_stdin(project, given, "apply", "-e", "dev", "--yes", "-f", "-")
    assert result.code == 1
    assert "Error: -f -: <stdin> is empty; nothing was changed" in result.stderr
    assert len(revisions(project)) == 1
    assert _greeting(live) == "hello"


def test_stdin_that_is_not_utf8_is_refused_naming_it(project: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kdeploy.cli", "-C", str(project), "render", "-e", "dev", "-f", "-"],
        input=b"greeting: caf\xe9\n",
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert b"Error: <stdin>: not UTF-8 text" in proc.stderr
    assert b"Internal error" not in proc.stderr


@pytest.mark.parametrize("variable", ["KDEPLOY_SET_STRING", "KDEPLOY_SET"])
def test_a_variable_for_set_is_refused_not_ignored(
    project: Path, live: LiveCluster, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    # a CI variable meant to give the image tag must not deploy the environment file's instead
    monkeypatch.setenv(variable, "greeting=from-a-variable")
    result = kd(project, "apply", "-e", "dev", "--yes")
    assert result.code == 64
    flag = "--" + variable.removeprefix("KDEPLOY_").lower().replace("_", "-")
    assert f"{variable} is set, but {flag} is never read from a variable" in result.stderr
    assert _greeting(live) is None


def test_a_variable_for_a_dangerous_flag_is_ignored_with_a_warning(
    project: Path, live: LiveCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KDEPLOY_FORCE_CONFLICTS", "1")
    result = kd(project, "apply", "-e", "dev", "--yes")
    assert result.code == 0, result.stderr
    assert (
        "Warning: KDEPLOY_FORCE_CONFLICTS is set but not read: --force-conflicts is taken from "
        "the command line only" in result.stderr
    )
    assert _greeting(live) == "hello"
