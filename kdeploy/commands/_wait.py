"""The waiting options shared by apply and rollback: `--no-wait`, `--timeout DURATION` and
`--wait-load-balancers`."""

from __future__ import annotations

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
            seconds = parse_duration(str(value), what=f"--{param.name}" if param else "duration")
        except DurationError as e:
            self.fail(e.format_message(), param, ctx)
        if seconds <= 0:
            self.fail(f"{value!r} must be longer than zero", param, ctx)
        return seconds


def wait_options(f: F) -> F:
    """--no-wait, --timeout and --wait-load-balancers."""
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


def wait_settings(no_wait: bool, timeout: float, wait_load_balancers: bool) -> WaitOptions:
    """The WaitOptions the flags ask for."""
    from kdeploy.wait import WaitOptions

    return WaitOptions(enabled=not no_wait, timeout=timeout, load_balancers=wait_load_balancers)
