"""Install phases and running one phase's objects concurrently.

Objects are applied phase by phase (namespaces, namespace policies, CRDs, identities and RBAC,
configuration, volume claims, services, workloads, everything else) and pruned in the reverse
order. Inside a phase nothing depends on anything else, so its objects are sent at once on a
bounded thread pool; a phase starts only when the previous one has fully succeeded, and the first
phase with a failure stops the operation, reporting every object of it that failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from kdeploy.errors import ClusterError, ConflictError, KdeployError
from kdeploy.model import Manifest, ObjectKey
from kdeploy.resources import install_order

R = TypeVar("R")

DEFAULT_CONCURRENCY = 8

PHASES: tuple[tuple[str, frozenset[str]], ...] = (
    ("namespaces", frozenset({"Namespace"})),
    ("namespace policies", frozenset({"ResourceQuota", "LimitRange"})),
    ("custom resource definitions", frozenset({"CustomResourceDefinition"})),
    (
        "identities and RBAC",
        frozenset({"ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}),
    ),
    ("configuration", frozenset({"ConfigMap", "Secret"})),
    ("volume claims", frozenset({"PersistentVolumeClaim"})),
    ("services", frozenset({"Service"})),
    (
        "workloads",
        frozenset(
            {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod", "Job", "CronJob"}
        ),
    ),
)
OTHER = "other resources"


def phase_of(kind: str) -> int:
    """The index of the phase `kind` is installed in (len(PHASES) for every other kind)."""
    for index, (_, kinds) in enumerate(PHASES):
        if kind in kinds:
            return index
    return len(PHASES)


def phase_name(index: int) -> str:
    """The human name of phase `index`."""
    return PHASES[index][0] if index < len(PHASES) else OTHER


@dataclass(frozen=True)
class Phase:
    """One phase's objects, in install order (or reverse install order for deletion)."""

    name: str
    objects: list[Manifest]


def split_phases(manifests: Iterable[Manifest], *, reverse: bool = False) -> list[Phase]:
    """`manifests` grouped by phase, phases in install order (reversed for deletion), objects of a
    phase sorted the same way; empty phases are left out."""
    ordered = sorted(manifests, key=install_order, reverse=reverse)
    phases: list[Phase] = []
    current = -1
    for manifest in ordered:
        index = phase_of(str(manifest.get("kind", "")))
        if index != current:
            phases.append(Phase(phase_name(index), []))
            current = index
        phases[-1].objects.append(manifest)
    return phases


def run_phase(phase: Phase, fn: Callable[[Manifest], R], *, concurrency: int, verb: str) -> list[R]:
    """Call `fn` on every object of `phase`, at most `concurrency` at a time, and return the
    results in the phase's order. Waits for every call before returning or raising. When any
    failed with a KdeployError, raises one error naming every failed object (the error itself
    when only one failed); an unexpected exception (a bug, Ctrl-C) is re-raised as is."""
    objects = phase.objects
    outcomes: list[R | BaseException]
    if concurrency <= 1 or len(objects) <= 1:
        outcomes = []
        for manifest in objects:
            try:
                outcomes.append(fn(manifest))
            except KdeployError as e:
                outcomes.append(e)
    else:
        with ThreadPoolExecutor(
            max_workers=min(concurrency, len(objects)), thread_name_prefix="kdeploy-phase"
        ) as pool:
            futures = [pool.submit(fn, m) for m in objects]
            outcomes = []
            for future in futures:
                try:
                    outcomes.append(future.result())
                except BaseException as e:  # collected, then reported below
                    outcomes.append(e)
    unexpected = [o for o in outcomes if isinstance(o, BaseException) and not _expected(o)]
    if unexpected:
        raise unexpected[0]
    failures = [
        (ObjectKey.of(m), o)
        for m, o in zip(objects, outcomes, strict=True)
        if isinstance(o, KdeployError)
    ]
    if failures:
        raise phase_failure(phase.name, verb, failures, len(objects))
    return [o for o in outcomes if not isinstance(o, BaseException)]


def _expected(outcome: object) -> bool:
    return isinstance(outcome, KdeployError)


def phase_failure(
    name: str, verb: str, failures: Sequence[tuple[ObjectKey, BaseException]], total: int
) -> KdeployError:
    """The error for a phase in which `failures` (object, error) happened out of `total` objects:
    the single error itself, or one listing each failed object's message (a ConflictError when
    all were conflicts)."""
    errors = [e for _, e in failures]
    if len(errors) == 1 and isinstance(errors[0], KdeployError):
        return errors[0]
    lines = "\n".join(f"  - {e.message if isinstance(e, KdeployError) else e}" for e in errors)
    message = (
        f"{len(errors)} of {total} objects failed to {verb} in phase {name!r} "
        f"(later phases were not started):\n{lines}"
    )
    hints = {e.hint for e in errors if isinstance(e, KdeployError) and e.hint}
    hint = next(iter(hints)) if len(hints) == 1 else None
    if all(isinstance(e, ConflictError) for e in errors):
        return ConflictError(message, hint=hint)
    return ClusterError(message, hint=hint)
