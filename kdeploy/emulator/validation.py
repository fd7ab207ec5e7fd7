"""Validation the API server applies to every object: names, labels, annotations and size limits.

Pure functions returning causes as (reason, field, message) triples; the caller turns them into a
422 Invalid Status.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

Obj = dict[str, Any]
Cause = tuple[str, str, str]

MAX_DATA_BYTES = 1024 * 1024
MAX_ANNOTATIONS_BYTES = 256 * 1024

_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_QNAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_CONFIG_KEY = r"[-._a-zA-Z0-9]+"

_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    f"for validation is '{_SUBDOMAIN}')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
    f"for validation is '{_LABEL}')"
)
_DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    f"'abc-123', regex used for validation is '{_DNS1035}')"
)
_QNAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    f"validation is '{_QNAME}')"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    f"'my_value',  or '12345', regex used for validation is '{_LABEL_VALUE}')"
)


def _invalid(field: str, value: Any, detail: str) -> Cause:
    shown = f'"{value}"' if isinstance(value, str) else repr(value)
    return ("FieldValueInvalid", field, f"Invalid value: {shown}: {detail}")


def validate_name(name: str, rule: str, field: str = "metadata.name") -> list[Cause]:
    """Causes for a name that breaks `rule` ('subdomain', 'label', 'dns1035' or 'path')."""
    if rule == "path":
        for bad in ("/", "%"):
            if bad in name:
                return [_invalid(field, name, f"may not contain '{bad}'")]
        if name in (".", ".."):
            return [_invalid(field, name, f"may not be '{name}'")]
        return []
    if rule == "label":
        limit, pattern, msg = 63, _LABEL, _LABEL_MSG
    elif rule == "dns1035":
        limit, pattern, msg = 63, _DNS1035, _DNS1035_MSG
    else:
        limit, pattern, msg = 253, _SUBDOMAIN, _SUBDOMAIN_MSG
    out = []
    if len(name) > limit:
        out.append(_invalid(field, name, f"must be no more than {limit} characters"))
    if not re.fullmatch(pattern, name):
        out.append(_invalid(field, name, msg))
    return out


def _qualified_name(key: str, field: str) -> list[Cause]:
    prefix, _, name = key.rpartition("/")
    out = []
    if prefix:
        out += [
            _invalid(field, key, c[2].split(": ", 2)[-1])
            for c in validate_name(prefix, "subdomain")
        ]
    if not name:
        out.append(_invalid(field, key, "name part must be non-empty"))
    elif len(name) > 63:
        out.append(_invalid(field, key, "name part must be no more than 63 characters"))
    elif not re.fullmatch(_QNAME, name):
        out.append(_invalid(field, key, _QNAME_MSG))
    return out


def validate_metadata(meta: Obj) -> list[Cause]:
    """Causes for bad label keys/values and annotation keys or an annotation total over 256 KiB."""
    out: list[Cause] = []
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        return [_invalid("metadata.labels", labels, "must be a map of strings")]
    for k, v in labels.items():
        out += _qualified_name(str(k), "metadata.labels")
        if not isinstance(v, str):
            out.append(_invalid("metadata.labels", v, "must be a string"))
            continue
        if len(v) > 63:
            out.append(_invalid("metadata.labels", v, "must be no more than 63 characters"))
        if not re.fullmatch(_LABEL_VALUE, v):
            out.append(_invalid("metadata.labels", v, _LABEL_VALUE_MSG))
    annotations = meta.get("annotations") or {}
    if not isinstance(annotations, dict):
        return [*out, _invalid("metadata.annotations", annotations, "must be a map of strings")]
    total = 0
    for k, v in annotations.items():
        out += _qualified_name(str(k).lower(), "metadata.annotations")
        total += len(str(k)) + len(str(v) if v is not None else "")
    if total > MAX_ANNOTATIONS_BYTES:
        out.append(
            (
                "FieldValueTooLong",
                "metadata.annotations",
                f"Too long: may not be more than {MAX_ANNOTATIONS_BYTES} bytes",
            )
        )
    return out


def _decoded_len(value: Any) -> int:
    try:
        return len(base64.b64decode(str(value), validate=True))
    except (binascii.Error, ValueError):
        return len(str(value))


def validate_data(obj: Obj) -> list[Cause]:
    """Causes for ConfigMap/Secret data: bad keys, invalid base64, total over 1 MiB."""
    kind = obj.get("kind")
    out: list[Cause] = []
    if kind == "ConfigMap":
        data = obj.get("data") or {}
        binary = obj.get("binaryData") or {}
        for k in [*data, *binary]:
            if not re.fullmatch(_CONFIG_KEY, str(k)):
                out.append(
                    _invalid(
                        f"data[{k}]" if k in data else f"binaryData[{k}]",
                        k,
                        "a valid config key must consist of alphanumeric characters, '-', '_' "
                        "or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used "
                        f"for validation is '{_CONFIG_KEY}')",
                    )
                )
        size = sum(len(str(v)) for v in data.values()) + sum(
            _decoded_len(v) for v in binary.values()
        )
        if size > MAX_DATA_BYTES:
            out.append(
                (
                    "FieldValueTooLong",
                    "[]",
                    f"Too long: may not be more than {MAX_DATA_BYTES} bytes",
                )
            )
    elif kind == "Secret":
        data = obj.get("data") or {}
        size = 0
        for k, v in data.items():
            if not re.fullmatch(_CONFIG_KEY, str(k)):
                out.append(
                    _invalid(
                        f"data[{k}]",
                        k,
                        "a valid config key must consist of "
                        "alphanumeric characters, '-', '_' or '.'",
                    )
                )
            # Invalid base64 never gets here: it is a decode error (bytes_field_error).
            size += _decoded_len(v or "")
        if size > MAX_DATA_BYTES:
            out.append(
                (
                    "FieldValueTooLong",
                    "data",
                    f"Too long: may not be more than {MAX_DATA_BYTES} bytes",
                )
            )
    return out


def fold_string_data(obj: Obj) -> None:
    """Move a Secret's `stringData` into base64 `data` (stringData wins), as the server does."""
    string_data = obj.pop("stringData", None)
    if not string_data:
        return
    data = dict(obj.get("data") or {})
    for k, v in string_data.items():
        data[k] = base64.b64encode(str(v).encode()).decode()
    obj["data"] = data


