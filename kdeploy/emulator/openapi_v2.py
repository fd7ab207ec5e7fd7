"""The OpenAPI v2 (Swagger 2.0) document `/openapi/v2` serves, as JSON and as the gnostic
`openapi.v2.Document` protobuf that client-go's `OpenAPISchema()` asks for (and only accepts).

kubectl reads it for client-side validation (`kubectl apply -f` of a `kind: List` validates every
item against its definition, and fails outright when the document cannot be read), for the patch
type of a kind (`consumes` of its PATCH operation) and as a fallback for `kubectl explain`.

Definitions are the bundled Kubernetes definitions reachable from the served kinds, converted
from JSON Schema 2020-12 the way kube-openapi publishes them in v2 (`#/definitions/` references
with their sibling descriptions, single types, IntOrString as `string`/`int-or-string`), plus one
definition per custom resource version from its CRD schema (keywords v2 cannot express dropped,
as the real server's v2 conversion does). Paths carry one operation per verb with its
`x-kubernetes-action`, `x-kubernetes-group-version-kind`, `consumes` and response schema; no
parameters.
"""

from __future__ import annotations

import copy
import functools
import json
import struct
from typing import Any

import yaml

from kdeploy.emulator.openapi import reachable_definitions
from kdeploy.emulator.schema import OBJECT_META_DEF, default_registry

Obj = dict[str, Any]

JSON_CONTENT_TYPE = "application/json"
PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
# What an Accept header may name, and what is answered for it (kube-openapi's handler).
_ACCEPTED = (
    ("application", "json", JSON_CONTENT_TYPE),
    ("application", "com.github.proto-openapi.spec.v2@v1.0+protobuf", PROTOBUF_CONTENT_TYPE),
    ("application", "com.github.proto-openapi.spec.v2.v1.0+protobuf", PROTOBUF_CONTENT_TYPE),
)

_V2_PREFIX = "#/definitions/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_ALWAYS = (f"{_META}Patch", f"{_META}DeleteOptions", f"{_META}Status", f"{_META}APIResourceList")
# Definitions kube-openapi publishes in a form of their own (JSON Schema here has a oneOf).
_SPECIAL = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {
        "description": "IntOrString is a type that can hold an int32 or a string.",
        "type": "string",
        "format": "int-or-string",
    },
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {
        "description": "Quantity is a fixed-point representation of a number.",
        "type": "string",
    },
}
# Keywords a Swagger 2.0 schema cannot hold (the real server drops them from CRD schemas too).
_UNSUPPORTED = ("oneOf", "anyOf", "not", "nullable", "$schema", "$id", "const")


def negotiate(accept: str) -> str | None:
    """The Content-Type to answer an Accept header with (JSON or protobuf), or None (406).
    Clauses are tried in order of their q value, as kube-openapi's handler does."""
    clauses: list[tuple[float, int, str, str]] = []
    for index, part in enumerate((accept or "*/*").split(",")):
        fields = [f.strip() for f in part.split(";")]
        media, params = fields[0], fields[1:]
        if "/" not in media:
            continue
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        kind, _, sub = media.partition("/")
        clauses.append((-q, index, kind, sub))
    for neg_q, _, kind, sub in sorted(clauses):
        if neg_q == 0:
            continue
        for a_kind, a_sub, answer in _ACCEPTED:
            if kind in (a_kind, "*") and sub in (a_sub, "*"):
                return answer
    return None


# ---------------------------------------------------------------------------------------------
# Schemas


