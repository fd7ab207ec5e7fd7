"""Rules pdb-for-replicas and hpa-target-exists: objects that keep replicated apps available."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from kdeploy.lint.findings import Finding, Rule
from kdeploy.lint.workloads import finding, pod_labels
from kdeploy.model import ObjectKey, RenderedObject

PDB_FOR_REPLICAS = Rule(
    "pdb-for-replicas",
    "warning",
    "Deployments and StatefulSets with more than one replica are covered by a PodDisruptionBudget",
    frozenset({"Deployment", "StatefulSet"}),
)
HPA_TARGET_EXISTS = Rule(
    "hpa-target-exists",
    "error",
    "a HorizontalPodAutoscaler's scaleTargetRef names an object of the same release",
    frozenset({"HorizontalPodAutoscaler"}),
)
RULES = (PDB_FOR_REPLICAS, HPA_TARGET_EXISTS)


def check(objects: Sequence[RenderedObject]) -> Iterator[Finding]:
    """Yield findings for replicated workloads without a PDB and HPAs without a target.

    PDBs are looked up among all given objects in the workload's namespace (a PDB may live in
    another release); an HPA's target must be in the HPA's own release and namespace.
    """
    hpas = [o for o in objects if o.manifest.get("kind") == "HorizontalPodAutoscaler"]
    pdbs = [o for o in objects if o.manifest.get("kind") == "PodDisruptionBudget"]
    for obj in objects:
        if obj.manifest.get("kind") in ("Deployment", "StatefulSet"):
            yield from _check_pdb(obj, pdbs, hpas)
    for hpa in hpas:
        yield from _check_hpa(hpa, objects)


def selector_matches(selector: Any, labels: dict[str, str]) -> bool:
    """True when a label selector (matchLabels and matchExpressions) selects `labels`.

    An empty selector selects everything; a missing (None) one selects nothing, as for a
    policy/v1 PodDisruptionBudget.
    """
    if not isinstance(selector, dict):
        return False
    match_labels = selector.get("matchLabels") or {}
    if any(labels.get(str(k)) != str(v) for k, v in match_labels.items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, dict) or not _expression_matches(expr, labels):
            return False
    return True


def _expression_matches(expr: dict[str, Any], labels: dict[str, str]) -> bool:
    key, op = str(expr.get("key", "")), expr.get("operator")
    values = {str(v) for v in expr.get("values") or []}
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return False


def _check_pdb(
    obj: RenderedObject, pdbs: list[RenderedObject], hpas: list[RenderedObject]
) -> Iterator[Finding]:
    replicas = _replicas(obj, hpas)
    if replicas <= 1:
        return
    labels = pod_labels(obj.manifest)
    namespace = obj.key.namespace
    for pdb in pdbs:
        if pdb.key.namespace == namespace and selector_matches(
            (pdb.manifest.get("spec") or {}).get("selector"), labels
        ):
            return
    yield finding(
        PDB_FOR_REPLICAS,
        obj,
        f"{replicas} replicas but no PodDisruptionBudget selects its pods; a node drain or "
        "cluster upgrade may evict them all at once: add a PodDisruptionBudget (for example "
        "maxUnavailable: 1) whose selector matches the pod labels",
        "spec.replicas",
    )


def _replicas(obj: RenderedObject, hpas: list[RenderedObject]) -> int:
    """The workload's replica count: spec.replicas (default 1), or at least the minReplicas of
    an HPA that scales it, since the HPA owns the count then."""
    raw = (obj.manifest.get("spec") or {}).get("replicas", 1)
    replicas = raw if isinstance(raw, int) and not isinstance(raw, bool) else 1
    for hpa in hpas:
        spec = hpa.manifest.get("spec") or {}
        if hpa.key.namespace == obj.key.namespace and _ref_matches(
            spec.get("scaleTargetRef"), obj.key
        ):
            low = spec.get("minReplicas", 1)
            if isinstance(low, int) and not isinstance(low, bool):
                replicas = max(replicas, low)
    return replicas


def _ref_matches(ref: Any, key: ObjectKey) -> bool:
    if not isinstance(ref, dict):
        return False
    api_version = str(ref.get("apiVersion") or "")
    if api_version:
        group = api_version.rpartition("/")[0] if "/" in api_version else ""
        if group != key.group:
            return False
    return ref.get("kind") == key.kind and ref.get("name") == key.name


def _check_hpa(hpa: RenderedObject, objects: Sequence[RenderedObject]) -> Iterator[Finding]:
    ref = (hpa.manifest.get("spec") or {}).get("scaleTargetRef")
    if not isinstance(ref, dict):
        return  # a missing scaleTargetRef is a schema error, reported by manifest-schema
    for obj in objects:
        if (
            obj.release == hpa.release
            and obj.key.namespace == hpa.key.namespace
            and _ref_matches(ref, obj.key)
        ):
            return
    target = f"{ref.get('kind', '?')} {hpa.key.namespace}/{ref.get('name', '?')}"
    yield finding(
        HPA_TARGET_EXISTS,
        hpa,
        f"scaleTargetRef {target} is not in release {hpa.release}; the autoscaler would "
        "scale nothing: fix scaleTargetRef (apiVersion, kind, name) or add the workload",
        "spec.scaleTargetRef",
    )
