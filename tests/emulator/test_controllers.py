"""The simulated controllers over an in-memory store and a fake clock."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from controller_fakes import FakeClock, FakeStore, IncrementalFakeStore

from kdeploy.emulator.controllers import ControllerManager, template_hash
from kdeploy.emulator.types import ControllerKnobs

Obj = dict[str, Any]


def deployment(name: str = "web", image: str = "nginx:1.27", replicas: int = 2) -> Obj:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "progressDeadlineSeconds": 600,
            "revisionHistoryLimit": 10,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


class Cluster:
    # Set per test by the `store_kind` fixture: both kinds of store must behave the same.
    store_class: type[FakeStore] = IncrementalFakeStore

    def __init__(self, **knobs: Any) -> None:
        self.store = self.store_class()
        self.clock = FakeClock()
        self.manager = ControllerManager(
            self.store,
            ControllerKnobs(**knobs),
            self.clock,
            wall=lambda: 1_800_000_000.0,
            rng=random.Random(7),
        )

    def settle(self, passes: int = 50) -> None:
        """Reconcile until a pass changes nothing."""
        for _ in range(passes):
            if not self.manager.reconcile():
                return
        raise AssertionError("controllers did not settle")

    def run_for(self, seconds: float, step: float = 0.25) -> None:
        elapsed = 0.0
        while elapsed < seconds:
            self.settle()
            self.clock.advance(step)
            elapsed += step
        self.settle()

    def pods(self, prefix: str = "") -> list[Obj]:
        return [p for p in self.store.all("Pod") if p["metadata"]["name"].startswith(prefix)]

    def replicasets(self) -> list[Obj]:
        return self.store.all("ReplicaSet", "apps")


@pytest.fixture(autouse=True, params=["incremental", "full-pass"])
def store_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run every test with a store that offers the change log (passes read only what changed)
    and with one that does not (every pass reads everything)."""
    kind = IncrementalFakeStore if request.param == "incremental" else FakeStore
    monkeypatch.setattr(Cluster, "store_class", kind)
    return str(request.param)


def condition(obj: Obj, ctype: str) -> Obj:
    for cond in obj["status"].get("conditions", []):
        if cond["type"] == ctype:
            return dict(cond)
    raise AssertionError(f"no {ctype} condition in {obj['status']}")


