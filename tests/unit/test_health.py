"""Per-kind health rules over realistic status objects (as the API server returns them)."""

from __future__ import annotations

from typing import Any

import pytest

from kdeploy.health import Health, container_problem, evaluate, has_rule


def deployment(
    *,
    replicas: int = 3,
    generation: int = 2,
    observed: int = 2,
    updated: int = 3,
    ready: int = 3,
    available: int = 3,
    total: int = 3,
    progressing: tuple[str, str, str] = (
        "True",
        "NewReplicaSetAvailable",
        'ReplicaSet "web-65f88748fd" has successfully progressed.',
    ),
) -> dict[str, Any]:
    status, reason, message = progressing
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "generation": generation},
        "spec": {"replicas": replicas, "progressDeadlineSeconds": 600},
        "status": {
            "observedGeneration": observed,
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "conditions": [
                {
                    "type": "Available",
                    "status": "True",
                    "reason": "MinimumReplicasAvailable",
                    "message": "Deployment has minimum availability.",
                },
                {"type": "Progressing", "status": status, "reason": reason, "message": message},
            ],
        },
    }


def sts(**status: Any) -> dict[str, Any]:
    spec = status.pop("spec", {})
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "generation": 1},
        "spec": {
            "replicas": 2,
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            **spec,
        },
        "status": {
            "observedGeneration": 1,
            "replicas": 2,
            "readyReplicas": 2,
            "updatedReplicas": 2,
            "currentRevision": "db-7b9c5d",
            "updateRevision": "db-7b9c5d",
            **status,
        },
    }


def ds(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "generation": 1},
        "spec": {"updateStrategy": {"type": "RollingUpdate"}},
        "status": {
            "observedGeneration": 1,
            "desiredNumberScheduled": 2,
            "currentNumberScheduled": 2,
            "updatedNumberScheduled": 2,
            "numberReady": 2,
            "numberAvailable": 2,
            **status,
        },
    }


def job(conditions: list[dict[str, str]], **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "generation": 1},
        "spec": {"completions": 1, "backoffLimit": 6},
        "status": {"conditions": conditions, **status},
    }


def pod(phase: str, ready: bool, statuses: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-65f88748fd-x2k9p"},
        "spec": {"containers": [{"name": "app", "image": "nginx"}], **spec},
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": statuses,
        },
    }


PULL_BACKOFF = {
    "name": "app",
    "ready": False,
    "restartCount": 0,
    "state": {
        "waiting": {
            "reason": "ImagePullBackOff",
            "message": 'Back-off pulling image "nginx:never-ready"',
        }
    },
}
CRASHLOOP = {
    "name": "app",
    "ready": False,
    "restartCount": 4,
    "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}},
    "state": {
        "waiting": {
            "reason": "CrashLoopBackOff",
            "message": "back-off 40s restarting failed container=app pod=web-1_shop(uid)",
        }
    },
}