_MICRO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$")
_MICRO_LAYOUT = "2006-01-02T15:04:05.000000Z07:00"


_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
# The []byte fields of the kinds the emulator serves, by kind: each is a map of base64 strings.
_BYTES_MAPS = {"ConfigMap": "binaryData", "Secret": "data"}


def base64_error_offset(text: str) -> int | None:
    """Where Go's `base64.StdEncoding.Decode` (what the API server's JSON decoder runs on a
    `[]byte` field) stops with `illegal base64 data at input byte N`, or None if `text` decodes.
    Newlines are skipped, padding is required, nothing may follow it."""
    src = text.encode("utf-8", "surrogatepass")
    si, n = 0, len(src)
    while True:
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return None
                return si - j
            c = src[si]
            si += 1
            if c in _B64_ALPHABET:
                j += 1
                continue
            if c in (0x0A, 0x0D):
                continue
            if c != 0x3D or j < 2:  # not '=', or padding too early
                return si - 1
            if j == 2:  # "==" expected; the first one is consumed
                while si < n and src[si] in (0x0A, 0x0D):
                    si += 1
                if si == n:
                    return n
                if src[si] != 0x3D:
                    return si - 1
                si += 1
            while si < n and src[si] in (0x0A, 0x0D):
                si += 1
            return si if si < n else None


def bytes_field_error(obj: Obj) -> str | None:
    """The decode error the real server gives (400) for a ConfigMap `binaryData` or Secret `data`
    value that is not valid base64, else None."""
    kind = str(obj.get("kind") or "")
    field = _BYTES_MAPS.get(kind)
    if field is None or obj.get("apiVersion") != "v1":
        return None
    values = obj.get(field)
    if not isinstance(values, dict):
        return None
    for value in values.values():
        if not isinstance(value, str):
            continue
        offset = base64_error_offset(value)
        if offset is not None:
            return (
                f'{kind} in version "v1" cannot be handled as a {kind}: illegal base64 data at '
                f"input byte {offset}"
            )
    return None


