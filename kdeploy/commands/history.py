"""`kdeploy history RELEASE (-n NAMESPACE | -e ENV)`: list the recorded revisions of a release."""

from __future__ import annotations

import json

import click

from kdeploy.commands._options import release_argument, release_options
from kdeploy.commands._release import open_history, resolve_release


@click.command("history")
@release_argument
@release_options
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "wide", "json"]),
    default="text",
    show_default=True,
    help="Table for people (wide: with the images, merge request and pipeline of each "
    "revision), or JSON (documented in docs/history.md) for scripts.",
)
@click.pass_context
def command(
    ctx: click.Context,
    release: str,
    namespace: str | None,
    env: str | None,
    kubeconfig: str | None,
    context: str | None,
    output: str,
) -> None:
    """List the recorded revisions of RELEASE, oldest first: revision, status, when, who,
    package@version, source commit and description.

    Exits 1 when the release has no history in the namespace.
    """
    from kdeploy.history.report import format_history_text, history_json
    from kdeploy.history.store import no_history_error

    target = resolve_release(ctx, release, namespace, env, kubeconfig, context)
    revisions = open_history(target).revisions(target.release, target.namespace)
    if not revisions:
        raise no_history_error(target.release, target.namespace)
    from kdeploy.history.report import untrusted_warnings

    for line in untrusted_warnings(revisions):
        click.echo(line, err=True)
    if output == "json":
        data = history_json(target.release, target.namespace, revisions)
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(format_history_text(revisions, wide=output == "wide"), nl=False)
