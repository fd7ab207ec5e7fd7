"""Rule values-schema: every error with its value path and the layer that set it."""

from __future__ import annotations

from lint_helpers import release

from kdeploy.lint import values_schema
from kdeploy.model import ValuesLayer

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["image"],
    "properties": {
        "replicas": {"type": "integer", "minimum": 1},
        "image": {
            "type": "object",
            "properties": {"tag": {"type": "string"}},
            "additionalProperties": False,
        },
        "ports": {"type": "array", "items": {"type": "integer"}},
    },
}


def test_valid_values_have_no_findings() -> None:
    rel = release(schema=SCHEMA, values={"replicas": 2, "image": {"tag": "1.0"}})
    assert list(values_schema.check(rel)) == []


def test_no_schema_means_no_findings() -> None:
    assert list(values_schema.check(release(values={"replicas": "two"}))) == []


def test_every_error_is_reported_with_its_value_path() -> None:
    rel = release(
        schema=SCHEMA,
        values={"replicas": "two", "image": {"tga": "1.0"}, "ports": [80, "http"]},
    )
    found = list(values_schema.check(rel))
    assert {(f.path, f.message) for f in found} == {
        ("image.tga", "image.tga: unknown field"),
        ("ports[1]", 'ports[1]: expected integer, got string "http"'),
        ("replicas", 'replicas: expected integer, got string "two"'),
    }
    assert all(f.rule == "values-schema" and f.severity == "error" for f in found)
    assert all(f.obj == "values" and f.release == "web" for f in found)


def test_missing_required_value_is_named() -> None:
    (f,) = values_schema.check(release(schema=SCHEMA, values={}))
    assert f.message == "image: required field is missing"
    assert f.source == "packages/webapp/values.schema.yaml"


def test_finding_names_the_layer_that_set_the_bad_value() -> None:
    layers = (
        ValuesLayer("packages/webapp/values.yaml", {"replicas": 1}),
        ValuesLayer("environments/prod.yaml", {"replicas": 0}),
        ValuesLayer("--set replicas=0", {"image": {"tag": "x"}}),
    )
    rel = release(schema=SCHEMA, values={"replicas": 0, "image": {"tag": "x"}}, layers=layers)
    (f,) = values_schema.check(rel)
    assert f.path == "replicas"
    assert f.source == "environments/prod.yaml"
    assert "0 is less than the minimum of 1" in f.message


def test_invalid_schema_is_one_finding_naming_the_schema_file() -> None:
    (f,) = values_schema.check(release(schema={"type": "objekt"}, values={}))
    assert f.source == "packages/webapp/values.schema.yaml"
    assert f.message.startswith("not a valid JSON Schema (draft 2020-12) at type:")


def test_value_overridden_on_the_command_line_is_attributed_to_it() -> None:
    layers = (ValuesLayer("environments/prod.yaml", {"replicas": 2}),)
    rel = release(schema=SCHEMA, values={"replicas": 0, "image": {}}, layers=layers)
    (f,) = values_schema.check(rel)
    assert f.source == "the command line (-f/--set)"


def test_package_default_is_attributed_to_values_yaml() -> None:
    rel = release(schema=SCHEMA, values={"replicas": 0, "image": {}}, defaults={"replicas": 0})
    (f,) = values_schema.check(rel)
    # with the line that sets it when the file is there (here: the example package's)
    assert f.source.partition(":")[0] == "packages/webapp/values.yaml"


def test_mixed_int_and_string_keys_do_not_break_ordering() -> None:
    schema = {"type": "object", "additionalProperties": {"type": "string"}}
    rel = release(schema=schema, values={1: 2, "b": 3})
    assert sorted(f.path for f in values_schema.check(rel)) == ["[1]", "b"]
