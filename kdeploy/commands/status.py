"""`kdeploy status`: the objects of a release's current revision, present or missing, in sync or
drifted."""

from __future__ import annotations

import json

import click

from kdeploy.commands._options import cluster_options, release_location_options


@click.command("status")
@click.argument("release")
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
    """Show each object of RELEASE's current revision with its live presence and drift (live
    differs from what was applied, e.g. after `kubectl edit`). Exits 0 when all objects are present
    and in sync, 1 otherwise."""
    from kdeploy.actions.status import release_status
    from kdeploy.commands._live import build_deps, locate_release

    ns, cluster = locate_release(ctx, release, namespace, env)
    deps = build_deps(ctx, cluster, kubeconfig, context)
    status = release_status(deps, release, ns)
    rev = status.revision
    if output == "json":
        doc = {
            "release": release,
            "namespace": ns,
            "revision": rev.number,
            "status": rev.status,
            "objects": [
                {
                    "kind": o.key.kind,
                    "group": o.key.group,
                    "namespace": o.key.namespace,
                    "name": o.key.name,
                    "state": o.state,
                    "diff": o.diff,
                }
                for o in status.objects
            ],
        }
        deps.output.result(json.dumps(doc, indent=2, sort_keys=True))
    else:
        lines = [f"Release {release} in namespace {ns}: revision {rev.number} ({rev.status})"]
        width = max((len(str(o.key)) for o in status.objects), default=0)
        for o in status.objects:
            lines.append(f"  {str(o.key).ljust(width)}  {o.state}")
        deps.output.result("\n".join(lines) + "\n")
        if show_diff:
            for o in status.objects:
                if o.drifted and o.diff:
                    deps.output.diff(o.diff)
    healthy = all(o.present and not o.drifted for o in status.objects)
    return 0 if healthy else 1
