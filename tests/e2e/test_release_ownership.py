"""A release is (namespace, name): two releases of one name in two namespaces never touch each
other's objects, and a Namespace is only deleted when asked for explicitly. The real CLI over the
real kubernetes client against the emulator."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from kdeploy.kube.client import ObjectRef
from tests.helpers import CONFIGMAP_TEMPLATE, NAMESPACE_TEMPLATE, LiveCluster, ProjectBuilder, kd

CLUSTER_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ values.role }}
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get"]
"""
# a second namespace the release creates only while `values.extra` is true
EXTRA_NAMESPACE = """\
{% if values.extra %}
apiVersion: v1
kind: Namespace
metadata:
  name: {{ release.namespace }}-extra
{% endif %}
"""
RBAC = "rbac.authorization.k8s.io/v1"


def _suffix() -> str:
    return uuid.uuid4().hex[:6]


def _get(cluster: LiveCluster, api_version: str, kind: str, name: str, ns: str = "") -> Any:
    return cluster.cluster.get(ObjectRef(api_version, kind, ns, name))


def _alive(cluster: LiveCluster, name: str) -> bool:
    obj = _get(cluster, "v1", "Namespace", name)
    return obj is not None and not obj["metadata"].get("deletionTimestamp")


def _history(project: Path, release: str, *where: str) -> Any:
    import json

    result = kd(project, "history", release, *where, "-o", "json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)["revisions"]


@pytest.fixture
def cluster(emulator: Any) -> LiveCluster:
    return LiveCluster(str(emulator.kubeconfig_path), "default")


@pytest.fixture
def prod_and_staging(tmp_path: Path, emulator: Any) -> tuple[Path, str, str]:
    """Release podinfo in prod and in staging (which extends prod), each rendering its own
    Namespace; returns (project, prod namespace, staging namespace)."""
    suffix = _suffix()
    prod, staging = f"podinfo-prod-{suffix}", f"podinfo-staging-{suffix}"
    proj = ProjectBuilder(tmp_path / "project")
    proj.package(
        "podinfo",
        templates={"namespace.yaml": NAMESPACE_TEMPLATE, "configmap.yaml": CONFIGMAP_TEMPLATE},
        values={"greeting": "hello"},
    )
    kubeconfig = str(emulator.kubeconfig_path)
    proj.environment(
        "prod",
        {
            "cluster": {"kubeconfig": kubeconfig},
            "namespace": prod,
            "releases": {"podinfo": {"package": "podinfo"}},
        },
    )
    proj.environment(
        "staging", {"extends": "prod", "cluster": {"kubeconfig": kubeconfig}, "namespace": staging}
    )
    return proj.root, prod, staging


def test_uninstall_in_staging_leaves_the_prod_release_of_the_same_name_alone(
    prod_and_staging: tuple[Path, str, str], cluster: LiveCluster
) -> None:
    project, prod, staging = prod_and_staging
    assert kd(project, "apply", "-e", "prod", "--yes", "--no-wait").code == 0
    assert kd(project, "apply", "-e", "staging", "--yes", "--no-wait").code == 0

    result = kd(project, "uninstall", "podinfo", "-e", "staging", "--yes")

    assert result.code == 0, result.stderr
    assert prod not in result.stderr + result.stdout
    assert _alive(cluster, prod)
    assert _get(cluster, "v1", "ConfigMap", "podinfo-config", prod) is not None
    assert [r["status"] for r in _history(project, "podinfo", "-e", "prod")] == ["deployed"]
    # staging's own objects went; its Namespace stays without --delete-namespaces
    assert _get(cluster, "v1", "ConfigMap", "podinfo-config", staging) is None
    assert _alive(cluster, staging)


def _release_web_in_two_namespaces(
    tmp_path: Path, emulator: Any, cluster: LiveCluster
) -> tuple[ProjectBuilder, str, str, str]:
    """A project whose environments a and b deploy release `web` (a ClusterRole and a ConfigMap)
    to two fresh namespaces: (project, ClusterRole name, namespace a, namespace b)."""
    role = f"web-reader-{_suffix()}"
    a, b = f"a-{_suffix()}", f"b-{_suffix()}"
    for name in (a, b):
        cluster.create_namespace(name)
    proj = ProjectBuilder(tmp_path / "project")
    proj.package(
        "web",
        templates={"role.yaml": CLUSTER_ROLE, "configmap.yaml": CONFIGMAP_TEMPLATE},
        values={"greeting": "hello", "role": role},
    )
    kubeconfig = str(emulator.kubeconfig_path)
    for env, ns in (("a", a), ("b", b)):
        proj.environment(
            env,
            {
                "cluster": {"kubeconfig": kubeconfig},
                "namespace": ns,
                "releases": {"web": {"package": "web"}},
            },
        )
    return proj, role, a, b


def test_same_release_name_in_another_namespace_cannot_take_over_a_cluster_role(
    tmp_path: Path, emulator: Any, cluster: LiveCluster
) -> None:
    proj, role, a, b = _release_web_in_two_namespaces(tmp_path, emulator, cluster)
    assert kd(proj.root, "apply", "-e", "a", "--yes", "--no-wait").code == 0
    before = _get(cluster, RBAC, "ClusterRole", role)

    result = kd(proj.root, "apply", "-e", "b", "--yes", "--no-wait")

    assert result.code == 1
    assert (
        f'ClusterRole.rbac.authorization.k8s.io {role} exists and is owned by kdeploy release "web" in namespace {a}'
        in result.stderr
    )
    after = _get(cluster, RBAC, "ClusterRole", role)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert _get(cluster, "v1", "ConfigMap", "web-config", b) is None


def test_uninstall_keeps_an_object_in_its_history_that_another_release_now_owns(
    tmp_path: Path, emulator: Any, cluster: LiveCluster
) -> None:
    proj, role, a, b = _release_web_in_two_namespaces(tmp_path, emulator, cluster)
    assert kd(proj.root, "apply", "-e", "b", "--yes", "--no-wait").code == 0
    # release web in namespace a takes the ClusterRole over explicitly
    adopted = kd(proj.root, "apply", "-e", "a", "--yes", "--no-wait", "--adopt")
    assert adopted.code == 0, adopted.stderr

    result = kd(proj.root, "uninstall", "web", "-e", "b", "--yes")

    assert result.code == 0, result.stderr
    owner = _get(cluster, RBAC, "ClusterRole", role)
    assert owner is not None
    assert owner["metadata"]["annotations"]["kdeploy.dev/release-namespace"] == a
    assert (
        f'kept ClusterRole.rbac.authorization.k8s.io {role}: owned by kdeploy release "web" in namespace {a}'
        in (result.stderr)
    )
    assert _get(cluster, "v1", "ConfigMap", "web-config", b) is None


def _strip_namespace_annotation(cluster: LiveCluster, role: str) -> None:
    """Make the ClusterRole look stamped by a kdeploy that recorded the release name only."""
    from kubernetes import client

    client.RbacAuthorizationV1Api(cluster.api).patch_cluster_role(
        role,
        [{"op": "remove", "path": "/metadata/annotations/kdeploy.dev~1release-namespace"}],
    )


def test_an_object_stamped_with_the_release_name_only_is_claimed_by_the_release_that_recorded_it(
    tmp_path: Path, emulator: Any, cluster: LiveCluster
) -> None:
    proj, role, a, _b = _release_web_in_two_namespaces(tmp_path, emulator, cluster)
    assert kd(proj.root, "apply", "-e", "a", "--yes", "--no-wait").code == 0
    _strip_namespace_annotation(cluster, role)
    before = _get(cluster, RBAC, "ClusterRole", role)

    # b's history does not list it: ambiguous, so refused
    refused = kd(proj.root, "apply", "-e", "b", "--yes", "--no-wait")
    assert refused.code == 1
    assert (
        f'ClusterRole.rbac.authorization.k8s.io {role} exists and is owned by kdeploy release "web"'
        in refused.stderr
    )
    assert "without its namespace" in refused.stderr
    assert _get(cluster, RBAC, "ClusterRole", role) == before

    # a recorded it: a's next apply stamps its namespace on it again
    claimed = kd(proj.root, "apply", "-e", "a", "--yes", "--no-wait")
    assert claimed.code == 0, claimed.stderr
    owner = _get(cluster, RBAC, "ClusterRole", role)
    assert owner["metadata"]["annotations"]["kdeploy.dev/release-namespace"] == a


def test_prune_keeps_a_namespace_unless_asked_to_delete_namespaces(
    tmp_path: Path, emulator: Any, cluster: LiveCluster
) -> None:
    ns = f"ns-prune-{_suffix()}"
    cluster.create_namespace(ns)
    proj = ProjectBuilder(tmp_path / "project")
    proj.package(
        "web",
        templates={"extra.yaml": EXTRA_NAMESPACE, "configmap.yaml": CONFIGMAP_TEMPLATE},
        values={"greeting": "hello", "extra": True},
    )
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig_path)},
            "namespace": ns,
            "releases": {"web": {"package": "web"}},
        },
    )
    extra = f"{ns}-extra"
    assert kd(proj.root, "apply", "-e", "dev", "--yes", "--no-wait").code == 0
    LiveCluster(str(emulator.kubeconfig_path), extra).cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "someone-elses", "namespace": extra},
            "data": {"a": "b"},
        },
        dry_run=False,
        force=False,
    )

    diff = kd(proj.root, "diff", "-e", "dev", "--set", "extra=false")
    assert (
        f"! Namespace {extra} is deleted, with everything in it, only with --delete-namespaces"
        in (diff.stderr)
    )
    kept = kd(proj.root, "apply", "-e", "dev", "--yes", "--no-wait", "--set", "extra=false")

    assert kept.code == 0, kept.stderr
    assert _alive(cluster, extra)
    assert f"kept Namespace {extra}" in kept.stderr
    assert "--delete-namespaces" in kept.stderr
    # still recorded, so a later apply with the flag deletes it
    deleted = kd(
        proj.root,
        "apply",
        "-e",
        "dev",
        "--yes",
        "--no-wait",
        "--set",
        "extra=false",
        "--delete-namespaces",
    )
    assert deleted.code == 0, deleted.stderr
    assert not _alive(cluster, extra)
    assert f"Namespace {extra} holds 1 object (1 ConfigMap)" in deleted.stderr
    assert "not owned by release web" in deleted.stderr
    assert f"deleted Namespace {extra}" in deleted.stderr


