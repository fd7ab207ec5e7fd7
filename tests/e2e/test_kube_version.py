"""diff and apply check the cluster's /version against package kubeVersion constraints before
changing anything (the built-in emulator reports v1.35.0)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kdeploy.kube.client import ObjectRef
from tests.helpers import LiveCluster, ProjectBuilder, kd

NS_PREFIX = "kubever"


def _project(root: Path, kubeconfig: str, ns: str, constraint: str) -> Path:
    proj = ProjectBuilder(root)
    proj.package("webapp", meta={"name": "webapp", "version": "1.0.0", "kubeVersion": constraint})
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": kubeconfig},
            "namespace": ns,
            "releases": {"web": {"package": "webapp"}},
        },
    )
    return root


def _configmaps(emulator: Any, ns: str) -> list[str]:
    """The namespace's ConfigMaps, but kube-root-ca.crt, which a real cluster's controller adds to
    every new namespace whenever it gets to it."""
    live = LiveCluster(str(emulator.kubeconfig_path), ns)
    items = live.cluster.list_by_labels("v1", "ConfigMap", ns, "")
    names = (str(i["metadata"]["name"]) for i in items)
    return sorted(n for n in names if n != "kube-root-ca.crt")


def _server_version(emulator: Any) -> str:
    return LiveCluster(str(emulator.kubeconfig_path), "default").cluster.server_version()


def test_apply_refuses_an_unsupported_cluster_and_changes_nothing(
    tmp_path: Path, emulator: Any, ns: str
) -> None:
    version = _server_version(emulator)
    project = _project(tmp_path, str(emulator.kubeconfig_path), ns, "<1.20")
    before = _configmaps(emulator, ns)
    for args in (("diff", "-e", "dev"), ("apply", "-e", "dev", "--yes")):
        result = kd(project, *args)
        assert result.code == 1, result.stderr
        err = result.stderr
        assert 'package webapp requires Kubernetes "<1.20"' in err
        assert "packages/webapp/package.yaml" in err
        assert f"the cluster runs {version}" in err
        assert "Traceback" not in err
    # no object, no revision, no lock left behind
    assert _configmaps(emulator, ns) == before
    live = LiveCluster(str(emulator.kubeconfig_path), ns)
    assert (
        live.cluster.get(ObjectRef("coordination.k8s.io/v1", "Lease", ns, "kdeploy-lock.web"))
        is None
    )


def test_apply_proceeds_when_the_cluster_satisfies_the_constraint(
    tmp_path: Path, emulator: Any, ns: str
) -> None:
    project = _project(tmp_path, str(emulator.kubeconfig_path), ns, ">=1.20, <2 || >=3")
    result = kd(project, "apply", "-e", "dev", "--yes")
    assert result.code == 0, result.stderr
    assert "web-config" in _configmaps(emulator, ns)
