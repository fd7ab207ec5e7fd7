"""Garbage collection and namespace finalization, as the kube-controller-manager does them.

- An object all of whose owners (ownerReferences by uid) are gone is deleted (background).
- An owner being deleted with the `foregroundDeletion` finalizer waits until its dependents are
  gone (they are deleted first); with `orphan`, its dependents lose their reference to it.
- A PersistentVolumeClaim being deleted loses its `kubernetes.io/pvc-protection` finalizer once
  no pod uses it.
- A Terminating namespace has all its content deleted; once empty, its `kubernetes` finalizer is
  removed and it disappears.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kdeploy.emulator.store import Store, clone, group_of

Obj = dict[str, Any]
Deleter = Callable[[Obj], Obj | None]


def _key(obj: Obj) -> tuple[str, str, str, str]:
    meta = obj["metadata"]
    return (group_of(obj["apiVersion"]), obj["kind"], meta.get("namespace", ""), meta["name"])


def collect(store: Store, delete: Callable[..., Obj | None], *, max_passes: int = 20) -> bool:
    """Run collection passes until nothing changes; returns True if anything was deleted or
    updated. `delete(obj, policy)` deletes one stored object honouring its finalizers."""
    changed = False
    with store.lock:
        for _ in range(max_passes):
            if not _pass(store, delete):
                break
            changed = True
    return changed


def _current(store: Store, obj: Obj) -> Obj | None:
    return store.get(*_key(obj))


def _pass(store: Store, delete: Callable[..., Obj | None]) -> bool:
    objs = list(store.all_objects())
    uids = {o["metadata"].get("uid") for o in objs}
    dependents: dict[str, list[Obj]] = {}
    for o in objs:
        for ref in o["metadata"].get("ownerReferences") or []:
            dependents.setdefault(str(ref.get("uid")), []).append(o)
    changed = False
    for o in objs:
        meta = o["metadata"]
        refs = meta.get("ownerReferences") or []
        if (
            refs
            and not meta.get("deletionTimestamp")
            and not any(r.get("uid") in uids for r in refs)
        ):
            cur = _current(store, o)
            if cur is not None and cur["metadata"].get("uid") == meta.get("uid"):
                delete(cur, "Background")
                changed = True
    for o in objs:
        cur = _current(store, o)
        if cur is None or not cur["metadata"].get("deletionTimestamp"):
            continue
        finalizers = cur["metadata"].get("finalizers") or []
        uid = str(cur["metadata"].get("uid"))
        deps = [d for d in (_current(store, x) for x in dependents.get(uid, [])) if d is not None]
        if "orphan" in finalizers:
            for d in deps:
                new = clone(d)
                new["metadata"]["ownerReferences"] = [
                    r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") != uid
                ]
                if not new["metadata"]["ownerReferences"]:
                    del new["metadata"]["ownerReferences"]
                store.replace(new)
            _drop_finalizer(store, cur, "orphan")
            changed = True
        elif "foregroundDeletion" in finalizers:
            if deps:
                for d in deps:
                    if not d["metadata"].get("deletionTimestamp"):
                        delete(d, "Foreground")
                        changed = True
            else:
                _drop_finalizer(store, cur, "foregroundDeletion")
                changed = True
    changed |= _release_claims(store)
    for ns in store.objects("", "Namespace"):
        if ns["metadata"].get("deletionTimestamp"):
            changed |= _finalize_namespace(store, ns, objs, delete)
    return changed


_PVC_PROTECTION = "kubernetes.io/pvc-protection"


def _release_claims(store: Store) -> bool:
    """The PVC protection controller: a claim being deleted loses its protection finalizer once
    no pod in its namespace mounts it."""
    changed = False
    for pvc in list(store.objects("", "PersistentVolumeClaim")):
        meta = pvc["metadata"]
        if not meta.get("deletionTimestamp") or _PVC_PROTECTION not in (
            meta.get("finalizers") or []
        ):
            continue
        ns, name = meta.get("namespace", ""), meta["name"]
        used = any(
            (v.get("persistentVolumeClaim") or {}).get("claimName") == name
            for pod in store.objects("", "Pod")
            if pod["metadata"].get("namespace") == ns
            and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            for v in (pod.get("spec") or {}).get("volumes") or []
            if isinstance(v, dict)
        )
        if not used:
            _drop_finalizer(store, pvc, _PVC_PROTECTION)
            changed = True
    return changed


def _drop_finalizer(store: Store, obj: Obj, finalizer: str) -> None:
    new = clone(obj)
    new["metadata"]["finalizers"] = [
        f for f in new["metadata"].get("finalizers") or [] if f != finalizer
    ]
    if not new["metadata"]["finalizers"]:
        del new["metadata"]["finalizers"]
    store.replace(new)


def _finalize_namespace(
    store: Store, ns: Obj, objs: list[Obj], delete: Callable[..., Obj | None]
) -> bool:
    name = ns["metadata"]["name"]
    contents = [
        o for o in objs if o["metadata"].get("namespace") == name and _current(store, o) is not None
    ]
    if contents:
        changed = False
        for o in contents:
            cur = _current(store, o)
            if cur is not None and not cur["metadata"].get("deletionTimestamp"):
                delete(cur, "Background")
                changed = True
        return changed
    spec_finalizers = (ns.get("spec") or {}).get("finalizers") or []
    if "kubernetes" not in spec_finalizers and ns["metadata"].get("finalizers"):
        return False
    if ns["metadata"].get("finalizers"):
        new = clone(ns)
        new["spec"]["finalizers"] = [f for f in spec_finalizers if f != "kubernetes"]
        store.replace(new)
    else:
        store.remove("", "Namespace", "", name)
    return True
