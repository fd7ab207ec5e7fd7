"""How long a container has been stuck, as `--fail-fast` judges it: counted from the first reading
that shows a fail-fast reason, kept across a crash loop's restarts, ended by readiness without a
restart or by the pod going away."""

from __future__ import annotations

from typing import Any

from kdeploy.stuck import StuckClock


def pod(
    name: str,
    reason: str | None,
    *,
    ready: bool = False,
    restarts: int = 0,
    init: bool = False,
) -> dict[str, Any]:
    state: dict[str, Any] = {"waiting": {"reason": reason}} if reason else {"running": {}}
    cs = {"name": "app", "state": state, "ready": ready, "restartCount": restarts}
    field = "initContainerStatuses" if init else "containerStatuses"
    return {"metadata": {"name": name}, "status": {field: [cs]}}


def test_counts_from_the_first_reading_and_names_pod_container_and_reason() -> None:
    clock = StuckClock()
    clock.observe([pod("web-1", "ErrImagePull")], 2.0)
    clock.observe([pod("web-1", "ImagePullBackOff")], 4.0)
    assert clock.longer_than(30, 31.0) == []
    (stuck,) = clock.longer_than(30, 33.0)
    assert (stuck.pod, stuck.container, stuck.reason, stuck.since) == (
        "web-1",
        "container app",
        "ImagePullBackOff",
        2.0,
    )
    assert stuck.text(33.0) == "pod web-1: container app in ImagePullBackOff for 31s"


def test_a_crash_loop_stays_stuck_across_its_restarts() -> None:
    clock = StuckClock()
    clock.observe([pod("web-1", "CrashLoopBackOff", restarts=1)], 1.0)
    # between two crashes the container runs (and, without a readiness probe, is ready)
    clock.observe([pod("web-1", None, ready=True, restarts=2)], 12.0)
    assert clock.longer_than(0, 12.0) == []  # not in a fail-fast reason right now
    clock.observe([pod("web-1", "CrashLoopBackOff", restarts=2)], 40.0)
    (stuck,) = clock.longer_than(30, 40.0)
    assert stuck.since == 1.0


def test_ready_without_a_restart_ends_the_stretch() -> None:
    clock = StuckClock()
    clock.observe([pod("web-1", "CreateContainerConfigError")], 1.0)
    clock.observe([pod("web-1", None, ready=True)], 5.0)  # the missing Secret appeared
    clock.observe([pod("web-1", "CreateContainerConfigError")], 40.0)
    assert clock.longer_than(30, 40.0) == []
    assert [c.since for c in clock.stuck()] == [40.0]


def test_a_pod_that_went_away_is_forgotten_and_other_objects_are_apart() -> None:
    clock = StuckClock()
    clock.observe([pod("web-1", "ImagePullBackOff")], 1.0, scope="Deployment/web")
    clock.observe([pod("job-1", "InvalidImageName", init=True)], 1.0, scope="Job/migrate")
    clock.observe([pod("web-2", "ImagePullBackOff")], 20.0, scope="Deployment/web")
    assert [(c.pod, c.since) for c in clock.stuck("Deployment/web")] == [("web-2", 20.0)]
    (job,) = clock.longer_than(10, 20.0, scope="Job/migrate")
    assert (job.container, job.reason) == ("init container app", "InvalidImageName")


def test_other_waiting_reasons_do_not_count() -> None:
    clock = StuckClock()
    clock.observe([pod("web-1", "ContainerCreating"), pod("web-2", "PodInitializing")], 0.0)
    assert clock.longer_than(0, 100.0) == []
