"""Server-side apply and managedFields, through the scenarios kubectl and controllers produce."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kdeploy.emulator.patch import PatchError
from kdeploy.emulator.schema import SchemaRegistry
from kdeploy.emulator.ssa import (
    ApplyConflict,
    from_fields_v1,
    render_path,
    server_side_apply,
    to_fields_v1,
    track_update,
)

DEPLOYMENT = ("apps", "v1", "Deployment")
T0, T1, T2, T3 = (f"2026-01-0{i}T00:00:00Z" for i in range(1, 5))


def manifest() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "labels": {"app": "web", "tier": "frontend"},
            "annotations": {"team": "shop"},
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.25",
                            "ports": [{"containerPort": 80}],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        }
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                },
            },
        },
    }


def store(obj: dict[str, Any], rv: str = "1") -> dict[str, Any]:
    """What the store adds on create/update (not SSA's business)."""
    out = copy.deepcopy(obj)
    out["metadata"].setdefault("uid", "0b9f-uid")
    out["metadata"].setdefault("creationTimestamp", T0)
    out["metadata"]["resourceVersion"] = rv
    out["metadata"].setdefault("generation", 1)
    return out


def apply(
    live: dict[str, Any] | None,
    cfg: dict[str, Any],
    manager: str = "kubectl",
    *,
    force: bool = False,
    now: str = T0,
) -> dict[str, Any]:
    return server_side_apply(live, cfg, manager=manager, force=force, gvk=DEPLOYMENT, now=now)


def managers(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        (m["manager"], m["operation"], m.get("subresource", "")): m
        for m in obj["metadata"]["managedFields"]
    }  # type: ignore[misc]


def container(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def test_create_by_apply_records_exact_fieldsv1() -> None:
    obj = apply(None, manifest())
    (entry,) = obj["metadata"]["managedFields"]
    assert {k: v for k, v in entry.items() if k != "fieldsV1"} == {
        "manager": "kubectl",
        "operation": "Apply",
        "apiVersion": "apps/v1",
        "time": T0,
        "fieldsType": "FieldsV1",
    }
    assert entry["fieldsV1"] == {
        "f:metadata": {
            "f:annotations": {"f:team": {}},
            "f:labels": {"f:app": {}, "f:tier": {}},
        },
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:containers": {
                        'k:{"name":"web"}': {
                            ".": {},
                            "f:env": {
                                'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}},
                                'k:{"name":"B"}': {".": {}, "f:name": {}, "f:value": {}},
                            },
                            "f:image": {},
                            "f:name": {},
                            "f:ports": {
                                'k:{"containerPort":80,"protocol":"TCP"}': {
                                    ".": {},
                                    "f:containerPort": {},
                                }
                            },
                            "f:volumeMounts": {
                                'k:{"mountPath":"/data"}': {
                                    ".": {},
                                    "f:mountPath": {},
                                    "f:name": {},
                                }
                            },
                        }
                    },
                    "f:volumes": {'k:{"name":"data"}': {".": {}, "f:emptyDir": {}, "f:name": {}}},
                },
            },
        },
    }
    # Defaults are filled after the merge, and unowned.
    assert obj["spec"]["strategy"]["type"] == "RollingUpdate"
    assert container(obj)["imagePullPolicy"] == "IfNotPresent"


def test_applying_the_same_manifest_twice_changes_nothing() -> None:
    live = store(apply(None, manifest()))
    again = apply(live, manifest(), now=T1)
    assert again == live


def test_inputs_are_not_mutated() -> None:
    cfg = manifest()
    live = store(apply(None, cfg))
    before_live, before_cfg = copy.deepcopy(live), copy.deepcopy(cfg)
    apply(live, {**cfg, "spec": {**cfg["spec"], "replicas": 7}}, now=T1)
    assert live == before_live and cfg == before_cfg


