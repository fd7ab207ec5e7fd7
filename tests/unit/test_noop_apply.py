"""kdeploy.noop_apply: when kdeploy's managedFields entry and the live values show that an apply
changes nothing, and every doubt that sends the object to the dry run instead."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from kdeploy.noop_apply import apply_is_noop

MANIFEST: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "spec": {
                "containers": [
                    {"name": "app", "image": "nginx:1", "ports": [{"containerPort": 80}]}
                ]
            }
        },
    },
}
FIELDS: dict[str, Any] = {
    "f:metadata": {"f:labels": {"f:app": {}}},
    "f:spec": {
        "f:replicas": {},
        "f:selector": {},
        "f:template": {
            "f:spec": {
                "f:containers": {
                    'k:{"name":"app"}': {
                        ".": {},
                        "f:image": {},
                        "f:name": {},
                        "f:ports": {
                            'k:{"containerPort":80,"protocol":"TCP"}': {
                                ".": {},
                                "f:containerPort": {},
                            }
                        },
                    }
                }
            }
        },
    },
}


def live_of(manifest: dict[str, Any], fields: dict[str, Any] = FIELDS) -> dict[str, Any]:
    """The object as the server stores it after kdeploy applied `manifest`: defaults filled in."""
    live = copy.deepcopy(manifest)
    live["metadata"]["uid"] = "u1"
    live["metadata"]["managedFields"] = [
        {
            "manager": "kdeploy",
            "operation": "Apply",
            "apiVersion": manifest["apiVersion"],
            "fieldsType": "FieldsV1",
            "fieldsV1": copy.deepcopy(fields),
        },
        {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status"},
    ]
    if manifest["kind"] == "Deployment":
        container = live["spec"]["template"]["spec"]["containers"][0]
        container["imagePullPolicy"] = "IfNotPresent"
        for port in container.get("ports", []):
            port.setdefault("protocol", "TCP")
        live["spec"]["strategy"] = {"type": "RollingUpdate"}
        live["status"] = {"replicas": 2}
    return live


def test_an_intact_apply_with_server_defaults_is_a_noop() -> None:
    assert apply_is_noop(MANIFEST, live_of(MANIFEST), "kdeploy")


def edit(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    node = out
    *parents, last = path.split(".")
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if value is KeyError:
        del node[last]
    else:
        node[int(last) if isinstance(node, list) else last] = value
    return out


@pytest.mark.parametrize(
    ("why", "change"),
    [
        ("a value kdeploy set was changed", lambda live: edit(live, "spec.replicas", 5)),
        ("a field kdeploy set was removed", lambda live: edit(live, "metadata.labels", {})),
        (
            "kdeploy lost a field to another manager",
            lambda live: edit(
                live, "metadata.managedFields.0.fieldsV1.f:spec.f:replicas", KeyError
            ),
        ),
        ("kdeploy has no entry", lambda live: edit(live, "metadata.managedFields", [])),
        (
            "the entry is for another version",
            lambda live: edit(live, "metadata.managedFields.0.apiVersion", "apps/v1beta2"),
        ),
        (
            "the object is being deleted",
            lambda live: edit(live, "metadata.deletionTimestamp", "2026-01-01T00:00:00Z"),
        ),
        (
            "a list item was added in front",
            lambda live: edit(
                live,
                "spec.template.spec.containers",
                [{"name": "sidecar"}, *live["spec"]["template"]["spec"]["containers"]],
            ),
        ),
        ("an int became a string", lambda live: edit(live, "spec.replicas", "2")),
    ],
)
def test_any_doubt_is_a_change(why: str, change: Any) -> None:
    assert not apply_is_noop(MANIFEST, change(live_of(MANIFEST)), "kdeploy"), why


def test_a_field_the_manifest_no_longer_sets_is_a_change() -> None:
    fewer = edit(MANIFEST, "metadata.labels", {"app": "web"})
    fewer = edit(fewer, "spec.replicas", KeyError)
    assert not apply_is_noop(fewer, live_of(MANIFEST), "kdeploy")


def test_a_field_the_manifest_adds_is_a_change() -> None:
    more = edit(MANIFEST, "metadata.labels", {"app": "web", "tier": "front"})
    assert not apply_is_noop(more, live_of(MANIFEST), "kdeploy")


def test_another_manager_sharing_or_adding_fields_is_no_change() -> None:
    live = live_of(MANIFEST)
    live["metadata"]["annotations"] = {"note": "hand"}
    live["metadata"]["managedFields"].append(
        {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:metadata": {}}}
    )
    assert apply_is_noop(MANIFEST, live, "kdeploy")


def test_a_normalised_value_is_a_doubt() -> None:
    manifest = edit(
        MANIFEST, "spec.template.spec.containers.0.resources", {"limits": {"cpu": "0.5"}}
    )
    fields = copy.deepcopy(FIELDS)
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    container["f:resources"] = {"f:limits": {"f:cpu": {}}}
    live = live_of(manifest, fields)
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "500m"
    assert not apply_is_noop(manifest, live, "kdeploy")
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "0.5"
    assert apply_is_noop(manifest, live, "kdeploy")


SECRET: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db", "namespace": "shop"},
    "type": "Opaque",
    "stringData": {"password": "pw"},
}
SECRET_FIELDS = {"f:stringData": {"f:password": {}}, "f:type": {}}


def secret_live(stored: str) -> dict[str, Any]:
    live = live_of(SECRET, SECRET_FIELDS)
    del live["stringData"]
    live["data"] = {"password": base64.b64encode(stored.encode()).decode()}
    return live


def test_secret_string_data_is_compared_with_the_stored_data() -> None:
    assert apply_is_noop(SECRET, secret_live("pw"), "kdeploy")
    assert not apply_is_noop(SECRET, secret_live("changed"), "kdeploy")


def test_a_null_in_the_manifest_is_a_doubt() -> None:
    manifest = edit(MANIFEST, "spec.replicas", None)
    assert not apply_is_noop(manifest, live_of(MANIFEST), "kdeploy")


def test_a_yaml_boolean_key_is_compared_as_the_json_key_the_server_got() -> None:
    # `on: "yes"` in YAML 1.1 is the key True, sent in JSON as "true"
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {True: "yes"},
    }
    live = live_of({**manifest, "data": {"true": "yes"}}, {"f:data": {"f:true": {}}})
    assert apply_is_noop(manifest, live, "kdeploy")
