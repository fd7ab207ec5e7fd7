"""Deletion semantics: finalizers and deletionTimestamp, propagation policies and garbage
collection through ownerReferences, namespace deletion, and custom resources of CRDs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client, config, dynamic
from kubernetes.client import ApiException


@pytest.fixture(scope="module")
def api(emulator: Any) -> client.ApiClient:
    return config.new_client_from_config(emulator.kubeconfig_path)


@pytest.fixture(scope="module")
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll until `check()` holds (real clusters collect garbage asynchronously)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.1)
    return check()


def exists(core: client.CoreV1Api, kind: str, name: str, namespace: str) -> bool:
    try:
        getattr(core, f"read_namespaced_{kind}")(name, namespace)
        return True
    except ApiException as e:
        if e.status == 404:
            return False
        raise


def owned_cm(name: str, owner: Any) -> dict[str, Any]:
    ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": owner.metadata.name,
        "uid": owner.metadata.uid,
        "blockOwnerDeletion": True,
    }
    return {"metadata": {"name": name, "ownerReferences": [ref]}}


def test_finalizer_holds_object_until_removed(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    )
    core.delete_namespaced_config_map("held", namespace)
    held = core.read_namespaced_config_map("held", namespace)
    assert held.metadata.deletion_timestamp is not None
    assert held.metadata.finalizers == ["example.com/hold"]
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map(
            "held", namespace, {"metadata": {"finalizers": ["example.com/hold", "new/one"]}}
        )
    assert err.value.status == 422
    core.patch_namespaced_config_map("held", namespace, {"metadata": {"finalizers": None}})
    assert not exists(core, "config_map", "held", namespace)


def test_delete_preconditions_conflict(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "pre"}})
    with pytest.raises(ApiException) as err:
        core.delete_namespaced_config_map(
            "pre",
            namespace,
            body=client.V1DeleteOptions(preconditions=client.V1Preconditions(resource_version="1")),
        )
    assert err.value.status == 409
    assert exists(core, "config_map", "pre", namespace)


def test_background_deletion_collects_dependents(core: client.CoreV1Api, namespace: str) -> None:
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(namespace, owned_cm("dep", owner))
    core.delete_namespaced_config_map("owner", namespace, propagation_policy="Background")
    assert eventually(lambda: not exists(core, "config_map", "dep", namespace))


def test_orphan_deletion_keeps_dependents_without_owner(
    core: client.CoreV1Api, namespace: str
) -> None:
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "o2"}})
    core.create_namespaced_config_map(namespace, owned_cm("kept", owner))
    core.delete_namespaced_config_map("o2", namespace, propagation_policy="Orphan")
    assert eventually(lambda: not exists(core, "config_map", "o2", namespace))
    kept = core.read_namespaced_config_map("kept", namespace)
    assert not kept.metadata.owner_references


def test_foreground_deletion_removes_dependents_first(
    core: client.CoreV1Api, namespace: str
) -> None:
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "o3"}})
    core.create_namespaced_config_map(
        namespace,
        {
            **owned_cm("blocker", owner),
            "metadata": {
                **owned_cm("blocker", owner)["metadata"],
                "finalizers": ["example.com/hold"],
            },
        },
    )
    core.delete_namespaced_config_map("o3", namespace, propagation_policy="Foreground")
    pending = core.read_namespaced_config_map("o3", namespace)
    assert "foregroundDeletion" in pending.metadata.finalizers
    # the garbage collector deletes the dependent first (on a real cluster, moments later)
    assert eventually(
        lambda: core.read_namespaced_config_map("blocker", namespace).metadata.deletion_timestamp
    )
    core.patch_namespaced_config_map("blocker", namespace, {"metadata": {"finalizers": None}})
    assert eventually(lambda: not exists(core, "config_map", "o3", namespace))


def test_deployment_deletion_removes_replicasets_and_pods(
    api: client.ApiClient, core: client.CoreV1Api, namespace: str
) -> None:
    apps = client.AppsV1Api(api)
    labels = {"app": "gc"}
    apps.create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": "gc"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                },
            },
        },
    )
    assert eventually(lambda: len(core.list_namespaced_pod(namespace).items) == 2)
    apps.delete_namespaced_deployment("gc", namespace)
    assert eventually(
        lambda: (
            not apps.list_namespaced_replica_set(namespace).items
            and not core.list_namespaced_pod(namespace).items
        )
    )


def test_namespace_deletion_removes_contents(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "doomed"}})
    core.create_namespaced_config_map("doomed", {"metadata": {"name": "inside"}})
    core.create_namespaced_secret(
        "doomed", {"metadata": {"name": "hold", "finalizers": ["example.com/hold"]}}
    )
    core.delete_namespace("doomed")
    ns = core.read_namespace("doomed")
    assert ns.status.phase == "Terminating"
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("doomed", {"metadata": {"name": "late"}})
    assert err.value.status == 403
    assert "because it is being terminated" in err.value.body
    assert eventually(lambda: not exists(core, "config_map", "inside", "doomed"))
    core.patch_namespaced_secret("hold", "doomed", {"metadata": {"finalizers": None}})

    def gone() -> bool:
        try:
            core.read_namespace("doomed")
            return False
        except ApiException as e:
            return e.status == 404

    assert eventually(gone)


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {
            "plural": "widgets",
            "singular": "widget",
            "kind": "Widget",
            "shortNames": ["wd"],
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
                "subresources": {"status": {}},
            }
        ],
    },
}


def test_crd_serves_custom_resources_until_deleted(api: client.ApiClient, namespace: str) -> None:
    ext = client.ApiextensionsV1Api(api)
    custom = client.CustomObjectsApi(api)
    crd = ext.create_custom_resource_definition(CRD)

    def conditions() -> dict[str, str]:
        status = ext.read_custom_resource_definition("widgets.example.com").status
        return {c.type: c.status for c in (status.conditions or [])}

    assert eventually(lambda: conditions().get("Established") == "True")
    assert conditions().get("NamesAccepted") == "True"
    assert crd.metadata.name == "widgets.example.com"
    w = custom.create_namespaced_custom_object(
        "example.com",
        "v1",
        namespace,
        "widgets",
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w1"},
            "spec": {"size": 3},
        },
    )
    assert w["metadata"]["generation"] == 1
    listed = custom.list_namespaced_custom_object("example.com", "v1", namespace, "widgets")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["w1"]
    assert listed["items"][0]["kind"] == "Widget"
    dc = dynamic.DynamicClient(api)
    assert dc.resources.get(api_version="example.com/v1", kind="Widget").short_names == ["wd"]
    ext.delete_custom_resource_definition("widgets.example.com")

    def served() -> bool:
        try:
            custom.list_namespaced_custom_object("example.com", "v1", namespace, "widgets")
            return True
        except ApiException as e:
            assert e.status == 404
            return False

    assert eventually(lambda: not served())
    ext.create_custom_resource_definition(CRD)
    assert eventually(served)
    again = custom.list_namespaced_custom_object("example.com", "v1", namespace, "widgets")
    assert again["items"] == []
    ext.delete_custom_resource_definition("widgets.example.com")
