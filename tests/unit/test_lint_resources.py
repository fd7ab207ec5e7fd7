"""Rules resources-set and requests-within-limits, and quantity parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lint_helpers import container, deployment, objects

from kdeploy.lint import resources_rules
from kdeploy.lint.quantity import QuantityError, parse_quantity


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("100m", Decimal("0.1")),
        ("1", Decimal(1)),
        (2, Decimal(2)),
        (0.5, Decimal("0.5")),
        ("1.5", Decimal("1.5")),
        ("1Gi", Decimal(2**30)),
        ("512Mi", Decimal(512 * 2**20)),
        ("128974848", Decimal(128974848)),
        ("129e6", Decimal(129000000)),
        ("129M", Decimal(129000000)),
        ("1k", Decimal(1000)),
        ("1Ki", Decimal(1024)),
        ("250u", Decimal("0.00025")),
    ],
)
def test_parse_quantity(raw: object, value: Decimal) -> None:
    assert parse_quantity(raw) == value


@pytest.mark.parametrize("raw", ["1GB", "abc", "", "1.2.3", "Mi", True, None, [1]])
def test_invalid_quantities_raise(raw: object) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(raw)


def test_binary_and_decimal_suffixes_compare_exactly() -> None:
    assert parse_quantity("1Gi") > parse_quantity("1G")
    assert parse_quantity("1000m") == parse_quantity("1")


def run(resources: dict[str, object] | None) -> list[tuple[str, str, str]]:
    c = container(resources=resources) if resources is not None else container(resources=None)
    return [
        (f.rule, f.severity, f.message)
        for f in resources_rules.check(objects(deployment(containers=[c])))
    ]


def test_complete_resources_pass() -> None:
    assert (
        run({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": 1, "memory": "1Gi"}})
        == []
    )


def test_missing_resources_are_listed() -> None:
    ((rule, severity, message),) = run(None)
    assert (rule, severity) == ("resources-set", "warning")
    assert 'container "web" has no cpu request, memory request, cpu limit, memory limit' in message


def test_missing_memory_limit_only() -> None:
    ((_, _, message),) = run(
        {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1"}}
    )
    assert "has no memory limit;" in message


def test_request_above_limit_is_an_error() -> None:
    ((rule, severity, message),) = run(
        {"requests": {"cpu": "100m", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "1024Mi"}}
    )
    assert (rule, severity) == ("requests-within-limits", "error")
    assert "requests more memory (2Gi) than its limit (1024Mi)" in message


def test_millicores_compare_numerically_not_as_text() -> None:
    # "900m" < "1" as quantities, although "9" > "1" as text
    assert (
        run({"requests": {"cpu": "900m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}})
        == []
    )


def test_unparsable_quantity_is_an_error_naming_the_field() -> None:
    found = list(
        resources_rules.check(
            objects(
                deployment(
                    containers=[
                        container(
                            resources={
                                "requests": {"cpu": "100m", "memory": "1GB"},
                                "limits": {"cpu": "1", "memory": "2Gi"},
                            }
                        )
                    ]
                )
            )
        )
    )
    (f,) = found
    assert f.rule == "requests-within-limits"
    assert 'invalid quantity "1GB" for memory requests' in f.message
    assert f.path == "spec.template.spec.containers[0].resources.requests.memory"
