"""A recorded revision of a release, and how its parts are serialised for storage.

A revision is stored in three parts, so that a driver can keep each where it belongs:
- `meta`: small, immutable JSON (who, when, package, git commit, secret key hashes); readable as is.
- `state`: the mutable fields (result, finished time), changed together with the status.
- `payload`: gzip-compressed JSON of the manifests and values, with every secret redacted.
- `secrets`: gzip-compressed JSON of what a rollback needs to restore the secrets (may be absent).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from kdeploy.errors import HistoryError

Status = Literal["pending", "deployed", "failed", "superseded", "damaged"]
# the statuses a record can be stored with; "damaged" is what reading makes of one that cannot
# be read (see `Revision.damage`)
STATUSES: tuple[Status, ...] = ("pending", "deployed", "failed", "superseded")
PAYLOAD_FORMAT = 1


@dataclass(frozen=True)
class Revision:
    """One recorded deployment of a release.

    `manifests` and `values` are empty in metadata-only revisions (from `HistoryStore.revisions`);
    `payload_loaded` says whether they were read. `manifests` hold the real secret data only when the
    companion Secret was read (`secrets_restored`); otherwise secret values appear as
    `<redacted:sha256:...>`. `values` are always stored and returned redacted."""

    release: str
    namespace: str
    number: int
    status: Status
    manifests: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    # what the environment and the command line set, without package defaults (`get values`);
    # None when the revision did not record it (made before kdeploy kept it, or imported)
    user_values: dict[str, Any] | None = None
    package: str = ""
    package_version: str = ""
    # package.yaml `appVersion`: the version of the application deployed ("" when not given)
    app_version: str = ""
    environment: str = ""
    git_commit: str | None = None
    git_dirty: bool | None = None
    who: str = ""
    started_at: str = ""
    finished_at: str | None = None
    description: str = ""
    result: str = ""
    # the revision a rollback restores (None for an apply): an unfinished rollback is finished
    # by the next `kdeploy rollback` (see kdeploy.actions.rollback.choose_revision)
    rollback_to: int | None = None
    # "Secret ns/name" -> {key: short sha256 of the value}: which secret keys a revision set.
    secret_keys: dict[str, dict[str, str]] = field(default_factory=dict)
    has_secrets: bool = False
    payload_loaded: bool = False
    secrets_restored: bool = False
    # The secret strings of this revision, for redacting diffs and logs; never stored in plain sight.
    secret_strings: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    # SHA-256 (hex) of the stored payload and secrets, part of the signed metadata ("" if unknown)
    payload_sha256: str = ""
    secrets_sha256: str = ""
    # kdeploy.history.trust: verified, invalid, unsigned or unchecked (no key); `distrust` says why
    # the record is not trusted ("" when it is); `writers` are its field managers
    trust: str = "unchecked"
    # whether the record carries a signature at all (known without the key)
    signed: bool = False
    distrust: str = ""
    writers: tuple[str, ...] = ()
    # why the stored record cannot be read (status "damaged"); "" for a readable record
    damage: str = ""
    # the CI run that made it (pipelineUrl, jobUrl, mergeRequest, ref, ciEnvironment; see
    # kdeploy.history.identity.ci_trace) and the container images it deploys
    ci: dict[str, str] = field(default_factory=dict)
    images: tuple[str, ...] = ()

    @property
    def trusted(self) -> bool:
        """Whether kdeploy may act on this record on its own (roll back to it, supersede it)."""
        return not self.distrust and not self.damage

    @property
    def name(self) -> str:
        """The storage name of this revision: `kdeploy.<release>.v<N>`."""
        return revision_name(self.release, self.number)


def revision_name(release: str, number: int) -> str:
    """`kdeploy.<release>.v<N>`: the name of a revision's ConfigMap and companion Secret."""
    return f"kdeploy.{release}.v{number}"


def encode_meta(rev: Revision) -> dict[str, Any]:
    """The immutable metadata of `rev` as plain JSON-able data."""
    return {
        "format": PAYLOAD_FORMAT,
        "package": rev.package,
        "packageVersion": rev.package_version,
        "appVersion": rev.app_version or None,
        "environment": rev.environment,
        "gitCommit": rev.git_commit,
        "gitDirty": rev.git_dirty,
        "who": rev.who,
        "startedAt": rev.started_at,
        "description": rev.description,
        "rollbackTo": rev.rollback_to,
        "secretKeys": rev.secret_keys,
        "hasSecrets": rev.has_secrets,
        "payloadSha256": rev.payload_sha256,
        "secretsSha256": rev.secrets_sha256,
        "ci": rev.ci,
        "images": list(rev.images),
    }


