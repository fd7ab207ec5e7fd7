"""diff, apply, prune, rollback, status and uninstall end to end: the real CLI and the official
kubernetes client over HTTP against the built-in API emulator."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from kdeploy.kube.client import ObjectRef
from tests.helpers import CONFIGMAP_TEMPLATE as CONFIGMAP
from tests.helpers import (
    NAMESPACE_TEMPLATE,
    LiveCluster,
    ProjectBuilder,
    kd,
    live_project,
    run_kdeploy,
)
from tests.helpers import SECRET_TEMPLATE as SECRET

PASSWORD = "s3cr3t-Pass-9876"

EXTRA = """\
{% if values.extra %}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-extra
data:
  on: "yes"
{% endif %}
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ release.name }}
spec:
  replicas: {{ values.replicas }}
  selector:
    matchLabels: {app: {{ release.name }}}
  template:
    metadata:
      labels: {app: {{ release.name }}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        ports:
        - containerPort: 80
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: {{ release.name }}
spec:
  selector: {app: {{ release.name }}}
  ports:
  - port: 80
    targetPort: 80
"""
CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"""
BAD_WIDGET = """\
apiVersion: example.com/v9
kind: Widget
metadata:
  name: w
spec: {}
"""


class Live(LiveCluster):
    """Reads the cluster through the real client, for assertions."""

    def get(self, kind: str, name: str, api_version: str = "v1") -> dict[str, Any] | None:
        return self.cluster.get(ObjectRef(api_version, kind, self.ns, name))

    def revision(self, number: int) -> Any:
        """Revision `number` of release web, read back through the history store."""
        from kdeploy.history.configmap import ConfigMapDriver
        from kdeploy.history.store import HistoryStore

        return HistoryStore(ConfigMapDriver(self.api)).get("web", self.ns, number)

    def configmaps(self) -> list[dict[str, Any]]:
        return self.cluster.list_by_labels("v1", "ConfigMap", self.ns, "")

    def history(self) -> dict[int, str]:
        """revision number -> status, from the history ConfigMaps' labels."""
        out = {}
        for cm in self.cluster.list_by_labels(
            "v1",
            "ConfigMap",
            self.ns,
            "app.kubernetes.io/managed-by=kdeploy,kdeploy.dev/release=web",
        ):
            labels = cm["metadata"]["labels"]
            if "kdeploy.dev/revision" in labels and "kdeploy.dev/status" in labels:
                out[int(labels["kdeploy.dev/revision"])] = labels["kdeploy.dev/status"]
        return dict(sorted(out.items()))

    def snapshot(self) -> list[tuple[str, str, str]]:
        """(kind, name, resourceVersion) of everything in the namespace that kdeploy could touch."""
        rows = []
        for api_version, kind in (
            ("v1", "ConfigMap"),
            ("v1", "Secret"),
            ("v1", "Service"),
            ("apps/v1", "Deployment"),
        ):
            for obj in self.cluster.list_by_labels(api_version, kind, self.ns, ""):
                meta = obj["metadata"]
                if meta["name"] == "kube-root-ca.crt":
                    continue  # published into every namespace by the server
                rows.append((kind, meta["name"], meta["resourceVersion"]))
        return sorted(rows)

    def hand_create_configmap(self, name: str, data: dict[str, str]) -> None:
        from kubernetes import client

        client.CoreV1Api(self.api).create_namespaced_config_map(
            self.ns,
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data},
            field_manager="kubectl-create",
        )

    def hand_edit_configmap(self, name: str, data: dict[str, str]) -> None:
        from kubernetes import client

        client.CoreV1Api(self.api).patch_namespaced_config_map(
            name, self.ns, {"data": data}, field_manager="kubectl-edit"
        )


@pytest.fixture
def ns(namespace: str) -> str:
    return namespace


@pytest.fixture
def live(emulator: Any, ns: str) -> Live:
    return Live(str(emulator.kubeconfig_path), ns)


