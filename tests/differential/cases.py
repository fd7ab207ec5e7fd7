"""The case tables: scenarios (how a client drives one object) crossed with kinds, plus cases
for what is not per kind (bodies, media types, limits, watches, CRDs, namespaces)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tests.differential.kinds import CORE, KINDS, UNSERVED, Kind, kind
from tests.differential.run import Case, Step

JSON = "application/json"
JSON_PATCH = "application/json-patch+json"
MERGE = "application/merge-patch+json"
SMP = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
CSA_MANAGER = "kubectl-client-side-apply"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# What a real server answers, from its sources (apimachinery/pkg/api/errors, apiserver handlers)
# and k8s-semantics.md section 5.
CREATED = (("code", 201),)
OK = (("code", 200),)
NOT_FOUND = (("code", 404), ("body.reason", "NotFound"))
ALREADY_EXISTS = (("code", 409), ("body.reason", "AlreadyExists"))
CONFLICT = (("code", 409), ("body.reason", "Conflict"))
INVALID = (("code", 422), ("body.reason", "Invalid"))
BAD_REQUEST = (("code", 400), ("body.reason", "BadRequest"))
UNSUPPORTED_MEDIA = (("code", 415), ("body.reason", "UnsupportedMediaType"))
TOO_LARGE = (("code", 413), ("body.reason", "RequestEntityTooLarge"))
METHOD_NOT_ALLOWED = (("code", 405), ("body.reason", "MethodNotAllowed"))


def _q(**params: str) -> tuple[tuple[str, str], ...]:
    return tuple((k.replace("_", ""), v) for k, v in params.items())


def quiet(step: Step) -> Step:
    """`step`, sent but not compared (it prepares state)."""
    return replace(step, check=False)


def post(k: Kind, body: Any, **query: str) -> Step:
    return Step("POST", k.collection, body, _q(**query))


def get(k: Kind, base: str = "x", **query: str) -> Step:
    return Step("GET", k.item(base), query=_q(**query))


def gone(k: Kind, base: str = "x") -> Step:
    """Wait until the object is gone (a real cluster's garbage collector takes its time)."""
    return Step("GET", k.item(base), until=404)


def delete(k: Kind, base: str = "x", body: Any = None, **query: str) -> Step:
    return Step("DELETE", k.item(base), body, _q(**query))


def patch(k: Kind, body: Any, ctype: str, base: str = "x", **query: str) -> Step:
    return Step("PATCH", k.item(base), body, _q(**query), content_type=ctype)


def apply(
    k: Kind,
    body: Any,
    manager: str = "difftest",
    base: str = "x",
    *,
    force: bool = False,
    dry: bool = False,
) -> Step:
    query: dict[str, str] = {"fieldManager": manager}
    if force:
        query["force"] = "true"
    if dry:
        query["dryRun"] = "All"
    return Step("PATCH", k.item(base), json.dumps(body), _q(**query), content_type=APPLY)


def put(k: Kind, body: Any, base: str = "x", **query: str) -> Step:
    return Step("PUT", k.item(base), body, _q(**query))


def last_applied(body: dict[str, Any]) -> dict[str, Any]:
    """`body` with the annotation `kubectl apply` (client-side) stores its input in."""
    out = json.loads(json.dumps(body))
    out["metadata"].setdefault("annotations", {})[LAST_APPLIED] = (
        json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n"
    )
    return out


# ---------------------------------------------------------------- scenarios over kinds

Scenario = Callable[[Kind], tuple[tuple[Step, ...], tuple[tuple[str, Any], ...]]]


def s_create(k: Kind) -> Any:
    return (post(k, k.manifest()),), CREATED


def s_create_generate_name(k: Kind) -> Any:
    body = k.manifest()
    body["metadata"]["generateName"] = body["metadata"].pop("name")[:-1] + "gen-"
    return (post(k, body),), CREATED


def s_create_dry_run(k: Kind) -> Any:
    return (post(k, k.manifest(), dryRun="All"), get(k)), NOT_FOUND


def s_create_exists(k: Kind) -> Any:
    return (post(k, k.manifest()), post(k, k.manifest())), ALREADY_EXISTS


def s_get(k: Kind) -> Any:
    return (post(k, k.manifest()), get(k)), OK


def s_get_missing(k: Kind) -> Any:
    return (get(k, "missing"),), NOT_FOUND


def s_list_label_selector(k: Kind) -> Any:
    steps = (
        post(k, k.manifest("b")),
        post(k, k.manifest("a")),
        post(k, k.manifest("c", labels={"app": "other"})),
        Step("GET", k.collection, query=_q(labelSelector="app in (diff)")),
    )
    return steps, OK


def s_list_field_selector(k: Kind) -> Any:
    steps = (
        post(k, k.manifest("a")),
        post(k, k.manifest("b")),
        Step("GET", k.collection, query=_q(fieldSelector=f"metadata.name={k.name('b')}")),
    )
    return steps, OK


def s_ssa_create(k: Kind) -> Any:
    return (apply(k, k.manifest()),), CREATED


def s_ssa_noop(k: Kind) -> Any:
    return (apply(k, k.manifest()), apply(k, k.manifest())), OK


def s_ssa_change(k: Kind) -> Any:
    return (apply(k, k.manifest()), apply(k, k.manifest(labels={"app": "diff", "v": "2"}))), OK


def s_ssa_remove_field(k: Kind) -> Any:
    first = k.manifest(labels={"app": "diff", "gone": "soon"})
    return (apply(k, first), apply(k, k.manifest())), OK


def s_ssa_dry_run(k: Kind) -> Any:
    changed = k.manifest(labels={"app": "diff", "v": "2"})
    return (apply(k, k.manifest()), apply(k, changed, dry=True), get(k)), OK


def s_ssa_dry_run_create(k: Kind) -> Any:
    return (apply(k, k.manifest(), dry=True), get(k)), NOT_FOUND


def s_ssa_conflict(k: Kind) -> Any:
    other = k.manifest(labels={"app": "other"})
    return (apply(k, k.manifest(), "first"), apply(k, other, "second")), CONFLICT


def s_ssa_force(k: Kind) -> Any:
    other = k.manifest(labels={"app": "other"})
    return (apply(k, k.manifest(), "first"), apply(k, other, "second", force=True)), OK


def s_ssa_shared_field(k: Kind) -> Any:
    return (apply(k, k.manifest(), "first"), apply(k, k.manifest(), "second")), OK


def s_update_then_apply_conflict(k: Kind) -> Any:
    other = k.manifest(labels={"app": "other"})
    return (post(k, k.manifest(), fieldManager="creator"), apply(k, other)), CONFLICT


def s_csa_create(k: Kind) -> Any:
    return (post(k, last_applied(k.manifest()), fieldManager=CSA_MANAGER),), CREATED


def s_csa_update(k: Kind) -> Any:
    new = k.manifest(labels={"app": "diff", "v": "2"})
    smp = {
        "metadata": {
            "annotations": {
                LAST_APPLIED: last_applied(new)["metadata"]["annotations"][LAST_APPLIED]
            },
            "labels": {"v": "2"},
        }
    }
    steps = (
        post(k, last_applied(k.manifest()), fieldManager=CSA_MANAGER),
        patch(k, smp, SMP, fieldManager=CSA_MANAGER),
    )
    return steps, OK


def s_csa_then_ssa(k: Kind) -> Any:
    steps = (
        post(k, last_applied(k.manifest()), fieldManager=CSA_MANAGER),
        apply(k, k.manifest(labels={"app": "diff", "v": "2"}), "kubectl"),
    )
    return steps, OK


def s_merge_patch(k: Kind) -> Any:
    body = {"metadata": {"labels": {"extra": "1", "app": None}}}
    return (post(k, k.manifest()), patch(k, body, MERGE)), OK


def s_json_patch(k: Kind) -> Any:
    ops = [
        {"op": "add", "path": "/metadata/labels/extra", "value": "1"},
        {"op": "replace", "path": "/metadata/labels/app", "value": "j"},
    ]
    return (post(k, k.manifest()), patch(k, ops, JSON_PATCH)), OK


def s_json_patch_test_fails(k: Kind) -> Any:
    ops = [{"op": "test", "path": "/metadata/labels/app", "value": "nope"}]
    return (post(k, k.manifest()), patch(k, ops, JSON_PATCH)), ()


def s_json_patch_missing_path(k: Kind) -> Any:
    ops = [{"op": "remove", "path": "/metadata/annotations/nope"}]
    return (post(k, k.manifest()), patch(k, ops, JSON_PATCH)), ()


def s_strategic_patch(k: Kind) -> Any:
    body = {"metadata": {"labels": {"extra": "1"}, "annotations": {"a": "b"}}}
    return (post(k, k.manifest()), patch(k, body, SMP)), OK


def s_patch_missing(k: Kind) -> Any:
    return (patch(k, {"metadata": {"labels": {"a": "b"}}}, MERGE, "missing"),), NOT_FOUND


def s_patch_dry_run(k: Kind) -> Any:
    body = {"metadata": {"labels": {"extra": "1"}}}
    return (post(k, k.manifest()), patch(k, body, MERGE, dryRun="All"), get(k)), OK


def s_patch_json_content_type(k: Kind) -> Any:
    body = {"metadata": {"labels": {"extra": "1"}}}
    return (
        post(k, k.manifest()),
        Step("PATCH", k.item("x"), json.dumps(body), content_type="application/json"),
    ), UNSUPPORTED_MEDIA


def s_put(k: Kind) -> Any:
    new = k.manifest(labels={"app": "diff", "v": "2"}, resourceVersion="${rv0}")
    return (post(k, k.manifest()), put(k, new)), OK


def s_put_stale(k: Kind) -> Any:
    stale = k.manifest(labels={"app": "diff", "v": "3"}, resourceVersion="${rv0}")
    steps = (
        post(k, k.manifest()),
        patch(k, {"metadata": {"labels": {"v": "2"}}}, MERGE),
        put(k, stale),
    )
    return steps, CONFLICT


def s_put_missing(k: Kind) -> Any:
    return (put(k, k.manifest("missing")),), ()


def s_put_name_mismatch(k: Kind) -> Any:
    return (post(k, k.manifest()), put(k, k.manifest("y"), "x")), BAD_REQUEST


def s_delete(k: Kind) -> Any:
    # Some deletions finish asynchronously on a real cluster (a pod's kubelet, the PVC
    # protection controller, the garbage collector's `orphan` finalizer): wait, then read.
    return (post(k, k.manifest()), delete(k), gone(k), get(k)), NOT_FOUND


# registries with ReturnDeletedObject (pods, services, serviceaccounts, storageclasses) answer a
# DELETE with the object; the others with a Status of the deleted object's name, kind and uid
# The registry stores with ReturnDeletedObject: true in k8s.io/kubernetes v1.37 (pkg/registry).
RETURNS_DELETED_OBJECT = (
    "Pod",
    "Service",
    "ServiceAccount",
    "Namespace",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "ResourceQuota",
    "PodTemplate",
    "StorageClass",
    "VolumeAttachment",
    "CSIDriver",
    "CSINode",
    "VolumeAttributesClass",
    # not ReturnDeletedObject, but core/v1 RCs and batch/v1 Jobs orphan by default: the
    # `orphan` finalizer holds the object, which is the answer (measured on kube-apiserver
    # v1.37.2)
    "ReplicationController",
    "Job",
)


def s_delete_response(k: Kind) -> Any:
    kind = k.kind if k.kind in RETURNS_DELETED_OBJECT else "Status"
    return (post(k, k.manifest()), delete(k)), (("code", 200), ("body.kind", kind))


def _propagation(policy: str) -> Scenario:
    def scenario(k: Kind) -> Any:
        opts = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": policy}
        return (post(k, k.manifest()), delete(k, body=opts), gone(k)), OK

    return scenario


def s_delete_dry_run(k: Kind) -> Any:
    return (post(k, k.manifest()), delete(k, dryRun="All"), get(k)), OK


def s_delete_missing(k: Kind) -> Any:
    return (delete(k, "missing"),), NOT_FOUND


def s_delete_precondition(k: Kind) -> Any:
    opts = {"preconditions": {"resourceVersion": "1"}}
    return (post(k, k.manifest()), delete(k, body=opts)), CONFLICT


def s_finalizer(k: Kind) -> Any:
    held = k.manifest(finalizers=["example.com/hold"])
    steps = (
        post(k, held),
        delete(k),
        get(k),
        patch(k, {"metadata": {"finalizers": None}}, MERGE),
        get(k),
    )
    return steps, NOT_FOUND


def s_invalid_name(k: Kind) -> Any:
    return (post(k, k.manifest("Bad_Name")),), CREATED if k.rbac else INVALID


def s_invalid_path_name(k: Kind) -> Any:
    return (post(k, k.manifest("bad%name")),), INVALID


def s_missing_name(k: Kind) -> Any:
    body = k.manifest()
    del body["metadata"]["name"]
    return (post(k, body),), INVALID


def s_bad_label(k: Kind) -> Any:
    return (post(k, k.manifest(labels={"app": "-bad-"})),), INVALID


def s_kind_mismatch(k: Kind) -> Any:
    body = k.manifest()
    body["kind"] = "Nope"
    return (post(k, body),), BAD_REQUEST


def s_unknown_field(k: Kind) -> Any:
    body = k.manifest()
    body["bogus"] = 1
    return (Step("POST", k.collection, body, _q(fieldValidation="Strict")),), BAD_REQUEST


def s_unknown_field_warn(k: Kind) -> Any:
    body = k.manifest()
    body["bogus"] = 1
    return (post(k, body),), CREATED


def s_bad_json(k: Kind) -> Any:
    return (Step("POST", k.collection, b'{"apiVersion": "v1", "kind"', content_type=JSON),), (
        BAD_REQUEST
    )


def s_text_plain(k: Kind) -> Any:
    raw = json.dumps(k.manifest()).encode()
    return (Step("POST", k.collection, raw, content_type="text/plain"),), UNSUPPORTED_MEDIA


def s_yaml_body(k: Kind) -> Any:
    import yaml

    raw = yaml.safe_dump(k.manifest()).encode()
    return (Step("POST", k.collection, raw, content_type="application/yaml"),), CREATED


def s_namespace_mismatch(k: Kind) -> Any:
    body = k.manifest()
    body["metadata"]["namespace"] = "elsewhere"
    return (post(k, body),), BAD_REQUEST


def s_watch_from_rv(k: Kind) -> Any:
    steps = (
        post(k, k.manifest()),
        quiet(patch(k, {"metadata": {"labels": {"v": "2"}}}, MERGE)),
        quiet(delete(k)),
        Step(
            "GET",
            k.collection,
            query=_q(
                watch="true",
                resourceVersion="${rv0}",
                timeoutSeconds="1",
                fieldSelector=f"metadata.name={k.name('x')}",
            ),
        ),
    )
    return steps, OK


def s_list_limit_continue(k: Kind) -> Any:
    steps = (
        post(k, k.manifest("a")),
        post(k, k.manifest("b")),
        post(k, k.manifest("c")),
        Step("GET", k.collection, query=_q(limit="2", labelSelector="app=diff")),
    )
    return steps, OK


PER_KIND: dict[str, Scenario] = {
    "create": s_create,
    "get": s_get,
    "get-missing": s_get_missing,
    "ssa-create": s_ssa_create,
    "ssa-noop": s_ssa_noop,
    "csa-update": s_csa_update,
    "merge-patch": s_merge_patch,
    "json-patch": s_json_patch,
    "strategic-patch": s_strategic_patch,
    "put-stale": s_put_stale,
    "delete": s_delete,
    "delete-response": s_delete_response,
    "finalizer": s_finalizer,
    "list-label-selector": s_list_label_selector,
    "invalid-name": s_invalid_name,
    "invalid-path-name": s_invalid_path_name,
}

# the core kinds get every scenario
CORE_ONLY: dict[str, Scenario] = {
    "create-generate-name": s_create_generate_name,
    "create-dry-run": s_create_dry_run,
    "create-exists": s_create_exists,
    "list-field-selector": s_list_field_selector,
    "list-limit": s_list_limit_continue,
    "ssa-change": s_ssa_change,
    "ssa-remove-field": s_ssa_remove_field,
    "ssa-dry-run": s_ssa_dry_run,
    "ssa-dry-run-create": s_ssa_dry_run_create,
    "ssa-conflict": s_ssa_conflict,
    "ssa-force": s_ssa_force,
    "ssa-shared-field": s_ssa_shared_field,
    "update-then-apply-conflict": s_update_then_apply_conflict,
    "csa-create": s_csa_create,
    "csa-then-ssa": s_csa_then_ssa,
    "json-patch-test-fails": s_json_patch_test_fails,
    "json-patch-missing-path": s_json_patch_missing_path,
    "patch-missing": s_patch_missing,
    "patch-dry-run": s_patch_dry_run,
    "patch-json-content-type": s_patch_json_content_type,
    "put": s_put,
    "put-missing": s_put_missing,
    "put-name-mismatch": s_put_name_mismatch,
    "delete-orphan": _propagation("Orphan"),
    "delete-foreground": _propagation("Foreground"),
    "delete-background": _propagation("Background"),
    "delete-dry-run": s_delete_dry_run,
    "delete-missing": s_delete_missing,
    "delete-precondition": s_delete_precondition,
    "missing-name": s_missing_name,
    "bad-label": s_bad_label,
    "kind-mismatch": s_kind_mismatch,
    "unknown-field-strict": s_unknown_field,
    "unknown-field-warn": s_unknown_field_warn,
    "bad-json": s_bad_json,
    "text-plain": s_text_plain,
    "yaml-body": s_yaml_body,
    "watch-from-rv": s_watch_from_rv,
}

NAMESPACED_ONLY = {"namespace-mismatch": s_namespace_mismatch}
UNSERVED_SCENARIOS = ("create", "get", "ssa-create", "delete-response")


def _case(k: Kind, name: str, scenario: Scenario) -> Case:
    steps, expect = scenario(k)
    return Case(
        id=f"{k.slug}-{name}",
        steps=steps,
        expect=expect,
        known=k.known,
        drop=k.drop,
        drop_managers=k.drop_managers,
        needs_service_account=k.needs_service_account,
    )


def kind_cases() -> list[Case]:
    """Every scenario for the core kinds, the common ones for the rest."""
    out: list[Case] = []
    for k in KINDS:
        scenarios = dict(PER_KIND)
        if k.kind in CORE:
            scenarios.update(CORE_ONLY)
        if k.namespaced:
            scenarios.update(NAMESPACED_ONLY)
        if k.controlled:  # controllers move the resourceVersion: a PUT races them
            scenarios.pop("put", None)
            scenarios.pop("watch-from-rv", None)  # their status writes are events too
        out.extend(_case(k, name, s) for name, s in scenarios.items())
    for k in UNSERVED:
        out.extend(_case(k, name, PER_KIND[name]) for name in UNSERVED_SCENARIOS)
    return out


__all__ = ["all_cases", "kind", "kind_cases"]


def all_cases() -> list[Case]:
    """Every case of the suite, ids unique."""
    from tests.differential.special import special_cases

    cases = kind_cases() + special_cases()
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases
