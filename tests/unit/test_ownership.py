"""Who owns a live object, in words."""

from __future__ import annotations

from typing import Any

import pytest

from kdeploy.ownership import describe_owner, owned_by


def obj(
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    managers: tuple[str, ...] = (),
    namespace: str | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "labels": labels or {},
        "annotations": annotations or {},
        "managedFields": [{"manager": m} for m in managers],
    }
    if namespace is not None:
        meta["namespace"] = namespace
    return {"metadata": meta}


KDEPLOY = {"app.kubernetes.io/managed-by": "kdeploy"}
WEB_OF_A = {"kdeploy.dev/release": "web", "kdeploy.dev/release-namespace": "a"}
# stamped by a kdeploy that recorded the release name only
WEB_NAME_ONLY = {"kdeploy.dev/release": "web"}


def test_owned_by_needs_label_and_release_name_and_namespace() -> None:
    assert owned_by(obj(KDEPLOY, WEB_OF_A), "web", "a")
    assert not owned_by(obj(KDEPLOY, WEB_OF_A), "web", "b")
    assert not owned_by(obj(KDEPLOY, WEB_OF_A), "api", "a")
    assert not owned_by(obj({}, WEB_OF_A), "web", "a")


def test_another_release_of_the_same_name_is_not_the_owner_even_when_recorded() -> None:
    assert not owned_by(obj(KDEPLOY, WEB_OF_A, namespace="a"), "web", "b", recorded=True)


@pytest.mark.parametrize(
    ("namespace", "recorded", "ours"),
    [
        ("a", False, True),  # namespaced, in the release's own namespace: unambiguous
        ("b", False, False),  # namespaced elsewhere: may be web of namespace b's
        (None, False, False),  # cluster-scoped: may be any web's
        (None, True, True),  # ... unless this release's history records it
        ("b", True, True),
    ],
)
def test_a_name_only_stamp_is_ours_only_where_it_cannot_be_another_releases(
    namespace: str | None, recorded: bool, ours: bool
) -> None:
    live = obj(KDEPLOY, WEB_NAME_ONLY, namespace=namespace)
    assert owned_by(live, "web", "a", recorded=recorded) is ours


@pytest.mark.parametrize(
    ("live", "owner"),
    [
        (
            obj(KDEPLOY, {"kdeploy.dev/release": "api", "kdeploy.dev/release-namespace": "a"}),
            'kdeploy release "api" in namespace a',
        ),
        (
            obj(KDEPLOY, {"kdeploy.dev/release": "api"}),
            'kdeploy release "api" of an unknown namespace (stamped without its namespace by an '
            "older kdeploy, and not recorded in this release's history)",
        ),
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
