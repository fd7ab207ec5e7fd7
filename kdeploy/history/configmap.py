"""The real history driver: revisions as ConfigMaps (and companion Secrets) in the release namespace.

Layout of revision N of release R (see docs/history.md):
- ConfigMap `kdeploy.R.vN` (the head), labels `app.kubernetes.io/managed-by=kdeploy`,
  `kdeploy.dev/release=R`, `kdeploy.dev/revision=N`, `kdeploy.dev/status=<status>`; annotations
  `kdeploy.dev/result` and `kdeploy.dev/finished-at`; `data.meta.json` (readable metadata),
  `data.payload.sha256`, `data.payload.chunks`, `binaryData.payload.json.gz` (first chunk).
- ConfigMaps `kdeploy.R.vN.part-K` (K = 1..chunks-1) with the rest of the payload when it exceeds
  CHUNK_BYTES after compression; labels `kdeploy.dev/part-of=R`, `kdeploy.dev/revision=N`, so a
  release's LIST (by `kdeploy.dev/release`) only returns heads.
- Secret `kdeploy.R.vN` of type `kdeploy.dev/revision-secrets` (and `...part-K` Secrets likewise)
  with what a rollback needs to restore secret data; only when the revision has secrets.

The head is written last and deleted first: a revision is visible only when all its parts exist.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from kdeploy.errors import ClusterError, HistoryError
from kdeploy.history.driver import Leftover, Record
from kdeploy.history.model import revision_name
from kdeploy.kube.retry import Retrier

MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_RELEASE = "kdeploy.dev/release"
LABEL_REVISION = "kdeploy.dev/revision"
LABEL_STATUS = "kdeploy.dev/status"
LABEL_PART_OF = "kdeploy.dev/part-of"
LABEL_PART = "kdeploy.dev/part"
SECRET_TYPE = "kdeploy.dev/revision-secrets"
ANNOTATION_PREFIX = "kdeploy.dev/"
# The API server caps a ConfigMap's or Secret's data at 1 MiB (1048576 bytes); leave room for the
# metadata stored beside the first chunk.
CHUNK_BYTES = 960_000

T = TypeVar("T")


def part_name(release: str, number: int, part: int) -> str:
    """The name of the K-th extra chunk (K >= 1) of a revision: `kdeploy.R.vN.part-K`."""
    return f"{revision_name(release, number)}.part-{part}"


def split_chunks(blob: bytes, size: int) -> list[bytes]:
    """`blob` cut into pieces of at most `size` bytes (one empty piece for an empty blob)."""
    return [blob[i : i + size] for i in range(0, len(blob), size)] or [b""]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: Any, kind: str, namespace: str, name: str, key: str) -> bytes:
    """Decode one base64 value of a revision object (ConfigMap `binaryData`, Secret `data`).
    A value that is not valid base64 (the record was changed outside kdeploy, or stored by a
    server that does not check it) is a HistoryError naming the object and key."""
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError):
        raise HistoryError(
            f"{kind} {namespace}/{name}: key {key} is not valid base64; this revision "
            "record was changed outside kdeploy",
            hint=f"restore {kind} {namespace}/{name} from a backup, or delete it to drop that "
            "revision from the history",
        ) from None


def _revision_of(name: str, release: str) -> bool:
    """Whether ConfigMap `name` is a revision head of `release` (`kdeploy.<release>.v<N>`)."""
    prefix = revision_name(release, 0)[:-1]
    return name.startswith(prefix) and name[len(prefix) :].isdigit()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _state_to_annotations(state: dict[str, str]) -> dict[str, str]:
    # finishedAt -> kdeploy.dev/finished-at
    return {
        ANNOTATION_PREFIX + "".join(f"-{c.lower()}" if c.isupper() else c for c in k): v
        for k, v in state.items()
    }


def _annotations_to_state(annotations: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in annotations.items():
        if not key.startswith(ANNOTATION_PREFIX):
            continue
        first, *rest = key[len(ANNOTATION_PREFIX) :].split("-")
        out[first + "".join(p.capitalize() for p in rest)] = value
    return out


class ConfigMapDriver:
    """Stores revisions in ConfigMaps and companion Secrets through plain core/v1 calls.

    `api_client` is a configured `kubernetes.client.ApiClient`; `chunk_bytes` the largest piece of
    compressed payload per object."""

    def __init__(
        self, api_client: Any, *, chunk_bytes: int = CHUNK_BYTES, retrier: Retrier | None = None
    ) -> None:
        from kdeploy.history.corecalls import CoreCalls

        # Not the typed CoreV1Api: importing it costs about 0.5 s of CPU (see corecalls).
        self._core = CoreCalls(api_client)
        self._chunk = chunk_bytes
        self._retrier = retrier or Retrier()
        # (namespace, name) -> the head ConfigMap as the latest `list` returned it: `get` reads
        # a head from there instead of fetching it again (its payload never changes once
        # written; its status and state are what that list said, until we write it ourselves)
        self._listed: dict[tuple[str, str], dict[str, Any]] = {}
        self._listed_guard = threading.Lock()  # parallel applies share one driver

    def _forget(self, namespace: str, name: str) -> None:
        """Drop a listed head we are about to write (see `get`)."""
        with self._listed_guard:
            self._listed.pop((namespace, name), None)

    # Driver protocol

    def create(self, record: Record) -> None:
        """Write parts, companion Secret(s), then the head ConfigMap. Raises HistoryError if the
        revision exists; on any failure the objects written so far are removed again."""
        rel, ns, num = record.release, record.namespace, record.number
        name = revision_name(rel, num)
        self._forget(ns, name)
        payload = split_chunks(record.payload or b"", self._chunk)
        secrets = split_chunks(record.secrets, self._chunk) if record.secrets is not None else []
        written: list[tuple[str, str]] = []
        try:
            for k, chunk in enumerate(payload[1:], start=1):
                self._create_replacing("ConfigMap", ns, self._part_cm(rel, num, k, chunk))
                written.append(("ConfigMap", part_name(rel, num, k)))
            for k, chunk in enumerate(secrets[1:], start=1):
                self._create_replacing("Secret", ns, self._part_secret(rel, num, k, chunk))
                written.append(("Secret", part_name(rel, num, k)))
            if record.secrets is not None:
                body = self._head_secret(rel, num, record.secrets, secrets)
                self._create_replacing("Secret", ns, body)
                written.append(("Secret", name))
            head = self._head_cm(record, payload, len(secrets))
            try:
                self._call(
                    lambda: self._core.create_namespaced_config_map(ns, head),
                    action="record history in",
                    target=f"ConfigMap {ns}/{name}",
                    conflict=_Exists,
                    create=True,
                )
            except _Exists:
                # A create repeated after a lost answer finds its own first attempt: that is
                # success. Anything else is another deployer's revision.
                if not self._is_same_head(ns, name, head):
                    raise HistoryError(
                        f"revision {num} of release {rel} already exists in namespace {ns} "
                        f"(ConfigMap {name})",
                        hint="another deployment recorded it at the same time; run again",
                    ) from None
        except BaseException:
            for kind, obj in reversed(written):
                self._delete_quietly(kind, ns, obj)
            raise

    def update(
        self, release: str, namespace: str, number: int, status: str, state: dict[str, str]
    ) -> None:
        """Patch only the status label and state annotations of the head ConfigMap (no payload
        is sent). Raises HistoryError if it does not exist."""
        name = revision_name(release, number)
        self._forget(namespace, name)
        body = {
            "metadata": {
                "labels": {LABEL_STATUS: status},
                "annotations": _state_to_annotations(state),
            }
        }
        self._call(
            lambda: self._core.patch_namespaced_config_map(
                name, namespace, body, _content_type="application/merge-patch+json"
            ),
            action="update history in",
            target=f"ConfigMap {namespace}/{name}",
            not_found=lambda: HistoryError(
                f"revision {number} of release {release} does not exist in namespace {namespace} "
                f"(ConfigMap {name} not found)"
            ),
        )

    def get(
        self, release: str, namespace: str, number: int, *, with_secrets: bool
    ) -> Record | None:
        """The revision with its reassembled payload (and secrets), or None if its head is absent.
        Raises HistoryError when a chunk is missing or the checksum does not match."""
        name = revision_name(release, number)
        with self._listed_guard:
            listed = self._listed.get((namespace, name))
        head = listed or self._read("ConfigMap", namespace, name)
        if head is None:
            return None
        record = self._record_of(head, namespace)
        data = head.get("data") or {}
        first = _unb64(
            (head.get("binaryData") or {}).get("payload.json.gz", ""),
            "ConfigMap",
            namespace,
            name,
            "binaryData.payload.json.gz",
        )
        payload = self._assemble(
            "ConfigMap", namespace, release, number, first, data, "payload", name
        )
        secrets: bytes | None = None
        if with_secrets and record.meta.get("hasSecrets"):
            secret = self._read("Secret", namespace, name)
            if secret is not None:
                raw = {
                    k: _unb64(v, "Secret", namespace, name, f"data.{k}")
                    for k, v in (secret.get("data") or {}).items()
                }
                first_secret = raw.pop("secrets.json.gz", b"")
                sdata = {k: v.decode(errors="replace") for k, v in raw.items()}
                secrets = self._assemble(
                    "Secret", namespace, release, number, first_secret, sdata, "secrets", name
                )
        return Record(
            release=record.release,
            namespace=record.namespace,
            number=record.number,
            status=record.status,
            meta=record.meta,
            state=record.state,
            payload=payload,
            secrets=secrets,
            writers=record.writers,
            damage=record.damage,
        )

    def list(self, release: str, namespace: str) -> list[Record]:
        """Every head ConfigMap of the release, from one label-selected LIST; no payloads."""
        selector = f"{MANAGED_BY}=kdeploy,{LABEL_RELEASE}={release}"
        found = self._call(
            lambda: self._core.list_namespaced_config_map(
                namespace, label_selector=selector, _preload_content=False
            ),
            action="list history in",
            target=f"namespace {namespace}",
        )
        items = json.loads(found.data).get("items") or []
        with self._listed_guard:
            for key in [
                k for k in self._listed if k[0] == namespace and _revision_of(k[1], release)
            ]:
                del self._listed[key]
            for item in items:
                self._listed[(namespace, str((item.get("metadata") or {}).get("name", "")))] = item
        return [self._record_of(item, namespace) for item in items]

    def releases(self, namespace: str | None) -> builtins.list[tuple[str, str]]:
        """(namespace, release) of every head ConfigMap: one label-selected LIST (of one
        namespace, or of all namespaces), its items' labels only."""
        selector = f"{MANAGED_BY}=kdeploy,{LABEL_RELEASE},{LABEL_REVISION}"
        if namespace is None:
            found = self._call(
                lambda: self._core.list_config_map_for_all_namespaces(
                    label_selector=selector, _preload_content=False
                ),
                action="list history in",
                target="all namespaces",
            )
        else:
            found = self._call(
                lambda: self._core.list_namespaced_config_map(
                    namespace, label_selector=selector, _preload_content=False
                ),
                action="list history in",
                target=f"namespace {namespace}",
            )
        out = set()
        for item in json.loads(found.data).get("items") or []:
            meta = item.get("metadata") or {}
            release = (meta.get("labels") or {}).get(LABEL_RELEASE)
            if release:
                out.add((str(meta.get("namespace", "")), str(release)))
        return sorted(out)

    def delete(self, release: str, namespace: str, number: int) -> None:
        """Delete the head ConfigMap first (the revision disappears at once), then its parts and
        companion Secret(s). No error if absent."""
        name = revision_name(release, number)
        self._forget(namespace, name)
        head = self._read("ConfigMap", namespace, name)
        if head is None:
            return
        data = head.get("data") or {}
        payload_chunks = _int(data.get("payload.chunks"), 1)
        secret_chunks = _int(data.get("secrets.chunks"), 0)
        self._delete("ConfigMap", namespace, name)
        for k in range(1, payload_chunks):
            self._delete("ConfigMap", namespace, part_name(release, number, k))
        if secret_chunks:
            self._delete("Secret", namespace, name)
        for k in range(1, secret_chunks):
            self._delete("Secret", namespace, part_name(release, number, k))

    def leftovers(self, release: str, namespace: str) -> builtins.list[Leftover]:
        """Companion Secrets (by `kdeploy.dev/release`) and chunk ConfigMaps and Secrets (by
        `kdeploy.dev/part-of`) of the release: three label-selected LISTs."""
        found: builtins.list[Leftover] = []
        for kind, key in (
            ("Secret", LABEL_RELEASE),
            ("Secret", LABEL_PART_OF),
            ("ConfigMap", LABEL_PART_OF),
        ):
            for item in self._list_objects(
                kind, namespace, f"{MANAGED_BY}=kdeploy,{key}={release}"
            ):
                meta = item.get("metadata") or {}
                if kind == "Secret" and item.get("type") != SECRET_TYPE:
                    continue
                number = _int((meta.get("labels") or {}).get(LABEL_REVISION), 0)
                if number > 0:
                    found.append(Leftover(kind, str(meta.get("name", "")), number))
        return found

    def delete_leftover(self, namespace: str, leftover: Leftover) -> None:
        """Delete one companion Secret or chunk; no error if it is absent."""
        self._delete(leftover.kind, namespace, leftover.name)

    def _list_objects(
        self, kind: str, namespace: str, selector: str
    ) -> builtins.list[dict[str, Any]]:
        lister = (
            self._core.list_namespaced_config_map
            if kind == "ConfigMap"
            else self._core.list_namespaced_secret
        )
        found = self._call(
            lambda: lister(namespace, label_selector=selector, _preload_content=False),
            action="list history in",
            target=f"namespace {namespace}",
        )
        items: builtins.list[dict[str, Any]] = json.loads(found.data).get("items") or []
        return items

    # building objects

    def _labels(self, release: str, number: int) -> dict[str, str]:
        return {MANAGED_BY: "kdeploy", LABEL_RELEASE: release, LABEL_REVISION: str(number)}

    def _part_labels(self, release: str, number: int, part: int) -> dict[str, str]:
        return {
            MANAGED_BY: "kdeploy",
            LABEL_PART_OF: release,
            LABEL_REVISION: str(number),
            LABEL_PART: str(part),
        }

    def _head_cm(
        self, record: Record, chunks: builtins.list[bytes], secret_chunks: int
    ) -> dict[str, Any]:
        payload = record.payload or b""
        labels = self._labels(record.release, record.number) | {LABEL_STATUS: record.status}
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": revision_name(record.release, record.number),
                "namespace": record.namespace,
                "labels": labels,
                "annotations": _state_to_annotations(record.state),
            },
            "data": {
                "meta.json": json.dumps(record.meta, indent=2, sort_keys=True),
                "payload.sha256": _sha256(payload),
                "payload.chunks": str(len(chunks)),
                "secrets.chunks": str(secret_chunks),
            },
            "binaryData": {"payload.json.gz": _b64(chunks[0])},
        }

    def _part_cm(self, release: str, number: int, part: int, chunk: bytes) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": part_name(release, number, part),
                "labels": self._part_labels(release, number, part),
            },
            "binaryData": {"payload.json.gz": _b64(chunk)},
        }

    def _head_secret(
        self, release: str, number: int, blob: bytes, chunks: builtins.list[bytes]
    ) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": SECRET_TYPE,
            "metadata": {
                "name": revision_name(release, number),
                "labels": self._labels(release, number),
            },
            "data": {
                "secrets.json.gz": _b64(chunks[0]),
                "secrets.sha256": _b64(_sha256(blob).encode()),
                "secrets.chunks": _b64(str(len(chunks)).encode()),
            },
        }

    def _part_secret(self, release: str, number: int, part: int, chunk: bytes) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": SECRET_TYPE,
            "metadata": {
                "name": part_name(release, number, part),
                "labels": self._part_labels(release, number, part),
            },
            "data": {"secrets.json.gz": _b64(chunk)},
        }

    def _is_same_head(self, namespace: str, name: str, head: dict[str, Any]) -> bool:
        """Whether the existing head ConfigMap holds exactly what we tried to write (same
        metadata document, payload checksum and first chunk)."""
        found = self._read("ConfigMap", namespace, name)
        if found is None:
            return False
        labels = (found.get("metadata") or {}).get("labels") or {}
        return bool(
            (found.get("data") or {}) == head["data"]
            and (found.get("binaryData") or {}) == head["binaryData"]
            and labels.get(LABEL_REVISION) == head["metadata"]["labels"][LABEL_REVISION]
        )

    # reading objects

    def _record_of(self, item: dict[str, Any], namespace: str) -> Record:
        """The record of a head ConfigMap. One that cannot be read is returned with `damage`
        saying why (and empty meta), so that it stops only the operations that need it."""
        meta = item.get("metadata") or {}
        labels = meta.get("labels") or {}
        name = str(meta.get("name", ""))
        where = f"ConfigMap {namespace}/{name}"
        damage = ""
        stored: Any = {}
        number = _int(labels.get(LABEL_REVISION), 0) or _int(name.rpartition(".v")[2], 0)
        if str(number) != labels.get(LABEL_REVISION):
            damage = f"history {where} has no valid {LABEL_REVISION} label"
        else:
            try:
                stored = json.loads((item.get("data") or {}).get("meta.json", ""))
            except ValueError as e:
                damage = f"history {where} is corrupt: meta.json is not JSON: {e}"
            if not damage and not isinstance(stored, dict):
                damage = f"history {where} is corrupt: meta.json is not a JSON object"
        writers = tuple(
            dict.fromkeys(
                str(entry.get("manager", ""))
                for entry in meta.get("managedFields") or ()
                if isinstance(entry, dict)
            )
        )
        return Record(
            release=str(labels.get(LABEL_RELEASE, "")),
            namespace=namespace,
            number=number,
            status=str(labels.get(LABEL_STATUS, "")),
            meta=stored if isinstance(stored, dict) and not damage else {},
            state=_annotations_to_state(meta.get("annotations") or {}),
            writers=writers,
            damage=damage,
        )

    def _assemble(
        self,
        kind: str,
        namespace: str,
        release: str,
        number: int,
        first: bytes,
        data: dict[str, str],
        field: str,
        name: str,
    ) -> bytes:
        chunks = [first]
        for k in range(1, _int(data.get(f"{field}.chunks"), 1)):
            part = self._read(kind, namespace, part_name(release, number, k))
            if part is None:
                raise HistoryError(
                    f"{kind} {namespace}/{part_name(release, number, k)} (part {k} of revision "
                    f"{number} of release {release}) is missing"
                )
            section = "binaryData" if part.get("binaryData") else "data"
            raw = (part.get(section) or {}).get(f"{field}.json.gz", "")
            part_obj = part_name(release, number, k)
            chunks.append(_unb64(raw, kind, namespace, part_obj, f"{section}.{field}.json.gz"))
        blob = b"".join(chunks)
        expected = data.get(f"{field}.sha256")
        if expected and _sha256(blob) != expected:
            raise HistoryError(
                f"the {field} of revision {number} of release {release} ({kind} {namespace}/{name} "
                "and its parts) does not match its checksum; a part was changed or replaced"
            )
        return blob

    # API calls

    def _read(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        reader = (
            self._core.read_namespaced_config_map
            if kind == "ConfigMap"
            else self._core.read_namespaced_secret
        )
        try:
            resp = self._call(
                lambda: reader(name, namespace, _preload_content=False),
                action="read history from",
                target=f"{kind} {namespace}/{name}",
                not_found=_NotFound,
            )
        except _NotFound:
            return None
        found: dict[str, Any] = json.loads(resp.data)
        return found

    def _create_replacing(self, kind: str, namespace: str, body: dict[str, Any]) -> None:
        # A leftover part of an earlier, interrupted write (its head was never written) is replaced.
        creator = (
            self._core.create_namespaced_config_map
            if kind == "ConfigMap"
            else self._core.create_namespaced_secret
        )
        name = body["metadata"]["name"]
        target = f"{kind} {namespace}/{name}"
        try:
            self._call(
                lambda: creator(namespace, body),
                action="record history in",
                target=target,
                conflict=_Exists,
                create=True,
            )
        except _Exists:
            self._delete(kind, namespace, name)
            self._call(
                lambda: creator(namespace, body),
                action="record history in",
                target=target,
                create=True,
            )

    def _delete(self, kind: str, namespace: str, name: str) -> None:
        deleter = (
            self._core.delete_namespaced_config_map
            if kind == "ConfigMap"
            else self._core.delete_namespaced_secret
        )
        try:
            self._call(
                lambda: deleter(name, namespace, _preload_content=False),
                action="delete history",
                target=f"{kind} {namespace}/{name}",
                not_found=_NotFound,
            )
        except _NotFound:
            pass

    def _delete_quietly(self, kind: str, namespace: str, name: str) -> None:
        try:
            self._delete(kind, namespace, name)
        except ClusterError:
            pass

    def _call(
        self,
        fn: Callable[[], T],
        *,
        action: str,
        target: str,
        not_found: Callable[[], Exception] | None = None,
        conflict: Callable[[], Exception] | None = None,
        create: bool = False,
    ) -> T:
        """Run one API call, repeating transient failures. Reads, merge patches and deletes are
        idempotent; a `create` is repeated too, because every create here handles 409 (its own
        earlier attempt) through `conflict`."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        from kdeploy.kube.client import error_from_status

        idempotent = not create or conflict is not None
        try:
            return self._retrier.run(fn, what=f"{action} {target}", idempotent=idempotent)
        except ApiException as e:
            if e.status == 404 and not_found is not None:
                raise not_found() from e
            if e.status == 409 and conflict is not None:
                raise conflict() from e
            try:
                status = json.loads(e.body) if e.body else None
            except ValueError:
                status = None
            raise error_from_status(status, int(e.status or 0), action=action, target=target) from e
        except HTTPError as e:
            host = self._core.api_client.configuration.host
            raise ClusterError(
                f"cannot {action} {target}: the API server at {host} is unreachable: {e}"
            ) from e


class _NotFound(Exception):
    pass


class _Exists(Exception):
    pass


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default
