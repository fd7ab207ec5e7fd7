"""`kdeploy ci pipeline`: write a GitLab child pipeline with one deploy job per environment
(kdeploy.cipipeline), ordered and gated by each environment file's `ci:` section
(kdeploy.cisettings)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import click

from kdeploy.cisettings import CiSettings
from kdeploy.commands._options import SET_HELP, SET_STRING_HELP
from kdeploy.project import Project


@click.group("ci")
def command() -> None:
    """Generate CI configuration: a GitLab child pipeline of deploy jobs."""


def _project_dir(ctx: click.Context) -> Path:
    return Path((ctx.find_root().obj or {}).get("project_dir") or os.getcwd())


@command.command("pipeline")
@click.option(
    "-e",
    "--env",
    "envs",
    multiple=True,
    metavar="ENV",
    help="Environment to deploy (repeatable; default: every environment in environments/ "
    "whose ci.pipeline is not false).",
)
@click.option(
    "-o",
    "--output-file",
    "output_file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Write the pipeline to FILE (relative to the project directory) instead of stdout.",
)
@click.option(
    "--image",
    default=None,
    metavar="IMAGE",
    help="Container image of the deploy jobs, with kdeploy installed (default: python:3.12, "
    "installing this version of kdeploy with pip first).",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="PATH=VALUE",
    help=f"{SET_HELP} Passed on to every job's apply.",
)
@click.option(
    "--set-string",
    "set_strings",
    multiple=True,
    metavar="PATH=VALUE",
    help=f"{SET_STRING_HELP} Passed on to every job's apply; the job expands its $VARIABLES.",
)
@click.pass_context
def pipeline(
    ctx: click.Context,
    envs: tuple[str, ...],
    output_file: str | None,
    image: str | None,
    sets: tuple[str, ...],
    set_strings: tuple[str, ...],
) -> int:
    """Write a GitLab child pipeline that deploys environments, one job each.

    Each job runs `kdeploy apply -e ENV --yes --atomic` with a report, a dotenv report and the
    manifests as artifacts; `needs`, the manual gate and the resource group come from the
    environment file's `ci:` section. Nothing is written when an environment or a `ci:` section
    is wrong (exit 1).
    """
    from kdeploy import __version__
    from kdeploy.cipipeline import pipeline_document, pipeline_text, plan_jobs
    from kdeploy.commands._files import write_text_atomic
    from kdeploy.project import load_project

    root = _project_dir(ctx)
    project = load_project(root)
    value_flags = [*(("--set", s) for s in sets), *(("--set-string", s) for s in set_strings)]
    selected = _selected(project, envs)
    settings = _reachable_settings(project, selected)
    _check_environments(project, selected, value_flags)
    jobs, notes = plan_jobs(settings, selected)
    text = pipeline_text(
        pipeline_document(jobs, value_flags, image=image, kdeploy_version=__version__)
    )
    for note in notes:
        click.echo(note, err=True)
    if image is None:
        # the jobs run with the deploy credentials: what pip installs there is trusted with them
        click.echo(
            f"note: without --image the deploy jobs install kdeploy=={__version__} from the job's "
            "package index (PIP_INDEX_URL); make sure that index serves this kdeploy (a wheel "
            "from `make dist` on your own index, or an image with kdeploy installed: --image)",
            err=True,
        )
    if output_file is None:
        click.echo(text, nl=False)
        return 0
    target = Path(output_file)
    target = target if target.is_absolute() else root / target
    write_text_atomic(target, text, what="pipeline", hint="check the -o path")
    names = ", ".join(job.environment for job in jobs)
    click.echo(f"wrote {output_file}: {len(jobs)} deploy job(s): {names}", err=True)
    return 0


def _selected(project: Project, envs: Sequence[str]) -> list[str]:
    """The environments named with -e (each once), else every environment whose `ci.pipeline`
    is not false. Raises ProjectError for an unknown one, listing the known."""
    from kdeploy.errors import ProjectError
    from kdeploy.project import environment_source

    for name in envs:
        environment_source(project, name)  # an unknown one is an error naming it
    if envs:
        return list(dict.fromkeys(envs))
    if not project.environments:
        raise ProjectError(f"{project.root}: no environments/*.yaml files found")
    return [name for name in project.environments if ci_settings(project, name).pipeline]


def ci_settings(project: Project, name: str) -> CiSettings:
    """The checked `ci:` section of environment `name`'s own file. Raises ProjectError naming
    file:line for a malformed one."""
    from kdeploy.cisettings import parse_ci
    from kdeploy.project import environment_source
    from kdeploy.yamlio import key_lines, load_user_text

    text, shown = environment_source(project, name)
    data = load_user_text(text, shown)
    raw = data.get("ci") if isinstance(data, dict) else None
    return parse_ci(raw, name, shown, key_lines(text), project.environments)


def _reachable_settings(project: Project, selected: Sequence[str]) -> dict[str, CiSettings]:
    """The `ci:` settings of the selected environments and of every environment they need,
    directly or through others (those decide the order); other files are not read."""
    found: dict[str, CiSettings] = {}
    stack = list(selected)
    while stack:
        name = stack.pop()
        if name not in found:
            found[name] = ci_settings(project, name)
            stack.extend(found[name].needs)
    return found


def _check_environments(
    project: Project, selected: Sequence[str], value_flags: Sequence[tuple[str, str]]
) -> None:
    """Load each selected environment as `apply` will (its `extends` chain, cluster, releases)
    and parse the forwarded --set flags against it, so that a mistake fails here, naming it,
    rather than in a deploy job."""
    from kdeploy.actions.render import command_line_values
    from kdeploy.project import load_environment

    sets = [expr for flag, expr in value_flags if flag == "--set"]
    set_strings = [expr for flag, expr in value_flags if flag == "--set-string"]
    for name in selected:
        environment = load_environment(project, name)
        command_line_values(project.root, environment, [], sets, set_strings)
