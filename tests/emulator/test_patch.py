"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902) as the emulator applies them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kdeploy.emulator.patch import PatchError, json_merge_patch, json_patch

DEPLOY: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}},
    "spec": {
        "replicas": 2,
        "template": {
            "spec": {
                "containers": [
                    {"name": "web", "image": "nginx:1.25", "args": ["a", "b"]},
                    {"name": "side", "image": "busybox"},
                ]
            }
        },
    },
}


@pytest.mark.parametrize(
    ("patch", "check"),
    [
        ({"spec": {"replicas": 5}}, lambda o: o["spec"]["replicas"] == 5),
        (
            {"metadata": {"labels": {"tier": None}}},
            lambda o: o["metadata"]["labels"] == {"app": "web"},
        ),
        ({"metadata": {"labels": {"new": "x"}}}, lambda o: o["metadata"]["labels"]["new"] == "x"),
        (
            {"spec": {"template": {"spec": {"containers": [{"name": "only"}]}}}},
            lambda o: o["spec"]["template"]["spec"]["containers"] == [{"name": "only"}],
        ),
        ({"spec": None}, lambda o: "spec" not in o),
        ({"data": {"k": {"nested": 1}}}, lambda o: o["data"] == {"k": {"nested": 1}}),
        ({"metadata": {"name": "web"}}, lambda o: o == DEPLOY),
    ],
)
def test_json_merge_patch_rfc7386(patch: dict[str, Any], check: Any) -> None:
    before = copy.deepcopy(DEPLOY)
    result = json_merge_patch(DEPLOY, patch)
    assert check(result)
    assert before == DEPLOY


def test_json_merge_patch_result_does_not_share_containers_with_inputs() -> None:
    patch = {"spec": {"replicas": 3}}
    result = json_merge_patch(DEPLOY, patch)
    result["metadata"]["labels"]["x"] = "y"
    result["spec"]["template"]["spec"]["containers"][0]["image"] = "changed"
    assert "x" not in DEPLOY["metadata"]["labels"]
    assert DEPLOY["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"


def test_json_merge_patch_rejects_non_object_patch() -> None:
    with pytest.raises(PatchError) as err:
        json_merge_patch(DEPLOY, [1, 2])  # type: ignore[arg-type]
    assert err.value.code == 400


@pytest.mark.parametrize(
    ("ops", "path", "expected"),
    [
        ([{"op": "replace", "path": "/spec/replicas", "value": 7}], ("spec", "replicas"), 7),
        (
            [{"op": "add", "path": "/metadata/labels/new", "value": "v"}],
            ("metadata", "labels", "new"),
            "v",
        ),
        (
            [{"op": "add", "path": "/metadata/annotations", "value": {"a.io~1b": "1"}}],
            ("metadata", "annotations"),
            {"a.io~1b": "1"},
        ),
        (
            [{"op": "add", "path": "/metadata/labels/example.com~1team", "value": "t"}],
            ("metadata", "labels", "example.com/team"),
            "t",
        ),
        (
            [{"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": "c"}],
            ("spec", "template", "spec", "containers", 0, "args"),
            ["a", "b", "c"],
        ),
        (
            [{"op": "add", "path": "/spec/template/spec/containers/0/args/0", "value": "z"}],
            ("spec", "template", "spec", "containers", 0, "args"),
            ["z", "a", "b"],
        ),
        (
            [{"op": "remove", "path": "/spec/template/spec/containers/1"}],
            ("spec", "template", "spec", "containers", -1, "name"),
            "web",
        ),
        (
            [{"op": "move", "from": "/metadata/labels/tier", "path": "/metadata/labels/layer"}],
            ("metadata", "labels"),
            {"app": "web", "layer": "fe"},
        ),
        (
            [{"op": "copy", "from": "/metadata/labels/app", "path": "/metadata/labels/name"}],
            ("metadata", "labels"),
            {"app": "web", "tier": "fe", "name": "web"},
        ),
        (
            [
                {"op": "test", "path": "/spec/replicas", "value": 2},
                {"op": "replace", "path": "/spec/replicas", "value": 3},
            ],
            ("spec", "replicas"),
            3,
        ),
        ([{"op": "remove", "path": "/metadata/labels"}], ("metadata",), {"name": "web"}),
    ],
)
def test_json_patch_operations(
    ops: list[dict[str, Any]], path: tuple[Any, ...], expected: Any
) -> None:
    before = copy.deepcopy(DEPLOY)
    node: Any = json_patch(DEPLOY, ops)
    for part in path:
        node = node[part]
    assert node == expected
    assert before == DEPLOY


@pytest.mark.parametrize(
    ("ops", "code", "message"),
    [
        ([{"op": "replace", "path": "/spec/paused", "value": True}], 422, '"/spec/paused"'),
        ([{"op": "remove", "path": "/metadata/labels/nope"}], 422, "missing"),
        ([{"op": "add", "path": "/nope/x", "value": 1}], 422, '"/nope/x"'),
        (
            [{"op": "test", "path": "/spec/replicas", "value": 9}],
            422,
            "testing value /spec/replicas failed",
        ),
        (
            [{"op": "add", "path": "/spec/template/spec/containers/9", "value": {}}],
            422,
            "out of range",
        ),
        ([{"op": "frobnicate", "path": "/spec"}], 400, "frobnicate"),
        ([{"op": "add", "value": 1}], 400, "path"),
        ([{"op": "add", "path": "/x"}], 400, "value"),
        ({"op": "add"}, 400, "unmarshal"),
    ],
)
def test_json_patch_errors_name_the_operation_and_path(ops: Any, code: int, message: str) -> None:
    with pytest.raises(PatchError) as err:
        json_patch(DEPLOY, ops)
    assert err.value.code == code
    assert message in str(err.value)


def test_json_patch_operation_limit() -> None:
    ops = [{"op": "test", "path": "/kind", "value": "Deployment"}] * 10001
    with pytest.raises(PatchError) as err:
        json_patch(DEPLOY, ops)
    assert err.value.code == 413
    assert "10000, got 10001" in str(err.value)


def test_json_patch_is_atomic_on_failure() -> None:
    before = copy.deepcopy(DEPLOY)
    with pytest.raises(PatchError):
        json_patch(
            DEPLOY,
            [
                {"op": "replace", "path": "/spec/replicas", "value": 1},
                {"op": "remove", "path": "/nope"},
            ],
        )
    assert before == DEPLOY


def test_json_patch_can_reset_managed_fields() -> None:
    obj = copy.deepcopy(DEPLOY)
    obj["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    result = json_patch(obj, [{"op": "replace", "path": "/metadata/managedFields", "value": [{}]}])
    assert result["metadata"]["managedFields"] == [{}]