def test_removed_fields_disappear_or_revert_to_their_default() -> None:
    live = store(apply(None, manifest()))
    cfg = manifest()
    del cfg["spec"]["replicas"]
    del cfg["metadata"]["labels"]["tier"]
    del cfg["metadata"]["annotations"]
    container(cfg)["env"] = [{"name": "A", "value": "1"}]
    result = apply(live, cfg, now=T1)
    assert result["spec"]["replicas"] == 1  # pruned, then defaulted
    assert result["metadata"]["labels"] == {"app": "web"}
    assert "annotations" not in result["metadata"]
    assert container(result)["env"] == [{"name": "A", "value": "1"}]
    fields = managers(result)[("kubectl", "Apply", "")]
    assert fields["time"] == T1
    assert "f:replicas" not in fields["fieldsV1"]["f:spec"]
    # server-owned metadata is kept
    assert result["metadata"]["uid"] == live["metadata"]["uid"]
    assert result["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]


def test_removing_a_container_and_a_volume() -> None:
    cfg = manifest()
    container(cfg)["volumeMounts"] = []
    cfg["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox:1"})
    live = store(apply(None, cfg))
    assert [c["name"] for c in live["spec"]["template"]["spec"]["containers"]] == ["web", "side"]
    result = apply(live, manifest(), now=T1)
    assert [c["name"] for c in result["spec"]["template"]["spec"]["containers"]] == ["web"]
    cfg2 = manifest()
    del cfg2["spec"]["template"]["spec"]["volumes"]
    del container(cfg2)["volumeMounts"]
    result2 = apply(store(result), cfg2, now=T2)
    assert "volumes" not in result2["spec"]["template"]["spec"]
    assert "volumeMounts" not in container(result2)


def test_two_appliers_own_different_fields_and_coexist() -> None:
    live = store(apply(None, manifest()))
    sidecar_cfg = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"mesh": "on"}},
        "spec": {"template": {"spec": {"containers": [{"name": "proxy", "image": "envoy:1"}]}}},
    }
    both = store(apply(live, sidecar_cfg, "injector", now=T1), "2")
    assert [c["name"] for c in both["spec"]["template"]["spec"]["containers"]] == ["web", "proxy"]
    assert both["metadata"]["labels"] == {"app": "web", "tier": "frontend", "mesh": "on"}
    # kubectl re-applies its manifest: the injector's fields stay.
    again = apply(both, manifest(), now=T2)
    assert again == both
    # the injector withdraws its container: only that goes.
    sidecar_cfg["spec"] = {}
    withdrawn = apply(both, sidecar_cfg, "injector", now=T3)
    assert [c["name"] for c in withdrawn["spec"]["template"]["spec"]["containers"]] == ["web"]
    assert withdrawn["metadata"]["labels"]["mesh"] == "on"


def test_field_co_owned_with_the_same_value_survives_removal_by_one_owner() -> None:
    live = store(apply(None, manifest()))
    other = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"tier": "frontend"}},
    }
    co = store(apply(live, other, "platform", now=T1), "2")  # same value: no conflict
    assert set(managers(co)) == {("kubectl", "Apply", ""), ("platform", "Apply", "")}
    cfg = manifest()
    del cfg["metadata"]["labels"]["tier"]
    result = apply(co, cfg, now=T2)
    assert result["metadata"]["labels"]["tier"] == "frontend"


def test_conflict_with_an_update_manager_names_it_and_force_takes_ownership() -> None:
    live = store(apply(None, manifest()))
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    scaled = store(track_update(live, scaled, manager="kubectl-scale", gvk=DEPLOYMENT, now=T1), "2")
    assert managers(scaled)[("kubectl-scale", "Update", "")]["fieldsV1"] == {
        "f:spec": {"f:replicas": {}}
    }
    # kubectl lost ownership of replicas to the writer
    assert "f:replicas" not in managers(scaled)[("kubectl", "Apply", "")]["fieldsV1"]["f:spec"]
    with pytest.raises(ApplyConflict) as err:
        apply(scaled, manifest(), now=T2)
    assert (
        str(err.value)
        == 'Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas'
    )
    assert err.value.conflicts == [("kubectl-scale", ".spec.replicas")]
    assert err.value.causes == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "kubectl-scale" using apps/v1',
            "field": ".spec.replicas",
        }
    ]
    forced = apply(scaled, manifest(), force=True, now=T2)
    assert forced["spec"]["replicas"] == 2
    assert ("kubectl-scale", "Update", "") not in managers(forced)
    assert "f:replicas" in managers(forced)[("kubectl", "Apply", "")]["fieldsV1"]["f:spec"]