def test_deployment_rolls_out_to_available() -> None:
    c = Cluster()
    c.store.user_apply(deployment())
    c.settle()
    (rs,) = c.replicasets()
    hash_ = template_hash(deployment()["spec"]["template"])
    assert rs["metadata"]["name"] == f"web-{hash_}"
    assert rs["metadata"]["labels"]["pod-template-hash"] == hash_
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": hash_}
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    owner = rs["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "Deployment" and owner["controller"] is True
    pods = c.pods("web-")
    assert len(pods) == 2
    assert all(p["status"]["phase"] == "Pending" for p in pods)
    dep = c.store.get("Deployment", "web")
    assert dep["status"]["observedGeneration"] == 1
    assert dep["status"]["unavailableReplicas"] == 2
    assert condition(dep, "Available")["reason"] == "MinimumReplicasUnavailable"
    assert condition(dep, "Progressing")["reason"] == "NewReplicaSetCreated"
    assert condition(dep, "Progressing")["message"] == f'Created new replica set "web-{hash_}"'

    c.run_for(1.5)

    pod = c.pods("web-")[0]
    assert pod["metadata"]["name"].startswith(f"web-{hash_}-")
    assert len(pod["metadata"]["name"]) == len(f"web-{hash_}-") + 5
    assert pod["status"]["phase"] == "Running"
    assert pod["spec"]["nodeName"] == "emulator-node"
    assert pod["status"]["podIP"] and pod["status"]["hostIP"]
    assert pod["status"]["containerStatuses"][0]["ready"] is True
    assert pod["status"]["containerStatuses"][0]["started"] is True
    for ctype in ("Ready", "ContainersReady", "PodScheduled", "Initialized"):
        assert condition(pod, ctype)["status"] == "True"
    dep = c.store.get("Deployment", "web")
    status = dep["status"]
    assert (status["replicas"], status["updatedReplicas"]) == (2, 2)
    assert (status["readyReplicas"], status["availableReplicas"]) == (2, 2)
    assert "unavailableReplicas" not in status
    assert [cond["type"] for cond in status["conditions"]] == ["Available", "Progressing"]
    assert condition(dep, "Available")["message"] == "Deployment has minimum availability."
    progressing = condition(dep, "Progressing")
    assert progressing["reason"] == "NewReplicaSetAvailable"
    assert progressing["message"] == f'ReplicaSet "web-{hash_}" has successfully progressed.'
    assert dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert any(e["reason"] == "ScalingReplicaSet" for e in c.store.events)


def test_steady_state_makes_no_writes() -> None:
    c = Cluster()
    c.store.user_apply(deployment())
    c.run_for(2)
    writes = c.store.writes
    for _ in range(20):
        assert c.manager.reconcile() is False
        c.clock.advance(5)
    assert c.store.writes == writes


def test_idle_passes_are_skipped_until_the_store_changes_or_a_timer_is_due() -> None:
    c = Cluster()
    c.store.user_apply(deployment(image="app:crashloop", replicas=1))
    c.settle()
    reads = c.store.list_calls
    # Nothing changed and the pod's ready delay has not passed: no reads at all.
    assert c.manager.reconcile() is False
    assert c.store.list_calls == reads
    c.clock.advance(1.0)
    assert c.manager.reconcile() is True  # the container started
    c.settle()
    reads = c.store.list_calls
    c.manager.reconcile()
    assert c.store.list_calls == reads
    # A user's write wakes the controllers at once.
    c.store.user_apply(deployment(image="app:crashloop", replicas=2))
    assert c.manager.reconcile() is True
    assert len(c.pods("web-")) == 2


def test_template_change_creates_new_replicaset_and_scales_old_down() -> None:
    c = Cluster()
    c.store.user_apply(deployment())
    c.run_for(2)
    (old,) = c.replicasets()
    c.store.user_apply(deployment(image="nginx:1.28"))
    c.settle()
    sets = {rs["metadata"]["name"]: rs for rs in c.replicasets()}
    assert len(sets) == 2
    new_name = next(n for n in sets if n != old["metadata"]["name"])
    assert sets[new_name]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    # The old pods keep serving until the new ones are available.
    dep = c.store.get("Deployment", "web")
    assert dep["status"]["observedGeneration"] == 2
    assert dep["status"]["replicas"] == 4
    assert condition(dep, "Available")["status"] == "True"

    c.run_for(2)

    sets = {rs["metadata"]["name"]: rs for rs in c.replicasets()}
    assert sets[old["metadata"]["name"]]["spec"]["replicas"] == 0
    assert sets[new_name]["spec"]["replicas"] == 2
    images = {p["spec"]["containers"][0]["image"] for p in c.pods("web-")}
    assert images == {"nginx:1.28"}
    dep = c.store.get("Deployment", "web")
    assert dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert (dep["status"]["replicas"], dep["status"]["updatedReplicas"]) == (2, 2)
    assert condition(dep, "Progressing")["message"] == (
        f'ReplicaSet "{new_name}" has successfully progressed.'
    )
    messages = [e["message"] for e in c.store.events if e["reason"] == "ScalingReplicaSet"]
    assert f"Scaled down replica set {old['metadata']['name']} to 0 from 2" in messages


def test_rollback_reuses_old_replicaset_with_new_revision() -> None:
    c = Cluster()
    c.store.user_apply(deployment())
    c.run_for(2)
    c.store.user_apply(deployment(image="nginx:1.28"))
    c.run_for(2)
    c.store.user_apply(deployment())
    c.run_for(2)
    sets = c.replicasets()
    assert len(sets) == 2
    live = next(rs for rs in sets if rs["spec"]["replicas"] == 2)
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert live["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"


def test_old_replicasets_beyond_history_limit_are_deleted() -> None:
    c = Cluster()
    manifest = deployment()
    manifest["spec"]["revisionHistoryLimit"] = 1
    for tag in ("1", "2", "3", "4"):
        manifest["spec"]["template"]["spec"]["containers"][0]["image"] = f"nginx:{tag}"
        c.store.user_apply(copy.deepcopy(manifest))
        c.run_for(2)
    sets = c.replicasets()
    assert sorted(rs["spec"]["replicas"] for rs in sets) == [0, 2]


def test_scale_down_deletes_pods() -> None:
    c = Cluster()
    c.store.user_apply(deployment(replicas=3))
    c.run_for(2)
    c.store.user_apply(deployment(replicas=1))
    c.run_for(1)
    assert len(c.pods("web-")) == 1
    dep = c.store.get("Deployment", "web")
    assert dep["status"]["availableReplicas"] == 1


def test_never_ready_image_pull_backoff_then_progress_deadline() -> None:
    c = Cluster()
    manifest = deployment(image="registry.example/app:never-ready", replicas=1)
    manifest["spec"]["progressDeadlineSeconds"] = 30
    c.store.user_apply(manifest)
    c.run_for(1.5)
    (pod,) = c.pods("web-")
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ErrImagePull"
    assert (
        'failed to pull and unpack image "registry.example/app:never-ready"' in waiting["message"]
    )
    c.run_for(1.5)
    (pod,) = c.pods("web-")
    status = pod["status"]
    assert status["phase"] == "Pending"
    waiting = status["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ImagePullBackOff"
    assert waiting["message"].startswith(
        'Back-off pulling image "registry.example/app:never-ready"'
    )
    assert condition(pod, "Ready")["reason"] == "ContainersNotReady"
    assert condition(pod, "Ready")["message"] == "containers with unready status: [app]"
    reasons = [(e["type"], e["reason"], e["message"]) for e in c.store.events if e["kind"] == "Pod"]
    assert ("Normal", "Pulling", 'Pulling image "registry.example/app:never-ready"') in reasons
    assert any(
        (kind, reason) == ("Warning", "Failed")
        and message.startswith('Failed to pull image "registry.example/app:never-ready": ')
        for kind, reason, message in reasons
    )
    assert (
        "Normal",
        "BackOff",
        'Back-off pulling image "registry.example/app:never-ready"',
    ) in reasons

    dep = c.store.get("Deployment", "web")
    assert condition(dep, "Progressing")["status"] == "True"
    c.run_for(30, step=5)
    dep = c.store.get("Deployment", "web")
    progressing = condition(dep, "Progressing")
    assert progressing["status"] == "False"
    assert progressing["reason"] == "ProgressDeadlineExceeded"
    rs_name = c.replicasets()[0]["metadata"]["name"]
    assert progressing["message"] == f'ReplicaSet "{rs_name}" has timed out progressing.'
    assert condition(dep, "Available")["reason"] == "MinimumReplicasUnavailable"


def test_crashloop_restarts_with_back_off() -> None:
    c = Cluster()
    manifest = deployment(image="example/crashloop:1", replicas=1)
    manifest["spec"]["progressDeadlineSeconds"] = 20
    c.store.user_apply(manifest)
    c.run_for(1.25)
    (pod,) = c.pods("web-")
    assert pod["status"]["phase"] == "Running"
    assert "running" in pod["status"]["containerStatuses"][0]["state"]
    c.run_for(2)
    (pod,) = c.pods("web-")
    cs = pod["status"]["containerStatuses"][0]
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cs["state"]["waiting"]["message"].startswith(
        "back-off 10s restarting failed container=app pod=web-"
    )
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    first = cs["restartCount"]
    assert first >= 1
    assert cs["ready"] is False
    c.run_for(10, step=1)
    (pod,) = c.pods("web-")
    assert pod["status"]["containerStatuses"][0]["restartCount"] > first
    backoffs = [e for e in c.store.events if e["reason"] == "BackOff"]
    assert backoffs and backoffs[0]["type"] == "Warning"
    assert backoffs[0]["message"].startswith("Back-off restarting failed container app in pod web-")
    c.run_for(20, step=5)
    dep = c.store.get("Deployment", "web")
    assert condition(dep, "Progressing")["reason"] == "ProgressDeadlineExceeded"


def job(name: str, image: str, backoff_limit: int = 6) -> Obj:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "backoffLimit": backoff_limit,
            "completions": 1,
            "parallelism": 1,
            "template": {
                "metadata": {"labels": {"job": name}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": image}],
                },
            },
        },
    }


def test_job_completes() -> None:
    c = Cluster(job_duration=2.0)
    c.store.user_apply(job("migrate", "busybox:1"))
    c.run_for(1)
    status = c.store.get("Job", "migrate", "batch")["status"]
    assert status["active"] == 1
    assert "conditions" not in status
    c.run_for(2)
    status = c.store.get("Job", "migrate", "batch")["status"]
    assert status["succeeded"] == 1
    assert "active" not in status
    assert [cond["type"] for cond in status["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert all(cond["status"] == "True" for cond in status["conditions"])
    assert status["completionTime"]
    (pod,) = c.pods("migrate-")
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "migrate"
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")


def test_job_whose_image_cannot_be_pulled_never_finishes() -> None:
    c = Cluster(job_duration=1.0)
    c.store.user_apply(job("migrate", "registry.example/migrate:never-ready"))
    c.run_for(5)
    status = c.store.get("Job", "migrate", "batch")["status"]
    assert status["active"] == 1
    assert "succeeded" not in status and "conditions" not in status
    (pod,) = c.pods("migrate-")
    assert pod["status"]["phase"] == "Pending"
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ImagePullBackOff"


def test_job_fails_after_backoff_limit() -> None:
    c = Cluster(job_duration=1.0)
    c.store.user_apply(job("broken", "busybox:job-fails", backoff_limit=2))
    c.run_for(6)
    status = c.store.get("Job", "broken", "batch")["status"]
    assert status["failed"] == 3
    assert "succeeded" not in status
    failed = condition({"status": status}, "Failed")
    assert (failed["status"], failed["reason"]) == ("True", "BackoffLimitExceeded")
    assert failed["message"] == "Job has reached the specified backoff limit"
    assert condition({"status": status}, "FailureTarget")["status"] == "True"
    pods = c.pods("broken-")
    assert len(pods) == 3
    assert {p["status"]["phase"] for p in pods} == {"Failed"}
    terminated = pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 1
    writes = c.store.writes
    c.run_for(5)
    assert c.store.writes == writes


def statefulset(image: str = "postgres:16", replicas: int = 3) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "podManagementPolicy": "OrderedReady",
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "pg", "image": image}]},
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ],
        },
    }


