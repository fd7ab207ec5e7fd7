"""`kdeploy render`: print an environment's rendered manifests, or write one file per release."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from kdeploy.commands._files import write_text_atomic
from kdeploy.commands._options import (
    api_versions_option,
    env_option,
    releases_argument,
    values_options,
)
from kdeploy.commands._values import warn_unused_values
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
@click.option(
    "--kube-version",
    default=None,
    metavar="X.Y[.Z]",
    help="Kubernetes version templates see as kube.version (default: the newest one whose API "
    "schemas kdeploy bundles).",
)
@api_versions_option
@click.option(
    "--redact-secrets",
    is_flag=True,
    help="Mask Secret values, writeOnly values and values from the environment's secrets: (as "
    "diff does), e.g. for CI artifacts; secrets that are not available render as placeholders.",
)
@click.pass_context
def command(
    ctx: click.Context,
    env: str | None,
    releases: tuple[str, ...],
    value_files: tuple[str, ...],
    sets: tuple[str, ...],
    set_strings: tuple[str, ...],
    set_files: tuple[str, ...],
    set_jsons: tuple[str, ...],
    out_dir: str | None,
    kube_version: str | None,
    api_versions: tuple[str, ...],
    redact_secrets: bool,
) -> int:
    """Render an environment's releases (all, or the RELEASEs named) to YAML manifests.

    Values, lowest precedence first: package values.yaml, the environment (and those it extends),
    its secrets:, -f files, --set, --set-string.
    """
    from kdeploy.actions.render import SecretsMode, render_environment
    from kdeploy.capabilities import offline

    obj: dict[str, Any] = ctx.obj or {}
    project_dir = Path(obj.get("project_dir") or os.getcwd())
    rendered = render_environment(
        project_dir,
        env,
        releases,
        [Path(f) for f in value_files],
        sets,
        set_strings,
        set_files=set_files,
        set_jsons=set_jsons,
        # offline, e.g. in a job without the protected variables: placeholders stand in
        secrets_mode=SecretsMode.PLACEHOLDER if redact_secrets else SecretsMode.REQUIRE,
        capabilities=offline(kube_version, api_versions),
    )
    warn_unused_values(rendered)
    if redact_secrets:
        rendered = [redacted(release) for release in rendered]
    if out_dir is None:
        from kdeploy.gcpolicy import building

        with building():
            text = "".join(release_documents(rendered))
        click.echo(text, nl=False)
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


def redacted(release: RenderedRelease) -> RenderedRelease:
    """`release` with every Secret value, and every secret string elsewhere (writeOnly values, a
    Secret's value quoted in a ConfigMap), replaced by its `<redacted:...>` token."""
    from dataclasses import replace

    from kdeploy.secrets import release_secret_strings, split_secret_manifests

    manifests = [o.manifest for o in release.objects]
    strings = release_secret_strings(release)
    masked, _ = split_secret_manifests(manifests, strings)
    objects = tuple(replace(o, manifest=m) for o, m in zip(release.objects, masked, strict=True))
    return replace(release, objects=objects)


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
