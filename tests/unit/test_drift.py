"""The pure parts of the drift policy: which conflicting fields kdeploy set before (reclaimed) and
which it never set (conflicts), Secret keys a plan would remove, and where their values came from."""

from __future__ import annotations

from typing import Any

import pytest

from kdeploy import diff as diffmod
from kdeploy.actions.secret_removal import emptied_value_paths, empty_value_paths
from kdeploy.drift import (
    classify,
    reclaimable,
    secret_data_drift,
    sets_field,
    unrecorded_scale,
)
from kdeploy.kube.client import error_from_status
from kdeploy.model import ObjectKey

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "web"}},
    "spec": {
        "replicas": 2,
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "image": "nginx:1.27",
                        "ports": [{"containerPort": 80}],
                        "args": ["--a", "--b"],
                    }
                ]
            }
        },
    },
}
KEY = ObjectKey("apps", "Deployment", "shop", "web")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".spec.replicas", True),
        ('.spec.template.spec.containers[name="app"].image', True),
        ('.spec.template.spec.containers[name="app"]', True),
        ('.spec.template.spec.containers[name="other"].image', False),
        ('.spec.template.spec.containers[name="app"].resources', False),
        # a defaulted key (protocol) left out of the manifest does not rule the item out
        ('.spec.template.spec.containers[name="app"].ports[containerPort=80,protocol="TCP"]', True),
        (
            '.spec.template.spec.containers[name="app"].ports[containerPort=81,protocol="TCP"]',
            False,
        ),
        ('.spec.template.spec.containers[name="app"].args[1]', True),
        ('.spec.template.spec.containers[name="app"].args[2]', False),
        # label keys contain dots
        (".metadata.labels.app.kubernetes.io/name", True),
        (".metadata.labels.app.kubernetes.io/part-of", False),
        (".spec.paused", False),
        (".spec.replicas[0]", False),
        ('.spec.template.spec.containers[name="app"', False),
    ],
)
def test_sets_field_follows_server_field_paths(path: str, expected: bool) -> None:
    assert sets_field(DEPLOYMENT, path) is expected


def test_sets_field_of_set_members_and_secret_string_data() -> None:
    finalized = {"metadata": {"finalizers": ["a/b", "c"]}}
    assert sets_field(finalized, '.metadata.finalizers[="a/b"]')
    assert not sets_field(finalized, '.metadata.finalizers[="x"]')
    secret = {"apiVersion": "v1", "kind": "Secret", "stringData": {"password": "x"}}
    assert sets_field(secret, ".data.password")
    assert not sets_field(secret, ".data.user")


def test_classify_reclaims_what_kdeploy_set_and_stops_on_the_rest() -> None:
    conflicts = [(".spec.replicas", '"kubectl"'), (".spec.paused", '"ops"')]
    drift = classify(KEY, conflicts, [DEPLOYMENT])
    assert [(d.field, d.action) for d in drift] == [
        (".spec.replicas", "reclaim"),
        (".spec.paused", "conflict"),
    ]
    assert reclaimable(drift, KEY) == {".spec.replicas"}
    assert drift[0].describe() == (
        'Deployment.apps shop/web: reverted drift: .spec.replicas was changed by "kubectl"'
    )
    assert drift[1].describe() == (
        'conflict: Deployment.apps shop/web .spec.paused is owned by "ops" (kdeploy never set it)'
    )
    # no earlier manifest (a first apply onto an object taken over): nothing is reclaimed
    assert {d.action for d in classify(KEY, conflicts, [])} == {"conflict"}


def test_classify_never_reclaims_replicas_an_autoscaler_owns() -> None:
    (d,) = classify(
        KEY,
        [(".spec.replicas", '"kube-controller-manager"')],
        [DEPLOYMENT],
        "HorizontalPodAutoscaler shop/web",
    )
    assert d.action == "conflict" and d.reason == "HorizontalPodAutoscaler shop/web scales it"


def test_conflict_error_carries_each_field_and_manager() -> None:
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "kubectl" with subresource "scale" using apps/v1',
            "field": ".spec.replicas",
        },
        {"reason": "FieldManagerConflict", "message": 'conflict with "ops"', "field": ".a"},
    ]
    error = error_from_status(
        {"details": {"causes": causes}}, 409, action="apply", target="Deployment.apps shop/web"
    )
    assert error.fields == (  # type: ignore[attr-defined]
        (".spec.replicas", '"kubectl" with subresource "scale"'),
        (".a", '"ops"'),
    )


def _secret(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "data": data}


def test_secret_removals_lists_removed_emptied_and_new_empty_keys_only() -> None:
    key = ObjectKey("", "Secret", "shop", "db")
    before = _secret(password="cGFzcw==", user="dQ==", token="", kept="aw==")
    after = _secret(password="", kept="aw==", new="bg==", token="", added="")
    plan = diffmod.Plan((diffmod.Change(key, "change", before, after),))
    assert [(r.data_key, r.how) for r in diffmod.secret_removals(plan)] == [
        ("password", "emptied"),
        ("user", "removed"),
        ("added", "created empty"),
    ]
    created = {**_secret(user="dQ==", password=""), "stringData": {"token": ""}}
    first = diffmod.Plan((diffmod.Change(key, "create", None, created),))
    assert [r.describe() for r in diffmod.secret_removals(first)] == [
        "Secret shop/db: key password would be created empty",
        "Secret shop/db: key token would be created empty",
    ]
    # other kinds and deletes are not Secret data removals
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}}
    others = diffmod.Plan(
        (
            diffmod.Change(
                ObjectKey("", "ConfigMap", "shop", "c"), "change", cm, {**cm, "data": {}}
            ),
            diffmod.Change(key, "delete", before, None),
        )
    )
    assert diffmod.secret_removals(others) == []


