"""Bad inputs across commands give one clear error that names the file or object and says what to
do, with the documented exit code and never a Python traceback (no `--debug`)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import CliResult, ProjectBuilder, kd, run_kdeploy


def _clean(result: CliResult) -> None:
    """No traceback and no internal error, whatever the outcome."""
    for text in (result.stdout, result.stderr):
        assert "Traceback" not in text, text
        assert "Internal error" not in text, text
    assert result.code != 70, result.stderr


def _kubeconfig(path: Path, server: str, token: str | None = None) -> str:
    user: dict[str, Any] = {"token": token} if token else {}
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "users": [{"name": "u", "user": user}],
                "current-context": "c",
            }
        )
    )
    return str(path)


@pytest.fixture
def project(tmp_path: Path, emulator: Any, namespace: str) -> Path:
    proj = ProjectBuilder(tmp_path / "proj")
    proj.package("webapp")
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig_path)},
            "namespace": namespace,
            "releases": {"web": {"package": "webapp"}},
        },
    )
    return tmp_path / "proj"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("clusters: [oops\n", ":2: invalid YAML"),
        ("- a\n- b\n", "is not a valid kubeconfig"),
    ],
)
def test_malformed_kubeconfig_names_the_file(
    tmp_path: Path, project: Path, content: str, expected: str
) -> None:
    bad = tmp_path / "bad.kubeconfig"
    bad.write_text(content)
    for args in (
        ("diff", "-e", "dev", "--kubeconfig", str(bad)),
        ("history", "web", "-n", "shop", "--kubeconfig", str(bad)),
        ("status", "web", "-n", "shop", "--context", "c", "--kubeconfig", str(bad)),
    ):
        result = kd(project, *args)
        _clean(result)
        assert result.code == 1, result.stderr
        assert f"kubeconfig {bad}" in result.stderr and expected in result.stderr, result.stderr
        assert "hint:" in result.stderr


def test_unreachable_api_server_is_one_line(tmp_path: Path, project: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = _kubeconfig(tmp_path / "closed.kubeconfig", f"http://127.0.0.1:{port}")
    result = kd(project, "history", "web", "-n", "shop", "--kubeconfig", closed)
    _clean(result)
    assert result.code == 1
    assert "namespace shop" in result.stderr and "cannot connect" in result.stderr, result.stderr
    assert "hint:" in result.stderr


def test_unknown_context_lists_the_known_ones(project: Path, emulator: Any) -> None:
    result = kd(project, "diff", "-e", "dev", "--context", "nope")
    _clean(result)
    assert result.code == 1
    assert "context 'nope' not found" in result.stderr
    assert str(emulator.kubeconfig_path) in result.stderr


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("apply", "-e", "dev", "--yes", "--timeout", "abc"), "--timeout"),
        (("apply", "-e", "dev", "--yes", "--history-max", "-1"), "--history-max"),
        (("apply", "-e", "dev", "--yes", "--wait-for-lock=abc"), "--wait-for-lock"),
        (("rollback", "web", "-n", "shop", "--wait-for-lock=1x"), "--wait-for-lock"),
        (("rollback", "web", "-n", "shop", "--to", "0"), "--to"),
        (("emulator", "--port", "99999"), "--port"),
    ],
)
def test_bad_option_values_are_usage_errors(
    project: Path, args: tuple[str, ...], option: str
) -> None:
    result = kd(project, *args)
    _clean(result)
    assert result.code == 64, result.stderr
    assert option in result.stderr


def test_unknown_revision_lists_existing(project: Path, emulator: Any, namespace: str) -> None:
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    kc = str(emulator.kubeconfig_path)
    result = kd(
        project, "rollback", "web", "-n", namespace, "--to", "99", "--yes", "--kubeconfig", kc
    )
    _clean(result)
    assert result.code == 1
    assert "revision 99" in result.stderr and "existing revisions: 1" in result.stderr


@pytest.mark.parametrize("command", ["history", "status", "rollback", "uninstall"])
def test_namespace_without_the_release_is_named(project: Path, emulator: Any, command: str) -> None:
    extra = ("--yes",) if command in ("rollback", "uninstall") else ()
    kc = str(emulator.kubeconfig_path)
    result = kd(project, command, "web", "-n", "no-such-ns", *extra, "--kubeconfig", kc)
    _clean(result)
    assert result.code == 1
    assert "release web has no history in namespace no-such-ns" in result.stderr
    assert "hint:" in result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [("not json", "line 1"), ("[1, 2]", "not a kdeploy emulator state file")],
)
def test_bad_emulator_state_file_is_named(tmp_path: Path, content: str, expected: str) -> None:
    state = tmp_path / "state.json"
    state.write_text(content)
    result = run_kdeploy("emulator", "--state", str(state), "--kubeconfig-out", str(tmp_path / "k"))
    _clean(result)
    assert result.code == 1
    assert f"--state {state}" in result.stderr and expected in result.stderr


@pytest.fixture(scope="module")
def tls_emulator() -> Iterator[Any]:
    """An HTTPS emulator with a read-only user `reader` (token `reader-token`)."""
    from kdeploy.emulator.app import Emulator

    emu = Emulator(
        tls=True,
        tokens={"reader-token": "reader"},
        allow={"reader": {"get", "list", "watch"}},
    )
    with emu:
        yield emu


def _with_token(emu: Any, path: Path, token: str) -> str:
    config = yaml.safe_load(Path(emu.kubeconfig_path).read_text())
    for user in config["users"]:
        user["user"]["token"] = token
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_forbidden_and_unauthorized_name_the_object(tmp_path: Path, tls_emulator: Any) -> None:
    from kubernetes import client, config

    api = config.new_client_from_config(str(tls_emulator.kubeconfig_path))
    client.CoreV1Api(api).create_namespace({"metadata": {"name": "shop"}})
    api.close()
    proj = ProjectBuilder(tmp_path / "proj")
    proj.package("webapp")
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(tls_emulator.kubeconfig_path)},
            "namespace": "shop",
            "releases": {"web": {"package": "webapp"}},
        },
    )
    assert kd(proj.root, "apply", "-e", "dev", "--yes").code == 0
    reader = _with_token(tls_emulator, tmp_path / "reader.kubeconfig", "reader-token")
    stranger = _with_token(tls_emulator, tmp_path / "stranger.kubeconfig", "unknown-token")

    diff = kd(proj.root, "diff", "-e", "dev", "--kubeconfig", reader, "--set", "greeting=x")
    _clean(diff)
    assert diff.code == 1
    assert "ConfigMap shop/web-config: Forbidden" in diff.stderr, diff.stderr
    assert 'User "reader" cannot patch' in diff.stderr and "hint:" in diff.stderr

    apply = kd(
        proj.root, "apply", "-e", "dev", "--yes", "--kubeconfig", reader, "--set", "greeting=x"
    )
    _clean(apply)
    assert apply.code == 1
    # a one-release environment's apply takes the release's lock only (docs/locking.md)
    assert "Lease shop/kdeploy-lock.web: Forbidden" in apply.stderr, apply.stderr

    history = kd(proj.root, "history", "web", "-n", "shop", "--kubeconfig", stranger)
    _clean(history)
    assert history.code == 1
    assert "namespace shop: Unauthorized" in history.stderr, history.stderr
    assert "credentials" in history.stderr


def test_env_may_be_omitted_only_when_there_is_one(project: Path) -> None:
    single = kd(project, "diff")
    assert single.code == 0, single.stderr
    assert "1 to create" in single.stdout
    ProjectBuilder(project).environment("prod", {"namespace": "p", "releases": {}})
    several = kd(project, "apply", "--yes")
    _clean(several)
    assert several.code == 1
    assert "choose one with -e ENV" in several.stderr and "dev, prod" in several.stderr


def test_missing_credential_plugin_is_named(tmp_path: Path, project: Path) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [
            {
                "name": "u",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "command": "kdeploy-no-such-plugin",
                    }
                },
            }
        ],
        "current-context": "c",
    }
    path = tmp_path / "exec.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    result = kd(project, "history", "web", "-n", "shop", "--kubeconfig", str(path))
    _clean(result)
    assert result.code == 1
    assert f"kubeconfig {path}: cannot get credentials" in result.stderr
    assert "kdeploy-no-such-plugin" in result.stderr and "ERROR:root" not in result.stderr


# -- item: a field of the wrong type is refused at once, naming the object and the field ---------

WRONG_TYPES = {
    "replicas": (
        'replicas: "three"',
        ".spec.replicas: expected numeric (int or float), got string",
    ),
    "containers": (
        "replicas: 1",
        ".spec.template.spec.containers: expected list, got ",  # "got &{map[]}" on a real server
    ),
}


@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
def test_a_field_of_the_wrong_type_is_refused_at_once_naming_object_and_field(
    tmp_path: Path, emulator: Any, ns: str, case: str
) -> None:
    import time

    from tests.helpers import LiveCluster, live_project

    replicas, expected = WRONG_TYPES[case]
    containers = "containers: {}" if case == "containers" else "containers: [{name: app, image: x}]"
    template = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      {containers}
"""
    proj = live_project(
        tmp_path / "p", str(emulator.kubeconfig_path), ns, templates={"web.yaml": template}
    )
    started = time.monotonic()
    result = kd(proj, "apply", "-e", "dev", "--yes", "--no-wait")
    assert result.code == 1, result.stdout + result.stderr
    assert f"Deployment.apps {ns}/web: the server cannot read the manifest" in result.stderr
    assert expected in result.stderr
    assert "attempts" not in result.stderr and time.monotonic() - started < 10
    from kdeploy.kube.client import ObjectRef

    live = LiveCluster(str(emulator.kubeconfig_path), ns)
    assert live.cluster.get(ObjectRef("apps/v1", "Deployment", ns, "web")) is None
