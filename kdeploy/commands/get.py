"""`kdeploy get manifest|values RELEASE (-n NAMESPACE | -e ENV) [--revision N]`: print what a
revision recorded, with every secret redacted."""

from __future__ import annotations

import json

import click

from kdeploy.commands._options import release_argument, release_options
from kdeploy.commands._release import open_history, resolve_release


@click.command("get")
@click.argument("what", type=click.Choice(["manifest", "values"]))
@release_argument
@release_options
@click.option(
    "--revision",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Revision to show (default: the last deployed one, else the newest).",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--all",
    "all_values",
    is_flag=True,
    help="values: show the merged values the templates saw (package defaults included), not "
    "only what the environment and the command line set.",
)
@click.pass_context
def command(
    ctx: click.Context,
    what: str,
    release: str,
    namespace: str | None,
    env: str | None,
    kubeconfig: str | None,
    context: str | None,
    revision: int | None,
    output: str,
    all_values: bool,
) -> None:
    """Print the manifests or the values recorded by a revision of RELEASE.

    `values` shows what the environment (values, valuesFiles, secrets:) and the command line
    (-f, --set...) set; --all the merged values, package defaults included. Secret values are
    shown as <redacted:sha256:…>; the companion Secret is never read, so this needs only
    permission to read ConfigMaps. Which revision is shown goes to stderr.
    """
    from kdeploy.history.store import no_history_error
    from kdeploy.yamlio import dump_all_fast, dump_fast

    target = resolve_release(ctx, release, namespace, env, kubeconfig, context)
    store = open_history(target)
    if revision is None:
        revisions = store.revisions(target.release, target.namespace)
        if not revisions:
            raise no_history_error(target.release, target.namespace)
        deployed = [r for r in revisions if r.status == "deployed"]
        revision = (deployed or revisions)[-1].number
    rev = store.get(target.release, target.namespace, revision, secrets=False)
    click.echo(
        f"# release {rev.release}, namespace {rev.namespace}, revision {rev.number} ({rev.status})",
        err=True,
    )
    values = rev.values
    if what == "values" and all_values:
        click.echo("# merged values (package defaults included)", err=True)
    elif what == "values" and rev.user_values is None:
        click.echo(
            f"# revision {rev.number} did not record the values set apart from the package "
            "defaults: showing the merged values",
            err=True,
        )
    elif what == "values" and rev.user_values is not None:
        values = rev.user_values
    data: object = rev.manifests if what == "manifest" else values
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    elif what == "manifest":
        click.echo(dump_all_fast(rev.manifests), nl=False)
    else:
        click.echo(dump_fast(values), nl=False)
