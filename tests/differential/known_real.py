"""Differences that only the comparison with a real kube-apiserver shows (the recorded answers
of the cases do not cover them): case id -> reason. Each is listed in docs/emulator.md.

`TIMING` names the cases whose answer on a real cluster depends on when its controllers act
(the garbage collector, the PVC protection and namespace controllers, the scheduler's binding,
the endpoints controller); they are expected failures that may pass (`strict=False`). Every
other entry is a strict expected failure: fixing it in the emulator fails the suite until the
entry is removed.
"""

from __future__ import annotations

_GO_DECODER = (
    "the message quotes Go's decoders (encoding/json, sigs.k8s.io/yaml, the runtime scheme), "
    "whose wording the emulator's Python parsers do not reproduce; code and reason are equal"
)
_GO_SELECTOR = "the message quotes Go's label-selector lexer; code and reason are equal"
_NAME_MESSAGE = (
    "the validation message of an invalid name lists more causes or a different wording "
    "(the real strategy validates the pod template and allocates IPs first); code and reason "
    "are equal"
)
_LABEL_MESSAGE = (
    "the label validation message words the limit differently; code and reason are equal"
)
_MANAGER_ORDER = (
    "two managers sharing a field: the real server orders the managedFields entries by its own "
    "update order and leaves the time of an unchanged Apply entry out"
)
_LAST_APPLIED = (
    "kubectl's server-side apply rewrites the last-applied annotation in Go's field order "
    "(struct order), the emulator in sorted key order"
)
_TIMING = "depends on when a real cluster's controllers act (see TIMING)"

KNOWN_REAL: dict[str, str] = {
    # bodies the decoder refuses
    **{
        case: _GO_DECODER
        for case in (
            "apply-invalid-yaml",
            "apply-no-kind",
            "body-array",
            "body-empty",
            "body-metadata-list",
            "body-string",
            "body-trailing-garbage",
            "body-truncated",
            "body-wrong-group",
            "body-yaml-invalid",
            "clusterrole-bad-json",
            "clusterrole-kind-mismatch",
            "configmap-bad-json",
            "configmap-kind-mismatch",
            "deployment-bad-json",
            "deployment-kind-mismatch",
            "merge-patch-invalid-json",
            "service-bad-json",
            "service-kind-mismatch",
            "smp-invalid-json",
            "list-bad-continue",
        )
    },
    "body-null": "a JSON null body: the real decoder makes an empty object of it (422 Invalid), "
    "the emulator refuses it (400)",
    "body-wrong-version": "a body with an apiVersion the group does not serve (v2) is stored by "
    "the emulator; a real server refuses it (400, no kind registered for that version)",
    "cr-wrong-kind": "a custom resource body of another kind: 422 Invalid on a real server, "
    "400 on the emulator",
    "list-label-invalid": _GO_SELECTOR,
    "list-label-invalid-value": _GO_SELECTOR,
    "watch-bad-selector": _GO_SELECTOR,
    # validation wording
    **{
        case: _NAME_MESSAGE
        for case in (
            "job-invalid-path-name",
            "poddisruptionbudget-invalid-path-name",
            "service-invalid-name",
            "service-invalid-path-name",
            "service-missing-name",
            "statefulset-invalid-name",
            "statefulset-invalid-path-name",
        )
    },
    "poddisruptionbudget-invalid-name": "a PodDisruptionBudget named Bad_Name is accepted by the "
    "real server (its name rule is a path segment), refused by the emulator",
    "label-key-too-long": _LABEL_MESSAGE,
    "label-value-too-long": _LABEL_MESSAGE,
    "service-clusterip-immutable": "a changed clusterIP is reported on spec.clusterIPs[0] "
    "('may not change once set') by the real server, on spec.clusterIP by the emulator",
    "apply-no-field-manager": "the Invalid status of an apply without fieldManager names kind "
    "PatchOptions and group meta.k8s.io separately on the real server",
    "cr-no-status-subresource": "a status write to a custom resource without a status "
    "subresource: the real server answers NotFound naming the object, the emulator the "
    "generic 404",
    "cr-unknown-field-pruned": "an unknown field of a custom resource written by a non-apply "
    "update is pruned by the real server (structural schema), kept by the emulator",
    "unknown-group": "an unknown API group: the real server's mux answers a text/plain "
    "'404 page not found', the emulator a JSON Status",
    "deployment-scale-patch": "the answer of a scale patch to 0 replicas omits spec.replicas "
    "on the real server (omitempty of the Scale's int32)",
    "orphan-leaves-dependent": "after an orphaning delete the real garbage collector removes "
    "the ownerReference without a managedFields trace; the emulator records the removal",
    # managedFields bookkeeping
    **{
        case: _MANAGER_ORDER
        for case in (
            "clusterrole-ssa-shared-field",
            "configmap-ssa-shared-field",
            "deployment-ssa-shared-field",
            "service-ssa-shared-field",
            "ssa-give-up-field",
        )
    },
    **{
        case: _LAST_APPLIED
        for case in (
            "configmap-csa-then-ssa",
            "csa-ssa-manager-handoff",
            "deployment-csa-then-ssa",
            "service-csa-then-ssa",
        )
    },
    # timing of a real cluster's controllers
    **{
        case: _TIMING
        for case in (
            "close-after-413",
            "cr-after-crd-deleted",
            "crd-get-widget-unknown",
            "job-finalizer",
            "namespace-finalizer-spec",
            "persistentvolumeclaim-finalizer",
            "pod-delete",
            "pod-delete-response",
            "pod-finalizer",
            "replicationcontroller-finalizer",
            "service-delete",
            "service-delete-background",
            "service-delete-response",
            "serviceaccount-delete",
            "serviceaccount-delete-response",
        )
    },
}

# Expected failures that may pass: what the real side answers depends on its controllers' pace.
TIMING: frozenset[str] = frozenset(case for case, why in KNOWN_REAL.items() if why == _TIMING)
