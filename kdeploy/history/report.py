"""How `kdeploy history` shows revisions: a text table for people, a stable JSON shape for CI."""

from __future__ import annotations

from typing import Any

from kdeploy.history.model import Revision

COLUMNS = ("REVISION", "STATUS", "WHEN", "WHO", "PACKAGE", "APP VERSION", "COMMIT", "DESCRIPTION")
JSON_FORMAT = 1


def package_ref(rev: Revision) -> str:
    """`package@version`, or just the package when the version is unknown."""
    return f"{rev.package}@{rev.package_version}" if rev.package_version else rev.package


def revision_versions(rev: Revision) -> str:
    """`package webapp@1.4.0, app version 2.7.1` (the app version only when it was given)."""
    text = f"package {package_ref(rev) or '-'}"
    return f"{text}, app version {rev.app_version}" if rev.app_version else text


def commit_ref(rev: Revision) -> str:
    """The first 12 hex digits of the commit, `+dirty` when the tree had changes, '-' if unknown."""
    if not rev.git_commit:
        return "-"
    return rev.git_commit[:12] + ("+dirty" if rev.git_dirty else "")


def _description(rev: Revision) -> str:
    text = rev.description or "-"
    if rev.status == "failed" and rev.result:
        text = f"{text} ({rev.result.splitlines()[0]})"
    return text


def history_rows(revisions: list[Revision]) -> list[tuple[str, ...]]:
    """One row of display strings per revision, in COLUMNS order."""
    return [
        (
            str(r.number),
            r.status,
            r.started_at.replace("T", " ") or "-",
            r.who or "-",
            package_ref(r) or "-",
            r.app_version or "-",
            commit_ref(r),
            _description(r),
        )
        for r in revisions
    ]


def format_history_text(revisions: list[Revision]) -> str:
    """An aligned table with a header; the last column is not padded."""
    rows = [COLUMNS, *history_rows(revisions)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def revision_json(rev: Revision) -> dict[str, Any]:
    """The documented JSON form of one revision's metadata (docs/history.md)."""
    return {
        "revision": rev.number,
        "status": rev.status,
        "startedAt": rev.started_at or None,
        "finishedAt": rev.finished_at,
        "who": rev.who,
        "package": rev.package,
        "packageVersion": rev.package_version,
        "appVersion": rev.app_version or None,
        "environment": rev.environment,
        "gitCommit": rev.git_commit,
        "gitDirty": rev.git_dirty,
        "description": rev.description,
        "rollbackTo": rev.rollback_to,
        "result": rev.result,
        "secretKeys": rev.secret_keys,
        "trust": rev.trust,
        "writers": list(rev.writers),
        "damage": rev.damage or None,
    }


def untrusted_warnings(revisions: list[Revision]) -> list[str]:
    """One `warning:` line (with a hint line) per revision that is damaged or not trusted."""
    from kdeploy.history.model import drop_hint

    out = []
    for rev in revisions:
        where = f"revision {rev.number} of release {rev.release} in namespace {rev.namespace}"
        if rev.damage:
            out.append(f"warning: {where} cannot be read: {rev.damage}")
        elif rev.distrust:
            out.append(
                f"warning: {where} ({rev.status}) is not trusted: {rev.distrust}; kdeploy will "
                "not roll back to it or supersede it on its own"
            )
        else:
            continue
        out.append(f"  hint: {drop_hint(rev.release, rev.namespace, rev.number)}")
    return out


def history_json(release: str, namespace: str, revisions: list[Revision]) -> dict[str, Any]:
    """`{"format": 1, "release", "namespace", "revisions": [...]}`, oldest revision first."""
    return {
        "format": JSON_FORMAT,
        "release": release,
        "namespace": namespace,
        "revisions": [revision_json(r) for r in revisions],
    }
