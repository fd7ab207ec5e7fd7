"""Object semantics through the official Python client: CRUD, errors as Status objects,
resourceVersion conflicts, generation, defaulting, dry runs, Secret stringData and limits."""

from __future__ import annotations

import base64
import json
import time
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


@pytest.fixture(scope="module")
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


@pytest.fixture(scope="module")
def dc(api: client.ApiClient) -> dynamic.DynamicClient:
    return dynamic.DynamicClient(api)


def status_of(exc: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body)
    return body


def deployment(name: str, image: str = "nginx:1.27", replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


def test_create_get_update_delete_configmap(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "cfg"}, "data": {"k": "v"}}
    )
    assert created.metadata.uid and created.metadata.creation_timestamp
    assert int(created.metadata.resource_version) > 0
    got = core.read_namespaced_config_map("cfg", namespace)
    assert got.data == {"k": "v"} and got.metadata.uid == created.metadata.uid
    got.data["k"] = "w"
    updated = core.replace_namespaced_config_map("cfg", namespace, got)
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
    assert updated.metadata.uid == created.metadata.uid
    core.delete_namespaced_config_map("cfg", namespace)
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("cfg", namespace)
    assert err.value.status == 404


def test_not_found_and_already_exists_messages(apps: client.AppsV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("nope", namespace)
    status = status_of(err.value)
    assert status["message"] == 'deployments.apps "nope" not found'
    assert status["reason"] == "NotFound"
    assert status["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}
    apps.create_namespaced_deployment(namespace, deployment("dup"))
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment(namespace, deployment("dup"))
    assert err.value.status == 409
    assert status_of(err.value)["reason"] == "AlreadyExists"
    assert status_of(err.value)["message"] == 'deployments.apps "dup" already exists'


def test_missing_namespace_is_404_namespace_not_found(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("no-such-ns", {"metadata": {"name": "x"}})
    assert err.value.status == 404
    assert status_of(err.value)["message"] == 'namespaces "no-such-ns" not found'


def test_stale_resource_version_is_409_conflict(core: client.CoreV1Api, namespace: str) -> None:
    first = core.create_namespaced_config_map(namespace, {"metadata": {"name": "rv"}, "data": {}})
    core.patch_namespaced_config_map("rv", namespace, {"data": {"a": "1"}})
    first.data = {"b": "2"}
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("rv", namespace, first)
    status = status_of(err.value)
    assert status["reason"] == "Conflict"
    assert "the object has been modified" in status["message"]
    assert core.read_namespaced_config_map("rv", namespace).data == {"a": "1"}


def test_generation_bumps_on_spec_change_only(apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("gen"))
    assert apps.read_namespaced_deployment("gen", namespace).metadata.generation == 1
    apps.patch_namespaced_deployment("gen", namespace, {"metadata": {"labels": {"x": "y"}}})
    assert apps.read_namespaced_deployment("gen", namespace).metadata.generation == 1
    apps.patch_namespaced_deployment("gen", namespace, {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment("gen", namespace).metadata.generation == 2


def test_noop_write_keeps_resource_version(core: client.CoreV1Api, namespace: str) -> None:
    cm = core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "same"}, "data": {"a": "1"}}
    )
    again = core.patch_namespaced_config_map("same", namespace, {"data": {"a": "1"}})
    assert again.metadata.resource_version == cm.metadata.resource_version


def test_defaults_and_cluster_ip(
    apps: client.AppsV1Api, core: client.CoreV1Api, namespace: str
) -> None:
    d = apps.create_namespaced_deployment(namespace, deployment("def"))
    assert d.spec.strategy.type == "RollingUpdate"
    assert d.spec.revision_history_limit == 10
    assert d.spec.progress_deadline_seconds == 600
    assert d.spec.template.spec.containers[0].termination_message_path == "/dev/termination-log"
    svc = core.create_namespaced_service(
        namespace,
        {
            "metadata": {"name": "svc"},
            "spec": {"selector": {"app": "def"}, "ports": [{"port": 80}]},
        },
    )
    assert svc.spec.cluster_ip.startswith("10.96.")
    assert svc.spec.type == "ClusterIP"
    assert svc.spec.ports[0].target_port == 80 and svc.spec.ports[0].protocol == "TCP"
    ns = core.read_namespace(namespace)
    assert ns.status.phase == "Active"
    assert ns.metadata.labels["kubernetes.io/metadata.name"] == namespace


def test_secret_string_data_is_folded_into_data(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}
    )
    secret = core.read_namespaced_secret("s", namespace)
    assert secret.data == {"password": base64.b64encode(b"hunter2").decode()}
    assert secret.string_data is None
    assert secret.type == "Opaque"


def test_dry_run_persists_nothing(
    core: client.CoreV1Api, dc: dynamic.DynamicClient, namespace: str
) -> None:
    rv_before = core.list_namespaced_config_map(namespace).metadata.resource_version
    out = core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "dry"}, "data": {"a": "1"}}, dry_run="All"
    )
    assert out.metadata.name == "dry" and out.metadata.uid
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("dry", namespace)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "wet"}, "data": {"a": "1"}})
    patched = core.patch_namespaced_config_map(
        "wet", namespace, {"data": {"a": "2"}}, dry_run="All"
    )
    assert patched.data == {"a": "2"}
    cms = dc.resources.get(api_version="v1", kind="ConfigMap")
    applied = cms.server_side_apply(
        body={
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "wet"},
            "data": {"a": "3"},
        },
        namespace=namespace,
        field_manager="test",
        force_conflicts=True,
        dry_run="All",
    )
    assert applied.data["a"] == "3"
    core.delete_namespaced_config_map("wet", namespace, dry_run="All")
    assert core.read_namespaced_config_map("wet", namespace).data == {"a": "1"}
    assert int(core.list_namespaced_config_map(namespace).metadata.resource_version) > int(
        rv_before
    )


