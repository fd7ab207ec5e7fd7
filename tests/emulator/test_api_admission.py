"""What a real kube-apiserver writes into an object besides what the client sent, and who owns
it: the defaults (owned by the writer), the admission plugins and registry allocations (owned by
no field manager), `metadata.generation`, and the answer of a DELETE that a finalizer or a
graceful deletion holds. Found by the differential suite against kube-apiserver 1.37; each test
runs on whichever cluster the suite targets (the emulator, or `--cluster=real`)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

POD_SPEC: dict[str, Any] = {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}
TEMPLATE: dict[str, Any] = {"metadata": {"labels": {"app": "a"}}, "spec": POD_SPEC}
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"


@pytest.fixture
def api(emulator: Any) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(str(emulator.kubeconfig_path))
    yield api_client
    api_client.close()


def data(resp: Any) -> dict[str, Any]:
    """The JSON of a call made with `_preload_content=False` (no typed model in between)."""
    out: dict[str, Any] = json.loads(resp.data)
    return out


def fields_of(obj: dict[str, Any], manager_prefix: str = "") -> dict[str, Any]:
    """The fieldsV1 of the object's one Update entry."""
    entries = [
        e
        for e in obj["metadata"]["managedFields"]
        if e["operation"] == "Update" and e["manager"].startswith(manager_prefix)
    ]
    assert len(entries) == 1, obj["metadata"]["managedFields"]
    out: dict[str, Any] = entries[0]["fieldsV1"]
    return out


