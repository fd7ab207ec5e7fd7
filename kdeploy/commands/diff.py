"""`kdeploy diff`: what apply would change, per object, against the live cluster."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kdeploy.commands._files import write_text_atomic
from kdeploy.commands._options import (
    annotate_option,
    cluster_options,
    create_namespace_option,
    diff_lines_option,
    env_option,
    full_diff_option,
    releases_argument,
    render_options,
)
from kdeploy.errors import EXIT_CHANGES, EXIT_OK

if TYPE_CHECKING:
    from kdeploy.actions.deps import Deps
    from kdeploy.actions.diff import Target
    from kdeploy.gitlab import MergeRequest


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
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="Diff format on stdout (json: see docs/cli.md; markdown: for merge-request notes).",
)
@click.option(
    "--json-out",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Also write the JSON document to FILE (e.g. a CI artifact), whatever --output is.",
)
@click.option(
    "--gitlab-mr-note",
    is_flag=True,
    help="In a GitLab merge-request pipeline, create or update one note with this diff on the "
    "merge request (per environment); elsewhere, say so and do nothing.",
)
@click.option("--show-secrets", is_flag=True, help="Show Secret values instead of hashes.")
@click.option(
    "--secrets",
    "secrets_mode",
    type=click.Choice(["require", "keep-live"]),
    default="require",
    show_default=True,
    help="keep-live: a required secret this job lacks (a merge-request job without the "
    "protected variables) is compared with the live Secret's value for that key instead of "
    "stopping the diff; values are never printed. diff only, never apply.",
)
@create_namespace_option
@annotate_option
@render_options
@full_diff_option
@diff_lines_option
@cluster_options
@click.pass_context
def command(
    ctx: click.Context,
    env: str | None,
    releases: tuple[str, ...],
    detailed_exitcode: bool,
    output: str,
    json_out: str | None,
    gitlab_mr_note: bool,
    show_secrets: bool,
    secrets_mode: str,
    create_namespace: bool,
    annotations: tuple[str, ...],
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
    """Show what `apply` would create, change and delete in the cluster.

    Every rendered object is dry-run applied on the server and compared with the live object;
    objects of the last deployed revision that are no longer rendered are shown as deletes.
    The releases are planned in file order as one environment: a Namespace or CRD an earlier
    release creates counts as present for the later ones.
    Fields changed by hand are shown as drift apply reverts, or as conflicts that would stop it
    (exit 2 then, with or without --detailed-exitcode).
    """
    from kdeploy.actions.diff import diff_releases
    from kdeploy.commands._live import build_deps, load_env_cluster, rendered_targets

    if gitlab_mr_note and show_secrets:
        raise click.UsageError("--gitlab-mr-note never posts secrets: drop --show-secrets")
    keep_live = secrets_mode == "keep-live"
    if keep_live and show_secrets:
        raise click.UsageError(
            "--secrets keep-live compares with live Secret values, which are never printed: "
            "drop --show-secrets"
        )
    mr = None
    if gitlab_mr_note:
        from kdeploy.gitlab import merge_request_from_env

        mr = merge_request_from_env(os.environ)  # before any cluster work: fail fast
    targets = rendered_targets(
        ctx,
        env,
        releases,
        value_files,
        sets,
        set_strings,
        "diff",
        kubeconfig,
        context,
        set_files=set_files,
        set_jsons=set_jsons,
        annotations=annotations,
        placeholders=keep_live,
    )
    environment, cluster = load_env_cluster(ctx, env)
    deps = build_deps(ctx, cluster, kubeconfig, context, full_diff=full_diff, diff_lines=diff_lines)
    if keep_live:
        targets = with_live_secrets(deps, targets)
    want_doc = output != "text" or json_out is not None or gitlab_mr_note
    prepared, doc = diff_releases(
        deps,
        targets,
        show_secrets=show_secrets,
        as_json=want_doc,
        text=output == "text",
        create_namespace=create_namespace,
    )
    if doc is not None:
        markdown = None
        if output == "markdown" or gitlab_mr_note:
            from kdeploy.diffreport import diff_markdown

            markdown = diff_markdown(doc, environment=environment.name)
        if output == "json":
            deps.output.result(json.dumps(doc, indent=2, sort_keys=True))
        elif output == "markdown" and markdown is not None:
            deps.output.result(markdown.rstrip("\n"))
        if json_out is not None:
            write_json_out(ctx, json_out, doc)
        if gitlab_mr_note and markdown is not None:
            post_note(deps, mr, environment.name, markdown)
    changed = any(p.has_changes for p in prepared)
    # what would stop apply (a field conflict, an object another release or tool owns) is
    # reported as a finding (exit 2), never as a failure and never as "no changes"
    if any(p.conflicts or p.foreign for p in prepared):
        return EXIT_CHANGES
    return EXIT_CHANGES if detailed_exitcode and changed else EXIT_OK


def with_live_secrets(deps: Deps, targets: list[Target]) -> list[Target]:
    """The targets with each Secret key the job lacks taken from the live Secret (see
    kdeploy.actions.keeplive), saying which keys were kept, which apply still needs, and which
    other objects show a placeholder."""
    from kdeploy.actions.keeplive import keep_live_secrets

    out = []
    for target in targets:
        target, kept, elsewhere = keep_live_secrets(deps, target)
        for k in kept:
            deps.output.info(k.describe())
        for key in elsewhere:
            deps.output.info(
                f"! {key}: holds a secret not available in this job; its diff shows a placeholder"
            )
        out.append(target)
    return out


def write_json_out(ctx: click.Context, given: str, doc: dict[str, Any]) -> None:
    """Write the JSON document to `given` (relative to the project directory, like -f)."""
    path = Path(given)
    if not path.is_absolute():
        path = Path(ctx.obj.get("project_dir") or os.getcwd()) / path
    text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    write_text_atomic(path, text, what="--json-out", hint="choose a writable path")


def post_note(deps: Deps, mr: MergeRequest | None, environment: str, markdown: str) -> None:
    """Create or update the merge request's note for `environment`, or say why there is none."""
    if mr is None:
        deps.output.info("--gitlab-mr-note: not a merge-request pipeline, no note posted")
        return
    from kdeploy.diffreport import note_marker
    from kdeploy.gitlab import upsert_note

    done = upsert_note(mr, note_marker(environment), markdown)
    deps.output.info(f"Merge request !{mr.iid}: diff note for {environment} {done}")
