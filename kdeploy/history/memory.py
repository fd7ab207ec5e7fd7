"""An in-memory history driver for unit tests: records live as long as the driver object."""

from __future__ import annotations

import builtins
import copy
import dataclasses
import threading

from kdeploy.errors import HistoryError
from kdeploy.history.driver import Leftover, Record


class MemoryDriver:
    """Keeps records in a dict. Thread-safe; returns copies so callers cannot change stored data."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, str, int], Record] = {}
        self._lock = threading.Lock()

    def create(self, record: Record) -> None:
        """Store a new record. Raises HistoryError if the revision number already exists."""
        key = (record.namespace, record.release, record.number)
        with self._lock:
            if key in self._records:
                raise HistoryError(
                    f"revision {record.number} of release {record.release} already exists "
                    f"in namespace {record.namespace}"
                )
            self._records[key] = copy.deepcopy(record)

    def update(
        self, release: str, namespace: str, number: int, status: str, state: dict[str, str]
    ) -> None:
        """Set status and state. Raises HistoryError if the record does not exist."""
        key = (namespace, release, number)
        with self._lock:
            if key not in self._records:
                raise HistoryError(
                    f"revision {number} of release {release} does not exist in namespace {namespace}"
                )
            self._records[key] = dataclasses.replace(
                self._records[key], status=status, state=dict(state)
            )

    def get(
        self, release: str, namespace: str, number: int, *, with_secrets: bool
    ) -> Record | None:
        """The record with payload (and secrets when asked), or None."""
        with self._lock:
            record = self._records.get((namespace, release, number))
        if record is None:
            return None
        record = copy.deepcopy(record)
        return record if with_secrets else dataclasses.replace(record, secrets=None)

    def list(self, release: str, namespace: str) -> list[Record]:
        """All records of the release, without payload or secrets."""
        with self._lock:
            found = [
                r for (ns, rel, _), r in self._records.items() if ns == namespace and rel == release
            ]
        return [dataclasses.replace(copy.deepcopy(r), payload=None, secrets=None) for r in found]

    def releases(self, namespace: str | None) -> builtins.list[tuple[str, str]]:
        """(namespace, release) of every release with a record (in `namespace`, or anywhere)."""
        with self._lock:
            found = {(ns, rel) for (ns, rel, _) in self._records if namespace in (None, ns)}
        return sorted(found)

    def delete(self, release: str, namespace: str, number: int) -> None:
        """Remove the record if present."""
        with self._lock:
            self._records.pop((namespace, release, number), None)

    def leftovers(self, release: str, namespace: str) -> builtins.list[Leftover]:
        """None: a record and its parts are one object here."""
        return []

    def delete_leftover(self, namespace: str, leftover: Leftover) -> None:
        """Nothing to delete (see `leftovers`)."""
