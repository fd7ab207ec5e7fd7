"""Sending one request to one cluster and reading the answer as plain data.

Well-formed requests go through the `kubernetes` client's own `ApiClient.param_serialize` and
`call_api` (its authentication, TLS and JSON encoding); bodies that must reach the server byte for
byte (malformed JSON, other content types, oversized payloads) go as raw HTTP through the same
client's connection pool, with the same authentication headers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

WATCH_TIMEOUT = 1.0  # seconds a watch step stays open (the server ends it via timeoutSeconds)


@dataclass(frozen=True)
class Request:
    """One HTTP request, as the server sees it."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    body: Any = None  # JSON-able data, or bytes sent as they are
    content_type: str | None = None
    raw: bool = False  # straight through the connection pool, no retry on a broken connection


@dataclass
class Response:
    """What came back: status code, the media type and the decoded body (None when empty)."""

    status: int
    content_type: str
    body: Any
    events: list[Any] = field(default_factory=list)  # watch streams: one decoded event per line
    newline: bool = False  # the body ends with a newline (Go's json.Encoder writes one)
    connection: str = ""  # the Connection header ("close" when the server ends the connection)

    def as_data(self, wire: bool = False) -> dict[str, Any]:
        """The response as plain data; `wire` adds how the bytes ended."""
        data: dict[str, Any] = {"code": self.status, "contentType": self.content_type}
        if wire:
            data["trailingNewline"] = self.newline
            data["connection"] = self.connection
        if self.events:
            data["events"] = self.events
        else:
            data["body"] = self.body
        return data


class Target:
    """One cluster reached through a kubeconfig: the emulator or a real kube-apiserver."""

    def __init__(self, name: str, kubeconfig: str) -> None:
        from kubernetes import config

        self.name = name
        self.kubeconfig = kubeconfig
        self.api = config.new_client_from_config(kubeconfig)

    def close(self) -> None:
        self.api.close()

    def send(self, req: Request) -> Response:
        """Send `req` and return the decoded response (never raises for an HTTP error status)."""
        headers = {"Accept": "application/json"}
        if req.content_type:
            headers["Content-Type"] = req.content_type
        raw = req.raw or isinstance(req.body, bytes)
        method, url, headers, _body, _post = self.api.param_serialize(
            req.method,
            req.path,
            query_params=list(req.query),
            header_params=headers,
            body=None if raw else req.body,
            auth_settings=["BearerToken"],
        )
        watch = ("watch", "true") in req.query or ("watch", "1") in req.query
        timeout = WATCH_TIMEOUT + 10 if watch else 30
        if raw:
            import urllib3

            try:
                resp: Any = self.api.rest_client.pool_manager.request(
                    method, url, body=req.body, headers=headers, timeout=timeout, retries=False
                )
            except urllib3.exceptions.HTTPError as e:  # what a client sees as a broken connection
                return Response(0, "", f"connection error: {type(e).__name__}")
            status, data, ctype = resp.status, resp.data, resp.headers.get("Content-Type", "")
            connection = resp.headers.get("Connection", "")
        else:
            r = self.api.call_api(
                method, url, header_params=headers, body=_body, _request_timeout=timeout
            )
            data = r.read()
            status, ctype = r.status, r.getheader("Content-Type") or ""
            connection = r.getheader("Connection") or ""
        out = decode(status, ctype, data, watch=watch)
        out.connection = connection.lower()
        return out


def decode(status: int, content_type: str, data: bytes, *, watch: bool = False) -> Response:
    """Decode a JSON body (or a watch stream, one JSON event per line); keep other text as is."""
    media = content_type.split(";")[0].strip()
    text = data.decode("utf-8", errors="replace")
    newline = data.endswith(b"\n")
    if watch and status == 200:
        events = [json.loads(line) for line in text.splitlines() if line.strip()]
        return Response(status, media, None, events, newline)
    body: Any = None
    if text:
        try:
            body = json.loads(text)
        except ValueError:
            body = text
    return Response(status, media, body, newline=newline)
