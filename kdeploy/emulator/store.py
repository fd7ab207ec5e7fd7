"""The object store: objects by (group, kind, namespace, name), one global resourceVersion, and a
bounded event log that watches read from.

Stored objects are never mutated in place: every write stores a new dict, so readers inside the
emulator may hold a stored object without copying it (and must not modify it). Objects handed to
controllers through the `StoreAPI` methods are deep copies, except from `peek_objects` and
`changes_since`, which hand out the stored instances for reading.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from kdeploy.emulator.registry import Registry

Obj = dict[str, Any]
T = TypeVar("T")
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
# Parts of an object that are not its "spec" for generation purposes.
_NON_SPEC = frozenset({"apiVersion", "kind", "metadata", "status"})


def clone(value: T) -> T:
    """Deep copy of JSON-like data (dicts, lists, scalars); much faster than copy.deepcopy."""
    return cast(T, _clone(value))


def _clone(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def rfc3339(ts: float | None = None) -> str:
    """A timestamp as the API server writes it (`2026-11-23T12:00:00Z`)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if ts is None else ts))


def group_of(api_version: str) -> str:
    """The group of an apiVersion ('' for `v1`)."""
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def random_suffix(n: int = 5) -> str:
    """Random characters from the alphabet the API server uses for generateName."""
    return "".join(secrets.choice(_ALPHANUMS) for _ in range(n))


def spec_part(obj: Obj) -> Obj:
    """Everything but apiVersion, kind, metadata and status: what bumps generation when changed."""
    return {k: v for k, v in obj.items() if k not in _NON_SPEC}


def bumps_generation(old: Obj, new: Obj, *, controller: bool = False) -> bool:
    """True if writing `new` over `old` increments `metadata.generation` on a real server: a
    change of the spec part; for a Deployment also of its annotations (they are copied to its
    ReplicaSets), unless a `controller` writes them (the deployment controller records its
    revision annotation through the status subresource); and the first mark of deletion (the
    registry's BeforeDelete, markAsDeleting). A controller's write of a Pod never counts."""
    pod = new.get("kind") == "Pod" and new.get("apiVersion") == "v1"
    if spec_part(new) != spec_part(old):
        # A pod's controller writes (its binding to a node, the kubelet's status) bypass the
        # pod strategy that counts generations.
        return not (pod and controller)
    meta, ometa = new.get("metadata") or {}, old.get("metadata") or {}
    if meta.get("deletionTimestamp") and not ometa.get("deletionTimestamp"):
        return True
    deployment = new.get("kind") == "Deployment" and new.get("apiVersion") == "apps/v1"
    return (
        deployment
        and not controller
        and (meta.get("annotations") or {}) != (ometa.get("annotations") or {})
    )


@dataclass(frozen=True)
class WatchEvent:
    """One change: `type` is ADDED, MODIFIED or DELETED; `obj` the state after the change."""

    rv: int
    type: str
    group: str
    kind: str
    namespace: str
    obj: Obj
    # The state before a MODIFIED change (lets selector watches turn it into ADDED/DELETED).
    prev: Obj | None = None


