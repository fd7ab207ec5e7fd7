"""`kdeploy apply`: diff, confirm, server-side apply in install order, prune, record a revision."""

from __future__ import annotations

import os

import click

from kdeploy.commands._concurrency import concurrency_option, pool_size
from kdeploy.commands._options import (
    annotate_option,
    cluster_options,
    create_namespace_option,
    delete_namespaces_option,
    diff_lines_option,
    env_option,
    full_diff_option,
    releases_argument,
    render_options,
    wait_for_lock_option,
)
from kdeploy.commands._reports import report_options, writing_artifacts
from kdeploy.commands._wait import Duration, wait_options, wait_settings


@click.command("apply")
@env_option("Environment to deploy (optional if only one).", metavar="ENV")
@releases_argument()
@click.option(
    "--yes", "-y", is_flag=True, help="Do not ask for confirmation (required without a terminal)."
)
@click.option("--dry-run", is_flag=True, help="Show the diff and stop; change nothing.")
@click.option("--no-prune", is_flag=True, help="Keep objects that are no longer rendered.")
@delete_namespaces_option("the prune")
@create_namespace_option
@annotate_option
@click.option(
    "--description",
    default=None,
    metavar="TEXT",
    help="Why this deploy: recorded with each revision (as `apply: TEXT`, shown by history).",
)
@click.option(
    "--force-conflicts",
    is_flag=True,
    help="Take over fields owned by another field manager instead of failing.",
)
@click.option(
    "--allow-secret-removal",
    is_flag=True,
    help="Allow removing or emptying keys of a live Secret (otherwise apply stops, naming them).",
)
@click.option(
    "--adopt",
    is_flag=True,
    help="Take over existing objects not created by this release (otherwise refused).",
)
@click.option(
    "--history-max",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Revisions to keep per release (0: unlimited); the last deployed one is always kept.",
)
@wait_for_lock_option
@wait_options
@click.option(
    "--atomic",
    is_flag=True,
    help="When the apply or the wait fails, or Ctrl-C or SIGTERM stops it, roll back to the "
    "last deployed revision.",
)
@click.option(
    "--atomic-grace",
    type=Duration(),
    default="20s",
    show_default=True,
    help="After Ctrl-C or SIGTERM, how long an --atomic rollback may wait for health (keep it "
    "below your CI's kill timeout); a second signal stops the rollback at once.",
)
@click.option(
    "--if-newer/--allow-older",
    "if_newer",
    default=None,
    help="Refuse to deploy a git commit that is an ancestor of (older than) the commit the "
    "release runs, naming both; on by default when CI=true. --allow-older deploys it anyway.",
)
@concurrency_option
@click.option(
    "--parallel",
    is_flag=True,
    help="Apply the releases at the same time, each under its own lock; every release is "
    "attempted, a summary follows, exit 1 when any failed (needs --yes).",
)
@report_options
@render_options
@full_diff_option
@diff_lines_option
@cluster_options
@click.pass_context
def command(
    ctx: click.Context,
    env: str | None,
    releases: tuple[str, ...],
    yes: bool,
    dry_run: bool,
    no_prune: bool,
    delete_namespaces: bool,
    create_namespace: bool,
    annotations: tuple[str, ...],
    description: str | None,
    force_conflicts: bool,
    allow_secret_removal: bool,
    adopt: bool,
    history_max: int,
    wait_for_lock: str | None,
    no_wait: bool,
    timeout: float,
    wait_load_balancers: bool,
    fail_fast: bool | None,
    fail_fast_grace: float,
    progress_interval: float,
    atomic: bool,
    atomic_grace: float,
    if_newer: bool | None,
    concurrency: int,
    parallel: bool,
    report_file: str | None,
    dotenv_file: str | None,
    manifests_out: str | None,
    value_files: tuple[str, ...],
    sets: tuple[str, ...],
    set_strings: tuple[str, ...],
    full_diff: bool,
    diff_lines: int | None,
    set_files: tuple[str, ...],
    set_jsons: tuple[str, ...],
    kubeconfig: str | None,
    context: str | None,
) -> int:
    """Apply an environment's releases (all, or those named) to its cluster, in file order.

    Shows the diff first and asks for confirmation on a terminal; the first failing release stops
    the rest (exit 1). Then waits until each release is healthy (exit 4 when it is not; see
    --no-wait, --timeout); with --atomic a failed release is rolled back to its last deployed
    revision.
    """
    from kdeploy.actions.apply import apply_releases
    from kdeploy.actions.deploy import DeployOptions
    from kdeploy.commands._live import (
        build_deps,
        environment_lock,
        load_env_cluster,
        rendered_targets,
    )

    with writing_artifacts(
        ctx, report_file, dotenv_file, manifests_out, environment=env
    ) as artifacts:
        what = f"apply: {description}" if description else "apply"
        targets = rendered_targets(
            ctx,
            env,
            releases,
            value_files,
            sets,
            set_strings,
            what,
            kubeconfig,
            context,
            set_files=set_files,
            set_jsons=set_jsons,
            annotations=annotations,
        )
        environment, cluster = load_env_cluster(ctx, env)
        report = artifacts.start(environment.name, targets, waits=not no_wait)
        deps = build_deps(
            ctx,
            cluster,
            kubeconfig,
            context,
            operation="apply",
            wait_for_lock=wait_for_lock,
            full_diff=full_diff,
            diff_lines=diff_lines,
            pool_size=pool_size(concurrency, len(targets) if parallel else 1),
        )
        artifacts.cluster = deps.target_cluster
        artifacts.git_commit = deps.identity.git_commit
        options = DeployOptions(
            force_conflicts=force_conflicts,
            allow_secret_removal=allow_secret_removal,
            adopt=adopt,
            prune=not no_prune,
            history_max=history_max,
            wait=wait_settings(
                no_wait, timeout, wait_load_balancers, fail_fast, fail_fast_grace, progress_interval
            ),
            atomic=atomic,
            atomic_grace=atomic_grace,
            if_newer=if_newer if if_newer is not None else os.environ.get("CI") == "true",
            if_newer_explicit=bool(if_newer),
            concurrency=concurrency,
            delete_namespaces=delete_namespaces,
            create_namespace=create_namespace,
        )
        apply_releases(
            deps,
            targets,
            options,
            yes=yes,
            dry_run=dry_run,
            parallel=parallel,
            environment_lock=environment_lock(environment, len(targets)),
            report=report,
        )
    return 0
