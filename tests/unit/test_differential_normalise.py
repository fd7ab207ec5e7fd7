"""The differential suite's normaliser: run-specific values become placeholders that keep
identity within a case, and everything else is compared field by field."""

from __future__ import annotations

from tests.differential.normalise import Normaliser, differences

UID = "0b0e8d0c-1f4e-4d6c-9a37-3c0f7f1d2a11"


def _obj(rv: str, uid: str = UID, **meta: object) -> dict[str, object]:
    return {
        "code": 200,
        "body": {
            "kind": "ConfigMap",
            "metadata": {
                "name": "x",
                "uid": uid,
                "resourceVersion": rv,
                "creationTimestamp": "2026-12-03T06:00:00Z",
                **meta,
            },
        },
    }


def test_uids_and_resource_versions_are_numbered_by_first_appearance() -> None:
    norm = Normaliser()
    first, same, later = (
        norm.response(_obj("41")),
        norm.response(_obj("41")),
        norm.response(_obj("57")),
    )
    assert first["body"]["metadata"]["uid"] == "<uid-1>"
    assert first["body"]["metadata"]["resourceVersion"] == "<rv-1>"
    assert same["body"]["metadata"]["resourceVersion"] == "<rv-1>"  # a no-op keeps its rv
    assert later["body"]["metadata"]["resourceVersion"] == "<rv-2>"
    assert first["body"]["metadata"]["creationTimestamp"] == "<time>"


def test_uids_inside_field_keys_and_messages_are_replaced() -> None:
    data = {
        "code": 409,
        "body": {
            "kind": "Status",
            "message": f"uid {UID} differs",
            "fieldsV1": {f'k:{{"uid":"{UID}"}}': {}},
        },
    }
    out = Normaliser().response(data)
    assert out["body"]["message"] == "uid <uid-1> differs"
    assert out["body"]["fieldsV1"] == {'k:{"uid":"<uid-1>"}': {}}


def test_generated_names_become_placeholders() -> None:
    out = Normaliser().response(_obj("1", name="web-x7k2p", generateName="web-"))
    assert out["body"]["metadata"]["name"] == "web-<generated-1>"


def test_list_resource_versions_are_not_numbered() -> None:
    data = {
        "code": 200,
        "body": {
            "kind": "ConfigMapList",
            "metadata": {"resourceVersion": "9"},
            "items": [_obj("9")["body"]],
        },
    }
    out = Normaliser().response(data)
    assert out["body"]["metadata"]["resourceVersion"] == "<resourceVersion>"
    assert out["body"]["items"][0]["metadata"]["resourceVersion"] == "<rv-1>"


def test_differences_name_each_field() -> None:
    left = {"a": [1, {"b": 2}], "c": 3}
    right = {"a": [1, {"b": 4}, 5]}
    assert differences(left, right) == [
        ("a[1].b", 2, 4),
        ("a[2]", "<absent>", 5),
        ("c", 3, "<absent>"),
    ]
    assert differences(left, left) == []
