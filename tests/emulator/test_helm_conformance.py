"""The real helm v4 against the emulator: install, upgrade, history, rollback and uninstall of a
chart made by `helm create`. Helm writes its release Secrets as protobuf bodies."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from cli_clients import Cli, helm_binary, kubectl_binary

pytestmark = [
    pytest.mark.helm,
    pytest.mark.skipif(
        helm_binary() is None,
        reason="helm not found: run `make tools` or set KDEPLOY_HELM to a helm v4 binary",
    ),
]

_COUNTER = itertools.count(1)


@pytest.fixture
def helm(emulator: Any, tmp_path: Path) -> Cli:
    binary = helm_binary()
    assert binary is not None
    home = tmp_path / "home"
    home.mkdir()
    kubeconfig = Path(emulator.kubeconfig)
    return Cli(binary, kubeconfig, home, ["--kubeconfig", str(kubeconfig)])


@pytest.fixture
def kubectl(emulator: Any, tmp_path: Path) -> Cli | None:
    binary = kubectl_binary()
    if binary is None:
        return None
    home = tmp_path / "kubectl-home"
    home.mkdir()
    kubeconfig = Path(emulator.kubeconfig)
    return Cli(binary, kubeconfig, home, ["--kubeconfig", str(kubeconfig)])


def history(helm: Cli, release: str, ns: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = helm.ok("history", release, "-n", ns, "-o", "json").json()
    return rows


def test_install_upgrade_history_rollback_uninstall(helm: Cli, emulator: Any) -> None:
    ns = f"helm-{next(_COUNTER)}"
    helm.ok("create", "chart")
    chart = str(helm.home / "chart")

    out = helm.ok(
        "upgrade",
        "--install",
        "rel",
        chart,
        "-n",
        ns,
        "--create-namespace",
        "--wait",
        "--timeout",
        "90s",
    ).out
    assert 'Release "rel" does not exist. Installing it now.' in out
    assert "STATUS: deployed" in out
    assert [(r["revision"], r["status"]) for r in history(helm, "rel", ns)] == [(1, "deployed")]

    out = helm.ok(
        "upgrade",
        "--install",
        "rel",
        chart,
        "-n",
        ns,
        "--set",
        "replicaCount=2",
        "--wait",
        "--timeout",
        "90s",
    ).out
    assert 'Release "rel" has been upgraded.' in out
    rows = history(helm, "rel", ns)
    assert [(r["revision"], r["status"]) for r in rows] == [(1, "superseded"), (2, "deployed")]

    values = helm.ok("get", "values", "rel", "-n", ns, "-o", "json").json()
    assert values == {"replicaCount": 2}
    manifest = helm.ok("get", "manifest", "rel", "-n", ns).out
    assert "kind: Deployment" in manifest and "replicas: 2" in manifest

    out = helm.ok("rollback", "rel", "1", "-n", ns, "--wait", "--timeout", "90s").out
    assert "Rollback was a success!" in out
    rows = history(helm, "rel", ns)
    assert [(r["revision"], r["status"]) for r in rows] == [
        (1, "superseded"),
        (2, "superseded"),
        (3, "deployed"),
    ]
    assert rows[-1]["description"] == "Rollback to 1"

    status = helm.ok("status", "rel", "-n", ns, "-o", "json").json()
    assert status["info"]["status"] == "deployed" and status["version"] == 3
    listed = helm.ok("list", "-A", "-o", "json").json()
    assert ("rel", ns) in {(r["name"], r["namespace"]) for r in listed}

    out = helm.ok("uninstall", "rel", "-n", ns, "--wait", "--timeout", "90s").out
    assert 'release "rel" uninstalled' in out
    assert helm.ok("list", "-n", ns, "-o", "json").json() == []


def test_release_secrets_and_live_objects(helm: Cli, kubectl: Cli | None) -> None:
    if kubectl is None:
        pytest.skip("kubectl not installed")
    ns = f"helm-{next(_COUNTER)}"
    helm.ok("create", "chart")
    chart = str(helm.home / "chart")
    helm.ok("upgrade", "--install", "app", chart, "-n", ns, "--create-namespace", "--wait")
    helm.ok("upgrade", "--install", "app", chart, "-n", ns, "--set", "replicaCount=3", "--wait")

    secrets = kubectl.ok("get", "secrets", "-n", ns, "-l", "owner=helm", "-o", "json").json()
    by_name = {s["metadata"]["name"]: s for s in secrets["items"]}
    assert set(by_name) == {"sh.helm.release.v1.app.v1", "sh.helm.release.v1.app.v2"}
    v2 = by_name["sh.helm.release.v1.app.v2"]
    assert v2["type"] == "helm.sh/release.v1"
    assert v2["metadata"]["labels"]["status"] == "deployed"
    assert by_name["sh.helm.release.v1.app.v1"]["metadata"]["labels"]["status"] == "superseded"

    dep = kubectl.ok(
        "get", "deploy", "app-chart", "-n", ns, "-o", "json", "--show-managed-fields"
    ).json()
    assert dep["spec"]["replicas"] == 3
    assert dep["status"]["availableReplicas"] == 3
    assert dep["metadata"]["annotations"]["meta.helm.sh/release-name"] == "app"
    assert dep["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert any(m["manager"] == "helm" for m in dep["metadata"]["managedFields"])

    helm.ok("rollback", "app", "1", "-n", ns, "--wait")
    dep = kubectl.ok("get", "deploy", "app-chart", "-n", ns, "-o", "json").json()
    assert dep["spec"]["replicas"] == 1

    helm.ok("uninstall", "app", "-n", ns)
    left = kubectl.ok(
        "get",
        "secrets,deploy,svc,sa",
        "-n",
        ns,
        "-l",
        "app.kubernetes.io/instance=app",
        "-o",
        "json",
    )
    assert left.json()["items"] == []
    assert (
        kubectl.ok("get", "secrets", "-n", ns, "-l", "owner=helm", "-o", "json").json()["items"]
        == []
    )


def test_install_with_legacy_wait_and_configmap_storage(helm: Cli) -> None:
    ns = f"helm-{next(_COUNTER)}"
    helm.ok("create", "chart")
    chart = str(helm.home / "chart")
    helm.extra_env = {"HELM_DRIVER": "configmap"}
    out = helm.ok(
        "upgrade",
        "--install",
        "legacy",
        chart,
        "-n",
        ns,
        "--create-namespace",
        "--wait=legacy",
        "--timeout",
        "90s",
    ).out
    assert "STATUS: deployed" in out
    rows = history(helm, "legacy", ns)
    assert [(r["revision"], r["status"]) for r in rows] == [(1, "deployed")]
    helm.ok("uninstall", "legacy", "-n", ns)


def test_failed_upgrade_of_a_never_ready_image_rolls_back(helm: Cli) -> None:
    ns = f"helm-{next(_COUNTER)}"
    helm.ok("create", "chart")
    chart = str(helm.home / "chart")
    helm.ok("upgrade", "--install", "sad", chart, "-n", ns, "--create-namespace", "--wait")
    res = helm.run(
        "upgrade",
        "--install",
        "sad",
        chart,
        "-n",
        ns,
        "--set",
        "image.tag=never-ready",
        "--wait",
        "--timeout",
        "5s",
        "--rollback-on-failure",
    )
    assert res.code == 1
    assert "has been rolled back" in res.err
    assert "resource Deployment/" in res.err and "not ready" in res.err
    rows = history(helm, "sad", ns)
    assert [(r["revision"], r["status"]) for r in rows] == [
        (1, "superseded"),
        (2, "failed"),
        (3, "deployed"),
    ]
