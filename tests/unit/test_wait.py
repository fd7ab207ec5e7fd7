"""The wait loop over an in-memory cluster with a fake clock: what it polls, when it stops, what
it prints without a terminal and which evidence it gathers."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import pytest

from kdeploy.errors import WaitError
from kdeploy.model import ObjectKey
from kdeploy.wait import PlainProgress, WaitOptions, selector_text, wait_for
from tests.actions.fakes import FakeCluster, RecordingOutput


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def deployment(available: int, *, generation: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "generation": generation},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}},
        "status": {
            "observedGeneration": 1,
            "replicas": 2,
            "updatedReplicas": 2,
            "availableReplicas": available,
        },
    }


def pod(name: str, state: dict[str, Any], app: str = "web") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": app}},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "app", "state": state}]},
    }


PULL = {"waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "x:1"'}}


def warning(name: str, involved: str, kind: str, message: str, when: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": "shop"},
        "involvedObject": {"kind": kind, "name": involved, "namespace": "shop"},
        "type": "Warning",
        "reason": "Failed",
        "message": message,
        "lastTimestamp": when,
    }


CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "c", "namespace": "shop"},
}


def put(cluster: FakeCluster, obj: dict[str, Any]) -> None:
    """Store `obj` with its own status (the fake's put replaces the status)."""
    cluster.put(obj)
    if "status" in obj:
        cluster.objects[ObjectKey.of(obj)]["status"] = obj["status"]


def run(cluster: FakeCluster, manifests: list[dict[str, Any]], timeout: float = 10.0) -> Any:
    clock = Clock()
    out = RecordingOutput()
    waited = wait_for(
        cluster,
        manifests,
        WaitOptions(enabled=True, timeout=timeout),
        PlainProgress(out),
        sleep=clock.sleep,
        monotonic=clock.monotonic,
    )
    return waited, out


class Becoming(FakeCluster):
    """A cluster whose Deployment gains one available replica per read."""

    reads: int = 0

    def get(self, ref: Any) -> Any:
        obj = super().get(ref)
        if obj is not None and obj["kind"] == "Deployment":
            self.reads += 1
            obj["status"]["availableReplicas"] = min(self.reads - 1, 2)
        return obj


def test_objects_without_rules_are_not_polled() -> None:
    cluster = FakeCluster()
    waited, out = run(cluster, [CONFIGMAP])
    assert waited == 0.0 and cluster.calls["get"] == 0 and out.lines == []


def test_polls_until_healthy_and_prints_each_change_once() -> None:
    cluster = Becoming()
    put(cluster, deployment(0))
    waited, out = run(cluster, [deployment(0), CONFIGMAP])
    assert waited > 0
    assert cluster.reads == 3
    assert [line.split(" (")[0] for line in out.lines] == [
        "  Deployment/web: waiting 0/2",
        "  Deployment/web: waiting 1/2",
        "  Deployment/web: ready 2/2",
        "  all 1 healthy after 0.5s",
    ]
    assert all("\x1b" not in line for line in out.lines)


def test_timeout_names_the_object_its_pod_and_warning_events() -> None:
    cluster = FakeCluster()
    put(cluster, deployment(0))
    put(cluster, pod("web-abc-1", PULL))
    put(cluster, pod("web-abc-2", PULL))
    put(cluster, pod("other-1", PULL, app="other"))
    put(
        cluster,
        warning("e1", "web-abc-1", "Pod", "Error: ImagePullBackOff", "2026-01-01T00:00:02Z"),
    )
    put(
        cluster,
        warning("e2", "web-abc-2", "Pod", "Error: ImagePullBackOff", "2026-01-01T00:00:03Z"),
    )
    put(
        cluster,
        warning("e3", "web", "ReplicaSet", "not about the Deployment", "2026-01-01T00:00:01Z"),
    )
    with pytest.raises(WaitError) as caught:
        run(cluster, [deployment(0)], timeout=3)
    text = caught.value.message
    first, *rest = text.splitlines()
    assert first == (
        "timed out after 3.0s waiting for Deployment shop/web "
        "(pod web-abc-1: container app: ImagePullBackOff)"
    )
    assert rest == [
        "  Deployment shop/web: Waiting for rollout to finish: 0 of 2 updated replicas are "
        "available...",
        '    pod web-abc-1: container app: ImagePullBackOff: Back-off pulling image "x:1"',
        '    pod web-abc-2: container app: ImagePullBackOff: Back-off pulling image "x:1"',
        "    event Failed on Pod web-abc-1 (and 1 more): Error: ImagePullBackOff",
    ]
    assert caught.value.exit_code == 4


def test_a_failed_object_stops_the_wait_at_once() -> None:
    cluster = FakeCluster()
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "namespace": "shop"},
        "spec": {},
    }
    put(cluster, job)
    cluster.objects[ObjectKey("batch", "Job", "shop", "migrate")]["status"] = {
        "failed": 1,
        "conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}],
    }
    with pytest.raises(WaitError, match=r"^Job shop/migrate failed after 0\.0s: Job failed: "):
        run(cluster, [job], timeout=300)
    assert cluster.calls["get"] == 2  # one poll, one read for the evidence


