"""Which cluster a command talks to, and how: an environment never inherits its parent's cluster,
every live command names the kube context and API server it uses (in its output and in the
confirmation question), credentials never travel over plain HTTP whatever the scheme's case, and
TLS certificate problems fail at once with a message saying what to check."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import CliResult, LiveCluster, ProjectBuilder, kd, run_kdeploy_process

NS_PREFIX = "target"


def _clean(result: CliResult) -> None:
    for text in (result.stdout, result.stderr):
        assert "Traceback" not in text and "Internal error" not in text, text


def _project(root: Path, kubeconfig: str, namespace: str) -> Path:
    proj = ProjectBuilder(root)
    proj.package("webapp")
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": kubeconfig},
            "namespace": namespace,
            "releases": {"web": {"package": "webapp"}},
        },
    )
    return root


# -- item: a cluster is never inherited through `extends` ---------------------------------------


def test_an_environment_extending_another_must_name_its_own_cluster(
    tmp_path: Path, emulator: Any, ns: str, live: LiveCluster
) -> None:
    proj = ProjectBuilder(tmp_path / "proj")
    proj.package("webapp")
    proj.environment(
        "prod",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig_path)},
            "namespace": "prod-ns",
            "releases": {"web": {"package": "webapp"}},
        },
    )
    proj.environment("staging", {"extends": "prod", "namespace": ns})
    for args in (("apply", "-e", "staging", "--yes"), ("diff", "-e", "staging")):
        result = kd(proj.root, *args)
        _clean(result)
        assert result.code == 1, result.stderr
        assert "environments/staging.yaml" in result.stderr
        assert "extends prod but names no cluster" in result.stderr, result.stderr
        assert "cluster:" in result.stderr  # the hint shows what to write
    # nothing was deployed anywhere
    from kdeploy.kube.client import ObjectRef

    assert live.cluster.get(ObjectRef("v1", "ConfigMap", ns, "web-config")) is None

    # naming the cluster (even the same one) is the fix
    proj.environment(
        "staging",
        {"extends": "prod", "namespace": ns, "cluster": {"kubeconfig": emulator.kubeconfig_path}},
    )
    assert kd(proj.root, "apply", "-e", "staging", "--yes").code == 0
    assert live.cluster.get(ObjectRef("v1", "ConfigMap", ns, "web-config")) is not None


def test_a_child_cluster_takes_nothing_from_the_parent_cluster(tmp_path: Path) -> None:
    from kdeploy.project import load_environment, load_project

    proj = ProjectBuilder(tmp_path)
    proj.package("webapp")
    proj.environment(
        "prod",
        {
            "cluster": {"kubeconfig": "prod.kubeconfig", "context": "prod"},
            "releases": {"web": {"package": "webapp"}},
        },
    )
    proj.environment("staging", {"extends": "prod", "cluster": {"context": "staging"}})
    env = load_environment(load_project(tmp_path), "staging")
    assert env.cluster.context == "staging"
    assert env.cluster.kubeconfig is None  # not prod's kubeconfig


def test_environments_without_any_cluster_may_extend_each_other(tmp_path: Path) -> None:
    proj = ProjectBuilder(tmp_path)
    proj.package("webapp")
    proj.environment("base", {"releases": {"web": {"package": "webapp"}}})
    proj.environment("dev", {"extends": "base", "namespace": "dev"})
    assert kd(tmp_path, "render", "-e", "dev").code == 0


# -- item: every live command names the context and the server ---------------------------------


def _target_line(emulator: Any) -> str:
    return f"Cluster: context kdeploy-emulator at {emulator.url}"


def test_every_live_command_prints_the_context_and_server(
    tmp_path: Path, emulator: Any, ns: str
) -> None:
    if getattr(emulator, "real", False):
        pytest.skip("checks the emulator's context name and URL")
    proj = _project(tmp_path / "proj", str(emulator.kubeconfig_path), ns)
    line = _target_line(emulator)
    runs = [
        ("diff", "-e", "dev"),
        ("apply", "-e", "dev", "--yes"),
        ("apply", "-e", "dev", "--yes", "--set", "greeting=again"),
        ("status", "web", "-e", "dev"),
        ("history", "web", "-e", "dev"),
        ("get", "values", "web", "-n", ns, "--kubeconfig", str(emulator.kubeconfig_path)),
        ("rollback", "web", "-e", "dev", "--yes"),
        ("unlock", "web", "-e", "dev"),
        ("uninstall", "web", "-e", "dev", "--yes"),
    ]
    for args in runs:
        result = kd(proj, *args)
        _clean(result)
        assert result.code in (0, 2), (args, result.stderr)
        lines = result.stderr.splitlines()
        assert lines.count(line) == 1, (args, result.stderr)
        assert line not in result.stdout  # stdout stays machine-readable


@pytest.mark.parametrize(
    ("args", "question"),
    [
        (("apply", "-e", "dev"), "Apply these changes to release web in namespace {ns}"),
        (("rollback", "web", "-e", "dev"), "Roll back release web in namespace {ns} to revision 1"),
        (
            ("uninstall", "web", "-e", "dev"),
            "Uninstall release web from namespace {ns} (1 objects)",
        ),
    ],
)
def test_the_confirmation_names_the_context_and_server(
    tmp_path: Path, emulator: Any, ns: str, args: tuple[str, ...], question: str
) -> None:
    if getattr(emulator, "real", False):
        pytest.skip("checks the emulator's context name and URL")
    proj = _project(tmp_path / "proj", str(emulator.kubeconfig_path), ns)
    assert kd(proj, "apply", "-e", "dev", "--yes").code == 0
    assert kd(proj, "apply", "-e", "dev", "--yes", "--set", "greeting=two").code == 0
    # without a terminal the question is the error; on a terminal it is asked (see
    # test_the_terminal_question_names_the_context_and_server)
    result = kd(proj, *args, "--set", "greeting=three") if args[0] == "apply" else kd(proj, *args)
    _clean(result)
    assert result.code == 1, result.stderr
    expected = (
        question.format(ns=ns) + f", on context kdeploy-emulator at {emulator.url}: not "
        "running on a terminal"
    )
    assert expected in result.stderr, result.stderr


def test_the_terminal_question_names_the_context_and_server(
    tmp_path: Path, emulator: Any, ns: str
) -> None:
    if getattr(emulator, "real", False):
        pytest.skip("checks the emulator's context name and URL")
    import os
    import pty
    import subprocess

    proj = _project(tmp_path / "proj", str(emulator.kubeconfig_path), ns)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kdeploy.cli", "-C", str(proj), "apply", "-e", "dev"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "NO_COLOR": "1"},
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 60
    while b"[y/N]" not in seen and time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.write(leader, b"n\n")
    proc.wait(timeout=60)
    os.close(leader)
    text = seen.decode(errors="replace").replace("\r", "")
    assert (
        f"Apply these changes to release web in namespace {ns}, "
        f"on context kdeploy-emulator at {emulator.url}? [y/N]"
    ) in text, text


# -- item: no credentials over plain HTTP, whatever the case of the scheme ----------------------


def _exec_plugin(tmp_path: Path) -> dict[str, Any]:
    script = tmp_path / "plugin.py"
    script.write_text(
        "import json\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1',\n"
        "  'kind': 'ExecCredential', 'status': {'token': 'exec-secret-token'}}))\n"
    )
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": [str(script)],
        }
    }


def _user(kind: str, tmp_path: Path) -> dict[str, Any]:
    if kind == "token":
        return {"token": "bearer-secret-token"}
    if kind == "token-file":
        path = tmp_path / "token"
        path.write_text("file-secret-token\n")
        return {"tokenFile": str(path)}
    if kind == "basic-auth":
        return {"username": "admin", "password": "basic-secret-password"}
    return _exec_plugin(tmp_path)


@pytest.mark.parametrize("scheme", ["HTTP", "Http", "http"])
@pytest.mark.parametrize("kind", ["token", "token-file", "basic-auth", "exec-plugin"])
def test_no_credentials_are_sent_over_plain_http(
    tmp_path: Path, own_emulator: Any, kind: str, scheme: str
) -> None:
    host = own_emulator.url.split("://", 1)[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"{scheme}://{host}"}}],
                "contexts": [{"name": "plain", "context": {"cluster": "c", "user": "u"}}],
                "users": [{"name": "u", "user": _user(kind, tmp_path)}],
                "current-context": "plain",
            }
        )
    )
    start, sent_before = len(own_emulator.request_log), len(own_emulator.credential_log)
    result = kd(tmp_path, "history", "web", "-n", "default", "--kubeconfig", str(kubeconfig))
    _clean(result)
    assert len(own_emulator.request_log) > start  # the command did talk to the server
    sent = own_emulator.credential_log[sent_before:]
    assert sent == [], f"credentials sent over {scheme}:// for {kind}: {sent}"
    assert "is plain HTTP: kubeconfig credentials are not sent" in result.stderr, result.stderr


# -- item: TLS certificate problems fail at once, clearly ----------------------------------------


@pytest.fixture(scope="module")
def tls_emulator() -> Iterator[Any]:
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl")
    from kdeploy.emulator.app import Emulator

    with Emulator(tls=True, controllers=False) as emu:
        yield emu


def _tls_kubeconfig(emu: Any, path: Path, *, server: str, ca: bool, insecure: bool) -> str:
    config = yaml.safe_load(Path(emu.kubeconfig_path).read_text())
    cluster = config["clusters"][0]["cluster"]
    cluster["server"] = server
    if not ca:
        del cluster["certificate-authority-data"]
    if insecure:
        cluster["insecure-skip-tls-verify"] = True
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown-ca", "certificate-authority"),
        ("wrong-host", "is not valid for the host name"),
    ],
)
def test_tls_certificate_errors_fail_at_once_naming_the_server(
    tmp_path: Path, tls_emulator: Any, case: str, expected: str
) -> None:
    server = tls_emulator.url
    if case == "wrong-host":
        # a name for this machine that the certificate (127.0.0.1 and localhost) does not list
        import socket

        name = socket.gethostname()
        try:
            address = socket.gethostbyname(name)
        except OSError:
            address = ""
        if address != "127.0.0.1" or name == "localhost":
            pytest.skip("needs a host name other than localhost that resolves to 127.0.0.1")
        server = f"https://{name}:{tls_emulator.url.rsplit(':', 1)[1]}"
    kubeconfig = _tls_kubeconfig(
        tls_emulator,
        tmp_path / "kubeconfig",
        server=server,
        ca=case != "unknown-ca",
        insecure=False,
    )
    started = time.monotonic()
    result = kd(tmp_path, "history", "web", "-n", "default", "--kubeconfig", kubeconfig)
    elapsed = time.monotonic() - started
    _clean(result)
    assert result.code == 1, result.stderr
    assert f"TLS certificate of the API server at {server} was refused" in result.stderr, (
        result.stderr
    )
    assert expected in result.stderr
    for wrong in ("retrying", "gave up after", "throttling"):
        assert wrong not in result.stderr, result.stderr
    assert elapsed < 5, elapsed


def test_insecure_skip_tls_verify_gives_one_kdeploy_warning(
    tmp_path: Path, tls_emulator: Any
) -> None:
    kubeconfig = _tls_kubeconfig(
        tls_emulator, tmp_path / "kubeconfig", server=tls_emulator.url, ca=False, insecure=True
    )
    # a fresh interpreter: Python prints warnings there as a user sees them
    result = run_kdeploy_process(
        "-C", str(tmp_path), "history", "web", "-n", "default", "--kubeconfig", kubeconfig
    )
    _clean(result)
    assert result.code == 1  # no such release; the connection itself worked
    assert "release web has no history in namespace default" in result.stderr, result.stderr
    assert "urllib3" not in result.stderr and "InsecureRequestWarning" not in result.stderr, (
        result.stderr
    )
    warnings = [line for line in result.stderr.splitlines() if "insecure-skip-tls-verify" in line]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith("Warning: ") and tls_emulator.url in warnings[0]


def test_the_emulator_records_credentials_it_receives(tls_emulator: Any) -> None:
    """The check above relies on the credential log: over HTTPS the token is sent and logged."""
    from kubernetes import client, config

    api = config.new_client_from_config(str(tls_emulator.kubeconfig_path))
    start = len(tls_emulator.request_log)
    client.CoreV1Api(api).list_namespace()
    api.close()
    assert ("GET", "/api/v1/namespaces") in tls_emulator.credential_log
    assert len(tls_emulator.request_log) > start


# -- item: a server URL no request can reach fails at once, naming it ----------------------------


@pytest.mark.parametrize(
    ("server", "problem"),
    [
        ("http://", "it names no host"),
        ("https://", "it names no host"),
        ("https://:6443", "it names no host"),
        ("htps://10.0.0.1", "its scheme htps:// is not http:// or https://"),
        ("10.0.0.1:6443", "it has no scheme"),
        ("https://10.0.0.1:99999", "it is not a valid URL (Port out of range"),
    ],
)
def test_a_server_url_without_host_fails_at_once_naming_kubeconfig_and_context(
    tmp_path: Path, server: str, problem: str
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server}}],
                "contexts": [{"name": "broken", "context": {"cluster": "c", "user": "u"}}],
                "users": [{"name": "u", "user": {}}],
                "current-context": "broken",
            }
        )
    )
    started = time.monotonic()
    result = kd(tmp_path, "history", "web", "-n", "default", "--kubeconfig", str(kubeconfig))
    assert result.code == 1, result.stdout + result.stderr
    assert (
        f"kubeconfig {kubeconfig}, context broken: the cluster's server {server!r} is not an API "
        f"server URL: {problem}"
    ) in result.stderr
    assert "attempts" not in result.stderr and time.monotonic() - started < 1.5