def test_apply_without_the_contested_field_does_not_conflict() -> None:
    live = store(apply(None, manifest()))
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    scaled = store(track_update(live, scaled, manager="hpa", gvk=DEPLOYMENT, now=T1), "2")
    cfg = manifest()
    del cfg["spec"]["replicas"]
    result = apply(scaled, cfg, now=T2)
    assert result["spec"]["replicas"] == 5


def test_client_side_apply_then_server_side_apply_conflicts_on_the_image() -> None:
    created = apply_defaults_for_create(manifest())
    csa = store(
        track_update(None, created, manager="kubectl-client-side-apply", gvk=DEPLOYMENT, now=T0)
    )
    cfg = manifest()
    container(cfg)["image"] = "nginx:1.27"
    with pytest.raises(ApplyConflict) as err:
        apply(csa, cfg, now=T1)
    assert err.value.conflicts == [
        ("kubectl-client-side-apply", '.spec.template.spec.containers[name="web"].image')
    ]
    assert str(err.value).endswith(
        'using apps/v1: .spec.template.spec.containers[name="web"].image'
    )
    # the unchanged manifest applies cleanly: same values are shared ownership
    same = apply(csa, manifest(), now=T1)
    assert same["spec"] == csa["spec"]


def apply_defaults_for_create(obj: dict[str, Any]) -> dict[str, Any]:
    from kdeploy.emulator.defaults import apply_defaults

    return apply_defaults(obj)


def test_several_conflicts_are_grouped_by_manager() -> None:
    live = store(apply(None, manifest()))
    other = copy.deepcopy(manifest())
    other["spec"]["replicas"] = 3
    container(other)["image"] = "nginx:2"
    with pytest.raises(ApplyConflict) as err:
        apply(live, other, "deployer", now=T1)
    assert str(err.value) == (
        'Apply failed with 2 conflicts: conflicts with "kubectl":\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="web"].image'
    )


def test_track_update_create_owns_everything_and_edits_move_ownership() -> None:
    created = track_update(
        None, store(manifest()), manager="kubectl-create", gvk=DEPLOYMENT, now=T0
    )
    (entry,) = created["metadata"]["managedFields"]
    assert entry["operation"] == "Update" and entry["manager"] == "kubectl-create"
    fields = entry["fieldsV1"]
    assert "f:name" not in fields["f:metadata"] and "f:uid" not in fields["f:metadata"]
    assert fields["f:metadata"]["f:labels"] == {".": {}, "f:app": {}, "f:tier": {}}
    assert "." not in fields["f:spec"]
    edited = copy.deepcopy(created)
    container(edited)["image"] = "nginx:2"
    del edited["metadata"]["labels"]["tier"]
    after = track_update(created, edited, manager="kubectl-edit", gvk=DEPLOYMENT, now=T1)
    by = managers(after)
    web = 'k:{"name":"web"}'
    assert by[("kubectl-edit", "Update", "")]["fieldsV1"] == {
        "f:spec": {"f:template": {"f:spec": {"f:containers": {web: {"f:image": {}}}}}}
    }
    create_fields = by[("kubectl-create", "Update", "")]["fieldsV1"]
    assert "f:image" not in create_fields["f:spec"]["f:template"]["f:spec"]["f:containers"][web]
    assert "f:tier" not in create_fields["f:metadata"]["f:labels"]
    assert by[("kubectl-create", "Update", "")]["time"] == T0


def test_track_update_reset_and_keep_rules() -> None:
    created = track_update(
        None, store(manifest()), manager="kubectl-create", gvk=DEPLOYMENT, now=T0
    )
    reset = copy.deepcopy(created)
    reset["metadata"]["managedFields"] = [{}]
    assert (
        "managedFields"
        not in track_update(created, reset, manager="m", gvk=DEPLOYMENT, now=T1)["metadata"]
    )
    kept = copy.deepcopy(created)
    kept["metadata"]["managedFields"] = []
    assert (
        track_update(created, kept, manager="m", gvk=DEPLOYMENT, now=T1)["metadata"][
            "managedFields"
        ]
        == created["metadata"]["managedFields"]
    )


