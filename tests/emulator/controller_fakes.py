"""An in-memory StoreAPI (a test double of the emulator's own store) and a settable clock."""

from __future__ import annotations

import copy
import itertools
import uuid
from typing import Any

Obj = dict[str, Any]


def _group(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeStore:
    """Keeps objects by (group, kind, namespace, name); counts every persisted write."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str, str], Obj] = {}
        self.events: list[dict[str, Any]] = []
        self.writes = 0
        self.list_calls = 0
        self._rv = itertools.count(1)
        # Like the real store's: the last resourceVersion handed out (controllers use it to
        # skip passes when nothing changed).
        self.resource_version = 0
        # (resourceVersion, event type, state) of every object write, oldest first.
        self.log: list[tuple[int, str, Obj]] = []

    def _next_rv(self) -> str:
        self.resource_version = next(self._rv)
        return str(self.resource_version)

    @staticmethod
    def key(obj: Obj) -> tuple[str, str, str, str]:
        meta = obj["metadata"]
        return (_group(obj["apiVersion"]), obj["kind"], meta.get("namespace", ""), meta["name"])

    # --- StoreAPI
    def list_objects(self, group: str, kind: str, namespace: str | None = None) -> list[Obj]:
        self.list_calls += 1
        return [
            copy.deepcopy(o)
            for (g, k, ns, _), o in sorted(self.objects.items())
            if g == group and k == kind and (namespace is None or ns == namespace)
        ]

    def get_object(self, group: str, kind: str, namespace: str, name: str) -> Obj | None:
        obj = self.objects.get((group, kind, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def system_create(self, obj: Obj) -> Obj:
        key = self.key(obj)
        if key in self.objects:
            raise KeyError(key)
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        meta.update(
            uid=str(uuid.uuid4()),
            resourceVersion=self._next_rv(),
            creationTimestamp="2026-11-23T12:00:00Z",
            generation=1,
        )
        self.objects[key] = obj
        self.writes += 1
        self.log.append((self.resource_version, "ADDED", obj))
        return copy.deepcopy(obj)

    def system_update(self, obj: Obj) -> Obj:
        key = self.key(obj)
        if self.objects.get(key) == obj:
            return copy.deepcopy(obj)
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = self._next_rv()
        self.objects[key] = obj
        self.writes += 1
        self.log.append((self.resource_version, "MODIFIED", obj))
        return copy.deepcopy(obj)

    def system_delete(self, group: str, kind: str, namespace: str, name: str) -> None:
        gone = self.objects.pop((group, kind, namespace, name), None)
        if gone is not None:
            self.writes += 1
            self._next_rv()
            self.log.append((self.resource_version, "DELETED", gone))

    def record_event(
        self, involved: Obj, reason: str, message: str, event_type: str = "Normal"
    ) -> None:
        self.events.append(
            {
                "kind": involved["kind"],
                "name": involved["metadata"]["name"],
                "reason": reason,
                "message": message,
                "type": event_type,
            }
        )
        self.writes += 1
        self._next_rv()

    # --- what a user does through the API
    def user_apply(self, obj: Obj) -> Obj:
        """Create, or replace the spec (bumping generation when it changes)."""
        key = self.key(obj)
        live = self.objects.get(key)
        if live is None:
            obj = copy.deepcopy(obj)
            obj["metadata"].setdefault("namespace", "default")
            return self.system_create(obj)
        updated = copy.deepcopy(live)
        if updated.get("spec") != obj.get("spec"):
            updated["spec"] = copy.deepcopy(obj["spec"])
            updated["metadata"]["generation"] += 1
        return self.system_update(updated)

    def get(self, kind: str, name: str, group: str = "apps", namespace: str = "default") -> Obj:
        obj = self.objects[(group, kind, namespace, name)]
        return copy.deepcopy(obj)

    def all(self, kind: str, group: str = "") -> list[Obj]:
        return self.list_objects(group, kind)


class IncrementalFakeStore(FakeStore):
    """A FakeStore that also offers the change log, so controllers read only what changed.
    `history` bounds how far back the log reaches (like the real store's event history)."""

    def __init__(self, history: int | None = None) -> None:
        super().__init__()
        self.history = history

    def peek_objects(self, group: str, kind: str) -> list[Obj]:
        self.list_calls += 1
        return [o for (g, k, _, _), o in sorted(self.objects.items()) if g == group and k == kind]

    def changes_since(self, rv: int | None) -> tuple[int, list[tuple[str, Obj]] | None]:
        if rv is None:
            return self.resource_version, None
        kept = self.log if self.history is None else self.log[-self.history :]
        if rv < self.resource_version and (not kept or kept[0][0] > rv + 1):
            return self.resource_version, None
        return self.resource_version, [(t, o) for r, t, o in kept if r > rv]
