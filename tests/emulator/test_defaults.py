"""Defaulting like the real API server, and the generation rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kdeploy.emulator.defaults import (
    apply_defaults,
    canonical_quantity,
    generation_changed,
    service_ip_families,
    structural_defaults,
    tracks_generation,
)


def deployment(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.25",
                            "ports": [{"containerPort": 80}],
                            "env": [
                                {
                                    "name": "POD",
                                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                                }
                            ],
                            "readinessProbe": {"httpGet": {"port": 80}},
                            "resources": {"limits": {"cpu": 0.5, "memory": "1024Mi"}},
                        }
                    ],
                    "volumes": [
                        {"name": "cfg", "configMap": {"name": "cfg"}},
                        {"name": "scratch"},
                    ],
                },
            },
            **spec,
        },
    }


def test_deployment_defaults_match_the_real_server() -> None:
    obj = apply_defaults(deployment())
    spec = obj["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Always"
    assert pod["dnsPolicy"] == "ClusterFirst"
    assert pod["schedulerName"] == "default-scheduler"
    assert pod["securityContext"] == {}
    assert pod["terminationGracePeriodSeconds"] == 30
    c = pod["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["terminationMessagePath"] == "/dev/termination-log"
    assert c["terminationMessagePolicy"] == "File"
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert c["readinessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert c["resources"] == {"limits": {"cpu": "500m", "memory": "1Gi"}}
    assert pod["volumes"] == [
        {"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 420}},
        {"name": "scratch", "emptyDir": {}},
    ]
    # Pod-only defaults do not apply to templates.
    assert "enableServiceLinks" not in pod and "serviceAccountName" not in pod


def test_defaults_are_idempotent_and_do_not_mutate_input() -> None:
    original = deployment()
    before = copy.deepcopy(original)
    once = apply_defaults(original)
    assert original == before
    assert apply_defaults(once) == once


def test_explicit_values_are_kept() -> None:
    obj = apply_defaults(
        deployment(replicas=0, strategy={"type": "Recreate"}, revisionHistoryLimit=0)
    )
    assert obj["spec"]["replicas"] == 0
    assert obj["spec"]["strategy"] == {"type": "Recreate"}
    assert obj["spec"]["revisionHistoryLimit"] == 0


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("registry.local:5000/team/app", "Always"),
        ("registry.local:5000/team/app:v2", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
    ],
)
def test_image_pull_policy(image: str, policy: str) -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = image
    assert (
        apply_defaults(obj)["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"]
        == policy
    )


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        (0.5, "500m"),
        ("0.5", "500m"),
        ("1000m", "1"),
        (1, "1"),
        ("2", "2"),
        ("1024Mi", "1Gi"),
        ("1.5Gi", "1536Mi"),
        ("0.5Ki", "512"),
        ("128974848", "128974848"),
        ("129e6", "129e6"),
        ("100M", "100M"),
        ("0.0001", "1m"),
        ("0", "0"),
        ("bogus", "bogus"),
    ],
)
def test_canonical_quantity(value: Any, canonical: str) -> None:
    assert canonical_quantity(value) == canonical


def test_service_defaults_leave_cluster_ip_to_the_server() -> None:
    svc = apply_defaults(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]},
        }
    )
    assert svc["spec"] == {
        "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}],
        "sessionAffinity": "None",
        "type": "ClusterIP",
        "internalTrafficPolicy": "Cluster",
    }
    assert svc["status"] == {"loadBalancer": {}}


def test_service_ip_families_come_with_the_allocation_not_the_defaults() -> None:
    spec: dict[str, Any] = {"selector": {"app": "web"}}
    service_ip_families(spec)
    assert (spec["ipFamilyPolicy"], spec["ipFamilies"]) == ("SingleStack", ["IPv4"])
    headless: dict[str, Any] = {"clusterIP": "None"}
    service_ip_families(headless)
    assert headless["ipFamilyPolicy"] == "RequireDualStack"


def test_node_port_service_gets_external_traffic_policy() -> None:
    svc = apply_defaults(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "x"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 443, "targetPort": "https"}]},
        }
    )
    assert svc["spec"]["externalTrafficPolicy"] == "Cluster"
    assert svc["spec"]["allocateLoadBalancerNodePorts"] is True
    assert svc["spec"]["ports"][0]["targetPort"] == "https"


@pytest.mark.parametrize(
    ("obj", "path", "expected"),
    [
        (
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "spec": {"template": {"spec": {"containers": []}}},
            },
            ("spec",),
            {
                "template": {
                    "spec": {
                        "containers": [],
                        "dnsPolicy": "ClusterFirst",
                        "restartPolicy": "Always",
                        "securityContext": {},
                        "terminationGracePeriodSeconds": 30,
                        "schedulerName": "default-scheduler",
                    }
                },
                "podManagementPolicy": "OrderedReady",
                "updateStrategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"partition": 0, "maxUnavailable": 1},
                },
                "persistentVolumeClaimRetentionPolicy": {
                    "whenDeleted": "Retain",
                    "whenScaled": "Retain",
                },
                "replicas": 1,
                "revisionHistoryLimit": 10,
            },
        ),
        (
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "spec": {}},
            ("spec", "updateStrategy"),
            {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
        ),
        (
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "j"},
                "spec": {
                    "template": {
                        "metadata": {"labels": {"a": "b"}},
                        "spec": {"restartPolicy": "Never", "containers": []},
                    }
                },
            },
            ("spec", "backoffLimit"),
            6,
        ),
        (
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "j"},
                "spec": {
                    "template": {
                        "metadata": {"labels": {"a": "b"}},
                        "spec": {"restartPolicy": "Never", "containers": []},
                    }
                },
            },
            ("metadata", "labels"),
            {"a": "b"},
        ),
        (
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "spec": {"parallelism": 3, "template": {"spec": {"containers": []}}},
            },
            ("spec",),
            {
                "parallelism": 3,
                "template": {
                    "spec": {
                        "containers": [],
                        "dnsPolicy": "ClusterFirst",
                        "restartPolicy": "Always",
                        "securityContext": {},
                        "terminationGracePeriodSeconds": 30,
                        "schedulerName": "default-scheduler",
                    }
                },
                "backoffLimit": 6,
                "completionMode": "NonIndexed",
                "suspend": False,
                "podReplacementPolicy": "TerminatingOrFailed",
                "manualSelector": False,
            },
        ),
        (
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "spec": {
                    "schedule": "* * * * *",
                    "jobTemplate": {
                        "spec": {
                            "template": {
                                "spec": {"containers": [{"name": "c", "image": "busybox"}]}
                            }
                        }
                    },
                },
            },
            ("spec", "jobTemplate", "spec", "template", "spec", "containers", 0, "imagePullPolicy"),
            "Always",
        ),
        (
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "spec": {
                    "schedule": "* * * * *",
                    "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}},
                },
            },
            ("spec", "successfulJobsHistoryLimit"),
            3,
        ),
        ({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}, ("type",), "Opaque"),
        (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
            ("metadata", "labels"),
            {"kubernetes.io/metadata.name": "team-a"},
        ),
        (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t"}},
            ("status",),
            {"phase": "Active"},
        ),
        (
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "spec": {"resources": {"requests": {"storage": "1024Mi"}}},
            },
            ("spec",),
            {"resources": {"requests": {"storage": "1Gi"}}, "volumeMode": "Filesystem"},
        ),
        (
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "spec": {"egress": [{"ports": [{"port": 53}]}]},
            },
            ("spec",),
            {
                "egress": [{"ports": [{"port": 53, "protocol": "TCP"}]}],
                "policyTypes": ["Ingress", "Egress"],
            },
        ),
        (
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "spec": {"maxReplicas": 3},
            },
            ("spec",),
            {
                "maxReplicas": 3,
                "minReplicas": 1,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 80},
                        },
                    }
                ],
            },
        ),
        (
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "subjects": [
                    {"kind": "User", "name": "u"},
                    {"kind": "ServiceAccount", "name": "sa"},
                ],
            },
            ("subjects",),
            [
                {"kind": "User", "name": "u", "apiGroup": "rbac.authorization.k8s.io"},
                {"kind": "ServiceAccount", "name": "sa"},
            ],
        ),
        (
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "spec": {
                    "names": {"kind": "Widget", "plural": "widgets"},
                    "versions": [{"name": "v1", "storage": True}],
                },
            },
            ("spec", "names"),
            {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
        ),
        (
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "c"},
                "data": {"a": "1"},
            },
            (),
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "c"},
                "data": {"a": "1"},
            },
        ),
        ({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"x": 1}}, ("spec",), {"x": 1}),
    ],
)
def test_kind_defaults(obj: dict[str, Any], path: tuple[Any, ...], expected: Any) -> None:
    node: Any = apply_defaults(obj)
    for part in path:
        node = node[part]
    assert node == expected
    assert apply_defaults(apply_defaults(obj)) == apply_defaults(obj)


def test_pod_defaults_leave_admission_to_the_server() -> None:
    pod = apply_defaults(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {
                "containers": [{"name": "c", "image": "x:1", "resources": {"limits": {"cpu": "1"}}}]
            },
        }
    )
    spec = pod["spec"]
    assert spec["enableServiceLinks"] is True
    assert spec["containers"][0]["resources"]["requests"] == {"cpu": "1"}
    # ServiceAccount, Priority and DefaultTolerationSeconds admission come after the
    # managedFields are recorded (admission.py): no field manager owns what they add
    for admitted in ("serviceAccountName", "priority", "tolerations", "volumes"):
        assert admitted not in spec
    assert apply_defaults(pod) == pod


def test_custom_resources_get_their_schema_defaults() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "size": {"type": "integer", "default": 1},
                    "ports": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"protocol": {"type": "string", "default": "TCP"}},
                        },
                    },
                },
            }
        },
    }
    cr: dict[str, Any] = {"spec": {"ports": [{"port": 80}, {"protocol": "UDP"}]}}
    structural_defaults(cr, schema)
    assert cr == {
        "spec": {"size": 1, "ports": [{"port": 80, "protocol": "TCP"}, {"protocol": "UDP"}]}
    }


def test_generation_changes_only_on_spec_for_builtin_kinds() -> None:
    old = apply_defaults(deployment())
    relabeled = copy.deepcopy(old)
    relabeled["metadata"]["labels"] = {"x": "y"}
    relabeled["status"] = {"replicas": 1}
    assert not generation_changed(old, relabeled)
    scaled = copy.deepcopy(old)
    scaled["spec"]["replicas"] = 3
    assert generation_changed(old, scaled)


def test_generation_rules_for_configmaps_and_custom_resources() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    assert not tracks_generation("", "ConfigMap")
    assert not generation_changed(cm, {**cm, "data": {"a": "2"}})
    assert tracks_generation("apps", "Deployment")
    cr = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"a": 1},
    }
    assert generation_changed(cr, {**cr, "data": 2})
    assert not generation_changed(cr, {**cr, "status": {"ok": True}})
    assert generation_changed(cr, {**cr, "status": {"ok": True}}, status_subresource=False)


def test_empty_optional_lists_and_maps_vanish_like_go_omitempty() -> None:
    obj = deployment()
    obj["metadata"]["labels"] = {}
    obj["spec"]["template"]["spec"]["containers"][0]["args"] = []
    obj["spec"]["template"]["spec"]["containers"][0]["env"] = []
    obj["spec"]["template"]["spec"]["imagePullSecrets"] = []
    result = apply_defaults(obj)
    assert "labels" not in result["metadata"]
    c = result["spec"]["template"]["spec"]["containers"][0]
    assert "args" not in c and "env" not in c
    assert "imagePullSecrets" not in result["spec"]["template"]["spec"]
    # empty structs stay, required lists stay
    assert result["spec"]["template"]["spec"]["securityContext"] == {}
    empty_pod = apply_defaults(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}
    )
    assert empty_pod["spec"]["containers"] == []
    cm = apply_defaults(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}
    )
    assert "data" not in cm
    # custom resources keep what they are given
    cr = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"items": [], "opts": {}},
    }
    assert apply_defaults(cr) == cr


def test_an_ingress_is_written_with_its_empty_load_balancer_status() -> None:
    ingress = apply_defaults(
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"}}
    )
    assert ingress["status"] == {"loadBalancer": {}}
