"""HTTPS for the emulator: a throwaway CA and a server certificate for 127.0.0.1, made at start
with the `openssl` command-line tool."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from http.server import HTTPServer
from pathlib import Path

from kdeploy.errors import KdeployError

_EXTENSIONS = """\
subjectAltName=IP:127.0.0.1,DNS:localhost
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
"""


@dataclass(frozen=True)
class Certificates:
    """Paths of the generated PEM files."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    binary = shutil.which("openssl")
    if binary is None:
        raise KdeployError(
            "the emulator's --tls mode needs the `openssl` command, which is not installed",
            hint="install openssl, or run the emulator without --tls",
        )
    result = subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise KdeployError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def make_certificates(directory: Path) -> Certificates:
    """Create a CA and a server certificate (127.0.0.1, localhost) signed by it in `directory`.
    Raises KdeployError if openssl is missing or fails."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "30",
        "-subj",
        "/CN=kdeploy-emulator-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )
    _openssl(
        "req",
        *ec,
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
        cwd=directory,
    )
    (directory / "server.ext").write_text(_EXTENSIONS)
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "30",
        "-extfile",
        "server.ext",
        cwd=directory,
    )
    return Certificates(directory / "ca.crt", directory / "server.crt", directory / "server.key")


def wrap_server(server: HTTPServer, certs: Certificates) -> None:
    """Serve TLS on the server's listening socket. The handshake happens in the connection's
    own thread (on its first read), so a slow client cannot stall accepting others."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certs.server_cert), str(certs.server_key))
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
