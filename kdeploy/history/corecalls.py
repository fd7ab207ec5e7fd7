"""The few core/v1 ConfigMap and Secret calls the history driver makes, sent as plain JSON through
the configured `ApiClient`.

Why not the typed `kubernetes.client.CoreV1Api`: with the kubernetes client 37, importing it builds
every core/v1 model class, about half a second of CPU at the start of every live command (diff,
apply, rollback, history, ...), a quarter of the 2 s rollback budget. These calls keep the typed
methods' behaviour with `_preload_content=False`: a non-2xx answer raises the client's
`ApiException` (with status, body and headers, so retries and error messages are unchanged); a
success returns the raw response, whose `.data` holds the JSON body."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

_JSON = "application/json"
# Every write names kdeploy's field manager, so `metadata.managedFields` of a history object
# shows whether anyone else wrote or changed it (kdeploy.history.trust).
_MANAGER = [("fieldManager", "kdeploy")]


class CoreCalls:
    """ConfigMap and Secret calls on `api_client` (a configured `kubernetes.client.ApiClient`)."""

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client

    def create_namespaced_config_map(self, namespace: str, body: dict[str, Any]) -> Any:
        """POST the ConfigMap `body`; returns the raw response. Raises ApiException."""
        return self._send("POST", _path(namespace, "configmaps"), query=_MANAGER, body=body)

    def create_namespaced_secret(self, namespace: str, body: dict[str, Any]) -> Any:
        """POST the Secret `body`; returns the raw response. Raises ApiException."""
        return self._send("POST", _path(namespace, "secrets"), query=_MANAGER, body=body)

    def patch_namespaced_config_map(
        self, name: str, namespace: str, body: dict[str, Any], *, _content_type: str
    ) -> Any:
        """PATCH ConfigMap `name` with `body` of type `_content_type`. Raises ApiException."""
        path = _path(namespace, "configmaps", name)
        return self._send("PATCH", path, query=_MANAGER, body=body, content_type=_content_type)

    def list_namespaced_config_map(
        self, namespace: str, *, label_selector: str, _preload_content: bool = False
    ) -> Any:
        """GET the ConfigMaps matching `label_selector`. Raises ApiException."""
        query = [("labelSelector", label_selector)]
        return self._send("GET", _path(namespace, "configmaps"), query=query)

    def list_config_map_for_all_namespaces(
        self, *, label_selector: str, _preload_content: bool = False
    ) -> Any:
        """GET the ConfigMaps of every namespace matching `label_selector`. Raises ApiException."""
        query = [("labelSelector", label_selector)]
        return self._send("GET", "/api/v1/configmaps", query=query)

    def list_namespaced_secret(
        self, namespace: str, *, label_selector: str, _preload_content: bool = False
    ) -> Any:
        """GET the Secrets matching `label_selector`. Raises ApiException."""
        query = [("labelSelector", label_selector)]
        return self._send("GET", _path(namespace, "secrets"), query=query)

    def read_namespaced_config_map(
        self, name: str, namespace: str, *, _preload_content: bool = False
    ) -> Any:
        """GET ConfigMap `name`. Raises ApiException (404 when absent)."""
        return self._send("GET", _path(namespace, "configmaps", name))

    def read_namespaced_secret(
        self, name: str, namespace: str, *, _preload_content: bool = False
    ) -> Any:
        """GET Secret `name`. Raises ApiException (404 when absent)."""
        return self._send("GET", _path(namespace, "secrets", name))

    def delete_namespaced_config_map(
        self, name: str, namespace: str, *, _preload_content: bool = False
    ) -> Any:
        """DELETE ConfigMap `name`. Raises ApiException (404 when absent)."""
        return self._send("DELETE", _path(namespace, "configmaps", name))

    def delete_namespaced_secret(
        self, name: str, namespace: str, *, _preload_content: bool = False
    ) -> Any:
        """DELETE Secret `name`. Raises ApiException (404 when absent)."""
        return self._send("DELETE", _path(namespace, "secrets", name))

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: dict[str, Any] | None = None,
        content_type: str = _JSON,
    ) -> Any:
        headers = {"Accept": _JSON}
        if body is not None:
            headers["Content-Type"] = content_type
        request = self.api_client.param_serialize(
            method,
            path,
            query_params=list(query or []),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        # The same call the typed methods make with _preload_content=False: raw response on
        # 2xx, ApiException (from the response) otherwise.
        return self.api_client._call_with_legacy_options(request, {}, None, False, None, True)


def _path(namespace: str, resource: str, name: str = "") -> str:
    base = f"/api/v1/namespaces/{quote(namespace, safe='')}/{resource}"
    return f"{base}/{quote(name, safe='')}" if name else base
