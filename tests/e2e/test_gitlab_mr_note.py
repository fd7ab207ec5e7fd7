"""`kdeploy diff` in a GitLab merge-request pipeline: Markdown output, a JSON artifact beside the text
log, and one merge-request note per environment, created then updated, through a stub of the GitLab
REST API on loopback. No secret reaches the note; a failing GitLab call names the request."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import kd, live_project

NS_PREFIX = "mrnote"
TOKEN = "glpat-Stub-Token-5521"
PASSWORD = "Mr-Note-Secret-8841"
BOT = 7

TEMPLATES = {
    "configmap.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-config
data:
  greeting: {{ values.greeting | quote }}
""",
    "secret.yaml": """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ release.name }}-creds
stringData:
  password: {{ values.password | quote }}
""",
}


class GitLabStub:
    """Notes of merge request !12 of project 'group/shop', and every request received."""

    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = [
            # someone else's note that starts like ours: never edited
            {"id": 1, "author": {"id": 99}, "body": "<!-- kdeploy-diff environment=dev -->\nhi"},
        ]
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.fail_with: int | None = None


def _handler(stub: GitLabStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else {}
            stub.requests.append((method, self.path, dict(self.headers)))
            if stub.fail_with is not None:
                self._send(stub.fail_with, {"message": "403 Forbidden"})
                return
            base = "/api/v4/projects/group%2Fshop/merge_requests/12/notes"
            path = self.path.split("?")[0]
            if method == "GET" and path == "/api/v4/user":
                self._send(200, {"id": BOT, "username": "project_5_bot"})
            elif method == "GET" and path == base:
                page = int(self.path.split("page=")[-1]) if "page=" in self.path else 1
                # one note per page, to exercise pagination
                notes = stub.notes[page - 1 : page]
                more = {"X-Next-Page": str(page + 1)} if page < len(stub.notes) else {}
                self._send(200, notes, more)
            elif method == "POST" and path == base:
                note = {"id": len(stub.notes) + 1, "author": {"id": BOT}, "body": body["body"]}
                stub.notes.append(note)
                self._send(201, note)
            elif method == "PUT" and path.startswith(base + "/"):
                note_id = int(path.rsplit("/", 1)[1])
                note = next(n for n in stub.notes if n["id"] == note_id)
                note["body"] = body["body"]
                self._send(200, note)
            else:
                self._send(404, {"message": "404 Not Found"})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

    return Handler


@pytest.fixture
def gitlab(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitLabStub]:
    stub = GitLabStub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("CI_API_V4_URL", f"http://127.0.0.1:{server.server_address[1]}/api/v4")
    monkeypatch.setenv("CI_PROJECT_ID", "group/shop")
    monkeypatch.setenv("CI_MERGE_REQUEST_IID", "12")
    monkeypatch.setenv("KDEPLOY_GITLAB_TOKEN", TOKEN)
    yield stub
    server.shutdown()
    server.server_close()


@pytest.fixture
def project(tmp_path: Path, emulator: Any, ns: str) -> Path:
    return live_project(
        tmp_path / "proj",
        str(emulator.kubeconfig_path),
        ns,
        templates=TEMPLATES,
        values={"greeting": "hello", "password": PASSWORD},
    )


def own_notes(stub: GitLabStub) -> list[dict[str, Any]]:
    return [n for n in stub.notes if n["author"]["id"] == BOT]


def test_note_is_created_then_updated_never_duplicated(project: Path, gitlab: GitLabStub) -> None:
    first = kd(project, "diff", "-e", "dev", "--gitlab-mr-note")
    assert first.code == 0, first.stderr
    assert "Merge request !12: diff note for dev created" in first.stderr
    assert "+ create" in first.stdout  # the text diff still goes to the job log
    (note,) = own_notes(gitlab)
    assert note["body"].startswith("<!-- kdeploy-diff environment=dev -->\n")
    assert "### kdeploy diff for `dev`: 2 to create, 0 to change, 0 to delete" in note["body"]
    assert "| create | `ConfigMap" in note["body"] and "web-config`" in note["body"]
    assert "<details><summary>create Secret" in note["body"]
    assert PASSWORD not in note["body"] and PASSWORD not in first.stdout + first.stderr

    applied = kd(project, "apply", "-e", "dev", "--yes", "--set", "greeting=changed")
    assert applied.code == 0, applied.stderr
    second = kd(project, "diff", "-e", "dev", "--gitlab-mr-note")
    assert second.code == 0, second.stderr
    assert "diff note for dev updated" in second.stderr
    (note,) = own_notes(gitlab)
    assert "1 to change" in note["body"] and "-  greeting: changed" in note["body"]
    assert gitlab.notes[0]["body"].endswith("\nhi")  # the other author's note is untouched
    assert all(h.get("Private-Token") == TOKEN for _, _, h in gitlab.requests)
    assert TOKEN not in first.stdout + first.stderr + second.stdout + second.stderr


def test_outside_a_merge_request_pipeline_nothing_is_posted(
    project: Path, gitlab: GitLabStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI_MERGE_REQUEST_IID")
    result = kd(project, "diff", "-e", "dev", "--gitlab-mr-note", "--detailed-exitcode")
    assert result.code == 2, result.stderr
    assert "not a merge-request pipeline, no note posted" in result.stderr
    assert gitlab.requests == []


def test_missing_token_fails_before_any_cluster_request(
    project: Path, gitlab: GitLabStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KDEPLOY_GITLAB_TOKEN")
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    result = kd(project, "diff", "-e", "dev", "--gitlab-mr-note")
    assert result.code == 1
    assert "no GitLab token (KDEPLOY_GITLAB_TOKEN or GITLAB_TOKEN)" in result.stderr
    assert "hint: add a project access token" in result.stderr
    assert result.stdout == ""  # failed before planning
    assert gitlab.requests == []


def test_a_refusing_gitlab_is_an_error_naming_the_request(
    project: Path, gitlab: GitLabStub
) -> None:
    gitlab.fail_with = 403
    result = kd(project, "diff", "-e", "dev", "--gitlab-mr-note")
    assert result.code == 1
    assert "GitLab API: GET http://127.0.0.1:" in result.stderr
    assert "/api/v4/user answered 403" in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_token_is_never_sent_over_plain_http_to_another_host(
    project: Path, gitlab: GitLabStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI_API_V4_URL", "HTTP://gitlab.example.com/api/v4")
    result = kd(project, "diff", "-e", "dev", "--gitlab-mr-note")
    assert result.code == 1
    assert "is not https; the token is not sent over plain http" in result.stderr
    assert gitlab.requests == []


def test_show_secrets_and_a_note_do_not_mix(project: Path, gitlab: GitLabStub) -> None:
    result = kd(project, "diff", "-e", "dev", "--gitlab-mr-note", "--show-secrets")
    assert result.code == 64
    assert "--gitlab-mr-note never posts secrets" in result.stderr


def test_markdown_output_and_json_artifact_beside_the_text(project: Path, tmp_path: Path) -> None:
    md = kd(project, "diff", "-e", "dev", "-o", "markdown")
    assert md.code == 0, md.stderr
    assert md.stdout.startswith("<!-- kdeploy-diff environment=dev -->\n### kdeploy diff")
    assert "```diff\n" in md.stdout and PASSWORD not in md.stdout

    artifact = tmp_path / "out" / "diff.json"
    text = kd(project, "diff", "-e", "dev", "--json-out", str(artifact))
    assert text.code == 0, text.stderr
    assert "+ create" in text.stdout and not text.stdout.lstrip().startswith("{")
    doc = json.loads(artifact.read_text())
    assert doc["summary"]["create"] == 2
    assert PASSWORD not in artifact.read_text()
