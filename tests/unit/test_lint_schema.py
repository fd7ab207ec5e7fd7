"""Rule manifest-schema: Kubernetes schemas offline, CRD schemas, versions."""

from __future__ import annotations

from typing import Any

import pytest
from lint_helpers import deployment, objects

from kdeploy.errors import KdeployError
from kdeploy.lint.schema import SchemaCatalog, resolve_version, supported_versions


def check(*manifests: dict[str, Any], version: str | None = None) -> list[tuple[str, str, str]]:
    objs = objects(*manifests)
    catalog = SchemaCatalog(resolve_version(version))
    catalog.add_crds(objs)
    return [(f.severity, f.path, f.message) for o in objs for f in catalog.check(o)]


CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "backups.acme.io"},
    "spec": {
        "group": "acme.io",
        "scope": "Namespaced",
        "names": {
            "kind": "Backup",
            "plural": "backups",
            "singular": "backup",
            "listKind": "BackupList",
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["schedule"],
                                "properties": {
                                    "schedule": {"type": "string"},
                                    "keep": {"type": "integer", "minimum": 1},
                                    "note": {"type": "string", "nullable": True},
                                    "port": {"x-kubernetes-int-or-string": True},
                                    "extra": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                },
                            }
                        },
                    }
                },
            }
        ],
    },
}


def backup(spec: dict[str, Any], api_version: str = "acme.io/v1") -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": "Backup",
        "metadata": {"name": "nightly", "namespace": "shop"},
        "spec": spec,
    }


def test_supported_versions_are_listed_and_newest_is_default() -> None:
    versions = supported_versions()
    assert "1.30" in versions
    assert resolve_version(None) == versions[-1]
    assert resolve_version("v1.30.4") == "1.30"


def test_unknown_version_lists_the_supported_ones() -> None:
    with pytest.raises(KdeployError) as e:
        resolve_version("1.99")
    assert '--kube-version "1.99" is not supported' in e.value.format_message()
    assert "1.30" in e.value.format_message()


def test_valid_deployment_has_no_findings() -> None:
    assert check(deployment()) == []


def test_wrong_type_names_the_field_path() -> None:
    ((severity, path, message),) = check(deployment(replicas="two"))
    assert severity == "error"
    assert path == "spec.replicas"
    assert message.startswith('spec.replicas: expected integer, got string "two"')


def test_unknown_field_is_an_error_in_strict_mode() -> None:
    dep = deployment()
    dep["spec"]["template"]["spec"]["containers"][0]["imagePullPolicey"] = "Always"
    ((_, path, message),) = check(dep)
    assert path == "spec.template.spec.containers[0].imagePullPolicey"
    assert "unknown field" in message


def test_missing_required_field_is_named() -> None:
    dep = deployment()
    del dep["spec"]["selector"]
    ((_, path, message),) = check(dep)
    assert path == "spec.selector"
    assert "required field is missing" in message


def test_int_or_string_error_is_readable() -> None:
    dep = deployment()
    dep["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": [80]}]
    ((_, path, message),) = check(dep)
    assert path == "spec.template.spec.containers[0].ports[0].containerPort"
    assert "expected integer, got array" in message


def test_removed_api_version_is_an_error_suggesting_the_served_one() -> None:
    ingress = {
        "apiVersion": "extensions/v1beta1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {},
    }
    ((severity, _, message),) = check(ingress)
    assert severity == "error"
    assert "extensions/v1beta1 Ingress is not served by Kubernetes" in message
    assert "networking.k8s.io/v1" in message


def test_custom_resource_is_validated_against_its_crd() -> None:
    assert (
        check(
            CRD,
            backup(
                {"schedule": "@daily", "keep": 7, "note": None, "port": "http", "extra": {"a": 1}}
            ),
        )
        == []
    )
    found = check(CRD, backup({"keep": 0, "typo": True}))
    paths = sorted(path for _, path, _ in found)
    assert paths == ["spec.keep", "spec.schedule", "spec.typo"]
    assert all("schema of its CustomResourceDefinition" in m for _, _, m in found)


def test_custom_resource_version_missing_from_crd_is_an_error() -> None:
    ((severity, _, message),) = check(CRD, backup({"schedule": "x"}, api_version="acme.io/v2"))
    assert severity == "error"
    assert "version v2 is not defined by its CustomResourceDefinition (it defines v1)" in message


def test_custom_resource_without_crd_is_skipped_as_info() -> None:
    cert = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"secretName": "web-tls"},
    }
    ((severity, _, message),) = check(cert)
    assert severity == "info"
    assert message.startswith("skipped: no schema for cert-manager.io/v1 Certificate")


def test_older_version_rejects_fields_it_does_not_know() -> None:
    # Deployment pod spec field `resources` (pod-level resources) appeared in 1.32
    dep = deployment()
    dep["spec"]["template"]["spec"]["resources"] = {"limits": {"cpu": "1"}}
    if "1.31" not in supported_versions():
        pytest.skip("1.31 schemas not bundled")
    assert [p for _, p, _ in check(dep, version="1.31")] == ["spec.template.spec.resources"]
    assert check(dep, version=supported_versions()[-1]) == []


def test_crd_with_an_invalid_schema_is_reported_not_crashed() -> None:
    import copy

    crd = copy.deepcopy(CRD)
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["type"] = "obj"
    found = check(crd, backup({"schedule": "x"}))
    assert [s for s, _, _ in found] == ["error"]
    assert "openAPIV3Schema of its CustomResourceDefinition is not a valid schema" in found[0][2]
