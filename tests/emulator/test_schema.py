"""The schema navigator: list types, merge keys and map types from the bundled definitions."""

from __future__ import annotations

import pytest

from kdeploy.emulator import schema
from kdeploy.emulator.schema import LIST, MAP, SCALAR, STRUCT, UNTYPED, SchemaRegistry

DEPLOYMENT = ("apps", "v1", "Deployment")


@pytest.mark.parametrize(
    ("gvk", "path", "list_type", "keys", "merge_key", "strategy"),
    [
        (DEPLOYMENT, "spec.template.spec.containers", "map", ("name",), "name", "merge"),
        (
            DEPLOYMENT,
            "spec.template.spec.containers.[].ports",
            "map",
            ("containerPort", "protocol"),
            "containerPort",
            "merge",
        ),
        (DEPLOYMENT, "spec.template.spec.containers.[].env", "map", ("name",), "name", "merge"),
        (
            DEPLOYMENT,
            "spec.template.spec.containers.[].volumeMounts",
            "map",
            ("mountPath",),
            "mountPath",
            "merge",
        ),
        (DEPLOYMENT, "spec.template.spec.containers.[].args", "atomic", (), "", ""),
        (DEPLOYMENT, "spec.template.spec.volumes", "map", ("name",), "name", "merge,retainKeys"),
        (DEPLOYMENT, "spec.template.spec.tolerations", "atomic", (), "", ""),
        (DEPLOYMENT, "metadata.finalizers", "set", (), "", "merge"),
        (DEPLOYMENT, "metadata.ownerReferences", "map", ("uid",), "uid", "merge"),
        (("", "v1", "Service"), "spec.ports", "map", ("port", "protocol"), "port", "merge"),
        (("", "v1", "Service"), "spec.clusterIPs", "atomic", (), "", ""),
    ],
)
def test_list_topology_from_bundled_schema(
    gvk: tuple[str, str, str],
    path: str,
    list_type: str,
    keys: tuple[str, ...],
    merge_key: str,
    strategy: str,
) -> None:
    node = schema.walk(gvk, path.replace("[]", "[]").split("."))
    assert node.kind == LIST
    assert node.list_type == list_type
    assert node.list_keys == keys
    assert node.patch_merge_key == merge_key
    assert node.patch_strategy == strategy


def test_struct_map_and_atomic_markers() -> None:
    root = schema.type_for(DEPLOYMENT)
    assert root.kind == STRUCT
    assert root.at("metadata", "labels").kind == MAP
    assert not root.at("metadata", "labels").atomic
    assert root.at("spec", "selector").atomic  # LabelSelector is a +structType=atomic
    assert root.at("spec", "strategy").patch_strategy == "retainKeys"
    assert root.at("spec", "replicas").kind == SCALAR
    assert (
        root.at("spec", "template", "spec", "containers", "[]", "resources", "limits", "cpu").kind
        == SCALAR
    )
    assert root.has_field("spec") and not root.at("metadata", "labels").has_field("app")


def test_unknown_kind_is_untyped_but_metadata_is_object_meta() -> None:
    root = schema.type_for(("example.com", "v1", "Widget"))
    assert root.at("spec", "items").kind == UNTYPED
    assert root.at("metadata", "finalizers").list_type == "set"
    assert root.at("metadata", "ownerReferences").list_keys == ("uid",)


def test_registered_crd_schema_drives_lists_and_can_be_removed() -> None:
    registry = SchemaRegistry()
    gvk = ("example.com", "v1", "Widget")
    registry.register_crd_schema(
        *gvk,
        {
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "ports": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name"],
                            "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                        },
                        "hosts": {"type": "array", "items": {"type": "string"}},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                }
            },
        },
    )
    root = registry.root(gvk)
    assert root.at("spec", "ports").list_keys == ("name",)
    assert root.at("spec", "hosts").list_type == "atomic"
    assert root.at("spec", "labels").kind == MAP
    assert root.at("metadata", "labels").kind == MAP
    registry.unregister_crd_schema(*gvk)
    assert registry.root(gvk).at("spec").kind == UNTYPED


def test_definitions_are_found_and_indexed_by_gvk() -> None:
    registry = schema.default_registry()
    assert registry.definition_name(DEPLOYMENT) == "io.k8s.api.apps.v1.Deployment"
    assert registry.builtin_kinds("", "v1")["ConfigMap"] == "io.k8s.api.core.v1.ConfigMap"
    assert schema.default_registry() is registry


def test_ensure_crd_schema_registers_once_and_follows_changes() -> None:
    registry = SchemaRegistry()
    gvk = ("example.com", "v1", "Thing")
    v1 = {
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}},
    }
    registry.ensure_crd_schema(*gvk, v1)
    first = registry.root(gvk)
    registry.ensure_crd_schema(*gvk, dict(v1))
    assert registry.root(gvk) is first
    v2 = {
        "type": "object",
        "properties": {"spec": {"type": "object", "additionalProperties": {"type": "string"}}},
    }
    registry.ensure_crd_schema(*gvk, v2)
    assert registry.root(gvk).at("spec").kind == MAP


def test_unknown_fields_are_reported_with_strict_decoding_paths() -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"any-key": "ok"}, "bogus": 1},
        "spec": {
            "replicass": 2,
            "template": {
                "spec": {"containers": [{"name": "c", "image": "x"}, {"name": "d", "imagee": "y"}]}
            },
        },
        "status": {"replicas": 1},
    }
    assert schema.unknown_fields(obj, DEPLOYMENT) == [
        "metadata.bogus",
        "spec.replicass",
        "spec.template.spec.containers[1].imagee",
    ]
    valid = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    assert schema.unknown_fields(valid, ("", "v1", "ConfigMap")) == []
    assert schema.unknown_fields({"spec": {"anything": 1}}, ("example.com", "v1", "Widget")) == []
