"""templates/NOTES.j2 end to end: rendered with the release's values and printed after a
successful apply, never after a failed one, never with a secret in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import IMAGE_DEPLOYMENT_TEMPLATE, SECRET_TEMPLATE, kd, live_project

NS_PREFIX = "notes"
PASSWORD = "n0tes-Pass-4321"

NOTES = """\
{% import "_helpers.j2" as h %}
Release {{ release.name }} is up in {{ release.namespace }}.
Open {{ h.url(values.host) }} (image {{ values.image }}).
Log in with the password {{ values.password }}.
"""
HELPERS = """\
{% macro url(host) %}https://{{ host }}/{% endmacro %}
"""


def _project(tmp_path: Path, emulator: Any, ns: str) -> Path:
    return live_project(
        tmp_path,
        str(emulator.kubeconfig_path),
        ns,
        templates={
            "deployment.yaml": IMAGE_DEPLOYMENT_TEMPLATE,
            "secret.yaml": SECRET_TEMPLATE,
            "NOTES.j2": NOTES,
            "_helpers.j2": HELPERS,
        },
        values={"image": "nginx:1.27", "host": "shop.example.com", "password": PASSWORD},
    )


def test_notes_are_printed_after_a_successful_apply_with_secrets_redacted(
    tmp_path: Path, emulator: Any, ns: str
) -> None:
    project = _project(tmp_path, emulator, ns)
    result = kd(project, "apply", "-e", "dev", "--yes", "--timeout", "60s")
    assert result.code == 0, result.stderr
    assert f"NOTES for release web:\nRelease web is up in {ns}." in result.stdout
    assert "Open https://shop.example.com/ (image nginx:1.27)." in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    assert "Log in with the password <redacted" in result.stdout
    # NOTES is never a manifest
    rendered = kd(project, "render", "-e", "dev")
    assert [d["kind"] for d in rendered.docs()] == ["Secret", "Deployment"]


def test_no_notes_after_a_failed_apply_or_a_dry_run(tmp_path: Path, emulator: Any, ns: str) -> None:
    project = _project(tmp_path, emulator, ns)
    dry = kd(project, "apply", "-e", "dev", "--yes", "--dry-run")
    assert dry.code == 0, dry.stderr
    assert "NOTES" not in dry.stdout + dry.stderr
    failed = kd(
        project, "apply", "-e", "dev", "--yes", "--timeout", "2s",
        "--set", "image=nginx:never-ready",
    )  # fmt: skip
    assert failed.code == 4, failed.stderr
    assert "NOTES" not in failed.stdout + failed.stderr


def test_an_error_in_notes_fails_before_anything_changes(
    tmp_path: Path, emulator: Any, ns: str
) -> None:
    project = _project(tmp_path, emulator, ns)
    (project / "packages/webapp/templates/NOTES.j2").write_text("Open {{ values.missing.url }}\n")
    result = kd(project, "apply", "-e", "dev", "--yes")
    assert result.code == 1
    assert "packages/webapp/templates/NOTES.j2:1: undefined value values.missing" in result.stderr
    assert kd(project, "history", "web", "-e", "dev").code != 0
