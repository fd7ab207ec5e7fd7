"""Decode Kubernetes protobuf request bodies (`k8s\\x00` + runtime.Unknown) into JSON-shaped dicts.

client-go sends built-in types as protobuf by default; helm's release storage (Secrets or
ConfigMaps) and its DeleteOptions have no JSON fallback, so the emulator must read them. Only the
kinds those clients write are described here; field numbers follow the upstream `generated.proto`
files of k8s.io/api and k8s.io/apimachinery. Responses stay JSON, which every client accepts.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

MAGIC = b"k8s\x00"
PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf"

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


class ProtobufDecodeError(ValueError):
    """The body is not a well-formed Kubernetes protobuf message of a supported kind."""


def is_protobuf(content_type: str, body: bytes) -> bool:
    """True if the request body is a Kubernetes protobuf envelope (by Content-Type or magic)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == PROTOBUF_CONTENT_TYPE or body.startswith(MAGIC)


# ---------------------------------------------------------------- wire format


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufDecodeError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtobufDecodeError("varint longer than 64 bits")


def _fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """Split a message into (field number, wire type, value) triples; LEN values stay bytes."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufDecodeError("field number 0")
        value: Any
        if wire == _VARINT:
            value, pos = _varint(buf, pos)
        elif wire == _LEN:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise ProtobufDecodeError(f"field {number}: length {size} runs past the end")
            value = buf[pos : pos + size]
            pos += size
        elif wire == _I64:
            value = int.from_bytes(buf[pos : pos + 8], "little")
            pos += 8
        elif wire == _I32:
            value = int.from_bytes(buf[pos : pos + 4], "little")
            pos += 4
        else:
            raise ProtobufDecodeError(f"field {number}: unsupported wire type {wire}")
        if pos > len(buf):
            raise ProtobufDecodeError(f"field {number}: truncated")
        out.append((number, wire, value))
    return out


# ---------------------------------------------------------------- schema-driven decoding

# A field decoder turns the raw wire value into its JSON form.
Decoder = Callable[[Any], Any]


def _string(value: Any) -> str:
    if not isinstance(value, bytes):
        raise ProtobufDecodeError("expected a length-delimited string")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtobufDecodeError(f"string is not UTF-8: {exc}") from exc


def _string_or_empty(value: Any) -> str:
    return _string(value) if value else ""


def _bytes_b64(value: Any) -> str:
    if not isinstance(value, bytes):
        raise ProtobufDecodeError("expected bytes")
    return base64.b64encode(value).decode("ascii")


def _int64(value: Any) -> int:
    if not isinstance(value, int):
        raise ProtobufDecodeError("expected a varint")
    return value - (1 << 64) if value >= 1 << 63 else value


def _bool(value: Any) -> bool:
    return bool(_int64(value))


def _time(value: Any) -> str | None:
    """meta/v1 Time {seconds=1, nanos=2} as RFC 3339; an empty message is the zero time (null)."""
    seconds = 0
    for number, _, v in _fields(value):
        if number == 1:
            seconds = _int64(v)
    if not seconds:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _map(value_decoder: Decoder) -> Callable[[Any], tuple[str, Any]]:
    def entry(value: Any) -> tuple[str, Any]:
        key, val = "", value_decoder(b"")
        for number, _, v in _fields(value):
            if number == 1:
                key = _string(v)
            elif number == 2:
                val = value_decoder(v)
        return key, val

    return entry


def _message(schema: dict[int, tuple[str, str, Any]]) -> Decoder:
    """Build a decoder from {number: (json name, shape, decoder)}, shape one of
    'one' (last value wins), 'list' (repeated) or 'map' (decoder yields (key, value))."""

    def decode(value: Any) -> dict[str, Any]:
        if not isinstance(value, bytes):
            raise ProtobufDecodeError("expected an embedded message")
        out: dict[str, Any] = {}
        for number, _, raw in _fields(value):
            if number not in schema:
                continue  # unknown fields are skipped, as proto2 parsers do
            name, shape, decoder = schema[number]
            if shape == "map":
                key, val = decoder(raw)
                out.setdefault(name, {})[key] = val
            elif shape == "list":
                out.setdefault(name, []).append(decoder(raw))
            else:
                decoded = decoder(raw)
                if decoded is not None:
                    out[name] = decoded
        return out

    return decode


_OWNER_REFERENCE = _message(
    {
        1: ("kind", "one", _string),
        3: ("name", "one", _string),
        4: ("uid", "one", _string),
        5: ("apiVersion", "one", _string),
        6: ("controller", "one", _bool),
        7: ("blockOwnerDeletion", "one", _bool),
    }
)


def _fields_v1(value: Any) -> Any:
    for number, _, raw in _fields(value):
        if number == 1:
            try:
                return json.loads(raw)
            except ValueError as exc:
                raise ProtobufDecodeError(f"managedFields fieldsV1 is not JSON: {exc}") from exc
    return {}


_MANAGED_FIELDS_ENTRY = _message(
    {
        1: ("manager", "one", _string),
        2: ("operation", "one", _string),
        3: ("apiVersion", "one", _string),
        4: ("time", "one", _time),
        6: ("fieldsType", "one", _string),
        7: ("fieldsV1", "one", _fields_v1),
        8: ("subresource", "one", _string),
    }
)

_OBJECT_META = _message(
    {
        1: ("name", "one", _string),
        2: ("generateName", "one", _string),
        3: ("namespace", "one", _string),
        4: ("selfLink", "one", _string),
        5: ("uid", "one", _string),
        6: ("resourceVersion", "one", _string),
        7: ("generation", "one", _int64),
        8: ("creationTimestamp", "one", _time),
        9: ("deletionTimestamp", "one", _time),
        10: ("deletionGracePeriodSeconds", "one", _int64),
        11: ("labels", "map", _map(_string_or_empty)),
        12: ("annotations", "map", _map(_string_or_empty)),
        13: ("ownerReferences", "list", _OWNER_REFERENCE),
        14: ("finalizers", "list", _string),
        17: ("managedFields", "list", _MANAGED_FIELDS_ENTRY),
    }
)

_SECRET = _message(
    {
        1: ("metadata", "one", _OBJECT_META),
        2: ("data", "map", _map(_bytes_b64)),
        3: ("type", "one", _string),
        4: ("stringData", "map", _map(_string_or_empty)),
        5: ("immutable", "one", _bool),
    }
)

_CONFIG_MAP = _message(
    {
        1: ("metadata", "one", _OBJECT_META),
        2: ("data", "map", _map(_string_or_empty)),
        3: ("binaryData", "map", _map(_bytes_b64)),
        4: ("immutable", "one", _bool),
    }
)

_PRECONDITIONS = _message({1: ("uid", "one", _string), 2: ("resourceVersion", "one", _string)})

_DELETE_OPTIONS = _message(
    {
        1: ("gracePeriodSeconds", "one", _int64),
        2: ("preconditions", "one", _PRECONDITIONS),
        3: ("orphanDependents", "one", _bool),
        4: ("propagationPolicy", "one", _string),
        5: ("dryRun", "list", _string),
        6: ("ignoreStoreReadErrorWithClusterBreakingPotential", "one", _bool),
    }
)

# `kubectl create namespace` sends its Namespace as protobuf too.
_NAMESPACE = _message(
    {
        1: ("metadata", "one", _OBJECT_META),
        2: ("spec", "one", _message({1: ("finalizers", "list", _string)})),
    }
)

_KINDS: dict[str, Decoder] = {
    "Namespace": _NAMESPACE,
    "Secret": _SECRET,
    "ConfigMap": _CONFIG_MAP,
    "DeleteOptions": _DELETE_OPTIONS,
}

_TYPE_META = _message({1: ("apiVersion", "one", _string), 2: ("kind", "one", _string)})
_UNKNOWN = _message(
    {
        1: ("typeMeta", "one", _TYPE_META),
        2: ("raw", "one", lambda v: v),
        3: ("contentEncoding", "one", _string),
        4: ("contentType", "one", _string),
    }
)


def decode_request_body(body: bytes) -> dict[str, Any]:
    """Decode a `k8s\\x00`-prefixed runtime.Unknown envelope into the JSON-equivalent object,
    with `apiVersion` and `kind` from the envelope (DeleteOptions bodies often carry only those).

    Raises ProtobufDecodeError for a missing magic prefix, malformed wire data, a content
    encoding other than none, or a kind other than Secret, ConfigMap and DeleteOptions.
    """
    if not body.startswith(MAGIC):
        raise ProtobufDecodeError("protobuf body does not start with the k8s\\x00 magic prefix")
    envelope = _UNKNOWN(body[len(MAGIC) :])
    if envelope.get("contentEncoding"):
        raise ProtobufDecodeError(
            f"unsupported protobuf content encoding {envelope['contentEncoding']!r}"
        )
    type_meta = envelope.get("typeMeta", {})
    kind = type_meta.get("kind", "")
    decoder = _KINDS.get(kind)
    if decoder is None:
        supported = ", ".join(sorted(_KINDS))
        raise ProtobufDecodeError(
            f"protobuf bodies of kind {kind or '(none)'!r} are not supported "
            f"(supported: {supported}); send JSON instead"
        )
    obj: dict[str, Any] = {}
    if type_meta.get("apiVersion"):
        obj["apiVersion"] = type_meta["apiVersion"]
    obj["kind"] = kind
    obj.update(decoder(envelope.get("raw", b"")))
    return obj
