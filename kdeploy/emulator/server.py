"""The HTTP transport: a threaded HTTP/1.1 server that routes Kubernetes API paths to `Api`,
streams watches (chunked, one JSON event per line), serves discovery and OpenAPI, and applies
fault rules and optional bearer-token authentication."""

from __future__ import annotations

import io
import json
import select
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kdeploy.emulator import apierrors as E
from kdeploy.emulator import discovery, table
from kdeploy.emulator.api import (
    Api,
    FieldCheck,
    _parse_body,
    as_version,
    check_body_media_type,
    check_write_options,
    manager_name,
    patch_media_types,
)
from kdeploy.emulator.auth import AuthPolicy
from kdeploy.emulator.faults import Faults, kill_process, rule_from_dict, rule_to_dict
from kdeploy.emulator.registry import Registry, ResourceType
from kdeploy.emulator.store import ExpiredError, Store

Obj = dict[str, Any]

MAX_BODY_BYTES = 3 * 1024 * 1024
_MAX_DRAIN = 64 * 1024 * 1024
_JSON = "application/json"
_REASONS = {
    500: "InternalError",
    503: "ServiceUnavailable",
    429: "TooManyRequests",
    504: "Timeout",
    502: "BadGateway",
    401: "Unauthorized",
    403: "Forbidden",
}


class EmulatorHTTPServer(ThreadingHTTPServer):
    """The listening server; holds the shared state every handler thread uses."""

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    # socketserver's default backlog of 5 makes bursts of parallel clients wait for SYN retries.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        api: Api,
        faults: Faults,
        *,
        auth: AuthPolicy | None = None,
        on_write: Callable[[], None] | None = None,
        bookmark_interval: float = 60.0,
    ) -> None:
        super().__init__(address, Handler)
        # Watches with allowWatchBookmarks=true get a BOOKMARK this often (a real server sends
        # one about every minute), so a client can resume from a recent resourceVersion.
        self.bookmark_interval = bookmark_interval
        self.api = api
        self.store: Store = api.store
        self.registry: Registry = api.registry
        self.faults = faults
        self.auth = auth
        self.on_write = on_write or (lambda: None)
        self.request_log: deque[tuple[str, str]] = deque(maxlen=100_000)
        # (method, path) of the requests that carried an Authorization header, whatever the scheme:
        # tests check that credentials never travel over plain HTTP
        self.credential_log: deque[tuple[str, str]] = deque(maxlen=100_000)
        self.request_count = 0
        self._count_lock = threading.Lock()

    def count(self, method: str, path: str, *, credentials: bool = False) -> None:
        """Record one request (and whether it carried an Authorization header)."""
        with self._count_lock:
            self.request_count += 1
            self.request_log.append((method, path))
            if credentials:
                self.credential_log.append((method, path))

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that closes an idle keep-alive connection (every CLI run does at exit) is not
        an error, over plain TCP or TLS (where it may skip the close_notify alert and show up as
        an unexpected EOF); print a traceback only for anything else."""
        import sys

        if _client_disconnect(sys.exc_info()[1]):
            return
        super().handle_error(request, client_address)


# What a client hanging up looks like on the server side: a reset or closed TCP connection, or a
# TLS connection that ended without (or with) the close_notify alert.
_DISCONNECTS = (
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
)


# TLS alerts a client sends when it refuses the server's certificate (unknown CA, wrong host name):
# the API server only logs them as handshake errors.
_CLIENT_REFUSED_CERTIFICATE = frozenset(
    {"TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_BAD_CERTIFICATE", "SSLV3_ALERT_CERTIFICATE_UNKNOWN"}
)


def _client_disconnect(error: BaseException | None) -> bool:
    """Whether `error` (or the error it was raised while handling) is a client hanging up."""
    seen = 0
    while error is not None and seen < 5:
        if isinstance(error, _DISCONNECTS):
            return True
        if getattr(error, "reason", None) in _CLIENT_REFUSED_CERTIFICATE:
            return True  # a client that does not trust our certificate hangs up mid-handshake
        error = error.__context__
        seen += 1
    return False


class _Route:
    """A parsed resource URL."""

    __slots__ = ("name", "namespace", "rt", "subresource")

    def __init__(self, rt: ResourceType, namespace: str | None, name: str | None, sub: str) -> None:
        self.rt = rt
        self.namespace = namespace
        self.name = name
        self.subresource = sub


def _is_control(path: str) -> bool:
    """Whether a request path (with its query) is the emulator's own control endpoint."""
    return urlsplit(path).path.split("/")[1:2] == ["_emulator"]