def test_statefulset_creates_ordered_pods_and_bound_claims() -> None:
    c = Cluster()
    c.store.user_apply(statefulset())
    c.settle()
    # OrderedReady: db-1 waits for db-0 to be ready.
    assert [p["metadata"]["name"] for p in c.pods("db-")] == ["db-0"]
    c.run_for(5)
    pods = c.pods("db-")
    assert [p["metadata"]["name"] for p in pods] == ["db-0", "db-1", "db-2"]
    assert pods[0]["spec"]["volumes"][0] == {
        "name": "data",
        "persistentVolumeClaim": {"claimName": "data-db-0"},
    }
    assert pods[0]["spec"]["hostname"] == "db-0" and pods[0]["spec"]["subdomain"] == "db"
    claims = {p["metadata"]["name"]: p for p in c.store.all("PersistentVolumeClaim")}
    assert sorted(claims) == ["data-db-0", "data-db-1", "data-db-2"]
    assert all(pvc["status"]["phase"] == "Bound" for pvc in claims.values())
    assert all(pvc["spec"]["volumeName"] for pvc in claims.values())
    status = c.store.get("StatefulSet", "db")["status"]
    revision = f"db-{template_hash(statefulset()['spec']['template'])}"
    assert status["currentRevision"] == status["updateRevision"] == revision
    assert pods[0]["metadata"]["labels"]["controller-revision-hash"] == revision
    assert (status["replicas"], status["readyReplicas"], status["updatedReplicas"]) == (3, 3, 3)
    assert (status["currentReplicas"], status["availableReplicas"]) == (3, 3)
    assert status["observedGeneration"] == 1


