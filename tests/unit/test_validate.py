"""Structural checks, values schema errors with paths, duplicate detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdeploy.errors import ValidationError
from kdeploy.model import Package, ReleaseSpec, RenderedObject, RenderedRelease
from kdeploy.validate import ValuesValidator, check_duplicates, manifest_problems, value_path


@pytest.mark.parametrize(
    ("doc", "problems"),
    [
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}, []),
        ({"kind": "ConfigMap", "metadata": {"name": "x"}}, ["apiVersion is missing"]),
        ({"apiVersion": "v1", "kind": 3, "metadata": {"name": "x"}}, ["kind must be a string"]),
        ({"apiVersion": "v1", "kind": "ConfigMap"}, ["metadata is missing"]),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": ""}},
            ["metadata.name must be a non-empty string"],
        ),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": ["a"]}},
            ["metadata.labels must be a mapping"],
        ),
        ("text", ["the document is a str value, not a Kubernetes object (a mapping)"]),
    ],
)
def test_manifest_problems(doc: object, problems: list[str]) -> None:
    assert manifest_problems(doc) == problems


def test_value_path() -> None:
    assert value_path(["ports", 0, "name"]) == "ports[0].name"
    assert value_path([]) == "(root)"


def test_values_validator_collects_every_error_sorted_by_path() -> None:
    schema = {
        "type": "object",
        "properties": {
            "replicas": {"type": "integer", "minimum": 1},
            "image": {"type": "object", "properties": {"tag": {"type": "string"}}},
        },
        "additionalProperties": False,
    }
    validator = ValuesValidator(schema, "packages/web/values.schema.yaml")
    assert validator.errors({"replicas": 1}) == []
    assert validator.errors({"replicas": -1, "image": {"tag": 3}, "extra": 1}) == [
        "(root): Additional properties are not allowed ('extra' was unexpected)",
        "image.tag: 3 is not of type 'string'",
        "replicas: -1 is less than the minimum of 1",
    ]
    with pytest.raises(
        ValidationError, match=r"release web: values do not match packages/web/values\.schema\.yaml"
    ):
        validator.check({"replicas": 0}, "web")


def test_invalid_schema_names_the_file() -> None:
    with pytest.raises(
        ValidationError, match=r"s.yaml: not a valid JSON Schema .* at properties.a.type"
    ):
        ValuesValidator({"properties": {"a": {"type": 5}}}, "s.yaml")


def _release(name: str, *objects: tuple[str, str, str]) -> RenderedRelease:
    spec = ReleaseSpec(name=name, package="p", namespace="ns", environment="dev")
    pkg = Package(name="p", version="1.0.0", path=Path("packages/p"))
    objs = tuple(
        RenderedObject(
            manifest={"apiVersion": api, "kind": kind, "metadata": {"name": n, "namespace": "ns"}},
            source=f"packages/p/templates/{kind.lower()}.yaml",
            release=name,
        )
        for api, kind, n in objects
    )
    return RenderedRelease(spec=spec, package=pkg, values={}, objects=objs)


def test_duplicates_need_same_group_kind_namespace_and_name() -> None:
    a = _release("a", ("v1", "ConfigMap", "x"), ("apps/v1", "Deployment", "x"))
    b = _release("b", ("v1", "Secret", "x"), ("extensions/v1beta1", "Deployment", "y"))
    check_duplicates([a, b])
    c = _release("c", ("apps/v2", "Deployment", "x"))
    with pytest.raises(ValidationError) as info:
        check_duplicates([a, b, c])
    message = info.value.format_message()
    assert "Deployment.apps ns/x is declared twice" in message
    assert "release a (packages/p/templates/deployment.yaml)" in message
    assert "release c (packages/p/templates/deployment.yaml)" in message
