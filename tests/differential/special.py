"""Cases that are not one scenario per kind: selectors, watches, namespaces, CRDs and custom
resources, status subresources, malformed bodies, media types, methods and size limits."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.differential.cases import (
    APPLY,
    BAD_REQUEST,
    CONFLICT,
    CREATED,
    INVALID,
    JSON,
    JSON_PATCH,
    MERGE,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    OK,
    SMP,
    TOO_LARGE,
    UNSUPPORTED_MEDIA,
    _q,
    apply,
    delete,
    get,
    gone,
    last_applied,
    patch,
    post,
    put,
    quiet,
)
from tests.differential.kinds import ASYNC_DROP, ASYNC_MANAGERS, kind
from tests.differential.run import Case, Step

CM = kind("ConfigMap")
SECRET = kind("Secret")
POD = kind("Pod")
SVC = kind("Service")
DEPLOY = kind("Deployment")
FORBIDDEN = (("code", 403), ("body.reason", "Forbidden"))
MIB = 1024 * 1024

# Differences of the emulator from a real kube-apiserver, not fixed yet (docs/emulator.md).
LIST_OPTIONS = "list options are not validated (resourceVersionMatch without resourceVersion)"
CR_SCHEMA = "custom resources are not validated against the CRD's openAPIV3Schema types"
CR_STRICT = "fieldValidation=Strict does not reject unknown fields of custom resources"
TYPED_DECODE = "a body whose field has the wrong JSON type is accepted (real: 400 decode error)"
DUPLICATE_KEY = "fieldValidation=Strict does not reject duplicate JSON keys"


def _cm(name: str, labels: dict[str, str]) -> Step:
    return quiet(post(CM, CM.manifest(name, labels=labels)))


SELECTOR_SETUP = (
    _cm("a", {"app": "web", "tier": "front"}),
    _cm("b", {"app": "web", "tier": "back"}),
    _cm("c", {"app": "db"}),
    _cm("d", {}),
)

LABEL_SELECTORS: tuple[tuple[str, str, Any], ...] = (
    ("equals", "app=web", OK),
    ("double-equals", "app==web", OK),
    ("not-equals", "app!=web", OK),
    ("in", "app in (web,db)", OK),
    ("notin", "tier notin (front)", OK),
    ("exists", "tier", OK),
    ("not-exists", "!tier", OK),
    ("and", "app=web,tier=back", OK),
    ("no-match", "app=nothing", OK),
    ("empty-value", "app=", OK),
    ("invalid", "app in (", BAD_REQUEST),
    ("invalid-value", "app=-x-", BAD_REQUEST),
)

FIELD_SELECTORS: tuple[tuple[str, str, Any], ...] = (
    ("name", "metadata.name=b", OK),
    ("name-not", "metadata.name!=b", OK),
    ("namespace", "metadata.namespace=${ns}", OK),
    ("namespace-other", "metadata.namespace=other", OK),
    ("unsupported", "data.k=v", BAD_REQUEST),
    ("bad-syntax", "metadata.name", BAD_REQUEST),
)


def selector_cases() -> list[Case]:
    out = [
        Case(
            f"list-label-{name}",
            (*SELECTOR_SETUP, Step("GET", CM.collection, query=_q(labelSelector=sel))),
            expect=expect,
        )
        for name, sel, expect in LABEL_SELECTORS
    ]
    out += [
        Case(
            f"list-field-{name}",
            (*SELECTOR_SETUP, Step("GET", CM.collection, query=_q(fieldSelector=sel))),
            expect=expect,
        )
        for name, sel, expect in FIELD_SELECTORS
    ]
    out += [
        Case(
            "list-secret-type-field",
            (
                quiet(post(SECRET, SECRET.manifest("a"))),
                quiet(post(SECRET, {**SECRET.manifest("b"), "type": "example.com/other"})),
                Step("GET", SECRET.collection, query=_q(fieldSelector="type=Opaque")),
            ),
            expect=OK,
        ),
        Case(
            "list-pod-phase-field",
            (
                quiet(post(POD, POD.manifest("a"))),
                Step("GET", POD.collection, query=_q(fieldSelector="status.phase=Running")),
            ),
            expect=OK,
            needs_service_account=True,
        ),
        Case(
            "list-order-by-name",
            (
                *(quiet(post(CM, CM.manifest(n))) for n in ("m", "z", "a", "k")),
                Step("GET", CM.collection, query=_q(labelSelector="app=diff")),
            ),
            expect=OK,
        ),
        Case(
            "list-limit-1",
            (*SELECTOR_SETUP, Step("GET", CM.collection, query=_q(limit="1", labelSelector="app"))),
            expect=OK,
        ),
        Case(
            "list-limit-continue",
            (
                *SELECTOR_SETUP,
                Step("GET", CM.collection, query=_q(limit="1", labelSelector="app")),
                Step(
                    "GET",
                    CM.collection,
                    query=_q(limit="1", labelSelector="app", **{"continue": "${continue}"}),
                ),
            ),
            expect=OK,
        ),
        Case(
            "list-bad-continue",
            (Step("GET", CM.collection, query=_q(**{"continue": "garbage"})),),
            expect=BAD_REQUEST,
        ),
        Case(
            "list-rv-0",
            (
                *SELECTOR_SETUP,
                Step("GET", CM.collection, query=_q(resourceVersion="0", labelSelector="app")),
            ),
            expect=OK,
        ),
        Case(
            "list-rv-match-bad",
            (Step("GET", CM.collection, query=_q(resourceVersionMatch="Exact")),),
            expect=INVALID,
            known=LIST_OPTIONS,
        ),
        Case(
            "list-all-namespaces",
            (
                _cm("a", {"diffrun": "${ns}"}),
                Step("GET", "/api/v1/configmaps", query=_q(labelSelector="diffrun=${ns}")),
            ),
            expect=OK,
        ),
        Case(
            "list-table-accept",
            (_cm("a", {"app": "x"}), Step("GET", CM.item("missing"))),
            expect=NOT_FOUND,
        ),
    ]
    return out


def _watch(path: str, **query: str) -> Step:
    return Step("GET", path, query=_q(watch="true", timeoutSeconds="1", **query))


def watch_cases() -> list[Case]:
    sel = {"labelSelector": "app=diff"}
    return [
        Case(
            "watch-events-after-rv",
            (
                post(CM, CM.manifest("a")),
                quiet(post(CM, CM.manifest("b"))),
                quiet(patch(CM, {"data": {"k": "2"}}, MERGE, "a")),
                quiet(delete(CM, "b")),
                _watch(CM.collection, resourceVersion="${rv0}", **sel),
            ),
            expect=OK,
        ),
        Case(
            "watch-label-selector-leaves",
            (
                post(CM, CM.manifest("a")),
                quiet(patch(CM, {"metadata": {"labels": {"app": "gone"}}}, MERGE, "a")),
                _watch(CM.collection, resourceVersion="${rv0}", **sel),
            ),
            expect=OK,
        ),
        Case(
            "watch-initial-state",
            (
                quiet(post(CM, CM.manifest("b"))),
                quiet(post(CM, CM.manifest("a"))),
                _watch(CM.collection, **sel),
            ),
            expect=OK,
        ),
        Case(
            "watch-one-object",
            (
                post(CM, CM.manifest("a")),
                quiet(patch(CM, {"data": {"k": "2"}}, MERGE, "a")),
                _watch(CM.collection, resourceVersion="${rv0}", fieldSelector="metadata.name=a"),
            ),
            expect=OK,
        ),
        Case(
            "watch-bad-selector",
            (_watch(CM.collection, labelSelector="a in ("),),
            expect=BAD_REQUEST,
        ),
    ]


def _ns(name: str = "n-${ns}", **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, **meta}}


NS = "/api/v1/namespaces"
NS_ITEM = "/api/v1/namespaces/n-${ns}"
NS_CM = "/api/v1/namespaces/n-${ns}/configmaps"


def namespace_cases() -> list[Case]:
    held = CM.manifest("held", finalizers=["example.com/hold"])
    release = Step("PATCH", NS_CM + "/held", {"metadata": {"finalizers": None}}, content_type=MERGE)
    return [
        Case("namespace-create", (Step("POST", NS, _ns()),), expect=CREATED),
        Case("namespace-get", (quiet(Step("POST", NS, _ns())), Step("GET", NS_ITEM)), expect=OK),
        Case("namespace-invalid-name", (Step("POST", NS, _ns("Bad.Name")),), expect=INVALID),
        Case(
            "namespace-ssa",
            (
                Step(
                    "PATCH",
                    NS_ITEM,
                    json.dumps(_ns(labels={"a": "b"})),
                    _q(fieldManager="difftest"),
                    content_type=APPLY,
                ),
            ),
            expect=CREATED,
        ),
        Case(
            "namespace-delete", (quiet(Step("POST", NS, _ns())), Step("DELETE", NS_ITEM)), expect=OK
        ),
        Case(
            "namespace-delete-gone",
            (
                quiet(Step("POST", NS, _ns())),
                quiet(Step("DELETE", NS_ITEM)),
                Step("GET", NS_ITEM, until=404),
                Step("GET", NS_ITEM),
            ),
            expect=NOT_FOUND,
        ),
        Case(
            "namespace-create-in-terminating",
            (
                quiet(Step("POST", NS, _ns())),
                quiet(Step("POST", NS_CM, held)),
                quiet(Step("DELETE", NS_ITEM)),
                Step("POST", NS_CM, CM.manifest("w", generateName="w-"), until=403),
                Step("POST", NS_CM, CM.manifest("late")),
            ),
            expect=FORBIDDEN,
            cleanup=(release,),
        ),
        Case(
            "namespace-missing-create-in",
            (Step("POST", "/api/v1/namespaces/nope-${ns}/configmaps", CM.manifest()),),
            expect=NOT_FOUND,
        ),
        Case(
            "namespace-finalizer-spec",
            (
                quiet(Step("POST", NS, _ns())),
                quiet(Step("POST", NS_CM, held)),
                Step("DELETE", NS_ITEM),
                Step("GET", NS_CM + "/held"),
            ),
            expect=OK,
            cleanup=(release,),
            drop=(("status",),),
            drop_managers=ASYNC_MANAGERS,
        ),
    ]


def _crd(scope: str = "Namespaced", status: bool = True) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "size": {"type": "integer", "default": 1},
                    "color": {"type": "string"},
                    "tags": {
                        "type": "array",
                        "items": {"type": "string"},
                        "x-kubernetes-list-type": "set",
                    },
                },
            },
            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
        },
    }
    version: dict[str, Any] = {
        "name": "v1",
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": schema},
    }
    if status:
        version["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.${ns}.example.com"},
        "spec": {
            "group": "${ns}.example.com",
            "scope": scope,
            "names": {
                "plural": "widgets",
                "singular": "widget",
                "kind": "Widget",
                "listKind": "WidgetList",
            },
            "versions": [version],
        },
    }


CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
CRD_ITEM = CRDS + "/widgets.${ns}.example.com"
WIDGETS = "/apis/${ns}.example.com/v1/namespaces/${ns}/widgets"
WIDGET = WIDGETS + "/w"
CRD_DROP = (*ASYNC_DROP, ("metadata", "generation"))


def _widget(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "${ns}.example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "labels": {"app": "diff"}},
        "spec": spec or {"color": "red"},
    }


def _with_crd(*steps: Step, status: bool = True) -> tuple[Step, ...]:
    return (quiet(Step("POST", CRDS, _crd(status=status))), Step("GET", WIDGETS, until=200), *steps)


def crd_cases() -> list[Case]:
    delete_crd = Step("DELETE", CRD_ITEM)
    w_ssa = Step(
        "PATCH", WIDGET, json.dumps(_widget()), _q(fieldManager="difftest"), content_type=APPLY
    )
    w_post = Step("POST", WIDGETS, _widget())
    table: list[tuple[Any, ...]] = [
        ("cr-create", _with_crd(w_post), CREATED),
        ("cr-create-defaults", _with_crd(Step("POST", WIDGETS, _widget(color="b"))), CREATED),
        ("cr-get", _with_crd(quiet(w_post), Step("GET", WIDGET)), OK),
        ("cr-list", _with_crd(quiet(w_post), Step("GET", WIDGETS)), OK),
        ("cr-ssa-create", _with_crd(w_ssa), CREATED),
        ("cr-ssa-noop", _with_crd(w_ssa, w_ssa), OK),
        (
            "cr-ssa-conflict",
            _with_crd(
                w_ssa,
                Step(
                    "PATCH",
                    WIDGET,
                    json.dumps(_widget(color="blue")),
                    _q(fieldManager="other"),
                    content_type=APPLY,
                ),
            ),
            CONFLICT,
        ),
        (
            "cr-ssa-set-merge",
            _with_crd(
                Step(
                    "PATCH",
                    WIDGET,
                    json.dumps(_widget(tags=["a"])),
                    _q(fieldManager="one"),
                    content_type=APPLY,
                ),
                Step(
                    "PATCH",
                    WIDGET,
                    json.dumps(_widget(tags=["b"])),
                    _q(fieldManager="two"),
                    content_type=APPLY,
                ),
            ),
            OK,
        ),
        (
            "cr-merge-patch",
            _with_crd(
                quiet(w_post),
                Step("PATCH", WIDGET, {"spec": {"color": "blue"}}, content_type=MERGE),
            ),
            OK,
        ),
        (
            "cr-json-patch",
            _with_crd(
                quiet(w_post),
                Step(
                    "PATCH",
                    WIDGET,
                    [{"op": "replace", "path": "/spec/color", "value": "g"}],
                    content_type=JSON_PATCH,
                ),
            ),
            OK,
        ),
        (
            "cr-strategic-patch",
            _with_crd(
                quiet(w_post), Step("PATCH", WIDGET, {"spec": {"color": "blue"}}, content_type=SMP)
            ),
            UNSUPPORTED_MEDIA,
        ),
        (
            "cr-invalid-type",
            _with_crd(Step("POST", WIDGETS, _widget(size="big"))),
            INVALID,
            CR_SCHEMA,
        ),
        ("cr-unknown-field-pruned", _with_crd(Step("POST", WIDGETS, _widget(extra=1))), CREATED),
        (
            "cr-unknown-field-strict",
            _with_crd(Step("POST", WIDGETS, _widget(extra=1), _q(fieldValidation="Strict"))),
            BAD_REQUEST,
            CR_STRICT,
        ),
        (
            "cr-status-ignored-on-main",
            _with_crd(Step("POST", WIDGETS, {**_widget(), "status": {"ready": True}})),
            CREATED,
        ),
        (
            "cr-status-patch",
            _with_crd(
                quiet(w_post),
                Step("PATCH", WIDGET + "/status", {"status": {"ready": True}}, content_type=MERGE),
            ),
            OK,
        ),
        ("cr-status-get", _with_crd(quiet(w_post), Step("GET", WIDGET + "/status")), OK),
        (
            "cr-status-spec-ignored",
            _with_crd(
                quiet(w_post),
                Step(
                    "PATCH",
                    WIDGET + "/status",
                    {"spec": {"color": "x"}, "status": {"ready": True}},
                    content_type=MERGE,
                ),
            ),
            OK,
        ),
        (
            "cr-status-ssa",
            _with_crd(
                quiet(w_post),
                Step(
                    "PATCH",
                    WIDGET + "/status",
                    json.dumps(
                        {
                            "apiVersion": "${ns}.example.com/v1",
                            "kind": "Widget",
                            "metadata": {"name": "w"},
                            "status": {"ready": True},
                        }
                    ),
                    _q(fieldManager="statuser"),
                    content_type=APPLY,
                ),
            ),
            OK,
        ),
        (
            "cr-no-status-subresource",
            _with_crd(
                quiet(w_post),
                Step("PATCH", WIDGET + "/status", {"status": {"ready": True}}, content_type=MERGE),
                status=False,
            ),
            NOT_FOUND,
        ),
        ("cr-delete", _with_crd(quiet(w_post), Step("DELETE", WIDGET)), OK),
        (
            "cr-finalizer",
            _with_crd(
                quiet(
                    Step(
                        "POST",
                        WIDGETS,
                        {
                            **_widget(),
                            "metadata": {"name": "w", "finalizers": ["example.com/hold"]},
                        },
                    )
                ),
                Step("DELETE", WIDGET),
                Step("PATCH", WIDGET, {"metadata": {"finalizers": None}}, content_type=MERGE),
                Step("GET", WIDGET),
            ),
            NOT_FOUND,
        ),
        (
            "cr-wrong-kind",
            _with_crd(Step("POST", WIDGETS, {**_widget(), "kind": "Gadget"})),
            BAD_REQUEST,
        ),
        (
            "cr-generation",
            _with_crd(
                quiet(w_post),
                Step("PATCH", WIDGET, {"spec": {"color": "blue"}}, content_type=MERGE),
                Step("PATCH", WIDGET + "/status", {"status": {"ready": True}}, content_type=MERGE),
            ),
            OK,
        ),
        (
            "cr-after-crd-deleted",
            _with_crd(
                quiet(w_post),
                quiet(delete_crd),
                Step("GET", WIDGETS, until=404),
                Step("GET", WIDGET),
            ),
            NOT_FOUND,
        ),
        ("crd-get-widget-unknown", (Step("GET", WIDGETS),), NOT_FOUND),
    ]
    out = [
        Case(
            row[0],
            row[1],
            expect=row[2],
            known=row[3] if len(row) > 3 else "",
            drop=CRD_DROP,
            drop_managers=ASYNC_MANAGERS,
            cleanup=(delete_crd,),
        )
        for row in table
    ]
    out.append(
        Case(
            "crd-create",
            (Step("POST", CRDS, _crd()),),
            expect=CREATED,
            drop=(("metadata", "resourceVersion"), ("status", "conditions")),
            cleanup=(delete_crd,),
        )
    )
    out.append(
        Case(
            "crd-invalid",
            (Step("POST", CRDS, {**_crd(), "metadata": {"name": "wrong.example.com"}}),),
            expect=INVALID,
        )
    )
    out.append(
        Case(
            "crd-cluster-scoped-cr",
            (
                quiet(Step("POST", CRDS, _crd(scope="Cluster"))),
                Step("GET", "/apis/${ns}.example.com/v1/widgets", until=200),
                Step("POST", "/apis/${ns}.example.com/v1/widgets", _widget()),
            ),
            expect=CREATED,
            drop=CRD_DROP,
            cleanup=(delete_crd,),
        )
    )
    return out


def _raw(method: str, path: str, body: bytes, ctype: str) -> Step:
    return Step(method, path, body, content_type=ctype)


def body_cases() -> list[Case]:
    good = json.dumps(CM.manifest()).encode()
    x = CM.item("x")
    make = quiet(post(CM, CM.manifest()))
    table: list[tuple[str, tuple[Step, ...], Any, str]] = [
        ("body-empty", (_raw("POST", CM.collection, b"", JSON),), BAD_REQUEST, ""),
        ("body-null", (_raw("POST", CM.collection, b"null", JSON),), BAD_REQUEST, ""),
        ("body-array", (_raw("POST", CM.collection, b"[]", JSON),), BAD_REQUEST, ""),
        ("body-string", (_raw("POST", CM.collection, b'"cm"', JSON),), BAD_REQUEST, ""),
        ("body-truncated", (_raw("POST", CM.collection, good[:-3], JSON),), BAD_REQUEST, ""),
        (
            "body-trailing-garbage",
            (_raw("POST", CM.collection, good + b"}}", JSON),),
            BAD_REQUEST,
            "",
        ),
        ("body-no-kind", (post(CM, {"apiVersion": "v1", "metadata": {"name": "x"}}),), (), ""),
        (
            "body-no-apiversion",
            (post(CM, {"kind": "ConfigMap", "metadata": {"name": "x"}}),),
            (),
            "",
        ),
        ("body-wrong-version", (post(CM, {**CM.manifest(), "apiVersion": "v2"}),), (), ""),
        (
            "body-wrong-group",
            (post(CM, {**CM.manifest(), "apiVersion": "apps/v1"}),),
            BAD_REQUEST,
            "",
        ),
        (
            "body-data-not-string",
            (post(CM, {**CM.manifest(), "data": {"k": 1}}),),
            BAD_REQUEST,
            TYPED_DECODE,
        ),
        ("body-metadata-list", (post(CM, {**CM.manifest(), "metadata": []}),), BAD_REQUEST, ""),
        (
            "body-duplicate-key-strict",
            (
                Step(
                    "POST",
                    CM.collection,
                    (b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","name":"y"}}'),
                    _q(fieldValidation="Strict"),
                    content_type=JSON,
                ),
            ),
            BAD_REQUEST,
            DUPLICATE_KEY,
        ),
        (
            "body-yaml-invalid",
            (_raw("POST", CM.collection, b"a: [b", "application/yaml"),),
            BAD_REQUEST,
            "",
        ),
        ("merge-patch-invalid-json", (make, _raw("PATCH", x, b"{", MERGE)), BAD_REQUEST, ""),
        (
            "json-patch-not-array",
            (make, _raw("PATCH", x, b'{"op":"add"}', JSON_PATCH)),
            BAD_REQUEST,
            "",
        ),
        (
            "json-patch-bad-op",
            (make, patch(CM, [{"op": "jump", "path": "/data"}], JSON_PATCH)),
            (),
            "",
        ),
        ("smp-invalid-json", (make, _raw("PATCH", x, b"{", SMP)), BAD_REQUEST, ""),
        (
            "apply-invalid-yaml",
            (make, Step("PATCH", x, b"a: [b", _q(fieldManager="d"), content_type=APPLY)),
            BAD_REQUEST,
            "",
        ),
        ("apply-no-field-manager", (Step("PATCH", x, good, content_type=APPLY),), INVALID, ""),
        (
            "apply-no-kind",
            (
                Step(
                    "PATCH",
                    x,
                    json.dumps({"apiVersion": "v1", "metadata": {"name": "x"}}).encode(),
                    _q(fieldManager="d"),
                    content_type=APPLY,
                ),
            ),
            BAD_REQUEST,
            "",
        ),
        ("apply-name-mismatch", (apply(CM, CM.manifest("y"), base="x"),), BAD_REQUEST, ""),
        ("dry-run-bad-value", (post(CM, CM.manifest(), dryRun="Maybe"),), INVALID, ""),
        (
            "field-manager-too-long",
            (post(CM, CM.manifest(), fieldManager="m" * 200),),
            INVALID,
            "",
        ),
        (
            "field-validation-bad",
            (post(CM, CM.manifest(), fieldValidation="Loud"),),
            INVALID,
            "",
        ),
        (
            "put-text-plain",
            (make, _raw("PUT", x, good, "text/plain")),
            UNSUPPORTED_MEDIA,
            "",
        ),
        ("patch-text-plain", (make, _raw("PATCH", x, b"{}", "text/plain")), UNSUPPORTED_MEDIA, ""),
        (
            "post-xml",
            (_raw("POST", CM.collection, b"<cm/>", "application/xml"),),
            UNSUPPORTED_MEDIA,
            "",
        ),
        (
            "post-merge-patch-type",
            (_raw("POST", CM.collection, good, MERGE),),
            UNSUPPORTED_MEDIA,
            "",
        ),
        (
            "post-form",
            (_raw("POST", CM.collection, b"a=b", "application/x-www-form-urlencoded"),),
            UNSUPPORTED_MEDIA,
            "",
        ),
        (
            "post-json-charset",
            (_raw("POST", CM.collection, good, "application/json; charset=utf-8"),),
            CREATED,
            "",
        ),
        ("post-no-content-type", (_raw("POST", CM.collection, good, ""),), CREATED, ""),
    ]
    return [Case(name, steps, expect=expect, known=known) for name, steps, expect, known in table]


def method_cases() -> list[Case]:
    x = CM.item("x")
    return [
        Case(
            "method-put-collection",
            (Step("PUT", CM.collection, CM.manifest()),),
            expect=METHOD_NOT_ALLOWED,
        ),
        Case("method-post-item", (Step("POST", x, CM.manifest()),), expect=METHOD_NOT_ALLOWED),
        Case(
            "method-patch-collection",
            (Step("PATCH", CM.collection, {}, content_type=MERGE),),
            expect=METHOD_NOT_ALLOWED,
        ),
        Case(
            "delete-collection",
            (
                *SELECTOR_SETUP,
                Step("DELETE", CM.collection, query=_q(labelSelector="app=web")),
                Step("GET", CM.collection, query=_q(labelSelector="app")),
            ),
            expect=OK,
        ),
        Case(
            "delete-collection-dry-run",
            (
                *SELECTOR_SETUP,
                Step("DELETE", CM.collection, query=_q(labelSelector="app=web", dryRun="All")),
                Step("GET", CM.collection, query=_q(labelSelector="app")),
            ),
            expect=OK,
        ),
        Case(
            "unknown-resource-core",
            (Step("GET", "/api/v1/namespaces/${ns}/widgets"),),
            expect=NOT_FOUND,
        ),
        Case(
            "unknown-resource-post",
            (Step("POST", "/api/v1/namespaces/${ns}/widgets", CM.manifest()),),
            expect=NOT_FOUND,
        ),
        Case(
            "unknown-resource-apps",
            (Step("GET", "/apis/apps/v1/namespaces/${ns}/widgets"),),
            expect=NOT_FOUND,
        ),
        Case(
            "unknown-group",
            (Step("GET", "/apis/nope.example.com/v1/namespaces/${ns}/x"),),
            expect=(("code", 404),),
        ),
        Case(
            "unknown-version",
            (Step("GET", "/apis/apps/v9/namespaces/${ns}/deployments"),),
            expect=(("code", 404),),
        ),
        Case(
            "unknown-subresource",
            (quiet(post(CM, CM.manifest())), Step("GET", x + "/status")),
            expect=NOT_FOUND,
        ),
        Case(
            "cluster-scoped-under-namespace",
            (Step("GET", "/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/clusterroles"),),
            expect=NOT_FOUND,
        ),
        Case(
            "namespaced-without-namespace-post",
            (Step("POST", "/api/v1/configmaps", CM.manifest()),),
            expect=METHOD_NOT_ALLOWED,
        ),
    ]


def status_cases() -> list[Case]:
    svc_status = SVC.item("x") + "/status"
    return [
        Case(
            "service-status-ignored-on-main",
            (
                quiet(post(SVC, SVC.manifest())),
                patch(SVC, {"status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}}, MERGE),
            ),
            expect=OK,
        ),
        Case(
            "service-status-get",
            (quiet(post(SVC, SVC.manifest())), Step("GET", svc_status)),
            expect=OK,
        ),
        Case(
            "service-nodeport-defaults",
            (
                post(
                    SVC,
                    {
                        **SVC.manifest(),
                        "spec": {
                            "type": "NodePort",
                            "selector": {"app": "diff"},
                            "ports": [{"port": 80}],
                        },
                    },
                ),
            ),
            expect=CREATED,
            drop=(("spec", "ports", "*", "nodePort"),),
        ),
        Case(
            "service-clusterip-immutable",
            (
                quiet(post(SVC, SVC.manifest())),
                patch(SVC, {"spec": {"clusterIP": "10.0.0.99"}}, MERGE),
            ),
            expect=INVALID,
        ),
        Case(
            "pod-create-status",
            (post(POD, POD.manifest()),),
            expect=CREATED,
            needs_service_account=True,
        ),
        Case(
            "configmap-delete-status",
            (quiet(post(CM, CM.manifest())), delete(CM)),
            expect=(("code", 200), ("body.kind", "Status"), ("body.status", "Success")),
        ),
        Case(
            "deployment-scale-get",
            (quiet(post(DEPLOY, DEPLOY.manifest())), Step("GET", DEPLOY.item("x") + "/scale")),
            expect=OK,
            drop=ASYNC_DROP,
        ),
        Case(
            "deployment-scale-patch",
            (
                quiet(post(DEPLOY, DEPLOY.manifest())),
                Step(
                    "PATCH",
                    DEPLOY.item("x") + "/scale",
                    {"spec": {"replicas": 0}},
                    content_type=MERGE,
                ),
            ),
            expect=OK,
            drop=ASYNC_DROP,
        ),
        Case(
            "deployment-generation",
            (
                post(DEPLOY, DEPLOY.manifest()),
                patch(DEPLOY, {"spec": {"replicas": 0}}, MERGE),
                patch(DEPLOY, {"metadata": {"labels": {"x": "y"}}}, MERGE),
            ),
            expect=OK,
            drop=ASYNC_DROP,
            drop_managers=ASYNC_MANAGERS,
        ),
        Case(
            "deployment-selector-immutable",
            (
                quiet(post(DEPLOY, DEPLOY.manifest())),
                patch(DEPLOY, {"spec": {"selector": {"matchLabels": {"app": "other"}}}}, MERGE),
            ),
            expect=INVALID,
        ),
        Case(
            "deployment-ssa-two-containers",
            (
                apply(DEPLOY, DEPLOY.manifest(), "one"),
                apply(
                    DEPLOY,
                    {
                        **DEPLOY.manifest(),
                        "spec": {
                            "selector": {"matchLabels": {"app": "diff"}},
                            "template": {
                                "metadata": {"labels": {"app": "diff"}},
                                "spec": {"containers": [{"name": "side", "image": "busybox"}]},
                            },
                        },
                    },
                    "two",
                ),
            ),
            expect=OK,
            drop=ASYNC_DROP,
            drop_managers=ASYNC_MANAGERS,
        ),
        Case(
            "deployment-csa-container-change",
            (
                post(
                    DEPLOY,
                    last_applied(DEPLOY.manifest()),
                    fieldManager="kubectl-client-side-apply",
                ),
                patch(
                    DEPLOY,
                    {
                        "spec": {
                            "template": {
                                "spec": {
                                    "containers": [
                                        {"name": "c", "image": "registry.k8s.io/pause:3.9"}
                                    ]
                                }
                            }
                        }
                    },
                    SMP,
                    fieldManager="kubectl-client-side-apply",
                ),
            ),
            expect=OK,
            drop=ASYNC_DROP,
            drop_managers=ASYNC_MANAGERS,
        ),
        Case(
            "deployment-smp-delete-container",
            (
                post(
                    DEPLOY,
                    {
                        **DEPLOY.manifest(),
                        "spec": {
                            "selector": {"matchLabels": {"app": "diff"}},
                            "template": {
                                "metadata": {"labels": {"app": "diff"}},
                                "spec": {
                                    "containers": [
                                        {"name": "c", "image": "a"},
                                        {"name": "d", "image": "b"},
                                    ]
                                },
                            },
                        },
                    },
                ),
                patch(
                    DEPLOY,
                    {
                        "spec": {
                            "template": {
                                "spec": {"containers": [{"name": "d", "$patch": "delete"}]}
                            }
                        }
                    },
                    SMP,
                ),
            ),
            expect=OK,
            drop=ASYNC_DROP,
            drop_managers=ASYNC_MANAGERS,
        ),
        Case(
            "deployment-invalid-replicas",
            (
                post(
                    DEPLOY, {**DEPLOY.manifest(), "spec": {**DEPLOY.fields["spec"], "replicas": -1}}
                ),
            ),
            expect=INVALID,
        ),
        Case(
            "finalizer-add-while-deleting",
            (
                quiet(post(CM, CM.manifest(finalizers=["example.com/a"]))),
                quiet(delete(CM)),
                patch(CM, {"metadata": {"finalizers": ["example.com/a", "example.com/b"]}}, MERGE),
            ),
            expect=INVALID,
            cleanup=(patch(CM, {"metadata": {"finalizers": None}}, MERGE),),
        ),
        Case(
            "finalizer-delete-twice",
            (
                quiet(post(CM, CM.manifest(finalizers=["example.com/a"]))),
                quiet(delete(CM)),
                delete(CM),
            ),
            expect=OK,
            cleanup=(patch(CM, {"metadata": {"finalizers": None}}, MERGE),),
        ),
        Case(
            "orphan-leaves-dependent",
            (
                post(CM, CM.manifest("owner")),
                post(
                    CM,
                    CM.manifest(
                        "dep",
                        ownerReferences=[
                            {
                                "apiVersion": "v1",
                                "kind": "ConfigMap",
                                "name": "owner",
                                "uid": "${uid0}",
                            }
                        ],
                    ),
                ),
                quiet(delete(CM, "owner", body={"propagationPolicy": "Orphan"})),
                gone(CM, "owner"),
                Step("GET", CM.item("dep"), until=200),
                get(CM, "dep"),
            ),
            expect=OK,
        ),
        Case(
            "background-deletes-dependent",
            (
                post(CM, CM.manifest("owner")),
                post(
                    CM,
                    CM.manifest(
                        "dep",
                        ownerReferences=[
                            {
                                "apiVersion": "v1",
                                "kind": "ConfigMap",
                                "name": "owner",
                                "uid": "${uid0}",
                            }
                        ],
                    ),
                ),
                delete(CM, "owner", body={"propagationPolicy": "Background"}),
                gone(CM, "dep"),
                get(CM, "dep"),
            ),
            expect=NOT_FOUND,
        ),
        Case(
            "foreground-blocks-owner",
            (
                post(CM, CM.manifest("owner")),
                post(
                    CM,
                    CM.manifest(
                        "dep",
                        finalizers=["example.com/hold"],
                        ownerReferences=[
                            {
                                "apiVersion": "v1",
                                "kind": "ConfigMap",
                                "name": "owner",
                                "uid": "${uid0}",
                                "blockOwnerDeletion": True,
                            }
                        ],
                    ),
                ),
                delete(CM, "owner", body={"propagationPolicy": "Foreground"}),
                get(CM, "owner"),
            ),
            expect=OK,
            cleanup=(patch(CM, {"metadata": {"finalizers": None}}, MERGE, "dep"),),
        ),
        Case(
            "csa-ssa-manager-handoff",
            (
                post(CM, last_applied(CM.manifest()), fieldManager="kubectl-client-side-apply"),
                apply(CM, CM.manifest(labels={"app": "diff"}), "kubectl"),
                apply(CM, {**CM.manifest(), "data": {"k": "v2"}}, "kubectl"),
            ),
            expect=OK,
        ),
        Case(
            "ssa-force-two-managers-status",
            (
                apply(CM, CM.manifest(), "one"),
                apply(CM, {**CM.manifest(), "data": {"k": "b", "j": "c"}}, "two"),
                apply(CM, {**CM.manifest(), "data": {"k": "c"}}, "three"),
            ),
            expect=CONFLICT,
        ),
        Case(
            "ssa-give-up-field",
            (
                apply(CM, {**CM.manifest(), "data": {"k": "v", "j": "w"}}, "one"),
                apply(CM, {**CM.manifest(), "data": {"j": "w"}}, "two"),
                apply(CM, {**CM.manifest(), "data": {"k": "v"}}, "one"),
            ),
            expect=OK,
        ),
        Case(
            "put-without-rv",
            (quiet(post(CM, CM.manifest())), put(CM, {**CM.manifest(), "data": {"k": "new"}})),
            expect=OK,
        ),
        Case("put-creates-on-missing", (put(CM, CM.manifest("new"), "new"),), expect=NOT_FOUND),
        Case("get-rv-0", (quiet(post(CM, CM.manifest())), get(CM, resourceVersion="0")), expect=OK),
        Case(
            "generate-name-only",
            (
                post(
                    CM,
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "g-"}},
                ),
            ),
            expect=CREATED,
        ),
        Case(
            "generate-name-invalid",
            (
                post(
                    CM,
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "G_"}},
                ),
            ),
            expect=INVALID,
            drop=(("details",), ("message",)),
        ),
    ]


def limit_cases() -> list[Case]:
    big = "x" * (MIB + 1)
    fits = "x" * (MIB - 200)
    return [
        Case(
            "configmap-over-1mib",
            (post(CM, {**CM.manifest(), "data": {"k": big}}),),
            expect=INVALID,
        ),
        Case(
            "configmap-under-1mib",
            (post(CM, {**CM.manifest(), "data": {"k": fits}}),),
            expect=CREATED,
        ),
        Case(
            "configmap-binary-over-1mib",
            (
                post(
                    CM,
                    {
                        **CM.manifest(),
                        "data": {},
                        "binaryData": {"b": base64.b64encode(b"x" * (MIB + 1)).decode()},
                    },
                ),
            ),
            expect=INVALID,
        ),
        Case(
            "secret-over-1mib",
            (post(SECRET, {**SECRET.manifest(), "data": {"k": "eHh4" * (MIB // 3 + 1)}}),),
            expect=INVALID,
        ),
        Case(
            "secret-string-data-over-1mib",
            (post(SECRET, {**SECRET.manifest(), "data": {}, "stringData": {"k": big}}),),
            expect=INVALID,
        ),
        Case(
            "body-over-3mib",
            (
                _raw(
                    "POST",
                    CM.collection,
                    json.dumps({**CM.manifest(), "data": {"k": "x" * (3 * MIB + 10)}}).encode(),
                    JSON,
                ),
            ),
            expect=TOO_LARGE,
        ),
        Case(
            "annotations-over-256kib",
            (post(CM, CM.manifest(annotations={"a": "x" * (256 * 1024 + 1)})),),
            expect=INVALID,
        ),
        Case(
            "csa-last-applied-too-large",
            (
                post(
                    CM,
                    last_applied({**CM.manifest(), "data": {"k": "x" * (300 * 1024)}}),
                    fieldManager="kubectl-client-side-apply",
                ),
            ),
            expect=INVALID,
        ),
        Case(
            "label-value-too-long", (post(CM, CM.manifest(labels={"a": "x" * 64})),), expect=INVALID
        ),
        Case(
            "label-key-too-long", (post(CM, CM.manifest(labels={"x" * 64: "a"})),), expect=INVALID
        ),
        Case("name-too-long", (post(CM, CM.manifest("x" * 254)),), expect=INVALID),
        Case("name-253", (post(CM, CM.manifest("x" * 253)),), expect=CREATED),
        Case("service-name-too-long", (post(SVC, SVC.manifest("x" * 64)),), expect=INVALID),
        Case("ssa-over-1mib", (apply(CM, {**CM.manifest(), "data": {"k": big}}),), expect=INVALID),
        Case(
            "patch-to-over-1mib",
            (quiet(post(CM, CM.manifest())), patch(CM, {"data": {"k": big}}, MERGE)),
            expect=INVALID,
        ),
    ]


def _raw_get(path: str, **query: str) -> Step:
    return Step("GET", path, query=_q(**query), raw=True)


def wire_cases() -> list[Case]:
    """How the bytes travel: Go's encoder ends every JSON body with a newline, and a request
    refused before its body was read must not break the next request on the connection."""
    newline = (("code", 200), ("trailingNewline", True))
    after = (("code", 200),)
    unknown = "/api/v1/namespaces/${ns}/widgets"
    cases = [
        Case(
            "wire-newline-get",
            (quiet(post(CM, CM.manifest())), _raw_get(CM.item("x"))),
            expect=newline,
            wire=True,
        ),
        Case(
            "wire-newline-list",
            (_raw_get(CM.collection, labelSelector="app"),),
            expect=newline,
            wire=True,
        ),
        Case(
            "wire-newline-error",
            (_raw_get(CM.item("missing")),),
            expect=(("code", 404), ("trailingNewline", True)),
            wire=True,
        ),
        Case(
            "wire-newline-create",
            (Step("POST", CM.collection, json.dumps(CM.manifest()).encode(), content_type=JSON),),
            expect=(("code", 201), ("trailingNewline", True)),
            wire=True,
        ),
        Case(
            "wire-newline-delete",
            (quiet(post(CM, CM.manifest())), Step("DELETE", CM.item("x"), raw=True)),
            expect=newline,
            wire=True,
        ),
        Case(
            "keepalive-after-404-body",
            (
                Step("POST", unknown, json.dumps(CM.manifest()).encode(), content_type=JSON),
                _raw_get(CM.collection, labelSelector="app"),
            ),
            expect=after,
        ),
        Case(
            "keepalive-after-405-body",
            (
                Step("PUT", CM.collection, json.dumps(CM.manifest()).encode(), content_type=JSON),
                _raw_get(CM.collection, labelSelector="app"),
            ),
            expect=after,
        ),
        Case(
            "keepalive-after-415-body",
            (
                Step("PATCH", CM.item("x"), b"{}", content_type="text/plain"),
                _raw_get(CM.collection, labelSelector="app"),
            ),
            expect=after,
        ),
        Case(
            "close-after-413",
            (Step("POST", CM.collection, b"{" + b" " * (3 * MIB + 10) + b"}", content_type=JSON),),
            expect=(*TOO_LARGE, ("connection", "close")),
            wire=True,
        ),
    ]
    return cases


def special_cases() -> list[Case]:
    """Every case that is not one scenario of one kind."""
    return (
        selector_cases()
        + watch_cases()
        + namespace_cases()
        + crd_cases()
        + body_cases()
        + method_cases()
        + status_cases()
        + limit_cases()
        + wire_cases()
    )
