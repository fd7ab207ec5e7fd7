"""An environment's releases at a glance (`kdeploy releases -e ENV`), the releases of a cluster
(`kdeploy list -n NS | -A`), and `uninstall -e ENV --all` in reverse file order."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from tests.helpers import IMAGE_DEPLOYMENT_TEMPLATE, NAMESPACE_TEMPLATE, ProjectBuilder, kd

NS_PREFIX = "envrel"
IMAGE = "registry.example.com/shop/web:3.1.0"


def _project(root: Path, kubeconfig: str) -> tuple[Path, str]:
    """Environment `staging`: `setup` (the namespace), `web` (a Deployment), `worker` (a
    ConfigMap), all in a fresh namespace."""
    namespace = f"{NS_PREFIX}-{uuid.uuid4().hex[:8]}"
    proj = ProjectBuilder(root)
    proj.package("setup", templates={"namespace.yaml": NAMESPACE_TEMPLATE})
    proj.package("web", templates={"deployment.yaml": IMAGE_DEPLOYMENT_TEMPLATE})
    proj.package("worker")
    proj.environment(
        "staging",
        {
            "cluster": {"kubeconfig": kubeconfig},
            "namespace": namespace,
            "releases": {
                "setup": {"package": "setup"},
                "web": {"package": "web", "values": {"image": IMAGE}},
                "worker": {"package": "worker"},
            },
        },
    )
    return root, namespace


def test_releases_lists_the_environment_in_file_order_with_their_state(
    tmp_path: Path, emulator: Any
) -> None:
    root, namespace = _project(tmp_path, str(emulator.kubeconfig_path))
    applied = kd(root, "apply", "-e", "staging", "--yes", "setup", "web")
    assert applied.code == 0, applied.stderr

    result = kd(root, "releases", "-e", "staging", "-o", "json")

    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["environment"] == "staging"
    rows = [(r["release"], r["namespace"], r["status"], r["revision"]) for r in doc["releases"]]
    assert rows == [
        ("setup", namespace, "deployed", 1),
        ("web", namespace, "deployed", 1),
        ("worker", namespace, "not deployed", None),
    ]
    web = doc["releases"][1]
    assert web["images"] == [IMAGE]
    assert web["deployedRevision"] == 1
    assert web["environment"] == "staging"
    text = kd(root, "releases", "-e", "staging")
    assert text.code == 0, text.stderr
    header, *lines = text.stdout.splitlines()
    assert header.split()[:4] == ["NAMESPACE", "RELEASE", "REVISION", "STATUS"]
    assert lines[1].split()[:4] == [namespace, "web", "1", "deployed"]
    assert IMAGE in lines[1]
    assert "not deployed" in lines[2]


def test_list_finds_the_releases_of_a_namespace_or_of_all(tmp_path: Path, emulator: Any) -> None:
    kubeconfig = str(emulator.kubeconfig_path)
    root, namespace = _project(tmp_path, kubeconfig)
    applied = kd(root, "apply", "-e", "staging", "--yes")
    assert applied.code == 0, applied.stderr

    one = kd(root, "list", "-n", namespace, "--kubeconfig", kubeconfig, "-o", "json")
    every = kd(root, "list", "-A", "--kubeconfig", kubeconfig, "-o", "json")
    by_env = kd(root, "list", "-e", "staging", "-o", "json")

    for result in (one, every, by_env):
        assert result.code == 0, result.stderr
    found = [(r["release"], r["revision"]) for r in json.loads(one.stdout)["releases"]]
    assert found == [("setup", 1), ("web", 1), ("worker", 1)]
    anywhere = json.loads(every.stdout)["releases"]
    assert {(r["namespace"], r["release"]) for r in anywhere} >= {
        (namespace, "setup"),
        (namespace, "web"),
        (namespace, "worker"),
    }
    assert json.loads(by_env.stdout) == json.loads(one.stdout)
    nowhere = kd(root, "list", "--kubeconfig", kubeconfig)
    assert nowhere.code == 64
    assert "-n NAMESPACE, -A" in nowhere.stderr


def test_uninstall_all_removes_the_releases_in_reverse_order_and_skips_undeployed(
    tmp_path: Path, emulator: Any
) -> None:
    root, namespace = _project(tmp_path, str(emulator.kubeconfig_path))
    applied = kd(root, "apply", "-e", "staging", "--yes", "setup", "web")
    assert applied.code == 0, applied.stderr

    result = kd(root, "uninstall", "-e", "staging", "--all", "--yes")

    assert result.code == 0, result.stderr
    err = result.stderr
    skipped = err.index(f"Release worker (namespace {namespace}): not deployed, skipped.")
    web = err.index("Release web: deleted")
    setup = err.index("Release setup: deleted")
    assert skipped < web < setup
    assert f"kept Namespace {namespace}" in err  # no --delete-namespaces
    after = json.loads(kd(root, "releases", "-e", "staging", "-o", "json").stdout)
    assert {r["status"] for r in after["releases"]} == {"not deployed"}


def test_uninstall_all_needs_an_environment_and_no_release(tmp_path: Path, emulator: Any) -> None:
    root, _ = _project(tmp_path, str(emulator.kubeconfig_path))
    for args in (["web", "-e", "staging", "--all"], ["-n", "x", "--all"], []):
        result = kd(root, "uninstall", *args, "--yes")
        assert result.code == 64, (args, result.stderr)
