"""Every option can come from a KDEPLOY_* environment variable (for CI jobs that configure a
command without building its command line), the flag on the command line wins, and docs/cli.md
lists every variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from kdeploy.commands._options import NO_ENVVAR
from tests.helpers import ProjectBuilder, cli_options, option_envvars, run_kdeploy

CLI_MD = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def test_every_option_reads_its_variable_except_the_deliberate_ones() -> None:
    missing = []
    for command, option in cli_options():
        flag = max(option.opts, key=len)
        if flag in NO_ENVVAR or not flag.startswith("--"):
            assert option.envvar is None or command == "", (command, flag)
            continue
        prefix = "KDEPLOY_EMULATOR_" if command == "emulator" else "KDEPLOY_"
        expected = prefix + flag[2:].upper().replace("-", "_")
        if option.envvar != expected and command:
            missing.append(f"{command} {flag}: {option.envvar}")
    assert not missing


def test_docs_list_every_variable() -> None:
    section = CLI_MD.read_text(encoding="utf-8").split("\n## Environment variables\n")[1]
    section = section.split("\n## ")[0]
    documented = set(re.findall(r"^\| `(KDEPLOY_[A-Z_]+)` \|", section, flags=re.M))
    assert option_envvars() - documented == set()
    assert documented - option_envvars() == set()


@pytest.fixture
def proj(tmp_path: Path) -> ProjectBuilder:
    builder = ProjectBuilder(tmp_path)
    builder.package("web", values={"greeting": "hello"})
    for env in ("dev", "prod"):
        builder.environment(
            env, {"namespace": f"shop-{env}", "releases": {"web": {"package": "web"}}}
        )
    builder.write("override.yaml", {"greeting": "from-file"})
    return builder


def test_environment_and_values_files_come_from_variables(
    proj: ProjectBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KDEPLOY_PROJECT_DIR", str(proj.root))
    monkeypatch.setenv("KDEPLOY_ENV", "prod")
    monkeypatch.setenv("KDEPLOY_VALUES", "override.yaml")
    result = run_kdeploy("render")
    assert result.code == 0, result.stderr
    (doc,) = yaml.safe_load_all(result.stdout)
    assert doc["metadata"]["namespace"] == "shop-prod"
    assert doc["data"]["greeting"] == "from-file"


def test_the_command_line_wins_over_the_variable(
    proj: ProjectBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KDEPLOY_ENV", "prod")
    result = run_kdeploy("-C", str(proj.root), "render", "-e", "dev")
    assert result.code == 0, result.stderr
    (doc,) = yaml.safe_load_all(result.stdout)
    assert doc["metadata"]["namespace"] == "shop-dev"


def test_a_bad_value_in_a_variable_is_a_usage_error_naming_it(
    proj: ProjectBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KDEPLOY_TIMEOUT", "soon")
    result = run_kdeploy("-C", str(proj.root), "apply", "-e", "dev", "--yes")
    assert result.code == 64
    assert "KDEPLOY_TIMEOUT" in result.stderr or "--timeout" in result.stderr
    assert "soon" in result.stderr


def test_deliberate_flags_never_come_from_the_environment(
    proj: ProjectBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KDEPLOY_SHOW_SECRETS", "1")
    result = run_kdeploy("-C", str(proj.root), "render", "-e", "dev")
    assert result.code == 0, result.stderr
    # a value flag's variable is refused rather than silently left out of the render
    monkeypatch.setenv("KDEPLOY_SET", "greeting=from-env")
    result = run_kdeploy("-C", str(proj.root), "render", "-e", "dev")
    assert result.code == 64
    assert "KDEPLOY_SET is set, but --set is never read from a variable" in result.stderr
    assert result.stdout == ""


def test_values_files_from_the_variable_are_separated_by_spaces_and_may_be_scoped(
    proj: ProjectBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj.write("second.yaml", {"greeting": "second"})
    monkeypatch.setenv("KDEPLOY_VALUES", "override.yaml web:second.yaml")
    result = run_kdeploy("-C", str(proj.root), "render", "-e", "dev")
    assert result.code == 0, result.stderr
    (doc,) = yaml.safe_load_all(result.stdout)
    assert doc["data"]["greeting"] == "second"


def test_namespace_on_the_command_line_wins_over_an_environment_variable(
    proj: ProjectBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KDEPLOY_ENV", "prod")
    result = run_kdeploy("-C", str(proj.root), "status", "web", "-n", "shop-dev")
    assert "give exactly one of -n NAMESPACE or -e ENV" not in result.stderr
    assert result.code != 64, result.stderr
    monkeypatch.delenv("KDEPLOY_ENV")
    monkeypatch.setenv("KDEPLOY_NAMESPACE", "elsewhere")
    result = run_kdeploy("-C", str(proj.root), "status", "web", "-e", "dev")
    assert "give exactly one of -n NAMESPACE or -e ENV" not in result.stderr
    assert result.code != 64, result.stderr
    result = run_kdeploy("-C", str(proj.root), "status", "web", "-e", "dev", "-n", "x")
    assert result.code == 64
    assert "give exactly one of -n NAMESPACE or -e ENV" in result.stderr
