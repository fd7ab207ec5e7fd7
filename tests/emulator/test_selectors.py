"""Label and field selector parsing, as the API server reads the query parameters."""

from __future__ import annotations

from typing import Any

import pytest

from kdeploy.emulator.selectors import (
    SelectorError,
    field_selector_name,
    label_selector_from_dict,
    parse_field_selector,
    parse_label_selector,
)


def obj(labels: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": "n", "namespace": "ns", "labels": labels or {}}, **extra}


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("", {}, True),
        ("a=b", {"a": "b"}, True),
        ("a==b", {"a": "c"}, False),
        ("a!=b", {}, True),
        ("a!=b", {"a": "b"}, False),
        ("a", {"a": ""}, True),
        ("!a", {"a": "x"}, False),
        ("!a", {}, True),
        ("env in (prod, staging)", {"env": "staging"}, True),
        ("env in (prod)", {}, False),
        ("env notin (prod)", {}, True),
        ("env notin (prod,dev)", {"env": "dev"}, False),
        ("a=b,env in (x,y),!c", {"a": "b", "env": "y"}, True),
        ("app.kubernetes.io/name=web", {"app.kubernetes.io/name": "web"}, True),
        ("n>3", {"n": "4"}, True),
        ("n<3", {"n": "4"}, False),
        ("n>3", {"n": "x"}, False),
    ],
)
def test_label_selector(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_label_selector(selector)(obj(labels)) is expected


@pytest.mark.parametrize("bad", ["a=b=c", "in (x)", "a in x", "!a=b", "n>x"])
def test_malformed_label_selector_is_rejected(bad: str) -> None:
    with pytest.raises(SelectorError):
        parse_label_selector(bad)


def test_label_selector_from_match_expressions() -> None:
    sel = label_selector_from_dict(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "legacy", "operator": "DoesNotExist"},
            ],
        }
    )
    assert sel(obj({"app": "web", "tier": "b"}))
    assert not sel(obj({"app": "web", "tier": "b", "legacy": "1"}))
    assert not label_selector_from_dict(None)(obj({"app": "web"}))


def test_field_selectors_per_kind() -> None:
    pod = obj(status={"phase": "Running"}, spec={"nodeName": "node-1"})
    assert parse_field_selector("status.phase=Running,spec.nodeName=node-1", "Pod")(pod)
    assert not parse_field_selector("status.phase!=Running", "Pod")(pod)
    assert parse_field_selector("type=kubernetes.io/tls", "Secret")(obj(type="kubernetes.io/tls"))
    event = obj(involvedObject={"kind": "Pod", "name": "web-1"})
    assert parse_field_selector("involvedObject.name=web-1", "Event")(event)
    assert parse_field_selector("metadata.namespace=ns", "ConfigMap")(obj())


def test_unsupported_field_is_named() -> None:
    # kinds with field selectors of their own, and the generic registry's wording for the rest
    with pytest.raises(SelectorError, match=r"field label not supported: spec\.x"):
        parse_field_selector("spec.x=1", "Pod")
    with pytest.raises(
        SelectorError,
        match=r'^"status\.phase" is not a known field selector: only "metadata\.name", '
        r'"metadata\.namespace"$',
    ):
        parse_field_selector("status.phase=Running", "ConfigMap")


def test_name_pinned_by_field_selector() -> None:
    assert field_selector_name("metadata.name=x") == "x"
    assert field_selector_name("metadata.namespace=a,metadata.name==y") == "y"
    assert field_selector_name("status.phase=Running") is None
