"""`kdeploy status`: the objects of a release's current revision, present or missing, in sync or
drifted, healthy or not."""

from __future__ import annotations

import json

import click

from kdeploy.commands._options import cluster_options, release_argument, release_location_options
from kdeploy.errors import EXIT_ERROR, EXIT_OK, EXIT_UNHEALTHY


@click.command("status")
@release_argument
@release_location_options
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--show-diff", is_flag=True, help="Print the drift of each drifted object.")
@cluster_options
@click.pass_context
def command(
    ctx: click.Context,
    release: str,
    namespace: str | None,
    env: str | None,
    output: str,
    show_diff: bool,
    kubeconfig: str | None,
    context: str | None,
) -> int:
    """Show each object of RELEASE's current revision with its live presence, drift (live
    differs from what was applied, e.g. after `kubectl edit`) and health, and the last attempt
    when a later revision failed or is pending. Exits 0 when all objects are present, in sync and
    healthy; 1 when an object is missing, drifted or owned by another release or tool, or its
    drift cannot be checked (e.g. no permission to patch it); 4 when all are present and in sync but one is not healthy."""
    from kdeploy.actions.status import release_status
    from kdeploy.commands._live import build_deps, locate_release
    from kdeploy.history.report import revision_versions

    ns, cluster = locate_release(ctx, release, namespace, env)
    deps = build_deps(ctx, cluster, kubeconfig, context)
    status = release_status(deps, release, ns)
    rev = status.revision
    attempt = status.last_attempt
    if output == "json":
        doc = {
            "release": release,
            "namespace": ns,
            "revision": rev.number,
            "status": rev.status,
            "package": rev.package,
            "packageVersion": rev.package_version,
            "appVersion": rev.app_version or None,
            "historyProblems": list(status.history_problems),
            "lastAttempt": None
            if attempt is None
            else {
                "revision": attempt.number,
                "status": attempt.status,
                "description": attempt.description,
                "startedAt": attempt.started_at,
                "finishedAt": attempt.finished_at,
                "result": attempt.result,
            },
            "objects": [
                {
                    "kind": o.key.kind,
                    "group": o.key.group,
                    "namespace": o.key.namespace,
                    "name": o.key.name,
                    "state": o.state,
                    "owner": o.owner,
                    "diff": o.diff,
                    "health": None
                    if o.health is None
                    else {
                        "state": o.health.state,
                        "ready": o.health.ready,
                        "message": o.health.message,
                    },
                }
                for o in status.objects
            ],
        }
        deps.output.result(json.dumps(doc, indent=2, sort_keys=True))
    else:
        lines = [
            f"Release {release} in namespace {ns}: revision {rev.number} ({rev.status}), "
            f"{revision_versions(rev)}"
        ]
        if attempt is not None:
            what = f" ({attempt.description})" if attempt.description else ""
            why = f": {attempt.result}" if attempt.result else ""
            lines.append(f"  last attempt: revision {attempt.number}{what} {attempt.status}{why}")
        width = max((len(str(o.key)) for o in status.objects), default=0)
        for o in status.objects:
            lines.append(f"  {str(o.key).ljust(width)}  {o}")
        deps.output.result("\n".join(lines) + "\n")
        if show_diff:
            for o in status.objects:
                if o.drifted and o.diff:
                    deps.output.diff(o.diff)
    for problem in status.history_problems:
        deps.output.info(f"warning: {problem}")
    if not all(o.state == "in sync" for o in status.objects):
        return EXIT_ERROR
    return EXIT_OK if all(o.healthy for o in status.objects) else EXIT_UNHEALTHY