CASES: list[tuple[str, dict[str, Any], Health]] = [
    (
        "deployment rolled out",
        deployment(),
        Health(True, True, "successfully rolled out", "3/3"),
    ),
    (
        "deployment generation not observed",
        deployment(observed=1),
        Health(False, False, "Waiting for deployment spec update to be observed...", "3/3"),
    ),
    (
        "deployment no status at all yet",
        {"kind": "Deployment", "metadata": {"generation": 1}, "spec": {"replicas": 2}},
        Health(False, False, "Waiting for deployment spec update to be observed...", "0/2"),
    ),
    (
        "deployment updating",
        deployment(updated=1, available=2, total=4),
        Health(
            False,
            False,
            "Waiting for rollout to finish: 1 out of 3 new replicas have been updated...",
            "2/3",
        ),
    ),
    (
        "deployment old replicas terminating",
        deployment(total=4),
        Health(
            False,
            False,
            "Waiting for rollout to finish: 1 old replicas are pending termination...",
            "3/3",
        ),
    ),
    (
        "deployment updated but not available",
        deployment(available=1, ready=1),
        Health(
            False,
            False,
            "Waiting for rollout to finish: 1 of 3 updated replicas are available...",
            "1/3",
        ),
    ),
    (
        "deployment progress deadline exceeded",
        deployment(
            available=0,
            ready=0,
            progressing=(
                "False",
                "ProgressDeadlineExceeded",
                'ReplicaSet "web-65f88748fd" has timed out progressing.',
            ),
        ),
        Health(
            True,
            False,
            "exceeded its progress deadline (600s): ProgressDeadlineExceeded: "
            'ReplicaSet "web-65f88748fd" has timed out progressing.',
            "0/3",
        ),
    ),
    (
        "deployment pods refused by a quota",
        {
            **deployment(updated=0, available=0, ready=0, total=0),
            "status": {
                "observedGeneration": 2,
                "conditions": [
                    {
                        "type": "ReplicaFailure",
                        "status": "True",
                        "reason": "FailedCreate",
                        "message": 'pods "web-65f88748fd-x" is forbidden: exceeded quota: compute',
                    }
                ],
            },
        },
        Health(
            False,
            False,
            "Waiting for rollout to finish: pods cannot be created: FailedCreate: "
            'pods "web-65f88748fd-x" is forbidden: exceeded quota: compute',
            "0/3",
        ),
    ),
    (
        "deployment scaled to zero",
        deployment(replicas=0, updated=0, ready=0, available=0, total=0),
        Health(True, True, "successfully rolled out", "0/0"),
    ),
    ("statefulset rolled out", sts(), Health(True, True, "successfully rolled out", "2/2")),
    (
        "statefulset pods not ready",
        sts(readyReplicas=1),
        Health(False, False, "Waiting for 1 pods to be ready...", "1/2"),
    ),
    (
        "statefulset revision differs",
        sts(updateRevision="db-5d8f9", updatedReplicas=1),
        Health(
            False,
            False,
            "Waiting for rollout to finish: 1 out of 2 pods updated to revision db-5d8f9...",
            "2/2",
        ),
    ),
    (
        "statefulset partitioned rollout complete",
        sts(
            spec={"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}},
            updateRevision="db-5d8f9",
            updatedReplicas=1,
        ),
        Health(True, True, "partitioned roll out complete: 1 new pods have been updated", "2/2"),
    ),
    (
        "statefulset stale observedGeneration",
        sts(observedGeneration=0),
        Health(False, False, "Waiting for statefulset spec update to be observed...", "2/2"),
    ),
    ("daemonset rolled out", ds(), Health(True, True, "successfully rolled out", "2/2")),
    (
        "daemonset updating",
        ds(updatedNumberScheduled=1, numberAvailable=1),
        Health(
            False,
            False,
            "Waiting for rollout to finish: 1 out of 2 new pods have been updated...",
            "1/2",
        ),
    ),
    (
        "daemonset not available",
        ds(numberAvailable=1),
        Health(
            False,
            False,
            "Waiting for rollout to finish: 1 of 2 updated pods are available...",
            "1/2",
        ),
    ),
    (
        "job complete",
        job(
            [
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached"},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached"},
            ],
            succeeded=1,
        ),
        Health(True, True, "completed", "1/1"),
    ),
    (
        "job failed",
        job(
            [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            ],
            failed=7,
        ),
        Health(
            True,
            False,
            "Job failed: BackoffLimitExceeded: Job has reached the specified backoff limit",
            "0/1",
        ),
    ),
    (
        "job running",
        job([], active=1, failed=1),
        Health(False, False, "Waiting for completion: 1 active, 0 succeeded, 1 failed", "0/1"),
    ),
    (
        "pvc bound",
        {"kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}},
        Health(True, True, "Bound"),
    ),
    (
        "pvc pending",
        {"kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}},
        Health(False, False, "Waiting to be bound (Pending)"),
    ),
    (
        "pvc lost",
        {"kind": "PersistentVolumeClaim", "status": {"phase": "Lost"}},
        Health(True, False, "Lost: the bound PersistentVolume no longer exists"),
    ),
    (
        "crd established",
        {
            "kind": "CustomResourceDefinition",
            "status": {
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
                ]
            },
        },
        Health(True, True, "Established"),
    ),
    (
        "crd names conflict",
        {
            "kind": "CustomResourceDefinition",
            "status": {
                "conditions": [
                    {
                        "type": "NamesAccepted",
                        "status": "False",
                        "reason": "PluralConflict",
                        "message": '"widgets" is already in use',
                    }
                ]
            },
        },
        Health(True, False, 'names not accepted: PluralConflict: "widgets" is already in use'),
    ),
    (
        "pod ready",
        pod("Running", True, [{"name": "app", "ready": True, "state": {"running": {}}}]),
        Health(True, True, "Ready", "1/1"),
    ),
    (
        "pod image pull back-off",
        pod("Pending", False, [PULL_BACKOFF]),
        Health(
            False,
            False,
            "Waiting for pod to be ready (container app: ImagePullBackOff: "
            'Back-off pulling image "nginx:never-ready")',
            "0/1",
        ),
    ),
    (
        "pod succeeded (restartPolicy Never)",
        pod(
            "Succeeded",
            False,
            [{"name": "app", "state": {"terminated": {"exitCode": 0}}}],
            restartPolicy="Never",
        ),
        Health(True, True, "Succeeded", "0/1"),
    ),
    (
        "pod failed",
        pod("Failed", False, [{"name": "app", "state": {"terminated": {"exitCode": 2}}}]),
        Health(True, False, "Failed: a container failed", "0/1"),
    ),
    ("configmap exists", {"kind": "ConfigMap", "data": {}}, Health(True, True, "exists")),
    (
        "service without load balancer wait",
        {"kind": "Service", "spec": {"type": "LoadBalancer"}, "status": {}},
        Health(True, True, "exists"),
    ),
]


@pytest.mark.parametrize(("obj", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_evaluate(obj: dict[str, Any], expected: Health) -> None:
    assert evaluate(obj) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({}, Health(False, False, "Waiting for the load balancer address")),
        (
            {"loadBalancer": {"ingress": [{"ip": "172.18.255.10", "ipMode": "VIP"}]}},
            Health(True, True, "load balancer 172.18.255.10"),
        ),
        (
            {"loadBalancer": {"ingress": [{"hostname": "a1.elb.amazonaws.com"}]}},
            Health(True, True, "load balancer a1.elb.amazonaws.com"),
        ),
    ],
)
def test_load_balancer_only_when_asked(status: dict[str, Any], expected: Health) -> None:
    svc = {"kind": "Service", "spec": {"type": "LoadBalancer"}, "status": status}
    assert evaluate(svc, load_balancers=True) == expected
    cluster_ip = {"kind": "Service", "spec": {"type": "ClusterIP"}}
    assert evaluate(cluster_ip, load_balancers=True).ok


def test_crash_loop_names_exit_code_and_restarts() -> None:
    problem = container_problem(pod("Running", False, [CRASHLOOP]))
    assert problem == (
        "container app: CrashLoopBackOff (last exit code 137, OOMKilled; 4 restarts): "
        "back-off 40s restarting failed container=app pod=web-1_shop(uid)"
    )


def test_failed_init_container_and_unschedulable_pod() -> None:
    init = pod("Pending", False, [])
    init["status"]["initContainerStatuses"] = [
        {"name": "migrate", "state": {"terminated": {"exitCode": 3, "reason": "Error"}}}
    ]
    assert container_problem(init) == "init container migrate: terminated with exit code 3, Error"
    pending = pod("Pending", False, [])
    pending["status"]["conditions"] = [
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": "0/3 nodes are available: 3 Insufficient cpu.",
        }
    ]
    assert container_problem(pending) == (
        "not scheduled: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu."
    )


def test_states_and_rules() -> None:
    assert Health(True, True, "").state == "ready"
    assert Health(True, False, "").state == "failed"
    assert Health(False, False, "").state == "waiting"
    assert has_rule("Deployment") and has_rule("Job") and not has_rule("ConfigMap")
    assert not has_rule("Service") and has_rule("Service", load_balancers=True)


def test_odd_status_values_do_not_crash() -> None:
    weird = {
        "kind": "Deployment",
        "metadata": {"generation": "x"},
        "spec": {"replicas": None},
        "status": {"observedGeneration": 1, "conditions": ["junk", None]},
    }
    assert evaluate(weird) == Health(
        False,
        False,
        "Waiting for rollout to finish: 0 out of 1 new replicas have been updated...",
        "0/1",
    )
