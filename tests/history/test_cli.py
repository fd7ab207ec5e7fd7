"""`kdeploy history` and `kdeploy get`: what a user sees, through the real CLI.

Tests that read a cluster run against the emulator through the real `kubernetes` client.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kdeploy.cli import main
from kdeploy.errors import ClusterError
from kdeploy.history.identity import Identity
from kdeploy.history.store import HistoryStore

PASSWORD = "pw-cli-very-secret"
TOKEN = "tok-cli-0987654321"


def run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


@pytest.fixture(autouse=True)
def no_user_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


def make_project(root: Path, kubeconfig: str | None = None) -> Path:
    (root / "environments").mkdir(parents=True)
    cluster = f"cluster:\n  kubeconfig: {kubeconfig}\n" if kubeconfig else ""
    (root / "environments" / "prod.yaml").write_text(
        f"{cluster}namespace: shop\nreleases:\n  web:\n    package: webapp\n"
    )
    (root / "packages" / "webapp" / "templates").mkdir(parents=True)
    (root / "packages" / "webapp" / "package.yaml").write_text("name: webapp\nversion: 1.0.0\n")
    return root


# errors that need no cluster


def test_history_without_namespace_or_env_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run("history", "web", capsys=capsys)
    assert code == 64
    assert "say where release web is: -n NAMESPACE, or -e ENV" in err


def test_get_rejects_unknown_kind_with_usage_exit(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run("get", "secrets", "web", "-n", "shop", capsys=capsys)
    assert code == 64
    assert "'secrets' is not one of 'manifest', 'values'" in err


def test_release_not_in_environment_names_file_and_releases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path / "proj")
    code, _, err = run("-C", str(project), "history", "api", "-e", "prod", capsys=capsys)
    assert code == 1
    assert (
        "release api is not declared in environment prod (environments/prod.yaml); "
        "its releases: web" in err
    )


def test_missing_kubeconfig_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yaml"
    code, out, err = run(
        "history", "web", "-n", "shop", "--kubeconfig", str(missing), capsys=capsys
    )
    assert code == 1
    assert out == ""
    assert f"Error: kubeconfig {missing} does not exist" in err
    assert "Traceback" not in err


# against the emulator


@dataclass
class Cluster:
    kubeconfig: str
    namespace: str
    store: HistoryStore
    core: Any


@pytest.fixture
def cluster(request: pytest.FixtureRequest) -> Cluster:
    try:
        emulator = request.getfixturevalue("emulator")
    except pytest.FixtureLookupError:
        pytest.skip("the emulator fixture (tests/conftest.py) is not available")
    from kubernetes import client

    from kdeploy.history.configmap import ConfigMapDriver
    from kdeploy.kube.config import ClusterTarget, new_api_client

    kubeconfig = str(emulator.kubeconfig_path)
    api = new_api_client(ClusterTarget(kubeconfig=kubeconfig))
    core = client.CoreV1Api(api)
    namespace = request.getfixturevalue("namespace")
    store = HistoryStore(
        ConfigMapDriver(api),
        clock=lambda: datetime(2026, 11, 23, 12, 0, 5, tzinfo=UTC),
        identity=lambda: Identity(
            who="bob https://gitlab.example/shop/-/jobs/42",
            git_commit="0123456789abcdef0123",
            git_dirty=True,
        ),
    )
    return Cluster(kubeconfig, namespace, store, core)


def record(cluster: Cluster, status: str, description: str, image: str = "web:1") -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": cluster.namespace},
        "data": {"password": base64.b64encode(PASSWORD.encode()).decode()},
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": cluster.namespace},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}},
    }
    rev = cluster.store.begin(
        "web",
        cluster.namespace,
        manifests=[secret, deployment],
        values={"image": image, "db": {"password": PASSWORD}, "token": TOKEN},
        package="webapp",
        package_version="1.2.0",
        environment="prod",
        description=description,
        secret_strings={TOKEN},
    )
    if status != "pending":
        cluster.store.finish(rev, status, "boom: exit 1" if status == "failed" else "ok")  # type: ignore[arg-type]


def test_history_text_table(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    record(cluster, "deployed", "first")
    record(cluster, "failed", "second", image="web:2")
    code, out, err = run(
        "history", "web", "-n", cluster.namespace, "--kubeconfig", cluster.kubeconfig, capsys=capsys
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == [
        "REVISION", "STATUS", "TRUST", "WHEN", "WHO", "PACKAGE", "APP", "VERSION", "COMMIT",
        "DESCRIPTION",
    ]  # fmt: skip
    assert lines[1].split() == [
        "1", "deployed", "unsigned", "2026-11-23", "12:00:05Z", "bob",
        "https://gitlab.example/shop/-/jobs/42", "webapp@1.2.0", "-", "0123456789ab+dirty", "first",
    ]  # fmt: skip
    assert lines[2].endswith("second (boom: exit 1)")


def test_history_json_shape(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    record(cluster, "deployed", "first")
    record(cluster, "deployed", "second")
    code, out, _ = run(
        "history", "web", "-n", cluster.namespace, "--kubeconfig", cluster.kubeconfig,
        "--output", "json", capsys=capsys,
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["format"] == 1
    assert (data["release"], data["namespace"]) == ("web", cluster.namespace)
    assert [(r["revision"], r["status"]) for r in data["revisions"]] == [
        (1, "superseded"),
        (2, "deployed"),
    ]
    first = data["revisions"][0]
    assert set(first) == {
        "revision", "status", "startedAt", "finishedAt", "who", "package", "packageVersion",
        "appVersion", "environment", "gitCommit", "gitDirty", "description", "rollbackTo", "result",
        "secretKeys", "trust", "signed", "writers", "damage", "ci", "images",
    }  # fmt: skip
    assert (first["trust"], first["signed"], first["damage"]) == ("unchecked", False, None)
    assert first["gitCommit"] == "0123456789abcdef0123" and first["gitDirty"] is True
    assert list(first["secretKeys"]) == [f"Secret {cluster.namespace}/db"]
    assert PASSWORD not in out


def test_history_of_unknown_release_says_so_with_namespace(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        "history", "nope", "-n", cluster.namespace, "--kubeconfig", cluster.kubeconfig,
        capsys=capsys,
    )  # fmt: skip
    assert code == 1 and out == ""
    assert f"Error: release nope has no history in namespace {cluster.namespace}" in err


def test_history_with_env_takes_namespace_and_kubeconfig_from_environment(
    cluster: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record(cluster, "deployed", "first")
    project = make_project(tmp_path / "proj", kubeconfig=cluster.kubeconfig)
    env_file = project / "environments" / "prod.yaml"
    env_file.write_text(env_file.read_text().replace("shop", cluster.namespace))
    code, out, err = run("-C", str(project), "history", "web", "-e", "prod", capsys=capsys)
    assert code == 0, err
    assert out.splitlines()[1].split()[:2] == ["1", "deployed"]


def test_get_manifest_is_redacted_and_defaults_to_last_deployed(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    record(cluster, "deployed", "first", image="web:1")
    record(cluster, "failed", "second", image="web:2")
    code, out, err = run(
        "get", "manifest", "web", "-n", cluster.namespace, "--kubeconfig", cluster.kubeconfig,
        capsys=capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "revision 1 (deployed)" in err
    assert "image: web:1" in out
    assert "password: <redacted:sha256:" in out
    assert PASSWORD not in out and base64.b64encode(PASSWORD.encode()).decode() not in out


def test_get_values_of_a_revision_is_redacted(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    record(cluster, "deployed", "first", image="web:1")
    record(cluster, "failed", "second", image="web:2")
    code, out, _ = run(
        "get", "values", "web", "-n", cluster.namespace, "--kubeconfig", cluster.kubeconfig,
        "--revision", "2", "-o", "json", capsys=capsys,
    )  # fmt: skip
    assert code == 0
    values = json.loads(out)
    assert values["image"] == "web:2"
    assert values["db"]["password"].startswith("<redacted:sha256:")
    assert values["token"].startswith("<redacted:sha256:")


def test_get_unknown_revision_lists_existing(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    record(cluster, "deployed", "first")
    code, out, err = run(
        "get", "values", "web", "-n", cluster.namespace, "--kubeconfig", cluster.kubeconfig,
        "--revision", "9", capsys=capsys,
    )  # fmt: skip
    assert code == 1 and out == ""
    assert (
        f"Error: release web in namespace {cluster.namespace} has no revision 9; "
        "existing revisions: 1" in err
    )


def test_get_manifest_never_reads_the_companion_secret(
    cluster: Cluster, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    from kdeploy.emulator.types import FaultRule

    emulator = request.getfixturevalue("own_emulator")
    record(cluster, "deployed", "first")
    emulator.add_fault(FaultRule(method="GET", path=r"/secrets", status=403, times=None))
    try:
        # the fault is active: reading with secrets (as rollback does) is refused
        with pytest.raises(ClusterError, match="Forbidden"):
            cluster.store.get("web", cluster.namespace, 1)
        code, out, err = run(
            "get", "manifest", "web", "-n", cluster.namespace,
            "--kubeconfig", cluster.kubeconfig, capsys=capsys,
        )  # fmt: skip
    finally:
        emulator.clear_faults()
    assert code == 0, err
    assert "kind: Deployment" in out


def test_history_forbidden_is_one_line_naming_the_namespace(
    cluster: Cluster, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    from kdeploy.emulator.types import FaultRule

    emulator = request.getfixturevalue("own_emulator")
    emulator.add_fault(FaultRule(method="GET", path=r"/configmaps", status=403, times=None))
    try:
        code, out, err = run(
            "history", "web", "-n", cluster.namespace, "--kubeconfig", cluster.kubeconfig,
            capsys=capsys,
        )  # fmt: skip
    finally:
        emulator.clear_faults()
    assert code == 1 and out == ""
    target, error = err.splitlines()[:2]
    assert target.startswith("Cluster: context ")  # what every cluster command says first
    assert error.startswith(f"Error: list history in namespace {cluster.namespace}: Forbidden")
    assert "Traceback" not in err