@pytest.fixture
def project(tmp_path: Path, emulator: Any, ns: str) -> Path:
    return live_project(
        tmp_path / "project",
        str(emulator.kubeconfig_path),
        ns,
        templates={
            "configmap.yaml": CONFIGMAP,
            "extra.yaml": EXTRA,
            "secret.yaml": SECRET,
            "deployment.yaml": DEPLOYMENT,
            "service.yaml": SERVICE,
        },
        values={"greeting": "hello", "extra": True, "password": PASSWORD, "replicas": 1},
    )


def changed_lines(text: str) -> list[str]:
    return [
        ln
        for ln in text.splitlines()
        if ln[:1] in "+-" and not ln.startswith(("+++", "---", "+ create", "- delete"))
    ]


def as_stored(manifest: dict[str, Any]) -> dict[str, Any]:
    """A Secret manifest as the server stores it: stringData folded into base64 data."""
    if manifest.get("kind") != "Secret" or "stringData" not in manifest:
        return manifest
    out = {k: v for k, v in manifest.items() if k != "stringData"}
    data = dict(manifest.get("data") or {})
    for key, value in manifest["stringData"].items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    out["data"] = data
    return out


def assert_contains(live: Any, wanted: Any, where: str) -> None:
    """Every field of `wanted` is in `live` with the same value (the server may add defaults)."""
    if isinstance(wanted, dict):
        assert isinstance(live, dict), where
        for key, value in wanted.items():
            assert key in live, f"{where}.{key} missing"
            assert_contains(live[key], value, f"{where}.{key}")
    elif isinstance(wanted, list):
        assert isinstance(live, list) and len(live) == len(wanted), where
        for i, (a, b) in enumerate(zip(live, wanted, strict=True)):
            assert_contains(a, b, f"{where}[{i}]")
    else:
        assert live == wanted, f"{where}: {live!r} != {wanted!r}"


def assert_no_secret_in_configmaps(live: Live) -> None:
    encoded = base64.b64encode(PASSWORD.encode()).decode()
    for cm in live.configmaps():
        text = json.dumps(cm)
        assert PASSWORD not in text and encoded not in text, cm["metadata"]["name"]
        for blob in (cm.get("binaryData") or {}).values():
            import gzip

            raw = base64.b64decode(blob)
            try:
                raw = gzip.decompress(raw)
            except OSError:
                pass
            assert PASSWORD.encode() not in raw and encoded.encode() not in raw


