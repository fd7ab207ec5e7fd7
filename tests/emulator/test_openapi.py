"""OpenAPI v3 documents: what kubectl needs for fieldValidation, client-side apply and explain."""

from __future__ import annotations

import json
from typing import Any

from kdeploy.emulator.openapi import (
    document_hash,
    openapi_group_version,
    openapi_group_version_json,
    openapi_root,
)

APPS = [
    {
        "kind": "Deployment",
        "plural": "deployments",
        "namespaced": True,
        "subresources": ["status", "scale"],
    },
    {"kind": "StatefulSet", "plural": "statefulsets", "namespaced": True},
]
CORE = [
    {"kind": "ConfigMap", "plural": "configmaps", "namespaced": True},
    {"kind": "Namespace", "plural": "namespaces", "namespaced": False},
]


def query_params(op: dict[str, Any]) -> set[str]:
    return {p["name"] for p in op["parameters"] if p["in"] == "query"}


def test_root_lists_every_group_version_with_a_hash() -> None:
    root = openapi_root([("", "v1"), ("apps", "v1"), ("apps", "v1")], {("apps", "v1"): "ABC"})
    assert set(root["paths"]) == {"api/v1", "apis/apps/v1"}
    assert root["paths"]["apis/apps/v1"]["serverRelativeURL"] == "/openapi/v3/apis/apps/v1?hash=ABC"
    url = root["paths"]["api/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/api/v1?hash=") and len(url.split("=")[1]) == 128


def test_patch_operations_advertise_gvk_and_field_validation() -> None:
    doc = openapi_group_version("apps", "v1", APPS, {})
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
    }
    assert patch["x-kubernetes-action"] == "patch"
    assert patch["operationId"] == "patchAppsV1NamespacedDeployment"
    assert {"fieldValidation", "fieldManager", "force", "dryRun"} <= query_params(patch)
    assert set(patch["requestBody"]["content"]) == {
        "application/apply-patch+yaml",
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
    }
    post = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]["post"]
    assert "fieldValidation" in query_params(post)
    assert "/apis/apps/v1/deployments" in doc["paths"]
    assert "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status" in doc["paths"]


def test_schemas_are_real_openapi_v3_with_merge_metadata() -> None:
    doc = openapi_group_version("apps", "v1", APPS, {})
    schemas = doc["components"]["schemas"]
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}
    ]
    assert deployment["type"] == "object"
    assert deployment["properties"]["apiVersion"] == {
        "description": deployment["properties"]["apiVersion"]["description"],
        "type": "string",
    }
    assert deployment["properties"]["spec"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}
    ]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}
    text = json.dumps(doc)
    assert "#/$defs/" not in text
    assert '"null"' not in text
    # every reference resolves inside the document
    refs = {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}
    assert refs <= set(schemas)
    # only what apps/v1 needs: no core/v1 Service, no batch Job
    assert "io.k8s.api.core.v1.Service" not in schemas
    assert "io.k8s.api.batch.v1.Job" not in schemas
    assert "io.k8s.api.apps.v1.DeploymentList" in schemas


def test_core_group_and_cluster_scoped_paths() -> None:
    doc = openapi_group_version("", "v1", CORE, {})
    assert "/api/v1/namespaces/{name}" in doc["paths"]
    ns_patch = doc["paths"]["/api/v1/namespaces/{name}"]["patch"]
    assert ns_patch["operationId"] == "patchCoreV1Namespace"
    assert ns_patch["x-kubernetes-group-version-kind"]["kind"] == "Namespace"
    cm = doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"]
    assert cm["operationId"] == "patchCoreV1NamespacedConfigMap"
    assert "/api/v1/configmaps" in doc["paths"]


def test_custom_resources_use_the_crd_schema_and_no_strategic_merge() -> None:
    schema = {
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}},
    }
    doc = openapi_group_version(
        "example.com",
        "v1",
        [{"kind": "Widget", "plural": "widgets", "namespaced": True}],
        {"Widget": schema},
    )
    component = doc["components"]["schemas"]["com.example.v1.Widget"]
    assert component["properties"]["spec"] == schema["properties"]["spec"]
    assert component["properties"]["metadata"]["allOf"][0]["$ref"].endswith("ObjectMeta")
    assert component["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "version": "v1", "kind": "Widget"}
    ]
    patch = doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "Widget"
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in doc["components"]["schemas"]
    assert "x-kubernetes-group-version-kind" not in json.dumps(schema)  # input untouched


def test_documents_are_cached_and_hash_changes_with_content() -> None:
    a = openapi_group_version("apps", "v1", APPS, {})
    assert openapi_group_version("apps", "v1", APPS, {}) is a
    raw = openapi_group_version_json("apps", "v1", APPS, {})
    assert json.loads(raw) == a
    smaller = openapi_group_version_json("apps", "v1", APPS[:1], {})
    assert document_hash(raw) != document_hash(smaller)


def test_resources_may_be_objects_with_the_same_attributes() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Served:
        kind: str
        plural: str
        namespaced: bool
        subresources: tuple[str, ...] = ()

    doc = openapi_group_version("batch", "v1", [Served("Job", "jobs", True, ("status",))], {})
    assert "/apis/batch/v1/namespaces/{namespace}/jobs/{name}/status" in doc["paths"]
    assert doc is openapi_group_version(
        "batch",
        "v1",
        [{"kind": "Job", "plural": "jobs", "namespaced": True, "subresources": ["status"]}],
        {},
    )