def wait_gone(read: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            read()
        except client.ApiException as e:
            if e.status == 404:
                return
            raise
        time.sleep(0.2)
    raise AssertionError("the object is still there")


def wait_default_service_account(core: client.CoreV1Api, namespace: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        try:
            return data(
                core.read_namespaced_service_account("default", namespace, _preload_content=False)
            )
        except client.ApiException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# ------------------------------------------------------------------------ managedFields


def test_a_create_owns_the_map_it_creates_as_well_as_its_keys(
    api: client.ApiClient, namespace: str
) -> None:
    # Go's zero value of a ConfigMap has no `data` map: the creator adds it, so it owns it
    # (`.`), which decides who may later remove the whole map.
    core = client.CoreV1Api(api)
    cm = data(
        core.create_namespaced_config_map(
            namespace,
            {"metadata": {"name": "c", "labels": {"app": "a"}}, "data": {"k": "v"}},
            _preload_content=False,
        )
    )
    assert fields_of(cm) == {
        "f:data": {".": {}, "f:k": {}},
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
    }


def test_admission_writes_into_a_new_pod_but_owns_nothing(
    api: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(api)
    wait_default_service_account(core, namespace)
    pod = data(
        core.create_namespaced_pod(
            namespace, {"metadata": {"name": "p"}, "spec": POD_SPEC}, _preload_content=False
        )
    )
    spec = pod["spec"]
    assert pod["metadata"]["generation"] == 1
    # ServiceAccount admission: the account and its token, projected and mounted read-only
    assert (spec["serviceAccountName"], spec["serviceAccount"]) == ("default", "default")
    [volume] = spec["volumes"]
    assert volume["name"].startswith("kube-api-access-") and len(volume["name"]) == 21
    sources = volume["projected"]["sources"]
    assert sources[0]["serviceAccountToken"]["path"] == "token"
    assert sources[1]["configMap"]["name"] == "kube-root-ca.crt"
    assert spec["containers"][0]["volumeMounts"] == [
        {"name": volume["name"], "readOnly": True, "mountPath": TOKEN_PATH}
    ]
    # Priority and DefaultTolerationSeconds admission
    assert (spec["priority"], spec["preemptionPolicy"]) == (0, "PreemptLowerPriority")
    assert {t["key"] for t in spec["tolerations"]} == {
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    }
    # ...none of it belongs to the client that created the pod (defaults do)
    owned = fields_of(pod)["f:spec"]
    for admitted in ("serviceAccount", "serviceAccountName", "priority", "preemptionPolicy"):
        assert f"f:{admitted}" not in owned
    assert "f:tolerations" not in owned and "f:volumes" not in owned
    assert "f:volumeMounts" not in owned["f:containers"]['k:{"name":"c"}']
    assert "f:dnsPolicy" in owned and "f:restartPolicy" in owned


def test_a_pod_that_opts_out_gets_no_token_volume(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    wait_default_service_account(core, namespace)
    pod = data(
        core.create_namespaced_pod(
            namespace,
            {
                "metadata": {"name": "p"},
                "spec": {**POD_SPEC, "automountServiceAccountToken": False},
            },
            _preload_content=False,
        )
    )
    assert "volumes" not in pod["spec"]
    assert "volumeMounts" not in pod["spec"]["containers"][0]


def test_the_allocated_service_fields_belong_to_no_manager(
    api: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(api)
    svc = data(
        core.create_namespaced_service(
            namespace,
            {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}},
            _preload_content=False,
        )
    )
    assert svc["spec"]["clusterIP"] and svc["spec"]["ipFamilies"] == ["IPv4"]
    owned = fields_of(svc)["f:spec"]
    for allocated in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
        assert f"f:{allocated}" not in owned
    assert "f:type" in owned and "f:sessionAffinity" in owned


# ------------------------------------------------------------------------ defaults


def test_statefulset_and_cronjob_defaults(api: client.ApiClient, namespace: str) -> None:
    apps, batch = client.AppsV1Api(api), client.BatchV1Api(api)
    sts = data(
        apps.create_namespaced_stateful_set(
            namespace,
            {
                "metadata": {"name": "s"},
                "spec": {
                    "replicas": 0,
                    "selector": {"matchLabels": {"app": "a"}},
                    "template": TEMPLATE,
                },
            },
            _preload_content=False,
        )
    )
    assert sts["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"partition": 0, "maxUnavailable": 1},
    }
    cron = data(
        batch.create_namespaced_cron_job(
            namespace,
            {
                "metadata": {"name": "c"},
                "spec": {
                    "schedule": "0 0 * * *",
                    "suspend": True,
                    "jobTemplate": {
                        "spec": {"template": {"spec": {**POD_SPEC, "restartPolicy": "Never"}}}
                    },
                },
            },
            _preload_content=False,
        )
    )
    # the empty ObjectMeta structs of the templates, and the empty status, are written out
    assert cron["spec"]["jobTemplate"]["metadata"] == {}
    assert cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"] == {}
    assert cron["status"] == {}


def test_a_daemonset_carries_its_template_generation(api: client.ApiClient, namespace: str) -> None:
    apps = client.AppsV1Api(api)
    body = {
        "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": TEMPLATE},
    }
    ds = data(apps.create_namespaced_daemon_set(namespace, body, _preload_content=False))
    key = "deprecated.daemonset.template.generation"
    assert ds["metadata"]["annotations"] == {key: "1"}
    changed = data(
        apps.patch_namespaced_daemon_set(
            "d",
            namespace,
            {"spec": {"template": {"metadata": {"labels": {"app": "a", "v": "2"}}}}},
            _preload_content=False,
        )
    )
    assert changed["metadata"]["annotations"][key] == "2"


# ------------------------------------------------------------------------ generation and deletion


def test_deployment_generation_counts_annotations_and_the_deletion_mark(
    api: client.ApiClient, namespace: str
) -> None:
    apps = client.AppsV1Api(api)
    body = {
        "metadata": {"name": "d", "finalizers": ["example.com/hold"]},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "a"}}, "template": TEMPLATE},
    }
    apps.create_namespaced_deployment(namespace, body)
    annotated = apps.patch_namespaced_deployment(
        "d", namespace, {"metadata": {"annotations": {"note": "x"}}}
    )
    # annotations are copied to the ReplicaSets, so they count like the spec
    assert annotated.metadata.generation == 2
    deleting = data(apps.delete_namespaced_deployment("d", namespace, _preload_content=False))
    assert deleting["kind"] == "Deployment"
    assert deleting["metadata"]["generation"] == 3
    assert deleting["metadata"]["deletionTimestamp"]
    apps.patch_namespaced_deployment("d", namespace, {"metadata": {"finalizers": None}})
    wait_gone(lambda: apps.read_namespaced_deployment("d", namespace))


def test_a_job_deleted_without_a_policy_orphans_its_pods(
    api: client.ApiClient, namespace: str
) -> None:
    # batch/v1 Jobs, like core/v1 ReplicationControllers, default to the orphan policy: the
    # DELETE answers the Job held by the `orphan` finalizer, not a Status.
    batch = client.BatchV1Api(api)
    batch.create_namespaced_job(
        namespace,
        {
            "metadata": {"name": "j"},
            "spec": {"template": {"spec": {**POD_SPEC, "restartPolicy": "Never"}}},
        },
    )
    answer = data(batch.delete_namespaced_job("j", namespace, _preload_content=False))
    assert answer["kind"] == "Job"
    assert "orphan" in answer["metadata"]["finalizers"]
    wait_gone(lambda: batch.read_namespaced_job("j", namespace))


def test_a_claim_is_protected_until_no_pod_uses_it(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    claim = data(
        core.create_namespaced_persistent_volume_claim(
            namespace,
            {
                "metadata": {"name": "c"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            },
            _preload_content=False,
        )
    )
    assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert "f:finalizers" not in fields_of(claim).get("f:metadata", {})
    answer = data(
        core.delete_namespaced_persistent_volume_claim("c", namespace, _preload_content=False)
    )
    assert answer["metadata"]["deletionTimestamp"]
    wait_gone(lambda: core.read_namespaced_persistent_volume_claim("c", namespace))
