"""kdeploy.hooks: reading hook annotations, separating hooks from release objects, run order."""

from __future__ import annotations

from typing import Any

import pytest

from kdeploy.errors import ValidationError
from kdeploy.hooks import (
    Hook,
    hook_lines,
    hooks_for,
    hooks_json,
    is_hook,
    parse_hook,
    phase,
    split,
)


def job(name: str, **annotations: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "shop"}
    if annotations:
        meta["annotations"] = {
            f"kdeploy.dev/{k.replace('_', '-')}": v for k, v in annotations.items()
        }
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta}


def test_objects_without_hook_annotation_are_regular() -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    found = split([deployment, job("migrate", hook="pre-apply"), job("plain")])
    assert [m["metadata"]["name"] for m in found.regular] == ["web", "plain"]
    assert [h.key.name for h in found.hooks] == ["migrate"]
    assert not is_hook(deployment) and is_hook(job("x", hook="post-apply"))


def test_defaults_and_comma_separated_phases() -> None:
    hook = parse_hook(job("m", hook=" pre-apply, pre-rollback ,pre-apply"))
    assert hook is not None
    assert hook.phases == ("pre-apply", "pre-rollback")
    assert hook.weight == 0
    assert hook.delete_policy == "before-run"
    assert hook.describe("pre-apply") == "pre-apply Job shop/m (weight 0)"


def test_phase_order_is_weight_then_kind_then_name() -> None:
    hooks = [
        parse_hook(job("b", hook="pre-apply", hook_weight="1")),
        parse_hook(job("a", hook="pre-apply", hook_weight="1")),
        parse_hook(job("z", hook="pre-apply", hook_weight="-5")),
        parse_hook(job("post", hook="post-apply", hook_weight="-100")),
        parse_hook(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "c",
                    "namespace": "shop",
                    "annotations": {
                        "kdeploy.dev/hook": "pre-apply",
                        "kdeploy.dev/hook-weight": "1",
                    },
                },
            }
        ),
    ]
    known = [h for h in hooks if h is not None]
    assert [h.key.name for h in hooks_for(known, "pre-apply")] == ["z", "c", "a", "b"]
    assert [h.key.name for h in hooks_for(known, "post-apply")] == ["post"]
    assert hooks_for(known, "pre-rollback") == []
    assert hook_lines(known)[-1] == "post-apply Job shop/post (weight -100)"


def test_phase_names() -> None:
    assert phase("apply", "pre") == "pre-apply"
    assert phase("rollback", "post") == "post-rollback"


@pytest.mark.parametrize(
    ("annotations", "message"),
    [
        ({"hook": "pre-install"}, "annotation kdeploy.dev/hook: unknown phase 'pre-install'"),
        ({"hook": ""}, "annotation kdeploy.dev/hook: unknown phase ''"),
        (
            {"hook": "pre-apply,post-upgrade"},
            "annotation kdeploy.dev/hook: unknown phase 'post-upgrade'",
        ),
        (
            {"hook": "pre-apply", "hook_weight": "high"},
            "annotation kdeploy.dev/hook-weight: 'high' is not an integer",
        ),
        (
            {"hook": "pre-apply", "hook_delete_policy": "hook-succeeded"},
            "annotation kdeploy.dev/hook-delete-policy: unknown policy 'hook-succeeded'",
        ),
        (
            {"hook_weight": "1"},
            "annotation kdeploy.dev/hook-weight without kdeploy.dev/hook",
        ),
    ],
)
def test_invalid_annotations_name_the_source_and_object(
    annotations: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        split([job("migrate", **annotations)], "packages/shop/templates/migrate.yaml")
    assert info.value.message == (
        f"packages/shop/templates/migrate.yaml: Job shop/migrate: {message}"
    )
    assert info.value.hint


def test_json_entries() -> None:
    hook = parse_hook(
        job("m", hook="post-apply,pre-apply", hook_weight="-5", hook_delete_policy="never")
    )
    assert isinstance(hook, Hook)
    assert hooks_json([hook], changed=[hook.key]) == [
        {
            "phases": ["post-apply", "pre-apply"],
            "weight": -5,
            "deletePolicy": "never",
            "apiVersion": "batch/v1",
            "kind": "Job",
            "namespace": "shop",
            "name": "m",
            "changed": True,
        }
    ]
