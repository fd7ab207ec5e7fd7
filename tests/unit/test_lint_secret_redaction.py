"""Lint findings never quote a secret: schema errors about a Secret's values or a `writeOnly` value
are redacted in the text, JSON and JUnit reports."""

from __future__ import annotations

from pathlib import Path

from kdeploy.secrets import collect_secret_strings
from tests.helpers import ProjectBuilder, kd

PIN = 83920174  # unquoted in a Secret's stringData: the schema error quotes it
API_KEY = 55512345678  # writeOnly, unquoted in a ConfigMap


def _project(root: Path) -> Path:
    proj = ProjectBuilder(root)
    proj.package(
        "app",
        templates={
            "secret.yaml": """\
                apiVersion: v1
                kind: Secret
                metadata: {name: creds}
                stringData:
                  pin: {{ values.pin }}
                """,
            "configmap.yaml": """\
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: conf}
                data:
                  key: {{ values.apiKey }}
                """,
        },
        values={"pin": PIN, "apiKey": API_KEY},
        schema={"type": "object", "properties": {"apiKey": {"writeOnly": True}}},
    )
    proj.environment("dev", {"namespace": "shop", "releases": {"app": {"package": "app"}}})
    return root


def test_numbers_in_secret_data_are_secret() -> None:
    manifest = {"apiVersion": "v1", "kind": "Secret", "stringData": {"pin": PIN, "x": 7}}
    assert collect_secret_strings([manifest]) == {str(PIN)}


def test_schema_findings_do_not_quote_secrets(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    junit = tmp_path / "lint.xml"
    text = kd(root, "lint", "-e", "dev", "--junit", str(junit))
    as_json = kd(root, "lint", "-e", "dev", "-o", "json")
    assert text.code == 1 and as_json.code == 1
    assert "stringData.pin: expected string" in text.stdout, text.stdout
    assert "data.key: expected string" in text.stdout
    assert "<redacted:sha256:" in text.stdout
    for out in (text.stdout, text.stderr, as_json.stdout, junit.read_text()):
        assert str(PIN) not in out and str(API_KEY) not in out, out
