"""kdeploy.resource_policy: which manifests ask to be kept."""

from __future__ import annotations

from typing import Any

import pytest

from kdeploy.resource_policy import keep_policy


def _with(annotations: dict[str, Any] | None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"annotations": annotations}}


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ({"kdeploy.dev/resource-policy": "keep"}, "kdeploy.dev/resource-policy: keep"),
        ({"helm.sh/resource-policy": " Keep "}, "helm.sh/resource-policy: keep"),
        ({"kdeploy.dev/resource-policy": "delete"}, None),
        ({"other": "keep"}, None),
        (None, None),
    ],
)
def test_keep_policy_reads_either_annotation(
    annotations: dict[str, Any] | None, expected: str | None
) -> None:
    assert keep_policy(_with(annotations)) == expected


def test_keep_policy_falls_back_to_the_recorded_manifest() -> None:
    recorded = _with({"kdeploy.dev/resource-policy": "keep"})
    assert keep_policy(_with(None), recorded) == "kdeploy.dev/resource-policy: keep"
    assert keep_policy(None, None) is None
