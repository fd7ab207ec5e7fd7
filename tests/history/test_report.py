"""How `kdeploy history` lays out revisions (pure formatting)."""

from __future__ import annotations

from kdeploy.history.model import Revision
from kdeploy.history.report import (
    format_history_text,
    history_json,
    trust_label,
    trust_problems,
)


def rev(number: int, status: str, **kw: object) -> Revision:
    base: dict[str, object] = {
        "release": "web",
        "namespace": "shop",
        "number": number,
        "status": status,
        "package": "webapp",
        "package_version": "1.0.0",
        "who": "alice@laptop",
        "started_at": "2026-11-23T12:00:05Z",
        "git_commit": "0123456789abcdef0123",
        "git_dirty": False,
        "description": "apply",
    }
    base.update(kw)
    return Revision(**base)  # type: ignore[arg-type]


def test_text_table_aligns_columns_and_marks_dirty_and_unknown_commit() -> None:
    text = format_history_text(
        [
            rev(9, "superseded"),
            rev(
                10,
                "failed",
                git_dirty=True,
                result="Deployment shop/web: Invalid\nmore",
                app_version="2.7.1",
            ),
            rev(11, "pending", git_commit=None, package_version=""),
        ]
    )
    assert text.splitlines() == [
        "REVISION  STATUS      TRUST     WHEN                  WHO           PACKAGE       APP VERSION  COMMIT              DESCRIPTION",
        "9         superseded  unsigned  2026-11-23 12:00:05Z  alice@laptop  webapp@1.0.0  -            0123456789ab        apply",
        "10        failed      unsigned  2026-11-23 12:00:05Z  alice@laptop  webapp@1.0.0  2.7.1        0123456789ab+dirty  apply (Deployment shop/web: Invalid)",
        "11        pending     unsigned  2026-11-23 12:00:05Z  alice@laptop  webapp        -            -                   apply",
    ]


def test_json_lists_oldest_first_with_nulls_for_unknowns() -> None:
    data = history_json("web", "shop", [rev(1, "deployed", git_commit=None, git_dirty=None)])
    assert data["format"] == 1
    [one] = data["revisions"]
    assert one["revision"] == 1
    assert one["gitCommit"] is None and one["gitDirty"] is None
    assert one["finishedAt"] is None


def test_trust_label_tells_signed_unsigned_and_invalid_records_apart() -> None:
    assert trust_label(rev(1, "deployed", trust="verified", signed=True)) == "signed"
    assert trust_label(rev(1, "deployed", trust="unsigned")) == "unsigned"
    assert trust_label(rev(1, "deployed", trust="invalid", signed=True)) == "INVALID"
    assert trust_label(rev(1, "deployed", signed=True)) == "unchecked"  # no key to check it
    assert trust_label(rev(1, "deployed", writers=("kubectl-create",))) == "unsigned+foreign"
    assert trust_label(rev(1, "deployed", damage="bad gzip")) == "damaged"


UNSIGNED = "it is not signed (written before the history key was set, or not by kdeploy)"


def test_old_unsigned_revisions_are_one_line_and_only_when_the_deployed_one_is_among_them() -> None:
    old = [rev(n, "superseded", trust="unsigned", distrust=UNSIGNED) for n in (1, 2, 3)]
    signed = [
        rev(4, "superseded", trust="verified", signed=True),
        rev(5, "deployed", trust="verified", signed=True),
    ]
    # the key was set at revision 4: the older unsigned ones are no news
    assert trust_problems([*old, *signed]) == []
    # just after setting the key, the deployed revision itself is unsigned: one line, no list
    deployed = [*old[:2], rev(3, "deployed", trust="unsigned", distrust=UNSIGNED)]
    ((text, number),) = trust_problems(deployed)
    assert number is None
    assert text.startswith("release web in namespace shop: revisions 1-3 are not signed")
    assert "the last deployed one (3) included" in text


def test_an_unsigned_revision_newer_than_a_signed_one_is_named_on_its_own() -> None:
    revisions = [
        rev(1, "superseded", trust="verified", signed=True),
        rev(2, "deployed", trust="unsigned", distrust=UNSIGNED),
    ]
    ((text, number),) = trust_problems(revisions)
    assert number == 2 and text.startswith("revision 2 of release web in namespace shop (deployed)")


def test_signed_revisions_read_without_a_key_give_one_warning() -> None:
    revisions = [rev(1, "superseded", signed=True), rev(2, "deployed", signed=True), rev(3, "x")]
    ((text, number),) = trust_problems(revisions)
    assert number is None
    assert "revisions 1, 2 are signed, but no history key is set" in text