def test_uninstall_deletes_its_namespace_only_with_delete_namespaces(
    tmp_path: Path, emulator: Any, cluster: LiveCluster
) -> None:
    ns = f"ns-own-{_suffix()}"
    proj = ProjectBuilder(tmp_path / "project")
    proj.package(
        "web",
        templates={"namespace.yaml": NAMESPACE_TEMPLATE, "configmap.yaml": CONFIGMAP_TEMPLATE},
        values={"greeting": "hello"},
    )
    proj.package("api")
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig_path)},
            "namespace": ns,
            "releases": {"web": {"package": "web"}},
        },
    )
    assert kd(proj.root, "apply", "-e", "dev", "--yes", "--no-wait").code == 0
    # a second release lives in the same namespace
    proj.environment(
        "other",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig_path)},
            "namespace": ns,
            "releases": {"api": {"package": "api"}},
        },
    )
    assert kd(proj.root, "apply", "-e", "other", "--yes", "--no-wait").code == 0

    kept = kd(proj.root, "uninstall", "web", "-e", "dev", "--yes")
    assert kept.code == 0, kept.stderr
    assert _alive(cluster, ns)
    assert f"kept Namespace {ns}" in kept.stderr
    assert "--delete-namespaces" in kept.stderr
    assert f"kubectl delete namespace {ns}" in kept.stderr
    assert _get(cluster, "v1", "ConfigMap", "web-config", ns) is None
    assert _get(cluster, "v1", "ConfigMap", "api-config", ns) is not None

    # web is gone with its history; the namespace is api's too now, so make web own it again
    assert kd(proj.root, "apply", "-e", "dev", "--yes", "--no-wait").code == 0
    gone = kd(proj.root, "uninstall", "web", "-e", "dev", "--yes", "--delete-namespaces")
    assert gone.code == 0, gone.stderr
    assert f"Namespace {ns} holds" in gone.stderr
    assert "the history of release api" in gone.stderr
    assert not _alive(cluster, ns)


