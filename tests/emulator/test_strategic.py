"""Strategic merge patch: what `kubectl apply` (client-side) and `kubectl patch` send."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kdeploy.emulator.patch import PatchError
from kdeploy.emulator.strategic import strategic_merge_patch

DEPLOYMENT = ("apps", "v1", "Deployment")
SERVICE = ("", "v1", "Service")


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "labels": {"app": "web"},
            "finalizers": ["a.io/one", "b.io/two"],
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.25",
                            "args": ["--a", "--b"],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        },
                        {"name": "sidecar", "image": "busybox:1"},
                    ],
                    "volumes": [
                        {"name": "data", "emptyDir": {}},
                        {"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 420}},
                    ],
                },
            },
        },
    }


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["spec"]["template"]["spec"]["containers"]  # type: ignore[no-any-return]


def test_kubectl_apply_image_change_merges_containers_by_name() -> None:
    # The exact body kubectl 1.37 sends for a client-side apply that changes one image.
    patch = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"}},
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
                    "containers": [{"image": "nginx:1.28", "name": "web"}],
                }
            }
        },
    }
    live = deployment()
    result = strategic_merge_patch(live, patch, DEPLOYMENT)
    assert [c["name"] for c in containers(result)] == ["web", "sidecar"]
    web = containers(result)[0]
    assert web["image"] == "nginx:1.28"
    assert web["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert (
        result["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
        == "{}\n"
    )
    assert live == deployment(), "input mutated"
    assert "$setElementOrder/containers" not in result["spec"]["template"]["spec"]


@pytest.mark.parametrize(
    ("patch", "path", "expected"),
    [
        # env merges by name: change one, add one, keep the other
        (
            {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "web",
                                    "env": [
                                        {"name": "B", "value": "3"},
                                        {"name": "C", "value": "4"},
                                    ],
                                }
                            ]
                        }
                    }
                }
            },
            ("spec", "template", "spec", "containers", 0, "env"),
            [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
        ),
        # ports merge by containerPort; like the real server, new items without a
        # $setElementOrder come before the server-only ones
        (
            {
                "spec": {
                    "template": {
                        "spec": {"containers": [{"name": "web", "ports": [{"containerPort": 443}]}]}
                    }
                }
            },
            ("spec", "template", "spec", "containers", 0, "ports"),
            [{"containerPort": 443}, {"containerPort": 80, "protocol": "TCP"}],
        ),
        # args is atomic: replaced
        (
            {"spec": {"template": {"spec": {"containers": [{"name": "web", "args": ["--c"]}]}}}},
            ("spec", "template", "spec", "containers", 0, "args"),
            ["--c"],
        ),
        # delete a container by merge key
        (
            {
                "spec": {
                    "template": {"spec": {"containers": [{"$patch": "delete", "name": "sidecar"}]}}
                }
            },
            ("spec", "template", "spec", "containers", -1, "name"),
            "web",
        ),
        # volumeMounts merge by mountPath
        (
            {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "web",
                                    "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"}],
                                }
                            ]
                        }
                    }
                }
            },
            ("spec", "template", "spec", "containers", 0, "volumeMounts"),
            [{"name": "cfg", "mountPath": "/etc/cfg"}, {"name": "data", "mountPath": "/data"}],
        ),
        # null deletes a map field
        (
            {"spec": {"strategy": {"rollingUpdate": None, "type": "Recreate"}}},
            ("spec", "strategy"),
            {"type": "Recreate"},
        ),
        # $patch: delete on a map
        (
            {"spec": {"strategy": {"rollingUpdate": {"$patch": "delete"}}}},
            ("spec", "strategy"),
            {"type": "RollingUpdate"},
        ),
        # $patch: replace on a map
        (
            {"metadata": {"labels": {"$patch": "replace", "only": "x"}}},
            ("metadata", "labels"),
            {"only": "x"},
        ),
        # labels merge
        (
            {"metadata": {"labels": {"tier": "fe", "app": None}}},
            ("metadata", "labels"),
            {"tier": "fe"},
        ),
        # finalizers: primitive merge list is a set
        (
            {"metadata": {"finalizers": ["b.io/two", "c.io/three"]}},
            ("metadata", "finalizers"),
            ["a.io/one", "b.io/two", "c.io/three"],
        ),
        (
            {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.io/one"]}},
            ("metadata", "finalizers"),
            ["b.io/two"],
        ),
        # $retainKeys clears the other members of a union (kubectl sends this for strategy)
        (
            {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
            ("spec", "strategy"),
            {"type": "Recreate"},
        ),
        # volumes: merge by name and retainKeys switches the volume source
        (
            {
                "spec": {
                    "template": {
                        "spec": {
                            "volumes": [
                                {
                                    "$retainKeys": ["name", "secret"],
                                    "name": "cfg",
                                    "secret": {"secretName": "s"},
                                }
                            ]
                        }
                    }
                }
            },
            ("spec", "template", "spec", "volumes", 1),
            {"name": "cfg", "secret": {"secretName": "s"}},
        ),
        # whole-list replace directive
        (
            {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [{"$patch": "replace"}, {"name": "solo", "image": "x"}]
                        }
                    }
                }
            },
            ("spec", "template", "spec", "containers"),
            [{"name": "solo", "image": "x"}],
        ),
        # selector (atomic struct) merges map-wise in SMP like the real server
        ({"spec": {"replicas": 4}}, ("spec", "replicas"), 4),
    ],
)
def test_strategic_merge_directives(
    patch: dict[str, Any], path: tuple[Any, ...], expected: Any
) -> None:
    before = copy.deepcopy(patch)
    node: Any = strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    for part in path:
        node = node[part]
    assert node == expected
    assert patch == before, "patch mutated"


def test_set_element_order_reorders_and_appends() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [
                        {"name": "sidecar"},
                        {"name": "new"},
                        {"name": "web"},
                    ],
                    "containers": [{"name": "new", "image": "x:1"}],
                }
            }
        }
    }
    result = strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert [c["name"] for c in containers(result)] == ["sidecar", "new", "web"]


def test_service_ports_merge_by_port() -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {
            "ports": [
                {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"},
            ],
            "clusterIPs": ["10.96.0.10"],
        },
    }
    patch = {"spec": {"ports": [{"port": 443, "targetPort": 9443}]}}
    result = strategic_merge_patch(svc, patch, SERVICE)
    assert result["spec"]["ports"][1] == {
        "name": "https",
        "port": 443,
        "targetPort": 9443,
        "protocol": "TCP",
    }
    assert result["spec"]["ports"][0]["targetPort"] == 8080


def test_configmap_data_merges_and_null_deletes() -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"a": "1", "b": "2"},
    }
    result = strategic_merge_patch(cm, {"data": {"a": None, "c": "3"}}, ("", "v1", "ConfigMap"))
    assert result["data"] == {"b": "2", "c": "3"}


def test_unknown_kind_replaces_lists_and_merges_maps() -> None:
    obj = {"spec": {"items": [{"name": "a"}], "cfg": {"x": 1}}}
    result = strategic_merge_patch(
        obj, {"spec": {"items": [{"name": "b"}], "cfg": {"y": 2}}}, ("x.io", "v1", "W")
    )
    assert result["spec"] == {"items": [{"name": "b"}], "cfg": {"x": 1, "y": 2}}


def test_new_values_are_stripped_of_directives_and_nulls() -> None:
    result = strategic_merge_patch(
        {"metadata": {"name": "x"}},
        {
            "spec": {
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "a"}],
                        "containers": [{"name": "a", "image": "i", "args": None}],
                    }
                }
            }
        },
        DEPLOYMENT,
    )
    assert result["spec"] == {"template": {"spec": {"containers": [{"name": "a", "image": "i"}]}}}


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"metadata": {"labels": {"$patch": "bogus"}}}, "unknown patch type: bogus"),
        (
            {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}},
            "does not contain declared merge key: name",
        ),
        (
            {"spec": {"template": {"spec": {"containers": [{"$patch": "merge"}]}}}},
            "merging lists cannot yet be specified",
        ),
        (
            {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}},
            "retainKeys",
        ),
        (
            {
                "spec": {
                    "template": {
                        "spec": {
                            "$setElementOrder/containers": [{"name": "web"}],
                            "containers": [{"name": "other"}],
                        }
                    }
                }
            },
            "$setElementOrder",
        ),
    ],
)
def test_malformed_patches_are_bad_requests(patch: dict[str, Any], message: str) -> None:
    with pytest.raises(PatchError) as err:
        strategic_merge_patch(deployment(), patch, DEPLOYMENT)
    assert err.value.code == 400
    assert message in str(err.value)


def test_kubectl_apply_three_way_patch_removing_an_env_var_and_a_label() -> None:
    # Shape of the patch kubectl computes when env B and label tier were removed from the file.
    live = deployment()
    live["metadata"]["labels"]["tier"] = "fe"
    patch = {
        "metadata": {"labels": {"tier": None}},
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
                    "containers": [
                        {
                            "$setElementOrder/env": [{"name": "A"}],
                            "env": [{"$patch": "delete", "name": "B"}],
                            "name": "web",
                        }
                    ],
                }
            }
        },
    }
    result = strategic_merge_patch(live, patch, DEPLOYMENT)
    assert result["metadata"]["labels"] == {"app": "web"}
    assert containers(result)[0]["env"] == [{"name": "A", "value": "1"}]
    assert [c["name"] for c in containers(result)] == ["web", "sidecar"]
