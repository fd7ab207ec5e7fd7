"""What a Namespace holds, counted for the release about to delete it."""

from __future__ import annotations

from typing import Any

from kdeploy.namespace_contents import describe, summarize
from kdeploy.resources import stamp_ownership

NS = "shop"


def obj(kind: str, name: str, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": NS, **meta}}


def history(release: str, number: int) -> dict[str, Any]:
    labels = {
        "app.kubernetes.io/managed-by": "kdeploy",
        "kdeploy.dev/release": release,
        "kdeploy.dev/revision": str(number),
    }
    return obj("ConfigMap", f"kdeploy.{release}.v{number}", labels=labels)


def test_counts_per_kind_and_names_what_is_not_the_releases() -> None:
    objects = [
        stamp_ownership(obj("ConfigMap", "web-config"), "web", "prod", namespace=NS),
        stamp_ownership(obj("ConfigMap", "web-of-b"), "web", "prod", namespace="b"),
        obj("Deployment", "by-hand"),
        obj("Pod", "by-hand-abc", ownerReferences=[{"kind": "ReplicaSet", "name": "x"}]),
        history("web", 1),
        history("api", 1),
        history("api", 2),
        # what every namespace has, and events: not counted
        obj("ConfigMap", "kube-root-ca.crt"),
        obj("ServiceAccount", "default"),
        obj("Event", "by-hand.1"),
    ]

    contents = summarize(NS, objects, "web", NS, unreadable=["Secret"])

    assert contents.counts == (("ConfigMap", 5), ("Deployment", 1), ("Pod", 1))
    assert contents.not_owned == 2  # web of namespace b's ConfigMap, the Deployment
    assert contents.other_histories == ("api",)
    assert describe(contents, "web", NS) == (
        "Namespace shop holds 7 objects (5 ConfigMap, 1 Deployment, 1 Pod): 2 not owned by "
        "release web of namespace shop, and the history of release api; could not list: Secret"
    )


def test_the_releases_own_history_elsewhere_is_another_releases() -> None:
    contents = summarize(NS, [history("web", 1)], "web", "other")
    assert contents.other_histories == ("web",)


def test_an_empty_namespace() -> None:
    assert describe(summarize(NS, [], "web", NS), "web", NS) == "Namespace shop holds no objects"