@pytest.mark.parametrize(
    "args",
    [
        ("history", "h,kdeploy.dev/revision", "-n", "default"),
        ("get", "manifest", "Web", "-n", "default"),
        ("status", "web!", "-n", "default"),
        ("rollback", "a=b", "-n", "default", "--yes"),
        ("uninstall", "web,x", "-n", "default", "--yes"),
        ("unlock", "web", "-n", "Bad_NS"),
        ("history", "web", "-n", "a,b"),
        ("diff", "-e", "dev", "web,x"),
        ("apply", "-e", "dev", "--yes", "x" * 64),
        ("render", "-e", "dev", "Web"),
        ("lint", "-e", "dev", "web\n"),
    ],
)
def test_release_and_namespace_names_are_validated_on_the_command_line(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    proj = ProjectBuilder(tmp_path)
    proj.package("web")
    proj.environment("dev", {"namespace": "dev", "releases": {"web": {"package": "web"}}})

    result = kd(tmp_path, *args)

    assert result.code == 64, result.stdout + result.stderr
    assert "is not a valid" in result.stderr
    assert "lowercase letters, digits and '-'" in result.stderr


# -- item: status marks objects another release or tool owns ------------------------------------

SHARED_CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: shared
data:
  owner: {{ release.name }}
"""


def test_status_marks_objects_owned_by_another_release_or_tool(
    tmp_path: Path, cluster: LiveCluster, emulator: Any
) -> None:
    import json

    from kubernetes import client

    ns = f"own-{_suffix()}"
    cluster.create_namespace(ns)
    proj = ProjectBuilder(tmp_path / "proj")
    proj.package("shared", templates={"cm.yaml": SHARED_CONFIGMAP})
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig_path)},
            "namespace": ns,
            "releases": {"web": {"package": "shared"}, "api": {"package": "shared"}},
        },
    )
    assert kd(proj.root, "apply", "-e", "dev", "web", "--yes", "--no-wait").code == 0
    assert kd(proj.root, "status", "web", "-e", "dev").code == 0
    taken = kd(proj.root, "apply", "-e", "dev", "api", "--yes", "--no-wait", "--adopt")
    assert taken.code == 0, taken.stdout + taken.stderr

    status = kd(proj.root, "status", "web", "-e", "dev")
    assert status.code == 1, status.stdout + status.stderr
    assert f'ConfigMap {ns}/shared  owned by kdeploy release "api" in namespace {ns}' in (
        status.stdout
    )
    (obj,) = json.loads(kd(proj.root, "status", "web", "-e", "dev", "-o", "json").stdout)["objects"]
    assert obj["state"] == "not owned"
    assert obj["owner"] == f'kdeploy release "api" in namespace {ns}'

    # another tool relabels it as its own
    client.CoreV1Api(cluster.api).patch_namespaced_config_map(
        "shared",
        ns,
        {
            "metadata": {
                "labels": {
                    "app.kubernetes.io/managed-by": "Helm",
                    "app.kubernetes.io/instance": None,
                },
                "annotations": {
                    "meta.helm.sh/release-name": "legacy",
                    "meta.helm.sh/release-namespace": ns,
                },
            }
        },
    )
    api = kd(proj.root, "status", "api", "-e", "dev")
    assert api.code == 1, api.stdout + api.stderr
    assert f'ConfigMap {ns}/shared  owned by Helm release "{ns}/legacy"' in api.stdout