def test_missing_object_times_out_as_not_found() -> None:
    with pytest.raises(WaitError, match="Deployment shop/web: not found"):
        run(FakeCluster(), [deployment(0)], timeout=1)


@pytest.mark.parametrize(
    ("selector", "text"),
    [
        ({"matchLabels": {"b": "2", "a": "1"}}, "a=1,b=2"),
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["a", "b"]},
                    {"key": "env", "operator": "NotIn", "values": ["dev"]},
                    {"key": "canary", "operator": "Exists"},
                    {"key": "legacy", "operator": "DoesNotExist"},
                ],
            },
            "app=web,tier in (a,b),env notin (dev),canary,!legacy",
        ),
        (None, ""),
    ],
)
def test_selector_text(selector: Any, text: str) -> None:
    assert selector_text(selector) == text


def test_several_objects_of_a_kind_are_read_with_one_list_per_poll() -> None:
    from kdeploy.resources import stamp_ownership

    cluster = FakeCluster()
    manifests = []
    for name in ("web", "api", "worker"):
        obj = stamp_ownership({**deployment(2), "metadata": {"name": name}}, "shop-app", "prod")
        obj["metadata"]["namespace"] = "shop"
        put(cluster, obj)
        manifests.append(obj)
    other = stamp_ownership({**deployment(2), "metadata": {"name": "x"}}, "other", "prod")
    other["metadata"]["namespace"] = "shop"
    put(cluster, other)
    run(cluster, manifests)
    assert cluster.calls["list"] == 1 and cluster.calls["get"] == 0


def test_deployment_evidence_includes_its_current_replicaset_events() -> None:
    cluster = FakeCluster()
    dep = deployment(0)
    dep["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "2"}
    put(cluster, dep)
    uid = cluster.objects[ObjectKey.of(dep)]["metadata"]["uid"]
    for name, revision in (("web-new", "2"), ("web-old", "1")):
        put(
            cluster,
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": name,
                    "namespace": "shop",
                    "labels": {"app": "web"},
                    "annotations": {"deployment.kubernetes.io/revision": revision},
                    "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": uid}],
                },
            },
        )
        event = warning(f"e-{name}", name, "ReplicaSet", f"quota {name}", "2026-01-01T00:00:01Z")
        event["reason"] = "FailedCreate"
        put(cluster, event)
    with pytest.raises(WaitError) as caught:
        run(cluster, [dep], timeout=1)
    text = caught.value.message
    assert "    event FailedCreate on ReplicaSet web-new: quota web-new" in text.splitlines()
    assert "web-old" not in text


class NoPodList(FakeCluster):
    """A cluster whose credentials may not list pods."""

    def list_by_labels(self, api_version: str, kind: str, *args: Any, **kwargs: Any) -> Any:
        if kind == "Pod":
            from kdeploy.errors import ForbiddenError

            self.calls["pod-list"] += 1
            raise ForbiddenError("pods is forbidden", verb="list", resource="pods")
        return super().list_by_labels(api_version, kind, *args, **kwargs)