def micro_time_error(obj: Obj) -> str | None:
    """The decode error the real server gives for a Lease whose acquireTime/renewTime is not
    RFC3339 with exactly six fractional digits (metav1.MicroTime), else None."""
    if obj.get("kind") != "Lease":
        return None
    spec = obj.get("spec") or {}
    for field in ("acquireTime", "renewTime"):
        value = spec.get(field)
        if value is not None and not (isinstance(value, str) and _MICRO_TIME.match(value)):
            return (
                f'Lease in version "v1" cannot be handled as a Lease: parsing time "{value}" as '
                f'"{_MICRO_LAYOUT}": cannot parse "{value}" as "{_MICRO_LAYOUT}"'
            )
    return None


_STS_MUTABLE = {
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
    "revisionHistoryLimit",
}


def _immutable(field: str, value: Any) -> Cause:
    shown = json.dumps(value, separators=(",", ":"))
    return ("FieldValueInvalid", field, f"Invalid value: {shown}: field is immutable")


def validate_update(old: Obj, new: Obj) -> list[Cause]:
    """Causes for changing fields the real server keeps immutable after creation: workload
    selectors, Job templates, StatefulSet spec beyond its mutable fields, Service clusterIP,
    PVC spec beyond resources, and the data of ConfigMaps/Secrets marked `immutable`."""
    kind, group = new.get("kind"), str(new.get("apiVersion", "")).rpartition("/")[0]
    ospec, nspec = old.get("spec") or {}, new.get("spec") or {}
    out: list[Cause] = []
    workloads = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job")
    selector_changed = "selector" in ospec and nspec.get("selector") != ospec.get("selector")
    if group in ("apps", "batch") and kind in workloads and selector_changed:
        out.append(_immutable("spec.selector", nspec.get("selector")))
    if group == "batch" and kind == "Job" and nspec.get("template") != ospec.get("template"):
        out.append(_immutable("spec.template", nspec.get("template")))
    if group == "apps" and kind == "StatefulSet":
        changed = {
            k
            for k in set(ospec) | set(nspec)
            if k not in _STS_MUTABLE and k != "selector" and ospec.get(k) != nspec.get(k)
        }
        if changed:
            out.append(
                (
                    "FieldValueForbidden",
                    "spec",
                    "Forbidden: updates to statefulset spec for fields other than 'replicas', "
                    "'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' "
                    "and 'minReadySeconds' are forbidden",
                )
            )
    if group == "" and kind == "Service":
        before, after = ospec.get("clusterIP"), nspec.get("clusterIP")
        if before and after and before != after and ospec.get("type") != "ExternalName":
            out.append(_immutable("spec.clusterIP", after))
    if group == "" and kind == "PersistentVolumeClaim":
        strip = ("resources", "volumeAttributesClassName")
        if {k: v for k, v in ospec.items() if k not in strip} != {
            k: v for k, v in nspec.items() if k not in strip
        }:
            out.append(
                (
                    "FieldValueForbidden",
                    "spec",
                    "Forbidden: spec is immutable after creation except resources.requests and "
                    "volumeAttributesClassName for bound claims",
                )
            )
    if group == "" and kind in ("ConfigMap", "Secret") and old.get("immutable"):
        if not new.get("immutable"):
            out.append(
                (
                    "FieldValueForbidden",
                    "immutable",
                    "Forbidden: field is immutable when `immutable` is set",
                )
            )
        for field in ("data", "binaryData"):
            if (old.get(field) or {}) != (new.get(field) or {}):
                out.append(
                    (
                        "FieldValueForbidden",
                        field,
                        "Forbidden: field is immutable when `immutable` is set",
                    )
                )
    return out


def validate_workload(obj: Obj) -> list[Cause]:
    """Causes for an apps/v1 workload whose selector is missing, empty, or does not select its
    own pod template's labels (the mistake the real server rejects on create and update)."""
    from kdeploy.emulator.selectors import label_selector_from_dict

    if not str(obj.get("apiVersion", "")).startswith("apps/") or obj.get("kind") not in (
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
    ):
        return []
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    if not selector:
        return [("FieldValueRequired", "spec.selector", "Required value")]
    if not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return [
            _invalid_raw(
                "spec.selector", json.dumps(selector), "empty selector is invalid for deployment"
            )
        ]
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not label_selector_from_dict(selector)({"metadata": {"labels": labels}}):
        return [
            _invalid_raw(
                "spec.template.metadata.labels",
                json.dumps(labels, separators=(",", ":")),
                "`selector` does not match template `labels`",
            )
        ]
    return []


