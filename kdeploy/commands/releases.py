"""`kdeploy releases -e ENV`: the releases an environment declares, with their state in its cluster."""

from __future__ import annotations

import json

import click

from kdeploy.commands._options import cluster_options, env_option


@click.command("releases")
@env_option("Environment whose releases to show (optional if only one).", metavar="ENV")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Table for people, or JSON (documented in docs/cli.md) for scripts.",
)
@cluster_options
@click.pass_context
def command(
    ctx: click.Context,
    env: str | None,
    output: str,
    kubeconfig: str | None,
    context: str | None,
) -> int:
    """List the releases of an environment in file order, each with its namespace, newest revision
    and status, deployed revision, commit and images (from its history in the cluster; `not
    deployed` when it has none)."""
    from kdeploy.commands._live import load_env_cluster
    from kdeploy.commands._release import open_store
    from kdeploy.history.report import format_releases_text, release_summary
    from kdeploy.kube.config import ClusterTarget

    environment, cluster = load_env_cluster(ctx, env)
    store = open_store(
        ClusterTarget(
            kubeconfig=kubeconfig or cluster.kubeconfig, context=context or cluster.context
        )
    )
    summaries = [
        release_summary(spec.name, spec.namespace, store.revisions(spec.name, spec.namespace))
        for spec in environment.releases
    ]
    if output == "json":
        doc = {"format": 1, "environment": environment.name, "releases": summaries}
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(format_releases_text(summaries), nl=False)
    return 0
