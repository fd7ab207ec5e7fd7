"""Transient API failures and concurrency end to end: the real CLI and client against the emulator
with fault injection (503s, 429 with Retry-After, a lost answer to a history write, a permanent
500), `--concurrency` and `apply --parallel`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kdeploy.emulator.types import FaultRule
from kdeploy.kube.client import ObjectRef
from tests.helpers import ProjectBuilder, run_kdeploy

OBJECTS = """\
{% for i in range(values.count) %}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-config-{{ i }}
data:
  index: "{{ i }}"
  greeting: {{ values.greeting | quote }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ release.name }}-svc-{{ i }}
spec:
  selector: {app: {{ release.name }}}
  ports:
  - port: {{ 8000 + i }}
{% endfor %}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ release.name }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ release.name }}
spec:
  replicas: 1
  selector:
    matchLabels: {app: {{ release.name }}}
  template:
    metadata:
      labels: {app: {{ release.name }}}
    spec:
      serviceAccountName: {{ release.name }}
      containers:
      - name: app
        image: nginx:1.27
"""


def make_project(
    root: Path, kubeconfig: str, envs: dict[str, tuple[str, list[str]]], count: int = 3
) -> Path:
    """A project with package `app` and environments name -> (namespace, releases)."""
    proj = ProjectBuilder(root)
    proj.package(
        "app", templates={"objects.yaml": OBJECTS}, values={"count": count, "greeting": "hi"}
    )
    for env, (namespace, releases) in envs.items():
        proj.environment(
            env,
            {
                "cluster": {"kubeconfig": kubeconfig},
                "namespace": namespace,
                "releases": {r: {"package": "app"} for r in releases},
            },
        )
    return root


class Cluster:
    """Reads the cluster and its history through the real client, for assertions."""

    def __init__(self, kubeconfig: str) -> None:
        from kdeploy.kube.config import ClusterTarget, new_api_client
        from kdeploy.kube.real import RealCluster

        self.api = new_api_client(ClusterTarget(kubeconfig=kubeconfig))
        self.cluster = RealCluster(self.api)

    def get(self, kind: str, namespace: str, name: str, api_version: str = "v1") -> Any:
        return self.cluster.get(ObjectRef(api_version, kind, namespace, name))

    def history(self, namespace: str, release: str) -> dict[int, str]:
        """revision -> status, from the history head ConfigMaps."""
        heads = self.cluster.list_by_labels(
            "v1",
            "ConfigMap",
            namespace,
            f"app.kubernetes.io/managed-by=kdeploy,kdeploy.dev/release={release}",
        )
        return {
            int(cm["metadata"]["labels"]["kdeploy.dev/revision"]): cm["metadata"]["labels"][
                "kdeploy.dev/status"
            ]
            for cm in heads
        }

    def state(self, namespace: str, release: str) -> list[tuple[str, str, Any]]:
        """(kind, name, content) of the release's objects, without server-assigned fields."""
        rows: list[tuple[str, str, Any]] = []
        for api_version, kind, field in (
            ("v1", "ConfigMap", "data"),
            ("v1", "Service", "spec"),
            ("v1", "ServiceAccount", ""),
            ("apps/v1", "Deployment", "spec"),
        ):
            for obj in self.cluster.list_by_labels(
                api_version, kind, namespace, f"app.kubernetes.io/instance={release}"
            ):
                if obj["metadata"]["name"].startswith("kdeploy."):
                    continue  # history
                content = obj.get(field)
                if kind == "Service":
                    content = {k: v for k, v in content.items() if "clusterIP" not in k}
                if kind == "ServiceAccount":
                    content = None
                rows.append((kind, obj["metadata"]["name"], content))
        return sorted(rows, key=lambda r: (r[0], r[1]))


@pytest.fixture
def cluster(own_emulator: Any) -> Cluster:
    return Cluster(str(own_emulator.kubeconfig_path))


@pytest.fixture
def faults(own_emulator: Any) -> Any:
    yield own_emulator
    own_emulator.clear_faults()


def apply(project: Path, env: str, *args: str) -> Any:
    return run_kdeploy("-C", str(project), "apply", "-e", env, "--yes", "--no-wait", *args)


def requests_to(emulator: Any, method: str, pattern: str) -> int:
    return sum(1 for m, p in emulator.request_log if m == method and re.search(pattern, p))