def test_status_subresource_writes_are_separate_entries() -> None:
    live = store(apply(None, manifest()))
    with_status = copy.deepcopy(live)
    with_status["status"] = {"replicas": 2, "readyReplicas": 2}
    result = track_update(
        live,
        with_status,
        manager="kube-controller-manager",
        gvk=DEPLOYMENT,
        now=T1,
        subresource="status",
    )
    entry = managers(result)[("kube-controller-manager", "Update", "status")]
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {".": {}, "f:readyReplicas": {}, "f:replicas": {}}}
    # a main-resource apply neither owns nor conflicts with status
    cfg = manifest()
    cfg["status"] = {"replicas": 9}
    again = apply(store(result, "2"), cfg, now=T2)
    assert again["status"] == {"replicas": 2, "readyReplicas": 2}


def test_first_apply_to_an_object_without_managed_fields() -> None:
    live = store(apply_defaults_for_create(manifest()))
    cfg = manifest()
    cfg["spec"]["replicas"] = 4
    with pytest.raises(ApplyConflict) as err:
        apply(live, cfg, now=T1)
    assert err.value.conflicts == [("before-first-apply", ".spec.replicas")]
    result = apply(live, cfg, force=True, now=T1)
    assert ("before-first-apply", "Update", "") in managers(result)


def test_service_ports_and_configmap_data() -> None:
    svc_gvk = ("", "v1", "Service")
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"app": "web"},
            "ports": [
                {"name": "http", "port": 80, "targetPort": 8080},
                {"name": "https", "port": 443},
            ],
        },
    }
    live = server_side_apply(None, svc, manager="kubectl", force=False, gvk=svc_gvk, now=T0)
    ports = live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:ports"]
    assert set(ports) == {'k:{"port":80,"protocol":"TCP"}', 'k:{"port":443,"protocol":"TCP"}'}
    live["spec"]["clusterIP"] = "10.96.0.7"  # allocated by the server
    live = store(live)
    svc["spec"]["ports"] = svc["spec"]["ports"][:1]
    result = server_side_apply(live, svc, manager="kubectl", force=False, gvk=svc_gvk, now=T1)
    assert result["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}
    ]
    assert result["spec"]["clusterIP"] == "10.96.0.7"

    cm_gvk = ("", "v1", "ConfigMap")
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"a": "1", "b": "2"},
    }
    live_cm = store(server_side_apply(None, cm, manager="kdeploy", force=False, gvk=cm_gvk, now=T0))
    assert live_cm["metadata"]["managedFields"][0]["fieldsV1"] == {"f:data": {"f:a": {}, "f:b": {}}}
    cm["data"] = {"a": "1"}
    assert server_side_apply(live_cm, cm, manager="kdeploy", force=False, gvk=cm_gvk, now=T1)[
        "data"
    ] == {"a": "1"}


def test_custom_resources_without_schema_are_deduced() -> None:
    gvk = ("example.com", "v1", "Widget")
    cr = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 3, "hosts": ["a", "b"], "opts": {"x": 1}},
    }
    live = store(server_side_apply(None, cr, manager="kubectl", force=False, gvk=gvk, now=T0))
    assert live["metadata"]["managedFields"][0]["fieldsV1"] == {
        "f:spec": {".": {}, "f:hosts": {}, "f:opts": {".": {}, "f:x": {}}, "f:size": {}}
    }
    cr["spec"] = {"size": 3}
    result = server_side_apply(live, cr, manager="kubectl", force=False, gvk=gvk, now=T1)
    assert result["spec"] == {"size": 3}


def test_registered_crd_schema_gives_associative_lists() -> None:
    registry = SchemaRegistry()
    gvk = ("example.com", "v1", "Gateway")
    registry.register_crd_schema(
        *gvk,
        {
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "listeners": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name"],
                            "items": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "string"},
                                    "port": {"type": "integer"},
                                },
                            },
                        }
                    },
                }
            },
        },
    )
    base = {"apiVersion": "example.com/v1", "kind": "Gateway", "metadata": {"name": "g"}}
    mine = {**base, "spec": {"listeners": [{"name": "http", "port": 80}]}}
    theirs = {**base, "spec": {"listeners": [{"name": "https", "port": 443}]}}
    live = store(
        server_side_apply(None, mine, manager="a", force=False, gvk=gvk, now=T0, registry=registry)
    )
    both = server_side_apply(
        live, theirs, manager="b", force=False, gvk=gvk, now=T1, registry=registry
    )
    assert [x["name"] for x in both["spec"]["listeners"]] == ["http", "https"]


