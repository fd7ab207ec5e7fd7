"""The cluster as the actions see it: a small protocol over the API server, and the mapping of
API `Status` errors to one-line `ClusterError`s that name the object and the reason.

Nothing here imports the kubernetes client; `kdeploy.kube.real` implements the protocol over it and
tests implement it in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kdeploy.errors import ClusterError, ConflictError, ForbiddenError
from kdeploy.kube.retry import DETERMINISTIC_500
from kdeploy.model import Manifest, ObjectKey

FIELD_MANAGER = "kdeploy"


@dataclass(frozen=True)
class ResourceInfo:
    """One API resource as served by discovery."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    # whether the resource serves `list` (discovery's verbs; True when not told)
    listable: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass(frozen=True)
class ObjectRef:
    """What is needed to address one object: its apiVersion, kind, namespace and name."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, manifest: Manifest) -> ObjectRef:
        """The reference of a manifest (namespace '' when absent)."""
        meta = manifest.get("metadata") or {}
        return cls(
            api_version=str(manifest.get("apiVersion", "")),
            kind=str(manifest.get("kind", "")),
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name", "")),
        )

    @property
    def key(self) -> ObjectKey:
        group = self.api_version.rpartition("/")[0] if "/" in self.api_version else ""
        return ObjectKey(group, self.kind, self.namespace, self.name)

    def __str__(self) -> str:
        return str(self.key)


class ClusterClient(Protocol):
    """Operations kdeploy needs from an API server. Every method raises `ClusterError` (or its
    subclass `ConflictError`) with a one-line message when the server refuses or is unreachable."""

    # How many read-only requests (dry-run applies) may run at once; 1 for clients that are not
    # thread-safe. Writes are always sent one at a time, in order.
    max_parallel: int

    def resolve(self, api_version: str, kind: str) -> ResourceInfo:
        """The resource serving `kind` in `api_version`; raises ClusterError when the server has none
        (e.g. a CRD that is not installed yet)."""
        ...

    def get(self, ref: ObjectRef) -> Manifest | None:
        """The live object, or None when it does not exist."""
        ...

    def server_version(self) -> str:
        """The API server's `gitVersion` from `/version`, e.g. `v1.31.2-eks-1234`."""
        ...

    def list_by_labels(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        selector: str,
        *,
        field_selector: str = "",
    ) -> list[Manifest]:
        """Objects of one kind matching a label selector (and `field_selector`, e.g.
        `involvedObject.name=web` for Events), in `namespace` (None: all namespaces, ignored for
        cluster-scoped kinds). Items carry apiVersion and kind."""
        ...

    def apply(self, manifest: Manifest, *, dry_run: bool, force: bool) -> Manifest:
        """Server-side apply `manifest` with field manager `kdeploy`; returns the resulting object
        (the would-be object when `dry_run`). Raises ConflictError on a field-manager conflict."""
        ...

    def delete(self, ref: ObjectRef, propagation: str = "Background") -> bool:
        """Delete an object; returns False when it was already gone."""
        ...

    def merge_patch(self, ref: ObjectRef, patch: Manifest) -> Manifest | None:
        """JSON merge patch (RFC 7386) of an object with field manager `kdeploy`: a null removes a
        key whoever owns it, which server-side apply cannot do for fields another manager owns.
        Returns the patched object, or None when it does not exist."""
        ...

    def refresh_discovery(self) -> None:
        """Forget cached discovery (after CRDs are applied)."""
        ...

    def namespaced_kinds(self) -> list[ResourceInfo]:
        """Every namespaced resource the server can list, in its preferred version (one per group
        and kind), e.g. to tell what a namespace holds."""
        ...

    def wait_established(self, crd_name: str, timeout: float = 60.0) -> None:
        """Wait until a CustomResourceDefinition reports Established; raises ClusterError on timeout."""
        ...

    def pod_logs(self, namespace: str, name: str, tail_lines: int) -> str:
        """The last `tail_lines` lines of the logs of pod `name` (all containers' first one, as
        `kubectl logs` does); raises ClusterError when the server cannot give them."""
        ...

    def api_kinds(self) -> list[tuple[str, str]]:
        """(apiVersion, kind) of every resource the server serves, in every served version
        (fetches all of discovery)."""
        ...


