"""`apply --report FILE`, `--dotenv FILE` and `--manifests-out DIR`: the artifacts a CI job keeps,
written also when the apply fails, and never holding a secret value."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

from tests.helpers import CONFIGMAP_TEMPLATE, SECRET_TEMPLATE, LiveCluster, ProjectBuilder, kd

NS_PREFIX = "reports"
PASSWORD = "report-secret-7f3a9c"
INGRESS_TEMPLATE = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ release.name }}
spec:
  tls:
  - hosts: [shop.example.com]
    secretName: shop-tls
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service: {name: web, port: {number: 80}}
"""


def _project(root: Path, kubeconfig: str, namespace: str) -> ProjectBuilder:
    """Environment `dev`: release `web` (ConfigMap, Secret, Ingress) then release `api-v2`
    (ConfigMap) in `namespace`."""
    proj = ProjectBuilder(root)
    proj.package(
        "web",
        templates={
            "configmap.yaml": CONFIGMAP_TEMPLATE,
            "secret.yaml": SECRET_TEMPLATE,
            "ingress.yaml": INGRESS_TEMPLATE,
        },
        values={"greeting": "hello", "password": PASSWORD},
    )
    proj.package("api")
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": kubeconfig},
            "namespace": namespace,
            "releases": {"web": {"package": "web"}, "api-v2": {"package": "api"}},
        },
    )
    return proj


def _no_secret_in(*paths: Path) -> None:
    encoded = base64.b64encode(PASSWORD.encode()).decode()
    for path in paths:
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for f in files:
            if f.is_file():
                text = f.read_text(encoding="utf-8")
                assert PASSWORD not in text, f
                assert encoded not in text, f


def test_apply_writes_report_dotenv_and_redacted_manifests(
    tmp_path: Path, emulator: Any, ns: str
) -> None:
    proj = _project(tmp_path, str(emulator.kubeconfig_path), ns)

    result = kd(
        proj.root,
        "apply",
        "-e",
        "dev",
        "--yes",
        "--report",
        "out/report.json",
        "--dotenv",
        "out/deploy.env",
        "--manifests-out",
        "out/manifests",
    )

    assert result.code == 0, result.stderr
    report = json.loads((proj.root / "out/report.json").read_text())
    assert report["status"] == "succeeded"
    assert report["exitCode"] == 0
    assert report["environment"] == "dev"
    assert report["environmentUrl"] == "https://shop.example.com"
    assert report["durationSeconds"] >= 0
    web, api = report["releases"]
    assert (web["release"], web["status"], web["revision"]) == ("web", "deployed", 1)
    assert web["health"] == "healthy"
    assert {"action": "create", "object": f"Secret {ns}/web-secret"} in web["changes"]
    assert web["summary"]["create"] == 3
    assert web["durationSeconds"] >= 0
    assert (api["release"], api["status"], api["revision"]) == ("api-v2", "deployed", 1)
    dotenv = (proj.root / "out/deploy.env").read_text().splitlines()
    assert "KDEPLOY_STATUS=succeeded" in dotenv
    assert "KDEPLOY_ENVIRONMENT_URL=https://shop.example.com" in dotenv
    assert "KDEPLOY_REVISION_WEB=1" in dotenv
    assert "KDEPLOY_REVISION_API_V2=1" in dotenv
    manifests = proj.root / "out/manifests"
    assert sorted(p.name for p in manifests.iterdir()) == ["api-v2.yaml", "web.yaml"]
    assert "kind: Secret" in (manifests / "web.yaml").read_text()
    assert "<redacted:" in (manifests / "web.yaml").read_text()
    _no_secret_in(proj.root / "out")

    again = kd(proj.root, "apply", "-e", "dev", "--yes", "--report", "out/again.json")
    assert again.code == 0, again.stderr
    unchanged = json.loads((proj.root / "out/again.json").read_text())["releases"]
    assert [(r["status"], r["revision"]) for r in unchanged] == [("unchanged", None)] * 2


def test_a_failed_apply_still_writes_its_report_and_dotenv(
    tmp_path: Path, emulator: Any, live: LiveCluster
) -> None:
    namespace = f"{NS_PREFIX}-{uuid.uuid4().hex[:8]}"  # does not exist: the apply fails
    proj = _project(tmp_path, str(emulator.kubeconfig_path), namespace)

    result = kd(proj.root, "apply", "-e", "dev", "--yes", "--report", "r.json", "--dotenv", "d.env")

    assert result.code == 1, result.stderr
    report = json.loads((proj.root / "r.json").read_text())
    assert report["status"] == "failed"
    assert report["exitCode"] == 1
    assert f"namespace {namespace} does not exist" in report["error"]
    web, api = report["releases"]
    assert web["status"] == "failed"
    assert f"namespace {namespace} does not exist" in web["error"]
    assert api["status"] == "skipped"  # the first failure stops the rest
    dotenv = (proj.root / "d.env").read_text().splitlines()
    assert "KDEPLOY_STATUS=failed" in dotenv
    assert "KDEPLOY_EXIT_CODE=1" in dotenv
    _no_secret_in(proj.root / "r.json", proj.root / "d.env")


def test_a_render_error_still_names_the_environment_in_the_report(
    tmp_path: Path, emulator: Any, live: LiveCluster
) -> None:
    namespace = f"{NS_PREFIX}-{uuid.uuid4().hex[:8]}"
    proj = _project(tmp_path, str(emulator.kubeconfig_path), namespace)
    proj.package("api", templates={"broken.yaml": "kind: [\n"})

    result = kd(proj.root, "apply", "-e", "dev", "--yes", "--report", "r.json", "--dotenv", "d.env")

    assert result.code == 1, result.stderr
    assert "broken.yaml" in result.stderr
    report = json.loads((proj.root / "r.json").read_text())
    assert report["status"] == "failed"
    assert report["environment"] == "dev"
    assert "broken.yaml" in report["error"]
    assert "KDEPLOY_ENVIRONMENT=dev" in (proj.root / "d.env").read_text().splitlines()


def test_an_unwritable_report_path_stops_apply_before_any_change(
    tmp_path: Path, emulator: Any, live: LiveCluster, ns: str
) -> None:
    proj = _project(tmp_path, str(emulator.kubeconfig_path), ns)
    (proj.root / "taken").write_text("a file, not a directory\n")

    result = kd(proj.root, "apply", "-e", "dev", "--yes", "--report", "taken/report.json")

    assert result.code == 1
    assert "cannot write --report" in result.stderr
    assert "taken/report.json" in result.stderr
    from kdeploy.kube.client import ObjectRef

    assert live.cluster.get(ObjectRef("v1", "ConfigMap", ns, "web-config")) is None
