"""Simulated controllers and kubelet: turn workload specs into children and statuses.

One `reconcile()` pass looks at the objects that changed since the previous pass (from the store's
change log), their controllers, and objects whose timed transition is due, and writes only what
differs from the stored state, so a steady cluster costs no writes, no resourceVersion bumps and no
watch events. Time-based transitions (pods becoming ready, Jobs finishing, progress deadlines) use
the injected clock; the instants at which objects were first seen live in this instance, so a
restarted emulator simply starts counting again.

Simplifications, on purpose: one node; rolling updates surge the new ReplicaSet to its full size at
once and scale old ones down as new pods become available; deletions of pods are immediate.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import heapq
import itertools
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from kdeploy.emulator.defaults import pod_qos_class
from kdeploy.emulator.types import Clock, ControllerKnobs, Obj, StoreAPI

NODE_NAME = "emulator-node"
HOST_IP = "10.89.0.2"
# The alphabet of k8s.io/apimachinery/pkg/util/rand (no vowels, no confusable digits).
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_REVISION = "deployment.kubernetes.io/revision"
_HASH_LABEL = "pod-template-hash"
_GK = tuple[str, str]
_NK = tuple[str, str]
# (group, kind, namespace, name)
_Key = tuple[str, str, str, str]
# The kinds the controllers act on or read.
_KINDS: tuple[_GK, ...] = (
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("batch", "Job"),
    ("apps", "ReplicaSet"),
    ("", "Pod"),
    ("", "PersistentVolumeClaim"),
    ("", "Service"),
)
_REV_HASH_LABEL = "controller-revision-hash"


def template_hash(template: Any, collision_count: int = 0) -> str:
    """Return a stable pod-template-hash for a pod template: FNV-1a 32 of its canonical JSON,
    encoded like the real controller's SafeEncodeString (so it looks like `65f88748fd`)."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return "".join(_ALPHANUMS[ord(c) % len(_ALPHANUMS)] for c in str(h))


