"""What the commands that render say about the values they were given."""

from __future__ import annotations

from collections.abc import Iterable

import click

from kdeploy.model import RenderedRelease


def warn_unused_values(releases: Iterable[RenderedRelease]) -> None:
    """One warning on stderr per value set in the environment, a -f file or a flag that no
    template uses (kdeploy.unused); stdout stays the manifests."""
    for release in releases:
        for value in release.unused_values:
            click.echo(f"warning: release {release.spec.name}: {value.describe()}", err=True)
