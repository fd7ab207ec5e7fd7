"""`kube` in templates: the Kubernetes version and the served APIs, from the cluster on diff and
apply, from --kube-version/--api-versions (or the defaults) on render and lint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kdeploy.kubeversion import format_version, parse_version
from kdeploy.lint.schema import supported_versions
from tests.helpers import LiveCluster, ProjectBuilder, kd, live_project

NS_PREFIX = "caps"

CAPS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-caps
data:
  version: {{ kube.version | quote }}
  minor: "{{ kube.minor }}"
  monitoring: {{ kube.has("monitoring.coreos.com/v1/ServiceMonitor") | tojson | quote }}
  deployments: {{ kube.has("apps/v1/Deployment") | tojson | quote }}
  group: {{ kube.has("monitoring.coreos.com/v1") | tojson | quote }}
"""
SERVICE_MONITOR_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: ServiceMonitor, plural: servicemonitors, singular: servicemonitor, listKind: ServiceMonitorList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"""


def _offline(tmp_path: Path) -> Path:
    proj = ProjectBuilder(tmp_path)
    proj.package("web", templates={"caps.yaml": CAPS}, values={})
    proj.environment("dev", {"namespace": "shop", "releases": {"web": {"package": "web"}}})
    return tmp_path


def _data(result: Any) -> dict[str, str]:
    assert result.code == 0, result.stderr
    (cm,) = [d for d in result.docs() if d["metadata"]["name"].endswith("-caps")]
    return dict(cm["data"])


def test_render_defaults_to_the_newest_bundled_version_and_its_builtin_apis(
    tmp_path: Path,
) -> None:
    data = _data(kd(_offline(tmp_path), "render", "-e", "dev"))
    newest = supported_versions()[-1]
    assert data["version"] == f"{newest}.0"
    assert data["minor"] == newest.split(".")[1]
    assert (data["deployments"], data["monitoring"], data["group"]) == ("true", "false", "false")


def test_render_and_lint_take_kube_version_and_api_versions(tmp_path: Path) -> None:
    project = _offline(tmp_path)
    data = _data(
        kd(
            project, "render", "-e", "dev", "--kube-version", "v1.30.4",
            "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor",
        )
    )  # fmt: skip
    assert (data["version"], data["minor"]) == ("1.30.4", "30")
    assert (data["monitoring"], data["group"]) == ("true", "true")
    lint = kd(project, "lint", "-e", "dev", "--api-versions", "x.example.com/v1,y.example.com/v2")
    assert lint.code == 0, lint.stdout + lint.stderr
    bad = kd(project, "render", "-e", "dev", "--kube-version", "latest")
    assert bad.code == 1
    assert '--kube-version: "latest" is not a version' in bad.stderr


def test_diff_and_apply_read_the_cluster_version_and_discovery(
    tmp_path: Path, emulator: Any, ns: str, live: LiveCluster
) -> None:
    project = live_project(
        tmp_path, str(emulator.kubeconfig_path), ns, templates={"caps.yaml": CAPS}, values={}
    )
    ProjectBuilder(tmp_path).package("crds", templates={"crd.yaml": SERVICE_MONITOR_CRD}, values={})
    env = tmp_path / "environments/dev.yaml"
    env.write_text(env.read_text() + "  crds:\n    package: crds\n")
    served = format_version(parse_version(live.cluster.server_version()))

    before = kd(project, "apply", "-e", "dev", "--yes", "crds")
    assert before.code == 0, before.stderr
    result = kd(project, "apply", "-e", "dev", "--yes", "web")
    assert result.code == 0, result.stderr
    cm = live.object("ConfigMap", "web-caps")
    assert cm is not None
    assert cm["data"]["version"] == served
    assert (cm["data"]["monitoring"], cm["data"]["deployments"]) == ("true", "true")
    # offline, the same project renders without the cluster's CRD
    assert _data(kd(project, "render", "-e", "dev", "web"))["monitoring"] == "false"
