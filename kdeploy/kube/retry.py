"""Retrying transient API failures: a pure policy (which failures, how long to wait) and a small
executor that runs one request under it.

Transient means the same request may well succeed a moment later: HTTP 429 (the server sheds load;
its Retry-After is honoured, capped), 500, 502, 503, 504, and transport failures (connection
refused or reset, timeouts). Only idempotent requests are repeated (reads, server-side apply,
deletes, patches that set whole values): sending them twice has the effect of sending them once.
A non-idempotent request (a create) is repeated only when the server cannot have seen it (the
connection was never established) or refused it unprocessed (429); its callers make it idempotent
by treating "AlreadyExists" after a repeat as success when the existing object is theirs.

The official client's own urllib3 retries are switched off (see `kdeploy.kube.config`), so the
attempts here are the only ones and do not multiply.
"""

from __future__ import annotations

import random
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from kdeploy.errors import ClusterError

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# PATCH is listed because kdeploy only sends server-side apply and merge patches that set whole
# values (labels, annotations); a JSON patch with `test` or list appends would not be safe.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
_NON_IDEMPOTENT_PATCH = frozenset({"application/json-patch+json"})


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter: before attempt n+1 wait a uniform random time
    in [0, min(cap, base * 2**(n-1))], or the server's Retry-After (at most `retry_after_cap`).
    At most `max_attempts` attempts, and no wait that would end after `budget` seconds from the
    first attempt."""

    base: float = 0.2
    cap: float = 5.0
    max_attempts: int = 6
    budget: float = 30.0
    retry_after_cap: float = 10.0

    def backoff(self, failures: int, rand: float) -> float:
        """Seconds to wait after the `failures`-th failure (1-based), for `rand` in [0, 1)."""
        return float(rand * min(self.cap, self.base * (2.0 ** max(0, failures - 1))))

    def delay(self, failures: int, retry_after: float | None, rand: float) -> float:
        """Seconds to wait before the next attempt: the server's Retry-After when it gave one
        (capped), else the jittered backoff."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.retry_after_cap))
        return self.backoff(failures, rand)


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True)
class Transient:
    """A failure worth repeating: what happened (for messages), the server's Retry-After, and
    whether the request may have reached the server (False: it certainly did not)."""

    description: str
    retry_after: float | None = None
    maybe_sent: bool = True
    status: int | None = None


class TransientStatus(Exception):
    """Raised inside an attempt for a retryable HTTP status that the transport returned rather
    than raised (so that the executor sees it); carries the parsed body for the final error."""

    def __init__(self, code: int, body: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        super().__init__(f"HTTP {code}")
        self.code = code
        self.body = body
        self.headers = headers


class RetriesExhausted(ClusterError):
    """A request kept failing transiently until the retry limit. `last` is the final failure."""

    def __init__(self, message: str, *, last: BaseException, attempts: int) -> None:
        super().__init__(
            message,
            hint="the API server kept failing or throttling; check its health and run again "
            "(kdeploy's requests are safe to repeat)",
        )
        self.last = last
        self.attempts = attempts


def is_idempotent(method: str, content_type: str | None = None) -> bool:
    """Whether repeating `method` (with a PATCH body of `content_type`) has the effect of sending
    it once."""
    method = method.upper()
    if method == "PATCH" and content_type in _NON_IDEMPOTENT_PATCH:
        return False
    return method in IDEMPOTENT_METHODS


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (the API server sends whole seconds); None when absent or
    not a number (an HTTP date is not used by the API server)."""
    if value is None:
        return None
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    try:
        value = headers.get(name)
        if value is None:
            value = headers.get(name.lower())
    except AttributeError:
        return None
    return None if value is None else str(value)


def status_reason(code: int, body: Mapping[str, Any] | None) -> str:
    """A short description of an HTTP failure from its Status body: "InternalError: msg (HTTP
    500)"."""
    body = body or {}
    reason = str(body.get("reason") or "").strip()
    message = str(body.get("message") or "").strip()
    text = ": ".join(p for p in (reason, message) if p)
    return f"{text} (HTTP {code})" if text else f"HTTP {code}"


def classify(error: BaseException) -> Transient | None:
    """The transient failure `error` represents, or None when repeating cannot help (e.g. 404,
    422, a TLS certificate error). Knows `TransientStatus`, the client's `ApiException` (any
    object with an int `status` and `headers`) and urllib3/socket transport errors."""
    if isinstance(error, TransientStatus):
        return _from_status(error.code, error.body, error.headers)
    status = getattr(error, "status", None)
    if isinstance(status, int) and hasattr(error, "headers"):
        body: Mapping[str, Any] = {}
        raw = getattr(error, "body", None)
        if raw:
            import json

            try:
                parsed = json.loads(raw)
                body = parsed if isinstance(parsed, dict) else {}
            except (ValueError, TypeError):
                body = {}
        return _from_status(status, body, getattr(error, "headers", None))
    return _transport(error)


# 500 answers that say the request itself is wrong (a field of the wrong type in a server-side
# apply): asking again gets the same answer
DETERMINISTIC_500 = ("failed to create typed patch object", "failed to convert new object")


def _from_status(code: int, body: Mapping[str, Any], headers: Any) -> Transient | None:
    if code not in RETRYABLE_STATUS:
        return None
    if code == 500 and str(body.get("message") or "").startswith(DETERMINISTIC_500):
        return None
    return Transient(
        description=status_reason(code, body),
        retry_after=parse_retry_after(_header(headers, "Retry-After")),
        # 429 is the server's priority-and-fairness refusing the request before handling it
        maybe_sent=code != 429,
        status=code,
    )


