"""The lint action: render an environment's releases and lint them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kdeploy.lint.engine import LintResult, lint_releases
from kdeploy.lint.schema import resolve_version


@dataclass(frozen=True)
class LintRun:
    """The lint result and the names of the releases it covers, in environment order."""

    result: LintResult
    releases: tuple[str, ...]
    # `secrets:` entries whose source gave no value: "where (why)", never a value
    unavailable_secrets: tuple[str, ...] = ()


def lint_environment(
    project_dir: Path,
    env: str | None,
    releases: Sequence[str],
    value_files: Sequence[Path],
    sets: Sequence[str],
    set_strings: Sequence[str],
    kube_version: str | None,
    api_versions: Sequence[str] = (),
    *,
    set_files: Sequence[str] = (),
    set_jsons: Sequence[str] = (),
) -> LintRun:
    """Render the selected releases of `env` and lint them against Kubernetes `kube_version`.

    Values-schema violations come back as findings rather than errors, so that one run reports
    all of them. Secrets that are not available (lint runs offline) are not an error: a required
    one is checked with a placeholder, an optional one stays unset, and both are listed in
    `unavailable_secrets`. Raises KdeployError for an unsupported version (checked before rendering) and
    for anything that stops rendering (bad project files, template errors).
    """
    from kdeploy.actions.render import SecretsMode, render_environment
    from kdeploy.capabilities import offline

    version = resolve_version(kube_version)
    rendered = render_environment(
        project_dir,
        env,
        releases,
        value_files,
        sets,
        set_strings,
        set_files=set_files,
        set_jsons=set_jsons,
        validate_values=False,
        secrets_mode=SecretsMode.PLACEHOLDER,
        capabilities=offline(kube_version or version, api_versions),
    )
    unavailable = tuple(dict.fromkeys(m for r in rendered for m in r.unavailable_secrets))
    return LintRun(
        result=lint_releases(rendered, version),
        releases=tuple(r.spec.name for r in rendered),
        unavailable_secrets=unavailable,
    )
