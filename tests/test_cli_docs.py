"""docs/cli.md matches the CLI: every command has a section, every option of every command is named in
its command's section, every documented option exists, and the exit-code table lists exactly the
codes of kdeploy/errors.py."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from kdeploy import errors
from kdeploy.cli import cli

CLI_MD = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
# sections that document options shared by several commands
SHARED = ("Global options", "Cluster access (diff, apply, rollback, status, uninstall)")


def _sections() -> dict[str, str]:
    text = CLI_MD.read_text(encoding="utf-8")
    out = {}
    for part in re.split(r"^## ", text, flags=re.M)[1:]:
        title, _, body = part.partition("\n")
        out[title.strip()] = body
    return out


def _commands() -> dict[str, click.Command]:
    ctx = click.Context(cli)
    out = {}
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None, name
        out[name] = command
    return out


def _options(command: click.Command) -> list[str]:
    names = []
    for param in command.params:
        if isinstance(param, click.Option):
            names += [*param.opts, *param.secondary_opts]
    return names


def _mentions(text: str, option: str) -> bool:
    return re.search(r"(?<![\w-])" + re.escape(option) + r"(?![\w-])", text) is not None


def test_every_command_has_a_section() -> None:
    missing = sorted(set(_commands()) - set(_sections()))
    assert not missing, f"docs/cli.md has no '## <command>' section for {missing}"


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_option_is_documented_in_its_section(name: str) -> None:
    section = _sections().get(name, "")
    missing = [o for o in _options(_commands()[name]) if not _mentions(section, o)]
    assert not missing, f"docs/cli.md, section '{name}', does not mention {missing}"


def test_global_options_are_documented() -> None:
    section = _sections()["Global options"]
    missing = [o for o in _options(cli) if not _mentions(section, o)]
    assert not missing, f"docs/cli.md, Global options, does not mention {missing}"


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_documented_option_exists(name: str) -> None:
    """Options in the section's synopsis and tables (`--flag` in backticks or brackets) exist."""
    section = _sections().get(name, "")
    body = section.split("\n## ")[0]
    synopsis = re.search(r"```\n(kdeploy .*?)```", body, flags=re.S)
    tables = "\n".join(line for line in body.splitlines() if line.startswith("| `"))
    shown = set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", (synopsis[1] if synopsis else "")))
    shown |= {
        m
        for cell in re.findall(r"^\| (`[^|]*?)\|", tables, flags=re.M)
        for m in re.findall(r"`(--?[a-zA-Z][\w-]*)", cell)
    }
    known = set(_options(_commands()[name])) | set(_options(cli)) | {"-h", "--help"}
    unknown = sorted(shown - known)
    assert not unknown, (
        f"docs/cli.md, section '{name}', documents options that do not exist: {unknown}"
    )


def test_exit_code_table_matches_errors_module() -> None:
    table = _sections()["Exit codes"]
    documented = {int(c) for c in re.findall(r"^\| \*\*(\d+)\*\* \|", table, flags=re.M)}
    defined = {
        value
        for key, value in vars(errors).items()
        if key.startswith("EXIT_") and isinstance(value, int)
    }
    assert defined <= documented, f"exit codes not in docs/cli.md: {sorted(defined - documented)}"
    assert documented - defined <= {130}, f"undefined codes documented: {documented - defined}"
