"""The waiting options shared by apply and rollback: `--no-wait`, `--timeout DURATION`,
`--wait-load-balancers`, `--fail-fast/--no-fail-fast` with `--fail-fast-grace DURATION`, and
`--progress-interval DURATION`."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from kdeploy.wait import WaitOptions

F = TypeVar("F", bound=Callable[..., Any])


class Duration(click.ParamType):  # type: ignore[type-arg]  # generic only since click 8.2
    """A duration such as `90s`, `5m` or `1h`, converted to seconds (a usage error otherwise)."""

    name = "DURATION"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        from kdeploy.durations import DurationError, parse_duration

        try:
            seconds = parse_duration(
                str(value),
                what=f"--{(param.name or '').replace('_', '-')}" if param else "duration",
            )
        except DurationError as e:
            self.fail(e.format_message(), param, ctx)
        if seconds <= 0:
            self.fail(f"{value!r} must be longer than zero", param, ctx)
        return seconds


def wait_options(f: F) -> F:
    """--no-wait, --timeout, --wait-load-balancers, --fail-fast, --fail-fast-grace and
    --progress-interval."""
    f = click.option(
        "--progress-interval",
        type=Duration(),
        default="10s",
        show_default=True,
        help="Without a terminal, print a `still waiting` line naming what each unhealthy object "
        "waits for when nothing was printed for this long.",
    )(f)
    f = click.option(
        "--fail-fast-grace",
        type=Duration(),
        default="30s",
        show_default=True,
        help="How long a container may stay in one of the --fail-fast states before the wait "
        "fails.",
    )(f)
    f = click.option(
        "--fail-fast/--no-fail-fast",
        "fail_fast",
        default=None,
        help="Fail the wait (exit 4) once a pod's container has been in ImagePullBackOff, "
        "ErrImagePull, InvalidImageName, CrashLoopBackOff or CreateContainerConfigError for "
        "longer than --fail-fast-grace, instead of waiting for --timeout; on by default when "
        "CI=true or GITLAB_CI=true.",
    )(f)
    f = click.option(
        "--wait-load-balancers",
        is_flag=True,
        help="Also wait until Services of type LoadBalancer have an address.",
    )(f)
    f = click.option(
        "--timeout",
        type=Duration(),
        default="5m",
        show_default=True,
        help="How long to wait for the release to become healthy (e.g. 90s, 5m, 1h); "
        "exit code 4 when it does not.",
    )(f)
    f = click.option(
        "--no-wait",
        is_flag=True,
        help="Do not wait for the objects to become healthy; record the revision as deployed "
        "once applied.",
    )(f)
    return f


def wait_settings(
    no_wait: bool,
    timeout: float,
    wait_load_balancers: bool,
    fail_fast: bool | None,
    fail_fast_grace: float,
    progress_interval: float,
) -> WaitOptions:
    """The WaitOptions the flags ask for; fail-fast, unless given, is on in CI (see in_ci)."""
    from kdeploy.wait import WaitOptions

    return WaitOptions(
        enabled=not no_wait,
        timeout=timeout,
        load_balancers=wait_load_balancers,
        fail_fast=in_ci() if fail_fast is None else fail_fast,
        fail_fast_grace=fail_fast_grace,
        progress_interval=progress_interval,
    )


def in_ci() -> bool:
    """Whether we run in a CI job: `CI=true` (set by GitLab CI, GitHub Actions and most others)
    or `GITLAB_CI=true` (`false`, as gitlab-ci-local sets it, means no)."""
    return os.environ.get("CI") == "true" or os.environ.get("GITLAB_CI") == "true"
