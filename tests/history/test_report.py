"""How `kdeploy history` lays out revisions (pure formatting)."""

from __future__ import annotations

from kdeploy.history.model import Revision
from kdeploy.history.report import format_history_text, history_json


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
        "REVISION  STATUS      WHEN                  WHO           PACKAGE       APP VERSION  COMMIT              DESCRIPTION",
        "9         superseded  2026-11-23 12:00:05Z  alice@laptop  webapp@1.0.0  -            0123456789ab        apply",
        "10        failed      2026-11-23 12:00:05Z  alice@laptop  webapp@1.0.0  2.7.1        0123456789ab+dirty  apply (Deployment shop/web: Invalid)",
        "11        pending     2026-11-23 12:00:05Z  alice@laptop  webapp        -            -                   apply",
    ]


def test_json_lists_oldest_first_with_nulls_for_unknowns() -> None:
    data = history_json("web", "shop", [rev(1, "deployed", git_commit=None, git_dirty=None)])
    assert data["format"] == 1
    [one] = data["revisions"]
    assert one["revision"] == 1
    assert one["gitCommit"] is None and one["gitDirty"] is None
    assert one["finishedAt"] is None