def _convert(schema: Any) -> Any:
    """JSON Schema 2020-12 of the bundled definitions -> Swagger 2.0 as kube-openapi writes it."""
    if isinstance(schema, list):
        return [_convert(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: Obj = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            if types:
                out["type"] = types[0]
        elif (key == "additionalProperties" and value is False) or key in _UNSUPPORTED:
            continue
        elif key == "$ref" and isinstance(value, str):
            out["$ref"] = _V2_PREFIX + value.rsplit("/", 1)[-1]
        elif key in ("properties", "patternProperties") and isinstance(value, dict):
            out[key] = {k: _convert(v) for k, v in value.items()}
        else:
            out[key] = _convert(value)
    return out


def _crd_definition(group: str, version: str, kind: str, schema: Any) -> Obj:
    converted = _convert(copy.deepcopy(schema)) if isinstance(schema, dict) else None
    out: Obj = converted if isinstance(converted, dict) else {"type": "object"}
    out.setdefault("type", "object")
    props = out.setdefault("properties", {})
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    props["metadata"] = {"$ref": _V2_PREFIX + OBJECT_META_DEF}
    out["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": version}]
    return out


def _crd_definition_name(group: str, version: str, kind: str) -> str:
    return ".".join([*reversed(group.split(".")), version, kind])


def _definition_of(defs: dict[str, Any], group: str, version: str, kind: str) -> str | None:
    for name, schema in defs.items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or ():
            if (gvk.get("group"), gvk.get("version"), gvk.get("kind")) == (group, version, kind):
                return name
    return None


# ---------------------------------------------------------------------------------------------
# Paths


def _operation(action: str, op_id: str, gvk: Obj, ref: str, consumes: list[str]) -> Obj:
    op: Obj = {
        "description": f"{action} {gvk['kind']}",
        "consumes": consumes,
        "produces": ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"],
        "schemes": ["https"],
        "operationId": op_id,
        "responses": {"200": {"description": "OK", "schema": {"$ref": ref}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    }
    if not consumes:
        del op["consumes"]
    return op


def _paths(resource: Obj, ref: str, list_ref: str) -> Obj:
    group, version, kind = resource["group"], resource["version"], resource["kind"]
    base = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    scope = "/namespaces/{namespace}" if resource["namespaced"] else ""
    prefix = "".join(p[:1].upper() + p[1:] for p in [*group.split(".")[:1], version] if p)
    named = ("Namespaced" if resource["namespaced"] else "") + kind
    gvk = {"group": group, "kind": kind, "version": version}
    body = ["*/*"]
    patches = list(resource["patch_types"])
    collection = f"{base}{scope}/{resource['plural']}"
    item = collection + "/{name}"
    return {
        collection: {
            "get": _operation("list", f"list{prefix}{named}", gvk, list_ref, []),
            "post": _operation("post", f"create{prefix}{named}", gvk, ref, body),
        },
        item: {
            "get": _operation("get", f"read{prefix}{named}", gvk, ref, []),
            "put": _operation("put", f"replace{prefix}{named}", gvk, ref, body),
            "patch": _operation("patch", f"patch{prefix}{named}", gvk, ref, patches),
            "delete": _operation(
                "delete", f"delete{prefix}{named}", gvk, _V2_PREFIX + f"{_META}Status", body
            ),
        },
    }


# ---------------------------------------------------------------------------------------------
# The document


def swagger(resources: list[Obj], version: str) -> Obj:
    """The `/openapi/v2` document. `resources` are dicts with group, version, kind, plural,
    namespaced, patch_types and (custom resources) schema."""
    return _cached_document(json.dumps([resources, version], sort_keys=True))


def swagger_json(resources: list[Obj], version: str) -> bytes:
    """The document as JSON bytes (cached)."""
    return _cached_json(json.dumps([resources, version], sort_keys=True))


def swagger_protobuf(resources: list[Obj], version: str) -> bytes:
    """The document as a gnostic openapi.v2.Document protobuf (cached)."""
    return _cached_protobuf(json.dumps([resources, version], sort_keys=True))


@functools.lru_cache(maxsize=16)
def _cached_json(key: str) -> bytes:
    return json.dumps(_cached_document(key), separators=(",", ":")).encode()


@functools.lru_cache(maxsize=16)
def _cached_protobuf(key: str) -> bytes:
    return encode_document(_cached_document(key))


@functools.lru_cache(maxsize=16)
def _cached_document(key: str) -> Obj:
    resources, version = json.loads(key)
    defs: dict[str, Any] = default_registry().definitions
    roots: list[str] = list(_ALWAYS)
    definitions: Obj = {}
    paths: Obj = {}
    for res in resources:
        group, ver, kind = res["group"], res["version"], res["kind"]
        if res.get("crd"):
            name = _crd_definition_name(group, ver, kind)
            definitions[name] = _crd_definition(group, ver, kind, res.get("schema"))
            list_name = name + "List"
            definitions[list_name] = {
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "items": {"type": "array", "items": {"$ref": _V2_PREFIX + name}},
                    "metadata": {"$ref": _V2_PREFIX + f"{_META}ListMeta"},
                },
                "required": ["items"],
                "x-kubernetes-group-version-kind": [
                    {"group": group, "kind": kind + "List", "version": ver}
                ],
            }
            roots.append(f"{_META}ListMeta")
            roots.append(OBJECT_META_DEF)
        else:
            found = _definition_of(defs, group, ver, kind)
            if found is None:
                continue
            name = found
            list_name = _definition_of(defs, group, ver, kind + "List") or name
            roots.extend([name, list_name])
        paths.update(_paths(res, _V2_PREFIX + name, _V2_PREFIX + list_name))
    for name in reachable_definitions(defs, roots):
        definitions[name] = (
            copy.deepcopy(_SPECIAL[name]) if name in _SPECIAL else _convert(defs[name])
        )
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": version},
        "paths": dict(sorted(paths.items())),
        "definitions": dict(sorted(definitions.items())),
    }


# ---------------------------------------------------------------------------------------------
# Protobuf (gnostic OpenAPIv2.proto field numbers)


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _len_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _str(number: int, value: Any) -> bytes:
    text = str(value)
    return _len_field(number, text.encode()) if text else b""


def _bool(number: int, value: Any) -> bytes:
    return _varint(number << 3) + b"\x01" if value else b""


def _int(number: int, value: Any) -> bytes:
    return _varint(number << 3) + _varint(int(value)) if isinstance(value, int) else b""


def _double(number: int, value: Any) -> bytes:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return b""
    return _varint(number << 3 | 1) + struct.pack("<d", float(value))


def _any(number: int, value: Any) -> bytes:
    # gnostic keeps values it has no type for as their YAML text (Any.yaml, field 2).
    text = yaml.safe_dump(value, default_flow_style=False, sort_keys=True)
    if text.endswith("\n...\n"):
        text = text[: -len("...\n")]
    return _len_field(number, _len_field(2, text.encode()))


def _extensions(number: int, obj: Obj) -> bytes:
    out = b""
    for key, value in obj.items():
        if key.startswith("x-"):
            out += _len_field(number, _str(1, key) + _any(2, value))
    return out


def _schema(s: Obj) -> bytes:
    out = _str(1, s.get("$ref", "")) + _str(2, s.get("format", "")) + _str(3, s.get("title", ""))
    out += _str(4, s.get("description", ""))
    if "default" in s:
        out += _any(5, s["default"])
    out += _double(6, s.get("multipleOf")) + _double(7, s.get("maximum"))
    out += _bool(8, s.get("exclusiveMaximum")) + _double(9, s.get("minimum"))
    out += _bool(10, s.get("exclusiveMinimum"))
    for number, key in ((11, "maxLength"), (12, "minLength")):
        out += _int(number, s.get(key))
    out += _str(13, s.get("pattern", ""))
    for number, key in ((14, "maxItems"), (15, "minItems")):
        out += _int(number, s.get(key))
    out += _bool(16, s.get("uniqueItems"))
    for number, key in ((17, "maxProperties"), (18, "minProperties")):
        out += _int(number, s.get(key))
    for name in s.get("required") or ():
        out += _len_field(19, str(name).encode())
    for value in s.get("enum") or ():
        out += _any(20, value)
    extra = s.get("additionalProperties")
    if isinstance(extra, dict):
        out += _len_field(21, _len_field(1, _schema(extra)))
    elif isinstance(extra, bool):
        out += _len_field(21, _varint(2 << 3) + (b"\x01" if extra else b"\x00"))
    if s.get("type"):
        out += _len_field(22, _len_field(1, str(s["type"]).encode()))
    items = s.get("items")
    if isinstance(items, dict):
        out += _len_field(23, _len_field(1, _schema(items)))
    for sub in s.get("allOf") or ():
        out += _len_field(24, _schema(sub))
    props = s.get("properties")
    if isinstance(props, dict):
        named = b"".join(
            _len_field(1, _str(1, k) + _len_field(2, _schema(v))) for k, v in props.items()
        )
        out += _len_field(25, named)
    out += _bool(27, s.get("readOnly"))
    return out + _extensions(31, s)


def _operation_pb(op: Obj) -> bytes:
    out = _str(3, op.get("description", "")) + _str(5, op.get("operationId", ""))
    for number, key in ((6, "produces"), (7, "consumes")):
        for media in op.get(key) or ():
            out += _len_field(number, str(media).encode())
    codes = b""
    for code, response in (op.get("responses") or {}).items():
        resp = _str(1, response.get("description", ""))
        if isinstance(response.get("schema"), dict):
            resp += _len_field(2, _len_field(1, _schema(response["schema"])))
        codes += _len_field(1, _str(1, code) + _len_field(2, _len_field(1, resp)))
    out += _len_field(9, codes)
    for scheme in op.get("schemes") or ():
        out += _len_field(10, str(scheme).encode())
    return out + _extensions(13, op)


_VERBS = {"get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8}


def encode_document(doc: Obj) -> bytes:
    """A Swagger 2.0 document as a gnostic `openapi.v2.Document` protobuf message."""
    out = _str(1, doc.get("swagger", "2.0"))
    info = doc.get("info") or {}
    out += _len_field(2, _str(1, info.get("title", "")) + _str(2, info.get("version", "")))
    paths = b""
    for path, item in (doc.get("paths") or {}).items():
        body = b"".join(
            _len_field(_VERBS[verb], _operation_pb(op))
            for verb, op in item.items()
            if verb in _VERBS
        )
        paths += _len_field(2, _str(1, path) + _len_field(2, body))
    out += _len_field(8, paths)
    defs = b"".join(
        _len_field(1, _str(1, name) + _len_field(2, _schema(schema)))
        for name, schema in (doc.get("definitions") or {}).items()
    )
    return out + _len_field(9, defs)