def test_apply_diff_change_prune_and_rollback(
    project: Path, live: Live, tmp_path: Path, emulator: Any
) -> None:
    first = kd(project, "apply", "-e", "dev", "--yes")
    assert first.code == 0, first.stderr
    assert "5 to create, 0 to change, 0 to delete" in first.stdout
    assert live.history() == {1: "deployed"}
    for kind, name, av in (
        ("ConfigMap", "web-config", "v1"),
        ("ConfigMap", "web-extra", "v1"),
        ("Secret", "web-secret", "v1"),
        ("Service", "web", "v1"),
        ("Deployment", "web", "apps/v1"),
    ):
        obj = live.get(kind, name, av)
        assert obj is not None, name
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kdeploy"
    assert PASSWORD not in first.stdout + first.stderr

    same = kd(project, "diff", "-e", "dev", "--detailed-exitcode")
    assert same.code == 0, same.stdout + same.stderr
    assert "0 to create, 0 to change, 0 to delete" in same.stdout

    changed = kd(project, "diff", "-e", "dev", "--detailed-exitcode", "--set", "greeting=bye")
    assert changed.code == 2, changed.stderr
    assert changed_lines(changed.stdout) == ["-  greeting: hello", "+  greeting: bye"]
    assert "0 to create, 1 to change, 0 to delete" in changed.stdout

    second = kd(project, "apply", "-e", "dev", "--yes", "--set", "greeting=bye")
    assert second.code == 0, second.stderr
    assert live.history() == {1: "superseded", 2: "deployed"}
    assert live.get("ConfigMap", "web-config")["data"] == {"greeting": "bye"}  # type: ignore[index]

    pruned = kd(
        project, "apply", "-e", "dev", "--yes", "--set", "greeting=bye", "--set", "extra=false"
    )
    assert pruned.code == 0, pruned.stderr
    assert "0 to create, 0 to change, 1 to delete" in pruned.stdout
    assert live.get("ConfigMap", "web-extra") is None
    assert live.history() == {1: "superseded", 2: "superseded", 3: "deployed"}

    # rollback from an empty directory, with only a kubeconfig
    empty = tmp_path / "empty"
    empty.mkdir()
    back = run_kdeploy(
        "-C",
        str(empty),
        "rollback",
        "web",
        "--to",
        "1",
        "-n",
        live.ns,
        "--yes",
        "--kubeconfig",
        str(emulator.kubeconfig_path),
    )
    assert back.code == 0, back.stderr
    assert "1 to create, 1 to change, 0 to delete" in back.stdout
    assert live.history() == {1: "superseded", 2: "superseded", 3: "superseded", 4: "deployed"}
    assert live.get("ConfigMap", "web-config")["data"] == {"greeting": "hello"}  # type: ignore[index]
    assert live.get("ConfigMap", "web-extra") is not None
    secret = live.get("Secret", "web-secret")
    assert secret is not None
    assert base64.b64decode(secret["data"]["password"]).decode() == PASSWORD

    # the live state equals revision 1's manifests, object by object
    rev1 = live.revision(1)
    assert len(rev1.manifests) == 5
    for manifest in rev1.manifests:
        ref = ObjectRef.of(manifest)
        obj = live.get(ref.kind, ref.name, ref.api_version)
        assert obj is not None, ref
        assert_contains(obj, as_stored(manifest), str(ref))
    after = kd(project, "diff", "-e", "dev", "--detailed-exitcode")
    assert after.code == 0, after.stdout
    assert_no_secret_in_configmaps(live)


