"""Offline checks that need no cluster: manifest structure, values against the package's schema,
and objects declared twice in an environment. Pure (jsonschema is imported only when a package has a
schema)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from kdeploy.errors import ValidationError
from kdeploy.model import ObjectKey, RenderedRelease, Values


def manifest_problems(doc: Any) -> list[str]:
    """What keeps `doc` from being a Kubernetes object: it must be a mapping with a non-empty
    string apiVersion, kind and metadata.name. Returns [] when it is fine."""
    if not isinstance(doc, dict):
        kind = "a list" if isinstance(doc, list) else f"a {type(doc).__name__} value"
        return [f"the document is {kind}, not a Kubernetes object (a mapping)"]
    problems = []
    for key in ("apiVersion", "kind"):
        value = doc.get(key)
        if not isinstance(value, str) or not value:
            problems.append(f"{key} is missing" if value is None else f"{key} must be a string")
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        problems.append("metadata is missing" if meta is None else "metadata must be a mapping")
    else:
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            problems.append(
                "metadata.name is missing"
                if name is None
                else "metadata.name must be a non-empty string"
            )
        for key in ("labels", "annotations"):
            if meta.get(key) is not None and not isinstance(meta[key], dict):
                problems.append(f"metadata.{key} must be a mapping")
        ns = meta.get("namespace")
        if ns is not None and not isinstance(ns, str):
            problems.append("metadata.namespace must be a string")
    return problems


def describe(doc: Any) -> str:
    """A short name for a document in messages: 'Deployment web' or 'document'."""
    if isinstance(doc, dict):
        kind = doc.get("kind")
        meta = doc.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        if isinstance(kind, str) and kind:
            return f"{kind} {name}" if isinstance(name, str) and name else kind
    return "document"


def format_path(parts: Iterable[Any]) -> str:
    """A jsonschema error path as a dotted path: ['ports', 0, 'name'] -> 'ports[0].name', and
    `spec.template.spec.containers[0].image` for a manifest; '' for the root."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def value_path(path: Iterable[Any]) -> str:
    """A jsonschema error path as a values path, as `format_path` but '(root)' for the root."""
    return format_path(path) or "(root)"


class ValuesValidator:
    """A package's values schema (JSON Schema draft 2020-12), checked once and reused for every
    release of the package."""

    def __init__(self, schema: dict[str, Any], source: str) -> None:
        """Raises ValidationError naming `source` when the schema itself is invalid."""
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as e:
            where = value_path(e.absolute_path)
            raise ValidationError(
                f"{source}: not a valid JSON Schema (draft 2020-12) at {where}: {e.message}"
            ) from None
        self.source = source
        self._validator = Draft202012Validator(schema)

    def errors(self, values: Values) -> list[str]:
        """Every way `values` breaks the schema, as 'path: problem' lines sorted by path, e.g.
        'replicas: -1 is less than the minimum of 1'. Empty when the values are valid."""
        found = []
        for error in self._validator.iter_errors(values):
            found.append(
                (list(error.absolute_path), f"{value_path(error.absolute_path)}: {error.message}")
            )
        found.sort(key=lambda item: [str(p) for p in item[0]])
        return [message for _, message in found]

    def check(self, values: Values, release: str) -> None:
        """Raises ValidationError listing every schema violation of `values` (one per line)."""
        errors = self.errors(values)
        if errors:
            lines = "\n".join(f"  - {e}" for e in errors)
            raise ValidationError(
                f"release {release}: values do not match {self.source}:\n{lines}",
                hint="fix the values in the environment, a -f file or --set",
            )


def duplicate_errors(releases: Sequence[RenderedRelease]) -> list[str]:
    """One message per object declared more than once across `releases` (same API group, kind,
    namespace and name), naming both sources."""
    seen: dict[ObjectKey, str] = {}
    errors = []
    for rel in releases:
        for obj in rel.objects:
            where = f"release {obj.release} ({obj.source})"
            first = seen.get(obj.key)
            if first is None:
                seen[obj.key] = where
            else:
                errors.append(f"{obj.key} is declared twice: by {first} and by {where}")
    return errors


def check_duplicates(releases: Sequence[RenderedRelease]) -> None:
    """Raises ValidationError when an object is declared twice in the environment, naming both
    sources of each duplicate."""
    errors = duplicate_errors(releases)
    if errors:
        raise ValidationError(
            "\n".join(errors),
            hint="two declarations of one object would overwrite each other: rename one or drop it",
        )
