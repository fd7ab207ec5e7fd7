"""The retry policy and executor: which failures are repeated, how long it waits, when it stops."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, SSLError

from kdeploy.errors import ClusterError
from kdeploy.kube.retry import (
    Retrier,
    RetriesExhausted,
    RetryPolicy,
    TransientStatus,
    classify,
    is_idempotent,
    parse_retry_after,
)


class FakeApiException(Exception):
    """Shaped like the client's ApiException: status, headers, body."""

    def __init__(self, status: int, headers: dict[str, str] | None = None, body: str = "") -> None:
        super().__init__(f"({status})")
        self.status = status
        self.headers = headers or {}
        self.body = body


def make_retrier(
    policy: RetryPolicy | None = None, rand: float = 0.5
) -> tuple[Retrier, list[float]]:
    slept: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    retrier = Retrier(
        policy=policy or RetryPolicy(), sleep=sleep, rand=lambda: rand, clock=lambda: now[0]
    )
    return retrier, slept


def failing(errors: list[BaseException], result: str = "ok") -> tuple[Callable[[], str], list[int]]:
    calls = [0]

    def attempt() -> str:
        calls[0] += 1
        if errors:
            raise errors.pop(0)
        return result

    return attempt, calls


def test_backoff_doubles_from_base_up_to_the_cap_with_full_jitter() -> None:
    policy = RetryPolicy(base=0.2, cap=5.0)
    assert [policy.backoff(n, 1.0) for n in range(1, 8)] == pytest.approx(
        [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    )
    assert policy.backoff(3, 0.0) == 0.0
    assert policy.backoff(3, 0.25) == pytest.approx(0.2)


def test_transient_statuses_are_retried_with_the_backoff_schedule() -> None:
    retrier, slept = make_retrier(rand=1.0)
    errors: list[BaseException] = [
        TransientStatus(503, {}, {}),
        TransientStatus(500, {}, {}),
        TransientStatus(502, {}, {}),
        FakeApiException(504),
    ]
    attempt, calls = failing(errors)
    assert retrier.run(attempt, what="get ConfigMap a/b", idempotent=True) == "ok"
    assert calls[0] == 5
    assert slept == pytest.approx([0.2, 0.4, 0.8, 1.6])


def test_retry_after_is_honoured_and_capped() -> None:
    retrier, slept = make_retrier(RetryPolicy(retry_after_cap=10.0))
    errors: list[BaseException] = [
        TransientStatus(429, {}, {"Retry-After": "1"}),
        FakeApiException(429, {"Retry-After": "120"}),
    ]
    attempt, calls = failing(errors)
    assert retrier.run(attempt, what="list Pod in a", idempotent=True) == "ok"
    assert calls[0] == 3
    assert slept == [1.0, 10.0]


def test_non_idempotent_requests_are_not_repeated_when_the_server_may_have_seen_them() -> None:
    retrier, slept = make_retrier()
    for error in (TransientStatus(503, {}, {}), ProtocolError("Connection aborted.")):
        attempt, calls = failing([error])
        with pytest.raises(type(error)):
            retrier.run(attempt, what="create ConfigMap a/b", idempotent=False)
        assert calls[0] == 1
    assert slept == []


def test_non_idempotent_requests_are_repeated_when_nothing_was_sent_or_throttled() -> None:
    retrier, slept = make_retrier()
    refused = MaxRetryError(None, "/x", NewConnectionError(None, "Connection refused"))  # type: ignore[arg-type]
    attempt, calls = failing([refused, TransientStatus(429, {}, {"Retry-After": "2"})])
    assert retrier.run(attempt, what="create Lease a/b", idempotent=False) == "ok"
    assert calls[0] == 3
    assert slept[1] == 2.0


def test_permanent_errors_propagate_at_once() -> None:
    retrier, slept = make_retrier()
    for error in (FakeApiException(404), FakeApiException(422), FakeApiException(409)):
        attempt, calls = failing([error])
        with pytest.raises(FakeApiException):
            retrier.run(attempt, what="get x", idempotent=True)
        assert calls[0] == 1
    assert slept == []


def test_limit_reached_gives_a_clear_error_naming_the_request_attempts_and_last_status() -> None:
    retrier, slept = make_retrier(RetryPolicy(max_attempts=4))
    body = {"reason": "InternalError", "message": "etcd is down"}
    errors: list[BaseException] = [TransientStatus(500, body, {}) for _ in range(10)]
    attempt, calls = failing(errors)
    with pytest.raises(RetriesExhausted) as info:
        retrier.run(attempt, what="apply Deployment shop/web", idempotent=True)
    assert calls[0] == 4
    assert len(slept) == 3
    message = info.value.format_message()
    assert isinstance(info.value, ClusterError)
    assert "apply Deployment shop/web" in message
    assert "InternalError: etcd is down (HTTP 500)" in message
    assert "gave up after 4 attempts" in message
    assert info.value.attempts == 4


def test_total_budget_stops_before_a_wait_that_would_overrun_it() -> None:
    retrier, slept = make_retrier(RetryPolicy(max_attempts=100, budget=3.0))
    errors: list[BaseException] = [
        TransientStatus(429, {}, {"Retry-After": "2"}) for _ in range(10)
    ]
    attempt, calls = failing(errors)
    with pytest.raises(RetriesExhausted, match="gave up after 2 attempts"):
        retrier.run(attempt, what="get x", idempotent=True)
    assert slept == [2.0]
    assert calls[0] == 2


def test_classification_of_transport_errors() -> None:
    reset = ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
    found = classify(reset)
    assert found is not None and found.maybe_sent and "connection dropped" in found.description
    refused = classify(MaxRetryError(None, "/", NewConnectionError(None, "refused")))  # type: ignore[arg-type]
    assert refused is not None and not refused.maybe_sent
    assert classify(SSLError("certificate verify failed")) is None
    assert classify(ValueError("bug")) is None
    assert classify(FakeApiException(400)) is None


def test_idempotency_by_method_and_patch_type() -> None:
    assert is_idempotent("GET")
    assert is_idempotent("DELETE")
    assert is_idempotent("PATCH", "application/apply-patch+yaml")
    assert is_idempotent("PATCH", "application/merge-patch+json")
    assert not is_idempotent("PATCH", "application/json-patch+json")
    assert not is_idempotent("POST")


def test_retry_after_parsing() -> None:
    assert parse_retry_after("1") == 1.0
    assert parse_retry_after(" 3 ") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert parse_retry_after("-1") is None


def test_an_unreachable_api_server_is_retried_then_named(tmp_path: object) -> None:
    import socket

    from kubernetes import client

    from kdeploy.kube.config import _harden, _timeout_api_client
    from kdeploy.kube.real import RealCluster

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = client.Configuration()
    cfg.host = f"http://127.0.0.1:{port}"
    _harden(cfg)
    slept: list[float] = []
    cluster = RealCluster(_timeout_api_client(cfg), retrier=Retrier(sleep=slept.append))
    with pytest.raises(ClusterError) as info:
        cluster.resolve("v1", "ConfigMap")
    message = info.value.format_message()
    assert "discover /api: cannot connect" in message
    assert "gave up after 6 attempts" in message
    assert f"the API server at http://127.0.0.1:{port} cannot be reached" in message
    assert len(slept) == 5


def _pool(host: str = "10.0.0.1", port: int = 6443) -> Any:
    from urllib3 import HTTPSConnectionPool

    return HTTPSConnectionPool(host, port)


def test_a_tls_failure_inside_max_retry_error_is_not_transient() -> None:
    import ssl

    inner = ssl.SSLCertVerificationError(1, "certificate verify failed")
    wrapped = MaxRetryError(_pool(), "/api", reason=SSLError(inner))
    assert classify(wrapped) is None


def test_tls_failures_stop_at_once_naming_the_server_and_what_to_check() -> None:
    import ssl

    from kdeploy.kube.retry import TlsError

    def verify_error(message: str) -> MaxRetryError:
        inner = ssl.SSLCertVerificationError(1, f"[SSL] certificate verify failed: {message}")
        inner.verify_message = message
        return MaxRetryError(_pool(), "/api", reason=SSLError(inner))

    cases = [
        ("unable to get local issuer certificate", "certificate-authority"),
        ("Hostname mismatch, certificate is not valid for 'api'.", "subject alternative names"),
    ]
    for message, hint in cases:
        calls: list[int] = []

        def attempt(message: str = message, calls: list[int] = calls) -> None:
            calls.append(1)
            raise verify_error(message)

        with pytest.raises(TlsError) as info:
            Retrier(sleep=lambda _: None).run(attempt, what="list pods", idempotent=True)
        assert len(calls) == 1
        assert info.value.message == (
            "list pods: the TLS certificate of the API server at https://10.0.0.1:6443 was "
            f"refused: {message.rstrip('.')}"
        )
        assert hint in (info.value.hint or "")


def test_a_handshake_failure_that_is_no_certificate_problem_points_at_the_url() -> None:
    from kdeploy.kube.retry import tls_error

    error = MaxRetryError(
        _pool(), "/", reason=SSLError("[SSL: WRONG_VERSION_NUMBER] wrong version")
    )
    found = tls_error(error, "get /version")
    assert found is not None and "scheme and port" in (found.hint or "")
    assert tls_error(ValueError("x"), "get /version") is None
