"""Formatting lint results: human text, JSON (a stable, documented shape) and JUnit XML.

Pure: every function returns a string; the command writes it where it belongs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from xml.etree import ElementTree as ET

from kdeploy.lint.engine import LintResult
from kdeploy.lint.findings import Finding, count_by_severity

JSON_FORMAT_VERSION = 1


def format_text(result: LintResult, releases: Sequence[str]) -> str:
    """Findings grouped per release, one line each, then a summary line."""
    lines: list[str] = []
    for release in releases:
        found = [f for f in result.findings if f.release == release]
        if not found:
            lines.append(f"release {release}: no findings")
            continue
        lines.append(f"release {release}:")
        lines.extend(f"  {format_finding(f)}" for f in found)
    lines.append(summary_line(result, len(releases)))
    return "\n".join(lines) + "\n"


def format_finding(f: Finding) -> str:
    """`error  image-pinned  Deployment shop/web (templates/deployment.yaml): <message>`."""
    where = f" ({f.source})" if f.source else ""
    return f"{f.severity}  {f.rule}  {f.obj}{where}: {f.message}"


def summary_line(result: LintResult, release_count: int) -> str:
    """`2 errors, 1 warning, 0 info in 3 releases (Kubernetes 1.37)`."""
    counts = count_by_severity(list(result.findings))
    return (
        f"{_plural(counts['error'], 'error')}, {_plural(counts['warning'], 'warning')}, "
        f"{counts['info']} info in {_plural(release_count, 'release')} "
        f"(Kubernetes {result.kube_version})"
    )


def format_json(result: LintResult, releases: Sequence[str]) -> str:
    """The JSON report (documented in docs/lint-rules.md):

    {"formatVersion": 1, "kubeVersion": "1.37", "releases": [...],
     "summary": {"error": n, "warning": n, "info": n, "checks": n},
     "findings": [{"release", "rule", "severity", "object", "source", "path", "message"}]}
    """
    counts = count_by_severity(list(result.findings))
    doc = {
        "formatVersion": JSON_FORMAT_VERSION,
        "kubeVersion": result.kube_version,
        "releases": list(releases),
        "summary": {**counts, "checks": len(result.checks)},
        "findings": [
            {
                "release": f.release,
                "rule": f.rule,
                "severity": f.severity,
                "object": f.obj,
                "source": f.source,
                "path": f.path,
                "message": f.message,
            }
            for f in result.findings
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def format_junit(result: LintResult, releases: Sequence[str]) -> str:
    """JUnit XML as GitLab's test report reads it: a testsuite per release, a testcase per
    (rule, object) checked, a failure for each error finding, warnings in system-out, and
    checks that could not run (info) as skipped."""
    root = ET.Element("testsuites", name="kdeploy lint")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for release in releases:
        cases: dict[tuple[str, str], tuple[str, list[Finding]]] = {}
        for check in result.checks:
            if check.release == release:
                cases.setdefault((check.rule, check.obj), (check.source, []))
        for f in result.findings:
            if f.release == release:
                cases.setdefault((f.rule, f.obj), (f.source, []))[1].append(f)
        suite = ET.SubElement(root, "testsuite", name=release)
        counts = {"tests": len(cases), "failures": 0, "skipped": 0}
        for (rule, obj), (source, found) in sorted(cases.items(), key=lambda kv: kv[0][::-1]):
            case = ET.SubElement(suite, "testcase", classname=rule, name=obj)
            if source:
                case.set("file", source)
            errors = [f for f in found if f.severity == "error"]
            warnings = [f for f in found if f.severity == "warning"]
            infos = [f for f in found if f.severity == "info"]
            if errors:
                counts["failures"] += 1
                failure = ET.SubElement(case, "failure", type=rule, message=errors[0].message)
                failure.text = "\n".join(format_finding(f) for f in errors)
            elif infos and not warnings:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=infos[0].message)
            if warnings or (errors and infos):
                out = ET.SubElement(case, "system-out")
                out.text = "\n".join(format_finding(f) for f in warnings + infos)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("errors", "0")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    return _xml(root)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def render_failure_junit(message: str) -> str:
    """A JUnit report with one failing test case, for when rendering failed and nothing was linted."""
    root = ET.Element("testsuites", name="kdeploy lint", tests="1", failures="1", errors="0")
    suite = ET.SubElement(root, "testsuite", name="render", tests="1", failures="1", errors="0")
    case = ET.SubElement(suite, "testcase", classname="render", name="render environment")
    failure = ET.SubElement(case, "failure", type="render", message=message.splitlines()[0])
    failure.text = message
    return _xml(root)


def _xml(root: ET.Element) -> str:
    ET.indent(root)
    body: str = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