def test_emptied_value_paths_names_secret_values_that_are_empty_now() -> None:
    previous = {
        "db": {"password": "<redacted:sha256:abcd1234>", "host": "db"},
        "tokens": ["<redacted:sha256:1>", "<redacted:sha256:2>"],
        "api": "<redacted:sha256:ffff0000>",
    }
    current = {"db": {"password": "", "host": ""}, "tokens": ["t"], "api": "set"}
    assert emptied_value_paths(previous, current) == ["values.db.password", "values.tokens[1]"]


def test_empty_value_paths_names_every_empty_string() -> None:
    values = {"db": {"password": "", "port": 0}, "keys": ["a", ""], "note": None}
    assert empty_value_paths(values) == ["values.db.password", "values.keys[1]"]


def _scaled(replicas: int, *owners: dict[str, Any]) -> dict[str, Any]:
    return {
        **DEPLOYMENT,
        "metadata": {"name": "web", "managedFields": list(owners)},
        "spec": {**DEPLOYMENT["spec"], "replicas": replicas},
    }


_KDEPLOY_WITHOUT_REPLICAS = {"manager": "kdeploy", "fieldsV1": {"f:spec": {"f:selector": {}}}}
_SCALER = {"manager": "kubectl", "subresource": "scale", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
_NO_REPLICAS = {**DEPLOYMENT, "spec": {"template": DEPLOYMENT["spec"]["template"]}}


def test_unrecorded_scale_is_a_conflict_when_kdeploy_never_set_replicas() -> None:
    found = unrecorded_scale(KEY, DEPLOYMENT, _scaled(3, _KDEPLOY_WITHOUT_REPLICAS), [_NO_REPLICAS])
    assert found is not None and found.action == "conflict" and found.manager == ""
    assert found.describe().startswith(
        "conflict: Deployment.apps shop/web .spec.replicas was changed outside kdeploy "
        "(kdeploy never set it; it is 3, set through the scale subresource"
    )
    hpa = unrecorded_scale(
        KEY, DEPLOYMENT, _scaled(3), [], autoscaler="HorizontalPodAutoscaler shop/web"
    )
    assert hpa is not None and hpa.reason.startswith("HorizontalPodAutoscaler shop/web scales it;")


@pytest.mark.parametrize(
    ("desired", "live", "applied"),
    [
        (DEPLOYMENT, _scaled(1), []),  # the default: nobody scaled it
        (DEPLOYMENT, _scaled(2), []),  # already the wanted value
        (DEPLOYMENT, _scaled(3, _SCALER), []),  # recorded: the dry run reports it
        (DEPLOYMENT, _scaled(3), [DEPLOYMENT]),  # kdeploy set it before: reclaimed drift
        (_NO_REPLICAS, _scaled(3), []),  # the package leaves replicas alone
    ],
)
def test_unrecorded_scale_is_none_otherwise(
    desired: dict[str, Any], live: dict[str, Any], applied: list[dict[str, Any]]
) -> None:
    assert unrecorded_scale(KEY, desired, live, applied) is None
    cm = ObjectKey("", "ConfigMap", "shop", "web")
    assert unrecorded_scale(cm, DEPLOYMENT, _scaled(3), []) is None


def _live_secret(password: str, *owners: dict[str, Any]) -> dict[str, Any]:
    return {**_secret(password=password), "metadata": {"name": "db", "managedFields": list(owners)}}


_EDITOR = {"manager": "kubectl-edit", "fieldsV1": {"f:data": {"f:password": {}}}}
_KDEPLOY_STRING_DATA = {"manager": "kdeploy", "fieldsV1": {"f:stringData": {"f:password": {}}}}
_SET_BEFORE = {**_secret(), "stringData": {"password": "p"}}


def test_secret_data_drift_names_who_edited_a_key_kdeploy_writes_through_string_data() -> None:
    key = ObjectKey("", "Secret", "shop", "db")
    live = _live_secret("ZWRpdGVk", _KDEPLOY_STRING_DATA, _EDITOR)
    (d,) = secret_data_drift(key, live, _secret(password="cA=="), [_SET_BEFORE])
    assert d.describe() == (
        'Secret shop/db: reverted drift: .data.password was changed by "kubectl-edit"'
    )
    (never,) = secret_data_drift(key, live, _secret(password="cA=="), [])
    assert never.action == "conflict"
    # the same value, kdeploy's own ownership, or another kind: nothing to report
    assert secret_data_drift(key, live, _secret(password="ZWRpdGVk"), [_SET_BEFORE]) == []
    ours = _live_secret("ZWRpdGVk", {"manager": "kdeploy", "fieldsV1": _EDITOR["fieldsV1"]})
    assert secret_data_drift(key, ours, _secret(password="cA=="), [_SET_BEFORE]) == []
    assert secret_data_drift(KEY, live, _secret(password="cA=="), [_SET_BEFORE]) == []
