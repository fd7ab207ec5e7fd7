"""Ownership stamps, scopes and install order."""

from __future__ import annotations

from kdeploy.resources import (
    ENV_ANNOTATION,
    INSTANCE_LABEL,
    MANAGED_BY_LABEL,
    RELEASE_ANNOTATION,
    api_group,
    crd_scopes,
    install_order,
    is_namespaced,
    sort_objects,
    stamp_ownership,
)


def obj(kind: str, name: str, namespace: str = "") -> dict[str, object]:
    meta: dict[str, object] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "v1", "kind": kind, "metadata": meta}


def test_stamp_ownership_returns_a_new_manifest() -> None:
    original = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"a": "b"}},
    }
    stamped = stamp_ownership(original, "web", "prod")
    assert original == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"a": "b"}},
    }
    assert stamped["metadata"]["labels"] == {
        "a": "b",
        MANAGED_BY_LABEL: "kdeploy",
        INSTANCE_LABEL: "web",
    }
    assert stamped["metadata"]["annotations"] == {RELEASE_ANNOTATION: "web", ENV_ANNOTATION: "prod"}


def test_stamp_overrides_a_conflicting_instance_label() -> None:
    m = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {INSTANCE_LABEL: "x"}},
    }
    assert stamp_ownership(m, "web", "prod")["metadata"]["labels"][INSTANCE_LABEL] == "web"


def test_api_group() -> None:
    assert api_group("v1") == ""
    assert api_group("apps/v1") == "apps"
    assert api_group("rbac.authorization.k8s.io/v1") == "rbac.authorization.k8s.io"


def test_scopes() -> None:
    assert is_namespaced("", "ConfigMap", {})
    assert not is_namespaced("", "Namespace", {})
    assert not is_namespaced("rbac.authorization.k8s.io", "ClusterRole", {})
    assert is_namespaced("example.com", "Widget", {})
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Cluster", "names": {"kind": "Widget"}},
    }
    scopes = crd_scopes([crd, obj("ConfigMap", "x")])
    assert scopes == {("example.com", "Widget"): "Cluster"}
    assert not is_namespaced("example.com", "Widget", scopes)


def test_install_order_then_name() -> None:
    objs = [
        obj("Ingress", "a"),
        obj("Deployment", "b"),
        obj("Deployment", "a"),
        obj("HorizontalPodAutoscaler", "a"),
        obj("Secret", "a"),
        obj("ConfigMap", "z"),
        obj("Namespace", "ns"),
        obj("ClusterRoleBinding", "crb"),
        obj("ServiceAccount", "sa"),
    ]
    assert [(o["kind"], o["metadata"]["name"]) for o in sort_objects(objs)] == [  # type: ignore[index]
        ("Namespace", "ns"),
        ("ServiceAccount", "sa"),
        ("ClusterRoleBinding", "crb"),
        ("ConfigMap", "z"),
        ("Secret", "a"),
        ("Deployment", "a"),
        ("Deployment", "b"),
        ("HorizontalPodAutoscaler", "a"),
        ("Ingress", "a"),
    ]
    assert install_order(obj("ConfigMap", "a", "x")) < install_order(obj("ConfigMap", "a", "y"))


def test_stamp_release_namespace_adds_the_namespace_to_the_releases_objects_only() -> None:
    from kdeploy.resources import RELEASE_NAMESPACE_ANNOTATION, stamp_release_namespace

    name_only = stamp_ownership({"kind": "ConfigMap", "metadata": {"name": "a"}}, "web", "prod")
    other = stamp_ownership({"kind": "ConfigMap", "metadata": {"name": "b"}}, "api", "prod")
    bare = {"kind": "ConfigMap", "metadata": {"name": "c"}}

    mine, theirs, untouched = stamp_release_namespace([name_only, other, bare], "web", "shop")

    assert mine["metadata"]["annotations"][RELEASE_NAMESPACE_ANNOTATION] == "shop"
    assert RELEASE_NAMESPACE_ANNOTATION not in name_only["metadata"]["annotations"]
    assert theirs is other and untouched is bare
