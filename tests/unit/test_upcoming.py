"""What releases planned earlier create, for the dry runs of later ones (kdeploy.actions.diff)."""

from __future__ import annotations

from kdeploy.actions.diff import Prepared, Target, Upcoming
from kdeploy.diff import plan

NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "names": {"kind": "Widget"}, "scope": "Cluster"},
}
CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}


def _prepared(*manifests: dict[str, object], creates_namespace: bool = False) -> Prepared:
    target = Target(release="r", namespace="home", manifests=tuple(manifests))
    return Prepared(
        target=target,
        plan=plan({}, {}, set()),
        desired={},
        live={},
        previous={},
        foreign={},
        creates_namespace=creates_namespace,
    )


def test_namespaces_and_crds_of_a_release_are_upcoming_for_the_next() -> None:
    upcoming = Upcoming().after(_prepared(NAMESPACE, CRD, CONFIGMAP))
    assert upcoming.namespaces == {"shop"}
    assert dict(upcoming.crds) == {("example.com", "Widget"): "Cluster"}


def test_upcoming_accumulates_over_releases_and_keeps_earlier_ones() -> None:
    first = Upcoming().after(_prepared(NAMESPACE))
    second = first.after(_prepared(CRD))
    assert second.namespaces == {"shop"}
    assert ("example.com", "Widget") in second.crds
    assert first.crds == {}  # frozen: the earlier value is unchanged


def test_a_namespace_made_by_create_namespace_is_upcoming() -> None:
    assert Upcoming().after(_prepared(CONFIGMAP, creates_namespace=True)).namespaces == {"home"}
    assert Upcoming().after(_prepared(CONFIGMAP)).namespaces == frozenset()