def rfc3339(ts: float) -> str:
    """Format epoch seconds the way the API server does (`2026-11-23T12:00:00Z`)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _meta(obj: Obj) -> dict[str, Any]:
    meta: dict[str, Any] = obj.setdefault("metadata", {})
    return meta


def _uid(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("uid", ""))


def _name(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def _ns(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("namespace", ""))


def _deleting(obj: Obj) -> bool:
    return bool(obj.get("metadata", {}).get("deletionTimestamp"))


def _controller_ref(obj: Obj) -> dict[str, Any] | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def _controller_uid(obj: Obj) -> str | None:
    ref = _controller_ref(obj)
    return str(ref.get("uid")) if ref is not None else None


def _group_of(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def _owner_ref(owner: Obj, api_version: str, kind: str) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": _name(owner),
        "uid": _uid(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _scaled(value: Any, total: int, round_up: bool, default: str) -> int:
    """Resolve an int-or-percent field (maxUnavailable, maxSurge) against `total`."""
    if value is None:
        value = default
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        try:
            pct = int(text[:-1])
        except ValueError:
            return 0
        scaled = pct * total
        return -(-scaled // 100) if round_up else scaled // 100
    try:
        return int(text)
    except ValueError:
        return 0


def _set_condition(
    conditions: list[dict[str, Any]],
    ctype: str,
    status: str,
    reason: str,
    message: str,
    now: str,
    *,
    update_time: bool = False,
    probe_time: bool = False,
) -> None:
    """Insert or update one condition in place, keeping its timestamps when nothing changed:
    lastTransitionTime moves only when `status` changes, lastUpdateTime when reason/message do."""
    for cond in conditions:
        if cond.get("type") != ctype:
            continue
        changed = cond.get("reason") != reason or cond.get("message") != message
        if cond.get("status") != status:
            cond["lastTransitionTime"] = now
            changed = True
        cond.update(status=status, reason=reason, message=message)
        if update_time and changed:
            cond["lastUpdateTime"] = now
        if probe_time and changed:
            cond["lastProbeTime"] = now
        return
    cond = {"type": ctype, "status": status}
    if probe_time:
        cond["lastProbeTime"] = now
    if update_time:
        cond["lastUpdateTime"] = now
    cond.update(lastTransitionTime=now, reason=reason, message=message)
    conditions.append(cond)


def _get_condition(obj: Obj, ctype: str) -> dict[str, Any] | None:
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return dict(cond)
    return None


def _pod_ready(pod: Obj) -> bool:
    cond = _get_condition(pod, "Ready")
    return bool(cond and cond.get("status") == "True")


def _pod_active(pod: Obj) -> bool:
    return not _deleting(pod) and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")


def _drop_zero(status: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if not status.get(key):
            status.pop(key, None)


class ControllerManager:
    """Runs every simulated controller over a `StoreAPI`; see the module docstring."""

    def __init__(
        self,
        store: StoreAPI,
        knobs: ControllerKnobs,
        clock: Clock,
        *,
        wall: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._knobs = knobs
        self._clock = clock
        self._wall = wall
        self._rng = rng or random.Random()
        # uid -> clock time first seen (pods, LoadBalancer services, jobs)
        self._seen: dict[str, float] = {}
        # deployment uid -> (template hash, progress counters, clock time of last progress)
        self._progress: dict[str, tuple[str, tuple[int, ...], float]] = {}
        self._changed = False
        # A read-only mirror of the workload kinds, (group, kind) -> {(namespace, name): object},
        # kept across passes from the store's change log and this manager's own writes, and an
        # index of it by controller uid.
        self._mirror: dict[_GK, dict[_NK, Obj]] = {gk: {} for gk in _KINDS}
        self._owned: dict[_GK, dict[str, dict[_NK, Obj]]] = {gk: {} for gk in _KINDS}
        # What this pass must look at: changed objects, their owners, and objects whose timer
        # is due. Everything else is in a state the controllers already acted on.
        self._dirty: dict[_GK, set[_NK]] = {gk: set() for gk in _KINDS}
        self._incremental = hasattr(store, "changes_since") and hasattr(store, "peek_objects")
        # The store's resourceVersion the mirror reflects; None: re-list everything.
        self._rv: int | None = None
        # Skipping idle passes: the store's resourceVersion after the last pass with nothing to
        # do. Timed transitions (pod ready, restart, deadline): the earliest due time per object
        # and a heap of (due, sequence, key) entries; stale entries are skipped when popped.
        self._idle_rv: Any = None
        self._timers: dict[_Key | None, float] = {}
        self._heap: list[tuple[float, int, _Key | None]] = []
        self._timer_seq = itertools.count()
        self._hashes: dict[tuple[str, int], str] = {}
        # The mirror and timers persist between passes: a pass must not interleave with another.
        self._pass_lock = threading.Lock()
        # The object whose controller step is running (owner of timers it sets).
        self._current: _Key | None = None

    # ------------------------------------------------------------------ plumbing

    def reconcile(self) -> bool:
        """Run one pass of every controller over the objects that need it; return True if
        anything in the store changed.

        With a store that has `changes_since`/`peek_objects`, a pass looks only at objects
        changed since the previous pass (and their owners) and objects whose timed transition is
        due; others get a full pass over every object each time. A pass is skipped (returns
        False at once) when the store's `resource_version` has not moved since the last pass and
        no timer is due. Passes from several threads run one at a time."""
        with self._pass_lock:
            return self._reconcile()

    def _reconcile(self) -> bool:
        rv = getattr(self._store, "resource_version", None)
        if rv is not None and rv == self._idle_rv and self._clock() < self._next_due():
            return False
        self._changed = False
        self._dirty = {gk: set() for gk in _KINDS}
        full = not self._incremental
        if self._incremental:
            start, changes = self._store.changes_since(self._rv)
            if changes is None:
                self._relist(self._store.peek_objects)
                full = True
            else:
                for etype, obj in changes:
                    self._apply_change(etype, obj)
            self._rv = start
        else:
            self._relist(self._store.list_objects)
        self._pop_due_timers()
        live: set[str] = set()
        for step in (
            self._sync_deployments,
            self._sync_statefulsets,
            self._sync_daemonsets,
            self._sync_jobs,
            self._sync_replicasets,
            self._sync_pods,
            self._sync_pvcs,
            self._sync_services,
            self._status_replicasets,
            self._status_deployments,
            self._status_statefulsets,
            self._status_daemonsets,
            self._status_jobs,
        ):
            live.update(step())
        if full:
            self._forget(live)
        self._current = None
        if self._incremental:
            self._idle_rv = self._rv
        else:
            self._idle_rv = None if self._changed else rv
        return self._changed

    def _relist(self, read: Callable[[str, str], list[Obj]]) -> None:
        """Rebuild the mirror from the store and mark every object for this pass."""
        for gk in _KINDS:
            self._mirror[gk] = {}
            self._owned[gk] = {}
            for obj in read(*gk):
                self._put(gk, obj)
            self._dirty[gk] = set(self._mirror[gk])

    def _apply_change(self, etype: str, obj: Obj) -> None:
        """Bring one change from the store's log into the mirror and mark what it affects."""
        gk = _group_kind(obj)
        if gk not in self._mirror:
            return
        if etype == "DELETED":
            self._drop(gk, (_ns(obj), _name(obj)))
            self._seen.pop(_uid(obj), None)
            self._progress.pop(_uid(obj), None)
        else:
            self._put(gk, obj)
        self._touch(obj)

    def _put(self, gk: _GK, obj: Obj) -> None:
        nk = (_ns(obj), _name(obj))
        self._drop(gk, nk)
        self._mirror[gk][nk] = obj
        owner = _controller_uid(obj)
        if owner:
            self._owned[gk].setdefault(owner, {})[nk] = obj

    def _drop(self, gk: _GK, nk: _NK) -> None:
        old = self._mirror[gk].pop(nk, None)
        owner = _controller_uid(old) if old is not None else None
        if owner:
            siblings = self._owned[gk].get(owner, {})
            siblings.pop(nk, None)
            if not siblings:
                self._owned[gk].pop(owner, None)

    def _touch(self, obj: Obj) -> None:
        """Mark `obj` and its chain of controllers (pod -> ReplicaSet -> Deployment) for this
        pass: a controller's work depends on its children's state."""
        current: Obj | None = obj
        for _ in range(4):  # the longest chain is 3; a cycle of references must not loop
            if current is None:
                return
            gk = _group_kind(current)
            if gk in self._dirty:
                self._dirty[gk].add((_ns(current), _name(current)))
            ref = _controller_ref(current)
            if ref is None:
                return
            owner_gk = (_group_of(str(ref.get("apiVersion", ""))), str(ref.get("kind", "")))
            owner_nk = (_ns(current), str(ref.get("name", "")))
            if owner_gk not in self._dirty:
                return
            self._dirty[owner_gk].add(owner_nk)
            current = self._mirror[owner_gk].get(owner_nk)

    def _pending(self, group: str, kind: str) -> Iterator[Obj]:
        """The objects of a kind this pass must look at, in namespace/name order (the state as
        of the start of the step); sets the current object for the timers it starts."""
        gk = (group, kind)
        bucket = self._mirror[gk]
        todo = [(nk, bucket[nk]) for nk in sorted(self._dirty[gk]) if nk in bucket]
        for nk, obj in todo:
            self._current = (group, kind, nk[0], nk[1])
            yield obj
        self._current = None

    def _live(self, group: str, kind: str, seen: list[str]) -> Iterator[Obj]:
        """`_pending` objects that are not being deleted; records every pending uid in `seen`
        (deleting ones too: they were looked at)."""
        for obj in self._pending(group, kind):
            seen.append(_uid(obj))
            if not _deleting(obj):
                yield obj

    def _pop_due_timers(self) -> None:
        now = self._clock()
        while self._heap and self._heap[0][0] <= now:
            due, _, key = heapq.heappop(self._heap)
            if self._timers.get(key) != due:
                continue  # superseded by an earlier timer of the same object
            del self._timers[key]
            if key is not None and (key[0], key[1]) in self._dirty:
                self._dirty[(key[0], key[1])].add((key[2], key[3]))

    def _next_due(self) -> float:
        return self._heap[0][0] if self._heap else float("inf")

    def _forget(self, live: set[str]) -> None:
        for uid in [u for u in self._seen if u not in live]:
            del self._seen[uid]
        for uid in [u for u in self._progress if u not in live]:
            del self._progress[uid]

    def _now(self) -> str:
        return rfc3339(self._wall())

    def _age(self, obj: Obj) -> float:
        """Seconds since this manager first saw the object."""
        uid = _uid(obj)
        start = self._seen.setdefault(uid, self._clock())
        return self._clock() - start

    def _due(self, obj: Obj, seconds: float) -> bool:
        """True once the object is `seconds` old; otherwise remember when it will be."""
        age = self._age(obj)
        if age >= seconds:
            return True
        self._wake_in(seconds - age)
        return False

    def _wake_in(self, seconds: float) -> None:
        """Look at the current object again `seconds` from now."""
        due = self._clock() + max(seconds, 0.0)
        key = self._current
        if self._timers.get(key, float("inf")) <= due:
            return
        self._timers[key] = due
        heapq.heappush(self._heap, (due, next(self._timer_seq), key))

    def _lookup(self, group: str, kind: str, namespace: str, name: str) -> Obj | None:
        return self._mirror[(group, kind)].get((namespace, name))

    def _remember(self, obj: Obj) -> None:
        gk = _group_kind(obj)
        if gk in self._mirror:
            self._put(gk, obj)
            self._touch(obj)

    def _create(self, obj: Obj) -> Obj | None:
        try:
            created = self._store.system_create(obj)
        except KeyError:
            return None
        self._changed = True
        self._remember(created)
        return created

    def _delete(self, obj: Obj, group: str, kind: str) -> None:
        self._store.system_delete(group, kind, _ns(obj), _name(obj))
        self._changed = True
        if (group, kind) in self._mirror:
            self._drop((group, kind), (_ns(obj), _name(obj)))
            self._touch(obj)

    def _mutate(self, group: str, kind: str, obj: Obj, change: Callable[[Obj], None]) -> Obj:
        """Apply `change` to a fresh copy of the stored object and write it only if it differs.

        The read and the write happen under the store's lock when it has one, so a user's write
        cannot slip in between and be overwritten. If the object's spec changed since `obj` was
        read (another generation), nothing is written: what `change` computed is stale, and the
        next pass recomputes it (a status claiming the new generation with the old rollout's
        counters would end `kubectl rollout status` too early)."""
        preview = _clone(obj)
        change(preview)
        if preview == obj:
            return obj  # nothing to do: the common, steady case touches no store
        guard = getattr(self._store, "lock", None) or contextlib.nullcontext()
        with guard:
            fresh = self._store.get_object(group, kind, _ns(obj), _name(obj))
            if fresh is None or _uid(fresh) != _uid(obj):
                return obj
            generation = obj.get("metadata", {}).get("generation")
            if fresh["metadata"].get("generation") != generation:
                return fresh
            updated = _clone(fresh)
            change(updated)
            if updated == fresh:
                return fresh
            try:
                written = self._store.system_update(updated)
            except KeyError:  # deleted since we read it
                return fresh
        self._changed = True
        self._remember(written)
        return written

    def _event(self, obj: Obj, reason: str, message: str, event_type: str = "Normal") -> None:
        self._store.record_event(obj, reason, message, event_type)
        self._changed = True

    def _template_hash(self, template: Any, collision_count: int = 0) -> str:
        """`template_hash`, remembered per template: the same templates are hashed on every
        look at their Deployment, and the hash is pure Python over every byte."""
        key = (json.dumps(template, sort_keys=True, separators=(",", ":")), collision_count)
        found = self._hashes.get(key)
        if found is None:
            if len(self._hashes) >= 4096:
                self._hashes.clear()
            found = self._hashes[key] = template_hash(template, collision_count)
        return found

    def _suffix(self) -> str:
        return "".join(self._rng.choice(_ALPHANUMS) for _ in range(5))

    def _children(self, group: str, kind: str, owner: Obj) -> list[Obj]:
        """Objects of a kind whose controller ownerReference points at `owner`, in
        namespace/name order."""
        owned = self._owned[(group, kind)].get(_uid(owner))
        if not owned:
            return []
        ns = _ns(owner)
        return [owned[nk] for nk in sorted(owned) if nk[0] == ns]

    def _new_pod(
        self, owner: Obj, owner_api: str, owner_kind: str, name: str, generated: bool = True
    ) -> Obj:
        template = copy.deepcopy(owner.get("spec", {}).get("template") or {})
        meta = template.get("metadata") or {}
        pod_meta: dict[str, Any] = {
            "name": name,
            "namespace": _ns(owner),
            "labels": dict(meta.get("labels") or {}),
            "ownerReferences": [_owner_ref(owner, owner_api, owner_kind)],
        }
        if generated:
            pod_meta["generateName"] = f"{_name(owner)}-"
        if meta.get("annotations"):
            pod_meta["annotations"] = dict(meta["annotations"])
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": pod_meta,
            "spec": template.get("spec") or {},
            "status": {"phase": "Pending", "qosClass": "BestEffort"},
        }

    # ------------------------------------------------------------------ Deployment

    def _sync_deployments(self) -> Iterable[str]:
        seen: list[str] = []
        for dep in self._live("apps", "Deployment", seen):
            if not dep.get("spec", {}).get("paused"):
                self._sync_deployment(dep)
        return seen

    def _sync_deployment(self, dep: Obj) -> None:
        spec = dep.get("spec", {})
        desired = _int(spec.get("replicas"), 1)
        template = spec.get("template") or {}
        hash_ = self._template_hash(template, _int(dep.get("status", {}).get("collisionCount"), 0))
        owned = self._children("apps", "ReplicaSet", dep)
        new_rs = next(
            (rs for rs in owned if rs["metadata"].get("labels", {}).get(_HASH_LABEL) == hash_),
            None,
        )
        old = [rs for rs in owned if rs is not new_rs]
        revisions = [_rev_number(rs) for rs in owned]
        max_rev = max(revisions, default=0)
        if new_rs is None:
            new_rs = self._create_replicaset(dep, template, hash_, desired, max_rev + 1)
            if new_rs is None:
                return
        else:
            new_rev = _rev_number(new_rs)
            # Rolling back to an older template revives its ReplicaSet under a new revision.
            target_rev = new_rev if new_rev >= max_rev else max_rev + 1
            current = _int(new_rs.get("spec", {}).get("replicas"), 0)
            if current != desired or target_rev != new_rev:

                def scale_new(o: Obj, n: int = desired, rev: int = target_rev) -> None:
                    o["spec"]["replicas"] = n
                    _meta(o).setdefault("annotations", {})[_REVISION] = str(rev)
                    o["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] = str(
                        n
                    )

                new_rs = self._mutate("apps", "ReplicaSet", new_rs, scale_new)
                if current != desired:
                    self._scaling_event(dep, new_rs, desired, current)
        revision = _rs_revision(new_rs)
        if revision and dep["metadata"].get("annotations", {}).get(_REVISION) != revision:

            def set_rev(o: Obj, rev: str = revision) -> None:
                _meta(o).setdefault("annotations", {})[_REVISION] = rev

            self._mutate("apps", "Deployment", dep, set_rev)
        self._scale_old_replicasets(dep, new_rs, old, desired)

    def _create_replicaset(
        self, dep: Obj, template: Obj, hash_: str, replicas: int, revision: int
    ) -> Obj | None:
        rs_template = copy.deepcopy(template)
        rs_template.setdefault("metadata", {}).setdefault("labels", {})[_HASH_LABEL] = hash_
        selector = copy.deepcopy(dep.get("spec", {}).get("selector") or {})
        selector.setdefault("matchLabels", {})[_HASH_LABEL] = hash_
        name = f"{_name(dep)}-{hash_}"
        max_surge = _scaled(
            (dep["spec"].get("strategy", {}).get("rollingUpdate") or {}).get("maxSurge"),
            replicas,
            True,
            "25%",
        )
        rs: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": _ns(dep),
                "labels": dict(rs_template["metadata"]["labels"]),
                "annotations": {
                    "deployment.kubernetes.io/desired-replicas": str(replicas),
                    "deployment.kubernetes.io/max-replicas": str(replicas + max_surge),
                    _REVISION: str(revision),
                },
                "ownerReferences": [_owner_ref(dep, "apps/v1", "Deployment")],
            },
            "spec": {
                "replicas": replicas,
                "minReadySeconds": _int(dep["spec"].get("minReadySeconds"), 0),
                "selector": selector,
                "template": rs_template,
            },
            "status": {"replicas": 0},
        }
        created = self._create(rs)
        if created is not None:
            self._scaling_event(dep, created, replicas, 0)
        return created

    def _scaling_event(self, dep: Obj, rs: Obj, to: int, from_: int) -> None:
        verb = "up" if to > from_ else "down"
        self._event(
            dep, "ScalingReplicaSet", f"Scaled {verb} replica set {_name(rs)} to {to} from {from_}"
        )

    def _scale_old_replicasets(self, dep: Obj, new_rs: Obj, old: list[Obj], desired: int) -> None:
        recreate = dep.get("spec", {}).get("strategy", {}).get("type") == "Recreate"
        new_available = _int(new_rs.get("status", {}).get("availableReplicas"), 0)
        # Old pods may remain only while the new ReplicaSet is not yet fully available.
        budget = 0 if recreate else max(0, desired - new_available)
        old.sort(key=lambda rs: _rev_number(rs), reverse=True)
        for rs in old:
            current = _int(rs.get("spec", {}).get("replicas"), 0)
            target = min(current, budget)
            budget -= target
            if target != current:

                def scale(o: Obj, n: int = target) -> None:
                    o["spec"]["replicas"] = n

                self._mutate("apps", "ReplicaSet", rs, scale)
                self._scaling_event(dep, rs, target, current)
        limit = _int(dep.get("spec", {}).get("revisionHistoryLimit"), 10)
        idle = [
            rs
            for rs in old
            if _int(rs.get("spec", {}).get("replicas"), 0) == 0
            and _int(rs.get("status", {}).get("replicas"), 0) == 0
        ]
        idle.sort(key=lambda rs: _rev_number(rs))
        for rs in idle[: max(0, len(idle) - limit)]:
            self._delete(rs, "apps", "ReplicaSet")

    def _status_deployments(self) -> Iterable[str]:
        seen: list[str] = []
        for dep in self._live("apps", "Deployment", seen):
            self._status_deployment(dep)
        return seen

    def _status_deployment(self, dep: Obj) -> None:
        spec = dep.get("spec", {})
        desired = _int(spec.get("replicas"), 1)
        hash_ = self._template_hash(
            spec.get("template") or {}, _int(dep.get("status", {}).get("collisionCount"), 0)
        )
        owned = self._children("apps", "ReplicaSet", dep)
        new_rs = next(
            (rs for rs in owned if rs["metadata"].get("labels", {}).get(_HASH_LABEL) == hash_),
            None,
        )
        if new_rs is None:
            return

        def total(key: str, sets: Iterable[Obj]) -> int:
            return sum(_int(rs.get("status", {}).get(key), 0) for rs in sets)

        replicas = total("replicas", owned)
        updated = total("replicas", [new_rs])
        ready = total("readyReplicas", owned)
        available = total("availableReplicas", owned)
        counters = (replicas, updated, ready, available, desired)
        uid = _uid(dep)
        now_clock = self._clock()
        prev = self._progress.get(uid)
        new_template = prev is None or prev[0] != hash_
        progressed = not new_template and prev is not None and prev[1] != counters
        if new_template or progressed:
            self._progress[uid] = (hash_, counters, now_clock)
        last_progress = self._progress[uid][2]

        max_unavailable = 0
        strategy = spec.get("strategy", {})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            ru = strategy.get("rollingUpdate") or {}
            max_unavailable = _scaled(ru.get("maxUnavailable"), desired, False, "25%")
            if max_unavailable == 0 and _scaled(ru.get("maxSurge"), desired, True, "25%") == 0:
                max_unavailable = 1
        complete = updated == desired and replicas == desired and available == desired
        deadline = _int(spec.get("progressDeadlineSeconds"), 600)
        if not complete and now_clock - last_progress <= deadline:
            # Just past the deadline, so that `>` holds when the pass runs.
            self._wake_in(last_progress + deadline - now_clock + 0.001)
        rs_name = _name(new_rs)

        def apply(o: Obj) -> None:
            status = o.setdefault("status", {})
            status.update(
                observedGeneration=o["metadata"].get("generation", 1),
                replicas=replicas,
                updatedReplicas=updated,
                readyReplicas=ready,
                availableReplicas=available,
                unavailableReplicas=max(0, desired - available),
            )
            _drop_zero(
                status,
                "replicas",
                "updatedReplicas",
                "readyReplicas",
                "availableReplicas",
                "unavailableReplicas",
            )
            now = self._now()
            conds: list[dict[str, Any]] = status.setdefault("conditions", [])
            if available >= desired - max_unavailable:
                _set_condition(
                    conds,
                    "Available",
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                    now,
                    update_time=True,
                )
            else:
                _set_condition(
                    conds,
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    now,
                    update_time=True,
                )
            current = next((c for c in conds if c.get("type") == "Progressing"), None)
            created = ("NewReplicaSetCreated", "True", f'Created new replica set "{rs_name}"')
            if complete:
                outcome = (
                    "NewReplicaSetAvailable",
                    "True",
                    f'ReplicaSet "{rs_name}" has successfully progressed.',
                )
            elif now_clock - last_progress > deadline:
                outcome = (
                    "ProgressDeadlineExceeded",
                    "False",
                    f'ReplicaSet "{rs_name}" has timed out progressing.',
                )
            elif new_template or current is None:
                outcome = created
            elif progressed:
                outcome = ("ReplicaSetUpdated", "True", f'ReplicaSet "{rs_name}" is progressing.')
            else:
                # No progress and no deadline yet: the condition stays as it was.
                outcome = (
                    str(current.get("reason")),
                    str(current.get("status")),
                    str(current.get("message")),
                )
            reason, status_, message = outcome
            _set_condition(conds, "Progressing", status_, reason, message, now, update_time=True)
            conds.sort(key=lambda c: 0 if c.get("type") == "Available" else 1)

        self._mutate("apps", "Deployment", dep, apply)

    # ------------------------------------------------------------------ ReplicaSet

    def _sync_replicasets(self) -> Iterable[str]:
        seen: list[str] = []
        for rs in self._live("apps", "ReplicaSet", seen):
            self._sync_replicaset(rs)
        return seen

    def _sync_replicaset(self, rs: Obj) -> None:
        desired = _int(rs.get("spec", {}).get("replicas"), 1)
        pods = [p for p in self._children("", "Pod", rs) if _pod_active(p)]
        for _ in range(desired - len(pods)):
            pod = self._new_pod(rs, "apps/v1", "ReplicaSet", f"{_name(rs)}-{self._suffix()}")
            if self._create(pod) is not None:
                self._event(rs, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
        if len(pods) > desired:
            # Like the real controller: remove not-ready and younger pods first.
            pods.sort(key=lambda p: (_pod_ready(p), -self._age(p)))
            for pod in pods[: len(pods) - desired]:
                self._delete(pod, "", "Pod")
                self._event(rs, "SuccessfulDelete", f"Deleted pod: {_name(pod)}")

    def _status_replicasets(self) -> Iterable[str]:
        seen: list[str] = []
        for rs in self._live("apps", "ReplicaSet", seen):
            pods = [p for p in self._children("", "Pod", rs) if _pod_active(p)]
            ready = sum(1 for p in pods if _pod_ready(p))

            def apply(o: Obj, n: int = len(pods), r: int = ready) -> None:
                status = o.setdefault("status", {})
                status.update(
                    replicas=n,
                    fullyLabeledReplicas=n,
                    readyReplicas=r,
                    availableReplicas=r,
                    observedGeneration=o["metadata"].get("generation", 1),
                )
                _drop_zero(status, "fullyLabeledReplicas", "readyReplicas", "availableReplicas")

            self._mutate("apps", "ReplicaSet", rs, apply)
        return seen

    # ------------------------------------------------------------------ StatefulSet

    def _sync_statefulsets(self) -> Iterable[str]:
        seen: list[str] = []
        for sts in self._live("apps", "StatefulSet", seen):
            self._sync_statefulset(sts)
        return seen

    def _sts_revision(self, sts: Obj) -> str:
        return f"{_name(sts)}-{self._template_hash(sts.get('spec', {}).get('template') or {})}"

    def _sync_statefulset(self, sts: Obj) -> None:
        spec = sts.get("spec", {})
        desired = _int(spec.get("replicas"), 1)
        revision = self._sts_revision(sts)
        parallel = spec.get("podManagementPolicy") == "Parallel"
        name = _name(sts)
        pods = {_name(p): p for p in self._children("", "Pod", sts)}
        for pod_name, pod in sorted(pods.items(), key=lambda kv: -_ordinal(kv[0])):
            if _ordinal(pod_name) >= desired:
                # Scale down from the highest ordinal.
                self._delete(pod, "", "Pod")
                self._event(
                    sts,
                    "SuccessfulDelete",
                    f"delete Pod {pod_name} in StatefulSet {name} successful",
                )
                return
        all_ready = True
        for i in range(desired):
            existing = pods.get(f"{name}-{i}")
            if existing is None:
                if not all_ready and not parallel:
                    return
                self._create_sts_pod(sts, i, revision)
                if not parallel:
                    return
                all_ready = False
                continue
            if not _pod_ready(existing):
                all_ready = False
        # Rolling update in reverse ordinal order, one pod at a time, once everything is ready.
        partition = _int(
            (spec.get("updateStrategy", {}).get("rollingUpdate") or {}).get("partition"), 0
        )
        if spec.get("updateStrategy", {}).get("type", "RollingUpdate") != "RollingUpdate":
            return
        if not all_ready or len(pods) < desired:
            return
        for i in reversed(range(partition, desired)):
            pod = pods[f"{name}-{i}"]
            if pod["metadata"].get("labels", {}).get(_REV_HASH_LABEL) != revision:
                self._delete(pod, "", "Pod")
                self._event(
                    sts,
                    "SuccessfulDelete",
                    f"delete Pod {_name(pod)} in StatefulSet {name} successful",
                )
                return

    def _create_sts_pod(self, sts: Obj, ordinal: int, revision: str) -> None:
        name = _name(sts)
        pod_name = f"{name}-{ordinal}"
        spec = sts.get("spec", {})
        volumes: list[dict[str, Any]] = []
        for tpl in spec.get("volumeClaimTemplates") or []:
            tpl_name = tpl.get("metadata", {}).get("name", "data")
            claim = f"{tpl_name}-{pod_name}"
            volumes.append({"name": tpl_name, "persistentVolumeClaim": {"claimName": claim}})
            if self._lookup("", "PersistentVolumeClaim", _ns(sts), claim) is None:
                labels = dict(tpl.get("metadata", {}).get("labels") or {})
                labels.update((spec.get("selector") or {}).get("matchLabels") or {})
                pvc: Obj = {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": claim, "namespace": _ns(sts), "labels": labels},
                    "spec": copy.deepcopy(tpl.get("spec") or {}),
                    "status": {"phase": "Pending"},
                }
                pvc["spec"].setdefault("volumeMode", "Filesystem")
                if self._create(pvc) is not None:
                    self._event(
                        sts,
                        "SuccessfulCreate",
                        f"create Claim {claim} Pod {pod_name} in StatefulSet {name} success",
                    )
        pod = self._new_pod(sts, "apps/v1", "StatefulSet", pod_name, generated=False)
        labels = pod["metadata"]["labels"]
        labels[_REV_HASH_LABEL] = revision
        labels["statefulset.kubernetes.io/pod-name"] = pod_name
        labels["apps.kubernetes.io/pod-index"] = str(ordinal)
        pod_spec = pod["spec"]
        pod_spec["hostname"] = pod_name
        if spec.get("serviceName"):
            pod_spec["subdomain"] = spec["serviceName"]
        if volumes:
            existing = {v.get("name") for v in pod_spec.get("volumes") or []}
            pod_spec["volumes"] = [v for v in volumes if v["name"] not in existing] + list(
                pod_spec.get("volumes") or []
            )
        if self._create(pod) is not None:
            self._event(
                sts, "SuccessfulCreate", f"create Pod {pod_name} in StatefulSet {name} successful"
            )

    def _status_statefulsets(self) -> Iterable[str]:
        seen: list[str] = []
        for sts in self._live("apps", "StatefulSet", seen):
            desired = _int(sts.get("spec", {}).get("replicas"), 1)
            revision = self._sts_revision(sts)
            pods = [p for p in self._children("", "Pod", sts) if _pod_active(p)]
            ready = sum(1 for p in pods if _pod_ready(p))
            updated = sum(
                1 for p in pods if p["metadata"].get("labels", {}).get(_REV_HASH_LABEL) == revision
            )

            def apply(
                o: Obj,
                n: int = len(pods),
                r: int = ready,
                u: int = updated,
                rev: str = revision,
                want: int = desired,
                pods_: list[Obj] = pods,
            ) -> None:
                status = o.setdefault("status", {})
                current_rev = status.get("currentRevision") or rev
                if u == want and n == want:
                    current_rev = rev
                current = sum(
                    1
                    for p in pods_
                    if p["metadata"].get("labels", {}).get(_REV_HASH_LABEL) == current_rev
                )
                status.update(
                    observedGeneration=o["metadata"].get("generation", 1),
                    replicas=n,
                    readyReplicas=r,
                    availableReplicas=r,
                    currentReplicas=current,
                    updatedReplicas=u,
                    currentRevision=current_rev,
                    updateRevision=rev,
                    collisionCount=0,
                )
                _drop_zero(status, "readyReplicas", "currentReplicas", "updatedReplicas")

            self._mutate("apps", "StatefulSet", sts, apply)
        return seen

    # ------------------------------------------------------------------ DaemonSet

    def _sync_daemonsets(self) -> Iterable[str]:
        seen: list[str] = []
        for ds in self._live("apps", "DaemonSet", seen):
            hash_ = self._template_hash(ds.get("spec", {}).get("template") or {})
            pods = [p for p in self._children("", "Pod", ds) if _pod_active(p)]
            current = [
                p for p in pods if p["metadata"].get("labels", {}).get(_REV_HASH_LABEL) == hash_
            ]
            for pod in pods:
                if pod not in current or (len(current) > 1 and pod is not current[0]):
                    self._delete(pod, "", "Pod")
                    self._event(ds, "SuccessfulDelete", f"Deleted pod: {_name(pod)}")
            if not current:
                pod = self._new_pod(ds, "apps/v1", "DaemonSet", f"{_name(ds)}-{self._suffix()}")
                labels = pod["metadata"]["labels"]
                labels[_REV_HASH_LABEL] = hash_
                labels["pod-template-generation"] = str(ds["metadata"].get("generation", 1))
                pod["spec"]["nodeName"] = NODE_NAME
                if self._create(pod) is not None:
                    self._event(ds, "SuccessfulCreate", f"Created pod: {_name(pod)}")
        return seen

    def _status_daemonsets(self) -> Iterable[str]:
        seen: list[str] = []
        for ds in self._live("apps", "DaemonSet", seen):
            hash_ = self._template_hash(ds.get("spec", {}).get("template") or {})
            pods = [p for p in self._children("", "Pod", ds) if _pod_active(p)]
            ready = sum(1 for p in pods if _pod_ready(p))
            updated = sum(
                1 for p in pods if p["metadata"].get("labels", {}).get(_REV_HASH_LABEL) == hash_
            )

            def apply(o: Obj, n: int = len(pods), r: int = ready, u: int = updated) -> None:
                status = o.setdefault("status", {})
                status.update(
                    currentNumberScheduled=n,
                    desiredNumberScheduled=1,
                    numberMisscheduled=0,
                    numberReady=r,
                    observedGeneration=o["metadata"].get("generation", 1),
                    updatedNumberScheduled=u,
                    numberAvailable=r,
                    numberUnavailable=1 - r,
                )
                _drop_zero(status, "updatedNumberScheduled", "numberAvailable", "numberUnavailable")

            self._mutate("apps", "DaemonSet", ds, apply)
        return seen

    # ------------------------------------------------------------------ Job

    def _sync_jobs(self) -> Iterable[str]:
        seen: list[str] = []
        for job in self._live("batch", "Job", seen):
            if job.get("spec", {}).get("suspend"):
                continue
            if _job_finished(job):
                continue
            spec = job.get("spec", {})
            completions = _int(spec.get("completions"), 1)
            parallelism = _int(spec.get("parallelism"), 1)
            backoff_limit = _int(spec.get("backoffLimit"), 6)
            pods = self._children("", "Pod", job)
            phases = [p.get("status", {}).get("phase") for p in pods]
            succeeded = phases.count("Succeeded")
            failed = phases.count("Failed")
            active = [p for p in pods if _pod_active(p)]
            if failed > backoff_limit:
                for pod in active:
                    self._delete(pod, "", "Pod")
                continue
            want = min(parallelism, completions - succeeded) - len(active)
            for _ in range(max(0, want)):
                pod = self._new_pod(job, "batch/v1", "Job", f"{_name(job)}-{self._suffix()}")
                labels = pod["metadata"]["labels"]
                labels.setdefault("batch.kubernetes.io/job-name", _name(job))
                labels.setdefault("job-name", _name(job))
                labels.setdefault("batch.kubernetes.io/controller-uid", _uid(job))
                labels.setdefault("controller-uid", _uid(job))
                if self._create(pod) is not None:
                    self._event(job, "SuccessfulCreate", f"Created pod: {_name(pod)}")
        return seen

    def _status_jobs(self) -> Iterable[str]:
        seen: list[str] = []
        for job in self._live("batch", "Job", seen):
            if _job_finished(job):
                continue
            spec = job.get("spec", {})
            completions = _int(spec.get("completions"), 1)
            backoff_limit = _int(spec.get("backoffLimit"), 6)
            pods = self._children("", "Pod", job)
            phases = [p.get("status", {}).get("phase") for p in pods]
            succeeded = phases.count("Succeeded")
            failed = phases.count("Failed")
            active = [p for p in pods if _pod_active(p)]
            ready = sum(1 for p in active if _pod_ready(p))
            outcome = None
            if succeeded >= completions:
                outcome = "Complete"
            elif failed > backoff_limit:
                outcome = "Failed"

            def apply(
                o: Obj,
                s: int = succeeded,
                f: int = failed,
                a: int = len(active),
                r: int = ready,
                result: str | None = outcome,
            ) -> None:
                status = o.setdefault("status", {})
                now = self._now()
                status.setdefault("startTime", now)
                status.update(active=a, succeeded=s, failed=f, ready=r, uncountedTerminatedPods={})
                _drop_zero(status, "active", "succeeded", "failed")
                conds: list[dict[str, Any]] = status.setdefault("conditions", [])
                if result == "Complete":
                    for ctype in ("SuccessCriteriaMet", "Complete"):
                        _set_condition(
                            conds,
                            ctype,
                            "True",
                            "CompletionsReached",
                            "Reached expected number of succeeded pods",
                            now,
                            probe_time=True,
                        )
                    status["completionTime"] = now
                elif result == "Failed":
                    for ctype in ("FailureTarget", "Failed"):
                        _set_condition(
                            conds,
                            ctype,
                            "True",
                            "BackoffLimitExceeded",
                            "Job has reached the specified backoff limit",
                            now,
                            probe_time=True,
                        )
                if not conds:
                    del status["conditions"]

            self._mutate("batch", "Job", job, apply)
            if outcome == "Complete":
                self._event(job, "Completed", "Job completed")
            elif outcome == "Failed":
                self._event(
                    job,
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    "Warning",
                )
        return seen

    # ------------------------------------------------------------------ Pods (the kubelet)

    def _sync_pods(self) -> Iterable[str]:
        seen: list[str] = []
        for pod in self._live("", "Pod", seen):
            if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                continue
            self._sync_pod(pod)
        return seen

    def _container_kind(self, image: str) -> str:
        knobs = self._knobs
        if knobs.never_ready_pattern and knobs.never_ready_pattern in image:
            return "never-ready"
        if knobs.crashloop_pattern and knobs.crashloop_pattern in image:
            return "crashloop"
        if knobs.job_fail_pattern and knobs.job_fail_pattern in image:
            return "job-fails"
        return "ok"

    def _sync_pod(self, pod: Obj) -> None:
        age = self._age(pod)
        knobs = self._knobs
        containers = pod.get("spec", {}).get("containers") or []
        kinds = [self._container_kind(str(c.get("image", ""))) for c in containers]
        run_to_completion = _controller_kind(pod) == "Job"
        status = pod.get("status", {})
        if not pod.get("spec", {}).get("nodeName") or not _get_condition(pod, "PodScheduled"):
            self._schedule(pod)
            return
        if not self._due(pod, knobs.ready_delay):
            return
        pod_ref = f"{_name(pod)}_{_ns(pod)}({_uid(pod)})"
        # Events first, computed from the transition we are about to make.
        before = {c.get("name"): c for c in status.get("containerStatuses") or []}
        terminal: str | None = None
        # a container whose image cannot be pulled never runs, so a Job's pod never finishes
        finishes = "never-ready" not in kinds
        if (
            run_to_completion
            and finishes
            and self._due(pod, max(knobs.job_duration, knobs.ready_delay))
        ):
            terminal = "Failed" if "job-fails" in kinds else "Succeeded"
        new_statuses: list[dict[str, Any]] = []
        now = self._now()
        for container, kind in zip(containers, kinds, strict=False):
            cname = str(container.get("name", ""))
            image = str(container.get("image", ""))
            prev = before.get(cname, {})
            cs = self._container_status(container, kind, age, prev, terminal, pod_ref, now)
            new_statuses.append(cs)
            self._container_events(pod, cname, image, prev, cs)
        all_ready = bool(new_statuses) and all(cs["ready"] for cs in new_statuses)
        any_running = any(
            "running" in cs["state"]
            or (
                "waiting" in cs["state"]
                and cs["state"]["waiting"].get("reason") == "CrashLoopBackOff"
            )
            for cs in new_statuses
        )
        if terminal:
            phase = terminal
        elif any_running:
            phase = "Running"
        else:
            phase = "Pending"
        unready = [cs["name"] for cs in new_statuses if not cs["ready"]]

        def apply(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["phase"] = phase
            st["containerStatuses"] = new_statuses
            init = o.get("spec", {}).get("initContainers") or []
            if init:
                st["initContainerStatuses"] = [
                    {
                        "name": c.get("name"),
                        "image": c.get("image"),
                        "imageID": _image_id(c),
                        "ready": True,
                        "restartCount": 0,
                        "started": False,
                        "containerID": _container_id(o, str(c.get("name"))),
                        "state": {
                            "terminated": {
                                "exitCode": 0,
                                "reason": "Completed",
                                "startedAt": st.get("startTime", now),
                                "finishedAt": st.get("startTime", now),
                                "containerID": _container_id(o, str(c.get("name"))),
                            }
                        },
                    }
                    for c in init
                ]
            conds: list[dict[str, Any]] = st.setdefault("conditions", [])
            _set_condition(conds, "PodReadyToStartContainers", "True", "", "", now, probe_time=True)
            _set_condition(conds, "Initialized", "True", "", "", now, probe_time=True)
            if terminal:
                reason = "PodCompleted"
                _set_condition(conds, "Ready", "False", reason, "", now, probe_time=True)
                _set_condition(conds, "ContainersReady", "False", reason, "", now, probe_time=True)
            elif all_ready:
                _set_condition(conds, "Ready", "True", "", "", now, probe_time=True)
                _set_condition(conds, "ContainersReady", "True", "", "", now, probe_time=True)
            else:
                msg = f"containers with unready status: [{' '.join(unready)}]"
                _set_condition(
                    conds, "Ready", "False", "ContainersNotReady", msg, now, probe_time=True
                )
                _set_condition(
                    conds,
                    "ContainersReady",
                    "False",
                    "ContainersNotReady",
                    msg,
                    now,
                    probe_time=True,
                )
            for cond in conds:
                if not cond.get("reason"):
                    cond.pop("reason", None)
                if not cond.get("message"):
                    cond.pop("message", None)
                cond["lastProbeTime"] = None
            order = [
                "PodReadyToStartContainers",
                "Initialized",
                "Ready",
                "ContainersReady",
                "PodScheduled",
            ]
            conds.sort(key=lambda c: order.index(c["type"]) if c.get("type") in order else 99)

        self._mutate("", "Pod", pod, apply)

    def _schedule(self, pod: Obj) -> None:
        now = self._now()
        ip = _pod_ip(_uid(pod))
        containers = pod.get("spec", {}).get("containers") or []

        def apply(o: Obj) -> None:
            o.setdefault("spec", {})["nodeName"] = NODE_NAME
            st = o.setdefault("status", {})
            st.update(
                phase="Pending",
                hostIP=HOST_IP,
                hostIPs=[{"ip": HOST_IP}],
                podIP=ip,
                podIPs=[{"ip": ip}],
                startTime=now,
                qosClass=pod_qos_class(o),
            )
            st["conditions"] = [
                {
                    "type": "PodScheduled",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": now,
                }
            ]
            st["containerStatuses"] = [
                {
                    "name": c.get("name"),
                    "image": c.get("image"),
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "started": False,
                    "state": {"waiting": {"reason": "ContainerCreating"}},
                }
                for c in containers
            ]

        self._mutate("", "Pod", pod, apply)
        self._event(
            pod, "Scheduled", f"Successfully assigned {_ns(pod)}/{_name(pod)} to {NODE_NAME}"
        )

    def _container_status(
        self,
        container: Obj,
        kind: str,
        age: float,
        prev: dict[str, Any],
        terminal: str | None,
        pod_ref: str,
        now: str,
    ) -> dict[str, Any]:
        cname = str(container.get("name", ""))
        image = str(container.get("image", ""))
        cs: dict[str, Any] = {
            "name": cname,
            "image": image,
            "imageID": "",
            "ready": False,
            "restartCount": _int(prev.get("restartCount"), 0),
            "started": False,
        }
        prev_state = prev.get("state") or {}
        delay = max(self._knobs.ready_delay, 0.05)
        if kind == "never-ready":
            if age < 2 * delay:
                self._wake_in(2 * delay - age)
                cs["state"] = {
                    "waiting": {
                        "reason": "ErrImagePull",
                        "message": _pull_error(image),
                    }
                }
            else:
                cs["state"] = {
                    "waiting": {
                        "reason": "ImagePullBackOff",
                        "message": f'Back-off pulling image "{image}": ErrImagePull: {_pull_error(image)}',
                    }
                }
            return cs
        cid = _container_id_from(pod_ref, cname, cs["restartCount"])
        cs.update(imageID=_image_id(container), containerID=cid)
        started_at = (prev_state.get("running") or {}).get("startedAt", now)
        if terminal:
            code = 1 if terminal == "Failed" else 0
            cs["state"] = {
                "terminated": {
                    "exitCode": code,
                    "reason": "Error" if code else "Completed",
                    "startedAt": started_at,
                    "finishedAt": now,
                    "containerID": cid,
                }
            }
            return cs
        if kind == "crashloop":
            # The n-th restart happens after delay * 2**n (the real back-off is 10 s doubling
            # to 5 min; the message shows those real values).
            restarts = 0
            elapsed = age - delay
            step = delay
            while elapsed >= step and restarts < 1000:
                elapsed -= step
                restarts += 1
                step = min(step * 2, delay * 32)
            self._wake_in(step - elapsed)
            if restarts == 0 and cs["restartCount"] == 0:
                cs.update(started=True)
                cs["state"] = {"running": {"startedAt": started_at}}
                return cs
            # `<=`: after an emulator restart the count starts again from the stored one.
            if restarts <= cs["restartCount"] and "waiting" in prev_state:
                cs["state"] = prev_state
                cs["lastState"] = prev.get("lastState", {})
                return cs
            restarts = max(restarts, cs["restartCount"] + 1)
            backoff = min(10 * 2 ** (restarts - 1), 300)
            cs["restartCount"] = restarts
            cs["lastState"] = {
                "terminated": {
                    "exitCode": 1,
                    "reason": "Error",
                    "startedAt": started_at,
                    "finishedAt": now,
                    "containerID": cid,
                }
            }
            cs["state"] = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off {_go_duration(backoff)} restarting failed container={cname} pod={pod_ref}",
                }
            }
            return cs
        cs.update(ready=True, started=True)
        cs["state"] = {"running": {"startedAt": started_at}}
        return cs

    def _container_events(
        self, pod: Obj, cname: str, image: str, prev: dict[str, Any], cs: dict[str, Any]
    ) -> None:
        old = prev.get("state") or {}
        new = cs["state"]
        old_reason = (old.get("waiting") or {}).get("reason")
        new_reason = (new.get("waiting") or {}).get("reason")
        pod_ref = f"{_name(pod)}_{_ns(pod)}({_uid(pod)})"
        if new_reason == "ErrImagePull" and old_reason != "ErrImagePull":
            self._event(pod, "Pulling", f'Pulling image "{image}"')
            self._event(
                pod, "Failed", f'Failed to pull image "{image}": {_pull_error(image)}', "Warning"
            )
            self._event(pod, "Failed", "Error: ErrImagePull", "Warning")
        elif new_reason == "ImagePullBackOff" and old_reason != "ImagePullBackOff":
            self._event(pod, "BackOff", f'Back-off pulling image "{image}"')
            self._event(pod, "Failed", "Error: ImagePullBackOff", "Warning")
        elif ("running" in new or "terminated" in new) and old_reason == "ContainerCreating":
            self._event(pod, "Pulled", f'Container image "{image}" already present on machine')
            self._event(pod, "Created", f"Created container: {cname}")
            self._event(pod, "Started", f"Started container {cname}")
        elif new_reason == "CrashLoopBackOff" and cs.get("restartCount") != prev.get(
            "restartCount"
        ):
            self._event(
                pod,
                "BackOff",
                f"Back-off restarting failed container {cname} in pod {pod_ref}",
                "Warning",
            )

    # ------------------------------------------------------------------ PVC, Service

    def _sync_pvcs(self) -> Iterable[str]:
        seen: list[str] = []
        for pvc in self._live("", "PersistentVolumeClaim", seen):
            if pvc.get("status", {}).get("phase") == "Bound":
                continue

            def bind(o: Obj) -> None:
                spec = o.setdefault("spec", {})
                spec.setdefault("volumeName", f"pvc-{_uid(o)}")
                annotations = _meta(o).setdefault("annotations", {})
                annotations["pv.kubernetes.io/bind-completed"] = "yes"
                annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
                storage = (spec.get("resources") or {}).get("requests", {}).get("storage", "1Gi")
                o["status"] = {
                    "phase": "Bound",
                    "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
                    "capacity": {"storage": storage},
                }

            self._mutate("", "PersistentVolumeClaim", pvc, bind)
        return seen

    def _sync_services(self) -> Iterable[str]:
        seen: list[str] = []
        for svc in self._pending("", "Service"):
            if svc.get("spec", {}).get("type") != "LoadBalancer" or _deleting(svc):
                self._seen.pop(_uid(svc), None)
                continue
            seen.append(_uid(svc))
            if svc.get("status", {}).get("loadBalancer", {}).get("ingress"):
                continue
            if not self._due(svc, self._knobs.ready_delay):
                continue
            digest = hashlib.sha256(_uid(svc).encode()).digest()
            ip = f"172.18.255.{digest[0] % 200 + 10}"

            def assign(o: Obj, addr: str = ip) -> None:
                o.setdefault("status", {})["loadBalancer"] = {
                    "ingress": [{"ip": addr, "ipMode": "VIP"}]
                }

            self._mutate("", "Service", svc, assign)
            self._event(svc, "EnsuredLoadBalancer", "Ensured load balancer")
        return seen