def test_diff_json_output(project: Path, live: Live) -> None:
    result = kd(project, "diff", "-e", "dev", "--output", "json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["version"] == 1 and doc["changes"] is True
    assert doc["summary"] == {"create": 5, "change": 0, "delete": 0, "unchanged": 0}
    (rel,) = doc["releases"]
    assert (rel["release"], rel["namespace"]) == ("web", live.ns)
    kinds = sorted((c["action"], c["kind"], c["name"]) for c in rel["changes"])
    assert ("create", "Secret", "web-secret") in kinds
    assert PASSWORD not in result.stdout
    assert live.snapshot() == []


def test_rollback_from_a_failed_revision(project: Path, live: Live) -> None:
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    (project / "packages/webapp/templates/crd.yaml").write_text(CRD)
    (project / "packages/webapp/templates/widget.yaml").write_text(BAD_WIDGET)
    failed = kd(project, "apply", "-e", "dev", "--yes", "--set", "greeting=broken")
    assert failed.code == 1
    assert "Widget in example.com/v9" in failed.stderr
    assert live.history() == {1: "deployed", 2: "failed"}
    assert live.get("CustomResourceDefinition", "widgets.example.com", "apiextensions.k8s.io/v1")

    back = kd(project, "rollback", "web", "-e", "dev", "--yes")
    assert back.code == 0, back.stderr
    assert "revision 3 (rollback to 1) deployed" in back.stderr
    assert live.history() == {1: "superseded", 2: "failed", 3: "deployed"}
    assert live.get("ConfigMap", "web-config")["data"] == {"greeting": "hello"}  # type: ignore[index]
    # the CRD created by the failed revision was pruned: a real API server keeps a deleted CRD,
    # terminating, until its controller has removed the custom resources and its finalizer
    crd = live.get("CustomResourceDefinition", "widgets.example.com", "apiextensions.k8s.io/v1")
    assert crd is None or crd["metadata"].get("deletionTimestamp"), crd
    deadline = time.monotonic() + 60
    while crd is not None and time.monotonic() < deadline:
        time.sleep(0.5)
        crd = live.get("CustomResourceDefinition", "widgets.example.com", "apiextensions.k8s.io/v1")
    assert crd is None, crd


def test_object_created_by_hand_is_refused_without_adopt(project: Path, live: Live) -> None:
    live.hand_create_configmap("web-config", {"greeting": "mine"})
    before = live.snapshot()
    result = kd(project, "apply", "-e", "dev", "--yes")
    assert result.code == 1
    assert (
        f"ConfigMap {live.ns}/web-config exists and is owned by no release: created by hand or "
        "another tool (field managers: kubectl-create)"
    ) in result.stderr
    assert "--adopt" in result.stderr
    assert live.snapshot() == before
    assert live.history() == {}

    adopted = kd(project, "apply", "-e", "dev", "--yes", "--adopt")
    assert adopted.code == 0, adopted.stderr
    assert live.get("ConfigMap", "web-config")["data"] == {"greeting": "hello"}  # type: ignore[index]


def test_object_of_another_release_is_refused(project: Path, live: Live) -> None:
    proj = ProjectBuilder(project)
    proj.package(
        "squatter",
        templates={"cm.yaml": CONFIGMAP.replace("{{ release.name }}-config", "web-config")},
        values={"greeting": "other"},
    )
    env = (project / "environments/dev.yaml").read_text()
    (project / "environments/other.yaml").write_text(
        env.replace("package: webapp", "package: squatter").replace("web:", "other:")
    )
    assert kd(project, "apply", "-e", "other", "--yes").code == 0
    before = live.snapshot()
    result = kd(project, "apply", "-e", "dev", "--yes")
    assert result.code == 1
    assert (
        f'ConfigMap {live.ns}/web-config exists and is owned by kdeploy release "other"'
        in result.stderr
    )
    assert live.snapshot() == before
    assert live.history() == {}


def test_a_hand_edit_of_a_field_kdeploy_set_is_reverted_and_named(
    project: Path, live: Live
) -> None:
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    live.hand_edit_configmap("web-config", {"greeting": "edited"})
    result = kd(project, "apply", "-e", "dev", "--yes", "--set", "greeting=new")
    assert result.code == 0, result.stderr
    assert (
        f"ConfigMap {live.ns}/web-config: reverted drift: .data.greeting was changed by "
        '"kubectl-edit"' in result.stdout
    )
    assert "-  greeting: edited" in result.stdout and "+  greeting: new" in result.stdout
    assert live.get("ConfigMap", "web-config")["data"] == {"greeting": "new"}  # type: ignore[index]
    assert live.history() == {1: "superseded", 2: "deployed"}


def test_status_shows_drift_and_missing(project: Path, live: Live) -> None:
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    ok = kd(project, "status", "web", "-n", live.ns, "--kubeconfig", live.kubeconfig)
    assert ok.code == 0, ok.stderr
    assert "revision 1 (deployed)" in ok.stdout and "drifted" not in ok.stdout
    live.hand_edit_configmap("web-config", {"greeting": "edited"})
    live.cluster.delete(ObjectRef("v1", "ConfigMap", live.ns, "web-extra"))
    drift = kd(project, "status", "web", "-e", "dev")
    assert drift.code == 1
    # `  Kind ns/name  drifted, healthy`: presence and drift first, then health
    lines = {ln.split()[1]: ln.rsplit("  ", 1)[-1] for ln in drift.stdout.splitlines()[1:]}
    assert lines[f"{live.ns}/web-config"] == "drifted, healthy"
    assert lines[f"{live.ns}/web-extra"] == "missing"
    assert lines[f"{live.ns}/web-secret"] == "in sync, healthy"


def test_without_terminal_apply_requires_yes(project: Path, live: Live) -> None:
    result = kd(project, "apply", "-e", "dev")
    assert result.code == 1
    assert "not running on a terminal" in result.stderr and "--yes" in result.stderr
    assert live.snapshot() == [] and live.history() == {}


def test_dry_run_changes_nothing(project: Path, live: Live) -> None:
    result = kd(project, "apply", "-e", "dev", "--dry-run")
    assert result.code == 0, result.stderr
    assert "5 to create" in result.stdout and "Dry run" in result.stderr
    assert live.snapshot() == []


def test_unknown_revision_lists_existing(project: Path, live: Live) -> None:
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    before = live.snapshot()
    result = kd(
        project,
        "rollback",
        "web",
        "--to",
        "9",
        "-n",
        live.ns,
        "--yes",
        "--kubeconfig",
        live.kubeconfig,
    )
    assert result.code == 1
    assert "revision 9 does not exist; existing revisions: 1" in result.stderr
    assert live.snapshot() == before


def test_uninstall_deletes_objects_and_history(project: Path, live: Live) -> None:
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    live.hand_create_configmap("unrelated", {"a": "b"})
    result = kd(
        project, "uninstall", "web", "-n", live.ns, "--yes", "--kubeconfig", live.kubeconfig
    )
    assert result.code == 0, result.stderr
    assert [row[1] for row in live.snapshot()] == ["unrelated"]
    assert live.history() == {}


@pytest.mark.parametrize(
    "args",
    [
        ("diff", "-e", "dev", "--no-such-flag"),
        ("rollback", "web"),
        ("rollback", "web", "-n", "x", "-e", "dev"),
        ("apply", "-e", "dev", "--history-max", "-1"),
    ],
)
def test_usage_errors_exit_64(project: Path, args: tuple[str, ...]) -> None:
    assert kd(project, *args).code == 64


@pytest.mark.kubectl
def test_kubectl_scale_is_reverted_by_the_next_apply_naming_its_manager(
    project: Path, live: Live, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    kubectl = Path(sys.executable).parent / "kubectl"
    if not kubectl.exists():
        pytest.skip("kubectl is not installed")
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    env = {**os.environ, "KUBECONFIG": live.kubeconfig, "HOME": str(tmp_path)}
    scaled = subprocess.run(
        [str(kubectl), "scale", "deployment/web", "--replicas=3", "-n", live.ns],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert scaled.returncode == 0, scaled.stderr
    # let the controllers finish the scale-up, so their status writes cannot move the snapshot
    settled = subprocess.run(
        [str(kubectl), "rollout", "status", "deployment/web", "-n", live.ns, "--timeout=60s"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert settled.returncode == 0, settled.stderr
    status = kd(project, "status", "web", "-e", "dev")
    assert status.code == 1 and "drifted" in status.stdout

    result = kd(project, "apply", "-e", "dev", "--yes", "--set", "greeting=new")
    assert result.code == 0, result.stderr
    # the manager is kubectl's (its name depends on the kubectl version), via the scale subresource
    assert (
        f'Deployment.apps {live.ns}/web: reverted drift: .spec.replicas was changed by "kubectl'
        in result.stdout
    )
    assert 'with subresource "scale"' in result.stdout
    assert live.get("Deployment", "web", "apps/v1")["spec"]["replicas"] == 1  # type: ignore[index]
    assert live.history() == {1: "superseded", 2: "deployed"}
    after = kd(project, "status", "web", "-e", "dev")
    assert "drifted" not in after.stdout, after.stdout


def test_releases_apply_in_file_order_and_a_failure_stops_the_rest(
    tmp_path: Path, emulator: Any, live: Live
) -> None:
    root = tmp_path / "multi"
    proj = ProjectBuilder(root)
    keyed = CONFIGMAP.replace("greeting:", "{{ values.key }}:")
    proj.package(
        "webapp",
        templates={"configmap.yaml": keyed, "deployment.yaml": DEPLOYMENT},
        values={"greeting": "hello", "replicas": 1, "key": "greeting"},
    )
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig_path)},
            "namespace": live.ns,
            "releases": {
                "zeta": {"package": "webapp"},
                "alpha": {"package": "webapp", "values": {"key": "not a valid key!"}},
                "mid": {"package": "webapp"},
            },
        },
    )
    result = run_kdeploy("-C", str(root), "apply", "-e", "dev", "--yes")
    assert result.code == 1
    assert f"ConfigMap {live.ns}/alpha-config: Invalid: data[not a valid key!]:" in result.stderr
    assert "\n" not in result.stderr.split("Error: ", 1)[1].split("\n  hint")[0].strip()
    names = [name for kind, name, _ in live.snapshot() if kind != "ConfigMap" or "config" in name]
    assert "zeta" in names and "zeta-config" in names
    assert not any(n.startswith(("alpha", "mid")) for n in names)


def test_request_budget_one_dry_run_and_one_write_per_changed_object_and_no_per_object_reads(
    project: Path, live: Live, own_emulator: Any
) -> None:
    assert kd(project, "apply", "-e", "dev", "--yes", "--no-wait").code == 0
    start = len(own_emulator.request_log)
    assert kd(project, "apply", "-e", "dev", "--yes", "--no-wait", "--set", "greeting=x").code == 0
    requests = own_emulator.request_log[start:]
    # history (ConfigMaps/Secrets named kdeploy.*, created by POST) and the lock Lease aside
    ours = [
        (m, p.split("?")[0], p)
        for m, p in requests
        if "kdeploy." not in p and "/leases" not in p and m != "POST"
    ]
    writes = [(m, path) for m, path, full in ours if m != "GET" and "dryRun" not in full]
    assert writes == [("PATCH", f"/api/v1/namespaces/{live.ns}/configmaps/web-config")]
    # only the changed object is dry-run applied: the others' live state shows kdeploy's last
    # apply intact (kdeploy.noop_apply)
    dry_runs = [path for m, path, full in ours if m == "PATCH" and "dryRun" in full]
    assert dry_runs == [f"/api/v1/namespaces/{live.ns}/configmaps/web-config"]
    single_gets = [
        path
        for m, path, full in ours
        if m == "GET" and "labelSelector" not in full and path not in ("/api", "/apis")
    ]
    assert single_gets == []


def test_a_release_that_creates_its_own_namespace(tmp_path: Path, emulator: Any) -> None:
    import uuid

    ns = f"own-{uuid.uuid4().hex[:8]}"
    root = tmp_path / "own"
    proj = ProjectBuilder(root)
    proj.package(
        "webapp",
        templates={"namespace.yaml": NAMESPACE_TEMPLATE, "configmap.yaml": CONFIGMAP},
        values={"greeting": "hello"},
    )
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig_path)},
            "namespace": ns,
            "releases": {"web": {"package": "webapp"}},
        },
    )
    first = run_kdeploy("-C", str(root), "apply", "-e", "dev", "--yes")
    assert first.code == 0, first.stderr
    assert "2 to create, 0 to change, 0 to delete" in first.stdout
    live = Live(str(emulator.kubeconfig_path), ns)
    assert live.history() == {1: "deployed"}
    assert live.get("ConfigMap", "web-config") is not None
    again = run_kdeploy("-C", str(root), "diff", "-e", "dev", "--detailed-exitcode")
    assert again.code == 0, again.stdout + again.stderr
    gone = run_kdeploy(
        "-C", str(root), "uninstall", "web", "-e", "dev", "--yes", "--delete-namespaces"
    )
    assert gone.code == 0, gone.stderr
    namespace = live.get("Namespace", ns)
    assert namespace is None or namespace["metadata"].get("deletionTimestamp")
