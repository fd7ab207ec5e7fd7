"""`ClusterClient` over the official kubernetes client (the only module that talks HTTP to a cluster).

Requests go through `ApiClient.param_serialize` + `call_api`, so kubeconfig authentication, TLS and
the connection pool of the official client are used, but we choose the content type (server-side
apply needs `application/apply-patch+yaml`), pass explicit timeouts, and parse JSON ourselves (no
pydantic models on the hot path). Discovery is one aggregated request per root (`/api`, `/apis`),
cached for the life of the client and refreshed after CRDs are applied; servers without aggregated
discovery fall back to legacy discovery, fetched per group/version only when a kind is looked up.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import quote

from kdeploy.errors import ClusterError
from kdeploy.kube import discovery as disc
from kdeploy.kube.client import FIELD_MANAGER, ObjectRef, ResourceInfo, error_from_status
from kdeploy.kube.config import CONNECT_TIMEOUT, READ_TIMEOUT
from kdeploy.kube.retry import (
    RETRYABLE_STATUS,
    Retrier,
    RetriesExhausted,
    TransientStatus,
    is_idempotent,
)
from kdeploy.model import Manifest

APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
MERGE_PATCH_CONTENT_TYPE = "application/merge-patch+json"


class RealCluster:
    """A ClusterClient over a `kubernetes.client.ApiClient`."""

    def __init__(
        self,
        api_client: Any,
        *,
        timeout: tuple[float, float] | None = None,
        retrier: Retrier | None = None,
    ) -> None:
        self._api = api_client
        self._timeout = timeout or (CONNECT_TIMEOUT, READ_TIMEOUT)
        self._retrier = retrier or Retrier()
        self._discovery: disc.Discovery | None = None
        # legacy discovery only: group/versions announced but not fetched yet
        self._pending: dict[str, tuple[str, bool]] = {}
        # dry-run applies run on several threads; discovery is filled in under this lock
        self._discovery_lock = threading.RLock()
        # one ApiClient is safe to share between threads; its pool is sized for this (config.py)
        self.max_parallel = int(getattr(api_client.configuration, "connection_pool_maxsize", 8))

    @property
    def host(self) -> str:
        return str(self._api.configuration.host)

    # -- discovery -------------------------------------------------------------------------------

    def refresh_discovery(self) -> None:
        """Forget the cached discovery; the next lookup fetches it again."""
        with self._discovery_lock:
            self._discovery = None
            self._pending = {}

    def resolve(self, api_version: str, kind: str) -> ResourceInfo:
        """The resource for apiVersion/kind; raises ClusterError when the server does not serve it."""
        info = self._lookup(api_version, kind)
        if info is None:
            raise ClusterError(
                f"the cluster has no resource for kind {kind} in {api_version}",
                hint="check apiVersion and kind; for a custom resource, install its CRD first",
            )
        return info

    def _lookup(self, api_version: str, kind: str) -> ResourceInfo | None:
        with self._discovery_lock:
            found = self._ensure_discovery().lookup(api_version, kind)
            if found is None and api_version in self._pending:
                self._fetch_legacy(api_version)
                found = self._ensure_discovery().lookup(api_version, kind)
            return found

    def _ensure_discovery(self) -> disc.Discovery:
        if self._discovery is not None:
            return self._discovery
        found = disc.Discovery()
        pending: dict[str, tuple[str, bool]] = {}
        for root in ("/api", "/apis"):
            _, doc = self._request(
                "GET", root, accept=disc.AGGREGATED_ACCEPT, action="discover", target=root
            )
            if disc.is_aggregated(doc):
                disc.add_aggregated(found, doc)
                continue
            for group, group_version, preferred in disc.legacy_group_versions(doc):
                pending[group_version] = (group, preferred)
        self._discovery = found
        self._pending = pending
        # Core kinds are used by every release; fetch their list eagerly when discovery is legacy.
        if "v1" in pending:
            self._fetch_legacy("v1")
        return found

    def pod_logs(self, namespace: str, name: str, tail_lines: int) -> str:
        """The last `tail_lines` lines of pod `name`'s logs (GET .../pods/NAME/log)."""
        path = f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(name, safe='')}/log"
        _, doc = self._request(
            "GET",
            path,
            action="read the logs of",
            target=f"Pod {namespace}/{name}",
            query=[("tailLines", str(tail_lines))],
            accept="text/plain, application/json",
        )
        return str(doc.get(_TEXT, ""))

    def api_kinds(self) -> list[tuple[str, str]]:
        """(apiVersion, kind) of every served resource (fetches all of discovery)."""
        with self._discovery_lock:
            found = self._ensure_discovery()
            for group_version in list(self._pending):
                self._fetch_legacy(group_version)
            return sorted(found.by_version)

    def namespaced_kinds(self) -> list[ResourceInfo]:
        """Every listable namespaced resource, preferred versions (fetches all of discovery)."""
        with self._discovery_lock:
            found = self._ensure_discovery()
            for group_version in list(self._pending):
                self._fetch_legacy(group_version)
            return found.namespaced()

    def _fetch_legacy(self, group_version: str) -> None:
        group, preferred = self._pending.pop(group_version)
        path = f"/api/{group_version}" if not group else f"/apis/{group_version}"
        _, doc = self._request("GET", path, action="discover", target=path)
        assert self._discovery is not None
        disc.add_resource_list(self._discovery, group, doc, preferred=preferred)

    # -- objects -----------------------------------------------------------------------------------

    def get(self, ref: ObjectRef) -> Manifest | None:
        """The live object, or None when it does not exist."""
        info = self.resolve(ref.api_version, ref.kind)
        code, doc = self._request(
            "GET", _path(info, ref.namespace, ref.name), action="get", target=str(ref), ok=(404,)
        )
        return None if code == 404 else doc

    def server_version(self) -> str:
        """The API server's `gitVersion` from one GET /version."""
        _, doc = self._request("GET", "/version", action="read", target="the server version")
        version = doc.get("gitVersion")
        if not isinstance(version, str) or not version:
            major, minor = doc.get("major"), doc.get("minor")
            if not major or not minor:
                raise ClusterError(f"the API server at {self.host} did not report its version")
            # some distributions write the minor as "28+"
            version = f"{major}.{str(minor).rstrip('+')}"
        return version

    def list_by_labels(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        selector: str,
        *,
        field_selector: str = "",
    ) -> list[Manifest]:
        """Objects of a kind matching `selector` (and `field_selector`); items get apiVersion and
        kind filled in."""
        info = self.resolve(api_version, kind)
        ns = namespace if info.namespaced else None
        query = [("labelSelector", selector)]
        if field_selector:
            query.append(("fieldSelector", field_selector))
        _, doc = self._request(
            "GET",
            _path(info, ns or "", None),
            query=query,
            action="list",
            target=f"{kind} in {ns}" if ns else kind,
        )
        items: list[Manifest] = []
        for item in doc.get("items") or []:
            item.setdefault("apiVersion", info.api_version)
            item.setdefault("kind", info.kind)
            items.append(item)
        return items

    def apply(self, manifest: Manifest, *, dry_run: bool, force: bool) -> Manifest:
        """Server-side apply (PATCH apply-patch+yaml, fieldManager kdeploy); returns the result."""
        ref = ObjectRef.of(manifest)
        info = self.resolve(ref.api_version, ref.kind)
        query: list[tuple[str, str]] = [
            ("fieldManager", FIELD_MANAGER),
            ("fieldValidation", "Strict"),
            ("force", "true" if force else "false"),
        ]
        if dry_run:
            query.append(("dryRun", "All"))
        _, doc = self._request(
            "PATCH",
            _path(info, ref.namespace if info.namespaced else "", ref.name),
            query=query,
            body=json.dumps(manifest),
            content_type=APPLY_CONTENT_TYPE,
            action="dry-run apply" if dry_run else "apply",
            target=str(ref),
        )
        return doc

    def merge_patch(self, ref: ObjectRef, patch: Manifest) -> Manifest | None:
        """PATCH merge-patch+json with fieldManager kdeploy; None when the object is gone."""
        info = self.resolve(ref.api_version, ref.kind)
        code, doc = self._request(
            "PATCH",
            _path(info, ref.namespace if info.namespaced else "", ref.name),
            query=[("fieldManager", FIELD_MANAGER)],
            body=dict(patch),
            content_type=MERGE_PATCH_CONTENT_TYPE,
            action="patch",
            target=str(ref),
            ok=(404,),
        )
        return None if code == 404 else doc

    def delete(self, ref: ObjectRef, propagation: str = "Background") -> bool:
        """Delete an object; False when it was already gone."""
        info = self.resolve(ref.api_version, ref.kind)
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        code, _ = self._request(
            "DELETE",
            _path(info, ref.namespace if info.namespaced else "", ref.name),
            body=body,
            content_type="application/json",
            action="delete",
            target=str(ref),
            ok=(404,),
        )
        return code != 404

    def wait_established(self, crd_name: str, timeout: float = 60.0) -> None:
        """Poll a CRD until its Established condition is True."""
        ref = ObjectRef("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", crd_name)
        deadline = time.monotonic() + timeout
        while True:
            crd = self.get(ref)
            conditions = ((crd or {}).get("status") or {}).get("conditions") or []
            if any(
                c.get("type") == "Established" and c.get("status") == "True" for c in conditions
            ):
                return
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"CustomResourceDefinition {crd_name} did not become Established "
                    f"within {timeout:.0f}s"
                )
            time.sleep(0.1)

    # -- transport ---------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        target: str,
        query: list[tuple[str, str]] | None = None,
        body: str | dict[str, Any] | None = None,
        content_type: str | None = None,
        accept: str = "application/json",
        ok: tuple[int, ...] = (),
    ) -> tuple[int, dict[str, Any]]:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        # A fresh query list each call: the client appends to it in place.
        method, url, headers, _, _ = self._api.param_serialize(
            method,
            path,
            query_params=list(query or []),
            header_params=headers,
            auth_settings=["BearerToken"],
        )
        attempts = 0

        def attempt() -> tuple[int, dict[str, Any]]:
            nonlocal attempts
            attempts += 1
            response = self._api.call_api(
                method, url, header_params=headers, body=body, _request_timeout=self._timeout
            )
            raw = response.read()
            code = int(response.status)
            ctype = str((response.getheaders() or {}).get("Content-Type", ""))
            if 200 <= code < 300 and ctype.startswith("text/plain"):
                return code, {_TEXT: raw.decode("utf-8", "replace")}
            try:
                doc = json.loads(raw) if raw else {}
            except ValueError:
                doc = {"message": raw[:200].decode("utf-8", "replace")}
            if not isinstance(doc, dict):
                doc = {}
            if code in RETRYABLE_STATUS and code not in ok:
                raise TransientStatus(code, doc, response.getheaders() or {})
            if code == 404 and method == "DELETE" and attempts > 1:
                # an earlier attempt deleted it and its answer was lost
                return 200, {}
            return code, doc

        what = f"{action} {target}"
        try:
            code, doc = self._retrier.run(
                attempt, what=what, idempotent=is_idempotent(method, content_type)
            )
        except RetriesExhausted as e:
            if isinstance(e.last, TransientStatus):
                raise
            raise ClusterError(
                f"{e.message}; the API server at {self.host} cannot be reached",
                hint="check that the cluster is up and the kubeconfig context points at it",
            ) from e
        except TransientStatus as e:  # a non-idempotent request is not repeated: report it
            raise error_from_status(e.body, e.code, action=action, target=target) from e
        except (urllib3.exceptions.HTTPError, ApiException, OSError) as e:
            raise ClusterError(
                f"{what}: cannot reach the API server at {self.host}: {_short_transport_error(e)}",
                hint="check that the cluster is up and the kubeconfig context points at it",
            ) from e
        if 200 <= code < 300 or code in ok:
            return code, doc
        raise error_from_status(doc, code, action=action, target=target)


# where _request puts a plain-text answer (pod logs)
_TEXT = "text"


def _path(info: ResourceInfo, namespace: str, name: str | None) -> str:
    base = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
    if info.namespaced and namespace:
        base += f"/namespaces/{quote(namespace, safe='')}"
    base += f"/{info.plural}"
    if name is not None:
        base += f"/{quote(name, safe='')}"
    return base


def _short_transport_error(e: BaseException) -> str:
    reason = getattr(e, "reason", None)
    text = str(reason or e)
    return text.splitlines()[0][:300] if text else type(e).__name__
