"""`kdeploy import helm RELEASE -n NAMESPACE [--into ENV]`: move a live Helm release, with its
history, to kdeploy (kdeploy.actions.import_helm)."""

from __future__ import annotations

import click

from kdeploy.commands._options import (
    cluster_options,
    namespace_option,
    release_argument,
    wait_for_lock_option,
)


@click.group("import")
def command() -> None:
    """Import a release that another tool deployed, with its history."""


@command.command("helm")
@release_argument
@namespace_option("Namespace of the Helm release (default: the --into environment's).")
@click.option(
    "--into",
    "env",
    default=None,
    metavar="ENV",
    help="Environment file that declares the release (its package is the ported chart): the "
    "imported revisions and objects are recorded as that environment's, which also gives the "
    "namespace and cluster.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be imported; change nothing.")
@click.option(
    "--yes", "-y", is_flag=True, help="Do not ask for confirmation (required without a terminal)."
)
@wait_for_lock_option
@cluster_options
@click.pass_context
def helm(
    ctx: click.Context,
    release: str,
    namespace: str | None,
    env: str | None,
    dry_run: bool,
    yes: bool,
    wait_for_lock: str | None,
    kubeconfig: str | None,
    context: str | None,
) -> int:
    """Import Helm release RELEASE: each Helm revision becomes a kdeploy revision (manifests,
    values, status, time, chart), kdeploy takes the live objects over, then Helm's release
    records and its annotations are removed, so `helm uninstall` can no longer delete them.

    Safe to run again after an interruption: it finishes the job. See
    docs/migrating-from-helm.md.
    """
    from kdeploy.actions.import_helm import import_helm
    from kdeploy.commands._live import build_deps, load_env_cluster
    from kdeploy.errors import ProjectError
    from kdeploy.model import ClusterRef

    cluster = ClusterRef()
    if env is not None:
        environment, cluster = load_env_cluster(ctx, env)
        spec = next((r for r in environment.releases if r.name == release), None)
        if spec is None:
            names = ", ".join(r.name for r in environment.releases) or "(none)"
            raise ProjectError(
                f"{environment.path}: environment {env} has no release {release} (its releases: "
                f"{names}); nothing was changed",
                hint=f"declare release {release} there with the package you ported the chart "
                "to (see docs/migrating-from-helm.md), then import again",
            )
        if namespace is not None and namespace != spec.namespace:
            raise ProjectError(
                f"{environment.path}: environment {env} deploys release {release} to namespace "
                f"{spec.namespace}, not {namespace}; nothing was changed",
                hint="set the environment's namespace to the Helm release's, or leave out -n",
            )
        namespace = spec.namespace
    if namespace is None:
        raise click.UsageError(
            f"say where Helm release {release} is: -n NAMESPACE (or --into ENV to take it from "
            "an environment)"
        )
    deps = build_deps(
        ctx, cluster, kubeconfig, context, operation="import", wait_for_lock=wait_for_lock
    )
    import_helm(deps, release, namespace, environment=env or "", dry_run=dry_run, yes=yes)
    return 0