def test_statefulset_rolling_update_changes_update_revision() -> None:
    c = Cluster()
    c.store.user_apply(statefulset())
    c.run_for(5)
    old_revision = c.store.get("StatefulSet", "db")["status"]["currentRevision"]
    c.store.user_apply(statefulset(image="postgres:17"))
    c.settle()
    status = c.store.get("StatefulSet", "db")["status"]
    assert status["currentRevision"] == old_revision
    assert status["updateRevision"] != old_revision
    assert status["observedGeneration"] == 2
    c.run_for(10)
    status = c.store.get("StatefulSet", "db")["status"]
    assert status["currentRevision"] == status["updateRevision"] != old_revision
    assert status["updatedReplicas"] == 3
    assert {p["spec"]["containers"][0]["image"] for p in c.pods("db-")} == {"postgres:17"}
    assert len(c.store.all("PersistentVolumeClaim")) == 3


def test_daemonset_runs_one_pod_on_the_node() -> None:
    c = Cluster()
    c.store.user_apply(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "default"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {
                    "metadata": {"labels": {"app": "agent"}},
                    "spec": {"containers": [{"name": "a", "image": "agent:1"}]},
                },
            },
        }
    )
    c.run_for(2)
    status = c.store.get("DaemonSet", "agent")["status"]
    assert status["desiredNumberScheduled"] == 1
    assert status["numberReady"] == status["numberAvailable"] == 1
    assert status["updatedNumberScheduled"] == 1
    assert "numberUnavailable" not in status
    assert len(c.pods("agent-")) == 1