def error_from_status(
    status: Mapping[str, Any] | None, code: int, *, action: str, target: str
) -> ClusterError:
    """Turn an API `Status` body into a one-line error naming `target` (e.g. "Deployment shop/web")
    and the server's reason. Returns a ConflictError for 409s."""
    status = status if isinstance(status, Mapping) else {}
    reason = str(status.get("reason") or _reason_for_code(code))
    message = str(status.get("message") or "").strip()
    details = status.get("details") if isinstance(status.get("details"), Mapping) else {}
    causes = [c for c in (details or {}).get("causes") or [] if isinstance(c, Mapping)]
    prefix = f"{action} {target}"
    if code == 409 and any(c.get("reason") == "FieldManagerConflict" for c in causes):
        return ConflictError(
            f"{prefix}: conflict: {_describe_field_conflicts(causes)}",
            hint="the fields are owned by another field manager; rerun with --force-conflicts "
            "to take them over, or stop setting them in the manifest",
            fields=field_conflicts(causes),
        )
    if code == 422 and causes:
        fields = "; ".join(_describe_cause(c) for c in causes)
        return ClusterError(f"{prefix}: Invalid: {fields}")
    if code == 404:
        return ClusterError(f"{prefix}: NotFound: {message or 'the server could not find it'}")
    if code == 403:
        return ForbiddenError(
            f"{prefix}: Forbidden: {message}",
            hint="the credentials in use lack permission for this; check the RBAC of your user",
            verb=_VERBS.get(action, ""),
            resource=str((details or {}).get("kind") or ""),
        )
    if code == 401:
        return ClusterError(
            f"{prefix}: Unauthorized: {message or 'the server rejected the credentials'}",
            hint="check the user and credentials of the kubeconfig context",
        )
    text = f"{prefix}: {reason}: {message}" if message else f"{prefix}: {reason} (HTTP {code})"
    if code == 409:
        return ConflictError(text)
    if code == 500 and message.startswith(DETERMINISTIC_500):
        return ClusterError(
            f"{prefix}: the server cannot read the manifest: {message}",
            hint="a field has the wrong type for its kind (e.g. a quoted number, a map where a "
            "list belongs): fix it in the template or values",
        )
    return ClusterError(text)


# the API verb a request of each `action` needs (named in a Forbidden error)
_VERBS = {
    "apply": "patch",
    "patch": "patch",
    "dry-run apply": "patch",
    "get": "get",
    "list": "list",
    "delete": "delete",
}


def field_conflicts(causes: list[Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    """(field path, manager) of each FieldManagerConflict cause; the manager as the server names
    it, without the API version (`"kubectl" with subresource "scale"`)."""
    out: list[tuple[str, str]] = []
    for cause in causes:
        if cause.get("reason") != "FieldManagerConflict":
            continue
        manager = str(cause.get("message") or "").removeprefix("conflict with ").strip()
        manager = manager.rsplit(" using ", 1)[0] if " using " in manager else manager
        out.append((str(cause.get("field", "")), manager or "another manager"))
    return tuple(out)


def _describe_field_conflicts(causes: list[Mapping[str, Any]]) -> str:
    by_manager: dict[str, list[str]] = {}
    for cause in causes:
        if cause.get("reason") != "FieldManagerConflict":
            continue
        manager = str(cause.get("message") or "").removeprefix("conflict with ").strip()
        by_manager.setdefault(manager or "another manager", []).append(str(cause.get("field", "")))
    parts = [
        f"{', '.join(fields)} owned by {manager}" for manager, fields in sorted(by_manager.items())
    ]
    return "; ".join(parts)


def _describe_cause(cause: Mapping[str, Any]) -> str:
    field = str(cause.get("field") or "").strip()
    message = str(cause.get("message") or cause.get("reason") or "").strip()
    return f"{field}: {message}" if field else message


def _reason_for_code(code: int) -> str:
    return {
        400: "BadRequest",
        401: "Unauthorized",
        403: "Forbidden",
        404: "NotFound",
        405: "MethodNotAllowed",
        409: "Conflict",
        410: "Gone",
        413: "RequestEntityTooLarge",
        415: "UnsupportedMediaType",
        422: "Invalid",
        429: "TooManyRequests",
        500: "InternalError",
        503: "ServiceUnavailable",
        504: "Timeout",
    }.get(code, f"HTTP {code}")
