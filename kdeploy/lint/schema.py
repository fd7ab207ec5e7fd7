"""Rule manifest-schema: manifests against the Kubernetes OpenAPI schemas of a target version,
offline, and custom resources against the CRDs of the same render.

The schemas are the strict ones bundled with `kubernetes-validate` (unknown fields are errors, as
with `kubectl apply --validate=strict`). Validators are built once per kind and reused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdeploy.errors import KdeployError
from kdeploy.lint.findings import Finding, Rule, object_label
from kdeploy.lint.workloads import finding
from kdeploy.model import RenderedObject
from kdeploy.validate import format_path, value_path

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError as SchemaError
    from jsonschema.protocols import Validator

MANIFEST_SCHEMA = Rule(
    "manifest-schema",
    "error",
    "manifests match the Kubernetes API schema of the target version (custom resources: their CRD)",
)
RULES = (MANIFEST_SCHEMA,)

_DEFS_URI = "https://kubernetes.io/api/_definitions.json"
_VERSION_DIR = re.compile(r"^v(\d+)\.(\d+)\.0-local-strict$")
_MAX_ERRORS_PER_OBJECT = 20


def schema_root() -> Path:
    """Return the directory of the JSON schemas bundled with kubernetes-validate."""
    # find_spec locates the package without importing it (its import costs ~75 ms).
    from importlib.util import find_spec

    spec = find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise KdeployError(
            "the kubernetes-validate package (Kubernetes API schemas) is not installed",
            hint="reinstall kdeploy with its dependencies: pip install kdeploy",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


def supported_versions(root: Path | None = None) -> list[str]:
    """Return the Kubernetes versions with bundled strict schemas, oldest first ("1.25", ...)."""
    base = root or schema_root()
    found = []
    for entry in base.iterdir() if base.is_dir() else ():
        match = _VERSION_DIR.match(entry.name)
        if match:
            found.append((int(match[1]), int(match[2])))
    return [f"{major}.{minor}" for major, minor in sorted(found)]


def resolve_version(requested: str | None, root: Path | None = None) -> str:
    """Return the "X.Y" version to validate against: `requested` ("1.30", "v1.30.2") or, when
    None, the newest bundled one.

    Raises KdeployError when the version is malformed or has no bundled schemas.
    """
    versions = supported_versions(root)
    if not versions:
        raise KdeployError(
            f"no Kubernetes schemas found under {root or schema_root()}",
            hint="reinstall kdeploy's dependencies (the kubernetes-validate package)",
        )
    if requested is None:
        return versions[-1]
    match = re.match(r"^v?(\d+)\.(\d+)(?:\.\d+)?$", requested.strip())
    wanted = f"{int(match[1])}.{int(match[2])}" if match else None
    if wanted not in versions:
        raise KdeployError(
            f'--kube-version "{requested}" is not supported: no bundled schemas for it',
            hint=f"use one of {', '.join(versions)} (X.Y)",
        )
    return wanted


@dataclass
class SchemaCatalog:
    """The schemas of one Kubernetes version plus the CRDs of one render, with a validator
    cache. Build one per lint run; it is not shared between runs."""

    version: str
    root: Path = field(default_factory=schema_root)
    _defs: dict[str, Any] | None = None
    _gvk: dict[tuple[str, str, str], str] | None = None
    _validators: dict[tuple[str, str, str], Validator] = field(default_factory=dict)
    _crds: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    _crd_kinds: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    _bad_crds: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def add_crds(self, objects: Sequence[RenderedObject]) -> None:
        """Register the openAPIV3Schema of every CustomResourceDefinition among `objects`."""
        for obj in objects:
            m = obj.manifest
            if m.get("kind") != "CustomResourceDefinition":
                continue
            spec = m.get("spec") or {}
            group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
            if not isinstance(group, str) or not isinstance(kind, str):
                continue
            for version in spec.get("versions") or []:
                if not isinstance(version, dict) or not isinstance(version.get("name"), str):
                    continue
                self._crd_kinds.setdefault((group, kind), []).append(version["name"])
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                self._crds[group, version["name"], kind] = (
                    schema if isinstance(schema, dict) else {}
                )

    def check(self, obj: RenderedObject) -> Iterator[Finding]:
        """Yield the schema findings of one object (an info finding when it cannot be checked)."""
        api_version = str(obj.manifest.get("apiVersion", ""))
        kind = str(obj.manifest.get("kind", ""))
        group, _, version = api_version.rpartition("/")
        gvk = (group, version, kind)
        validator = self._validator(gvk)
        if gvk in self._bad_crds:
            yield finding(
                MANIFEST_SCHEMA,
                obj,
                f"cannot validate {api_version} {kind}: the openAPIV3Schema of its "
                f"CustomResourceDefinition is not a valid schema ({self._bad_crds[gvk]})",
            )
            return
        if validator is None:
            yield from self._unknown_kind(obj, gvk)
            return
        errors = sorted(validator.iter_errors(obj.manifest), key=error_order)
        for error in errors[:_MAX_ERRORS_PER_OBJECT]:
            for path, message in describe_error(error):
                yield finding(
                    MANIFEST_SCHEMA,
                    obj,
                    f"{path or '(root)'}: {message} ({api_version} {kind}, {self._against(gvk)})",
                    path,
                )
        if len(errors) > _MAX_ERRORS_PER_OBJECT:
            yield finding(
                MANIFEST_SCHEMA,
                obj,
                f"{len(errors) - _MAX_ERRORS_PER_OBJECT} more schema errors not shown",
            )

    def _against(self, gvk: tuple[str, str, str]) -> str:
        if gvk in self._crds:
            return "schema of its CustomResourceDefinition"
        return f"Kubernetes {self.version}"

    def _unknown_kind(self, obj: RenderedObject, gvk: tuple[str, str, str]) -> Iterator[Finding]:
        group, version, kind = gvk
        api_version = f"{group}/{version}" if group else version
        index = self._index()
        if group in {g for g, _, _ in index}:
            served = sorted(
                f"{g}/{v}" if g else v for g, v, k in index if k == kind and g == group
            ) or sorted(f"{g}/{v}" if g else v for g, v, k in index if k == kind)
            hint = f"; use apiVersion {' or '.join(served)}" if served else ""
            yield finding(
                MANIFEST_SCHEMA,
                obj,
                f"{api_version} {kind} is not served by Kubernetes {self.version}{hint}",
                "apiVersion",
            )
            return
        crd_versions = self._crd_kinds.get((group, kind))
        if crd_versions:
            yield finding(
                MANIFEST_SCHEMA,
                obj,
                f"{api_version} {kind}: version {version} is not defined by its "
                f"CustomResourceDefinition (it defines {', '.join(crd_versions)})",
                "apiVersion",
            )
            return
        yield Finding(
            rule=MANIFEST_SCHEMA.id,
            severity="info",
            message=f"skipped: no schema for {api_version} {kind} (a custom resource whose "
            "CustomResourceDefinition is not part of this render)",
            obj=object_label(obj),
            source=obj.source,
            release=obj.release,
        )

    def builtin_kinds(self) -> list[tuple[str, str]]:
        """(apiVersion, kind) of every resource with a schema in this version (built-in APIs)."""
        return sorted(
            (f"{group}/{version}" if group else version, kind)
            for group, version, kind in self._index()
        )

    def _index(self) -> dict[tuple[str, str, str], str]:
        if self._gvk is None:
            index: dict[tuple[str, str, str], str] = {}
            for name, definition in self._definitions()["$defs"].items():
                for gvk in definition.get("x-kubernetes-group-version-kind") or []:
                    index.setdefault((gvk["group"], gvk["version"], gvk["kind"]), name)
            self._gvk = index
        return self._gvk

    def _definitions(self) -> dict[str, Any]:
        if self._defs is None:
            path = self.root / f"v{self.version}.0-local-strict" / "_definitions.json"
            self._defs = json.loads(path.read_text(encoding="utf-8"))
        return self._defs

    def _validator(self, gvk: tuple[str, str, str]) -> Validator | None:
        if gvk in self._validators:
            return self._validators[gvk]
        from jsonschema import Draft202012Validator

        schema: dict[str, Any]
        if gvk in self._crds:
            from jsonschema.exceptions import SchemaError

            schema = crd_to_json_schema(self._crds[gvk])
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as e:
                self._bad_crds[gvk] = f"{value_path(e.absolute_path)}: {e.message}"
            validator: Validator = Draft202012Validator(schema)
        else:
            name = self._index().get(gvk)
            if name is None:
                return None
            from referencing import Registry, Resource

            registry: Registry[Any] = Registry().with_resource(
                _DEFS_URI, Resource.from_contents(self._definitions())
            )
            schema = {"$ref": f"{_DEFS_URI}#/$defs/{name}"}
            validator = Draft202012Validator(schema, registry=registry)
        self._validators[gvk] = validator
        return validator


def crd_to_json_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """Translate a CRD's structural openAPIV3Schema into a JSON Schema that checks what the API
    server checks with strict field validation: `nullable` admits null, unknown fields are errors
    unless `x-kubernetes-preserve-unknown-fields`, and the root admits apiVersion/kind/metadata."""
    schema: dict[str, Any] = _strict_copy(openapi)
    props = dict(schema.get("properties") or {})
    props.update({"apiVersion": {"type": "string"}, "kind": {"type": "string"}})
    props["metadata"] = {"type": "object"}
    schema["properties"] = props
    return schema


def _strict_copy(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict_copy(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict_copy(v) for k, v in node.items()}
    if out.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-int-or-string") is True:
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def describe_error(error: SchemaError) -> list[tuple[str, str]]:
    """Turn one jsonschema error into (field path, plain message) pairs, one per bad field."""
    path = format_path(error.absolute_path)
    validator = error.validator
    if validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(
            (error.schema.get("properties") or {}) if isinstance(error.schema, dict) else ()
        )
        extra = sorted(str(k) for k in error.instance if k not in known)
        return [(_join(path, k), "unknown field") for k in extra] or [(path, error.message)]
    if validator == "required" and isinstance(error.validator_value, list):
        missing = [
            str(k)
            for k in error.validator_value
            if isinstance(error.instance, dict) and k not in error.instance
        ]
        return [(_join(path, k), "required field is missing") for k in missing]
    if validator == "type":
        return [
            (path, f"expected {_types(error.validator_value)}, got {_describe(error.instance)}")
        ]
    if validator in ("oneOf", "anyOf"):
        sub = list(error.context or [])
        if sub and all(e.validator == "type" for e in sub):
            wanted = " or ".join(_types(e.validator_value) for e in sub)
            return [(path, f"expected {wanted}, got {_describe(error.instance)}")]
        if sub:
            from jsonschema.exceptions import best_match

            best = best_match(sub)
            if best is not None:
                return describe_error(best)
    return [(path, error.message)]


def error_order(error: SchemaError) -> list[tuple[int, int, str]]:
    """Sort key putting errors in document path order; safe for mixed int and str keys."""
    return [
        (0, p, "") if isinstance(p, int) and not isinstance(p, bool) else (1, 0, str(p))
        for p in error.absolute_path
    ]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _types(value: Any) -> str:
    types = [value] if isinstance(value, str) else [t for t in value if t != "null"]
    return " or ".join(types) or "null"


def _describe(instance: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    kind = names.get(type(instance), "number")
    if isinstance(instance, dict | list):
        return kind
    return f"{kind} {json.dumps(instance)}"