def test_503_on_the_first_server_side_applies_is_retried_and_the_revision_deployed(
    tmp_path: Path, faults: Any, cluster: Cluster, namespace: str
) -> None:
    project = make_project(tmp_path, faults.kubeconfig_path, {"dev": (namespace, ["web"])})
    real_apply = rf"/namespaces/{namespace}/[a-z]+/web[^?]*\?(?!.*dryRun)"
    rule = FaultRule(method="PATCH", path=real_apply, status=503, times=3)
    faults.add_fault(rule)
    result = apply(project, "dev")
    assert result.code == 0, result.stderr
    assert rule.seen >= 4  # three refused, then the same requests again
    assert "ServiceUnavailable" in result.stderr and "retrying in" in result.stderr
    assert cluster.history(namespace, "web") == {1: "deployed"}
    assert cluster.get("Deployment", namespace, "web", "apps/v1") is not None
    assert cluster.get("ConfigMap", namespace, "web-config-2") is not None


def test_429_retry_after_is_honoured(
    tmp_path: Path, faults: Any, cluster: Cluster, namespace: str
) -> None:
    project = make_project(tmp_path, faults.kubeconfig_path, {"dev": (namespace, ["web"])})
    path = rf"/namespaces/{namespace}/deployments/web\?(?!.*dryRun)"
    rule = FaultRule(method="PATCH", path=path, status=429, retry_after=1, times=1)
    faults.add_fault(rule)
    result = apply(project, "dev")
    assert result.code == 0, result.stderr
    # the throttled request was sent again after the server's Retry-After (1s)
    assert rule.seen == 2
    assert requests_to(faults, "PATCH", path) == 2
    assert f"apply Deployment.apps {namespace}/web: TooManyRequests" in result.stderr
    assert "retrying in 1.0s" in result.stderr
    assert cluster.history(namespace, "web") == {1: "deployed"}


def test_lost_answer_to_the_history_create_records_one_revision(
    tmp_path: Path, faults: Any, cluster: Cluster, namespace: str
) -> None:
    project = make_project(tmp_path, faults.kubeconfig_path, {"dev": (namespace, ["web"])})
    # the head ConfigMap of revision 1 is created, but its answer is lost (connection dropped)
    head = rf"/namespaces/{namespace}/configmaps(\?|$)"
    rule = FaultRule(method="POST", path=head, action="drop-after", times=1)
    faults.add_fault(rule)
    result = apply(project, "dev")
    assert result.code == 0, result.stderr
    assert rule.seen >= 2  # the create was repeated and met its own first attempt
    assert cluster.history(namespace, "web") == {1: "deployed"}
    history = run_kdeploy("history", "web", "-n", namespace, "--kubeconfig", faults.kubeconfig_path)
    assert history.code == 0, history.stderr
    faults.clear_faults()
    again = apply(project, "dev", "--set", "greeting=again")
    assert again.code == 0, again.stderr
    assert cluster.history(namespace, "web") == {1: "superseded", 2: "deployed"}


def test_permanent_500_fails_clearly_records_failed_and_the_next_apply_works(
    tmp_path: Path, faults: Any, cluster: Cluster, namespace: str
) -> None:
    project = make_project(tmp_path, faults.kubeconfig_path, {"dev": (namespace, ["web"])})
    path = rf"/namespaces/{namespace}/deployments/web\?(?!.*dryRun)"
    faults.add_fault(FaultRule(method="PATCH", path=path, status=500, times=None))
    result = apply(project, "dev")
    assert result.code == 1
    message = result.stderr
    assert f"apply Deployment.apps {namespace}/web: InternalError" in message
    assert "(HTTP 500); gave up after 6 attempts" in message
    assert requests_to(faults, "PATCH", path) == 6
    assert cluster.history(namespace, "web") == {1: "failed"}
    faults.clear_faults()
    again = apply(project, "dev")
    assert again.code == 0, again.stderr
    assert cluster.history(namespace, "web") == {1: "failed", 2: "deployed"}
    assert cluster.get("Deployment", namespace, "web", "apps/v1") is not None


