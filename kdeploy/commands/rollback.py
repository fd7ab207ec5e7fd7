"""`kdeploy rollback`: re-apply a recorded revision (no package sources needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kdeploy.commands._concurrency import concurrency_option, pool_size
from kdeploy.commands._options import (
    cluster_options,
    delete_namespaces_option,
    diff_lines_option,
    full_diff_option,
    optional_release_argument,
    release_location_options,
    wait_for_lock_option,
)
from kdeploy.commands._wait import wait_options, wait_settings

if TYPE_CHECKING:
    from kdeploy.history.model import Revision


def _check_commit(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    import re

    if value is not None and not re.fullmatch(r"[0-9a-f]{7,40}", value):
        raise click.BadParameter(
            f"{value!r} is not a git commit (7 to 40 lowercase hex digits)", ctx, param
        )
    return value


@click.command("rollback")
@optional_release_argument
@click.option(
    "--to",
    "to",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Revision to restore (default: the last deployed one before the current).",
)
@click.option(
    "--to-commit",
    "to_commit",
    default=None,
    metavar="SHA",
    callback=_check_commit,
    help="Restore the newest revision deployed from this git commit (a prefix of 7+ digits).",
)
@click.option(
    "--all",
    "all_releases",
    is_flag=True,
    help="Roll back every release of the environment (-e), in file order; with --to-commit, "
    "each to its revision of that commit (checked for all before any change).",
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
@diff_lines_option
@cluster_options
@click.pass_context
def command(
    ctx: click.Context,
    release: str | None,
    to: int | None,
    to_commit: str | None,
    all_releases: bool,
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
    fail_fast: bool | None,
    fail_fast_grace: float,
    progress_interval: float,
    concurrency: int,
    full_diff: bool,
    diff_lines: int | None,
    kubeconfig: str | None,
    context: str | None,
) -> int:
    """Roll RELEASE back to a recorded revision: shows the diff, re-applies its stored manifests and
    secrets, prunes objects it did not have, and records a new revision "rollback to N".

    Then waits until the release is healthy (see --no-wait, --timeout): exit code 4 when it is not.
    """
    from kdeploy.actions.rollback import rollback
    from kdeploy.actions.rollback_env import Step, rollback_environment
    from kdeploy.commands._live import build_deps, load_env_cluster, locate_release

    if to is not None and (to_commit is not None or all_releases):
        raise click.UsageError("--to N names one revision of one release: drop --to-commit/--all")
    if all_releases:
        if release is not None or env is None or namespace is not None:
            raise click.UsageError("--all takes -e ENV and no RELEASE or -n")
        environment, cluster = load_env_cluster(ctx, env)
        pairs = [(spec.name, spec.namespace) for spec in environment.releases]
    elif release is None:
        raise click.UsageError("name the RELEASE to roll back, or give -e ENV --all")
    else:
        ns, cluster = locate_release(ctx, release, namespace, env)
        pairs = [(release, ns)]
    deps = build_deps(
        ctx,
        cluster,
        kubeconfig,
        context,
        operation="rollback",
        wait_for_lock=wait_for_lock,
        full_diff=full_diff,
        diff_lines=diff_lines,
        pool_size=pool_size(concurrency),
    )

    def run_one(step: Step) -> Revision | None:
        return rollback(
            deps,
            step.release,
            step.namespace,
            to=step.to if step.to is not None else to,
            yes=yes,
            force_conflicts=force_conflicts,
            allow_unverified=allow_unverified,
            history_max=history_max,
            wait=wait_settings(
                no_wait, timeout, wait_load_balancers, fail_fast, fail_fast_grace, progress_interval
            ),
            concurrency=concurrency,
            delete_namespaces=delete_namespaces,
        )

    if all_releases or to_commit is not None:
        rollback_environment(deps, pairs, to_commit, run_one)
    else:
        run_one(Step(pairs[0][0], pairs[0][1], None))
    return 0