def test_load_balancer_service_gets_an_ingress_ip_after_the_delay() -> None:
    c = Cluster()
    c.store.user_apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "lb", "namespace": "default"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        }
    )
    c.settle()
    assert "status" not in c.store.get("Service", "lb", "")
    c.run_for(1.5)
    ingress = c.store.get("Service", "lb", "")["status"]["loadBalancer"]["ingress"]
    assert ingress[0]["ip"].startswith("172.18.255.")


@pytest.mark.parametrize("pattern", ["custom-broken"])
def test_image_patterns_are_configurable(pattern: str) -> None:
    c = Cluster(never_ready_pattern=pattern)
    c.store.user_apply(deployment(image=f"app:{pattern}", replicas=1))
    c.run_for(3)
    (pod,) = c.pods("web-")
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ImagePullBackOff"


def test_status_computed_before_a_spec_change_is_not_written() -> None:
    c = Cluster()
    c.store.user_apply(deployment())
    c.settle()
    # The pods become ready in the next pass, which then writes the Deployment's status.
    c.clock.advance(1.5)
    store = c.store
    original_get = store.get_object

    def get_with_user_write(group: str, kind: str, namespace: str, name: str) -> Obj | None:
        if kind == "Deployment":
            # A user changes the template between the controller's read and its write.
            store.get_object = original_get  # type: ignore[method-assign]
            store.user_apply(deployment(image="nginx:1.28"))
        return original_get(group, kind, namespace, name)

    store.get_object = get_with_user_write  # type: ignore[method-assign]
    c.manager.reconcile()
    dep = store.get("Deployment", "web")
    assert dep["metadata"]["generation"] == 2
    # The status still describes generation 1, so rollout status keeps waiting.
    assert dep["status"]["observedGeneration"] == 1
    c.run_for(2)
    dep = store.get("Deployment", "web")
    assert dep["status"]["observedGeneration"] == 2
    assert {p["spec"]["containers"][0]["image"] for p in c.pods("web-")} == {"nginx:1.28"}


def test_a_change_is_acted_on_from_the_change_log_without_rereading_everything(
    store_kind: str,
) -> None:
    if store_kind != "incremental":
        pytest.skip("only a store with a change log can spare the re-reads")
    c = Cluster()
    for i in range(5):
        c.store.user_apply(deployment(f"d{i}", replicas=1))
    c.run_for(2)
    reads = c.store.list_calls
    c.store.user_apply(deployment("d3", replicas=3))
    c.run_for(2)
    assert c.store.list_calls == reads
    assert len(c.pods("d3-")) == 3
    assert c.store.get("Deployment", "d3")["status"]["availableReplicas"] == 3
    assert all(len(c.pods(f"d{i}-")) == 1 for i in (0, 1, 2, 4))


def test_a_change_log_that_no_longer_reaches_back_means_a_full_reread(store_kind: str) -> None:
    if store_kind != "incremental":
        pytest.skip("about the change log")
    c = Cluster()
    c.store = IncrementalFakeStore(history=2)
    c.manager = ControllerManager(
        c.store, ControllerKnobs(), c.clock, wall=lambda: 1_800_000_000.0, rng=random.Random(7)
    )
    c.store.user_apply(deployment("a", replicas=1))
    c.run_for(2)
    reads = c.store.list_calls
    # More changes than the log keeps happen between two passes.
    c.store.user_apply(deployment("a", replicas=2))
    c.store.user_apply(deployment("b", replicas=1))
    c.store.user_apply(deployment("c", replicas=1))
    c.run_for(2)
    assert c.store.list_calls > reads
    assert [len(c.pods(f"{n}-")) for n in "abc"] == [2, 1, 1]
    assert all(p["status"]["phase"] == "Running" for p in c.pods())
