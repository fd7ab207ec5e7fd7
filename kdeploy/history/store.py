"""Release history policy over a storage driver: numbering, status transitions, retention, secrets.

Lifecycle: `begin` records revision N+1 as `pending` before anything changes in the cluster; `finish`
marks it `deployed` (the previously deployed revision becomes `superseded`) or `failed`;
`mark_interrupted` turns a `pending` revision whose deployer died into `failed` ("interrupted").
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from kdeploy.errors import HistoryError
from kdeploy.history.driver import Driver, Leftover, Record
from kdeploy.history.identity import Identity, detect_identity, format_time, utc_now
from kdeploy.history.model import (
    Revision,
    decode_json_gz,
    decode_payload,
    decode_revision,
    drop_hint,
    encode_json_gz,
    encode_meta,
    encode_payload,
    encode_state,
    revision_name,
)
from kdeploy.history.trust import (
    SIGNATURE_FIELD,
    distrust,
    foreign_writers,
    signed_state,
    verify,
)
from kdeploy.secrets import (
    Redactor,
    collect_secret_strings,
    restore,
    secret_key_hashes,
    split_secret_manifests,
)
from kdeploy.trace import container_images

DEFAULT_HISTORY_MAX = 10
# A result is an error message at worst; keep stored metadata small.
MAX_RESULT_CHARS = 4000


class HistoryStore:
    """Reads and records the revisions of releases through a `Driver`.

    `clock` returns aware datetimes; `identity` says who deploys and from which git commit (default:
    detected from the environment and `project_dir`, or the working directory). With a `key`,
    every record written is signed and every record read verified (kdeploy.history.trust)."""

    def __init__(
        self,
        driver: Driver,
        *,
        clock: Callable[[], datetime] = utc_now,
        identity: Callable[[], Identity] | None = None,
        project_dir: Path | None = None,
        key: bytes | None = None,
    ) -> None:
        self._driver = driver
        self._key = key
        self._clock = clock
        self._identity = identity or (
            lambda: detect_identity(project_dir or Path.cwd(), os.environ)
        )
        # (namespace, release) -> its records by number, while an operation holds that release's
        # lock (see `operation`); None until first read. Parallel applies share one store.
        self._views: dict[tuple[str, str], dict[int, Record] | None] = {}
        self._views_guard = threading.Lock()

    # one operation's view of a release

    @contextmanager
    def operation(self, release: str, namespace: str) -> Iterator[None]:
        """Within the block, the release's revision list is read from the cluster once and then
        kept up to date by this store's own writes, instead of being listed again by every step.
        Use only while holding the release lock: no other deployer writes its history meanwhile.
        `refresh` forces the next read to list again; `finish` always does. Nested blocks (the
        rollback of `apply --atomic`, under the same lock) share the outer block's view."""
        key = (namespace, release)
        with self._views_guard:
            outer = key not in self._views
            if outer:
                self._views[key] = None
        try:
            yield
        finally:
            if outer:
                with self._views_guard:
                    self._views.pop(key, None)

    def refresh(self, release: str, namespace: str) -> None:
        """Make the next read of the release's revisions list them from the cluster again (e.g.
        once the lock is taken after planning without it)."""
        with self._views_guard:
            if (namespace, release) in self._views:
                self._views[(namespace, release)] = None

    def _list(self, release: str, namespace: str, *, fresh: bool = False) -> list[Record]:
        """The release's records without payload: from the operation's view when there is one,
        else (or when `fresh`) listed from the driver."""
        key = (namespace, release)
        with self._views_guard:
            active = key in self._views
            view = self._views.get(key)
        if active and view is not None and not fresh:
            return list(view.values())
        records = self._driver.list(release, namespace)
        if active:
            with self._views_guard:
                self._views[key] = {r.number: r for r in records}
        return records

    def _remember(self, release: str, namespace: str, number: int, record: Record | None) -> None:
        """Keep the operation's view (if any, and once read) in step with a write of ours:
        `record` stored as `number`, or None when it was deleted."""
        with self._views_guard:
            view = self._views.get((namespace, release))
            if view is None:
                return
            if record is None:
                view.pop(number, None)
            else:
                view[number] = dataclasses.replace(record, payload=None, secrets=None)

    def _update(self, record: Record, status: str, state: dict[str, str]) -> None:
        # A record is signed only when it is written, or when it verified before this change:
        # a status change never turns a record someone else wrote into a trusted one.
        key = self._key if verify(self._key, record) == "verified" else None
        state = signed_state(key, record, status, state)
        self._driver.update(record.release, record.namespace, record.number, status, state)
        self._remember(
            record.release,
            record.namespace,
            record.number,
            dataclasses.replace(record, status=status, state=state),
        )

    # reading

    def releases(self, namespace: str | None = None) -> list[tuple[str, str]]:
        """(namespace, release) of every release with history in `namespace` (None: in every
        namespace the caller may list), sorted."""
        return self._driver.releases(namespace)

    def revisions(self, release: str, namespace: str) -> list[Revision]:
        """All revisions of a release, metadata only (no manifests or values), by number.
        An empty list when the release has no history."""
        records = self._list(release, namespace)
        return [self._revision(r) for r in sorted(records, key=lambda r: r.number)]

    def _revision(self, record: Record) -> Revision:
        """The metadata-only revision of a record, with its trust; a record that cannot be read
        becomes a `damaged` revision instead of stopping every reader."""
        if record.damage:
            return _damaged(record, record.damage)
        try:
            rev = _from_record(record)
        except HistoryError as e:
            return _damaged(record, e.message)
        trust = verify(self._key, record)
        return dataclasses.replace(
            rev,
            trust=trust,
            signed=bool(record.state.get(SIGNATURE_FIELD)),
            distrust=distrust(trust, foreign_writers(record.writers)),
            writers=record.writers,
        )

    def get(self, release: str, namespace: str, number: int, *, secrets: bool = True) -> Revision:
        """The full revision `number`: manifests and (redacted) values. With `secrets` (the default)
        the companion Secret is read and secret data restored in the manifests, as a rollback needs;
        without, secret values stay `<redacted:...>` and no Secret is read.
        Raises HistoryError for an unknown revision (listing the existing ones), a missing
        companion Secret, or corrupt data."""
        record = self._driver.get(release, namespace, number, with_secrets=secrets)
        if record is None:
            raise self._unknown_revision(release, namespace, number)
        rev = self._revision(record)
        if rev.damage:
            raise HistoryError(rev.damage, hint=drop_hint(release, namespace, number))
        try:
            return _full_revision(rev, record, secrets)
        except HistoryError as e:
            raise HistoryError(
                e.message, hint=e.hint or drop_hint(release, namespace, number)
            ) from e

    def last(self, release: str, namespace: str) -> Revision | None:
        """The newest revision whatever its status, in full with secrets; None without history."""
        revs = self.revisions(release, namespace)
        return self.get(release, namespace, revs[-1].number) if revs else None

    def last_deployed(self, release: str, namespace: str) -> Revision | None:
        """The newest trusted `deployed` revision in full with secrets; None if there is none."""
        deployed = [
            r for r in self.revisions(release, namespace) if r.status == "deployed" and r.trusted
        ]
        return self.get(release, namespace, deployed[-1].number) if deployed else None

    # writing

    def begin(
        self,
        release: str,
        namespace: str,
        *,
        manifests: list[dict[str, Any]],
        values: dict[str, Any],
        package: str,
        package_version: str,
        environment: str,
        description: str,
        secret_strings: set[str],
        restores: Revision | None = None,
        app_version: str = "",
        user_values: dict[str, Any] | None = None,
    ) -> Revision:
        """Record revision N+1 as `pending` (call it before changing anything in the cluster).

        A rollback passes the revision it `restores`: the new revision records its number
        (`rollback_to`) and its git commit, which describes the manifests being applied; the
        directory the rollback runs in has nothing to do with them.

        Secret strings (those given, plus every rendered Secret's data) are redacted from the stored
        manifests, values and description; the originals needed for a rollback go into the companion
        Secret. Returns the revision with the original manifests and redacted values.
        Raises HistoryError if another deployer recorded the same number meanwhile."""
        existing = self._list(release, namespace)
        number = max((r.number for r in existing), default=0) + 1
        who = self._identity()
        rev = Revision(
            release=release,
            namespace=namespace,
            number=number,
            status="pending",
            manifests=[dict(m) for m in manifests],
            values=values,
            user_values=user_values,
            package=package,
            package_version=package_version,
            app_version=app_version,
            environment=environment,
            git_commit=restores.git_commit if restores is not None else who.git_commit,
            git_dirty=restores.git_dirty if restores is not None else who.git_dirty,
            who=who.who,
            started_at=format_time(self._clock()),
            description=description,
            rollback_to=restores.number if restores is not None else None,
            ci=dict(who.ci),
        )
        return self._create(rev, secret_strings)

    def record_imported(self, revision: Revision) -> Revision:
        """Store a finished revision made by another tool (`kdeploy import helm`) under its own
        number, status, times and description, with its manifests and values in clear (secrets
        are split off and redacted as by `begin`). Returns the stored revision.
        Raises HistoryError if that revision number already exists."""
        return self._create(revision, set())

    def _create(self, rev: Revision, secret_strings: set[str]) -> Revision:
        """Write `rev` (manifests and values in clear) as a new record: every secret string (those
        given, plus every Secret's data in its manifests) is redacted from what the record stores,
        and the originals a rollback needs go to the companion Secret. Returns `rev` with the
        original manifests and redacted values and texts."""
        manifests = [dict(m) for m in rev.manifests]
        secrets = frozenset(secret_strings | collect_secret_strings(manifests))
        redactor = Redactor(secrets)
        stored_manifests, secret_objects = split_secret_manifests(manifests, secrets)
        secret_payload = {"objects": secret_objects["objects"], "strings": sorted(secrets)}
        has_secrets = bool(secret_objects["objects"] or secrets)
        user_values = None if rev.user_values is None else redactor.obj(rev.user_values)
        payload = encode_payload(stored_manifests, redactor.obj(rev.values), user_values)
        secret_blob = encode_json_gz(secret_payload) if has_secrets else None
        rev = dataclasses.replace(
            rev,
            manifests=manifests,
            values=redactor.obj(rev.values),
            user_values=user_values,
            who=redactor.text(rev.who),
            description=redactor.text(rev.description),
            result=redactor.text(rev.result)[:MAX_RESULT_CHARS],
            secret_keys=secret_key_hashes(manifests),
            has_secrets=has_secrets,
            payload_loaded=True,
            secrets_restored=True,
            secret_strings=secrets,
            payload_sha256=_sha256(payload),
            secrets_sha256=_sha256(secret_blob) if secret_blob is not None else "",
            ci={k: redactor.text(v) for k, v in rev.ci.items()},
            images=tuple(redactor.text(i) for i in container_images(manifests)),
        )
        record = Record(
            release=rev.release,
            namespace=rev.namespace,
            number=rev.number,
            status=rev.status,
            meta=encode_meta(rev),
            payload=payload,
            secrets=secret_blob,
        )
        record = dataclasses.replace(
            record, state=signed_state(self._key, record, rev.status, encode_state(rev))
        )
        self._driver.create(record)
        self._remember(rev.release, rev.namespace, rev.number, record)
        return rev

    def finish(
        self, revision: Revision, status: Literal["deployed", "failed"], result: str
    ) -> Revision:
        """Mark a `pending` revision `deployed` or `failed` with `result` (secrets redacted). When
        deployed, every other `deployed` revision of the release becomes `superseded`.
        Raises HistoryError if the revision is gone or no longer pending (e.g. it was marked
        interrupted by another deployer after its lock expired)."""
        if status not in ("deployed", "failed"):
            raise ValueError(f"finish status must be deployed or failed, not {status!r}")
        # Listed again even within an operation: the apply and the wait before this may have
        # outlasted the lock (e.g. a suspended laptop), and another deployer may have taken over
        # and marked this revision interrupted; the view would not show that.
        records = {
            r.number: r for r in self._list(revision.release, revision.namespace, fresh=True)
        }
        current = records.get(revision.number)
        where = f"revision {revision.number} of release {revision.release} in namespace {revision.namespace}"
        if current is None:
            raise HistoryError(f"{where} no longer exists; it cannot be marked {status}")
        if current.status != "pending":
            raise HistoryError(
                f"{where} is already {current.status}; it cannot be marked {status}",
                hint="another deployer may have taken over after the release lock expired",
            )
        text = Redactor(revision.secret_strings).text(result)[:MAX_RESULT_CHARS]
        done = dataclasses.replace(
            revision, status=status, result=text, finished_at=format_time(self._clock())
        )
        self._update(current, done.status, encode_state(done))
        if status == "deployed":
            for other in records.values():
                # a record that is not trusted is left as it is: never signed, never relied on
                if (
                    other.number != done.number
                    and other.status == "deployed"
                    and self._revision(other).trusted
                ):
                    self._update(other, "superseded", other.state)
        return done

    def mark_interrupted(self, revision: Revision) -> Revision:
        """Mark a `pending` revision `failed` with result "interrupted" (its deployer died). A
        revision that is no longer pending is returned with its stored status, unchanged.
        Raises HistoryError if the revision does not exist."""
        records = {r.number: r for r in self._list(revision.release, revision.namespace)}
        current = records.get(revision.number)
        if current is None:
            raise self._unknown_revision(revision.release, revision.namespace, revision.number)
        if current.status != "pending":
            stored = self._revision(current)
            return dataclasses.replace(
                revision, status=stored.status, result=stored.result, finished_at=stored.finished_at
            )
        done = dataclasses.replace(
            revision, status="failed", result="interrupted", finished_at=format_time(self._clock())
        )
        self._update(current, done.status, encode_state(done))
        return done

    def settle_deployed(self, release: str, namespace: str) -> list[int]:
        """Mark every `deployed` revision but the newest `superseded`: more than one is left when
        a deployer died between `finish` marking its revision deployed and superseding the
        previous one. Returns the numbers changed."""
        deployed = sorted(
            (
                r
                for r in self._list(release, namespace)
                if r.status == "deployed" and self._revision(r).trusted
            ),
            key=lambda r: r.number,
        )
        for older in deployed[:-1]:
            self._update(older, "superseded", older.state)
        return [r.number for r in deployed[:-1]]

    def prune(self, release: str, namespace: str, keep: int = DEFAULT_HISTORY_MAX) -> list[int]:
        """Delete the oldest `superseded` and `failed` revisions until at most `keep` remain (or no
        candidate is left), then every orphan (see `orphans`). Never deletes the newest revision,
        the last deployed one, or a pending one. `keep` <= 0 means unlimited. Returns the deleted
        revision numbers. Call only while holding the release lock."""
        doomed = self._trim(release, namespace, keep)
        self.remove_orphans(release, namespace)
        return doomed

    def _trim(self, release: str, namespace: str, keep: int) -> list[int]:
        if keep <= 0:
            return []
        revs = self.revisions(release, namespace)
        if len(revs) <= keep:
            return []
        deployed = [r.number for r in revs if r.status == "deployed"]
        protected = {revs[-1].number, *deployed[-1:]}
        candidates = [
            r.number
            for r in revs
            if r.status in ("superseded", "failed") and r.number not in protected
        ]
        doomed = candidates[: len(revs) - keep]
        for number in doomed:
            self._driver.delete(release, namespace, number)
            self._remember(release, namespace, number, None)
        return doomed

    def delete_all(self, release: str, namespace: str) -> list[int]:
        """Delete every revision of a release (payloads and companion Secrets included). Returns
        the deleted revision numbers."""
        numbers = sorted(r.number for r in self._list(release, namespace))
        for number in numbers:
            self._driver.delete(release, namespace, number)
            self._remember(release, namespace, number, None)
        self.remove_orphans(release, namespace)
        return numbers

    def orphans(self, release: str, namespace: str) -> list[Leftover]:
        """Companion Secrets and chunks of revisions whose head is gone: left by a deletion that
        was interrupted between the head and its parts, or by a head deleted by hand. Outside the
        release lock, a revision being written right now shows its parts here for a moment."""
        heads = {r.number for r in self._list(release, namespace)}
        found = self._driver.leftovers(release, namespace)
        return sorted((o for o in found if o.number not in heads), key=lambda o: (o.number, o.name))

    def remove_orphans(self, release: str, namespace: str) -> list[Leftover]:
        """Delete every orphan (see `orphans`); returns them. Call only while holding the release
        lock (a revision being written has its parts before its head)."""
        doomed = self.orphans(release, namespace)
        for leftover in doomed:
            self._driver.delete_leftover(namespace, leftover)
        return doomed

    def _unknown_revision(self, release: str, namespace: str, number: int) -> HistoryError:
        existing = sorted(r.number for r in self._driver.list(release, namespace))
        if not existing:
            return no_history_error(release, namespace)
        listed = ", ".join(str(n) for n in existing)
        return HistoryError(
            f"release {release} in namespace {namespace} has no revision {number}; "
            f"existing revisions: {listed}",
            hint=f"see `kdeploy history {release} -n {namespace}`",
        )


