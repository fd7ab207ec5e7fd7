"""Rules pdb-for-replicas and hpa-target-exists: objects that keep replicated apps available."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from kdeploy.lint.findings import Finding, Rule
from kdeploy.lint.workloads import finding, pod_labels
from kdeploy.model import RenderedObject

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
    another release); an HPA's target must be in the HPA's own release and namespace. Objects are
    indexed once, so hundreds of apps in one namespace stay fast.
    """
    selectors: dict[str, list[Any]] = {}
    min_replicas: dict[tuple[str, str, str], list[tuple[str | None, int]]] = {}
    hpas: list[tuple[RenderedObject, dict[str, Any]]] = []
    present: set[tuple[str, str, str, str, str | None]] = set()
    for obj in objects:
        key, kind = obj.key, obj.manifest.get("kind")
        present.add((obj.release, key.namespace, key.kind, key.name, key.group))
        present.add((obj.release, key.namespace, key.kind, key.name, None))
        spec = obj.manifest.get("spec") or {}
        if kind == "PodDisruptionBudget":
            selectors.setdefault(key.namespace, []).append(spec.get("selector"))
        elif kind == "HorizontalPodAutoscaler" and isinstance(spec.get("scaleTargetRef"), dict):
            ref = spec["scaleTargetRef"]
            hpas.append((obj, ref))
            low = spec.get("minReplicas", 1)
            if isinstance(low, int) and not isinstance(low, bool):
                target = (key.namespace, str(ref.get("kind")), str(ref.get("name")))
                min_replicas.setdefault(target, []).append((_ref_group(ref), low))
    for obj in objects:
        if obj.manifest.get("kind") in ("Deployment", "StatefulSet"):
            yield from _check_pdb(obj, selectors, min_replicas)
    for hpa, ref in hpas:
        wanted = (
            hpa.release,
            hpa.key.namespace,
            str(ref.get("kind")),
            str(ref.get("name")),
            _ref_group(ref),
        )
        if wanted not in present:
            yield _missing_target(hpa, ref)


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
    obj: RenderedObject,
    selectors: dict[str, list[Any]],
    min_replicas: dict[tuple[str, str, str], list[tuple[str | None, int]]],
) -> Iterator[Finding]:
    key = obj.key
    raw = (obj.manifest.get("spec") or {}).get("replicas", 1)
    replicas = raw if isinstance(raw, int) and not isinstance(raw, bool) else 1
    # An HPA owns the replica count of its target: its minReplicas is the floor.
    for group, low in min_replicas.get((key.namespace, key.kind, key.name), []):
        if group is None or group == key.group:
            replicas = max(replicas, low)
    if replicas <= 1:
        return
    labels = pod_labels(obj.manifest)
    if any(selector_matches(sel, labels) for sel in selectors.get(key.namespace, [])):
        return
    yield finding(
        PDB_FOR_REPLICAS,
        obj,
        f"{replicas} replicas but no PodDisruptionBudget selects its pods; a node drain or "
        "cluster upgrade may evict them all at once: add a PodDisruptionBudget (for example "
        "maxUnavailable: 1) whose selector matches the pod labels",
        "spec.replicas",
    )


def _ref_group(ref: dict[str, Any]) -> str | None:
    """The API group of a scaleTargetRef, or None when it names no apiVersion (any group)."""
    api_version = str(ref.get("apiVersion") or "")
    if not api_version:
        return None
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def _missing_target(hpa: RenderedObject, ref: dict[str, Any]) -> Finding:
    target = f"{ref.get('kind', '?')} {hpa.key.namespace}/{ref.get('name', '?')}"
    return finding(
        HPA_TARGET_EXISTS,
        hpa,
        f"scaleTargetRef {target} is not in release {hpa.release}; the autoscaler would "
        "scale nothing: fix scaleTargetRef (apiVersion, kind, name) or add the workload",
        "spec.scaleTargetRef",
    )
