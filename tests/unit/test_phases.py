"""Install phases and running a phase concurrently: order, failure reporting, bounds."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from kdeploy.actions.phases import Phase, phase_failure, run_phase, split_phases
from kdeploy.errors import ClusterError, ConflictError
from kdeploy.model import ObjectKey


def obj(kind: str, name: str, api_version: str = "v1") -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": "a"}}


MIXED = [
    obj("Deployment", "web", "apps/v1"),
    obj("Widget", "w", "example.com/v1"),
    obj("ConfigMap", "b"),
    obj("Service", "web"),
    obj("Secret", "a"),
    obj("Namespace", "a"),
    obj("CustomResourceDefinition", "widgets.example.com", "apiextensions.k8s.io/v1"),
    obj("ServiceAccount", "web"),
    obj("RoleBinding", "rb", "rbac.authorization.k8s.io/v1"),
    obj("PersistentVolumeClaim", "data"),
    obj("Job", "migrate", "batch/v1"),
]


def names(phases: list[Phase]) -> list[tuple[str, list[str]]]:
    return [(p.name, [f"{o['kind']}/{o['metadata']['name']}" for o in p.objects]) for p in phases]


def test_objects_are_grouped_into_phases_in_install_order() -> None:
    assert names(split_phases(MIXED)) == [
        ("namespaces", ["Namespace/a"]),
        ("custom resource definitions", ["CustomResourceDefinition/widgets.example.com"]),
        ("identities and RBAC", ["ServiceAccount/web", "RoleBinding/rb"]),
        ("configuration", ["ConfigMap/b", "Secret/a"]),
        ("volume claims", ["PersistentVolumeClaim/data"]),
        ("services", ["Service/web"]),
        ("workloads", ["Deployment/web", "Job/migrate"]),
        ("other resources", ["Widget/w"]),
    ]


def test_deletion_runs_the_phases_backwards() -> None:
    order = [p.name for p in split_phases(MIXED, reverse=True)]
    assert order[0] == "other resources" and order[-1] == "namespaces"
    assert order.index("workloads") < order.index("services") < order.index("configuration")


def test_a_phase_runs_concurrently_within_the_bound_and_keeps_result_order() -> None:
    phase = Phase("configuration", [obj("ConfigMap", f"c{i}") for i in range(12)])
    running = 0
    peak = 0
    guard = threading.Lock()
    gate = threading.Barrier(4, timeout=5)

    def work(m: dict[str, Any]) -> str:
        nonlocal running, peak
        with guard:
            running += 1
            peak = max(peak, running)
        try:
            gate.wait()  # proves 4 calls are in flight at once
        except threading.BrokenBarrierError:
            pass
        with guard:
            running -= 1
        return str(m["metadata"]["name"])

    assert run_phase(phase, work, concurrency=4, verb="apply") == [f"c{i}" for i in range(12)]
    assert peak == 4


def test_every_failed_object_of_the_phase_is_reported() -> None:
    phase = Phase("configuration", [obj("ConfigMap", n) for n in ("a", "b", "c")])
    done: list[str] = []

    def work(m: dict[str, Any]) -> None:
        name = m["metadata"]["name"]
        if name != "b":
            raise ClusterError(f"apply ConfigMap a/{name}: Forbidden: no")
        done.append(name)

    with pytest.raises(ClusterError) as info:
        run_phase(phase, work, concurrency=3, verb="apply")
    message = info.value.message
    assert "2 of 3 objects failed to apply in phase 'configuration'" in message
    assert "apply ConfigMap a/a: Forbidden" in message
    assert "apply ConfigMap a/c: Forbidden" in message
    assert done == ["b"]  # the others still ran to the end


def test_a_single_failure_is_raised_as_is() -> None:
    phase = Phase("services", [obj("Service", "web"), obj("Service", "api")])
    conflict = ConflictError("apply Service a/web: conflict", hint="use --force-conflicts")

    def work(m: dict[str, Any]) -> None:
        if m["metadata"]["name"] == "web":
            raise conflict

    with pytest.raises(ConflictError) as info:
        run_phase(phase, work, concurrency=2, verb="apply")
    assert info.value is conflict


def test_all_conflicts_stay_a_conflict_with_the_shared_hint() -> None:
    key = ObjectKey("", "ConfigMap", "a", "x")
    errors = [(key, ConflictError("one", hint="h")), (key, ConflictError("two", hint="h"))]
    error = phase_failure("configuration", "apply", errors, 5)
    assert isinstance(error, ConflictError) and error.hint == "h"


def test_unexpected_exceptions_propagate_unchanged() -> None:
    phase = Phase("services", [obj("Service", "web"), obj("Service", "api")])

    def work(m: dict[str, Any]) -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        run_phase(phase, work, concurrency=2, verb="apply")
