"""Lint output: text, JSON and JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from lint_helpers import container, deployment, release

from kdeploy.lint.engine import LintResult, lint_releases
from kdeploy.lint.report import format_json, format_junit, format_text


def result() -> LintResult:
    bad = release(deployment(containers=[container(image="nginx")], replicas=2), name="web")
    cert = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"secretName": "web-tls"},
    }
    good = release(deployment("api"), cert, name="api", source="templates/all.yaml")
    return lint_releases([bad, good], "1.30")


def test_text_groups_per_release_with_one_line_per_finding() -> None:
    text = format_text(result(), ["web", "api"])
    lines = text.splitlines()
    assert lines[0] == "release web:"
    assert (
        '  error  image-pinned  Deployment shop/web (templates/deployment.yaml): image "nginx" has '
        "no tag; pin a tag or digest"
    ) in lines
    assert any(
        line.startswith("  warning  pdb-for-replicas  Deployment shop/web") for line in lines
    )
    assert "release api:" in lines
    assert any(
        "info  manifest-schema  Certificate shop/web (templates/all.yaml): skipped" in line
        for line in lines
    )
    assert lines[-1] == "1 error, 1 warning, 1 info in 2 releases (Kubernetes 1.30)"


def test_text_says_when_a_release_is_clean() -> None:
    clean = lint_releases([release(deployment())], None)
    assert format_text(clean, ["web"]).splitlines()[0] == "release web: no findings"


def test_json_shape_is_stable() -> None:
    doc = json.loads(format_json(result(), ["web", "api"]))
    assert doc["formatVersion"] == 1
    assert doc["kubeVersion"] == "1.30"
    assert doc["releases"] == ["web", "api"]
    assert {k: doc["summary"][k] for k in ("error", "warning", "info")} == {
        "error": 1,
        "warning": 1,
        "info": 1,
    }
    assert doc["summary"]["checks"] > 3
    first = doc["findings"][0]
    assert set(first) == {"release", "rule", "severity", "object", "source", "path", "message"}
    assert [f["rule"] for f in doc["findings"]] == [
        "manifest-schema",
        "image-pinned",
        "pdb-for-replicas",
    ]


def test_junit_has_a_suite_per_release_and_failures_for_errors() -> None:
    root = ET.fromstring(format_junit(result(), ["web", "api"]))
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"web", "api"}
    web = suites["web"]
    assert web.get("failures") == "1"
    failed = [c for c in web.findall("testcase") if c.find("failure") is not None]
    assert [(c.get("classname"), c.get("name"), c.get("file")) for c in failed] == [
        ("image-pinned", "Deployment shop/web", "templates/deployment.yaml")
    ]
    failure = failed[0].find("failure")
    assert failure is not None and "has no tag" in (failure.get("message") or "")
    passed = [c for c in web.findall("testcase") if len(c) == 0]
    assert any(c.get("classname") == "run-as-non-root" for c in passed)
    assert int(web.get("tests") or 0) == len(web.findall("testcase"))
    api = suites["api"]
    assert api.get("failures") == "0" and api.get("skipped") == "1"
    assert root.get("failures") == "1"
