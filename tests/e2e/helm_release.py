"""A Helm release made by the real helm binary, for the `kdeploy import helm` tests: a small
chart with a ConfigMap, a Secret, a Deployment, an optional ConfigMap, a hook and a test hook,
installed and upgraded into a namespace; and readers of what Helm and kdeploy left there."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import yaml

from kdeploy.kube.client import ObjectRef
from tests.emulator.cli_clients import Cli, helm_binary
from tests.helpers import LiveCluster

CHART_YAML = {
    "apiVersion": "v2",
    "name": "shop",
    "version": "1.2.0",
    "appVersion": "2.0.1",
}
VALUES = {"greeting": "one", "replicas": 1, "password": "first-Pass-1", "extra": False}
TEMPLATES = {
    "configmap.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
  labels:
    app.kubernetes.io/managed-by: {{ .Release.Service }}
data:
  greeting: {{ .Values.greeting | quote }}
""",
    "secret.yaml": """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-secret
stringData:
  password: {{ .Values.password | quote }}
""",
    "deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
      - name: app
        image: {{ .Values.image | default "nginx:1.27" }}
""",
    "extra.yaml": """\
{{- if .Values.extra }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-extra
data:
  enabled: "yes"
{{- end }}
""",
    "hook.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-hook
  annotations:
    helm.sh/hook: post-install,post-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
data:
  ran: "yes"
""",
    "tests/test.yaml": """\
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations:
    helm.sh/hook: test
spec:
  restartPolicy: Never
  containers:
  - name: test
    image: busybox
""",
}
# revision 2 and 3 of the release (revision 1 is the chart's defaults); 3 also adds web-extra
UPGRADES = (
    ("greeting=two", "replicas=2"),
    ("greeting=three", "replicas=3", "password=third-Pass-3", "extra=true"),
)


def helm_cli(kubeconfig: str, home: Path, driver: str = "secret") -> Cli:
    """The real helm against the cluster of `kubeconfig`, with its own HOME under `home`."""
    binary = helm_binary()
    assert binary is not None
    home.mkdir(parents=True, exist_ok=True)
    return Cli(
        binary,
        Path(kubeconfig),
        home,
        ["--kubeconfig", kubeconfig],
        extra_env={"HELM_DRIVER": driver},
    )


def write_chart(root: Path) -> Path:
    """The chart's directory under `root`."""
    chart = root / "chart"
    (chart / "templates" / "tests").mkdir(parents=True, exist_ok=True)
    (chart / "Chart.yaml").write_text(yaml.safe_dump(CHART_YAML))
    (chart / "values.yaml").write_text(yaml.safe_dump(VALUES))
    for name, text in TEMPLATES.items():
        (chart / "templates" / name).write_text(text)
    return chart


def install(helm: Cli, chart: Path, release: str, ns: str, revisions: int = 3) -> None:
    """`helm install` then `helm upgrade` until the release has `revisions` revisions."""
    helm.ok("install", release, str(chart), "-n", ns)
    for sets in UPGRADES[: revisions - 1]:
        args = [a for s in sets for a in ("--set", s)]
        helm.ok("upgrade", release, str(chart), "-n", ns, *args)


def helm_releases(helm: Cli, ns: str) -> list[str]:
    """The release names `helm list -n NS` shows, in any state."""
    rows = helm.ok(
        "list", "-n", ns, "--deployed", "--failed", "--pending", "--superseded", "-o", "json"
    ).json()
    return [str(r["name"]) for r in rows]


def helm_records(live: LiveCluster, release: str) -> list[dict[str, Any]]:
    """Helm's release records (Secrets and ConfigMaps) of `release`, by revision."""
    found = []
    for kind in ("Secret", "ConfigMap"):
        found += live.cluster.list_by_labels("v1", kind, live.ns, f"owner=helm,name={release}")
    return sorted(found, key=lambda o: int(o["metadata"]["labels"]["version"]))


def rewrite_record(live: LiveCluster, record: dict[str, Any], change: Any) -> None:
    """Replace a Helm Secret record's release with `change(release)` (a dict: encoded as Helm
    does; bytes: stored as they are) through the real client."""
    from kubernetes import client

    inner = base64.b64decode(base64.b64decode(record["data"]["release"]))
    release = json.loads(gzip.decompress(inner))
    new = change(release)
    blob = new if isinstance(new, bytes) else gzip.compress(json.dumps(new).encode())
    data = base64.b64encode(base64.b64encode(blob)).decode()
    client.CoreV1Api(live.api).patch_namespaced_secret(
        record["metadata"]["name"], live.ns, {"data": {"release": data}}
    )


OBJECTS = (
    ("v1", "ConfigMap", "web-config"),
    ("v1", "Secret", "web-secret"),
    ("apps/v1", "Deployment", "web"),
    ("v1", "ConfigMap", "web-extra"),
)


def obj(live: LiveCluster, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
    return live.cluster.get(ObjectRef(api_version, kind, live.ns, name))


def marks(live: LiveCluster) -> dict[str, Any]:
    """Who owns the release's objects: labels, annotations and field managers of each, the Helm
    records and kdeploy's history records in the namespace (what an import changes)."""
    out: dict[str, Any] = {}
    for api_version, kind, name in OBJECTS:
        found = obj(live, api_version, kind, name)
        if found is None:
            continue
        meta = found["metadata"]
        managers = sorted({str(e.get("manager")) for e in meta.get("managedFields") or []})
        out[f"{kind}/{name}"] = (
            meta.get("labels") or {},
            meta.get("annotations") or {},
            [m for m in managers if m in ("helm", "kdeploy")],
        )
    out["helm records"] = [o["metadata"]["name"] for o in helm_records(live, "web")]
    out["kdeploy history"] = sorted(
        o["metadata"]["name"]
        for o in live.cluster.list_by_labels(
            "v1", "ConfigMap", live.ns, "app.kubernetes.io/managed-by=kdeploy,kdeploy.dev/release"
        )
    )
    return out


def secret_value(live: LiveCluster, name: str, key: str) -> str:
    found = obj(live, "v1", "Secret", name)
    assert found is not None
    return base64.b64decode(found["data"][key]).decode()
