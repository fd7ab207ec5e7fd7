"""An environment never silently takes over a release that another environment deployed: a child
environment that forgets its own `namespace:` names the parent's release (same name, same
namespace), and its apply would otherwise rewrite prod."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import LiveCluster, ProjectBuilder, kd

NS_PREFIX = "envtake"


def _configmap(live: LiveCluster) -> dict[str, Any] | None:
    from kdeploy.kube.client import ObjectRef

    return live.cluster.get(ObjectRef("v1", "ConfigMap", live.ns, "web-config"))


def test_an_environment_cannot_take_over_a_release_another_environment_deployed(
    tmp_path: Path, emulator: Any, live: LiveCluster, ns: str
) -> None:
    kubeconfig = str(emulator.kubeconfig_path)
    proj = ProjectBuilder(tmp_path / "p")
    proj.package("web", values={"greeting": "prod"})
    proj.environment(
        "prod",
        {
            "cluster": {"kubeconfig": kubeconfig},
            "namespace": ns,
            "releases": {"web": {"package": "web"}},
        },
    )
    proj.environment(
        "stg2",
        {
            "extends": "prod",
            "cluster": {"kubeconfig": kubeconfig},
            "releases": {"web": {"values": {"greeting": "staging"}}},
        },
    )
    first = kd(proj.root, "apply", "-e", "prod", "--yes")
    assert first.code == 0, first.stderr
    before = _configmap(live)
    assert before is not None

    takeover = kd(proj.root, "apply", "-e", "stg2", "--yes")
    assert takeover.code == 1, takeover.stdout + takeover.stderr
    assert f"release web in namespace {ns} was deployed by environment prod" in takeover.stderr
    assert "not stg2: refusing to take it over" in takeover.stderr
    assert "pass --adopt" in takeover.stderr
    after = _configmap(live)
    assert after is not None
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["data"]["greeting"] == "prod"

    moved = kd(proj.root, "apply", "-e", "stg2", "--yes", "--adopt")
    assert moved.code == 0, moved.stderr
    moved_cm = _configmap(live)
    assert moved_cm is not None and moved_cm["data"]["greeting"] == "staging"


def test_diff_exits_2_when_apply_would_refuse_an_object_it_does_not_own(
    tmp_path: Path, emulator: Any, live: LiveCluster, ns: str
) -> None:
    from kubernetes import client

    client.CoreV1Api(live.api).create_namespaced_config_map(
        ns, {"metadata": {"name": "web-config"}, "data": {"greeting": "by hand"}}
    )
    proj = ProjectBuilder(tmp_path / "p")
    proj.package("web", values={"greeting": "prod"})
    proj.environment(
        "prod",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig_path)},
            "namespace": ns,
            "releases": {"web": {"package": "web"}},
        },
    )
    diff = kd(proj.root, "diff", "-e", "prod")
    assert diff.code == 2, diff.stdout + diff.stderr
    assert f"ConfigMap {ns}/web-config exists and is owned by no release" in diff.stderr
    refused = kd(proj.root, "apply", "-e", "prod", "--yes")
    assert refused.code == 1