def encode_state(rev: Revision) -> dict[str, str]:
    """The mutable fields of `rev` (changed with its status) as strings."""
    state = {"result": rev.result}
    if rev.finished_at:
        state["finishedAt"] = rev.finished_at
    return state


def decode_revision(
    release: str,
    namespace: str,
    number: int,
    status: str,
    meta: dict[str, Any],
    state: dict[str, str],
) -> Revision:
    """A metadata-only Revision from stored parts. Raises HistoryError on an unknown status or format."""
    where = f"revision {number} of release {release} in namespace {namespace}"
    if status not in STATUSES:
        raise HistoryError(f"{where} has an unknown status {status!r}")
    if meta.get("format") != PAYLOAD_FORMAT:
        raise HistoryError(
            f"{where} was stored in format {meta.get('format')!r}, this kdeploy reads format "
            f"{PAYLOAD_FORMAT}",
            hint="use the kdeploy version that recorded it",
        )
    dirty = meta.get("gitDirty")
    rollback_to = meta.get("rollbackTo")
    return Revision(
        release=release,
        namespace=namespace,
        number=number,
        status=status,
        package=str(meta.get("package", "")),
        package_version=str(meta.get("packageVersion", "")),
        app_version=str(meta.get("appVersion") or ""),
        environment=str(meta.get("environment", "")),
        git_commit=meta.get("gitCommit"),
        git_dirty=dirty if isinstance(dirty, bool) else None,
        who=str(meta.get("who", "")),
        started_at=str(meta.get("startedAt", "")),
        finished_at=state.get("finishedAt") or None,
        description=str(meta.get("description", "")),
        result=state.get("result", ""),
        rollback_to=rollback_to if type(rollback_to) is int else None,
        secret_keys=dict(meta.get("secretKeys") or {}),
        has_secrets=bool(meta.get("hasSecrets")),
        payload_sha256=str(meta.get("payloadSha256") or ""),
        secrets_sha256=str(meta.get("secretsSha256") or ""),
        ci={str(k): str(v) for k, v in (meta.get("ci") or {}).items()},
        images=tuple(str(i) for i in meta.get("images") or ()),
    )


def drop_hint(release: str, namespace: str, number: int) -> str:
    """How to get rid of a revision record that cannot be read or trusted."""
    name = revision_name(release, number)
    return (
        f"restore ConfigMap {name} from a backup, or drop the revision: `kubectl delete "
        f"configmap {name} -n {namespace}` (its companion Secret and parts are then removed as "
        "orphans by the next apply)"
    )


def encode_json_gz(data: Any) -> bytes:
    """gzip-compressed compact JSON of `data`. mtime is fixed so equal data gives equal bytes."""
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return gzip.compress(raw, compresslevel=6, mtime=0)


def decode_json_gz(blob: bytes, what: str) -> Any:
    """The data of `encode_json_gz`. Raises HistoryError naming `what` when it is corrupt."""
    try:
        return json.loads(gzip.decompress(blob))
    except (OSError, EOFError, ValueError) as e:
        raise HistoryError(f"{what} is corrupt: {e}") from e


def encode_payload(
    manifests: list[dict[str, Any]],
    values: dict[str, Any],
    user_values: dict[str, Any] | None = None,
) -> bytes:
    """The stored payload: gzip JSON of the (already redacted) manifests and values, and the
    user-set values when known."""
    data: dict[str, Any] = {"format": PAYLOAD_FORMAT, "manifests": manifests, "values": values}
    if user_values is not None:
        data["userValues"] = user_values
    return encode_json_gz(data)


def decode_payload(
    blob: bytes, what: str
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any] | None]:
    """(manifests, values, user-set values or None) of a stored payload. Raises HistoryError when
    it is corrupt."""
    data = decode_json_gz(blob, what)
    if not isinstance(data, dict) or not isinstance(data.get("manifests"), list):
        raise HistoryError(f"{what} is corrupt: no manifests list")
    user = data.get("userValues")
    return (
        list(data["manifests"]),
        dict(data.get("values") or {}),
        dict(user) if isinstance(user, dict) else None,
    )
