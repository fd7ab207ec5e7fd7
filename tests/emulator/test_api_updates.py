"""Update rules: server-side apply through the Python client, strategic merge, immutable fields,
Lease MicroTime parsing, and Table answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
import urllib3
from kubernetes import client, config, dynamic
from kubernetes.client import ApiException


@pytest.fixture(scope="module")
def api(emulator: Any) -> client.ApiClient:
    return config.new_client_from_config(emulator.kubeconfig_path)


@pytest.fixture(scope="module")
def dc(api: client.ApiClient) -> dynamic.DynamicClient:
    return dynamic.DynamicClient(api)


def message(exc: ApiException) -> str:
    return str(json.loads(exc.body)["message"])


def deployment(name: str, image: str = "nginx:1.27", **extra_spec: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            **extra_spec,
        },
    }


def test_server_side_apply_creates_then_removes_dropped_fields(
    dc: dynamic.DynamicClient, namespace: str
) -> None:
    cms = dc.resources.get(api_version="v1", kind="ConfigMap")
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ssa", "labels": {"a": "1", "b": "2"}},
        "data": {"x": "1", "y": "2"},
    }
    first = cms.server_side_apply(body=body, namespace=namespace, field_manager="tool")
    managers = [(m["manager"], m["operation"]) for m in first.metadata.managedFields]
    assert managers == [("tool", "Apply")]
    smaller = json.loads(json.dumps(body))
    del smaller["data"]["y"]
    del smaller["metadata"]["labels"]["b"]
    second = cms.server_side_apply(body=smaller, namespace=namespace, field_manager="tool")
    assert second.data.to_dict() == {"x": "1"}
    assert second.metadata.labels.to_dict() == {"a": "1"}


def test_server_side_apply_conflict_names_manager_and_field(
    dc: dynamic.DynamicClient, namespace: str
) -> None:
    deploys = dc.resources.get(api_version="apps/v1", kind="Deployment")
    deploys.server_side_apply(body=deployment("ssa-c"), namespace=namespace, field_manager="team-a")
    with pytest.raises(ApiException) as err:
        deploys.server_side_apply(
            body=deployment("ssa-c", "nginx:1.28"), namespace=namespace, field_manager="team-b"
        )
    status = json.loads(err.value.body)
    assert err.value.status == 409 and status["reason"] == "Conflict"
    assert status["message"].startswith('Apply failed with 1 conflict: conflict with "team-a"')
    cause = status["details"]["causes"][0]
    assert cause["reason"] == "FieldManagerConflict"
    assert cause["field"] == '.spec.template.spec.containers[name="app"].image'
    forced = deploys.server_side_apply(
        body=deployment("ssa-c", "nginx:1.28"),
        namespace=namespace,
        field_manager="team-b",
        force_conflicts=True,
    )
    assert forced.spec.template.spec.containers[0].image == "nginx:1.28"


def test_apply_without_field_manager_is_refused(api: client.ApiClient, namespace: str) -> None:
    apps = client.AppsV1Api(api)
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment(
            "x", namespace, deployment("x"), _content_type="application/apply-patch+yaml"
        )
    assert err.value.status == 422
    assert "fieldManager: Required value" in message(err.value)


def test_strategic_merge_patch_merges_containers_by_name(
    api: client.ApiClient, namespace: str
) -> None:
    apps = client.AppsV1Api(api)
    dep = deployment("smp")
    dep["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox"})
    apps.create_namespaced_deployment(namespace, dep)
    patched = apps.patch_namespaced_deployment(
        "smp",
        namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox:2"}]}}}},
    )
    images = {c.name: c.image for c in patched.spec.template.spec.containers}
    assert images == {"app": "nginx:1.27", "side": "busybox:2"}


def test_json_patch_with_resource_version_precondition(
    api: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "jp"}, "data": {"a": "1"}})
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map(
            "jp",
            namespace,
            [
                {"op": "replace", "path": "/data/a", "value": "2"},
                {"op": "replace", "path": "/metadata/resourceVersion", "value": "1"},
            ],
        )
    assert err.value.status == 409
    ok = core.patch_namespaced_config_map(
        "jp", namespace, [{"op": "replace", "path": "/data/a", "value": "2"}]
    )
    assert ok.data == {"a": "2"}


def test_immutable_fields_are_refused(api: client.ApiClient, namespace: str) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(namespace, deployment("imm"))
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment(
            "imm", namespace, {"spec": {"selector": {"matchLabels": {"app": "other"}}}}
        )
    assert err.value.status == 422
    assert message(err.value).startswith('Deployment.apps "imm" is invalid: ')
    assert "spec.selector: Invalid value: " in message(err.value)
    assert "field is immutable" in message(err.value)
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "frozen"}, "data": {"a": "1"}, "immutable": True}
    )
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map("frozen", namespace, {"data": {"a": "2"}})
    assert "data: Forbidden: field is immutable when `immutable` is set" in message(err.value)


def test_job_gets_generated_selector(api: client.ApiClient, namespace: str) -> None:
    job = client.BatchV1Api(api).create_namespaced_job(
        namespace,
        {
            "metadata": {"name": "once"},
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "c", "image": "busybox"}],
                    }
                }
            },
        },
    )
    uid = job.metadata.uid
    assert job.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": uid}
    assert job.spec.template.metadata.labels["job-name"] == "once"


def test_lease_times_must_be_micro_time(dc: dynamic.DynamicClient, namespace: str) -> None:
    leases = dc.resources.get(api_version="coordination.k8s.io/v1", kind="Lease")
    good = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "lock"},
        "spec": {"holderIdentity": "me", "renewTime": "2026-11-23T12:00:00.000001Z"},
    }
    leases.create(body=good, namespace=namespace)
    bad = json.loads(json.dumps(good))
    bad["metadata"]["name"] = "lock2"
    bad["spec"]["renewTime"] = "2026-11-23T12:00:00Z"
    with pytest.raises(ApiException) as err:
        leases.create(body=bad, namespace=namespace)
    assert err.value.status == 400
    assert "cannot be handled as a Lease" in message(err.value)


def test_table_answer_for_kubectl_get(
    own_emulator: Any, api: client.ApiClient, namespace: str
) -> None:
    client.CoreV1Api(api).create_namespaced_config_map(
        namespace, {"metadata": {"name": "t"}, "data": {"a": "1", "b": "2"}}
    )
    accept = (
        "application/json;as=Table;v=v1;g=meta.k8s.io,"
        "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
    )
    resp = urllib3.PoolManager().request(
        "GET",
        f"{own_emulator.url}/api/v1/namespaces/{namespace}/configmaps",
        headers={"Accept": accept},
    )
    assert resp.headers["Content-Type"] == "application/json;as=Table;v=v1;g=meta.k8s.io"
    table = json.loads(resp.data)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    row = next(r for r in table["rows"] if r["cells"][0] == "t")
    assert row["cells"][:2] == ["t", 2]
    assert row["object"]["kind"] == "PartialObjectMetadata"


def test_put_creates_a_missing_lease_but_not_a_configmap(
    api: client.ApiClient, namespace: str
) -> None:
    lease = {"metadata": {"name": "put-lease"}, "spec": {"holderIdentity": "me"}}
    made = client.CoordinationV1Api(api).replace_namespaced_lease("put-lease", namespace, lease)
    assert made.spec.holder_identity == "me"
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(api).replace_namespaced_config_map(
            "put-cm", namespace, {"metadata": {"name": "put-cm"}}
        )
    assert err.value.status == 404


def test_selector_must_match_template_labels(api: client.ApiClient, namespace: str) -> None:
    bad = deployment("mismatch")
    bad["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(ApiException) as err:
        client.AppsV1Api(api).create_namespaced_deployment(namespace, bad)
    assert err.value.status == 422
    assert message(err.value) == (
        'Deployment.apps "mismatch" is invalid: spec.template.metadata.labels: Invalid value: '
        '{"app":"mismatch"}: `selector` does not match template `labels`'
    )


def _post_cm(own_emulator: Any, namespace: str, validation: str) -> urllib3.BaseHTTPResponse:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"fv-{validation.lower() or 'default'}"},
        "data": {"a": "1"},
        "dta": {"typo": "yes"},
    }
    query = f"?fieldValidation={validation}" if validation else ""
    return urllib3.PoolManager().request(
        "POST",
        f"{own_emulator.url}/api/v1/namespaces/{namespace}/configmaps{query}",
        body=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )


def test_strict_field_validation_refuses_unknown_fields(own_emulator: Any, namespace: str) -> None:
    resp = _post_cm(own_emulator, namespace, "Strict")
    assert resp.status == 400
    assert json.loads(resp.data)["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: '
        'unknown field "dta"'
    )


@pytest.mark.parametrize("validation", ["", "Warn", "Ignore"])
def test_unknown_fields_are_dropped_and_warned_by_default(
    own_emulator: Any, namespace: str, validation: str
) -> None:
    resp = _post_cm(own_emulator, namespace, validation)
    assert resp.status == 201
    assert "dta" not in json.loads(resp.data)
    warning = resp.headers.get("Warning")
    if validation == "Ignore":
        assert warning is None
    else:
        assert warning == '299 - "unknown field \\"dta\\""'


def test_server_side_apply_of_undeclared_field_fails(
    dc: dynamic.DynamicClient, namespace: str
) -> None:
    deploys = dc.resources.get(api_version="apps/v1", kind="Deployment")
    body = deployment("typo")
    body["spec"]["replica"] = 2
    with pytest.raises(ApiException) as err:
        deploys.server_side_apply(body=body, namespace=namespace, field_manager="t")
    assert err.value.status == 500
    # the object is named as the apply body names it: without a namespace here
    assert message(err.value) == (
        "failed to create typed patch object (/typo; apps/v1, Kind=Deployment): "
        ".spec.replica: field not declared in schema"
    )


def test_required_fields_are_checked(api: client.ApiClient, namespace: str) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    no_image = deployment("noimage")
    del no_image["spec"]["template"]["spec"]["containers"][0]["image"]
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment(namespace, no_image)
    assert message(err.value) == (
        'Deployment.apps "noimage" is invalid: '
        "spec.template.spec.containers[0].image: Required value"
    )
    with pytest.raises(ApiException) as err:
        core.create_namespaced_service(namespace, {"metadata": {"name": "noports"}, "spec": {}})
    assert message(err.value) == 'Service "noports" is invalid: spec.ports: Required value'
    headless = core.create_namespaced_service(
        namespace, {"metadata": {"name": "headless"}, "spec": {"clusterIP": "None"}}
    )
    assert headless.spec.cluster_ip == "None"
