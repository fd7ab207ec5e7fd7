"""HTTPS mode: a generated CA in the kubeconfig, bearer tokens, 401 and 403 answers."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from kubernetes import client, config
from kubernetes.client import ApiException

from kdeploy.emulator.app import Emulator

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture(scope="module")
def emu() -> Any:
    with Emulator(
        tls=True,
        controllers=False,
        tokens={"read-token": "reader"},
        allow={"reader": {"get", "list", "watch"}},
    ) as e:
        yield e


def client_with_token(emu: Any, token: str | None) -> client.CoreV1Api:
    """A client whose kubeconfig user carries `token` (or no credentials)."""
    kubeconfig = json.loads(Path(emu.kubeconfig_path).read_text())
    kubeconfig["users"][0]["user"] = {"token": token} if token else {}
    path = Path(emu.kubeconfig_path).with_name(f"kubeconfig-{token}")
    path.write_text(json.dumps(kubeconfig))
    api = config.new_client_from_config(str(path))
    api.configuration.retries = 0
    return client.CoreV1Api(api)


def test_kubeconfig_user_is_admin_over_https(emu: Any) -> None:
    assert emu.url.startswith("https://127.0.0.1:")
    core = client_with_token(emu, emu.token)
    core.create_namespaced_config_map("default", {"metadata": {"name": "tls"}})
    assert core.read_namespaced_config_map("tls", "default").metadata.name == "tls"


def test_missing_or_unknown_token_is_401(emu: Any) -> None:
    for token in (None, "wrong"):
        with pytest.raises(ApiException) as err:
            client_with_token(emu, token).list_namespace()
        assert err.value.status == 401
        assert json.loads(err.value.body)["reason"] == "Unauthorized"


def test_reader_may_list_but_not_create(emu: Any) -> None:
    core = client_with_token(emu, "read-token")
    assert core.list_namespaced_config_map("default").items is not None
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", {"metadata": {"name": "no"}})
    assert err.value.status == 403
    assert json.loads(err.value.body)["message"] == (
        'configmaps is forbidden: User "reader" cannot create resource "configmaps" in the '
        'namespace "default"'
    )


def test_kubectl_works_over_https(emu: Any, tmp_path: Path) -> None:
    kubectl = shutil.which("kubectl") or str(Path(".venv/bin/kubectl").resolve())
    if not Path(kubectl).exists():
        pytest.skip("kubectl not installed")
    res = subprocess.run(
        [kubectl, "--kubeconfig", emu.kubeconfig_path, "get", "ns", "-o", "name"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(tmp_path)},
    )
    assert res.returncode == 0, res.stderr
    assert "namespace/default" in res.stdout.split()


def _half_close_and_wait(raw: socket.socket) -> None:
    """Shut our sending side without a TLS close_notify and wait until the server hangs up:
    it has handled (and reported, if at all) the end of the connection by then."""
    raw.shutdown(socket.SHUT_WR)
    raw.settimeout(30)
    try:
        while raw.recv(4096):
            pass
    except ConnectionResetError:
        pass
    raw.close()


def test_clients_hanging_up_leave_stderr_clean_but_real_errors_are_logged(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with Emulator(tls=True, controllers=False) as e:
        url = urlsplit(e.url)
        address = (url.hostname or "127.0.0.1", url.port or 443)
        ctx = ssl.create_default_context(cafile=e.ca_path)
        ctx.check_hostname = False
        capfd.readouterr()
        # After a request on a kept-alive connection, and in the middle of the next one.
        for tail in (b"", b"GET /version HTTP/1.1\r\n"):
            conn = ctx.wrap_socket(socket.create_connection(address))
            conn.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.recv(4096).startswith(b"HTTP/1.1 200")
            conn.sendall(tail)
            _half_close_and_wait(socket.socket(fileno=conn.detach()))
        # During the handshake.
        raw = socket.create_connection(address)
        raw.sendall(b"\x16\x03\x01\x00")
        _half_close_and_wait(raw)
        assert capfd.readouterr().err == ""
        # Plain HTTP to the TLS port is not a hang-up: it stays visible.
        raw = socket.create_connection(address)
        raw.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        _half_close_and_wait(raw)
    assert "http request" in capfd.readouterr().err
