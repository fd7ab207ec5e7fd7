"""`kdeploy status`: each object of the current revision, whether it exists, whether it drifted
from what was applied (someone's `kubectl edit` or `kubectl scale`), and whether it is healthy by
the rules `apply` waits with (kdeploy.health); and the last attempt when it failed (or is still
pending) after the current revision."""

from __future__ import annotations

from dataclasses import dataclass

from kdeploy import diff as diffmod
from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import read_live, with_namespace
from kdeploy.errors import ClusterError, ForbiddenError, HistoryError, KdeployError
from kdeploy.health import container_problem, evaluate
from kdeploy.history.model import Revision
from kdeploy.hooks import is_hook
from kdeploy.kube.client import ClusterClient, ObjectRef
from kdeploy.model import Manifest, ObjectKey
from kdeploy.ownership import describe_owner, owned_by
from kdeploy.secrets import Redactor
from kdeploy.wait import selector_text

HEALTHY = "healthy"
PROGRESSING = "progressing"
UNHEALTHY = "unhealthy"

# Kinds whose pods explain why they are not healthy, found through their selector.
_POD_OWNERS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})


@dataclass(frozen=True)
class ObjectHealth:
    """The health of a live object: `state` is healthy, progressing (not ready yet, nothing
    visibly wrong) or unhealthy (failed for good, or its pods cannot run); `ready` a count such as
    "2/3" ("" when the kind has none) and `message` why it is not healthy."""

    state: str
    ready: str = ""
    message: str = ""

    def __str__(self) -> str:
        text = f"{self.state} {self.ready}".rstrip()
        return f"{text}: {self.message}" if self.state != HEALTHY and self.message else text


@dataclass(frozen=True)
class ObjectStatus:
    """One object of the current revision: present in the cluster, drifted, the drift diff, and
    its health (None when it is missing)."""

    key: ObjectKey
    present: bool
    drifted: bool
    diff: str = ""
    health: ObjectHealth | None = None
    # why drift could not be checked (e.g. the credentials may not patch this kind); "" when it was
    unknown: str = ""
    # who owns it when it exists but no longer belongs to this release (another release, another
    # tool), in words (kdeploy.ownership.describe_owner); "" when it is the release's
    owner: str = ""

    @property
    def state(self) -> str:
        if not self.present:
            return "missing"
        if self.owner:
            return "not owned"
        if self.unknown:
            return "unknown"
        return "drifted" if self.drifted else "in sync"

    @property
    def label(self) -> str:
        """The state as shown: `drift unknown (forbidden: ...)` for an unknown one, `owned by
        kdeploy release "api" in namespace shop` for one someone else owns."""
        if self.owner:
            return f"owned by {self.owner}"
        return f"drift unknown ({self.unknown})" if self.unknown else self.state

    @property
    def healthy(self) -> bool:
        return self.health is not None and self.health.state == HEALTHY

    def __str__(self) -> str:
        """`in sync, healthy 3/3`, `drifted, unhealthy 0/1: ...` or `missing`."""
        return self.label if self.health is None else f"{self.label}, {self.health}"


@dataclass(frozen=True)
class ReleaseStatus:
    """The current revision of a release and the state of its objects."""

    revision: Revision
    objects: tuple[ObjectStatus, ...]
    # what is wrong with the release's history itself (orphaned parts, ...), one line each
    history_problems: tuple[str, ...] = ()
    # the newest revision when it is not the current one and failed or is pending (metadata only)
    last_attempt: Revision | None = None


