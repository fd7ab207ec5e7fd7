"""GitLab merge-request notes: create or update one note per environment through the GitLab REST API
(v4), with the variables GitLab CI sets in a merge-request pipeline. I/O only; the note's text
comes from kdeploy.diffreport."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kdeploy.errors import KdeployError

TOKEN_VARIABLES = ("KDEPLOY_GITLAB_TOKEN", "GITLAB_TOKEN")
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
TIMEOUT_SECONDS = 30.0


class GitLabError(KdeployError):
    """The GitLab API refused or could not be reached; the message names the request."""


@dataclass(frozen=True)
class MergeRequest:
    """Where the note goes, from GitLab CI's predefined variables."""

    api_url: str
    project_id: str
    iid: str
    token: str

    def notes_url(self) -> str:
        project = urllib.parse.quote(self.project_id, safe="")
        return f"{self.api_url.rstrip('/')}/projects/{project}/merge_requests/{self.iid}/notes"


def merge_request_from_env(environ: Mapping[str, str]) -> MergeRequest | None:
    """The merge request of this pipeline, or None outside a merge-request pipeline (no
    CI_MERGE_REQUEST_IID). Raises GitLabError when the pipeline is one but a variable or the token
    is missing, or when the token would go to a non-loopback server over plain http."""
    iid = environ.get("CI_MERGE_REQUEST_IID", "")
    if not iid:
        return None
    missing = [v for v in ("CI_API_V4_URL", "CI_PROJECT_ID") if not environ.get(v)]
    if missing:
        raise GitLabError(
            f"--gitlab-mr-note: {', '.join(missing)} not set",
            hint="GitLab CI sets them in merge-request pipelines; set them by hand elsewhere",
        )
    token = next((environ[v] for v in TOKEN_VARIABLES if environ.get(v)), "")
    if not token:
        raise GitLabError(
            "--gitlab-mr-note: no GitLab token (KDEPLOY_GITLAB_TOKEN or GITLAB_TOKEN)",
            hint="add a project access token with the `api` scope and the Reporter role as a "
            "masked CI/CD variable named KDEPLOY_GITLAB_TOKEN (CI_JOB_TOKEN cannot write notes)",
        )
    api_url = environ["CI_API_V4_URL"]
    parsed = urllib.parse.urlsplit(api_url)
    if parsed.scheme.lower() != "https" and (parsed.hostname or "") not in _LOOPBACK:
        raise GitLabError(
            f"--gitlab-mr-note: CI_API_V4_URL {api_url} is not https; the token is not sent "
            "over plain http"
        )
    return MergeRequest(api_url=api_url, project_id=environ["CI_PROJECT_ID"], iid=iid, token=token)


def _request(mr: MergeRequest, method: str, url: str, body: Mapping[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("PRIVATE-TOKEN", mr.token)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_SECONDS) as resp:
            payload = resp.read()
            next_page = resp.headers.get("X-Next-Page", "")
    except urllib.error.HTTPError as e:
        detail = e.read(2000).decode("utf-8", "replace").strip()
        raise GitLabError(
            f"GitLab API: {method} {url.split('?')[0]} answered {e.code} {e.reason}: {detail}",
            hint="401/403: the token needs the `api` scope and at least the Reporter role",
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise GitLabError(f"GitLab API: {method} {url.split('?')[0]} failed: {reason}") from None
    result = json.loads(payload) if payload.strip() else None
    return (result, next_page) if method == "GET" else result


def _own_note_id(mr: MergeRequest, marker: str) -> int | None:
    me, _ = _request(mr, "GET", f"{mr.api_url.rstrip('/')}/user")
    page = "1"
    while page:
        notes, page = _request(mr, "GET", f"{mr.notes_url()}?per_page=100&sort=asc&page={page}")
        for note in notes or []:
            author = note.get("author") or {}
            body = note.get("body") or ""
            if author.get("id") == me.get("id") and body.startswith(marker):
                return int(note["id"])
    return None


def upsert_note(mr: MergeRequest, marker: str, body: str) -> str:
    """Update this token's note that starts with `marker`, or create one. Returns 'created' or
    'updated'. Raises GitLabError naming the request that failed."""
    note_id = _own_note_id(mr, marker)
    if note_id is None:
        _request(mr, "POST", mr.notes_url(), {"body": body})
        return "created"
    _request(mr, "PUT", f"{mr.notes_url()}/{note_id}", {"body": body})
    return "updated"
