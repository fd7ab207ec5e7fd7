"""What a Namespace holds, in words (pure). Deleting a Namespace deletes everything in it, objects
no release owns and other releases' history included, so kdeploy says what that is before it
asks, and before it deletes one because `--delete-namespaces` was given."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from kdeploy.model import Manifest
from kdeploy.ownership import owned_by
from kdeploy.resources import MANAGED_BY_LABEL, MANAGED_BY_VALUE

# labels of kdeploy's own records (history ConfigMaps and Secrets and their parts, lock Leases)
_RECORD_LABELS = ("kdeploy.dev/release", "kdeploy.dev/part-of")
# what the control plane puts in every namespace, and recreates: not worth a word
_EVERY_NAMESPACE = frozenset({("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")})
_IGNORED_KINDS = frozenset({"Event"})


@dataclass(frozen=True)
class NamespaceContents:
    """The objects of one namespace, counted for a release about to delete it."""

    name: str
    # (kind, how many), by kind
    counts: tuple[tuple[str, int], ...]
    # objects that neither belong to the release nor depend on an owner (ownerReferences)
    not_owned: int
    # other releases whose history or lock lives in the namespace
    other_histories: tuple[str, ...]
    # kinds that could not be listed (e.g. Forbidden)
    unreadable: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)


def summarize(
    name: str,
    objects: Iterable[Manifest],
    release: str,
    namespace: str,
    unreadable: Iterable[str] = (),
) -> NamespaceContents:
    """Count `objects` (the listed content of namespace `name`) for release `release` of
    `namespace`: per kind, those not owned by the release, and the other releases whose records
    (history, lock) are among them."""
    counts: Counter[str] = Counter()
    not_owned = 0
    others: set[str] = set()
    for obj in objects:
        kind = str(obj.get("kind", ""))
        meta = obj.get("metadata") or {}
        if kind in _IGNORED_KINDS or (kind, meta.get("name")) in _EVERY_NAMESPACE:
            continue
        counts[kind] += 1
        record_of = _record_of(meta)
        if record_of is not None:
            if record_of != release or name != namespace:
                others.add(record_of)
        elif not owned_by(obj, release, namespace) and not meta.get("ownerReferences"):
            not_owned += 1
    return NamespaceContents(
        name=name,
        counts=tuple(sorted(counts.items())),
        not_owned=not_owned,
        other_histories=tuple(sorted(others)),
        unreadable=tuple(sorted(set(unreadable))),
    )


def _record_of(meta: dict[str, object]) -> str | None:
    labels = meta.get("labels") or {}
    assert isinstance(labels, dict)
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE:
        return None
    for label in _RECORD_LABELS:
        value = labels.get(label)
        if isinstance(value, str) and value:
            return value
    return None


def describe(contents: NamespaceContents, release: str, namespace: str) -> str:
    """`Namespace shop holds 5 objects (3 ConfigMap, 2 Lease): 1 not owned by release web of
    namespace shop, and the history of release api`."""
    if not contents.total:
        text = f"Namespace {contents.name} holds no objects"
    else:
        kinds = ", ".join(f"{n} {kind}" for kind, n in contents.counts)
        plural = "s" if contents.total != 1 else ""
        text = f"Namespace {contents.name} holds {contents.total} object{plural} ({kinds})"
    notes = []
    if contents.not_owned:
        notes.append(
            f"{contents.not_owned} not owned by release {release} of namespace {namespace}"
        )
    notes += [f"the history of release {other}" for other in contents.other_histories]
    if notes:
        text += ": " + ", and ".join(notes)
    if contents.unreadable:
        text += f"; could not list: {', '.join(contents.unreadable)}"
    return text
