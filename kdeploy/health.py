"""Is a live object healthy? One pure rule per kind, over the object as the API server returns it.

`evaluate(obj)` answers with a `Health`: `done` says whether waiting can stop (healthy, or failed
for good), `ok` whether it is healthy, `message` what it is waiting for or why it failed, in the
words of `kubectl rollout status` where there is one, and `ready` a short count such as "2/3".

The rules follow what kubectl and kapp check: a workload is healthy only once its controller has
observed the current generation, so a status left over from the previous spec never counts.
Objects of kinds without a rule are healthy as soon as they exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class Health:
    """The verdict on one object: `done` (stop waiting), `ok` (healthy), a human `message`, and
    `ready`, a short count like "2/3" ("" when the kind has none)."""

    done: bool
    ok: bool
    message: str
    ready: str = ""

    @property
    def state(self) -> str:
        """One word for progress output: "ready", "failed" or "waiting"."""
        if self.done:
            return "ready" if self.ok else "failed"
        return "waiting"


def healthy(message: str, ready: str = "") -> Health:
    return Health(done=True, ok=True, message=message, ready=ready)


def waiting(message: str, ready: str = "") -> Health:
    return Health(done=False, ok=False, message=message, ready=ready)


def failed(message: str, ready: str = "") -> Health:
    return Health(done=True, ok=False, message=message, ready=ready)


def has_rule(kind: str, *, load_balancers: bool = False) -> bool:
    """Whether `kind` needs watching after apply (False: healthy as soon as it exists)."""
    return kind in _RULES or (kind == "Service" and load_balancers)


def evaluate(obj: Obj, *, load_balancers: bool = False) -> Health:
    """The health of live object `obj`. Services of type LoadBalancer wait for an ingress address
    only with `load_balancers`. Never raises on missing or odd status fields: they count as not
    yet observed."""
    kind = str(obj.get("kind", ""))
    if kind == "Service":
        return _service(obj) if load_balancers else healthy("exists")
    rule = _RULES.get(kind)
    if rule is None:
        return healthy("exists")
    return rule(obj)


# -- helpers ---------------------------------------------------------------------------------------


def _section(obj: Obj, name: str) -> Mapping[str, Any]:
    value = obj.get(name)
    return value if isinstance(value, Mapping) else {}


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return default


def _condition(obj: Obj, ctype: str) -> Mapping[str, Any] | None:
    for cond in _section(obj, "status").get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == ctype:
            return cond
    return None


def _is_true(obj: Obj, ctype: str) -> bool:
    cond = _condition(obj, ctype)
    return cond is not None and cond.get("status") == "True"


def _reason(cond: Mapping[str, Any]) -> str:
    reason = str(cond.get("reason") or "").strip()
    message = str(cond.get("message") or "").strip()
    if reason and message:
        return f"{reason}: {message}"
    return reason or message or str(cond.get("type", ""))


def _generation_pending(obj: Obj) -> bool:
    """True while the controller has not yet observed the current spec."""
    generation = _int(_section(obj, "metadata").get("generation"), 0)
    observed = _int(_section(obj, "status").get("observedGeneration"), 0)
    return observed == 0 or observed < generation


# -- rules -----------------------------------------------------------------------------------------


def _deployment(obj: Obj) -> Health:
    spec = _section(obj, "spec")
    status = _section(obj, "status")
    desired = _int(spec.get("replicas"), 1)
    updated = _int(status.get("updatedReplicas"))
    available = _int(status.get("availableReplicas"))
    total = _int(status.get("replicas"))
    ready = f"{available}/{desired}"
    if _generation_pending(obj):
        return waiting("Waiting for deployment spec update to be observed...", ready)
    progressing = _condition(obj, "Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        deadline = _int(spec.get("progressDeadlineSeconds"), 600)
        return failed(
            f"exceeded its progress deadline ({deadline}s): {_reason(progressing)}", ready
        )
    if spec.get("paused"):
        return healthy("paused (rollout not tracked while paused)", ready)
    replica_failure = _condition(obj, "ReplicaFailure")
    if replica_failure is not None and replica_failure.get("status") == "True":
        # e.g. a quota or admission webhook refusing the pods: no pod exists to explain it.
        return waiting(
            f"Waiting for rollout to finish: pods cannot be created: {_reason(replica_failure)}",
            ready,
        )
    if updated < desired:
        return waiting(
            f"Waiting for rollout to finish: {updated} out of {desired} new replicas have been "
            "updated...",
            ready,
        )
    if total > updated:
        return waiting(
            f"Waiting for rollout to finish: {total - updated} old replicas are pending "
            "termination...",
            ready,
        )
    if available < updated:
        return waiting(
            f"Waiting for rollout to finish: {available} of {updated} updated replicas are "
            "available...",
            ready,
        )
    return healthy("successfully rolled out", ready)


def _statefulset(obj: Obj) -> Health:
    spec = _section(obj, "spec")
    status = _section(obj, "status")
    desired = _int(spec.get("replicas"), 1)
    ready_n = _int(status.get("readyReplicas"))
    ready = f"{ready_n}/{desired}"
    if _generation_pending(obj):
        return waiting("Waiting for statefulset spec update to be observed...", ready)
    if ready_n < desired:
        return waiting(f"Waiting for {desired - ready_n} pods to be ready...", ready)
    strategy = _section(spec, "updateStrategy")
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return healthy("ready (updateStrategy OnDelete: pods are updated when deleted)", ready)
    partition = _int(_section(strategy, "rollingUpdate").get("partition"))
    updated = _int(status.get("updatedReplicas"))
    if partition > 0:
        if updated < desired - partition:
            return waiting(
                f"Waiting for partitioned roll out to finish: {updated} out of "
                f"{desired - partition} new pods have been updated...",
                ready,
            )
        return healthy(
            f"partitioned roll out complete: {updated} new pods have been updated", ready
        )
    current = status.get("currentRevision")
    update = status.get("updateRevision")
    if update and current != update:
        return waiting(
            f"Waiting for rollout to finish: {updated} out of {desired} pods updated to "
            f"revision {update}...",
            ready,
        )
    return healthy("successfully rolled out", ready)


def _daemonset(obj: Obj) -> Health:
    spec = _section(obj, "spec")
    status = _section(obj, "status")
    desired = _int(status.get("desiredNumberScheduled"))
    updated = _int(status.get("updatedNumberScheduled"))
    available = _int(status.get("numberAvailable"))
    ready = f"{available}/{desired}"
    if _generation_pending(obj):
        return waiting("Waiting for daemon set spec update to be observed...", ready)
    rolling = _section(spec, "updateStrategy").get("type", "RollingUpdate") == "RollingUpdate"
    if rolling and updated < desired:
        return waiting(
            f"Waiting for rollout to finish: {updated} out of {desired} new pods have been "
            "updated...",
            ready,
        )
    if available < desired:
        return waiting(
            f"Waiting for rollout to finish: {available} of {desired} updated pods are "
            "available...",
            ready,
        )
    return healthy("successfully rolled out", ready)


def _job(obj: Obj) -> Health:
    spec = _section(obj, "spec")
    status = _section(obj, "status")
    completions = _int(spec.get("completions"), 1)
    succeeded = _int(status.get("succeeded"))
    ready = f"{succeeded}/{completions}"
    failed_cond = _condition(obj, "Failed")
    if failed_cond is not None and failed_cond.get("status") == "True":
        return failed(f"Job failed: {_reason(failed_cond)}", ready)
    if _is_true(obj, "Complete"):
        return healthy("completed", ready)
    if spec.get("suspend"):
        return waiting("suspended", ready)
    active = _int(status.get("active"))
    failures = _int(status.get("failed"))
    note = f", {failures} failed" if failures else ""
    return waiting(f"Waiting for completion: {active} active, {succeeded} succeeded{note}", ready)


def _pvc(obj: Obj) -> Health:
    phase = str(_section(obj, "status").get("phase") or "Pending")
    if phase == "Bound":
        return healthy("Bound")
    if phase == "Lost":
        return failed("Lost: the bound PersistentVolume no longer exists")
    return waiting(f"Waiting to be bound ({phase})")


def _crd(obj: Obj) -> Health:
    names = _condition(obj, "NamesAccepted")
    if names is not None and names.get("status") == "False":
        return failed(f"names not accepted: {_reason(names)}")
    if _is_true(obj, "Established"):
        return healthy("Established")
    return waiting("Waiting to be Established")


def _pod(obj: Obj) -> Health:
    spec = _section(obj, "spec")
    status = _section(obj, "status")
    phase = str(status.get("phase") or "Pending")
    statuses = [c for c in status.get("containerStatuses") or [] if isinstance(c, Mapping)]
    total = len(spec.get("containers") or []) or len(statuses)
    ready = f"{sum(1 for c in statuses if c.get('ready'))}/{total}"
    if phase == "Succeeded":
        return healthy("Succeeded", ready)
    if phase == "Failed":
        reason = str(status.get("reason") or status.get("message") or "a container failed")
        return failed(f"Failed: {reason}", ready)
    if _is_true(obj, "Ready"):
        return healthy("Ready", ready)
    problem = container_problem(obj)
    return waiting(f"Waiting for pod to be ready{f' ({problem})' if problem else ''}", ready)


def _service(obj: Obj) -> Health:
    if _section(obj, "spec").get("type") != "LoadBalancer":
        return healthy("exists")
    ingress = _section(_section(obj, "status"), "loadBalancer").get("ingress") or []
    if ingress:
        first = ingress[0] if isinstance(ingress[0], Mapping) else {}
        address = first.get("ip") or first.get("hostname") or "assigned"
        return healthy(f"load balancer {address}")
    return waiting("Waiting for the load balancer address")


_RULES: dict[str, Callable[[Obj], Health]] = {
    "Deployment": _deployment,
    "StatefulSet": _statefulset,
    "DaemonSet": _daemonset,
    "Job": _job,
    "PersistentVolumeClaim": _pvc,
    "CustomResourceDefinition": _crd,
    "Pod": _pod,
}

# Container waiting reasons that mean the pod will not become ready without a change.
BAD_WAITING_REASONS = frozenset(
    {
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


def container_problem(pod: Obj) -> str:
    """Why a pod's containers are not running, from their states ("" when nothing is wrong):
    e.g. `container app: ImagePullBackOff: Back-off pulling image "x"` or `container app:
    CrashLoopBackOff (last exit code 1, Error; 3 restarts)`. Failed init containers and
    unschedulable pods are reported too."""
    status = _section(pod, "status")
    problems: list[str] = []
    for field in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(field) or []:
            if not isinstance(cs, Mapping):
                continue
            text = _container_state(cs, init=field == "initContainerStatuses")
            if text:
                problems.append(text)
    if not problems:
        scheduled = _condition(pod, "PodScheduled")
        if scheduled is not None and scheduled.get("status") == "False":
            problems.append(f"not scheduled: {_reason(scheduled)}")
    return "; ".join(problems)


def _container_state(cs: Mapping[str, Any], *, init: bool) -> str:
    name = str(cs.get("name", "?"))
    label = f"init container {name}" if init else f"container {name}"
    state = _section(cs, "state")
    waiting_ = _section(state, "waiting")
    reason = str(waiting_.get("reason") or "")
    restarts = _int(cs.get("restartCount"))
    if reason in BAD_WAITING_REASONS:
        text = f"{label}: {reason}"
        last = _section(_section(cs, "lastState"), "terminated")
        if last:
            code = last.get("exitCode", "?")
            why = f", {last['reason']}" if last.get("reason") else ""
            text += f" (last exit code {code}{why}; {restarts} restarts)"
        message = str(waiting_.get("message") or "").strip()
        if message:
            text += f": {message}"
        return text
    terminated = _section(state, "terminated")
    if terminated and _int(terminated.get("exitCode")) != 0:
        why = f", {terminated['reason']}" if terminated.get("reason") else ""
        return f"{label}: terminated with exit code {terminated.get('exitCode')}{why}"
    return ""
