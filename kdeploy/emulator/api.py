"""The API server's request semantics over the store, independent of HTTP: create, read, update,
patch (merge, JSON, strategic, server-side apply), delete with finalizers and propagation, the
status and scale subresources, dry runs, defaulting and validation.

Every method raises `ApiError` for a request the real server would refuse, with the same reason,
code and message.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import Callable
from typing import Any

import yaml

from kdeploy.emulator import admission, gc
from kdeploy.emulator import apierrors as E
from kdeploy.emulator.defaults import service_ip_families, structural_defaults
from kdeploy.emulator.registry import Registry, ResourceType
from kdeploy.emulator.selectors import (
    SelectorError,
    field_selector_name,
    parse_field_selector,
    parse_label_selector,
)
from kdeploy.emulator.store import Store, clone, group_of
from kdeploy.emulator.validation import (
    bytes_field_error,
    fold_string_data,
    micro_time_error,
    type_mismatch,
    validate_data,
    validate_metadata,
    validate_name,
    validate_spec,
    validate_update,
    validate_workload,
)

Obj = dict[str, Any]

MAX_OBJECT_BYTES = 1536 * 1024
_SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
_NODE_PORTS = range(30000, 32768)
_UNDELETABLE_NAMESPACES = ("default", "kube-system", "kube-public")
_ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters."
)
_PLACEHOLDER_CA = (
    "-----BEGIN CERTIFICATE-----\n"
    "a2RlcGxveS1lbXVsYXRvciBoYXMgbm8gY2VydGlmaWNhdGUgaW4gcGxhaW4gSFRUUCBtb2Rl\n"
    "-----END CERTIFICATE-----\n"
)
# Kinds whose strategy allows PUT to create a missing object.
_CREATE_ON_UPDATE = {
    ("coordination.k8s.io", "Lease"),
    ("", "Endpoints"),
    ("", "Event"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
}
# Kinds whose DELETE orphans dependents unless a propagation policy says otherwise.
_ORPHAN_BY_DEFAULT = {("", "ReplicationController"), ("batch", "Job")}
# Metadata the server owns: never taken from a request body on update.
_SYSTEM_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
# What POST, PUT and DELETE bodies may be (the real server's serializers, in its order).
BODY_MEDIA_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")


# ---------------------------------------------------------------------- semantics adapters
# The pure merge, apply and defaulting algorithms live in their own modules.


def _gvk(rt: ResourceType) -> tuple[str, str, str]:
    if rt.crd and isinstance(rt.schema, dict):
        # Custom resources merge and apply by their CRD schema (list types, map keys).
        from kdeploy.emulator.schema import ensure_crd_schema

        ensure_crd_schema(rt.group, rt.version, rt.kind, rt.schema)
    return (rt.group, rt.version, rt.kind)


def _apply_defaults(obj: Obj) -> Obj:
    from kdeploy.emulator.defaults import apply_defaults

    return apply_defaults(obj)


def _patch_error(exc: Exception) -> E.ApiError:
    return E.ApiError(422, "Invalid", str(exc) or type(exc).__name__)


def _merge_patch(target: Obj, patch: Any) -> Obj:
    from kdeploy.emulator.patch import PatchError, json_merge_patch

    try:
        return json_merge_patch(target, patch)
    except PatchError as e:
        raise _patch_error(e) from e


def _json_patch(target: Obj, ops: Any) -> Obj:
    from kdeploy.emulator.patch import PatchError, json_patch

    if not isinstance(ops, list):
        raise E.bad_request(
            "error decoding patch: json: cannot unmarshal object into Go value of type "
            "[]handlers.jsonPatchOp"
        )
    try:
        return json_patch(target, ops)
    except PatchError as e:
        if e.code == 413:
            raise E.ApiError(413, "RequestEntityTooLarge", e.message, {}) from e
        # The real server keeps the reason to itself (a generic 422, empty details).
        raise E.rejected() from e


def _strategic_patch(target: Obj, patch: Any, rt: ResourceType) -> Obj:
    from kdeploy.emulator.strategic import strategic_merge_patch

    if rt.crd:
        # Custom resources do not support strategic merge patch (real server: 415).
        raise E.unsupported_media_type(patch_media_types(rt))
    try:
        return strategic_merge_patch(target, patch, _gvk(rt))
    except Exception as e:
        raise _patch_error(e) from e


def _server_side_apply(
    live: Obj | None,
    applied: Obj,
    manager: str,
    force: bool,
    rt: ResourceType,
    now: str,
    subresource: str = "",
) -> Obj:
    from kdeploy.emulator.patch import PatchError
    from kdeploy.emulator.ssa import ApplyConflict, server_side_apply

    try:
        return server_side_apply(
            live,
            applied,
            manager=manager,
            force=force,
            gvk=_gvk(rt),
            now=now,
            subresource=subresource,
            reset_status=rt.has_status,
        )
    except ApplyConflict as e:
        raise E.ApiError(409, "Conflict", e.message, {"causes": list(e.causes)}) from e
    except PatchError as e:
        raise _patch_error(e) from e


def _track_update(
    old: Obj | None, new: Obj, manager: str, rt: ResourceType, now: str, subresource: str
) -> Obj:
    from kdeploy.emulator.ssa import track_update

    return track_update(
        old,
        new,
        manager=manager,
        operation="Update",
        gvk=_gvk(rt),
        now=now,
        subresource=subresource,
    )


# ---------------------------------------------------------------------- helpers


def manager_name(field_manager: str | None, user_agent: str) -> str:
    """The field manager of a non-apply write: the fieldManager parameter, else the User-Agent
    up to its first '/', as the real server derives it."""
    if field_manager:
        return field_manager
    name = user_agent.split("/", 1)[0]
    return "".join(ch for ch in name if ch.isprintable())[:128] or "unknown"


class FieldCheck:
    """How a write treats fields its kind's schema does not declare (the `fieldValidation`
    parameter: Strict refuses them, Warn, the default, and Ignore drop them; Warn also reports
    them in `warnings`, which the server sends as `Warning` headers)."""

    def __init__(self, mode: str | None = None) -> None:
        mode = mode or "Warn"
        if mode not in ("Strict", "Warn", "Ignore"):
            raise E.bad_request(
                f'Invalid value: "{mode}": fieldValidation must be one of "Ignore", "Warn", or '
                '"Strict"'
            )
        self.mode = mode
        self.warnings: list[str] = []

    def check(self, rt: ResourceType, obj: Obj, *, wrap: bool) -> None:
        """Refuse (Strict: 400) or drop the unknown fields of a decoded body, in place.
        `wrap` adds the `<Kind> in version ... cannot be handled` prefix of POST and PUT."""
        unknown = _unknown_fields(rt, obj)
        if not unknown:
            return
        if self.mode == "Strict":
            detail = ", ".join(f'unknown field "{f}"' for f in unknown)
            message = f"strict decoding error: {detail}"
            if wrap:
                message = (
                    f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                    f"{message}"
                )
            raise E.bad_request(message)
        if self.mode == "Warn":
            self.warnings.extend(f'unknown field "{f}"' for f in unknown)
        _prune_unknown(rt, obj)


def _unknown_fields(rt: ResourceType, obj: Obj) -> list[str]:
    if rt.crd:
        return []  # custom resources are pruned by their structural schema, not refused
    from kdeploy.emulator.schema import unknown_fields

    return unknown_fields(obj, _gvk(rt))


def _prune_unknown(rt: ResourceType, obj: Obj) -> None:
    from kdeploy.emulator.schema import type_for

    _prune(obj, type_for(_gvk(rt)))


def _prune(value: Any, node: Any) -> None:
    from kdeploy.emulator.schema import LIST, MAP, STRUCT

    if isinstance(value, dict):
        if node.kind == STRUCT:
            for key in list(value):
                if not node.has_field(key):
                    del value[key]
                else:
                    _prune(value[key], node.field(key))
        elif node.kind == MAP:
            for key, item in value.items():
                _prune(item, node.field(key))
    elif isinstance(value, list) and node.kind == LIST:
        for item in value:
            _prune(item, node.items)


def _typed_patch_error(rt: ResourceType, ns: str, name: str, applied: Obj) -> E.ApiError | None:
    """The error a server-side apply of undeclared fields, or of a field of the wrong JSON type,
    gets (always, whatever fieldValidation says): HTTP 500 without a reason, as the real server
    answers."""
    unknown = _unknown_fields(rt, applied)
    problem = f".{unknown[0]}: field not declared in schema" if unknown else None
    if problem is None and not rt.crd:
        from kdeploy.emulator.schema import type_for

        problem = type_mismatch(applied, type_for(_gvk(rt)))
    if problem is None:
        return None
    gv = rt.api_version if rt.group else f"/{rt.version}"
    return E.ApiError(
        500,
        "",
        f"failed to create typed patch object ({ns}/{name}; {gv}, Kind={rt.kind}): {problem}",
    )


def _strip_times(obj: Obj) -> Obj:
    """The object with managedFields timestamps removed, for no-op detection."""
    meta = obj.get("metadata") or {}
    fields = meta.get("managedFields")
    if not fields:
        return obj
    out = dict(obj)
    out["metadata"] = dict(meta)
    out["metadata"]["managedFields"] = [
        {k: v for k, v in f.items() if k != "time"} for f in fields if isinstance(f, dict)
    ]
    return out


def as_version(obj: Obj, rt: ResourceType) -> Obj:
    """The object labelled with the apiVersion of the endpoint that serves it."""
    if obj.get("apiVersion") == rt.api_version:
        return obj
    out = dict(obj)
    out["apiVersion"] = rt.api_version
    return out


def patch_media_types(rt: ResourceType) -> tuple[str, ...]:
    """The Content-Types a PATCH of this type accepts, in the real server's order (no strategic
    merge patch for custom resources; CBOR apply only behind a feature gate that is off)."""
    if rt.crd:
        return (JSON_PATCH, MERGE_PATCH, APPLY_PATCH)
    return (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH)


def check_body_media_type(content_type: str) -> None:
    """Refuse a POST/PUT/DELETE body whose Content-Type is not one the server decodes (415, as
    the real server's input negotiation does before reading the body). No Content-Type means
    JSON."""
    if not content_type.strip():
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in BODY_MEDIA_TYPES:
        raise E.unsupported_media_type(BODY_MEDIA_TYPES)


_OPTIONS_KIND = {
    "POST": "CreateOptions",
    "PUT": "UpdateOptions",
    "PATCH": "PatchOptions",
    "DELETE": "DeleteOptions",
}
FIELD_MANAGER_MAX = 128


def check_write_options(method: str, query: dict[str, str]) -> None:
    """The real server's Validate{Create,Update,Patch,Delete}Options on the query: `dryRun`
    only `All`, `fieldValidation` one of Ignore/Warn/Strict, `fieldManager` at most 128 bytes;
    else 422 Invalid naming the options kind (`CreateOptions.meta.k8s.io "" is invalid: ...`)."""
    kind = _OPTIONS_KIND.get(method)
    if kind is None:
        return
    causes: list[tuple[str, str, str]] = []
    manager = query.get("fieldManager")
    if kind != "DeleteOptions" and manager and len(manager.encode()) > FIELD_MANAGER_MAX:
        causes.append(
            (
                "FieldValueTooLong",
                "fieldManager",
                f"Too long: may not be more than {FIELD_MANAGER_MAX} bytes",
            )
        )
    if "dryRun" in query and query["dryRun"] != "All":
        shown = json.dumps([query["dryRun"]])
        causes.append(
            (
                "FieldValueNotSupported",
                "dryRun",
                f'Unsupported value: {shown}: supported values: "All"',
            )
        )
    mode = query.get("fieldValidation")
    if kind != "DeleteOptions" and mode not in (None, "", "Ignore", "Warn", "Strict"):
        causes.append(
            (
                "FieldValueNotSupported",
                "fieldValidation",
                f"Unsupported value: {json.dumps(mode)}: supported values: "
                '"", "Ignore", "Strict", "Warn"',
            )
        )
    if causes:
        raise E.options_invalid(kind, causes)


def _parse_body(body: bytes, content_type: str) -> Any:
    """Decode a request body: protobuf envelope, JSON, or YAML for apply patches."""
    from kdeploy.emulator.protobuf import ProtobufDecodeError, decode_request_body, is_protobuf

    if not body:
        return None
    if is_protobuf(content_type, body):
        try:
            return decode_request_body(body)
        except ProtobufDecodeError as e:
            raise E.bad_request(f"unable to decode protobuf body: {e}") from e
    media = content_type.split(";", 1)[0].strip().lower()
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        if media in (APPLY_PATCH, "application/yaml"):
            try:
                return yaml.safe_load(body)
            except yaml.YAMLError as ye:
                raise E.bad_request(f"error decoding YAML: {ye}") from ye
        raise E.bad_request(f"couldn't get version/kind; json parse error: {e}") from e


class Api:
    """Request semantics for every served resource type over one store."""

    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        # PEM published as kube-root-ca.crt in every namespace (the HTTPS CA when there is one).
        self.root_ca = _PLACEHOLDER_CA

    # ------------------------------------------------------------------ reads

    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        """One object (as stored; do not modify). Raises NotFound."""
        obj = self.store.get(rt.group, rt.kind, namespace if rt.namespaced else "", name)
        if obj is None:
            raise E.not_found(rt, name)
        return as_version(obj, rt)

    def select(
        self,
        rt: ResourceType,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Callable[[Obj], bool]:
        """A predicate for list/watch selection. Raises BadRequest for a malformed selector."""
        try:
            labels = parse_label_selector(label_selector)
            fields = parse_field_selector(field_selector, rt.kind)
        except SelectorError as e:
            raise E.bad_request(str(e)) from e
        ns = namespace if rt.namespaced else None

        def match(obj: Obj) -> bool:
            if ns is not None and obj["metadata"].get("namespace", "") != ns:
                return False
            return labels(obj) and fields(obj)

        return match

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 0,
        continue_token: str | None = None,
    ) -> tuple[list[Obj], str, str | None, int | None]:
        """Matching objects, the list resourceVersion, a continue token and the remaining count.
        Raises BadRequest for malformed selectors or continue tokens."""
        match = self.select(rt, namespace, label_selector, field_selector)
        ns = namespace if rt.namespaced else None
        with self.store.lock:
            rv = str(self.store.resource_version)
            only = field_selector_name(field_selector)
            if only is not None and ns is not None:
                one = self.store.get(rt.group, rt.kind, ns, only)
                candidates = [one] if one is not None else []
            else:
                candidates = self.store.objects(rt.group, rt.kind, ns)
        start: tuple[str, str] | None = None
        if continue_token:
            try:
                token = json.loads(base64.urlsafe_b64decode(continue_token.encode()))
                start = (str(token["start"][0]), str(token["start"][1]))
                rv = str(token["rv"])
            except (ValueError, KeyError, TypeError, IndexError) as e:
                raise E.bad_request(f"invalid continue token: {e}") from e
        items = []
        for obj in candidates:
            meta = obj["metadata"]
            if start is not None and (meta.get("namespace", ""), meta["name"]) <= start:
                continue
            if match(obj):
                items.append(obj)
        cont, remaining = None, None
        if limit and len(items) > limit:
            remaining = len(items) - limit
            items = items[:limit]
            last = items[-1]["metadata"]
            cont = base64.urlsafe_b64encode(
                json.dumps({"rv": rv, "start": [last.get("namespace", ""), last["name"]]}).encode()
            ).decode()
        return [as_version(o, rt) for o in items], rv, cont, remaining

    # ------------------------------------------------------------------ common checks

    def _check_namespace(self, rt: ResourceType, namespace: str, name: str, creating: bool) -> None:
        if not rt.namespaced:
            return
        ns = self.store.get("", "Namespace", "", namespace)
        if ns is None:
            raise E.namespace_not_found(namespace)
        if creating and ns["metadata"].get("deletionTimestamp"):
            raise E.forbidden(
                rt,
                name,
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
                [
                    {
                        "reason": "NamespaceTerminating",
                        "message": f"namespace {namespace} is being terminated",
                        "field": "metadata.namespace",
                    }
                ],
            )

    def _coerce(self, rt: ResourceType, body: Any, namespace: str, url_name: str | None) -> Obj:
        """Check the body's type and identity against the URL; returns a copy we own."""
        if not isinstance(body, dict):
            raise E.bad_request("the body of the request must be a JSON object")
        obj = clone(body)
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        if kind and kind != rt.kind:
            raise E.bad_request(
                f"the kind of the object ({kind}) does not match the expected kind ({rt.kind})"
            )
        if api_version and group_of(str(api_version)) != rt.group:
            raise E.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rt.api_version})"
            )
        storage = self.registry.by_kind(rt.group, rt.kind) or rt
        obj["apiVersion"] = storage.api_version
        obj["kind"] = rt.kind
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise E.bad_request("metadata must be an object")
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and body_ns != namespace:
                raise E.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if url_name is not None:
            body_name = meta.get("name")
            if body_name and body_name != url_name:
                raise E.bad_request(
                    f"the name of the object ({body_name}) does not match the name on the URL "
                    f"({url_name})"
                )
            meta["name"] = url_name
        return obj

    def _validate(self, rt: ResourceType, obj: Obj, old: Obj | None = None) -> None:
        decode_error = micro_time_error(obj) or bytes_field_error(obj)
        if decode_error:
            raise E.bad_request(decode_error)
        meta = obj["metadata"]
        name = str(meta.get("name") or "")
        causes = []
        if not name:
            causes.append(
                (
                    "FieldValueRequired",
                    "metadata.name",
                    "Required value: name or generateName is required",
                )
            )
        else:
            causes += validate_name(name, rt.name_rule)
        causes += validate_metadata(meta)
        causes += validate_data(obj)
        causes += validate_workload(obj)
        causes += validate_spec(obj)
        if rt.kind == "CustomResourceDefinition":
            causes += _validate_crd(obj)
        if old is not None:
            causes += validate_update(old, obj)
        if causes:
            raise E.invalid(rt, rt.kind, name, causes)
        size = len(json.dumps(obj, separators=(",", ":")))
        if size > MAX_OBJECT_BYTES:
            raise E.too_large(
                f"etcdserver: request is too large (object is {size} bytes, limit "
                f"{MAX_OBJECT_BYTES})"
            )

    def _finish(self, rt: ResourceType, obj: Obj, old: Obj | None) -> Obj:
        """What the real server does to a write before it records managedFields: Secret
        stringData folding and the defaults of the kind (those belong to the writer)."""
        if rt.kind == "Secret" and rt.group == "":
            fold_string_data(obj)
        obj = _apply_defaults(obj)
        if rt.crd and isinstance(rt.schema, dict):
            structural_defaults(obj, rt.schema)
        if rt.group == "apps" and rt.kind == "DaemonSet":
            _template_generation(obj, old)
        return obj

    def _admit(self, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        """What the real server does after it recorded managedFields (admission plugins, the
        registry strategy, allocations): owned by no field manager (admission.py)."""
        if rt.group != "":
            if rt.group == "batch" and rt.kind == "Job" and old is None:
                admission.select_job_pods(obj)
            return
        if rt.kind == "Namespace" and old is None:
            admission.prepare_namespace(obj)
        elif rt.kind == "Service":
            self._allocate_service(obj, old)
        elif rt.kind == "Pod" and old is None:
            sa = self.store.get(
                "",
                "ServiceAccount",
                obj["metadata"].get("namespace", ""),
                str((obj.get("spec") or {}).get("serviceAccountName") or "default"),
            )
            admission.admit_pod(obj, (sa or {}).get("automountServiceAccountToken") is not False)
            # The pod strategy's PrepareForCreate: whatever status was sent, a new pod is
            # Pending with its QoS class.
            from kdeploy.emulator.defaults import pod_qos_class

            obj["status"] = {"phase": "Pending", "qosClass": pod_qos_class(obj)}
        elif rt.kind == "PersistentVolumeClaim" and old is None:
            admission.admit_pvc(obj)

    def _allocate_service(self, obj: Obj, old: Obj | None) -> None:
        spec = obj.setdefault("spec", {})
        old_spec = (old or {}).get("spec") or {}
        stype = spec.get("type", "ClusterIP")
        if stype == "ExternalName":
            return
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if not spec.get(key) and old_spec.get(key):
                spec[key] = old_spec[key]
        if not spec.get("clusterIP"):
            spec["clusterIP"] = self._free_ip()
        if not spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"]]
        service_ip_families(spec)
        if stype in ("NodePort", "LoadBalancer"):
            old_ports = {
                (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                for p in old_spec.get("ports") or []
            }
            used = self._used_node_ports()
            for p in spec.get("ports") or []:
                if not p.get("nodePort"):
                    prev = old_ports.get((p.get("port"), p.get("protocol", "TCP")))
                    p["nodePort"] = prev or next(n for n in _NODE_PORTS if n not in used)
                    used.add(p["nodePort"])
        obj.setdefault("status", {}).setdefault("loadBalancer", {})

    def _free_ip(self) -> str:
        used = {(s.get("spec") or {}).get("clusterIP") for s in self.store.objects("", "Service")}
        for i, addr in enumerate(_SERVICE_CIDR.hosts()):
            if i >= 10 and str(addr) not in used:
                return str(addr)
        raise E.internal("the service cluster IP range is exhausted")

    def _used_node_ports(self) -> set[int]:
        return {
            int(p["nodePort"])
            for s in self.store.objects("", "Service")
            for p in (s.get("spec") or {}).get("ports") or []
            if p.get("nodePort")
        }

    # ------------------------------------------------------------------ create

    def create(
        self,
        rt: ResourceType,
        namespace: str,
        body: Any,
        *,
        manager: str,
        dry_run: bool = False,
        fields: FieldCheck | None = None,
    ) -> Obj:
        """POST: store a new object; returns it. Raises AlreadyExists, NotFound (namespace),
        Forbidden (terminating namespace), Invalid, BadRequest."""
        obj = self._coerce(rt, body, namespace, None)
        (fields or FieldCheck()).check(rt, obj, wrap=True)
        meta = obj["metadata"]
        if meta.get("resourceVersion"):
            raise E.invalid(
                rt,
                rt.kind,
                str(meta.get("name", "")),
                [
                    (
                        "FieldValueForbidden",
                        "metadata.resourceVersion",
                        "Forbidden: resourceVersion should not be set on objects to be created",
                    )
                ],
            )
        meta.pop("managedFields", None)
        if rt.has_status:
            obj.pop("status", None)
        return self._create(rt, obj, manager=manager, dry_run=dry_run, managed=None)

    def _create(
        self, rt: ResourceType, obj: Obj, *, manager: str, dry_run: bool, managed: bool | None
    ) -> Obj:
        """Create from a coerced object. `managed` True means managedFields are already set
        (server-side apply)."""
        meta = obj["metadata"]
        if not meta.get("name") and not meta.get("generateName"):
            self._validate(rt, obj)
        generated = not meta.get("name")
        with self.store.lock:
            self._check_namespace(rt, meta.get("namespace", ""), str(meta.get("name", "")), True)
            self.store.prepare_new(obj)
            obj = self._finish(rt, obj, None)
            name = obj["metadata"]["name"]
            if self.store.get(rt.group, rt.kind, obj["metadata"].get("namespace", ""), name):
                if generated:
                    raise E.ApiError(
                        409,
                        "AlreadyExists",
                        f'{rt.group_resource} "{name}" already exists, the server was not able '
                        "to generate a unique name for the object",
                        {
                            "name": name,
                            "kind": rt.plural,
                            **({"group": rt.group} if rt.group else {}),
                        },
                    )
                raise E.already_exists(rt, name)
            if not managed:
                obj = _track_update(None, obj, manager, rt, self.store.now(), "")
            self._admit(rt, obj, None)
            self._validate(rt, obj)
            if dry_run:
                obj["metadata"].pop("resourceVersion", None)
                return as_version(obj, rt)
            stored = self.store.insert(obj)
            if rt.group == "" and rt.kind == "Namespace":
                self._publish_namespace_defaults(stored["metadata"]["name"])
            if rt.group == "apiextensions.k8s.io" and rt.kind == "CustomResourceDefinition":
                return _not_yet_established(as_version(stored, rt))
            return as_version(stored, rt)

    def _publish_namespace_defaults(self, namespace: str) -> None:
        """What a real cluster's controllers put into every new namespace at once: the
        `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap."""
        defaults: list[tuple[str, Obj]] = [
            ("ServiceAccount", {"metadata": {"name": "default"}}),
            (
                "ConfigMap",
                {
                    "metadata": {
                        "name": "kube-root-ca.crt",
                        "annotations": {
                            "kubernetes.io/description": _ROOT_CA_DESCRIPTION,
                        },
                    },
                    "data": {"ca.crt": self.root_ca},
                },
            ),
        ]
        for kind, body in defaults:
            rt = self.registry.by_kind("", kind)
            assert rt is not None
            if self.store.get("", kind, namespace, body["metadata"]["name"]) is None:
                self.create(rt, namespace, body, manager="kube-controller-manager")

    # ------------------------------------------------------------------ update

    def update(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        *,
        manager: str,
        subresource: str = "",
        dry_run: bool = False,
        fields: FieldCheck | None = None,
    ) -> tuple[int, Obj]:
        """PUT (main resource or status subresource); returns (status code, new state): 201
        when a kind that allows it (Lease, Endpoints, RBAC objects, Events) was created.
        Raises NotFound, Conflict (stale resourceVersion), Invalid, BadRequest."""
        new = self._coerce(rt, body, namespace, name)
        (fields or FieldCheck()).check(rt, new, wrap=True)
        with self.store.lock:
            old = self.store.get(rt.group, rt.kind, namespace if rt.namespaced else "", name)
            if old is None:
                if subresource or (rt.group, rt.kind) not in _CREATE_ON_UPDATE:
                    raise E.not_found(rt, name)
                new["metadata"].pop("resourceVersion", None)
                new["metadata"].pop("managedFields", None)
                return 201, self._create(rt, new, manager=manager, dry_run=dry_run, managed=None)
            return 200, self._update(
                rt,
                old,
                new,
                manager=manager,
                subresource=subresource,
                dry_run=dry_run,
                managed=False,
            )

    def _update(
        self,
        rt: ResourceType,
        old: Obj,
        new: Obj,
        *,
        manager: str,
        subresource: str,
        dry_run: bool,
        managed: bool,
    ) -> Obj:
        """The update pipeline shared by PUT and PATCH. Caller holds the store lock."""
        meta, ometa = new["metadata"], old["metadata"]
        name = ometa["name"]
        rv = meta.get("resourceVersion")
        if rv and rv != ometa.get("resourceVersion"):
            raise E.conflict(rt, name)
        uid = meta.get("uid")
        if uid and uid != ometa.get("uid"):
            raise E.conflict(
                rt,
                name,
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                f"{ometa.get('uid')}",
            )
        for key in _SYSTEM_META:
            if key in ometa:
                meta[key] = ometa[key]
            else:
                meta.pop(key, None)
        if "managedFields" not in meta and ometa.get("managedFields"):
            meta["managedFields"] = clone(ometa["managedFields"])
        if subresource == "status":
            status = new.get("status")
            new = clone(old)
            if status is not None:
                new["status"] = status
            else:
                new.pop("status", None)
            new["metadata"]["managedFields"] = meta.get("managedFields")
            if new["metadata"]["managedFields"] is None:
                new["metadata"].pop("managedFields")
        elif rt.has_status:
            if "status" in old:
                new["status"] = clone(old["status"])
            else:
                new.pop("status", None)
        if ometa.get("deletionTimestamp"):
            added = set(new["metadata"].get("finalizers") or []) - set(
                ometa.get("finalizers") or []
            )
            if added:
                raise E.invalid(
                    rt,
                    rt.kind,
                    name,
                    [
                        (
                            "FieldValueForbidden",
                            "metadata.finalizers",
                            "Forbidden: no new finalizers can be added if the object is being deleted, "
                            f"found new finalizers {_go_strings(sorted(added))}",
                        )
                    ],
                )
        new = self._finish(rt, new, old)
        if not managed:
            new = _track_update(old, new, manager, rt, self.store.now(), subresource)
        self._admit(rt, new, old)
        self._validate(rt, new, old if subresource != "status" else None)
        new["metadata"]["resourceVersion"] = ometa.get("resourceVersion")
        if _strip_times(new) == _strip_times(old):
            return as_version(old, rt)
        if dry_run:
            if "generation" in ometa:
                from kdeploy.emulator.store import bumps_generation

                bump = 1 if bumps_generation(old, new) else 0
                new["metadata"]["generation"] = ometa["generation"] + bump
            return as_version(new, rt)
        result = self.store.replace(new)
        if result["metadata"].get("deletionTimestamp") and not result["metadata"].get("finalizers"):
            gc.collect(self.store, self.delete_object)
        return as_version(result, rt)

    # ------------------------------------------------------------------ patch

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: bytes,
        content_type: str,
        *,
        manager: str | None,
        user_agent: str,
        force: bool = False,
        subresource: str = "",
        dry_run: bool = False,
        fields: FieldCheck | None = None,
    ) -> tuple[int, Obj]:
        """PATCH of any type; returns (status code, object): 201 when an apply created it.
        Raises NotFound, Conflict (stale resourceVersion, apply conflicts), Invalid,
        BadRequest, UnsupportedMediaType."""
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in patch_media_types(rt):
            if rt.crd:
                raise E.unsupported_media_type(patch_media_types(rt))
            # Built-in PATCH routes are refused by go-restful's Consumes filter, in its words.
            raise E.ApiError(415, "UnsupportedMediaType", "415: Unsupported Media Type", {})
        ns = namespace if rt.namespaced else ""
        if media == APPLY_PATCH:
            if not manager:
                raise E.invalid(
                    None,
                    "PatchOptions.meta.k8s.io",
                    "",
                    [
                        (
                            "FieldValueRequired",
                            "fieldManager",
                            "Required value: is required for apply patch",
                        )
                    ],
                )
        elif force:
            raise E.invalid(
                None,
                "PatchOptions.meta.k8s.io",
                "",
                [
                    (
                        "FieldValueForbidden",
                        "force",
                        "Forbidden: may not be specified for non-apply patch",
                    )
                ],
            )
        patch = _parse_body(body, content_type)
        mgr = manager_name(manager, user_agent)
        with self.store.lock:
            old = self.store.get(rt.group, rt.kind, ns, name)
            if media == APPLY_PATCH:
                return self._apply(rt, ns, name, old, patch, mgr, force, subresource, dry_run)
            if old is None:
                raise E.not_found(rt, name)
            target = clone(as_version(old, rt))
            if subresource == "scale":
                return 200, self._patch_scale(rt, old, target, patch, media, mgr, dry_run)
            if media == MERGE_PATCH:
                patched = _merge_patch(target, patch)
            elif media == JSON_PATCH:
                patched = _json_patch(target, patch)
            else:
                patched = _strategic_patch(target, patch, rt)
            new = self._coerce(rt, patched, ns, name)
            new.setdefault("metadata", {})
            (fields or FieldCheck()).check(rt, new, wrap=False)
            return 200, self._update(
                rt, old, new, manager=mgr, subresource=subresource, dry_run=dry_run, managed=False
            )

    def _apply(
        self,
        rt: ResourceType,
        ns: str,
        name: str,
        old: Obj | None,
        applied: Any,
        manager: str,
        force: bool,
        subresource: str,
        dry_run: bool,
    ) -> tuple[int, Obj]:
        if not isinstance(applied, dict):
            raise E.bad_request("apply patch body must be an object")
        av = applied.get("apiVersion")
        if av != rt.api_version:
            raise E.bad_request(
                "Incorrect version specified in apply patch. Specified patch version: "
                f"{av}, expected: {rt.api_version}"
            )
        if applied.get("kind") != rt.kind:
            raise E.bad_request(
                f"the kind of the object ({applied.get('kind')}) does not match the expected "
                f"kind ({rt.kind})"
            )
        ameta = applied.get("metadata") or {}
        if ameta.get("managedFields") is not None:
            raise E.bad_request("metadata.managedFields must be nil")
        if ameta.get("name") not in (None, name):
            raise E.bad_request(
                f"the name of the object ({ameta.get('name')}) does not match the name on the "
                f"URL ({name})"
            )
        applied = clone(applied)
        applied.setdefault("metadata", {})["name"] = name
        if rt.namespaced:
            if ameta.get("namespace") not in (None, "", ns):
                raise E.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            applied["metadata"]["namespace"] = ns
        else:
            applied["metadata"].pop("namespace", None)
        if subresource != "status" and rt.has_status:
            applied.pop("status", None)
        # the message names the object as the apply body does (no namespace if it has none)
        typed_error = _typed_patch_error(rt, str(ameta.get("namespace") or ""), name, applied)
        if typed_error is not None:
            raise typed_error
        now = self.store.now()
        if old is None:
            if subresource:
                raise E.not_found(rt, name)
            if ameta.get("uid"):
                raise E.conflict(
                    rt,
                    name,
                    f"uid mismatch: the provided object specified uid {ameta['uid']}, and no "
                    "existing object was found",
                )
            merged = _server_side_apply(None, applied, manager, force, rt, now)
            obj = self._coerce(rt, merged, ns, name)
            for key in ("resourceVersion", "uid", "creationTimestamp"):
                obj["metadata"].pop(key, None)
            return 201, self._create(rt, obj, manager=manager, dry_run=dry_run, managed=True)
        live = clone(as_version(old, rt))
        merged = _server_side_apply(live, applied, manager, force, rt, now, subresource)
        new = self._coerce(rt, merged, ns, name)
        return 200, self._update(
            rt, old, new, manager=manager, subresource=subresource, dry_run=dry_run, managed=True
        )

    # ------------------------------------------------------------------ scale

    def get_scale(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        """The autoscaling/v1 Scale of a scalable object. Raises NotFound."""
        return _scale_of(self.get(rt, namespace, name))

    def update_scale(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        *,
        manager: str,
        dry_run: bool = False,
    ) -> Obj:
        """PUT …/scale: set spec.replicas; returns the new Scale. Raises NotFound, Conflict."""
        if not isinstance(body, dict):
            raise E.bad_request("the body of the request must be a JSON object")
        with self.store.lock:
            old = self.store.get(rt.group, rt.kind, namespace if rt.namespaced else "", name)
            if old is None:
                raise E.not_found(rt, name)
            return self._set_replicas(rt, old, body, manager, dry_run)

    def _patch_scale(
        self,
        rt: ResourceType,
        old: Obj,
        target: Obj,
        patch: Any,
        media: str,
        manager: str,
        dry_run: bool,
    ) -> Obj:
        scale = _scale_of(old)
        if media == MERGE_PATCH:
            patched = _merge_patch(scale, patch)
        elif media == JSON_PATCH:
            patched = _json_patch(scale, patch)
        else:
            patched = _merge_patch(scale, patch)
        return self._set_replicas(rt, old, patched, manager, dry_run)

    def _set_replicas(
        self, rt: ResourceType, old: Obj, scale: Obj, manager: str, dry_run: bool
    ) -> Obj:
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != old["metadata"].get("resourceVersion"):
            raise E.conflict(rt, old["metadata"]["name"])
        replicas = (scale.get("spec") or {}).get("replicas", 0)
        if not isinstance(replicas, int) or replicas < 0:
            raise E.invalid(
                None,
                "Scale",
                old["metadata"]["name"],
                [
                    (
                        "FieldValueInvalid",
                        "spec.replicas",
                        f"Invalid value: {replicas!r}: must be greater than or equal to 0",
                    )
                ],
            )
        new = clone(old)
        new.setdefault("spec", {})["replicas"] = replicas
        # Like the real server's scale handler: the scale write takes over the replicas field
        # from the managers that own it, and is recorded for no manager when nobody owned it.
        if _owns_replicas(old):
            new = _track_update(old, new, manager, rt, self.store.now(), "scale")
        if _strip_times(new) == _strip_times(old):
            return _scale_of(old)
        if dry_run:
            return _scale_of(new)
        return _scale_of(self.store.replace(new))

    # ------------------------------------------------------------------ delete

    def delete(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        options: Obj | None,
        *,
        dry_run: bool = False,
    ) -> Obj:
        """DELETE; returns the object (deletion pending on finalizers) or a Success Status.
        Raises NotFound, Conflict (failed precondition), Invalid (both orphan and foreground)."""
        options = options or {}
        ns = namespace if rt.namespaced else ""
        with self.store.lock:
            old = self.store.get(rt.group, rt.kind, ns, name)
            if old is None:
                raise E.not_found(rt, name)
            if rt.group == "" and rt.kind == "Namespace" and name in _UNDELETABLE_NAMESPACES:
                raise E.forbidden(rt, name, "this namespace may not be deleted")
            pre = options.get("preconditions") or {}
            for what, key in (("UID", "uid"), ("ResourceVersion", "resourceVersion")):
                found = str(old["metadata"].get(key) or "")
                if pre.get(key) and pre[key] != found:
                    raise E.precondition_failed(rt, name, what, str(pre[key]), found)
            policy = options.get("propagationPolicy")
            if policy is None and options.get("orphanDependents") is True:
                policy = "Orphan"
            if policy is None and (rt.group, rt.kind) in _ORPHAN_BY_DEFAULT:
                # core/v1 ReplicationControllers and batch/v1 Jobs orphan their pods unless
                # told otherwise (the registries' DefaultGarbageCollectionPolicy), so the answer
                # is the object held by the `orphan` finalizer.
                policy = "Orphan"
            if policy not in (None, "Orphan", "Foreground", "Background"):
                raise E.invalid(
                    None,
                    "DeleteOptions",
                    "",
                    [
                        (
                            "FieldValueNotSupported",
                            "propagationPolicy",
                            f'Unsupported value: "{policy}": supported values: "Foreground", '
                            '"Background", "Orphan", "nil"',
                        )
                    ],
                )
            result = self.delete_object(old, policy or "Background", dry_run=dry_run)
            if result is not None:
                return as_version(result, rt)
            if not dry_run:
                gc.collect(self.store, self.delete_object)
            if rt.returns_deleted:
                # The registry stores of pods, services, service accounts, namespaces, PVCs and
                # resource quotas answer with the deleted object (ReturnDeletedObject).
                if rt.group == "" and rt.kind == "Pod":
                    old = _marked_pod(old, options, self.store.now())
                return as_version(old, rt)
            details: Obj = {"name": name}
            if rt.group:
                details["group"] = rt.group
            details["kind"] = rt.plural
            details["uid"] = old["metadata"].get("uid")
            return {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": details,
            }

    def delete_object(self, old: Obj, policy: str, *, dry_run: bool = False) -> Obj | None:
        """Delete a stored object under the store lock: mark it deleting if finalizers hold it
        (returns the marked object) or remove it (returns None; also for a dry run that would
        remove it)."""
        meta = old["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        for f, p in (("orphan", "Orphan"), ("foregroundDeletion", "Foreground")):
            if policy == p and f not in finalizers and not meta.get("deletionTimestamp"):
                finalizers.append(f)
        is_ns = old["kind"] == "Namespace" and old["apiVersion"] == "v1"
        if is_ns and "kubernetes" not in ((old.get("spec") or {}).get("finalizers") or []):
            is_ns = False
        if not finalizers and not is_ns:
            if dry_run:
                return None
            self.store.remove(
                group_of(old["apiVersion"]), old["kind"], meta.get("namespace", ""), meta["name"]
            )
            return None
        if meta.get("deletionTimestamp"):
            return old
        new = clone(old)
        new["metadata"]["deletionTimestamp"] = self.store.now()
        if not is_ns:
            # The namespace registry marks a namespace without a grace period.
            new["metadata"]["deletionGracePeriodSeconds"] = 0
        if finalizers:
            new["metadata"]["finalizers"] = finalizers
        if dry_run and "generation" in new["metadata"]:
            new["metadata"]["generation"] += 1
        if is_ns:
            new.setdefault("status", {})["phase"] = "Terminating"
        if dry_run:
            return new
        stored = self.store.replace(new)
        answer = clone(stored)
        gc.collect(self.store, self.delete_object)
        # The answer is the object as marked: the garbage collector and the controllers that
        # release their finalizers act after it on a real cluster.
        return answer

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        options: Obj | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        """DELETE on a collection: deletes every matching object; returns the list of them."""
        items, _, _, _ = self.list(
            rt, namespace, label_selector=label_selector, field_selector=field_selector
        )
        policy = (options or {}).get("propagationPolicy") or "Background"
        out = []
        with self.store.lock:
            for obj in items:
                stored = self.store.get(
                    rt.group, rt.kind, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
                )
                if stored is not None:
                    self.delete_object(stored, policy, dry_run=dry_run)
                    # like a list: built-in items without apiVersion and kind
                    out.append(obj if rt.crd else _without_type_meta(obj))
            gc.collect(self.store, self.delete_object)
        return {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(self.store.resource_version)},
            "items": out,
        }


def _without_type_meta(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}


def _go_strings(values: list[str]) -> str:
    """A string slice as Go's %#v prints it: `[]string{"a", "b"}`."""
    return "[]string{" + ", ".join(json.dumps(v) for v in values) + "}"


def _marked_pod(pod: Obj, options: Obj, now: str) -> Obj:
    """A deleted pod as its DELETE answers it: deletion is graceful (the registry's BeforeDelete).
    A pod that may be running gets its grace period (the request's, else the pod's
    terminationGracePeriodSeconds) and one more generation while its kubelet stops it; one
    that has finished gets 0. The emulator's scheduler binds every pod at once (whether its
    binding has landed yet does not decide the answer) and its kubelet stops pods at once, so
    the pod is already gone."""
    out = clone(pod)
    meta = out["metadata"]
    if meta.get("deletionTimestamp"):
        return out
    spec = out.get("spec") or {}
    phase = (out.get("status") or {}).get("phase")
    grace = 0
    if phase not in ("Succeeded", "Failed"):
        requested = options.get("gracePeriodSeconds")
        grace = int(
            requested if requested is not None else spec.get("terminationGracePeriodSeconds", 30)
        )
    if grace and "generation" in meta:
        meta["generation"] += 1
    meta["deletionTimestamp"] = now
    meta["deletionGracePeriodSeconds"] = grace
    return out


def _not_yet_established(crd: Obj) -> Obj:
    """A new CRD as its create answers it: the names controller accepts its names and marks it
    Established in a later write (the emulator stores both at once, so a client that reads it
    again sees it established)."""
    out = clone(crd)
    status = out.get("status") or {}
    out["status"] = {
        "acceptedNames": {"kind": "", "plural": ""},
        "storedVersions": list(status.get("storedVersions") or []),
    }
    return out


_TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


def _template_generation(ds: Obj, old: Obj | None) -> None:
    """A DaemonSet's template generation, which apps/v1 carries in an annotation: 1 on create,
    one more whenever the pod template changes (the DaemonSet strategy)."""
    annotations = ds["metadata"].setdefault("annotations", {})
    old_value = ((old or {}).get("metadata") or {}).get("annotations", {}).get(_TEMPLATE_GENERATION)
    value = annotations.get(_TEMPLATE_GENERATION) or old_value or "1"
    if old is not None and (old.get("spec") or {}).get("template") != (ds.get("spec") or {}).get(
        "template"
    ):
        try:
            value = str(int(old_value or "0") + 1)
        except ValueError:
            value = "1"
    annotations[_TEMPLATE_GENERATION] = str(value)


def _owns_replicas(obj: Obj) -> bool:
    """Whether a managedFields entry of `obj` owns spec.replicas."""
    entries = (obj.get("metadata") or {}).get("managedFields") or []
    return any("f:replicas" in ((e.get("fieldsV1") or {}).get("f:spec") or {}) for e in entries)


def _scale_of(obj: Obj) -> Obj:
    meta = obj["metadata"]
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    out: Obj = {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {"replicas": status.get("replicas", 0)},
    }
    if selector:
        out["status"]["selector"] = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    return out


def _validate_crd(crd: Obj) -> list[tuple[str, str, str]]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    out = []
    for field in ("group",):
        if not spec.get(field):
            out.append(("FieldValueRequired", f"spec.{field}", "Required value"))
    for field in ("plural", "kind"):
        if not names.get(field):
            out.append(("FieldValueRequired", f"spec.names.{field}", "Required value"))
    versions = spec.get("versions") or []
    if not versions:
        out.append(("FieldValueRequired", "spec.versions", "Required value"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        out.append(
            (
                "FieldValueInvalid",
                "spec.versions",
                "Invalid value: []apiextensions.CustomResourceDefinitionVersion{...}: must have "
                "exactly one version marked as storage version",
            )
        )
    expected = f"{names.get('plural')}.{spec.get('group')}"
    name = (crd.get("metadata") or {}).get("name")
    if not out and name != expected:
        out.append(
            (
                "FieldValueInvalid",
                "metadata.name",
                f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
            )
        )
    return out
