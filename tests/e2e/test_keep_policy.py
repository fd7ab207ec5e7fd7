"""The keep policy end to end: an object annotated `kdeploy.dev/resource-policy: keep` (or Helm's
`helm.sh/resource-policy: keep`) survives prune and uninstall, and the output says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import LiveCluster, kd, live_project

NS_PREFIX = "keep"

TEMPLATES = {
    "data.yaml": """\
{% if values.withData %}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-data
{% if values.policy %}
  annotations:
    {{ values.policy }}: keep
{% endif %}
data:
  precious: "yes"
{% endif %}
""",
    "plain.yaml": """\
{% if values.withData %}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-plain
data:
  precious: "no"
{% endif %}
""",
    "always.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-always
data: {}
""",
}


def _project(tmp_path: Path, emulator: Any, ns: str, policy: str | None) -> Path:
    return live_project(
        tmp_path,
        str(emulator.kubeconfig_path),
        ns,
        templates=TEMPLATES,
        values={"withData": True, "policy": policy},
    )


def test_prune_leaves_an_object_with_the_keep_policy_and_says_so(
    tmp_path: Path, emulator: Any, ns: str, live: LiveCluster
) -> None:
    project = _project(tmp_path, emulator, ns, "kdeploy.dev/resource-policy")
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0

    diff = kd(project, "diff", "-e", "dev", "--set", "withData=false")
    assert f"! ConfigMap {ns}/web-data has kdeploy.dev/resource-policy: keep" in (
        diff.stdout + diff.stderr
    )

    pruned = kd(project, "apply", "-e", "dev", "--yes", "--set", "withData=false")
    assert pruned.code == 0, pruned.stderr
    assert (
        f"kept ConfigMap {ns}/web-data (no longer rendered; kdeploy.dev/resource-policy: keep)"
        in (pruned.stdout + pruned.stderr)
    )
    assert f"deleted ConfigMap {ns}/web-plain" in pruned.stdout + pruned.stderr
    assert live.object("ConfigMap", "web-data") is not None
    assert live.object("ConfigMap", "web-plain") is None

    # It left the release: the next apply neither mentions nor deletes it.
    again = kd(project, "apply", "-e", "dev", "--yes", "--set", "withData=false")
    assert again.code == 0, again.stderr
    assert "web-data" not in again.stdout + again.stderr
    assert live.object("ConfigMap", "web-data") is not None


@pytest.mark.parametrize("policy", ["kdeploy.dev/resource-policy", "helm.sh/resource-policy"])
def test_uninstall_leaves_an_object_with_the_keep_policy(
    tmp_path: Path, emulator: Any, ns: str, live: LiveCluster, policy: str
) -> None:
    project = _project(tmp_path, emulator, ns, policy)
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    gone = kd(project, "uninstall", "web", "-e", "dev", "--yes")
    assert gone.code == 0, gone.stderr
    assert f"kept ConfigMap {ns}/web-data ({policy}: keep): left in the cluster" in (
        gone.stdout + gone.stderr
    )
    assert live.object("ConfigMap", "web-data") is not None
    assert live.object("ConfigMap", "web-plain") is None
    assert live.object("ConfigMap", "web-always") is None


def test_without_the_policy_prune_deletes_the_object(
    tmp_path: Path, emulator: Any, ns: str, live: LiveCluster
) -> None:
    project = _project(tmp_path, emulator, ns, None)
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    pruned = kd(project, "apply", "-e", "dev", "--yes", "--set", "withData=false")
    assert pruned.code == 0, pruned.stderr
    assert live.object("ConfigMap", "web-data") is None
