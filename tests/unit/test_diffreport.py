"""The Markdown form of a diff (merge-request notes)."""

from __future__ import annotations

from typing import Any

from kdeploy.diffreport import diff_markdown, note_marker


def doc(diff: str = "--- live\n+++ desired\n", n: int = 1) -> dict[str, Any]:
    changes = [
        {
            "action": "change",
            "kind": "ConfigMap",
            "namespace": "shop",
            "name": f"c{i}",
            "diff": diff,
        }
        for i in range(n)
    ]
    summary = {"create": 0, "change": n, "delete": 0, "unchanged": 0}
    return {
        "changes": True,
        "summary": summary,
        "releases": [
            {"release": "web", "namespace": "shop", "summary": summary, "changes": changes}
        ],
    }


def test_headline_table_and_folded_diff() -> None:
    text = diff_markdown(doc(), environment="staging")
    assert text.startswith(note_marker("staging") + "\n### kdeploy diff for `staging`: ")
    assert "0 to create, 1 to change, 0 to delete" in text
    assert "| change | `ConfigMap shop/c0` |" in text
    assert "<details><summary>change ConfigMap shop/c0</summary>" in text


def test_no_changes_says_so() -> None:
    empty = {"changes": False, "summary": {}, "releases": []}
    assert "`dev`: no changes" in diff_markdown(empty, environment="dev")


def test_backticks_in_a_diff_cannot_close_the_fence() -> None:
    text = diff_markdown(doc(diff="+ run: ````echo```\n"), environment="dev")
    assert "`````diff\n+ run: ````echo```\n`````" in text


def test_diffs_past_the_size_limit_are_left_out_and_counted() -> None:
    text = diff_markdown(doc(diff="x" * 1000, n=10), environment="dev", max_chars=3000)
    assert len(text) <= 3000
    assert text.count("<details>") < 10
    assert "object diffs left out" in text
