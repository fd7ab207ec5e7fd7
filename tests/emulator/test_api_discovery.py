"""Discovery, version and OpenAPI documents, in the formats kubectl, helm and the Python client
negotiate."""

from __future__ import annotations

import json
from typing import Any

import pytest
import urllib3

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


@pytest.fixture
def http(own_emulator: Any) -> Any:
    pool = urllib3.PoolManager()

    def get(path: str, accept: str = "application/json") -> urllib3.BaseHTTPResponse:
        return pool.request("GET", own_emulator.url + path, headers={"Accept": accept})

    return get


def test_aggregated_discovery_has_exact_content_type_and_short_names(http: Any) -> None:
    resp = http("/apis", AGGREGATED + ",application/json")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == AGGREGATED
    doc = json.loads(resp.data)
    apps = next(g for g in doc["items"] if g["metadata"]["name"] == "apps")
    deploy = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deploy["shortNames"] == ["deploy"]
    assert deploy["categories"] == ["all"]
    assert deploy["scope"] == "Namespaced"
    subs = {s["subresource"]: s["responseKind"]["kind"] for s in deploy["subresources"]}
    assert subs == {"status": "Deployment", "scale": "Scale"}


def test_aggregated_core_group_and_preferred_autoscaling_version(http: Any) -> None:
    core = json.loads(http("/api", AGGREGATED).data)
    assert [i["metadata"]["name"] for i in core["items"]] == [""]
    names = {r["resource"]: r for r in core["items"][0]["versions"][0]["resources"]}
    assert names["namespaces"]["scope"] == "Cluster"
    assert names["pods"]["shortNames"] == ["po"]
    groups = json.loads(http("/apis", AGGREGATED).data)["items"]
    autoscaling = next(g for g in groups if g["metadata"]["name"] == "autoscaling")
    assert [v["version"] for v in autoscaling["versions"]] == ["v2", "v1"]


def test_legacy_discovery_when_aggregated_not_asked(http: Any) -> None:
    api = json.loads(http("/api").data)
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]
    groups = json.loads(http("/apis").data)
    assert groups["kind"] == "APIGroupList"
    apps = next(g for g in groups["groups"] if g["name"] == "apps")
    assert apps["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    rl = json.loads(http("/apis/apps/v1").data)
    names = {r["name"] for r in rl["resources"]}
    assert {"deployments", "deployments/status", "deployments/scale"} <= names
    core = json.loads(http("/api/v1").data)
    cm = next(r for r in core["resources"] if r["name"] == "configmaps")
    assert cm["shortNames"] == ["cm"] and cm["namespaced"] is True


def test_version_and_unknown_paths(http: Any) -> None:
    version = json.loads(http("/version").data)
    assert version["major"] == "1" and version["gitVersion"].startswith("v1.")
    missing = http("/apis/nope.example.com/v1")
    assert missing.status == 404
    assert json.loads(missing.data)["reason"] == "NotFound"
    assert http("/openapi/v4").status == 404


def test_openapi_v3_patch_operations_carry_gvk_and_field_validation(http: Any) -> None:
    root = json.loads(http("/openapi/v3").data)
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    doc = json.loads(http(url).data)
    patches = [
        op["patch"]
        for op in doc["paths"].values()
        if "patch" in op
        and op["patch"].get("x-kubernetes-group-version-kind", {}).get("kind") == "Deployment"
    ]
    assert patches
    params = {p["name"] for p in patches[0]["parameters"]}
    assert "fieldValidation" in params


def test_python_dynamic_client_resolves_kinds(emulator: Any) -> None:
    from kubernetes import config, dynamic

    dc = dynamic.DynamicClient(config.new_client_from_config(emulator.kubeconfig_path))
    deploy = dc.resources.get(api_version="apps/v1", kind="Deployment")
    assert deploy.namespaced and deploy.name == "deployments"
    crd = dc.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    assert not crd.namespaced
