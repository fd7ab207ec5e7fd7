"""Rule values-schema: a release's merged values against its package's values.schema.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kdeploy.lint.findings import Finding, Rule
from kdeploy.lint.schema import describe_error, format_path
from kdeploy.model import RenderedRelease, ValuesLayer

VALUES_SCHEMA = Rule(
    "values-schema",
    "error",
    "the merged values of a release match the package's values.schema.yaml",
    frozenset(),
)
RULES = (VALUES_SCHEMA,)
VALUES_OBJECT = "values"


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
        where = format_path(e.absolute_path) or "(root)"
        yield Finding(
            rule=VALUES_SCHEMA.id,
            severity=VALUES_SCHEMA.severity,
            message=f"not a valid JSON Schema (draft 2020-12) at {where}: {e.message}",
            obj=VALUES_OBJECT,
            source=schema_file,
            release=release.spec.name,
        )
        return
    validator = Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(release.values), key=lambda e: list(e.path)):
        for path, message in describe_error(error):
            source = _layer_setting(release.spec.layers, list(error.absolute_path))
            yield Finding(
                rule=VALUES_SCHEMA.id,
                severity=VALUES_SCHEMA.severity,
                message=f"{path or '(root)'}: {message}",
                obj=VALUES_OBJECT,
                source=source or schema_file,
                release=release.spec.name,
                path=path,
            )


def _layer_setting(layers: tuple[ValuesLayer, ...], parts: list[Any]) -> str | None:
    """The source of the last layer that sets the value at `parts`, or None."""
    for layer in reversed(layers):
        if parts and _has_path(layer.values, parts):
            return layer.source
    return None


def _has_path(values: Any, parts: list[Any]) -> bool:
    node = values
    for part in parts:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        else:
            return False
    return True
