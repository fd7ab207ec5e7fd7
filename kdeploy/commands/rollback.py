"""`kdeploy rollback`: re-apply a recorded revision (no package sources needed)."""

from __future__ import annotations

import click

from kdeploy.commands._concurrency import concurrency_option, pool_size
from kdeploy.commands._options import (
    cluster_options,
    delete_namespaces_option,
    full_diff_option,
    release_argument,
    release_location_options,
    wait_for_lock_option,
)
from kdeploy.commands._wait import wait_options, wait_settings


@click.command("rollback")
@release_argument
@click.option(
    "--to",
    "to",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Revision to restore (default: the last deployed one before the current).",
)
@release_location_options
@click.option(
    "--yes", "-y", is_flag=True, help="Do not ask for confirmation (required without a terminal)."
)
@click.option("--force-conflicts", is_flag=True, help="Take over fields owned by other managers.")
@delete_namespaces_option("the rollback's prune")
@click.option(
    "--allow-unverified",
    is_flag=True,
    help="Allow --to N of a revision record that is not trusted (its signature does not verify, "
    "or another field manager wrote it; see docs/history.md). Check its manifests first.",
)
@click.option(
    "--history-max",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Revisions to keep (0: unlimited).",
)
@wait_for_lock_option
@wait_options
@concurrency_option
@full_diff_option
@cluster_options
@click.pass_context
def command(
    ctx: click.Context,
    release: str,
    to: int | None,
    namespace: str | None,
    env: str | None,
    yes: bool,
    force_conflicts: bool,
    delete_namespaces: bool,
    allow_unverified: bool,
    history_max: int,
    wait_for_lock: str | None,
    no_wait: bool,
    timeout: float,
    wait_load_balancers: bool,
    concurrency: int,
    full_diff: bool,
    kubeconfig: str | None,
    context: str | None,
) -> int:
    """Roll RELEASE back to a recorded revision: shows the diff, re-applies its stored manifests and
    secrets, prunes objects it did not have, and records a new revision "rollback to N".

    Then waits until the release is healthy (see --no-wait, --timeout): exit code 4 when it is not.
    """
    from kdeploy.actions.rollback import rollback
    from kdeploy.commands._live import build_deps, locate_release

    ns, cluster = locate_release(ctx, release, namespace, env)
    deps = build_deps(
        ctx,
        cluster,
        kubeconfig,
        context,
        operation="rollback",
        wait_for_lock=wait_for_lock,
        full_diff=full_diff,
        pool_size=pool_size(concurrency),
    )
    rollback(
        deps,
        release,
        ns,
        to=to,
        yes=yes,
        force_conflicts=force_conflicts,
        allow_unverified=allow_unverified,
        history_max=history_max,
        wait=wait_settings(no_wait, timeout, wait_load_balancers),
        concurrency=concurrency,
        delete_namespaces=delete_namespaces,
    )
    return 0
