"""`kdeploy lint` end to end on a small project in a temp directory: output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kdeploy.cli import main
from tests.helpers import ProjectBuilder

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
      securityContext: {runAsNonRoot: true}
      containers:
        - name: web
          image: {{ values.image }}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 500m, memory: 256Mi}
          readinessProbe: {httpGet: {path: /, port: 8080}}
          livenessProbe: {httpGet: {path: /, port: 8080}}
"""


def make_project(root: Path, *, image: str = "nginx:1.27.2", lint: str = "") -> Path:
    proj = ProjectBuilder(root)
    proj.package(
        "app",
        templates={"deployment.yaml": DEPLOYMENT},
        values={"replicas": 1, "image": image},
        schema="""\
            type: object
            properties:
              replicas: {type: integer, minimum: 1}
              image: {type: string}
            """,
        meta=f"name: app\nversion: 1.0.0\n{lint}",
    )
    proj.environment("dev", {"namespace": "shop", "releases": {"web": {"package": "app"}}})
    return root


def run(project: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["-C", str(project), "lint", *args])
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_clean_project_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(make_project(tmp_path), "-e", "dev", capsys=capsys)
    assert code == 0, out
    assert out.splitlines() == [
        "release web: no findings",
        out.splitlines()[-1],
    ]
    assert out.splitlines()[-1].startswith("0 errors, 0 warnings, 0 info in 1 release (Kubernetes ")


def test_error_finding_exits_one_and_names_object_and_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(make_project(tmp_path, image="nginx"), "-e", "dev", capsys=capsys)
    assert code == 1
    assert any(
        line.strip().startswith("error  image-pinned  Deployment shop/web (")
        and 'deployment.yaml): image "nginx" has no tag; pin a tag or digest' in line
        for line in out.splitlines()
    ), out


def test_warnings_alone_exit_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(make_project(tmp_path), "-e", "dev", "--set", "replicas=3", capsys=capsys)
    assert code == 0
    assert "warning  pdb-for-replicas  Deployment shop/web" in out


def test_package_lint_disable_silences_the_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path, image="nginx", lint="lint:\n  disable: [image-pinned]\n")
    code, out, _ = run(project, "-e", "dev", capsys=capsys)
    assert code == 0, out
    assert "image-pinned" not in out


def test_values_schema_errors_are_findings_with_value_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(make_project(tmp_path), "-e", "dev", "--set", "replicas=0", capsys=capsys)
    assert code == 1
    assert "error  values-schema  values" in out
    assert "replicas: 0 is less than the minimum of 1" in out


def test_manifest_schema_error_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path)
    # the values schema would catch this, so switch it off to reach the manifest check
    (project / "packages/app/values.schema.yaml").unlink()
    code, out, _ = run(project, "-e", "dev", "--set-string", "replicas=two", capsys=capsys)
    assert code == 1
    assert 'spec.replicas: expected integer, got string "two"' in out


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        make_project(tmp_path, image="nginx:latest"), "-e", "dev", "-o", "json", capsys=capsys
    )
    assert code == 1
    doc = json.loads(out)
    assert doc["summary"]["error"] == 1
    (finding,) = doc["findings"]
    assert finding["rule"] == "image-pinned" and finding["object"] == "Deployment shop/web"


def test_junit_report_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "out" / "lint.xml"
    project = make_project(tmp_path / "p", image="nginx")
    code, _, _ = run(project, "-e", "dev", "--junit", str(report), capsys=capsys)
    assert code == 1
    root = ET.parse(report).getroot()
    assert root.get("failures") == "1"
    assert [s.get("name") for s in root.findall("testsuite")] == ["web"]
    assert not list(report.parent.glob(".lint.xml.*")), "temporary file left behind"


def test_render_failure_still_writes_a_junit_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path / "p")
    (project / "packages/app/templates/deployment.yaml").write_text("x: {{ values.missing }}\n")
    report = tmp_path / "lint.xml"
    code, _, err = run(project, "-e", "dev", "--junit", str(report), capsys=capsys)
    assert code == 1
    assert "missing" in err
    failure = ET.parse(report).getroot().find("testsuite/testcase/failure")
    assert failure is not None and "missing" in (failure.text or "")


def test_unknown_kube_version_lists_supported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        make_project(tmp_path), "-e", "dev", "--kube-version", "1.5", capsys=capsys
    )
    assert code == 1
    assert '--kube-version "1.5" is not supported' in err
    assert "1.30" in err
    assert out == ""


def test_lint_does_not_import_the_kubernetes_client(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    code = (
        "import sys\n"
        "from kdeploy.cli import main\n"
        "try:\n"
        f"    main(['-C', {str(project)!r}, 'lint', '-e', 'dev'])\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "assert 'kubernetes' not in sys.modules, 'kubernetes was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