class ExpiredError(Exception):
    """The requested resourceVersion is older than the retained event history."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")


class Store:
    """Thread-safe object store. `lock` is reentrant and may be held by callers that need several
    operations to be atomic (the API layer does, for read-modify-write)."""

    def __init__(
        self,
        registry: Registry,
        *,
        history: int = 10000,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self.lock = threading.RLock()
        self._cond = threading.Condition(self.lock)
        self._buckets: dict[tuple[str, str], dict[tuple[str, str], Obj]] = {}
        self._rv = 100
        self._events: deque[WatchEvent] = deque(maxlen=history)
        self._wall = wall
        self._listeners: list[Callable[[], None]] = []
        self._event_index: dict[tuple[str, ...], tuple[str, str]] = {}
        self._closed = False

    # ------------------------------------------------------------------ basics

    def now(self) -> str:
        """The current wall-clock time in RFC3339."""
        return rfc3339(self._wall())

    def add_listener(self, fn: Callable[[], None]) -> None:
        """Call `fn()` (outside no lock guarantees; keep it cheap) after every persisted change."""
        self._listeners.append(fn)

    @property
    def resource_version(self) -> int:
        """The current global resourceVersion."""
        return self._rv

    def get(self, group: str, kind: str, namespace: str, name: str) -> Obj | None:
        """The stored object (do not modify it), or None."""
        bucket = self._buckets.get((group, kind))
        return bucket.get((namespace, name)) if bucket else None

    def objects(self, group: str, kind: str, namespace: str | None = None) -> list[Obj]:
        """Stored objects of a kind, sorted by namespace and name (do not modify them)."""
        with self.lock:
            bucket = self._buckets.get((group, kind))
            if not bucket:
                return []
            if namespace is None:
                return [bucket[k] for k in sorted(bucket)]
            return [bucket[k] for k in sorted(bucket) if k[0] == namespace]

    def kinds(self) -> list[tuple[str, str]]:
        """(group, kind) pairs that currently hold objects."""
        with self.lock:
            return [k for k, b in self._buckets.items() if b]

    def all_objects(self) -> Iterator[Obj]:
        """Every stored object (a snapshot of the current set)."""
        with self.lock:
            items = [o for b in self._buckets.values() for o in b.values()]
        return iter(items)

    def count(self) -> int:
        """How many objects are stored."""
        with self.lock:
            return sum(len(b) for b in self._buckets.values())

    # ------------------------------------------------------------------ writes

    def _emit(self, etype: str, obj: Obj, prev: Obj | None = None) -> None:
        meta = obj["metadata"]
        self._events.append(
            WatchEvent(
                self._rv,
                etype,
                group_of(obj["apiVersion"]),
                obj["kind"],
                meta.get("namespace", ""),
                obj,
                prev,
            )
        )
        self._cond.notify_all()
        for fn in self._listeners:
            fn()

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def prepare_new(self, obj: Obj) -> Obj:
        """Fill the system fields of an object about to be created (uid, creationTimestamp,
        generation, a generated name); returns the same dict. Does not store it."""
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = str(meta["generateName"]) + random_suffix()
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self.now()
        meta.pop("resourceVersion", None)
        for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(k, None)
        rt = self.registry.by_kind(group_of(obj.get("apiVersion", "")), obj.get("kind", ""))
        if rt is not None and rt.has_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        return obj

    def insert(self, obj: Obj) -> Obj:
        """Store a prepared new object (takes ownership of the dict), assign its
        resourceVersion and emit ADDED. Raises KeyError if it already exists."""
        meta = obj["metadata"]
        key = (group_of(obj["apiVersion"]), obj["kind"])
        nk = (meta.get("namespace", ""), meta["name"])
        with self.lock:
            bucket = self._buckets.setdefault(key, {})
            if nk in bucket:
                raise KeyError(nk)
            meta["resourceVersion"] = self._next_rv()
            bucket[nk] = obj
            self._after_write(obj)
            self._emit("ADDED", obj)
        return obj

    def replace(self, obj: Obj, *, controller: bool = False) -> Obj:
        """Store a new state of an existing object (takes ownership of the dict). Bumps
        generation when the spec part changed (kinds that have one), assigns a new
        resourceVersion and emits MODIFIED; a write equal to the stored state changes nothing.
        An object being deleted whose last finalizer is gone is removed (DELETED).
        Raises KeyError if the object does not exist."""
        meta = obj["metadata"]
        key = (group_of(obj["apiVersion"]), obj["kind"])
        nk = (meta.get("namespace", ""), meta["name"])
        with self.lock:
            old = self._buckets.get(key, {}).get(nk)
            if old is None:
                raise KeyError(nk)
            ometa = old["metadata"]
            meta["uid"] = ometa.get("uid")
            meta["creationTimestamp"] = ometa.get("creationTimestamp")
            meta["resourceVersion"] = ometa.get("resourceVersion")
            if "generation" in ometa:
                bump = bumps_generation(old, obj, controller=controller)
                meta["generation"] = ometa["generation"] + (1 if bump else 0)
            if meta.get("deletionTimestamp") and not _held(obj):
                self._remove(key, nk)
                return obj
            if obj == old:
                return old
            meta["resourceVersion"] = self._next_rv()
            self._buckets[key][nk] = obj
            self._after_write(obj)
            self._emit("MODIFIED", obj, old)
        return obj

    def remove(self, group: str, kind: str, namespace: str, name: str) -> Obj | None:
        """Remove an object now (emits DELETED with a new resourceVersion); returns its last
        state, or None if it did not exist."""
        with self.lock:
            return self._remove((group, kind), (namespace, name))

    def _remove(self, key: tuple[str, str], nk: tuple[str, str]) -> Obj | None:
        bucket = self._buckets.get(key)
        if not bucket or nk not in bucket:
            return None
        old = bucket.pop(nk)
        last = dict(old)
        last["metadata"] = dict(old["metadata"], resourceVersion=self._next_rv())
        self._emit("DELETED", last)
        if key == ("apiextensions.k8s.io", "CustomResourceDefinition"):
            self._drop_crd(old)
        return last

    # ------------------------------------------------------------------ CRDs

    def _after_write(self, obj: Obj) -> None:
        if obj["kind"] == "CustomResourceDefinition" and obj["apiVersion"].startswith(
            "apiextensions.k8s.io/"
        ):
            if obj["metadata"].get("deletionTimestamp"):
                return
            try:
                self.registry.add_crd(obj)
            except ValueError:
                return
            self._establish(obj)

    def _establish(self, crd: Obj) -> None:
        """Mark a served CRD NamesAccepted and Established at once, as a healthy cluster soon does.
        Modifies the stored dict before its event is emitted (it is not yet visible to readers)."""
        spec = crd.get("spec") or {}
        names = dict(spec.get("names") or {})
        names.setdefault("singular", str(names.get("kind", "")).lower())
        names.setdefault("listKind", f"{names.get('kind', '')}List")
        status = crd.setdefault("status", {})
        now = self.now()
        conds = {c.get("type"): c for c in status.get("conditions") or []}
        for ctype, reason, message in (
            ("NamesAccepted", "NoConflicts", "no conflicts found"),
            ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ):
            if ctype not in conds or conds[ctype].get("status") != "True":
                conds[ctype] = {
                    "type": ctype,
                    "status": "True",
                    "lastTransitionTime": now,
                    "reason": reason,
                    "message": message,
                }
        status["conditions"] = list(conds.values())
        status["acceptedNames"] = names
        stored = [v.get("name") for v in spec.get("versions") or [] if v.get("storage")]
        known = list(status.get("storedVersions") or [])
        for v in stored:
            if v not in known:
                known.append(v)
        status["storedVersions"] = known

    def _drop_crd(self, crd: Obj) -> None:
        types = self.registry.remove_crd(str(crd["metadata"]["name"]))
        if not types:
            return
        key = (types[0].group, types[0].kind)
        for nk in sorted(self._buckets.get(key, {})):
            self._remove(key, nk)

    # ------------------------------------------------------------------ watch

    def events_after(self, rv: int) -> list[WatchEvent]:
        """Events with resourceVersion > rv. Raises ExpiredError if events after rv were
        already dropped from the bounded history."""
        with self.lock:
            if rv >= self._rv:
                return []
            if not self._events or self._events[0].rv > rv + 1:
                oldest = self._events[0].rv if self._events else self._rv
                raise ExpiredError(rv, oldest - 1)
            out = []
            for ev in reversed(self._events):
                if ev.rv <= rv:
                    break
                out.append(ev)
            out.reverse()
            return out

    def wait_for_change(self, rv: int, timeout: float) -> None:
        """Block until the resourceVersion exceeds rv, the store closes or `timeout` passes."""
        with self._cond:
            if self._rv <= rv and not self._closed:
                self._cond.wait(timeout)

    def close(self) -> None:
        """Wake every waiting watch so it can end (server shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._closed

    # ------------------------------------------------------------------ persistence

    def snapshot(self) -> Obj:
        """Everything needed to restore the store: resourceVersion and objects."""
        with self.lock:
            return {
                "resourceVersion": self._rv,
                "objects": [o for b in self._buckets.values() for o in b.values()],
            }

    def restore(self, data: Obj) -> None:
        """Load a snapshot into an empty store (CRDs first, so their types are served)."""
        with self.lock:
            objs = list(data.get("objects") or [])
            objs.sort(key=lambda o: o.get("kind") != "CustomResourceDefinition")
            for obj in objs:
                meta = obj["metadata"]
                key = (group_of(obj["apiVersion"]), obj["kind"])
                self._buckets.setdefault(key, {})[(meta.get("namespace", ""), meta["name"])] = obj
                self._after_write(obj)
            self._rv = max(self._rv, int(data.get("resourceVersion") or 0))

    # ------------------------------------------------------------------ StoreAPI (controllers)

    def list_objects(self, group: str, kind: str, namespace: str | None = None) -> list[Obj]:
        """StoreAPI: deep copies of the live objects of a kind."""
        return [clone(o) for o in self.objects(group, kind, namespace)]

    def peek_objects(self, group: str, kind: str) -> list[Obj]:
        """StoreAPI: the stored objects of a kind themselves, not copies (never modify them)."""
        return self.objects(group, kind)

    def changes_since(self, rv: int | None) -> tuple[int, list[tuple[str, Obj]] | None]:
        """StoreAPI: the current resourceVersion and every change after `rv` as (event type,
        object) pairs in order, the objects being stored instances (never modify them); None
        instead of the list when `rv` is None or older than the retained history."""
        with self.lock:
            if rv is None:
                return self._rv, None
            try:
                events = self.events_after(rv)
            except ExpiredError:
                return self._rv, None
            return self._rv, [(ev.type, ev.obj) for ev in events]

    def get_object(self, group: str, kind: str, namespace: str, name: str) -> Obj | None:
        """StoreAPI: a deep copy of one object, or None."""
        with self.lock:
            obj = self.get(group, kind, namespace, name)
            return clone(obj) if obj is not None else None

    def system_create(self, obj: Obj) -> Obj:
        """StoreAPI: create as a controller; raises KeyError if the name is taken."""
        new = self.prepare_new(clone(obj))
        return clone(self.insert(new))

    def system_update(self, obj: Obj) -> Obj:
        """StoreAPI: replace as a controller; raises KeyError if the object is gone."""
        return clone(self.replace(clone(obj), controller=True))

    def system_delete(self, group: str, kind: str, namespace: str, name: str) -> None:
        """StoreAPI: remove at once; no error if absent."""
        self.remove(group, kind, namespace, name)

    def record_event(
        self, involved: Obj, reason: str, message: str, event_type: str = "Normal"
    ) -> None:
        """StoreAPI: create or bump a core/v1 Event about `involved`."""
        meta = involved.get("metadata", {})
        ns = meta.get("namespace") or "default"
        uid = str(meta.get("uid", ""))
        key = (ns, uid, reason, message, event_type)
        now = self.now()
        with self.lock:
            if self.get("", "Namespace", "", ns) is None:
                return
            found = self._event_index.get(key)
            existing = self.get("", "Event", found[0], found[1]) if found else None
            if existing is not None:
                ev = clone(existing)
                ev["count"] = int(ev.get("count", 1)) + 1
                ev["lastTimestamp"] = now
                self.replace(ev)
                return
            name = f"{meta.get('name', 'object')}.{secrets.token_hex(8)}"
            ev = {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": name, "namespace": ns},
                "involvedObject": {
                    "apiVersion": involved.get("apiVersion"),
                    "kind": involved.get("kind"),
                    "name": meta.get("name"),
                    "namespace": meta.get("namespace"),
                    "uid": uid,
                    "resourceVersion": meta.get("resourceVersion"),
                },
                "reason": reason,
                "message": message,
                "source": {"component": _component(involved)},
                "firstTimestamp": now,
                "lastTimestamp": now,
                "count": 1,
                "type": event_type,
                "eventTime": None,
                "reportingComponent": _component(involved),
                "reportingInstance": "",
            }
            if ev["involvedObject"]["namespace"] is None:
                del ev["involvedObject"]["namespace"]
            self.insert(self.prepare_new(ev))
            self._event_index[key] = (ns, name)


def _held(obj: Obj) -> bool:
    """Whether finalizers keep an object being deleted (a Namespace also by spec.finalizers)."""
    if obj["metadata"].get("finalizers"):
        return True
    return obj["kind"] == "Namespace" and bool((obj.get("spec") or {}).get("finalizers"))


def _component(involved: Obj) -> str:
    kind = involved.get("kind")
    if kind == "Pod":
        return "kubelet"
    if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob"):
        return f"{str(kind).lower()}-controller"
    return "emulator"
