"""OpenAPI v3 documents as `/openapi/v3` serves them: the root index and one document per
group/version, built from the bundled Kubernetes definitions (and CRD schemas).

kubectl reads them to decide whether the server supports `fieldValidation` (a PATCH operation with
that query parameter and the object's `x-kubernetes-group-version-kind`), to compute client-side
apply patches (merge keys from `components.schemas`) and for `kubectl explain`. Documents hold
only the schemas reachable from the group/version's kinds, and are cached per input.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from typing import Any

from kdeploy.emulator.schema import OBJECT_META_DEF, default_registry

Obj = dict[str, Any]

_REF_PREFIX = "#/$defs/"
_COMPONENT_PREFIX = "#/components/schemas/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_ALWAYS = (f"{_META}Patch", f"{_META}DeleteOptions", f"{_META}Status", f"{_META}APIResourceList")


def gv_path(group: str, version: str) -> str:
    """`api/v1` for the core group, `apis/<group>/<version>` otherwise."""
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def document_hash(document: Obj | bytes) -> str:
    """The `hash` query value of a document (uppercase hex SHA-512, like the real server)."""
    data = document if isinstance(document, bytes) else _dumps(document)
    return hashlib.sha512(data).hexdigest().upper()


def openapi_root(
    group_versions: list[tuple[str, str]], hashes: dict[tuple[str, str], str] | None = None
) -> Obj:
    """The `/openapi/v3` index: `{"paths": {"apis/apps/v1": {"serverRelativeURL":
    "/openapi/v3/apis/apps/v1?hash=..."}}}`. Pass each document's `document_hash` in `hashes`
    so clients see a new URL when a document changes; otherwise the hash is derived from the
    group/version name."""
    paths: Obj = {}
    for group, version in sorted(set(group_versions)):
        key = gv_path(group, version)
        digest = (hashes or {}).get((group, version)) or document_hash(key.encode())
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def openapi_group_version(
    group: str, version: str, resources: list[Any], crd_schemas: dict[str, Obj]
) -> Obj:
    """The OpenAPI v3 document of one group/version. `resources` are dicts with `kind`,
    `plural`, `namespaced` (and optionally `subresources`, e.g. `["status", "scale"]`), or
    objects with those attributes;
    `crd_schemas` maps kinds served from a CRD to their `openAPIV3Schema`. The result is shared
    and cached: treat it as read-only."""
    return _cached_document(_cache_key(group, version, resources, crd_schemas))


def openapi_group_version_json(
    group: str, version: str, resources: list[Any], crd_schemas: dict[str, Obj]
) -> bytes:
    """The same document serialized (cached too), ready to send."""
    return _cached_json(_cache_key(group, version, resources, crd_schemas))


def _resource_dict(resource: Any) -> Obj:
    # Also accepts objects with the same attributes (the server's resource types).
    if isinstance(resource, dict):
        return {
            "kind": str(resource.get("kind", "")),
            "plural": str(resource.get("plural", "")),
            "namespaced": bool(resource.get("namespaced", True)),
            "subresources": list(resource.get("subresources") or ()),
        }
    return {
        "kind": str(getattr(resource, "kind", "")),
        "plural": str(getattr(resource, "plural", "")),
        "namespaced": bool(getattr(resource, "namespaced", True)),
        "subresources": list(getattr(resource, "subresources", None) or ()),
    }


def _cache_key(group: str, version: str, resources: list[Any], crd_schemas: dict[str, Obj]) -> str:
    normalized = [_resource_dict(r) for r in resources]
    return json.dumps([group, version, normalized, crd_schemas], sort_keys=True)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


@functools.lru_cache(maxsize=128)
def _cached_json(key: str) -> bytes:
    return _dumps(_cached_document(key))


@functools.lru_cache(maxsize=128)
def _cached_document(key: str) -> Obj:
    group, version, resources, crd_schemas = json.loads(key)
    return _build(group, version, resources, crd_schemas)


# ---------------------------------------------------------------------------------------------
# Schemas


def _convert(schema: Any) -> Any:
    """JSON Schema 2020-12 (`$defs`, nullable type lists, strict additionalProperties) ->
    OpenAPI 3.0 as kube-openapi publishes it (`allOf` around a `$ref` that has siblings)."""
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
        elif (key == "additionalProperties" and value is False) or key == "$ref":
            continue
        elif key in ("properties", "patternProperties") and isinstance(value, dict):
            out[key] = {k: _convert(v) for k, v in value.items()}
        else:
            out[key] = _convert(value)
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = _COMPONENT_PREFIX + ref.rsplit("/", 1)[-1]
        if out:
            return {"allOf": [{"$ref": target}], **out}
        return {"$ref": target}
    return out


def _refs(schema: Any, found: set[str]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            found.add(ref[len(_REF_PREFIX) :])
        for value in schema.values():
            _refs(value, found)
    elif isinstance(schema, list):
        for value in schema:
            _refs(value, found)


def reachable_definitions(defs: dict[str, Any], roots: list[str]) -> list[str]:
    """The names of `roots` and of every definition of `defs` they reference, directly or not,
    sorted (the part of the bundled schemas one OpenAPI document publishes)."""
    seen: set[str] = set()
    todo = [r for r in roots if r in defs]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        found: set[str] = set()
        _refs(defs[name], found)
        todo.extend(n for n in found if n in defs and n not in seen)
    return sorted(seen)


def _crd_component_name(group: str, version: str, kind: str) -> str:
    return ".".join([*reversed(group.split(".")), version, kind])


def _crd_schema(group: str, version: str, kind: str, schema: Obj) -> Obj:
    out = copy.deepcopy(schema) if isinstance(schema, dict) else {"type": "object"}
    out.setdefault("type", "object")
    props = out.setdefault("properties", {})
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    props["metadata"] = {"allOf": [{"$ref": _COMPONENT_PREFIX + OBJECT_META_DEF}]}
    out["x-kubernetes-group-version-kind"] = [{"group": group, "version": version, "kind": kind}]
    return out


# ---------------------------------------------------------------------------------------------
# Paths


def _query(name: str, description: str, type_: str = "string") -> Obj:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": type_, "uniqueItems": True},
    }


_DRY_RUN = _query(
    "dryRun",
    "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed",
)
_FIELD_MANAGER = _query(
    "fieldManager",
    "fieldManager is a name associated with the actor or entity that is making these changes.",
)
_FIELD_VALIDATION = _query(
    "fieldValidation",
    "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.",
)
_FORCE = _query(
    "force",
    'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people.',
    "boolean",
)
_PRETTY = _query("pretty", "If 'true', then the output is pretty printed.")
_LIST_PARAMS = [
    _query(
        "allowWatchBookmarks",
        "allowWatchBookmarks requests watch events with type BOOKMARK.",
        "boolean",
    ),
    _query(
        "continue",
        "The continue option should be set when retrieving more results from the server.",
    ),
    _query("fieldSelector", "A selector to restrict the list of returned objects by their fields."),
    _query("labelSelector", "A selector to restrict the list of returned objects by their labels."),
    _query("limit", "limit is a maximum number of responses to return for a list call.", "integer"),
    _query(
        "resourceVersion",
        "resourceVersion sets a constraint on what resource versions a request may be served from.",
    ),
    _query(
        "resourceVersionMatch",
        "resourceVersionMatch determines how resourceVersion is applied to list calls.",
    ),
    _query(
        "sendInitialEvents",
        "`sendInitialEvents=true` may be set together with `watch=true`.",
        "boolean",
    ),
    _query("timeoutSeconds", "Timeout for the list/watch call.", "integer"),
    _query(
        "watch",
        "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
        "boolean",
    ),
]
_DELETE_PARAMS = [
    _DRY_RUN,
    _query(
        "gracePeriodSeconds",
        "The duration in seconds before the object should be deleted.",
        "integer",
    ),
    _query(
        "ignoreStoreReadErrorWithClusterBreakingPotential",
        "if set to true, it will trigger an unsafe deletion of the resource.",
        "boolean",
    ),
    _query("orphanDependents", "Deprecated: please use the PropagationPolicy.", "boolean"),
    _query(
        "propagationPolicy",
        "Whether and how garbage collection will be performed: Orphan, Background or Foreground.",
    ),
]


def _path_param(name: str, description: str) -> Obj:
    return {
        "name": name,
        "in": "path",
        "description": description,
        "required": True,
        "schema": {"type": "string", "uniqueItems": True},
    }


def _content(ref: str) -> Obj:
    schema = {"$ref": _COMPONENT_PREFIX + ref}
    return {
        "application/json": {"schema": schema},
        "application/yaml": {"schema": schema},
        "application/vnd.kubernetes.protobuf": {"schema": schema},
    }


def _responses(ref: str, *codes: str) -> Obj:
    text = {"200": "OK", "201": "Created", "202": "Accepted"}
    responses: Obj = {c: {"description": text[c], "content": _content(ref)} for c in codes}
    responses["401"] = {"description": "Unauthorized"}
    return responses


def _operation_prefix(group: str, version: str) -> str:
    if not group:
        return f"Core{version.capitalize()}"
    parts = group.removesuffix(".k8s.io").replace("-", ".").split(".")
    return "".join(p.capitalize() for p in parts) + version.capitalize()


def _operation(
    action: str,
    verb: str,
    op_id: str,
    tag: str,
    gvk: Obj,
    parameters: list[Obj],
    responses: Obj,
    request_body: Obj | None = None,
) -> Obj:
    op: Obj = {
        "tags": [tag],
        "description": f"{action} the specified {gvk['kind']}",
        "operationId": op_id,
        "parameters": parameters,
        "responses": responses,
        "x-kubernetes-action": verb,
        "x-kubernetes-group-version-kind": gvk,
    }
    if request_body is not None:
        op["requestBody"] = request_body
    return op


def _resource_paths(
    group: str, version: str, resource: Obj, ref: str, list_ref: str | None, custom: bool
) -> Obj:
    kind = str(resource["kind"])
    plural = str(resource["plural"])
    namespaced = bool(resource.get("namespaced", True))
    gvk = {"group": group, "version": version, "kind": kind}
    prefix = "/" + gv_path(group, version)
    ops = _operation_prefix(group, version)
    tag = ops[0].lower() + ops[1:]
    scope = "Namespaced" if namespaced else ""
    collection = (
        f"{prefix}/namespaces/{{namespace}}/{plural}" if namespaced else f"{prefix}/{plural}"
    )
    item = f"{collection}/{{name}}"
    common = (
        [_path_param("namespace", "object name and auth scope, such as for teams and projects")]
        if namespaced
        else []
    )
    name_param = _path_param("name", f"name of the {kind}")
    body = {"content": _content(ref), "required": True}
    patch_types = [
        "application/apply-patch+yaml",
        "application/json-patch+json",
        "application/merge-patch+json",
    ]
    if not custom:
        patch_types.append("application/strategic-merge-patch+json")
    patch_body = {
        "content": {
            t: {"schema": {"$ref": _COMPONENT_PREFIX + f"{_META}Patch"}} for t in patch_types
        },
        "required": True,
    }
    list_target = list_ref or ref
    paths: Obj = {
        collection: {
            "get": _operation(
                "list or watch objects of kind",
                "list",
                f"list{ops}{scope}{kind}",
                tag,
                gvk,
                list(_LIST_PARAMS),
                _responses(list_target, "200"),
            ),
            "post": _operation(
                "create",
                "post",
                f"create{ops}{scope}{kind}",
                tag,
                gvk,
                [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION],
                _responses(ref, "200", "201", "202"),
                body,
            ),
            "delete": _operation(
                "delete collection of",
                "deletecollection",
                f"delete{ops}Collection{scope}{kind}",
                tag,
                gvk,
                [*_DELETE_PARAMS, *_LIST_PARAMS],
                _responses(f"{_META}Status", "200"),
            ),
            "parameters": [*common, _PRETTY],
        },
        item: {
            "get": _operation(
                "read", "get", f"read{ops}{scope}{kind}", tag, gvk, [], _responses(ref, "200")
            ),
            "put": _operation(
                "replace",
                "put",
                f"replace{ops}{scope}{kind}",
                tag,
                gvk,
                [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION],
                _responses(ref, "200", "201"),
                body,
            ),
            "patch": _operation(
                "partially update",
                "patch",
                f"patch{ops}{scope}{kind}",
                tag,
                gvk,
                [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION, _FORCE],
                _responses(ref, "200", "201"),
                patch_body,
            ),
            "delete": _operation(
                "delete",
                "delete",
                f"delete{ops}{scope}{kind}",
                tag,
                gvk,
                list(_DELETE_PARAMS),
                _responses(f"{_META}Status", "200", "202"),
            ),
            "parameters": [name_param, *common, _PRETTY],
        },
    }
    if namespaced:
        paths[f"{prefix}/{plural}"] = {
            "get": _operation(
                "list or watch objects of kind",
                "list",
                f"list{ops}{kind}ForAllNamespaces",
                tag,
                gvk,
                list(_LIST_PARAMS),
                _responses(list_target, "200"),
            ),
            "parameters": [_PRETTY],
        }
    if "status" in (resource.get("subresources") or ()):
        paths[f"{item}/status"] = {
            "get": _operation(
                "read status of",
                "get",
                f"read{ops}{scope}{kind}Status",
                tag,
                gvk,
                [],
                _responses(ref, "200"),
            ),
            "put": _operation(
                "replace status of",
                "put",
                f"replace{ops}{scope}{kind}Status",
                tag,
                gvk,
                [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION],
                _responses(ref, "200", "201"),
                body,
            ),
            "patch": _operation(
                "partially update status of",
                "patch",
                f"patch{ops}{scope}{kind}Status",
                tag,
                gvk,
                [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION, _FORCE],
                _responses(ref, "200", "201"),
                patch_body,
            ),
            "parameters": [name_param, *common, _PRETTY],
        }
    return paths


def _build(group: str, version: str, resources: list[Obj], crd_schemas: dict[str, Obj]) -> Obj:
    registry = default_registry()
    defs = registry.definitions
    builtin = registry.builtin_kinds(group, version)
    roots: list[str] = [*_ALWAYS, OBJECT_META_DEF]
    custom_components: Obj = {}
    paths: Obj = {}
    for resource in sorted(resources, key=lambda r: str(r.get("plural", ""))):
        kind = str(resource.get("kind", ""))
        if kind in crd_schemas:
            ref = _crd_component_name(group, version, kind)
            custom_components[ref] = _crd_schema(group, version, kind, crd_schemas[kind])
            list_ref = None
            custom = True
        elif kind in builtin:
            ref = builtin[kind]
            list_ref = builtin.get(f"{kind}List")
            roots.append(ref)
            if list_ref:
                roots.append(list_ref)
            custom = False
        else:
            # Served kind with no schema at all: an object that preserves unknown fields.
            ref = _crd_component_name(group, version, kind)
            custom_components[ref] = _crd_schema(
                group,
                version,
                kind,
                {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            )
            list_ref = None
            custom = True
        paths.update(_resource_paths(group, version, resource, ref, list_ref, custom))
    schemas: Obj = {name: _convert(defs[name]) for name in reachable_definitions(defs, roots)}
    for schema in schemas.values():
        # The bundled "strict" definitions pin apiVersion/kind with an enum; the server's
        # documents do not (kubectl explain would show it).
        for field in ("apiVersion", "kind"):
            prop = (schema.get("properties") or {}).get(field)
            if isinstance(prop, dict):
                prop.pop("enum", None)
    schemas.update(custom_components)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.37.0"},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas},
    }
