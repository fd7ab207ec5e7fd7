"""Command-line entry point: a lazy click group that imports a command's module only when it runs.

`kdeploy --help` and `kdeploy --version` must start fast, so nothing heavy (jinja2, kubernetes, rich)
is imported here; each command lives in `kdeploy.commands.<name>` and is loaded on demand.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from types import FrameType
from typing import Any

import click

from kdeploy import __version__
from kdeploy.commands._options import bind_envvars, check_unread_envvars
from kdeploy.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    KdeployError,
    Terminated,
)

# name -> (module under kdeploy.commands, short help shown by `kdeploy --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("render", "Render an environment's releases to YAML manifests."),
    "lint": ("lint", "Validate values and manifests, and check best-practice rules."),
    "diff": ("diff", "Show what apply would change in the cluster."),
    "apply": ("apply", "Apply releases to the cluster, prune, and record a revision."),
    "history": ("history", "List the recorded revisions of a release."),
    "releases": ("releases", "List an environment's releases with their state in the cluster."),
    "list": ("list", "List the releases recorded in a cluster (-A: every namespace)."),
    "rollback": ("rollback", "Re-apply a recorded revision of a release."),
    "status": ("status", "Show the live state and drift of a release's objects."),
    "test": ("test", "Run a release's test hooks and report pass or fail."),
    "get": ("get", "Print a revision's manifests or values."),
    "uninstall": ("uninstall", "Delete a release's objects and history."),
    "unlock": ("unlock", "Break a release lock."),
    "ci": ("ci", "Write a GitLab child pipeline that deploys environments, one job each."),
    "secrets": ("secrets", "Encrypt, decrypt and edit age-encrypted values files (*.enc.yaml)."),
    "import": ("importing", "Import a Helm release, with its history."),
    "emulator": ("emulator", "Run the built-in in-memory Kubernetes API emulator."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported the first time they are used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (mod, _) in COMMANDS.items() if _module_exists(mod)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not _module_exists(entry[0]):
            return None
        module = importlib.import_module(f"kdeploy.commands.{entry[0]}")
        command: click.Command = module.command
        if cmd_name != "emulator":
            check_unread_envvars(command, os.environ)
        return bind_envvars(command, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(mod: str) -> bool:
    here = os.path.join(os.path.dirname(__file__), "commands")
    return os.path.exists(os.path.join(here, f"{mod}.py"))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="kdeploy")
@click.option(
    "-C",
    "project_dir",
    type=click.Path(file_okay=False),
    default=None,
    envvar="KDEPLOY_PROJECT_DIR",
    show_envvar=True,
    help="Run as if started in DIR (the project holding packages/ and environments/).",
)
@click.option(
    "--debug",
    is_flag=True,
    envvar="KDEPLOY_DEBUG",
    show_envvar=True,
    help="Show tracebacks for unexpected errors.",
)
@click.pass_context
def cli(ctx: click.Context, project_dir: str | None, debug: bool) -> None:
    """kdeploy: declarative Kubernetes deployments with diff, history and rollback."""
    ctx.ensure_object(dict)
    ctx.obj["project_dir"] = os.path.abspath(project_dir or os.getcwd())
    ctx.obj["debug"] = debug


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and map every outcome to an exit code; never show a traceback unless --debug."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or _truthy(os.environ.get("KDEPLOY_DEBUG", ""))
    # GitLab cancels a job with SIGTERM (then SIGKILL after a grace period): clean up on it.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        rv: Any = cli.main(args=args, prog_name="kdeploy", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.UsageError as e:
        # click uses 2 for usage errors; 2 is reserved for "diff found changes".
        e.show()
        sys.exit(EXIT_USAGE)
    except KdeployError as e:
        click.echo(f"Error: {e.format_message()}", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.Abort as e:
        # click turns a KeyboardInterrupt (Ctrl-C, or our SIGTERM) into Abort
        _interrupted(e.__cause__)
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt as e:
        _interrupted(e)
        click.echo("Interrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as e:  # unexpected: one line, traceback only with --debug
        if debug:
            raise
        click.echo(f"Internal error: {type(e).__name__}: {e}", err=True)
        click.echo("Run again with --debug for the traceback.", err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(rv if isinstance(rv, int) else 0)


def _truthy(text: str) -> bool:
    """Whether an environment variable's text means 'on', as click reads a flag's variable."""
    return text.strip().lower() in ("1", "true", "t", "yes", "y", "on")


def _interrupted(cause: BaseException | None) -> None:
    """Exit 143 (128 + SIGTERM) when the interruption was SIGTERM."""
    if isinstance(cause, Terminated):
        click.echo("Terminated.", err=True)
        sys.exit(EXIT_TERMINATED)


if __name__ == "__main__":
    main()
