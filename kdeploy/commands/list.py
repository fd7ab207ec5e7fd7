"""`kdeploy list`: the releases recorded in a cluster (found by their history), with their state."""

from __future__ import annotations

import json

import click

from kdeploy.commands._options import cluster_options, env_option, namespace_option


@click.command("list")
@namespace_option("List the releases of this namespace.")
@click.option("-A", "--all-namespaces", is_flag=True, help="List the releases of every namespace.")
@env_option(
    "Use this environment's cluster; without -n or -A, list the namespaces of its releases.",
    metavar="ENV",
)
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
    namespace: str | None,
    all_namespaces: bool,
    env: str | None,
    output: str,
    kubeconfig: str | None,
    context: str | None,
) -> int:
    """List the kdeploy releases in the cluster (every namespace with -A), whatever project
    deployed them: namespace, release, newest revision and status, commit and images. Needs
    only a kubeconfig (and the right to list ConfigMaps)."""
    from kdeploy.commands._release import open_store
    from kdeploy.history.report import format_releases_text, release_summary
    from kdeploy.kube.config import ClusterTarget

    if namespace is not None and all_namespaces:
        raise click.UsageError("give -n NAMESPACE or -A, not both")
    namespaces: list[str | None]
    target = ClusterTarget(kubeconfig=kubeconfig, context=context)
    if all_namespaces:
        namespaces = [None]
    elif namespace is not None:
        namespaces = [namespace]
    elif env is not None:
        namespaces = []
    else:
        raise click.UsageError("say where to look: -n NAMESPACE, -A (all namespaces) or -e ENV")
    if env is not None:
        from kdeploy.commands._live import load_env_cluster

        environment, cluster = load_env_cluster(ctx, env)
        target = ClusterTarget(
            kubeconfig=kubeconfig or cluster.kubeconfig, context=context or cluster.context
        )
        if not namespaces:
            namespaces = list(dict.fromkeys(spec.namespace for spec in environment.releases))
    store = open_store(target)
    found = sorted({pair for ns in namespaces for pair in store.releases(ns)})
    summaries = [release_summary(rel, ns, store.revisions(rel, ns)) for ns, rel in found]
    if output == "json":
        click.echo(json.dumps({"format": 1, "releases": summaries}, indent=2))
    else:
        click.echo(format_releases_text(summaries), nl=False)
    return 0
