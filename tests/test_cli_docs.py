"""docs/cli.md matches the CLI: every command has a section, every option of every command is named in
its command's section, every documented option exists, and the exit-code table lists exactly the
codes of kdeploy/errors.py."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import click
import pytest

from kdeploy import errors
from kdeploy.cli import cli
from tests.helpers import run_kdeploy

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
    """The option names of `command`; for a command group (`import`), of its subcommands too."""
    names = []
    if isinstance(command, click.Group) and command is not cli:
        ctx = click.Context(command)
        for sub in command.list_commands(ctx):
            found = command.get_command(ctx, sub)
            assert found is not None, sub
            names += _options(found)
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


def test_console_examples_use_existing_options() -> None:
    """Every `$ kdeploy CMD ...` example in docs/ uses options CMD has."""
    commands = _commands()
    bad = []
    for doc in sorted(CLI_MD.parent.glob("*.md")):
        for line in doc.read_text(encoding="utf-8").splitlines():
            if not line.startswith("$ kdeploy "):
                continue
            words = shlex.split(line[2:].split(" #")[0].split(" | ")[0].split(" > ")[0])
            words = words[1:]
            if words[:1] == ["-C"]:
                words = words[2:]
            command = commands.get(words[0]) if words else None
            if command is None:
                bad.append(f"{doc.name}: {line} (unknown command)")
                continue
            known = set(_options(command)) | {"-h", "--help"}
            for word in words[1:]:
                option = word.split("=")[0]
                if option.startswith("-") and option not in known:
                    bad.append(f"{doc.name}: {line} ({option})")
    assert not bad, "\n".join(bad)


def test_readme_commands_run_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's example commands work on the example project (a copy of it)."""
    root = CLI_MD.parent.parent
    monkeypatch.chdir(tmp_path)  # output files (--junit) land in the copy
    for folder in ("packages", "environments"):
        shutil.copytree(root / folder, tmp_path / folder)
    block = re.search(r"```sh\n(\.venv/bin/kdeploy .*?)```", (root / "README.md").read_text(), re.S)
    assert block, "README.md lost its example commands"
    lines = [line.split("#")[0].strip() for line in block[1].splitlines() if line.strip()]
    assert len(lines) >= 3
    for line in lines:
        args = shlex.split(line)
        assert args[0] == ".venv/bin/kdeploy", line
        result = run_kdeploy("-C", str(tmp_path), *args[1:])
        assert result.code == 0, f"{line}: exit {result.code}\n{result.stderr}"
    assert (tmp_path / "lint.xml").is_file() and (tmp_path / "rendered" / "web.yaml").is_file()
