"""Offline checks that need no cluster: manifest structure, values against the package's schema,
and objects declared twice in an environment. Pure (jsonschema is imported only when a package has a
schema)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
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


_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_1035_LABEL = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = rf"{_DNS_LABEL}(\.{_DNS_LABEL})*"
_QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = rf"({_QUALIFIED_NAME})?"

# The API server's name rule per kind (apimachinery/pkg/api/validation and each API group's
# validation): Namespaces are DNS-1123 labels, Services DNS-1035 labels (they become DNS names),
# RBAC objects only path segments (`system:aggregate-to-edit` is a valid ClusterRole), and
# every other kind, custom resources included, a DNS-1123 subdomain.
_LABEL_KINDS = frozenset({"Namespace"})
_DNS_1035_KINDS = frozenset({"Service"})
_PATH_SEGMENT_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
# Kinds with a shorter limit than their rule's: a CronJob's name plus the 11 characters its Jobs
# append must stay a DNS-1035 label.
_MAX_NAME_LENGTH = {"CronJob": 52}

_SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain (at most 253 characters: lowercase letters, digits, '-' and "
    "'.', starting and ending with a letter or digit, e.g. 'my-app.v1')"
)
_LABEL_RULE = (
    "a lowercase RFC 1123 label (at most 63 characters: lowercase letters, digits and '-', "
    "starting and ending with a letter or digit, no dots, e.g. 'my-app')"
)
_DNS_1035_RULE = (
    "a DNS-1035 label (at most 63 characters: lowercase letters, digits and '-', starting with a "
    "letter and ending with a letter or digit, no dots, e.g. 'my-app')"
)
_PATH_SEGMENT_RULE = "a path segment (not '.' or '..', no '/' or '%')"
_LABEL_VALUE_RULE = (
    "a label value (at most 63 characters: letters, digits, '-', '_' and '.', starting and "
    "ending with a letter or digit, or empty)"
)
_QUALIFIED_KEY_RULE = (
    "a key of the form [prefix/]name: an optional DNS-1123 subdomain prefix (at most 253 "
    "characters) and a name of at most 63 letters, digits, '-', '_' and '.', starting and "
    "ending with a letter or digit, e.g. 'app.kubernetes.io/name'"
)


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _full(pattern: str, text: str) -> bool:
    return _compiled(pattern).fullmatch(text) is not None


def _subdomain_ok(text: str) -> bool:
    return len(text) <= 253 and _full(_DNS_SUBDOMAIN, text)


# Rendered manifests repeat the same names, label keys and values thousands of times in a large
# environment: the checks below are pure, so each distinct one is made once.
@functools.lru_cache(maxsize=16384)
def name_problem(kind: str, name: str) -> str:
    """Why `name` cannot name an object of `kind` on the API server ("" when it can): the rule it
    breaks, in words, e.g. `"Web_1" is not a valid Service name: it must be a DNS-1035 label
    (...)`."""
    if kind in _PATH_SEGMENT_KINDS:
        ok = name not in (".", "..") and "/" not in name and "%" not in name
        rule = _PATH_SEGMENT_RULE
    elif kind in _LABEL_KINDS:
        ok = len(name) <= 63 and _full(_DNS_LABEL, name)
        rule = _LABEL_RULE
    elif kind in _DNS_1035_KINDS:
        ok = len(name) <= 63 and _full(_DNS_1035_LABEL, name)
        rule = _DNS_1035_RULE
    else:
        ok = _subdomain_ok(name)
        rule = _SUBDOMAIN_RULE
    if not ok:
        return f'"{name}" is not a valid {kind} name: it must be {rule}'
    limit = _MAX_NAME_LENGTH.get(kind)
    if limit is not None and len(name) > limit:
        return (
            f'"{name}" is not a valid {kind} name: it is {len(name)} characters long, '
            f"at most {limit} are allowed"
        )
    return ""


@functools.lru_cache(maxsize=16384)
def qualified_key_problem(key: str) -> str:
    """Why `key` is not a valid label or annotation key ("" when it is)."""
    prefix, slash, name = key.rpartition("/")
    ok = (
        len(name) <= 63
        and _full(_QUALIFIED_NAME, name)
        and (not slash or (prefix != "" and _subdomain_ok(prefix)))
    )
    return "" if ok else f'key "{key}" is not {_QUALIFIED_KEY_RULE}'


def label_value_problem(key: str, value: Any) -> str:
    """Why `value` cannot be the value of label `key` ("" when it can)."""
    if not isinstance(value, str):
        return (
            f'label "{key}" has a {_type_name(value)} value ({value!r}); label values must be '
            "strings: quote it (e.g. with `| quote`)"
        )
    if len(value) > 63 or not _label_value_ok(value):
        return f'label "{key}" has value "{value}", which is not {_LABEL_VALUE_RULE}'
    return ""


@functools.lru_cache(maxsize=16384)
def _label_value_ok(value: str) -> bool:
    return _full(_LABEL_VALUE, value)


def metadata_problems(doc: dict[str, Any]) -> list[str]:
    """What the API server would refuse in the metadata of `doc` (a document that passed
    `manifest_problems`): metadata.name and metadata.namespace against the kind's name rule, label
    keys and values, annotation keys, and non-string annotation values. Returns [] when fine."""
    meta = doc["metadata"]
    kind = str(doc["kind"])
    problems = []
    problem = name_problem(kind, meta["name"])
    if problem:
        problems.append(f"metadata.name {problem}")
    namespace = meta.get("namespace")
    if namespace and name_problem("Namespace", namespace):
        problems.append(
            f'metadata.namespace "{namespace}" is not a valid namespace name: it must be '
            + _LABEL_RULE
        )
    for key, value in (meta.get("labels") or {}).items():
        problem = qualified_key_problem(str(key)) or label_value_problem(str(key), value)
        if problem:
            problems.append(f"metadata.labels: {problem}")
    for key, value in (meta.get("annotations") or {}).items():
        problem = qualified_key_problem(str(key))
        if not problem and not isinstance(value, str):
            problem = (
                f'annotation "{key}" has a {_type_name(value)} value ({value!r}); annotation '
                "values must be strings: quote it (e.g. with `| quote`)"
            )
        if problem:
            problems.append(f"metadata.annotations: {problem}")
    return problems


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (list, dict)):
        return "list" if isinstance(value, list) else "mapping"
    return type(value).__name__


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


def _error_origin(error: Any, origin: Callable[[Sequence[Any]], str | None] | None) -> str:
    """' (set in environments/prod.yaml:7)' for the value a schema error is about (for an
    unknown key, the key, with the nearest declared one: '; did you mean replicas?'), or ''."""
    from kdeploy.origins import set_where
    from kdeploy.unused import nearest

    path = list(error.absolute_path)
    targets = [path]
    known: set[tuple[Any, ...]] = set()
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        props = error.schema.get("properties") if isinstance(error.schema, dict) else None
        known = {(k,) for k in props or ()}
        targets = [[*path, k] for k in error.instance if (k,) not in known] or [path]
    notes = []
    for target in targets:
        where = origin(target) if origin is not None and target else None
        if where is not None:
            subject = "" if target == path else f"{format_path(target)} "
            notes.append(subject + set_where(where))
        guess = nearest((target[-1],), known) if known and target != path else None
        if guess is not None:
            notes.append(f"did you mean {format_path([*path, *guess])}?")
    return f" ({'; '.join(notes)})" if notes else ""


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

    def errors(
        self, values: Values, origin: Callable[[Sequence[Any]], str | None] | None = None
    ) -> list[str]:
        """Every way `values` breaks the schema, as 'path: problem' lines sorted by path, e.g.
        'replicas: -1 is less than the minimum of 1', each followed by where the value was set
        ('(set in environments/prod.yaml:7)') when `origin` knows it for the path. Empty when the
        values are valid."""
        from kdeploy.secrets import Redactor, collect_secret_strings

        # jsonschema quotes the offending value; a `writeOnly` one must not reach the terminal
        schema = self._validator.schema
        redactor = Redactor(
            collect_secret_strings((), values, schema if isinstance(schema, dict) else None)
        )
        found = []
        for error in self._validator.iter_errors(values):
            message = redactor.text(f"{value_path(error.absolute_path)}: {error.message}")
            message += _error_origin(error, origin)
            found.append((list(error.absolute_path), message))
        found.sort(key=lambda item: [str(p) for p in item[0]])
        return [message for _, message in found]

    def check(
        self,
        values: Values,
        release: str,
        origin: Callable[[Sequence[Any]], str | None] | None = None,
    ) -> None:
        """Raises ValidationError listing every schema violation of `values` (one per line), each
        naming the file and line or the flag that set the value when `origin` knows it."""
        errors = self.errors(values, origin)
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
