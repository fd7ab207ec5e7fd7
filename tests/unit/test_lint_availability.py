"""Rules pdb-for-replicas and hpa-target-exists, and label selector matching."""

from __future__ import annotations

from typing import Any

import pytest
from lint_helpers import deployment, hpa, objects, pdb, release

from kdeploy.lint import availability
from kdeploy.lint.availability import selector_matches


def rules(*manifests: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f.rule, f.obj) for f in availability.check(objects(*manifests))]


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({"matchLabels": {"app": "web"}}, {"app": "web", "tier": "fe"}, True),
        ({"matchLabels": {"app": "api"}}, {"app": "web"}, False),
        ({}, {"app": "web"}, True),
        (None, {"app": "web"}, False),
        (
            {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]},
            {"app": "web"},
            True,
        ),
        (
            {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]},
            {"app": "web"},
            False,
        ),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {"app": "web"}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {"app": "web"}, True),
    ],
)
def test_selector_matches(selector: Any, labels: dict[str, str], expected: bool) -> None:
    assert selector_matches(selector, labels) is expected


def test_replicated_deployment_without_pdb_is_reported() -> None:
    (f,) = availability.check(objects(deployment(replicas=3)))
    assert (f.rule, f.severity, f.obj) == ("pdb-for-replicas", "warning", "Deployment shop/web")
    assert f.message.startswith("3 replicas but no PodDisruptionBudget selects its pods")


def test_single_replica_needs_no_pdb() -> None:
    assert rules(deployment(replicas=1)) == []


def test_matching_pdb_satisfies_the_rule() -> None:
    assert rules(deployment(replicas=3), pdb("web", {"matchLabels": {"app": "web"}})) == []


def test_pdb_selecting_other_pods_or_namespace_does_not_count() -> None:
    assert rules(
        deployment(kind="StatefulSet", replicas=2),
        pdb("other", {"matchLabels": {"app": "api"}}),
        pdb("elsewhere", {"matchLabels": {"app": "web"}}, namespace="other"),
    ) == [("pdb-for-replicas", "StatefulSet shop/web")]


def test_pdb_in_another_release_counts() -> None:
    dep = release(deployment(replicas=3), name="web").objects
    budget = release(pdb("web", {"matchLabels": {"app": "web"}}), name="policies").objects
    assert list(availability.check([*dep, *budget])) == []


def test_hpa_min_replicas_counts_as_replicas() -> None:
    found = rules(deployment(replicas=1), hpa("web", "Deployment", "web", min_replicas=2))
    assert found == [("pdb-for-replicas", "Deployment shop/web")]


def test_hpa_with_existing_target_passes() -> None:
    assert rules(deployment(), hpa("web", "Deployment", "web")) == []


def test_hpa_with_missing_target_is_an_error() -> None:
    (f,) = availability.check(objects(deployment(), hpa("web", "Deployment", "wbe")))
    assert (f.rule, f.severity, f.obj) == (
        "hpa-target-exists",
        "error",
        "HorizontalPodAutoscaler shop/web",
    )
    assert "scaleTargetRef Deployment shop/wbe is not in release web" in f.message


def test_hpa_target_of_wrong_kind_or_other_release_is_missing() -> None:
    assert rules(deployment(), hpa("web", "StatefulSet", "web")) == [
        ("hpa-target-exists", "HorizontalPodAutoscaler shop/web")
    ]
    dep = release(deployment(), name="a").objects
    scaler = release(hpa("web", "Deployment", "web"), name="b").objects
    assert [f.rule for f in availability.check([*dep, *scaler])] == ["hpa-target-exists"]