def _ordinal(pod_name: str) -> int:
    """The ordinal of a StatefulSet pod name; unparsable names sort last and get removed."""
    tail = pod_name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 1 << 30


def _clone(obj: Obj) -> Obj:
    """A deep copy of a JSON object (several times faster than copy.deepcopy)."""
    copied: Obj = json.loads(json.dumps(obj))
    return copied


def _group_kind(obj: Obj) -> tuple[str, str]:
    api_version = str(obj.get("apiVersion", ""))
    group = api_version.split("/", 1)[0] if "/" in api_version else ""
    return group, str(obj.get("kind", ""))


def _rs_revision(rs: Obj) -> str | None:
    value = rs.get("metadata", {}).get("annotations", {}).get(_REVISION)
    return str(value) if value is not None else None


def _rev_number(rs: Obj) -> int:
    value = _rs_revision(rs)
    return int(value) if value and value.isdigit() else 0


def _job_finished(job: Obj) -> bool:
    for ctype in ("Complete", "Failed"):
        cond = _get_condition(job, ctype)
        if cond and cond.get("status") == "True":
            return True
    return False


def _controller_kind(obj: Obj) -> str | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("kind"))
    return None


def _pod_ip(uid: str) -> str:
    digest = hashlib.sha256(uid.encode()).digest()
    return f"10.244.{digest[0]}.{digest[1] % 253 + 2}"


def _container_id(pod: Obj, cname: str) -> str:
    return _container_id_from(_uid(pod), cname, 0)


def _container_id_from(pod_ref: str, cname: str, restart: int) -> str:
    digest = hashlib.sha256(f"{pod_ref}/{cname}/{restart}".encode()).hexdigest()
    return f"containerd://{digest}"


def _image_id(container: Obj) -> str:
    image = str(container.get("image", ""))
    digest = hashlib.sha256(image.encode()).hexdigest()
    repo = image.split("@", 1)[0].rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    if "/" not in repo:
        repo = f"docker.io/library/{repo}"
    return f"{repo}@sha256:{digest}"


def _pull_error(image: str) -> str:
    ref = image if "/" in image else f"docker.io/library/{image}"
    return (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
        f'failed to resolve reference "{ref}": {ref}: not found'
    )


def _go_duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"