def release_status(deps: Deps, release: str, namespace: str) -> ReleaseStatus:
    """The status of the current revision (the last deployed one, else the latest). Live objects
    are read with one LIST per kind. Drift is judged by a forced server-side dry-run apply of the
    stored manifest: if re-applying would change the live object, it drifted. Health follows
    `kdeploy.health.evaluate`; for a workload that is not healthy, one LIST of its pods finds the
    container problem that explains it (e.g. ImagePullBackOff). Raises HistoryError for an unknown
    release."""
    revision = deps.history.last_deployed(release, namespace) or deps.history.last(
        release, namespace
    )
    newest = max(deps.history.revisions(release, namespace), key=lambda r: r.number, default=None)
    last_attempt = (
        newest
        if newest is not None
        and revision is not None
        and newest.number > revision.number
        and newest.status in ("failed", "pending")
        else None
    )
    if revision is None:
        raise HistoryError(
            f"release {release} has no history in namespace {namespace}",
            hint="check the release name and -n NAMESPACE",
        )
    # Hooks are not release objects: they run and may be deleted, so they are never drift.
    manifests = [m for m in with_namespace(revision.manifests, namespace) if not is_hook(m)]
    live = read_live(deps, release, manifests)
    redact = Redactor(revision.secret_strings).text
    rows: list[ObjectStatus] = []
    for manifest in manifests:
        key = ObjectKey.of(manifest)
        # not found by the release's label: gone, or relabelled by whoever took it over
        current_obj = live.get(key) or _get(deps.cluster, manifest)
        if current_obj is None:
            rows.append(ObjectStatus(key, present=False, drifted=False))
            continue
        health = object_health(deps.cluster, current_obj)
        if not owned_by(current_obj, release, namespace, recorded=True):
            # someone else's now: comparing it with this release's manifest says nothing
            owner = describe_owner(current_obj)
            rows.append(ObjectStatus(key, present=True, drifted=False, health=health, owner=owner))
            continue
        try:
            would_be = deps.cluster.apply(manifest, dry_run=True, force=True)
        except ForbiddenError as e:
            # not drift: these credentials may not (dry-run) patch it, so it cannot be compared
            resource = e.resource or key.kind
            why = f"forbidden: needs the {e.verb or 'patch'} verb on {resource}"
            rows.append(
                ObjectStatus(
                    key,
                    present=True,
                    drifted=False,
                    diff=f"{e.message}\n",
                    health=health,
                    unknown=why,
                )
            )
            continue
        except ClusterError as e:
            rows.append(
                ObjectStatus(key, present=True, drifted=True, diff=f"{e.message}\n", health=health)
            )
            continue
        change = diffmod.plan({key: would_be}, {key: current_obj}, ()).changes[0]
        text = diffmod.object_diff(change, redact=redact)
        drifted = change.action != "unchanged"
        rows.append(ObjectStatus(key, present=True, drifted=drifted, diff=text, health=health))
    return ReleaseStatus(
        revision=revision,
        objects=tuple(rows),
        history_problems=history_problems(deps, release, namespace),
        last_attempt=last_attempt,
    )


def _get(cluster: ClusterClient, manifest: Manifest) -> Manifest | None:
    """The live object of `manifest` by name; None when it does not exist (or cannot be read)."""
    try:
        return cluster.get(ObjectRef.of(manifest))
    except ClusterError:
        return None


def history_problems(deps: Deps, release: str, namespace: str) -> tuple[str, ...]:
    """One line for each problem of the release's history that needs a person: damaged or
    untrusted revision records, orphaned companion Secrets and chunks. Raises nothing: a check
    that cannot run says so."""
    from kdeploy.history.model import drop_hint
    from kdeploy.history.report import trust_problems
    from kdeploy.history.store import orphan_text

    problems = [
        text if number is None else f"{text}; {drop_hint(release, namespace, number)}"
        for text, number in trust_problems(deps.history.revisions(release, namespace))
    ]
    try:
        orphans = deps.history.orphans(release, namespace)
    except KdeployError as e:
        return (
            *problems,
            f"could not check the history for orphaned revision Secrets: {e.message}",
        )
    return (*problems, *(orphan_text(namespace, o) for o in orphans))


def object_health(cluster: ClusterClient, live: Manifest) -> ObjectHealth:
    """The health of `live`. A workload that is not healthy gets the first container problem of
    its pods (one LIST by its selector) as the reason, and counts as unhealthy when one exists;
    a pod-listing failure leaves the health rule's own message. Raises nothing."""
    verdict = evaluate(live)
    if verdict.ok:
        return ObjectHealth(HEALTHY, verdict.ready)
    if verdict.done:
        return ObjectHealth(UNHEALTHY, verdict.ready, verdict.message)
    problem = container_problem(live) if live.get("kind") == "Pod" else _pod_problem(cluster, live)
    if problem:
        return ObjectHealth(UNHEALTHY, verdict.ready, problem)
    return ObjectHealth(PROGRESSING, verdict.ready, verdict.message)


def _pod_problem(cluster: ClusterClient, live: Manifest) -> str:
    """`pod NAME: container app: ImagePullBackOff: ...` for the first failing pod of a workload
    (by name), "" when none fails or the kind has no pods."""
    kind = str(live.get("kind", ""))
    meta = live.get("metadata") or {}
    if kind not in _POD_OWNERS:
        return ""
    selector = selector_text((live.get("spec") or {}).get("selector"))
    if not selector and kind == "Job":
        selector = f"job-name={meta.get('name', '')}"
    if not selector:
        return ""
    try:
        pods = cluster.list_by_labels("v1", "Pod", str(meta.get("namespace") or ""), selector)
    except ClusterError:
        return ""
    failing = sorted(
        (str((pod.get("metadata") or {}).get("name", "")), container_problem(pod)) for pod in pods
    )
    for name, problem in failing:
        if problem:
            return f"pod {name}: {problem}"
    return ""
