"""How a release's text diff is laid out in a log: long diffs of created objects shortened to one
line per object (`--diff-lines`), and, in a GitLab CI job, each release's diff in a collapsible
section of the job log with the summary line left outside it (docs/gitlab-ci.md, "Long diffs in
job logs"). Pure: text in, text out."""

from __future__ import annotations

import re
from dataclasses import dataclass

# GitLab's job log markers: https://docs.gitlab.com/ci/jobs/job_logs/#custom-collapsible-sections
_ERASE = "\x1b[0K"
# a section name: letters, digits, '_', '.', '-' (GitLab ignores sections with other characters)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# a collapsed section hides diffs longer than this; shorter ones stay open in the log
COLLAPSE_OVER = 30


@dataclass(frozen=True)
class DiffLayout:
    """`max_lines`: the longest text diff shown per release before created objects are listed by
    name only (None: no limit). `gitlab_sections`: wrap each release's diff in a collapsible
    section (a GitLab CI job writing to a log, not a terminal)."""

    max_lines: int | None = None
    gitlab_sections: bool = False


@dataclass(frozen=True)
class ObjectText:
    """One object's part of a release diff: its header line (`+ create Kind ns/name`), its unified
    diff, and whether the object is created (only those are shortened)."""

    header: str
    body: str
    created: bool


def shorten(parts: list[ObjectText], max_lines: int | None) -> tuple[str, int]:
    """The diff text of `parts`; when it is longer than `max_lines`, the bodies of created objects
    are left out (each header says how many lines it had), changes and deletions stay whole.
    Returns the text and how many created objects were shortened."""
    full = "".join(p.header + p.body for p in parts)
    if max_lines is None or full.count("\n") <= max_lines:
        return full, 0
    out: list[str] = []
    shortened = 0
    for p in parts:
        if p.created and p.body:
            lines = p.body.count("\n")
            out.append(f"{p.header.rstrip(chr(10))} ({lines} diff lines not shown)\n")
            shortened += 1
        else:
            out.append(p.header + p.body)
    return "".join(out), shortened


def section_name(release: str, namespace: str) -> str:
    """A GitLab section name for the diff of one release."""
    return _UNSAFE.sub("_", f"kdeploy_diff_{namespace}_{release}")


def gitlab_section(name: str, header: str, body: str, *, timestamp: int) -> str:
    """`body` in a GitLab collapsible section titled `header`; collapsed when the body is longer
    than COLLAPSE_OVER lines. Empty body: the header alone."""
    if not body:
        return header + "\n"
    collapsed = "[collapsed=true]" if body.count("\n") > COLLAPSE_OVER else ""
    start = f"{_ERASE}section_start:{timestamp}:{name}{collapsed}\r{_ERASE}{header}\n"
    end = f"{_ERASE}section_end:{timestamp}:{name}\r{_ERASE}"
    if not body.endswith("\n"):
        body += "\n"
    return start + body + end + "\n"
