"""The diff as Markdown, for merge-request notes and job summaries. Pure: it formats the document
that `kdeploy diff --output json` prints (secrets already masked there)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# GitLab refuses notes over 1,000,000 characters; keep well below, with room for the summary.
MAX_NOTE_CHARS = 900_000
_VERBS = {"create": "create", "change": "change", "delete": "delete"}


def note_marker(environment: str) -> str:
    """The hidden first line that identifies the note of `environment` (so a later pipeline of the
    same merge request updates it instead of adding another)."""
    return f"<!-- kdeploy-diff environment={environment} -->"


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks inside `text`."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _summary(counts: Mapping[str, int]) -> str:
    return (
        f"{counts.get('create', 0)} to create, {counts.get('change', 0)} to change, "
        f"{counts.get('delete', 0)} to delete"
    )


def _object(change: Mapping[str, Any]) -> str:
    where = f"{change['namespace']}/" if change.get("namespace") else ""
    return f"{change['kind']} {where}{change['name']}"


def diff_markdown(
    doc: Mapping[str, Any], *, environment: str, target: str = "", max_chars: int = MAX_NOTE_CHARS
) -> str:
    """The Markdown form of a `diff --output json` document: a marker line, a headline with the
    totals, a table of the changed objects per release and each object's unified diff folded in a
    <details> block. `target` (e.g. 'context kind-staging at https://...') is shown under the
    headline. Diffs that would take the text past `max_chars` are left out, saying so."""
    lines = [note_marker(environment)]
    total = doc.get("summary", {})
    if doc.get("changes"):
        lines.append(f"### kdeploy diff for `{environment}`: {_summary(total)}")
    else:
        lines.append(f"### kdeploy diff for `{environment}`: no changes")
    if target:
        lines.append(f"\nTarget: {target}")
    details: list[str] = []
    for release in doc.get("releases", []):
        name, namespace = release.get("release", ""), release.get("namespace", "")
        changes = release.get("changes", [])
        lines.append(f"\n**{name}** (namespace `{namespace}`): {_summary(release['summary'])}")
        if changes:
            lines.append("\n| Action | Object |\n|---|---|")
            lines += [f"| {c['action']} | `{_cell(_object(c))}` |" for c in changes]
        for item in release.get("notOwned", []):
            lines.append(f"\n> not owned: `{_cell(item['object'])}` ({_cell(item['owner'])})")
        for c in changes:
            body = c.get("diff", "")
            fence = _fence(body)
            details.append(
                f"<details><summary>{_VERBS.get(c['action'], c['action'])} "
                f"{_object(c)}</summary>\n\n{fence}diff\n{body.rstrip()}\n{fence}\n\n</details>"
            )
    text = "\n".join(lines) + "\n"
    left_out = 0
    for block in details:
        if len(text) + len(block) + 200 > max_chars:
            left_out += 1
            continue
        text += "\n" + block + "\n"
    if left_out:
        text += (
            f"\n{left_out} object diffs left out: the note would pass GitLab's size limit "
            "(see the job log or the --json-out artifact).\n"
        )
    return text
