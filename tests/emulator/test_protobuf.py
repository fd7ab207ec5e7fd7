"""Decoding of Kubernetes protobuf request bodies, against bytes built by a tiny encoder."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from kdeploy.emulator.protobuf import ProtobufDecodeError, decode_request_body, is_protobuf


def varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def ld(number: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | 2) + varint(len(data)) + data


def vi(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def map_entries(number: int, mapping: dict[str, bytes | str]) -> bytes:
    return b"".join(ld(number, ld(1, k) + ld(2, v)) for k, v in mapping.items())


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = ld(1, api_version) + ld(2, kind)
    # contentEncoding and contentType are present but empty, as client-go writes them
    return b"k8s\x00" + ld(1, type_meta) + ld(2, raw) + ld(3, b"") + ld(4, b"")


def object_meta(**labels: str) -> bytes:
    return (
        ld(1, "sh.helm.release.v1.rel.v1")
        + ld(3, "default")
        + ld(8, b"")  # zero creationTimestamp: an empty Time message
        + map_entries(11, dict(labels))
        + map_entries(12, {"note": "hello"})
        + ld(14, "example.com/keep")
    )


def test_helm_release_secret_round_trips_byte_exact() -> None:
    release = base64.b64encode(gzip.compress(json.dumps({"name": "rel"}).encode()))
    binary = bytes(range(256))
    raw = (
        ld(1, object_meta(name="rel", owner="helm", status="pending-install", version="1"))
        + map_entries(2, {"release": release, "bin": binary})
        + ld(3, "helm.sh/release.v1")
    )
    obj = decode_request_body(envelope("v1", "Secret", raw))
    assert obj["apiVersion"] == "v1" and obj["kind"] == "Secret"
    assert obj["type"] == "helm.sh/release.v1"
    meta = obj["metadata"]
    assert meta["name"] == "sh.helm.release.v1.rel.v1"
    assert meta["namespace"] == "default"
    assert meta["labels"] == {
        "name": "rel",
        "owner": "helm",
        "status": "pending-install",
        "version": "1",
    }
    assert meta["annotations"] == {"note": "hello"}
    assert meta["finalizers"] == ["example.com/keep"]
    assert "creationTimestamp" not in meta
    assert base64.b64decode(obj["data"]["release"]) == release
    assert base64.b64decode(obj["data"]["bin"]) == binary


def test_secret_string_data_immutable_and_owner_references() -> None:
    owner = ld(1, "Deployment") + ld(3, "web") + ld(4, "u-1") + ld(5, "apps/v1") + vi(6, 1)
    meta = ld(1, "s") + ld(6, "42") + vi(7, 3) + ld(8, vi(1, 1_800_000_000)) + ld(13, owner)
    raw = ld(1, meta) + map_entries(4, {"password": "hunter2"}) + vi(5, 1)
    obj = decode_request_body(envelope("v1", "Secret", raw))
    assert obj["stringData"] == {"password": "hunter2"}
    assert obj["immutable"] is True
    assert obj["metadata"]["resourceVersion"] == "42"
    assert obj["metadata"]["generation"] == 3
    assert obj["metadata"]["creationTimestamp"] == "2027-01-15T08:00:00Z"
    assert obj["metadata"]["ownerReferences"] == [
        {
            "kind": "Deployment",
            "name": "web",
            "uid": "u-1",
            "apiVersion": "apps/v1",
            "controller": True,
        }
    ]


def test_config_map_data_and_binary_data() -> None:
    raw = (
        ld(1, ld(1, "cfg") + ld(3, "team-a"))
        + map_entries(2, {"a.txt": "one", "empty": ""})
        + map_entries(3, {"blob": b"\x00\xff"})
    )
    obj = decode_request_body(envelope("v1", "ConfigMap", raw))
    assert obj["metadata"] == {"name": "cfg", "namespace": "team-a"}
    assert obj["data"] == {"a.txt": "one", "empty": ""}
    assert obj["binaryData"] == {"blob": base64.b64encode(b"\x00\xff").decode()}


def test_delete_options_with_only_type_meta() -> None:
    obj = decode_request_body(envelope("meta.k8s.io/v1", "DeleteOptions", b""))
    assert obj == {"apiVersion": "meta.k8s.io/v1", "kind": "DeleteOptions"}


def test_delete_options_fields() -> None:
    raw = vi(1, 0) + ld(2, ld(1, "uid-9") + ld(2, "77")) + ld(4, "Foreground") + ld(5, "All")
    obj = decode_request_body(envelope("v1", "DeleteOptions", raw))
    assert obj["gracePeriodSeconds"] == 0
    assert obj["preconditions"] == {"uid": "uid-9", "resourceVersion": "77"}
    assert obj["propagationPolicy"] == "Foreground"
    assert obj["dryRun"] == ["All"]


def test_negative_int64_and_empty_unknown_fields_are_tolerated() -> None:
    raw = vi(1, -1) + ld(99, b"") + vi(98, 0)
    obj = decode_request_body(envelope("v1", "DeleteOptions", raw))
    assert obj == {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": -1}


def test_unknown_non_empty_field_is_refused_rather_than_dropped() -> None:
    raw = ld(1, ld(1, "cfg") + ld(99, "data we do not know"))
    with pytest.raises(ProtobufDecodeError, match="ObjectMeta field 99 is not understood"):
        decode_request_body(envelope("v1", "ConfigMap", raw))


def test_deployment_from_a_generator() -> None:
    labels = map_entries(11, {"app": "web"})
    container = ld(1, "nginx") + ld(2, "nginx:1.27") + ld(8, b"") + ld(13, "") + ld(14, "")
    template = ld(1, labels) + ld(2, ld(2, container) + ld(3, "") + vi(11, 0))
    spec = vi(1, 0) + ld(2, map_entries(1, {"app": "web"})) + ld(3, template) + ld(4, b"")
    status = vi(1, 0) + vi(2, 0)
    raw = ld(1, ld(1, "web") + ld(2, "") + labels + ld(8, b"")) + ld(2, spec) + ld(3, status)
    obj = decode_request_body(envelope("apps/v1", "Deployment", raw))
    assert obj == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            # replicas is a pointer: an explicit 0 survives, unlike the empty strings
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27", "resources": {}}]},
            },
            "strategy": {},
        },
    }


def test_service_target_port_int_or_string() -> None:
    port = ld(1, "http") + ld(2, "TCP") + vi(3, 80) + ld(4, vi(1, 1) + ld(3, "web"))
    raw = ld(1, ld(1, "svc")) + ld(2, ld(1, port) + ld(4, "ClusterIP"))
    obj = decode_request_body(envelope("v1", "Service", raw))
    assert obj["spec"] == {
        "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "web"}],
        "type": "ClusterIP",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"kind":"Secret"}', "magic prefix"),
        (envelope("coordination.k8s.io/v1", "Lease", b""), "kind 'Lease' are not supported"),
        (b"k8s\x00" + b"\x0a\x10abc", "runs past the end"),
        (b"k8s\x00" + b"\x0b", "unsupported wire type"),
    ],
)
def test_malformed_bodies_are_rejected_with_a_reason(body: bytes, message: str) -> None:
    with pytest.raises(ProtobufDecodeError, match=message):
        decode_request_body(body)


def test_is_protobuf_by_content_type_or_magic() -> None:
    assert is_protobuf("application/vnd.kubernetes.protobuf", b"")
    assert is_protobuf("application/vnd.kubernetes.protobuf; charset=x", b"")
    assert is_protobuf("", b"k8s\x00rest")
    assert not is_protobuf("application/json", b'{"a":1}')
