"""`--concurrency N` (apply, rollback) and the connection pool size it needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

# Keep in step with kdeploy.actions.phases.DEFAULT_CONCURRENCY (not imported: the CLI stays light).
DEFAULT_CONCURRENCY = 8
# Connections beyond the appliers: lock renewal threads and the health poller.
SPARE_CONNECTIONS = 4


def concurrency_option(f: F) -> F:
    """--concurrency N: objects of one install phase applied (and pruned) at the same time."""
    return click.option(
        "--concurrency",
        type=click.IntRange(min=1, max=64),
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        metavar="N",
        help="Objects of the same install phase sent to the API server at once "
        "(1: one at a time, in install order).",
    )(f)


def pool_size(concurrency: int, releases: int = 1) -> int:
    """Connections the shared client must keep so that `releases` releases applied at once, each
    `concurrency` objects at a time, never open and discard extra connections. Never below the
    default: the diff's dry-run applies use the pool too, whatever `--concurrency` says."""
    return max(concurrency, DEFAULT_CONCURRENCY) * max(1, releases) + SPARE_CONNECTIONS
