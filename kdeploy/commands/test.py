"""`kdeploy test`: run a release's test hooks and report (no package sources needed)."""

from __future__ import annotations

import click

from kdeploy.commands._options import (
    cluster_options,
    release_argument,
    release_location_options,
    wait_for_lock_option,
)
from kdeploy.commands._wait import Duration
from kdeploy.errors import EXIT_ERROR, EXIT_OK


@click.command("test")
@release_argument
@release_location_options
@click.option(
    "--timeout",
    type=Duration(),
    default="5m",
    show_default=True,
    help="How long each test may run (e.g. 90s, 5m); a test still running then fails.",
)
@wait_for_lock_option
@cluster_options
@click.pass_context
def command(
    ctx: click.Context,
    release: str,
    namespace: str | None,
    env: str | None,
    timeout: float,
    wait_for_lock: str | None,
    kubeconfig: str | None,
    context: str | None,
) -> int:
    """Run the test hooks (kdeploy.dev/hook: test) of RELEASE's deployed revision, one at a time,
    and report each as PASS or FAIL with the tail of its pods' logs. Exits 0 when every test
    passed (or there are none), 1 when one failed."""
    from kdeploy.actions.test import format_run, run_tests
    from kdeploy.commands._live import build_deps, locate_release

    ns, cluster = locate_release(ctx, release, namespace, env)
    deps = build_deps(
        ctx, cluster, kubeconfig, context, operation="test", wait_for_lock=wait_for_lock
    )
    run = run_tests(deps, release, ns, timeout=timeout)
    deps.output.result(format_run(run))
    return EXIT_OK if run.passed else EXIT_ERROR
