"""Rules resources-set and requests-within-limits: cpu and memory requests and limits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from kdeploy.lint.findings import POD_KINDS, Finding, Rule
from kdeploy.lint.quantity import QuantityError, parse_quantity
from kdeploy.lint.workloads import Container, containers, finding
from kdeploy.model import RenderedObject

RESOURCES_SET = Rule(
    "resources-set",
    "warning",
    "every container sets cpu and memory requests and limits",
    POD_KINDS,
)
REQUESTS_WITHIN_LIMITS = Rule(
    "requests-within-limits",
    "error",
    "requests do not exceed limits, and every quantity parses",
    POD_KINDS,
)
RULES = (RESOURCES_SET, REQUESTS_WITHIN_LIMITS)
_RESOURCES = ("cpu", "memory")


def check(objects: Sequence[RenderedObject]) -> Iterator[Finding]:
    """Yield findings for missing requests/limits, bad quantities and requests above limits."""
    for obj in objects:
        for c in containers(obj.manifest):
            yield from _check_container(obj, c)


def _check_container(obj: RenderedObject, c: Container) -> Iterator[Finding]:
    res = _dict(c.spec.get("resources"))
    requests, limits = _dict(res.get("requests")), _dict(res.get("limits"))
    missing = [
        f"{name} {kind}"
        for kind, given in (("request", requests), ("limit", limits))
        for name in _RESOURCES
        if name not in given
    ]
    if missing:
        yield finding(
            RESOURCES_SET,
            obj,
            f'container "{c.name}" has no {", ".join(missing)}; set resources.requests '
            "(what the scheduler reserves) and resources.limits for cpu and memory",
            f"{c.path}.resources",
        )
    parsed: dict[tuple[str, str], Any] = {}
    for kind, given in (("requests", requests), ("limits", limits)):
        for name, raw in given.items():
            try:
                parsed[kind, name] = parse_quantity(raw)
            except QuantityError as e:
                yield finding(
                    REQUESTS_WITHIN_LIMITS,
                    obj,
                    f'container "{c.name}": {e} for {name} {kind}; use a quantity such as '
                    "250m, 0.5, 512Mi or 1Gi",
                    f"{c.path}.resources.{kind}.{name}",
                )
    for name in sorted({n for _, n in parsed}):
        request, limit = parsed.get(("requests", name)), parsed.get(("limits", name))
        if request is not None and limit is not None and request > limit:
            yield finding(
                REQUESTS_WITHIN_LIMITS,
                obj,
                f'container "{c.name}" requests more {name} ({requests[name]}) than its limit '
                f"({limits[name]}); the API server rejects this pod: lower the request or raise "
                "the limit",
                f"{c.path}.resources.requests.{name}",
            )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