def test_invalid_names_are_422_with_causes(core: client.CoreV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": "Bad_Name"}})
    status = status_of(err.value)
    assert err.value.status == 422 and status["reason"] == "Invalid"
    assert status["message"].startswith(
        'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value'
    )
    assert status["details"]["causes"][0]["field"] == "metadata.name"


def test_limits_on_data_annotations_and_bodies(core: client.CoreV1Api, namespace: str) -> None:
    big = "x" * (1024 * 1024 + 1)
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(
            namespace, {"metadata": {"name": "big"}, "data": {"a": big}}
        )
    assert err.value.status == 422
    assert "Too long: may not be more than 1048576 bytes" in status_of(err.value)["message"]
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(
            namespace, {"metadata": {"name": "ann", "annotations": {"a": "y" * (256 * 1024 + 1)}}}
        )
    assert err.value.status == 422
    assert "metadata.annotations: Too long" in status_of(err.value)["message"]
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(
            namespace, {"metadata": {"name": "huge"}, "data": {"a": "z" * (3 * 1024 * 1024 + 10)}}
        )
    assert err.value.status == 413


def test_list_selectors_and_cluster_wide_list(core: client.CoreV1Api, namespace: str) -> None:
    # `run` keeps the cluster-wide list to this test's objects on a cluster that other tests share
    for name, labels in (
        ("a", {"tier": "web", "env": "prod"}),
        ("b", {"tier": "db", "run": namespace}),
        ("c", {}),
    ):
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name, "labels": labels}})

    def names(**kw: Any) -> list[str]:
        items = core.list_namespaced_config_map(namespace, **kw).items
        # every namespace also holds the cluster's kube-root-ca.crt
        return [c.metadata.name for c in items if c.metadata.name != "kube-root-ca.crt"]

    assert names(label_selector="tier=web") == ["a"]
    assert names(label_selector="tier in (web,db)") == ["a", "b"]
    assert names(label_selector="tier notin (web)") == ["b", "c"]
    assert names(label_selector="!tier") == ["c"]
    assert names(label_selector="tier,env!=dev") == ["a", "b"]
    assert names(label_selector="tier,env") == ["a"]
    assert names(field_selector="metadata.name=b") == ["b"]
    everywhere = core.list_config_map_for_all_namespaces(label_selector=f"tier=db,run={namespace}")
    assert [(c.metadata.namespace, c.metadata.name) for c in everywhere.items] == [(namespace, "b")]
    assert everywhere.metadata.resource_version
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map(namespace, field_selector="data.a=1")
    assert err.value.status == 400


def test_list_pagination_with_limit_and_continue(core: client.CoreV1Api, namespace: str) -> None:
    # A selector keeps cluster-made objects (kube-root-ca.crt on real clusters) out of the pages.
    for i in range(5):
        core.create_namespaced_config_map(
            namespace, {"metadata": {"name": f"p{i}", "labels": {"page": "yes"}}}
        )
    first = core.list_namespaced_config_map(namespace, limit=2, label_selector="page")
    assert [c.metadata.name for c in first.items] == ["p0", "p1"]
    # served from the watch cache: no count of the items left
    assert first.metadata.remaining_item_count is None
    rest = core.list_namespaced_config_map(
        namespace, limit=10, label_selector="page", _continue=first.metadata._continue
    )
    assert [c.metadata.name for c in rest.items] == ["p2", "p3", "p4"]


def test_scale_subresource(apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("sc"))
    scale = apps.read_namespaced_deployment_scale("sc", namespace)
    assert scale.spec.replicas == 1
    apps.patch_namespaced_deployment_scale("sc", namespace, {"spec": {"replicas": 4}})
    assert apps.read_namespaced_deployment("sc", namespace).spec.replicas == 4


def test_status_subresource_keeps_spec_and_main_resource_keeps_status(
    apps: client.AppsV1Api, namespace: str, emulator: Any
) -> None:
    apps.create_namespaced_deployment(namespace, deployment("st"))
    apps.patch_namespaced_deployment_status(
        "st",
        namespace,
        {"status": {"conditions": [{"type": "Custom", "status": "True"}]}, "spec": {"replicas": 9}},
    )
    d = apps.read_namespaced_deployment("st", namespace)
    assert d.spec.replicas == 1
    assert any(c.type == "Custom" for c in d.status.conditions or [])


def test_new_namespaces_get_default_service_account_and_root_ca(
    core: client.CoreV1Api, namespace: str
) -> None:
    # a real cluster's controllers create both moments after the namespace
    def soon(read: Any) -> Any:
        deadline = time.monotonic() + 30
        while True:
            try:
                return read()
            except ApiException as err:
                if err.status != 404 or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    account = soon(lambda: core.read_namespaced_service_account("default", namespace))
    assert account.metadata.name == "default"
    ca = soon(lambda: core.read_namespaced_config_map("kube-root-ca.crt", namespace))
    assert ca.data["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