def _transport(error: BaseException) -> Transient | None:
    try:
        from urllib3 import exceptions as u3
    except ImportError:  # pragma: no cover - urllib3 comes with the kubernetes client
        return None
    if isinstance(error, u3.MaxRetryError) and error.reason is not None:
        if isinstance(error.reason, u3.SSLError):
            return None  # a certificate problem does not go away by asking again
        inner = _transport(error.reason)
        if inner is not None:
            return inner
        return Transient(f"connection failed: {_first_line(error.reason)}")
    if isinstance(error, u3.SSLError):
        return None  # a certificate problem does not go away by asking again
    if isinstance(error, u3.NewConnectionError | u3.ConnectTimeoutError):
        return Transient(f"cannot connect: {_first_line(error)}", maybe_sent=False)
    if isinstance(error, u3.ReadTimeoutError):
        return Transient(f"no answer in time: {_first_line(error)}")
    if isinstance(error, u3.ProtocolError):
        return Transient(f"connection dropped: {_first_line(error)}")
    if isinstance(error, u3.HTTPError):
        return Transient(f"transport error: {_first_line(error)}")
    if isinstance(error, ConnectionRefusedError):
        return Transient(f"cannot connect: {error}", maybe_sent=False)
    if isinstance(error, ConnectionError | TimeoutError):
        return Transient(f"connection failed: {error}")
    return None


class TlsError(ClusterError):
    """The TLS handshake with the API server failed (certificate not trusted, wrong host name...):
    reported at once, never retried."""


def tls_error(error: BaseException, what: str) -> TlsError | None:
    """The TlsError for a failed TLS handshake (urllib3's SSLError, bare or inside MaxRetryError,
    or the client's ApiException with status 0 that wraps one), naming the server and what to
    check; None for any other error."""
    try:
        from urllib3 import exceptions as u3
    except ImportError:  # pragma: no cover - urllib3 comes with the kubernetes client
        return None
    server = "the API server"
    cause: BaseException | None = error
    if isinstance(error, u3.MaxRetryError):
        pool = getattr(error, "pool", None)
        if pool is not None and getattr(pool, "host", None):
            server = f"the API server at {pool.scheme}://{_host(pool.host)}:{pool.port}"
        cause = error.reason
    reason_text = str(getattr(error, "reason", "") or "")
    if getattr(error, "status", None) == 0 and reason_text.startswith("SSLError"):
        cause = None  # ApiException(status=0): only the text of the urllib3 error is left
        detail = reason_text.split("\n", 1)[-1]
    elif isinstance(cause, u3.SSLError):
        detail = _first_line(cause)
    else:
        return None
    verify = _find_cause(cause, ssl.SSLCertVerificationError)
    if verify is not None:
        detail = str(verify.verify_message or detail)
    lowered = detail.lower()
    if "mismatch" in lowered:
        hint = (
            "the certificate is not valid for the host name in the kubeconfig's server URL: use "
            "an address the certificate lists (its subject alternative names), or have the "
            "certificate reissued for this name"
        )
    elif verify is not None or "certificate" in lowered:
        hint = (
            "check the cluster's certificate-authority (or certificate-authority-data) in the "
            "kubeconfig: it must hold the CA that signed the server's certificate; also check "
            "that the certificate has not expired"
        )
    else:
        hint = "check the server URL's scheme and port in the kubeconfig (is it an https:// port?)"
    return TlsError(
        f"{what}: the TLS certificate of {server} was refused: {detail.rstrip('.')}", hint=hint
    )


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _find_cause(error: BaseException | None, kind: type[E]) -> E | None:
    """`error` or the first of its args, causes and contexts that is a `kind`."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        todo.extend(a for a in current.args if isinstance(a, BaseException))
        todo.extend((current.__cause__, current.__context__))
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:200]


@dataclass
class Retrier:
    """Runs requests under a RetryPolicy. `sleep`, `rand` and `clock` are injectable for tests;
    `notify` hears one line per retry (None: silent)."""

    policy: RetryPolicy = DEFAULT_POLICY
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random
    clock: Callable[[], float] = time.monotonic
    notify: Callable[[str], None] | None = None

    def run(self, attempt: Callable[[], T], *, what: str, idempotent: bool) -> T:
        """Call `attempt` until it returns, repeating transient failures (see `classify`) as the
        policy allows; `what` names the request in messages ("apply Deployment shop/web").
        Returns what `attempt` returned. Non-transient failures, and transient ones of a
        non-idempotent request that may have reached the server, propagate unchanged at once.
        Raises RetriesExhausted (a ClusterError) naming `what`, the attempts and the last failure
        when the limit is reached."""
        policy = self.policy
        started = self.clock()
        failures = 0
        while True:
            try:
                return attempt()
            except Exception as error:
                transient = classify(error)
                if transient is None:
                    tls = tls_error(error, what)
                    if tls is not None:
                        raise tls from error
                    raise
                if not idempotent and transient.maybe_sent:
                    raise
                failures += 1
                elapsed = self.clock() - started
                wait = policy.delay(failures, transient.retry_after, self.rand())
                if failures >= policy.max_attempts or elapsed + wait > policy.budget:
                    plural = "s" if failures != 1 else ""
                    raise RetriesExhausted(
                        f"{what}: {transient.description}; gave up after {failures} "
                        f"attempt{plural} in {elapsed:.1f}s (transient errors are retried with "
                        "backoff)",
                        last=error,
                        attempts=failures,
                    ) from error
                if self.notify is not None:
                    self.notify(
                        f"  {what}: {transient.description}; retrying in {wait:.1f}s "
                        f"(attempt {failures + 1} of {policy.max_attempts})"
                    )
                self.sleep(wait)
