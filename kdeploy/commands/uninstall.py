"""`kdeploy uninstall`: delete a release's objects and its history."""

from __future__ import annotations

import click

from kdeploy.commands._options import (
    cluster_options,
    delete_namespaces_option,
    optional_release_argument,
    release_location_options,
    wait_for_lock_option,
)


@click.command("uninstall")
@optional_release_argument
@release_location_options
@click.option(
    "--all",
    "all_releases",
    is_flag=True,
    help="Uninstall every release of the environment (-e), in reverse file order.",
)
@click.option("--keep-history", is_flag=True, help="Keep the recorded revisions.")
@delete_namespaces_option("uninstall")
@click.option(
    "--yes", "-y", is_flag=True, help="Do not ask for confirmation (required without a terminal)."
)
@wait_for_lock_option
@cluster_options
@click.pass_context
def command(
    ctx: click.Context,
    release: str | None,
    namespace: str | None,
    env: str | None,
    all_releases: bool,
    keep_history: bool,
    delete_namespaces: bool,
    yes: bool,
    wait_for_lock: str | None,
    kubeconfig: str | None,
    context: str | None,
) -> int:
    """Delete RELEASE's objects in reverse install order, then its history (unless
    --keep-history). Only objects this release owns are deleted; its Namespace objects only with
    --delete-namespaces (or when confirmed on a terminal). With -e ENV --all, every release of
    the environment, last one first; a release that was never deployed is skipped."""
    from kdeploy.actions.uninstall import uninstall, uninstall_environment
    from kdeploy.commands._live import build_deps, load_env_cluster, locate_release

    if all_releases:
        if release is not None or env is None or namespace is not None:
            raise click.UsageError("--all takes -e ENV and no RELEASE or -n")
        environment, cluster = load_env_cluster(ctx, env)
        deps = build_deps(
            ctx, cluster, kubeconfig, context, operation="uninstall", wait_for_lock=wait_for_lock
        )
        uninstall_environment(
            deps,
            [(spec.name, spec.namespace) for spec in environment.releases],
            keep_history=keep_history,
            yes=yes,
            delete_namespaces=delete_namespaces,
        )
        return 0
    if release is None:
        raise click.UsageError("name the RELEASE to uninstall, or give -e ENV --all")
    ns, cluster = locate_release(ctx, release, namespace, env)
    deps = build_deps(
        ctx, cluster, kubeconfig, context, operation="uninstall", wait_for_lock=wait_for_lock
    )
    uninstall(
        deps,
        release,
        ns,
        keep_history=keep_history,
        yes=yes,
        delete_namespaces=delete_namespaces,
    )
    return 0