def test_null_in_the_applied_configuration_removes_the_field() -> None:
    cfg = manifest()
    live = store(apply(None, cfg))
    cfg["metadata"]["annotations"] = {"team": None}
    result = apply(live, cfg, now=T1)
    assert "team" not in result["metadata"].get("annotations", {})


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: container(c).pop("name"), 'omits key field "name"'),
        (
            lambda c: c["spec"]["template"]["spec"]["containers"].append(dict(container(c))),
            "duplicate entries for key",
        ),
    ],
)
def test_invalid_associative_lists_are_rejected(mutate: Any, message: str) -> None:
    cfg = manifest()
    mutate(cfg)
    with pytest.raises(PatchError) as err:
        apply(None, cfg)
    assert err.value.code == 422
    assert message in str(err.value)
    assert ".spec.template.spec.containers" in str(err.value)


def test_fieldsv1_round_trip_and_path_rendering() -> None:
    fields = {
        "f:metadata": {"f:finalizers": {".": {}, 'v:"a.io/x"': {}}},
        "f:spec": {"f:ports": {'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}}}},
    }
    assert to_fields_v1(from_fields_v1(fields)) == fields
    assert (
        render_path(("f:spec", 'k:{"port":80,"protocol":"TCP"}', "f:port"))
        == '.spec[port=80,protocol="TCP"].port'
    )
    assert (
        render_path(("f:metadata", "f:finalizers", 'v:"a.io/x"'))
        == '.metadata.finalizers[="a.io/x"]'
    )


def csa_created(cfg: dict[str, Any]) -> dict[str, Any]:
    """An object created by `kubectl apply` (client-side): last-applied annotation + Update entry."""
    import json

    body = copy.deepcopy(cfg)
    body["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = (
        json.dumps(cfg) + "\n"
    )
    created = apply_defaults_for_create(body)
    return store(
        track_update(None, created, manager="kubectl-client-side-apply", gvk=DEPLOYMENT, now=T0)
    )


def test_kubectl_takes_over_fields_it_last_applied_client_side() -> None:
    live = csa_created(manifest())
    cfg = manifest()
    container(cfg)["image"] = "nginx:1.27"
    result = apply(live, cfg, now=T1)
    assert container(result)["image"] == "nginx:1.27"
    csa = managers(result)[("kubectl-client-side-apply", "Update", "")]["fieldsV1"]
    assert (
        "f:image" not in csa["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
    )
    # the annotation now records the server-side applied configuration, in Go's JSON form
    annotation = result["metadata"]["annotations"][
        "kubectl.kubernetes.io/last-applied-configuration"
    ]
    assert '"image":"nginx:1.27"' in annotation
    assert annotation.startswith('{"apiVersion":"apps/v1","kind":"Deployment","metadata":{')
    assert annotation.endswith("}\n")


def test_takeover_is_only_for_kubectl_and_only_for_unchanged_fields() -> None:
    live = csa_created(manifest())
    cfg = manifest()
    container(cfg)["image"] = "nginx:1.27"
    with pytest.raises(ApplyConflict):
        apply(live, cfg, "kdeploy", now=T1)
    edited = copy.deepcopy(live)
    container(edited)["image"] = "nginx:9"
    edited = store(track_update(live, edited, manager="kubectl-edit", gvk=DEPLOYMENT, now=T1), "2")
    with pytest.raises(ApplyConflict) as err:
        apply(edited, cfg, now=T2)
    assert err.value.conflicts == [
        ("kubectl-edit", '.spec.template.spec.containers[name="web"].image')
    ]


def test_server_side_apply_never_creates_the_last_applied_annotation() -> None:
    obj = apply(None, manifest())
    assert "kubectl.kubernetes.io/last-applied-configuration" not in obj["metadata"]["annotations"]


def test_more_than_ten_update_managers_fold_the_oldest_into_ancient_changes() -> None:
    obj = store(apply(None, manifest()))
    for i in range(12):
        edited = copy.deepcopy(obj)
        edited["metadata"]["labels"][f"l{i}"] = "x"
        obj = store(
            track_update(
                obj,
                edited,
                manager=f"editor-{i:02d}",
                gvk=DEPLOYMENT,
                now=f"2026-02-01T00:00:{i:02d}Z",
            )
        )
    entries = obj["metadata"]["managedFields"]
    updaters = [e for e in entries if e["operation"] == "Update"]
    assert len(updaters) == 10
    ancient = next(e for e in updaters if e["manager"] == "ancient-changes")
    assert set(ancient["fieldsV1"]["f:metadata"]["f:labels"]) == {"f:l0", "f:l1", "f:l2"}
    assert ancient["time"] == "2026-02-01T00:00:02Z"
    assert "editor-03" in {e["manager"] for e in updaters}
    assert entries[0]["manager"] == "kubectl" and entries[0]["operation"] == "Apply"


def test_create_by_update_matches_the_real_servers_shape() -> None:
    created = track_update(
        None,
        apply_defaults_for_create(manifest()),
        manager="kubectl-client-side-apply",
        gvk=DEPLOYMENT,
        now=T0,
    )
    spec = created["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]
    # non-pointer structs and the containers list exist in Go's zero value: no "." for them
    assert "." not in spec["f:strategy"] and "." not in spec["f:template"]
    assert "." not in spec["f:template"]["f:metadata"] and "." not in spec["f:template"]["f:spec"]
    assert "." not in spec["f:template"]["f:spec"]["f:containers"]
    # pointers, maps and omitempty lists created by the write are owned as nodes too
    assert spec["f:strategy"]["f:rollingUpdate"] == {
        ".": {},
        "f:maxSurge": {},
        "f:maxUnavailable": {},
    }
    web = spec["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
    assert web["f:ports"] == {
        ".": {},
        'k:{"containerPort":80,"protocol":"TCP"}': {
            ".": {},
            "f:containerPort": {},
            "f:protocol": {},
        },
    }
    assert web["f:resources"] == {} and web["f:imagePullPolicy"] == {}


_names = st.sampled_from(["A", "B", "C", "D", "E"])
_values = st.text(alphabet="xyz01", min_size=0, max_size=3)


@settings(max_examples=60, deadline=None)
@given(
    labels=st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), _values, max_size=4),
    env=st.dictionaries(_names, _values, max_size=5),
    later_labels=st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), _values, max_size=4),
    later_env=st.dictionaries(_names, _values, max_size=5),
)
def test_apply_is_idempotent_and_the_result_follows_the_latest_manifest(
    labels: dict[str, str],
    env: dict[str, str],
    later_labels: dict[str, str],
    later_env: dict[str, str],
) -> None:
    def cfg(lbl: dict[str, str], ev: dict[str, str]) -> dict[str, Any]:
        c = manifest()
        c["metadata"]["labels"] = {"app": "web", **lbl}
        container(c)["env"] = [{"name": k, "value": v} for k, v in ev.items()]
        return c

    first = store(apply(None, cfg(labels, env)))
    assert apply(first, cfg(labels, env), now=T1) == first
    second = store(apply(first, cfg(later_labels, later_env), now=T1), "2")
    assert second["metadata"]["labels"] == {"app": "web", **later_labels}
    got_env = {e["name"]: e["value"] for e in container(second).get("env", [])}
    assert got_env == later_env
    assert apply(second, cfg(later_labels, later_env), now=T2) == second


def test_status_subresource_apply_owns_status_only() -> None:
    live = store(apply(None, manifest()))
    cfg = manifest()
    cfg["spec"]["replicas"] = 9
    cfg["status"] = {"replicas": 2, "observedGeneration": 1}
    result = server_side_apply(
        live, cfg, manager="ctrl", force=False, gvk=DEPLOYMENT, now=T1, subresource="status"
    )
    assert result["spec"]["replicas"] == 2
    assert result["status"] == {"replicas": 2, "observedGeneration": 1}
    entry = managers(result)[("ctrl", "Apply", "status")]
    assert entry["fieldsV1"] == {"f:status": {"f:observedGeneration": {}, "f:replicas": {}}}
