"""Diff and apply plan an environment's releases as one: what an earlier release creates (its
Namespace, its CRDs) counts as present for a later release's dry run, so `diff` of a fresh
environment shows the later releases' objects as "to be created" instead of failing with
`NotFound: namespaces ... not found`. `--create-namespace` creates a missing release namespace,
records it, and never deletes it silently."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from tests.helpers import NAMESPACE_TEMPLATE, LiveCluster, ProjectBuilder, kd

NS_PREFIX = "envplan"

CRD_TEMPLATE = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{{ release.namespace }}.example.com
spec:
  group: {{ release.namespace }}.example.com
  names: {kind: Widget, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"""
WIDGET_TEMPLATE = """\
apiVersion: {{ values.group }}/v1
kind: Widget
metadata:
  name: gadget
spec:
  size: 3
"""


def _fresh_namespace() -> str:
    """A namespace name no cluster has yet (tests also run on a long-lived real cluster)."""
    return f"{NS_PREFIX}-{uuid.uuid4().hex[:8]}"


def _namespace(live: LiveCluster, name: str) -> dict[str, Any] | None:
    from kdeploy.kube.client import ObjectRef

    return live.cluster.get(ObjectRef("v1", "Namespace", "", name))


def _two_release_project(root: Path, kubeconfig: str, namespace: str) -> ProjectBuilder:
    """Environment `staging`: release `setup` creates the namespace, release `web` (a ConfigMap)
    lives in it; environment `review`: release `web` alone in the same namespace."""
    proj = ProjectBuilder(root)
    proj.package("setup", templates={"namespace.yaml": NAMESPACE_TEMPLATE})
    proj.package("web")
    for env, releases in (
        ("staging", {"setup": {"package": "setup"}, "web": {"package": "web"}}),
        ("review", {"web": {"package": "web"}}),
    ):
        proj.environment(
            env,
            {"cluster": {"kubeconfig": kubeconfig}, "namespace": namespace, "releases": releases},
        )
    return proj


def test_diff_of_a_fresh_environment_plans_releases_in_a_namespace_an_earlier_one_creates(
    tmp_path: Path, emulator: Any, live: LiveCluster
) -> None:
    namespace = _fresh_namespace()
    proj = _two_release_project(tmp_path, str(emulator.kubeconfig_path), namespace)

    result = kd(proj.root, "diff", "-e", "staging", "--detailed-exitcode")

    assert result.code == 2, result.stderr
    assert "NotFound" not in result.stderr
    assert f"+ create Namespace {namespace}" in result.stdout
    assert f"+ create ConfigMap {namespace}/web-config" in result.stdout
    doc = json.loads(kd(proj.root, "diff", "-e", "staging", "-o", "json").stdout)
    assert [(r["release"], r["summary"]["create"]) for r in doc["releases"]] == [
        ("setup", 1),
        ("web", 1),
    ]
    assert _namespace(live, namespace) is None  # a diff changes nothing


def test_apply_dry_run_of_a_fresh_environment_plans_across_its_releases(
    tmp_path: Path, emulator: Any, live: LiveCluster
) -> None:
    namespace = _fresh_namespace()
    proj = _two_release_project(tmp_path, str(emulator.kubeconfig_path), namespace)

    result = kd(proj.root, "apply", "-e", "staging", "--dry-run")

    assert result.code == 0, result.stderr
    assert f"+ create ConfigMap {namespace}/web-config" in result.stdout
    assert "Dry run: nothing was changed." in result.stderr
    assert _namespace(live, namespace) is None


def test_diff_plans_objects_of_a_crd_an_earlier_release_installs(
    tmp_path: Path, emulator: Any, ns: str
) -> None:
    proj = ProjectBuilder(tmp_path)
    proj.package("crds", templates={"crd.yaml": CRD_TEMPLATE})
    proj.package("widgets", templates={"widget.yaml": WIDGET_TEMPLATE}, values={"group": ""})
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig_path)},
            "namespace": ns,
            "releases": {
                "crds": {"package": "crds"},
                "widgets": {"package": "widgets", "values": {"group": f"{ns}.example.com"}},
            },
        },
    )

    result = kd(proj.root, "diff", "-e", "dev")

    assert result.code == 0, result.stderr
    assert f"+ create Widget.{ns}.example.com {ns}/gadget" in result.stdout


def test_a_missing_namespace_is_named_with_the_way_out_and_nothing_changes(
    tmp_path: Path, emulator: Any, live: LiveCluster
) -> None:
    namespace = _fresh_namespace()
    proj = _two_release_project(tmp_path, str(emulator.kubeconfig_path), namespace)

    for args in (["diff"], ["apply", "--yes"]):
        result = kd(proj.root, *args, "-e", "review")
        assert result.code == 1, result.stdout + result.stderr
        assert f"ConfigMap {namespace}/web-config: namespace {namespace} does not exist" in (
            result.stderr
        )
        assert "--create-namespace" in result.stderr
        assert _namespace(live, namespace) is None


def test_create_namespace_creates_records_and_keeps_the_release_namespace(
    tmp_path: Path, emulator: Any, live: LiveCluster
) -> None:
    namespace = _fresh_namespace()
    proj = _two_release_project(tmp_path, str(emulator.kubeconfig_path), namespace)

    planned = kd(proj.root, "diff", "-e", "review", "--create-namespace", "-o", "json")
    assert planned.code == 0, planned.stderr
    assert json.loads(planned.stdout)["releases"][0]["createNamespace"] is True
    assert _namespace(live, namespace) is None

    applied = kd(proj.root, "apply", "-e", "review", "--yes", "--create-namespace")
    assert applied.code == 0, applied.stderr
    created = _namespace(live, namespace)
    assert created is not None
    assert created["metadata"]["annotations"]["kdeploy.dev/namespace-created-for"] == (
        "release web of environment review"
    )
    history = kd(proj.root, "history", "web", "-e", "review", "-o", "json")
    [revision] = json.loads(history.stdout)["revisions"]
    assert f"created Namespace {namespace} (--create-namespace)" in revision["result"]

    again = kd(proj.root, "apply", "-e", "review", "--yes", "--create-namespace")
    assert again.code == 0, again.stderr
    assert "no changes, nothing recorded" in again.stderr

    removed = kd(proj.root, "uninstall", "web", "-e", "review", "--yes")
    assert removed.code == 0, removed.stderr
    assert f"kept Namespace {namespace} (created by --create-namespace" in removed.stderr
    assert _namespace(live, namespace) is not None


def test_uninstall_deletes_a_created_namespace_only_with_delete_namespaces(
    tmp_path: Path, emulator: Any, live: LiveCluster
) -> None:
    namespace = _fresh_namespace()
    proj = _two_release_project(tmp_path, str(emulator.kubeconfig_path), namespace)
    applied = kd(proj.root, "apply", "-e", "review", "--yes", "--create-namespace")
    assert applied.code == 0, applied.stderr

    removed = kd(proj.root, "uninstall", "web", "-e", "review", "--yes", "--delete-namespaces")

    assert removed.code == 0, removed.stderr
    assert f"deleted Namespace {namespace} (created by --create-namespace)" in removed.stderr
    gone = _namespace(live, namespace)
    assert gone is None or gone["metadata"].get("deletionTimestamp")