def test_concurrency_1_and_default_produce_the_same_cluster_state(
    tmp_path: Path, own_emulator: Any, cluster: Cluster, namespace: str
) -> None:
    from kubernetes import client

    other = f"{namespace}-b"
    client.CoreV1Api(cluster.api).create_namespace({"metadata": {"name": other}})
    try:
        project = make_project(
            tmp_path,
            own_emulator.kubeconfig_path,
            {"one": (namespace, ["web"]), "many": (other, ["web"])},
            count=12,
        )
        serial = apply(project, "one", "--concurrency", "1")
        assert serial.code == 0, serial.stderr
        concurrent = apply(project, "many")
        assert concurrent.code == 0, concurrent.stderr
        assert cluster.state(namespace, "web") == cluster.state(other, "web")
        assert len(cluster.state(namespace, "web")) == 12 * 2 + 2
        # the same lines in the same (install) order, whatever finished first
        strip = lambda text, ns: [  # noqa: E731
            ln.replace(ns, "NS") for ln in text.splitlines() if ln.startswith("  created ")
        ]
        assert strip(serial.stderr, namespace) == strip(concurrent.stderr, other)
        # prune runs phase by phase too: drop half the objects with both settings
        for env, extra in (("one", ["--concurrency", "1"]), ("many", [])):
            pruned = apply(project, env, "--set", "count=6", *extra)
            assert pruned.code == 0, pruned.stderr
            assert pruned.stderr.count("  deleted ") == 12
        assert cluster.state(namespace, "web") == cluster.state(other, "web")
    finally:
        client.CoreV1Api(cluster.api).delete_namespace(other)


def test_parallel_attempts_every_release_and_fails_when_one_does(
    tmp_path: Path, faults: Any, cluster: Cluster, namespace: str
) -> None:
    project = make_project(tmp_path, faults.kubeconfig_path, {"dev": (namespace, ["bad", "web"])})
    forbidden = rf"/namespaces/{namespace}/configmaps/bad-config-0\?(?!.*dryRun)"
    faults.add_fault(FaultRule(method="PATCH", path=forbidden, status=403, times=None))
    # default: file order, the first failure stops the rest
    serial = apply(project, "dev")
    assert serial.code == 1
    assert f"apply ConfigMap {namespace}/bad-config-0: Forbidden" in serial.stderr
    assert cluster.history(namespace, "web") == {}
    # --parallel: both are attempted, each under its own lock, and a summary says what happened
    parallel = apply(project, "dev", "--parallel")
    assert parallel.code == 1
    assert cluster.history(namespace, "web") == {1: "deployed"}
    assert cluster.history(namespace, "bad") == {1: "failed", 2: "failed"}
    assert f"bad (namespace {namespace}): FAILED: apply ConfigMap" in parallel.stderr
    assert f"web (namespace {namespace}): revision 1 deployed" in parallel.stderr
    assert "1 of 2 releases failed: bad" in parallel.stderr
    # the locks were released
    leases = cluster.cluster.list_by_labels(
        "coordination.k8s.io/v1", "Lease", namespace, "app.kubernetes.io/managed-by=kdeploy"
    )
    assert [lease for lease in leases if (lease.get("spec") or {}).get("holderIdentity")] == []


def test_history_create_accepts_its_own_earlier_write_and_refuses_another(
    cluster: Cluster, namespace: str
) -> None:
    from kdeploy.errors import HistoryError
    from kdeploy.history.configmap import ConfigMapDriver
    from kdeploy.history.driver import Record

    driver = ConfigMapDriver(cluster.api)
    ours = Record("web", namespace, 1, "pending", {"who": "alice"}, payload=b"ours")
    driver.create(ours)
    driver.create(ours)  # as after a lost answer: the same revision is already there
    theirs = Record("web", namespace, 1, "pending", {"who": "bob"}, payload=b"theirs")
    with pytest.raises(HistoryError, match=r"revision 1 of release web already exists"):
        driver.create(theirs)
    stored = driver.get("web", namespace, 1, with_secrets=False)
    assert stored is not None and stored.payload == b"ours" and stored.meta == {"who": "alice"}


def test_the_clients_own_retries_do_not_multiply_with_ours(
    faults: Any, cluster: Cluster, namespace: str
) -> None:
    from kdeploy.errors import ClusterError
    from kdeploy.kube.real import RealCluster
    from kdeploy.kube.retry import Retrier

    # left at its default, urllib3 would itself repeat a GET answered 503 with Retry-After 3 times
    path = rf"/namespaces/{namespace}/configmaps/probe$"
    faults.add_fault(FaultRule(method="GET", path=path, status=503, retry_after=0, times=None))
    fast = RealCluster(cluster.api, retrier=Retrier(sleep=lambda _s: None))
    with pytest.raises(ClusterError, match="gave up after 6 attempts"):
        fast.get(ObjectRef("v1", "ConfigMap", namespace, "probe"))
    assert requests_to(faults, "GET", path) == 6