def _truthy(value: str | None) -> bool:
    return value in ("1", "true", "True")


class Handler(BaseHTTPRequestHandler):
    """One connection; requests on it are handled in sequence (keep-alive)."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm holds the
    # body back until the client's delayed ACK (about 40 ms per request).
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer
    server_version = "kdeploy-emulator"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr log."""

    # ------------------------------------------------------------------ plumbing

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def _send(
        self,
        code: int,
        body: bytes,
        content_type: str = _JSON,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        if self.close_connection:
            # Announce it, as Go's server does, so the client opens a new connection next.
            self.send_header("Connection", "close")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        for text in self._warnings:
            escaped = text.replace("\\", "\\\\").replace('"', '\\"')
            self.send_header("Warning", f'299 - "{escaped}"')
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(
        self, code: int, obj: Any, content_type: str = _JSON, headers: dict[str, str] | None = None
    ) -> None:
        # Go's json.Encoder ends every document with a newline; clients that compare bytes or
        # split a stream on lines see the same body as from a real server.
        body = json.dumps(obj, separators=(",", ":")).encode() + b"\n"
        self._send(code, body, content_type, headers)

    def _send_error(self, err: E.ApiError) -> None:
        self._send_json(err.code, err.status(), headers=err.headers)

    def _read_body(self) -> bytes:
        self._body_pending = False
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            # Read (and drop) the body so the client, still sending, gets to read the answer.
            self.close_connection = True
            remaining = min(length, _MAX_DRAIN)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 16))
                if not chunk:
                    break
                remaining -= len(chunk)
            raise E.too_large(f"Request entity too large: limit is {MAX_BODY_BYTES}")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        return self.rfile.read(length) if length else b""

    def _read_chunked(self, limit: int = MAX_BODY_BYTES) -> bytes:
        out = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return bytes(out)
            out += self.rfile.read(size)
            self.rfile.readline()
            if len(out) > limit:
                self.close_connection = True
                raise E.too_large(f"Request entity too large: limit is {MAX_BODY_BYTES}")

    def _handle(self, method: str) -> None:
        self._warnings: list[str] = []
        self._body_pending = True
        srv = self.server
        srv.count(method, self.path, credentials="Authorization" in self.headers)
        # The control endpoint is never subject to faults: a catch-all rule must stay clearable.
        rule = None if _is_control(self.path) else srv.faults.match(method, self.path)
        if rule is not None and rule.action == "kill-after" and rule.pid is not None:
            return self._serve_then_kill(method, rule.pid)
        if rule is not None:
            if rule.action == "kill" and rule.pid is not None:
                kill_process(rule.pid)
                self._hang_up()
                return
            if rule.action == "latency":
                time.sleep(rule.delay)
            elif rule.action == "drop":
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            elif rule.action == "drop-after":
                return self._serve_then_hang_up(method)
            else:
                self._drain_body()
                code = rule.status
                headers = {}
                details: Obj | None = None
                if rule.retry_after is not None:
                    headers["Retry-After"] = str(rule.retry_after)
                    details = {"retryAfterSeconds": rule.retry_after}
                message = {
                    429: "Too many requests, please try again later.",
                    503: "the server is currently unable to handle the request",
                }.get(code, "Internal error occurred: injected fault")
                self._send_error(
                    E.ApiError(code, _REASONS.get(code, "InternalError"), message, details, headers)
                )
                return
        self._serve(method)

    def _serve(self, method: str) -> None:
        srv = self.server
        try:
            if srv.auth is not None:
                srv.auth.check(self.headers.get("Authorization", ""), method, self.path)
            url = urlsplit(self.path)
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            self._route(method, url.path, query)
        except E.ApiError as err:
            self._drain_body()
            self._send_error(err)
        except _DISCONNECTS:
            self.close_connection = True
        except Exception as exc:  # an emulator bug must answer 500, not hang the client
            import traceback

            traceback.print_exc()
            self._drain_body()
            self._send_error(E.internal(f"{type(exc).__name__}: {exc}"))
        finally:
            self._drain_body()

    def _serve_then_kill(self, method: str, pid: int) -> None:
        """Process the request, kill the client, and throw the answer away: the change is made
        but the client never learns it."""
        real = self.wfile
        self.wfile = io.BytesIO()
        try:
            self._serve(method)
        finally:
            self.wfile = real
            kill_process(pid)
            self._hang_up()

    def _serve_then_hang_up(self, method: str) -> None:
        """Process the request and close the connection without answering: the change is made
        but the client sees a dropped connection (a lost answer)."""
        real = self.wfile
        self.wfile = io.BytesIO()
        try:
            self._serve(method)
        finally:
            self.wfile = real
            self._hang_up()

    def _hang_up(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _drain_body(self) -> None:
        """Read and drop a request body nobody read (the request failed before its handler got
        to it: 404, 405, 401, 415, an injected fault), so the next request on this keep-alive
        connection starts at its own first byte. A body too large to drain (or a client gone
        while sending it) closes the connection instead, as Go's HTTP server does."""
        if not self._body_pending or self.close_connection:
            return
        self._body_pending = False
        try:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                self._read_chunked(limit=_MAX_DRAIN)
                return
            remaining = int(self.headers.get("Content-Length") or 0)
            if remaining > _MAX_DRAIN:
                self.close_connection = True
                return
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 16))
                if not chunk:
                    self.close_connection = True
                    return
                remaining -= len(chunk)
        except (E.ApiError, ValueError, OSError):
            self.close_connection = True

    # ------------------------------------------------------------------ routing

    def _route(self, method: str, path: str, query: dict[str, str]) -> None:
        parts = [p for p in path.split("/") if p]
        if not parts:
            return self._send_json(
                200,
                {"paths": ["/api", "/api/v1", "/apis", "/openapi/v2", "/openapi/v3", "/version"]},
            )
        head = parts[0]
        if head == "_emulator":
            return self._control(method, parts[1:])
        if method not in ("GET", "HEAD") and head in (
            "version",
            "openapi",
            "healthz",
            "livez",
            "readyz",
        ):
            raise E.method_not_allowed(method, head)
        if head == "version":
            return self._send_json(200, discovery.VERSION_INFO)
        if head in ("healthz", "livez", "readyz"):
            return self._send(200, b"ok", "text/plain; charset=utf-8")
        if head == "openapi":
            return self._openapi(parts[1:], query)
        if head == "api":
            if len(parts) == 1:
                return self._discovery_root(legacy_core=True)
            if parts[1] != "v1":
                raise E.no_route()
            group, version, rest = "", "v1", parts[2:]
        elif head == "apis":
            if len(parts) == 1:
                return self._discovery_root(legacy_core=False)
            if len(parts) == 2:
                doc = discovery.api_group(self.server.registry, parts[1])
                if doc is None:
                    raise E.no_route()
                return self._send_json(200, doc)
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise E.no_route()
        if not rest:
            if method not in ("GET", "HEAD"):
                raise E.method_not_allowed(method, "APIResourceList")
            doc = discovery.api_resource_list(self.server.registry, group, version)
            if doc is None:
                raise E.no_route()
            return self._send_json(200, doc)
        route = self._parse_resource(group, version, rest)
        self._resource(method, route, query)

    def _parse_resource(self, group: str, version: str, rest: list[str]) -> _Route:
        reg = self.server.registry
        if rest[0] == "namespaces" and len(rest) >= 3:
            rt = reg.lookup(group, version, rest[2])
            if rt is not None and rt.namespaced and len(rest) <= 5:
                name = rest[3] if len(rest) >= 4 else None
                sub = rest[4] if len(rest) == 5 else ""
                return self._check_sub(_Route(rt, rest[1], name, sub))
        rt = reg.lookup(group, version, rest[0])
        if rt is None or len(rest) > 3:
            raise E.no_route()
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else ""
        return self._check_sub(_Route(rt, None, name, sub))

    @staticmethod
    def _check_sub(route: _Route) -> _Route:
        sub = route.subresource
        if (
            sub
            and sub not in route.rt.subresources
            and not (sub == "finalize" and route.rt.kind == "Namespace" and route.rt.group == "")
            and not (sub == "log" and route.rt.kind == "Pod" and route.rt.group == "")
        ):
            raise E.no_route()
        return route

    # ------------------------------------------------------------------ discovery and OpenAPI

    def _discovery_root(self, legacy_core: bool) -> None:
        reg = self.server.registry
        if discovery.wants_aggregated(self.headers.get("Accept", "")):
            doc = discovery.aggregated(reg, legacy_core)
            return self._send_json(200, doc, discovery.AGGREGATED_CONTENT_TYPE)
        if legacy_core:
            return self._send_json(200, discovery.api_versions())
        return self._send_json(200, discovery.api_group_list(reg))

    def _openapi(self, parts: list[str], query: dict[str, str]) -> None:
        if parts == ["v2"]:
            return self._openapi_v2()
        if not parts or parts[0] != "v3":
            raise E.no_route()
        reg = self.server.registry
        gvs = [(g, v) for g, vs in reg.group_versions() for v in vs]
        if len(parts) == 1:
            return self._send_json(200, _openapi_root(gvs, reg))
        sub = parts[1:]
        if sub[0] == "api" and len(sub) == 2:
            group, version = "", sub[1]
        elif sub[0] == "apis" and len(sub) == 3:
            group, version = sub[1], sub[2]
        else:
            raise E.no_route()
        if (group, version) not in gvs:
            raise E.no_route()
        return self._send(200, _openapi_doc_json(group, version, reg))

    def _openapi_v2(self) -> None:
        from kdeploy.emulator import openapi_v2

        answer = openapi_v2.negotiate(self.headers.get("Accept", ""))
        if answer is None:
            # kube-openapi's handler: 406 with no body for a format it cannot write.
            return self._send(406, b"", "text/plain; charset=utf-8")
        resources = [
            {
                "group": rt.group,
                "version": rt.version,
                "kind": rt.kind,
                "plural": rt.plural,
                "namespaced": rt.namespaced,
                "patch_types": list(patch_media_types(rt)),
                "crd": bool(rt.crd),
                "schema": rt.schema if rt.crd else None,
            }
            for rt in self.server.registry.all()
        ]
        version = str(discovery.VERSION_INFO["gitVersion"])
        if answer == openapi_v2.JSON_CONTENT_TYPE:
            body = openapi_v2.swagger_json(resources, version)
        else:
            body = openapi_v2.swagger_protobuf(resources, version)
        return self._send(200, body, answer, {"Vary": "Accept"})

    # ------------------------------------------------------------------ control endpoint

    def _control(self, method: str, parts: list[str]) -> None:
        srv = self.server
        if parts == ["faults"]:
            if method == "GET":
                return self._send_json(200, [rule_to_dict(r) for r in srv.faults.rules()])
            if method == "DELETE":
                srv.faults.clear()
                return self._send_json(200, [])
            if method == "POST":
                data = json.loads(self._read_body() or b"null")
                rules = data if isinstance(data, list) else [data]
                try:
                    parsed = [rule_from_dict(r) for r in rules]
                except (TypeError, ValueError) as e:
                    raise E.bad_request(str(e)) from e
                for r in parsed:
                    srv.faults.add(r)
                return self._send_json(201, [rule_to_dict(r) for r in srv.faults.rules()])
        if parts == ["requests"] and method == "GET":
            return self._send_json(200, {"count": srv.request_count})
        raise E.no_route()

    # ------------------------------------------------------------------ resources

    def _resource(self, method: str, route: _Route, query: dict[str, str]) -> None:
        api = self.server.api
        rt, ns, name, sub = route.rt, route.namespace, route.name, route.subresource
        dry_run = query.get("dryRun") == "All"
        if rt.namespaced and name is not None and ns is None:
            raise E.no_route()
        namespace = ns or ""
        agent = self.headers.get("User-Agent", "")
        if method in ("GET", "HEAD"):
            if name is None:
                if _truthy(query.get("watch")):
                    return self._watch(rt, ns, query)
                return self._list(rt, ns, query)
            if _truthy(query.get("watch")):
                query = dict(query, fieldSelector=f"metadata.name={name}")
                return self._watch(rt, ns, query)
            if sub == "scale":
                return self._send_json(200, api.get_scale(rt, namespace, name))
            obj = api.get(rt, namespace, name)
            if sub == "log":
                text = emulated_log(obj, query.get("tailLines"))
                return self._send(200, text.encode(), "text/plain")
            return self._send_object(200, obj, rt, query)
        ctype = self.headers.get("Content-Type", "")
        if method in ("POST", "PUT"):
            check_body_media_type(ctype)
        check_write_options(method, query)
        body = self._read_body()
        if method == "DELETE" and body:
            check_body_media_type(ctype)
        ctype = ctype or _JSON
        manager = query.get("fieldManager")
        fields = FieldCheck(query.get("fieldValidation"))
        self._warnings = fields.warnings
        if method == "POST":
            if name is not None:
                raise E.method_not_allowed("POST", rt.kind)
            if rt.namespaced and ns is None:
                raise E.method_not_allowed("POST", rt.kind)
            obj = api.create(
                rt,
                namespace,
                _parse_body(body, ctype),
                manager=manager_name(manager, agent),
                dry_run=dry_run,
                fields=fields,
            )
            self._written(dry_run)
            return self._send_object(201, obj, rt, query)
        if method == "PUT":
            if name is None:
                raise E.method_not_allowed("PUT", rt.kind)
            parsed = _parse_body(body, ctype)
            if sub == "scale":
                result = api.update_scale(
                    rt,
                    namespace,
                    name,
                    parsed,
                    manager=manager_name(manager, agent),
                    dry_run=dry_run,
                )
                self._written(dry_run)
                return self._send_json(200, result)
            if sub == "finalize":
                sub = ""
            code, obj = api.update(
                rt,
                namespace,
                name,
                parsed,
                manager=manager_name(manager, agent),
                subresource=sub,
                dry_run=dry_run,
                fields=fields,
            )
            self._written(dry_run)
            return self._send_object(code, obj, rt, query)
        if method == "PATCH":
            if name is None:
                raise E.method_not_allowed("PATCH", rt.kind)
            code, obj = api.patch(
                rt,
                namespace,
                name,
                body,
                ctype,
                manager=manager,
                user_agent=agent,
                force=_truthy(query.get("force")),
                subresource=sub,
                dry_run=dry_run,
                fields=fields,
            )
            self._written(dry_run)
            if sub == "scale":
                return self._send_json(code, obj)
            return self._send_object(code, obj, rt, query)
        if method == "DELETE":
            options = _parse_body(body, ctype) if body else None
            if options is not None and not isinstance(options, dict):
                raise E.bad_request("DeleteOptions must be an object")
            if options and options.get("dryRun") == ["All"]:
                dry_run = True
            if query.get("propagationPolicy"):
                options = dict(options or {}, propagationPolicy=query["propagationPolicy"])
            if name is None:
                result = api.delete_collection(
                    rt,
                    ns,
                    options,
                    label_selector=query.get("labelSelector"),
                    field_selector=query.get("fieldSelector"),
                    dry_run=dry_run,
                )
                self._written(dry_run)
                return self._send_json(200, result)
            result = api.delete(rt, namespace, name, options, dry_run=dry_run)
            self._written(dry_run)
            return self._send_json(200, result)
        raise E.method_not_allowed(method, rt.kind)

    def _written(self, dry_run: bool) -> None:
        if not dry_run:
            self.server.on_write()

    def _send_object(self, code: int, obj: Obj, rt: ResourceType, query: dict[str, str]) -> None:
        if table.wants_table(self.headers.get("Accept", "")):
            doc = table.to_table(
                rt.kind,
                [obj],
                str(obj["metadata"].get("resourceVersion", "")),
                query.get("includeObject", "Metadata"),
            )
            return self._send_json(code, doc, table.TABLE_CONTENT_TYPE)
        return self._send_json(code, obj)

    def _list(self, rt: ResourceType, ns: str | None, query: dict[str, str]) -> None:
        if _truthy(query.get("sendInitialEvents")):
            raise E.invalid(
                None,
                "ListOptions",
                "",
                [
                    (
                        "FieldValueForbidden",
                        "sendInitialEvents",
                        "Forbidden: sendInitialEvents is forbidden for list",
                    )
                ],
            )
        try:
            limit = int(query.get("limit") or 0)
        except ValueError as e:
            raise E.bad_request(f"invalid limit: {query.get('limit')}") from e
        items, rv, cont, _remaining = self.server.api.list(
            rt,
            ns,
            label_selector=query.get("labelSelector"),
            field_selector=query.get("fieldSelector"),
            limit=limit,
            continue_token=query.get("continue"),
        )
        if table.wants_table(self.headers.get("Accept", "")):
            doc = table.to_table(rt.kind, items, rv, query.get("includeObject", "Metadata"))
            if cont:
                doc["metadata"]["continue"] = cont
            return self._send_json(200, doc, table.TABLE_CONTENT_TYPE)
        meta: Obj = {"resourceVersion": rv}
        # Lists served from the watch cache carry no remainingItemCount (kube-apiserver 1.37);
        # a custom resource list (unstructured) always writes `continue`, empty on the last page.
        if cont or rt.crd:
            meta["continue"] = cont or ""
        if rt.crd:
            out_items = items
        else:
            out_items = [
                {k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in items
            ]
        body = {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": meta,
            "items": out_items,
        }
        self._send_json(200, body)

    # ------------------------------------------------------------------ watch

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _client_gone(self) -> bool:
        if isinstance(self.connection, ssl.SSLSocket):
            # TLS sockets cannot peek; a closed client shows up as a failed write instead.
            return False
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable:
                return bool(self.connection.recv(1, socket.MSG_PEEK) == b"")
        except (OSError, ValueError):
            return True
        return False

    def _watch(self, rt: ResourceType, ns: str | None, query: dict[str, str]) -> None:
        srv = self.server
        store = srv.store
        match = srv.api.select(rt, ns, query.get("labelSelector"), query.get("fieldSelector"))
        send_initial = query.get("sendInitialEvents")
        bookmarks = _truthy(query.get("allowWatchBookmarks"))
        rv_param = query.get("resourceVersion", "")
        if send_initial is not None:
            if query.get("resourceVersionMatch") != "NotOlderThan":
                raise E.invalid(
                    None,
                    "ListOptions",
                    "",
                    [
                        (
                            "FieldValueForbidden",
                            "resourceVersionMatch",
                            "Forbidden: sendInitialEvents requires setting resourceVersionMatch to "
                            "NotOlderThan",
                        )
                    ],
                )
            if _truthy(send_initial) and not bookmarks:
                raise E.invalid(
                    None,
                    "ListOptions",
                    "",
                    [
                        (
                            "FieldValueForbidden",
                            "allowWatchBookmarks",
                            "Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true",
                        )
                    ],
                )
        initial = _truthy(send_initial) or (send_initial is None and rv_param in ("", "0"))
        try:
            timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
        except ValueError as e:
            raise E.bad_request("invalid timeoutSeconds") from e
        deadline = time.monotonic() + timeout if timeout else None
        with store.lock:
            if initial:
                start = store.resource_version
                objs = [
                    o
                    for o in store.objects(rt.group, rt.kind, ns if rt.namespaced else None)
                    if match(o)
                ]
                expired = None
            else:
                objs = []
                try:
                    start = int(rv_param)
                except ValueError as e:
                    raise E.bad_request(f"invalid resourceVersion: {rv_param}") from e
                expired = None
                try:
                    store.events_after(start)
                except ExpiredError as ex:
                    expired = str(ex)
        self.send_response(200)
        self.send_header("Content-Type", _JSON)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.close_connection = True

        def emit(etype: str, obj: Obj) -> None:
            line = (
                json.dumps(
                    {"type": etype, "object": as_version(obj, rt)}, separators=(",", ":")
                ).encode()
                + b"\n"
            )
            self._write_chunk(line)

        def bookmark(rv: int, end: bool = False) -> None:
            meta: Obj = {"resourceVersion": str(rv)}
            if end:
                meta["annotations"] = {"k8s.io/initial-events-end": "true"}
            emit("BOOKMARK", {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta})

        try:
            if expired is not None:
                err = E.expired(expired).status()
                self._write_chunk(json.dumps({"type": "ERROR", "object": err}).encode() + b"\n")
                self._write_chunk(b"")
                return
            for o in objs:
                emit("ADDED", o)
            if _truthy(send_initial):
                bookmark(start, end=True)
            last = start
            interval = srv.bookmark_interval if bookmarks else float("inf")
            next_bookmark = time.monotonic() + interval
            while True:
                try:
                    events = store.events_after(last)
                except ExpiredError as ex:
                    err = E.expired(str(ex)).status()
                    self._write_chunk(json.dumps({"type": "ERROR", "object": err}).encode() + b"\n")
                    break
                for ev in events:
                    last = ev.rv
                    if ev.group != rt.group or ev.kind != rt.kind:
                        continue
                    now_match = match(ev.obj)
                    if ev.type == "MODIFIED":
                        before = ev.prev is not None and match(ev.prev)
                        if now_match and before:
                            emit("MODIFIED", ev.obj)
                        elif now_match:
                            emit("ADDED", ev.obj)
                        elif before and ev.prev is not None:
                            # the cacher's answer: the previous content, at the new version
                            gone = dict(ev.prev)
                            gone["metadata"] = {
                                **ev.prev["metadata"],
                                "resourceVersion": ev.obj["metadata"]["resourceVersion"],
                            }
                            emit("DELETED", gone)
                    elif now_match:
                        emit(ev.type, ev.obj)
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if self._client_gone():
                    return
                if store.closed:
                    break
                now = time.monotonic()
                if now >= next_bookmark:
                    bookmark(last)
                    next_bookmark = now + interval
                wait = min(0.5, max(0.0, next_bookmark - now))
                if deadline is not None:
                    wait = max(0.0, min(wait, deadline - now))
                store.wait_for_change(last, wait)
            if bookmarks:
                bookmark(last)
            self._write_chunk(b"")
        except (BrokenPipeError, ConnectionResetError, OSError):
            return


# ---------------------------------------------------------------------- OpenAPI


def _openapi_inputs(group: str, version: str, reg: Registry) -> tuple[list[ResourceType], Obj]:
    types = [rt for rt in reg.all() if rt.group == group and rt.version == version]
    return types, {rt.kind: rt.schema for rt in types if rt.crd and rt.schema}


def _openapi_root(gvs: list[tuple[str, str]], reg: Registry) -> Obj:
    from kdeploy.emulator.openapi import document_hash, openapi_group_version_json, openapi_root

    hashes = {
        (g, v): document_hash(openapi_group_version_json(g, v, *_openapi_inputs(g, v, reg)))
        for g, v in gvs
    }
    return openapi_root(gvs, hashes)


def _openapi_doc_json(group: str, version: str, reg: Registry) -> bytes:
    from kdeploy.emulator.openapi import openapi_group_version_json

    return openapi_group_version_json(group, version, *_openapi_inputs(group, version, reg))


def emulated_log(pod: dict[str, Any], tail_lines: str | None) -> str:
    """What GET pods/NAME/log answers: no container runs here, so one line per container says
    what the simulated controllers made of it (its image and, once it ended, its exit code)."""
    statuses = {c.get("name"): c for c in (pod.get("status") or {}).get("containerStatuses") or []}
    lines = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        state = (statuses.get(container.get("name")) or {}).get("state") or {}
        ended = state.get("terminated")
        how = (
            f"exited with code {ended.get('exitCode')}" if ended else ", ".join(state) or "waiting"
        )
        lines.append(
            f"[emulated] container {container.get('name')} (image {container.get('image')}): {how}"
        )
    if tail_lines and tail_lines.isdigit():
        lines = lines[-int(tail_lines) :] if int(tail_lines) else []
    return "".join(line + "\n" for line in lines)
