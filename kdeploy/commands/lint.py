"""`kdeploy lint`: validate values and manifests offline and check best-practice rules."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from kdeploy.commands._files import write_text_atomic
from kdeploy.commands._options import (
    api_versions_option,
    env_option,
    releases_argument,
    render_options,
)
from kdeploy.errors import EXIT_ERROR, EXIT_OK, KdeployError


@click.command("lint")
@env_option("Environment to lint (optional if only one).")
@releases_argument()
@render_options
@click.option(
    "--kube-version",
    default=None,
    metavar="X.Y",
    help="Kubernetes version whose API schemas to validate against, also kube.version in "
    "templates (default: newest bundled).",
)
@api_versions_option
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Report format on stdout.",
)
@click.option(
    "--junit",
    "junit_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write a JUnit XML report to FILE (for CI test report widgets).",
)
@click.pass_context
def command(
    ctx: click.Context,
    env: str | None,
    releases: tuple[str, ...],
    value_files: tuple[str, ...],
    sets: tuple[str, ...],
    set_strings: tuple[str, ...],
    set_files: tuple[str, ...],
    set_jsons: tuple[str, ...],
    kube_version: str | None,
    api_versions: tuple[str, ...],
    output: str,
    junit_file: str | None,
) -> int:
    """Validate values and manifests offline and check best-practice rules.

    Exits 1 when any error-level finding exists, 0 otherwise.
    """
    from kdeploy.actions.lint import lint_environment
    from kdeploy.lint.report import format_json, format_junit, format_text, render_failure_junit

    obj: dict[str, Any] = ctx.obj or {}
    project_dir = Path(obj.get("project_dir") or os.getcwd())
    try:
        _check_ci_section(project_dir, env)
        run = lint_environment(
            project_dir,
            env,
            releases,
            [Path(f) for f in value_files],
            sets,
            set_strings,
            kube_version,
            api_versions,
            set_files=set_files,
            set_jsons=set_jsons,
        )
    except KdeployError as e:
        if junit_file:
            # CI still gets a report that shows why nothing could be checked.
            write_atomic(Path(junit_file), render_failure_junit(e.format_message()))
        raise
    if junit_file:
        write_atomic(Path(junit_file), format_junit(run.result, run.releases))
    if run.unavailable_secrets:
        # lint runs offline: not a failure, but the values it checked are not the real ones
        lines = "".join(f"\n  - {m}" for m in run.unavailable_secrets)
        click.echo(
            "note: secrets not available, required ones checked with a placeholder, optional ones "
            f"left unset:{lines}",
            err=True,
        )
    formatter = format_json if output == "json" else format_text
    click.echo(formatter(run.result, run.releases), nl=False)
    return EXIT_ERROR if run.result.has_errors else EXIT_OK


def _check_ci_section(project_dir: Path, env: str | None) -> None:
    """The environment file's `ci:` section, checked as `kdeploy ci pipeline` checks it, so a
    merge-request lint job finds a mistake there before the pipeline on main does. Raises
    ProjectError naming file:line."""
    from kdeploy.actions.render import pick_environment
    from kdeploy.commands.ci import ci_settings
    from kdeploy.project import load_project

    project = load_project(project_dir)
    ci_settings(project, pick_environment(project, env))


def write_atomic(path: Path, text: str) -> None:
    """Write the JUnit report `text` to `path` atomically. Raises KdeployError when the directory
    cannot be written."""
    write_text_atomic(
        path,
        text,
        what="the JUnit report",
        hint="check that the directory exists and is writable",
    )
