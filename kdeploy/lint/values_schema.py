"""Rule values-schema: a release's merged values against its package's values.schema.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kdeploy.lint.findings import Finding, Rule
from kdeploy.lint.schema import describe_error, error_order
from kdeploy.model import RenderedRelease
from kdeploy.origins import _MISSING, describe_layer, lookup, package_defaults_layer, setting_layer
from kdeploy.validate import value_path

VALUES_SCHEMA = Rule(
    "values-schema",
    "error",
    "the merged values of a release match the package's values.schema.yaml",
    frozenset(),
)
RULES = (VALUES_SCHEMA,)
VALUES_OBJECT = "values"
# Schema keywords about a string's content: a placeholder for a secret the job lacks cannot meet
# them, and says nothing about the real value, so their errors on a placeholder are not reported.
_CONTENT_KEYWORDS = frozenset(
    {"pattern", "format", "minLength", "maxLength", "enum", "const", "contentEncoding"}
)


def _about_placeholder(error: Any) -> bool:
    from kdeploy.envsecrets import PLACEHOLDER_PREFIX

    return (
        error.validator in _CONTENT_KEYWORDS
        and isinstance(error.instance, str)
        and error.instance.startswith(PLACEHOLDER_PREFIX)
    )


def check(release: RenderedRelease) -> Iterator[Finding]:
    """Yield one finding per values-schema violation, naming the value path and, when known,
    the values layer (file, environment or --set) that set the offending value."""
    schema = release.package.schema
    if not schema:
        return
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    schema_file = f"packages/{release.package.path.name}/values.schema.yaml"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as e:
        where = value_path(e.absolute_path)
        yield Finding(
            rule=VALUES_SCHEMA.id,
            severity=VALUES_SCHEMA.severity,
            message=f"not a valid JSON Schema (draft 2020-12) at {where}: {e.message}",
            obj=VALUES_OBJECT,
            source=schema_file,
            release=release.spec.name,
        )
        return
    from kdeploy.secrets import Redactor, collect_secret_strings

    validator = Draft202012Validator(schema)
    # jsonschema quotes the offending value; a `writeOnly` one must not reach the report
    redactor = Redactor(
        collect_secret_strings((), release.values, schema) | set(release.secret_strings)
    )
    for error in sorted(validator.iter_errors(release.values), key=error_order):
        if _about_placeholder(error):
            continue
        for path, raw_message in describe_error(error):
            message = redactor.text(raw_message)
            source = value_source(release, list(error.absolute_path))
            yield Finding(
                rule=VALUES_SCHEMA.id,
                severity=VALUES_SCHEMA.severity,
                message=f"{path or '(root)'}: {message}",
                obj=VALUES_OBJECT,
                source=source or schema_file,
                release=release.spec.name,
                path=path,
            )


def value_source(release: RenderedRelease, parts: list[Any]) -> str | None:
    """Where the value at `parts` of the merged values came from: the last layer (package
    values.yaml, the environment layers, -f files, --set flags) that sets it, as file:line for a
    file. Without the command-line layers (`value_layers`), the command line (-f/--set) when the
    merged value differs from what the other layers set. None for the root or an absent value."""
    if not parts:
        return None
    merged = lookup(release.values, parts)
    if merged is _MISSING:
        return None
    layers = (
        package_defaults_layer(release.package),
        *(release.value_layers or release.spec.layers),
    )
    layer = setting_layer(layers, parts)
    if layer is None:
        return None if release.value_layers else "the command line (-f/--set)"
    found = lookup(layer.values, parts)
    if release.value_layers or isinstance(merged, dict | list) or found == merged:
        return describe_layer(layer, parts)
    return "the command line (-f/--set)"
