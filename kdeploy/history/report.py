"""How `kdeploy history` shows revisions: a text table for people, a stable JSON shape for CI."""

from __future__ import annotations

from typing import Any

from kdeploy.history.model import Revision

COLUMNS = (
    "REVISION", "STATUS", "TRUST", "WHEN", "WHO", "PACKAGE", "APP VERSION", "COMMIT", "DESCRIPTION"
)  # fmt: skip
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


def trust_label(rev: Revision) -> str:
    """The TRUST column: `signed` (verified with the history key), `unsigned`, `INVALID` (a
    signature that does not verify); without a key `unchecked` for a signed record (its signature
    cannot be checked) and `unsigned` for one without; `damaged` for a record that cannot be read.
    `+foreign` when a field manager other than kdeploy's wrote it."""
    if rev.damage:
        return "damaged"
    label = {"verified": "signed", "invalid": "INVALID", "unsigned": "unsigned"}.get(
        rev.trust, "unchecked" if rev.signed else "unsigned"
    )
    return label + ("+foreign" if foreign(rev) else "")


def foreign(rev: Revision) -> tuple[str, ...]:
    """The field managers other than kdeploy's that wrote or changed the record."""
    from kdeploy.history.trust import foreign_writers

    return foreign_writers(rev.writers)


def history_rows(revisions: list[Revision]) -> list[tuple[str, ...]]:
    """One row of display strings per revision, in COLUMNS order."""
    return [
        (
            str(r.number),
            r.status,
            trust_label(r),
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
        "signed": rev.signed,
        "writers": list(rev.writers),
        "damage": rev.damage or None,
        "ci": rev.ci,
        "images": list(rev.images),
    }


def untrusted_warnings(revisions: list[Revision]) -> list[str]:
    """The `warning:` lines (each with a hint line) about a release's history that a command
    reading it prints, at most once per command (see `trust_problems`)."""
    from kdeploy.history.model import drop_hint

    out = []
    for problem, number in trust_problems(revisions):
        out.append(f"warning: {problem}")
        rev = next((r for r in revisions if r.number == number), None)
        if rev is not None:
            out.append(f"  hint: {drop_hint(rev.release, rev.namespace, rev.number)}")
    return out


def trust_problems(revisions: list[Revision]) -> list[tuple[str, int | None]]:
    """What a person should know about the trust of a release's history, one (text, revision
    number or None) each, only where it matters (docs/history.md, "Trust"):

    - each revision that cannot be read, whose signature does not verify, or that another field
      manager wrote: these mean damage or tampering;
    - revisions that are merely unsigned because they were written before the history key was
      set (older than every verified one): one line for all of them, and only when the last deployed revision is among them (then
      `apply --atomic` and `rollback` cannot return to it on their own); `history` shows the rest
      in its TRUST column;
    - signed revisions read without a history key: one line (their signatures are not checked,
      and the records written now are unsigned)."""
    if not revisions:
        return []
    first = revisions[0]
    release = f"release {first.release} in namespace {first.namespace}"
    out: list[tuple[str, int | None]] = []
    unsigned = []
    # an unsigned record newer than a verified one was not written before the key was set
    verified = [r.number for r in revisions if r.trust == "verified"]
    key_set_at = min(verified) if verified else revisions[-1].number + 1
    for rev in revisions:
        where = f"revision {rev.number} of {release}"
        if rev.damage:
            out.append((f"{where} cannot be read: {rev.damage}", rev.number))
        elif rev.trust == "unsigned" and not foreign(rev) and rev.number < key_set_at:
            unsigned.append(rev)
        elif rev.distrust:
            out.append(
                (
                    f"{where} ({rev.status}) is not trusted: {rev.distrust}; kdeploy will not "
                    "roll back to it or supersede it on its own",
                    rev.number,
                )
            )
    deployed = [r for r in revisions if r.status == "deployed"]
    if unsigned and deployed and deployed[-1] in unsigned:
        out.append(
            (
                f"{release}: revision{_plural(unsigned)} {_numbers(unsigned)} "
                f"{'are' if len(unsigned) > 1 else 'is'} not signed (written before the history "
                f"key was set), the last deployed one ({deployed[-1].number}) included: apply "
                "--atomic and rollback do not return to an unsigned revision on their own "
                "(rollback --to N --allow-unverified does, after you checked it); the next "
                "apply writes a signed one",
                None,
            )
        )
    signed = [r for r in revisions if r.trust == "unchecked" and r.signed]
    if signed:
        out.append(
            (
                f"{release}: revision{_plural(signed)} {_numbers(signed)} "
                f"{'are' if len(signed) > 1 else 'is'} signed, but no history key is set "
                "(KDEPLOY_HISTORY_KEY or KDEPLOY_HISTORY_KEY_SECRET): signatures are not "
                "checked, and a revision recorded now is unsigned (not trusted where the key is "
                "set)",
                None,
            )
        )
    return out


def _plural(revisions: list[Revision]) -> str:
    return "s" if len(revisions) > 1 else ""


def _numbers(revisions: list[Revision]) -> str:
    """`1, 2, 4` (`1-7` for a run of more than two)."""
    numbers = [r.number for r in revisions]
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    parts = [f"{r[0]}-{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs]
    return ", ".join(parts)


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