def orphan_text(namespace: str, leftover: Leftover) -> str:
    """One line naming an orphan and the command that removes it."""
    return (
        f"{leftover.kind} {namespace}/{leftover.name} is an orphan of revision {leftover.number} "
        f"(its ConfigMap is gone); the next apply or uninstall removes it, or: kubectl delete "
        f"{leftover.kind.lower()} {leftover.name} -n {namespace}"
    )


def no_history_error(release: str, namespace: str) -> HistoryError:
    """The error for a release without any recorded revision."""
    return HistoryError(
        f"release {release} has no history in namespace {namespace}",
        hint="check the release name and namespace (-n), or the environment (-e)",
    )


def _from_record(record: Record) -> Revision:
    return decode_revision(
        record.release, record.namespace, record.number, record.status, record.meta, record.state
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _damaged(record: Record, reason: str) -> Revision:
    return Revision(
        release=record.release,
        namespace=record.namespace,
        number=record.number,
        status="damaged",
        result=reason,
        damage=reason,
        writers=record.writers,
    )


def _full_revision(rev: Revision, record: Record, with_secrets: bool) -> Revision:
    name = revision_name(rev.release, rev.number)
    where = f"revision {rev.number} of release {rev.release} in namespace {rev.namespace}"
    if record.payload is None:
        raise HistoryError(f"the payload of {where} ({name}) is missing")
    if rev.payload_sha256 and _sha256(record.payload) != rev.payload_sha256:
        raise HistoryError(
            f"the payload of {where} ({name}) does not match the checksum in its metadata; it was "
            "changed outside kdeploy"
        )
    secrets_sha256 = _sha256(record.secrets) if record.secrets is not None else ""
    if with_secrets and secrets_sha256 and rev.secrets_sha256 not in ("", secrets_sha256):
        raise HistoryError(
            f"the companion Secret {name} of {where} does not match the checksum in the "
            "revision's metadata; it was changed outside kdeploy"
        )
    manifests, values, user_values = decode_payload(
        record.payload, f"the payload of {where} ({name})"
    )
    restored = False
    strings: frozenset[str] = frozenset()
    if with_secrets and rev.has_secrets:
        if record.secrets is None:
            raise HistoryError(
                f"the companion Secret {name} of {where} is missing; its secret data cannot be "
                "restored",
                hint="roll back to another revision, or apply from the package sources",
            )
        data = decode_json_gz(record.secrets, f"the companion Secret {name} of {where}")
        try:
            manifests = restore(manifests, data)
        except ValueError as e:
            raise HistoryError(f"the companion Secret {name} of {where} does not match: {e}") from e
        strings = frozenset(str(s) for s in data.get("strings") or ())
        restored = True
    elif with_secrets:
        restored = True
    return dataclasses.replace(
        rev,
        manifests=manifests,
        values=values,
        user_values=user_values,
        payload_loaded=True,
        secrets_restored=restored,
        secret_strings=strings,
    )