def _invalid_raw(field: str, shown: str, detail: str) -> Cause:
    return ("FieldValueInvalid", field, f"Invalid value: {shown}: {detail}")


def _pod_spec_path(obj: Obj) -> tuple[str, Obj] | None:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return "spec", spec
    if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
        return "spec.template.spec", (spec.get("template") or {}).get("spec") or {}
    if kind == "CronJob":
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
        return "spec.jobTemplate.spec.template.spec", (job.get("template") or {}).get("spec") or {}
    return None


def validate_spec(obj: Obj) -> list[Cause]:
    """Causes for the required fields the real server checks most often: containers (present,
    named as DNS labels, unique, with an image), non-negative replicas, Service ports."""
    out: list[Cause] = []
    spec = obj.get("spec") or {}
    replicas = spec.get("replicas")
    if (
        obj.get("kind") in ("Deployment", "ReplicaSet", "StatefulSet")
        and isinstance(replicas, int)
        and replicas < 0
    ):
        out.append(_invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
    found = _pod_spec_path(obj)
    if found is not None:
        path, pod = found
        containers = pod.get("containers")
        if not containers:
            out.append(("FieldValueRequired", f"{path}.containers", "Required value"))
        seen: set[str] = set()
        for group in ("initContainers", "containers"):
            for i, c in enumerate(pod.get(group) or []):
                where = f"{path}.{group}[{i}]"
                name = c.get("name") if isinstance(c, dict) else None
                if not name:
                    out.append(("FieldValueRequired", f"{where}.name", "Required value"))
                else:
                    out += validate_name(str(name), "label", f"{where}.name")
                    if name in seen:
                        out.append(
                            ("FieldValueDuplicate", f"{where}.name", f'Duplicate value: "{name}"')
                        )
                    seen.add(str(name))
                if isinstance(c, dict) and not c.get("image"):
                    out.append(("FieldValueRequired", f"{where}.image", "Required value"))
    if obj.get("kind") == "Service" and str(obj.get("apiVersion")) == "v1":
        stype = spec.get("type", "ClusterIP")
        if stype != "ExternalName" and spec.get("clusterIP") != "None" and not spec.get("ports"):
            out.append(("FieldValueRequired", "spec.ports", "Required value"))
        for i, p in enumerate(spec.get("ports") or []):
            port = p.get("port") if isinstance(p, dict) else None
            if not isinstance(port, int) or not 1 <= port <= 65535:
                out.append(
                    _invalid(
                        f"spec.ports[{i}].port", port, "must be between 1 and 65535, inclusive"
                    )
                )
    return out


def type_mismatch(value: Any, node: Any, path: str = "") -> str | None:
    """The first field of `value` whose JSON type its schema `node` (kdeploy.emulator.schema
    TypeNode) does not allow, as the real server's server-side apply words it when it refuses
    the patch (`.spec.replicas: expected numeric (int or float), got string`); None when every
    field fits. Null fits everything; untyped positions and int-or-string accept any scalar."""
    from kdeploy.emulator.schema import LIST, MAP, SCALAR, STRUCT
    from kdeploy.emulator.ssa import _item_element, render_path

    if value is None:
        return None
    kind = node.kind
    if kind in (STRUCT, MAP):
        if not isinstance(value, dict):
            return f"{path}: expected map, got {_json_type(value)}"
        for key, child in value.items():
            found = type_mismatch(child, node.field(str(key)), f"{path}.{key}")
            if found:
                return found
    elif kind == LIST:
        if not isinstance(value, list):
            return f"{path}: expected list, got {_json_type(value)}"
        for i, item in enumerate(value):
            where = path + render_path((_item_element(node, item, i),))
            found = type_mismatch(item, node.items, where)
            if found:
                return found
    elif kind == SCALAR and node.scalar:
        got = _json_type(value)
        if got != node.scalar:
            expected = "numeric (int or float)" if node.scalar == "numeric" else node.scalar
            return f"{path}: expected {expected}, got {got}"
    return None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "numeric"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "map"