def stuck_wait(
    cluster: FakeCluster, options: WaitOptions, interval: float = 10.0
) -> tuple[RecordingOutput, WaitError]:
    clock = Clock()
    out = RecordingOutput()
    with pytest.raises(WaitError) as caught:
        wait_for(
            cluster,
            [deployment(0)],
            options,
            PlainProgress(out, interval),
            sleep=clock.sleep,
            monotonic=clock.monotonic,
        )
    return out, caught.value


def test_plain_progress_says_what_is_awaited_at_least_every_interval() -> None:
    cluster = FakeCluster()
    put(cluster, deployment(0))
    put(cluster, pod("web-abc-1", PULL))
    out, _ = stuck_wait(cluster, WaitOptions(enabled=True, timeout=35.0))
    beats = [line for line in out.lines if "still waiting" in line]
    pulling = "Deployment/web 0/2 ready (pod web-abc-1: container app: ImagePullBackOff"
    # the time stuck counts from the first reading of the pods (at the first heartbeat)
    assert beats == [
        f"  still waiting after 10s: {pulling})",
        f"  still waiting after 20s: {pulling} for 10s)",
        f"  still waiting after 30s: {pulling} for 20s)",
    ]


def test_fail_fast_fails_after_the_grace_with_the_timeout_evidence() -> None:
    cluster = FakeCluster()
    put(cluster, deployment(0))
    put(cluster, pod("web-abc-1", PULL))
    options = WaitOptions(enabled=True, timeout=300.0, fail_fast=True, fail_fast_grace=30.0)
    out, error = stuck_wait(cluster, options)
    head, *rest = error.message.splitlines()
    # first seen stuck at the first pod reading (2 s), failed at the first reading past 32 s
    assert head.startswith("Deployment shop/web failed fast after 3")
    assert head.endswith(
        ": pod web-abc-1: container app in ImagePullBackOff for 31s, longer than "
        "--fail-fast-grace (30s)"
    )
    assert rest[0].startswith("  Deployment shop/web: Waiting for rollout")
    assert (
        rest[1]
        == '    pod web-abc-1: container app: ImagePullBackOff: Back-off pulling image "x:1"'
    )
    # the heartbeat tells how long it has been stuck so far
    assert re.search(
        r"still waiting after 30s: Deployment/web 0/2 ready \(pod web-abc-1: container app: "
        r"ImagePullBackOff for 2[78]s\)",
        "\n".join(out.lines),
    )


def test_pods_that_may_not_be_listed_do_not_stop_the_wait() -> None:
    cluster = NoPodList()
    put(cluster, deployment(0))
    options = WaitOptions(enabled=True, timeout=12.0, fail_fast=True)
    out, error = stuck_wait(cluster, options)
    assert error.message.startswith("timed out after 12s waiting for Deployment shop/web")
    # tried once while waiting (then no more), once more for the evidence
    assert cluster.calls["pod-list"] == 2
    assert "still waiting after 10s: Deployment/web 0/2 ready (Waiting for rollout" in "\n".join(
        out.lines
    )


@dataclass
class Silent:
    """A progress view that shows no pods (as the live view on a terminal)."""

    names_pods: bool = False

    def update(self, rows: Any, elapsed: float) -> None:
        pass

    def close(self, rows: Any, elapsed: float, ok: bool) -> None:
        pass

    def next_update(self, elapsed: float) -> float:
        return math.inf


class CountingPodLists(FakeCluster):
    pod_lists: int = 0

    def list_by_labels(self, api_version: str, kind: str, *args: Any, **kwargs: Any) -> Any:
        self.pod_lists += kind == "Pod"
        return super().list_by_labels(api_version, kind, *args, **kwargs)


@pytest.mark.parametrize(("fail_fast", "expected"), [(False, {1}), (True, set(range(13, 17)))])
def test_pods_are_read_while_waiting_only_when_something_uses_them(
    fail_fast: bool, expected: set[int]
) -> None:
    cluster = CountingPodLists()
    put(cluster, deployment(0))
    clock = Clock()
    with pytest.raises(WaitError):
        wait_for(
            cluster,
            [deployment(0)],
            WaitOptions(enabled=True, timeout=31.0, fail_fast=fail_fast),
            Silent(),
            sleep=clock.sleep,
            monotonic=clock.monotonic,
        )
    # one list for the evidence; with fail-fast one more about every 2 s of the 31 s
    assert cluster.pod_lists in expected
