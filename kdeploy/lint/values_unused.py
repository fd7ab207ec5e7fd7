"""Rule values-unused: a value set in the environment, a values file, -f or --set that no template
of the package uses (kdeploy.unused), most often a misspelt key."""

from __future__ import annotations

from collections.abc import Iterator

from kdeploy.lint.findings import Finding, Rule
from kdeploy.model import RenderedRelease

VALUES_UNUSED = Rule(
    "values-unused",
    "warning",
    "every value set for a release is used by its package",
    frozenset(),
)
RULES = (VALUES_UNUSED,)


def check(release: RenderedRelease) -> Iterator[Finding]:
    """One finding per value the release sets but its package does not use, naming where it was
    set (file:line or the flag) and the nearest key that is used."""
    from kdeploy.lint.values_schema import VALUES_OBJECT
    from kdeploy.validate import format_path

    for value in release.unused_values:
        yield Finding(
            rule=VALUES_UNUSED.id,
            severity=VALUES_UNUSED.severity,
            message=value.describe(with_origin=False),
            obj=VALUES_OBJECT,
            source=value.origin,
            release=release.spec.name,
            path=format_path(value.path),
        )
