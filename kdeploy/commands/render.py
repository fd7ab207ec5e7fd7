"""`kdeploy render`: print an environment's rendered manifests, or write one file per release."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from kdeploy.commands._files import write_text_atomic
from kdeploy.commands._options import env_option, releases_argument, values_options
from kdeploy.errors import EXIT_OK
from kdeploy.model import RenderedRelease


@click.command("render")
@env_option("Environment to render (optional if only one).", metavar="ENV")
@releases_argument("[RELEASE]...")
@values_options(
    file_metavar="FILE",
    set_help="Set a value, read as YAML (repeatable); RELEASE:PATH=VALUE for one release only.",
    set_string_help="Set a value, kept as a string (repeatable); RELEASE:PATH=VALUE for one "
    "release only.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    metavar="DIR",
    help="Write one file per release, DIR/<release>.yaml, instead of printing.",
)
@click.pass_context
def command(
    ctx: click.Context,
    env: str | None,
    releases: tuple[str, ...],
    value_files: tuple[str, ...],
    sets: tuple[str, ...],
    set_strings: tuple[str, ...],
    out_dir: str | None,
) -> int:
    """Render an environment's releases (all, or the RELEASEs named) to YAML manifests.

    Values, lowest precedence first: package values.yaml, the environment (and those it extends),
    -f files, --set, --set-string.
    """
    from kdeploy.actions.render import render_environment

    obj: dict[str, Any] = ctx.obj or {}
    project_dir = Path(obj.get("project_dir") or os.getcwd())
    rendered = render_environment(
        project_dir, env, releases, [Path(f) for f in value_files], sets, set_strings
    )
    if out_dir is None:
        click.echo("".join(release_documents(rendered)), nl=False)
        return EXIT_OK
    out = Path(out_dir)
    if not out.is_absolute():
        out = project_dir / out
    for release in rendered:
        path = out / f"{release.spec.name}.yaml"
        write_text_atomic(
            path,
            "".join(release_documents([release])),
            what="",
            hint="check that the --out directory is writable",
        )
        click.echo(f"wrote {path} ({len(release.objects)} objects)", err=True)
    return EXIT_OK


def release_documents(releases: Iterable[RenderedRelease]) -> Iterable[str]:
    """Each object as a YAML document: `---`, a `# Source: <release>/<template>` comment, the
    manifest."""
    from kdeploy.yamlio import dump_fast

    for release in releases:
        for obj in release.objects:
            template = (
                obj.source.split("/", 2)[-1] if obj.source.startswith("packages/") else obj.source
            )
            mark = _hook_comment(obj.manifest)
            yield (
                f"---\n# Source: {release.spec.name}/{template}\n{mark}{dump_fast(obj.manifest)}"
            )


def _hook_comment(manifest: dict[str, Any]) -> str:
    """`# Hook: pre-apply (weight -5, delete policy before-run)` for a hook object, else ''."""
    from kdeploy.hooks import parse_hook

    hook = parse_hook(manifest)
    if hook is None:
        return ""
    return (
        f"# Hook: {', '.join(hook.phases)} (weight {hook.weight}, delete policy "
        f"{hook.delete_policy}; not applied with the release's objects)\n"
    )
