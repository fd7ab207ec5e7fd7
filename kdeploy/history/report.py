"""How `kdeploy history` shows revisions: a text table for people, a stable JSON shape for CI."""

from __future__ import annotations

from typing import Any

from kdeploy.history.model import Revision

COLUMNS = ("REVISION", "STATUS", "WHEN", "WHO", "PACKAGE", "APP VERSION", "COMMIT", "DESCRIPTION")
# `history -o wide`: the images deployed and the CI run, after the columns above
WIDE_COLUMNS = ("IMAGES", "MERGE REQUEST", "PIPELINE")
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


def wide_rows(revisions: list[Revision]) -> list[tuple[str, ...]]:
    """history_rows, the description moved last, with WIDE_COLUMNS before it."""
    out = []
    for rev, row in zip(revisions, history_rows(revisions), strict=True):
        extra = (
            ",".join(rev.images) or "-",
            rev.ci.get("mergeRequest", "-"),
            rev.ci.get("pipelineUrl", "-"),
        )
        out.append((*row[:-1], *extra, row[-1]))
    return out


def format_history_text(revisions: list[Revision], *, wide: bool = False) -> str:
    """An aligned table with a header; the last column (the description) is not padded."""
    if wide:
        header = (*COLUMNS[:-1], *WIDE_COLUMNS, COLUMNS[-1])
        rows = [header, *wide_rows(revisions)]
    else:
        rows = [COLUMNS, *history_rows(revisions)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
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
        "ci": rev.ci,
        "images": list(rev.images),
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


RELEASE_COLUMNS = ("NAMESPACE", "RELEASE", "REVISION", "STATUS", "UPDATED", "COMMIT", "IMAGES")


def release_summary(release: str, namespace: str, revisions: list[Revision]) -> dict[str, Any]:
    """One release's state from its revisions (oldest first): the newest revision and its status,
    the deployed revision, and the environment, package, commit and images of the deployed one
    (or the newest, when none is deployed). `status` is `not deployed` without revisions."""
    if not revisions:
        return {
            "release": release,
            "namespace": namespace,
            "status": "not deployed",
            "revision": None,
            "deployedRevision": None,
            "updated": None,
            "environment": None,
            "package": None,
            "gitCommit": None,
            "images": [],
        }
    newest = revisions[-1]
    deployed = [r for r in revisions if r.status == "deployed"]
    shown = deployed[-1] if deployed else newest
    return {
        "release": release,
        "namespace": namespace,
        "status": newest.status,
        "revision": newest.number,
        "deployedRevision": deployed[-1].number if deployed else None,
        "updated": newest.finished_at or newest.started_at or None,
        "environment": shown.environment or None,
        "package": package_ref(shown) or None,
        "gitCommit": shown.git_commit,
        "images": list(shown.images),
    }


def format_releases_text(summaries: list[dict[str, Any]]) -> str:
    """An aligned table of release summaries (RELEASE_COLUMNS); the images column is last."""
    rows: list[tuple[str, ...]] = [RELEASE_COLUMNS]
    for s in summaries:
        rows.append(
            (
                s["namespace"],
                s["release"],
                str(s["revision"]) if s["revision"] is not None else "-",
                s["status"],
                str(s["updated"] or "-").replace("T", " "),
                (s["gitCommit"] or "-")[:12],
                ",".join(s["images"]) or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(RELEASE_COLUMNS) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"
