"""`kdeploy diff`: what apply would change, per object, against the live cluster."""

from __future__ import annotations

import json

import click

from kdeploy.commands._options import (
    cluster_options,
    env_option,
    releases_argument,
    render_options,
)
from kdeploy.errors import EXIT_CHANGES, EXIT_OK


@click.command("diff")
@env_option("Environment to compare with its cluster (optional if only one).", metavar="ENV")
@releases_argument()
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes, 0 when there are none (1 on errors).",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Diff format on stdout (json: see docs/cli.md).",
)
@click.option("--show-secrets", is_flag=True, help="Show Secret values instead of hashes.")
@render_options
@cluster_options
@click.pass_context
def command(
    ctx: click.Context,
    env: str | None,
    releases: tuple[str, ...],
    detailed_exitcode: bool,
    output: str,
    show_secrets: bool,
    value_files: tuple[str, ...],
    sets: tuple[str, ...],
    set_strings: tuple[str, ...],
    kubeconfig: str | None,
    context: str | None,
) -> int:
    """Show what `apply` would create, change and delete in the cluster.

    Every rendered object is dry-run applied on the server and compared with the live object;
    objects of the last deployed revision that are no longer rendered are shown as deletes.
    """
    from kdeploy.actions.diff import diff_releases
    from kdeploy.commands._live import build_deps, load_env_cluster, rendered_targets

    targets = rendered_targets(ctx, env, releases, value_files, sets, set_strings, "diff")
    _, cluster = load_env_cluster(ctx, env)
    deps = build_deps(ctx, cluster, kubeconfig, context)
    prepared, doc = diff_releases(
        deps, targets, show_secrets=show_secrets, as_json=output == "json"
    )
    if doc is not None:
        deps.output.result(json.dumps(doc, indent=2, sort_keys=True))
    changed = any(p.plan.has_changes for p in prepared)
    return EXIT_CHANGES if detailed_exitcode and changed else EXIT_OK
