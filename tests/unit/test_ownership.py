"""Who owns a live object, in words."""

from __future__ import annotations

from typing import Any

import pytest

from kdeploy.ownership import describe_owner, owned_by


def obj(
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    managers: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "metadata": {
            "labels": labels or {},
            "annotations": annotations or {},
            "managedFields": [{"manager": m} for m in managers],
        }
    }


KDEPLOY = {"app.kubernetes.io/managed-by": "kdeploy"}


def test_owned_by_needs_label_and_release_annotation() -> None:
    assert owned_by(obj(KDEPLOY, {"kdeploy.dev/release": "web"}), "web")
    assert not owned_by(obj(KDEPLOY, {"kdeploy.dev/release": "api"}), "web")
    assert not owned_by(obj({}, {"kdeploy.dev/release": "web"}), "web")


@pytest.mark.parametrize(
    ("live", "owner"),
    [
        (obj(KDEPLOY, {"kdeploy.dev/release": "api"}), 'kdeploy release "api"'),
        (
            obj(
                {"app.kubernetes.io/managed-by": "Helm"},
                {"meta.helm.sh/release-name": "web", "meta.helm.sh/release-namespace": "shop"},
            ),
            'Helm release "shop/web"',
        ),
        (
            obj({"app.kubernetes.io/managed-by": "argocd"}),
            '"argocd" (label app.kubernetes.io/managed-by)',
        ),
        (
            obj(managers=("kubectl-create", "kdeploy", "kubectl-edit")),
            "no release: created by hand or another tool (field managers: kubectl-create, kubectl-edit)",
        ),
        (obj(), "no release: created by hand or another tool"),
    ],
)
def test_describe_owner(live: dict[str, Any], owner: str) -> None:
    assert describe_owner(live) == owner
