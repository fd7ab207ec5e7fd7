"""The storage interface under `HistoryStore`: a driver only stores records, it decides nothing.

Which revision is current, what supersedes what and what to prune is policy, and lives in
`kdeploy.history.store`. A driver keeps records keyed by (namespace, release, number).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Record:
    """A stored revision as a driver sees it.

    `meta` is small immutable JSON; `state` the mutable strings (result, finished time) that change
    with `status`. `payload` (gzip JSON, secrets redacted) and `secrets` (gzip JSON, or None when the
    revision has no secrets) are None in records returned by `Driver.list`, and `secrets` is None
    from `Driver.get(..., with_secrets=False)`."""

    release: str
    namespace: str
    number: int
    status: str
    meta: dict[str, Any]
    state: dict[str, str] = field(default_factory=dict)
    payload: bytes | None = None
    secrets: bytes | None = None
    # the field managers that wrote or changed the stored record (empty when unknown)
    writers: tuple[str, ...] = ()
    # why the stored record cannot be read (then `meta` is empty), "" when it can
    damage: str = ""


@dataclass(frozen=True)
class Leftover:
    """An object stored for revision `number` besides its head record: a companion Secret or a
    chunk. It is an orphan when that revision's head is gone (see `HistoryStore.orphans`)."""

    kind: str
    name: str
    number: int


class Driver(Protocol):
    """Stores revision records. Every method raises `kdeploy.errors.HistoryError` (or
    `ClusterError` for an API failure) with a message naming the release and namespace."""

    def create(self, record: Record) -> None:
        """Store a new record with its payload and secrets. Raises HistoryError if the revision
        number already exists."""
        ...

    def update(
        self, release: str, namespace: str, number: int, status: str, state: dict[str, str]
    ) -> None:
        """Set the status and mutable state of a stored record (payload and meta are unchanged).
        Raises HistoryError if it does not exist."""
        ...

    def get(
        self, release: str, namespace: str, number: int, *, with_secrets: bool
    ) -> Record | None:
        """The record with its payload (and its secrets when `with_secrets`), or None if absent."""
        ...

    def list(self, release: str, namespace: str) -> list[Record]:
        """All records of a release without payload or secrets, in any order."""
        ...

    def releases(self, namespace: str | None) -> builtins.list[tuple[str, str]]:
        """(namespace, release) of every release with at least one record in `namespace` (None:
        in every namespace), sorted."""
        ...

    def delete(self, release: str, namespace: str, number: int) -> None:
        """Remove a record with everything stored for it; no error if it is absent."""
        ...

    def leftovers(self, release: str, namespace: str) -> builtins.list[Leftover]:
        """Every companion Secret and chunk stored for the release's revisions, whatever the state
        of their heads."""
        ...

    def delete_leftover(self, namespace: str, leftover: Leftover) -> None:
        """Delete one object returned by `leftovers`; no error if it is absent."""
        ...
