"""apply --if-newer: which commits are refused (kdeploy.actions.ordering.check_newer)."""

from __future__ import annotations

import pytest

from kdeploy.actions.ordering import OlderCommitError, check_newer
from kdeploy.history.model import Revision

OLD, NEW = "a" * 40, "b" * 40
DEPLOYED = Revision(
    release="web", namespace="shop", number=5, status="deployed", git_commit=NEW, who="ci-bot"
)


def run(
    ours: str | None, deployed: Revision | None, answer: bool | None, explicit: bool = False
) -> list[str]:
    warnings: list[str] = []
    check_newer(
        ours,
        deployed,
        lambda _older, _newer: answer,
        release="web",
        namespace="shop",
        warn=warnings.append,
        explicit=explicit,
    )
    return warnings


def test_an_ancestor_is_refused_naming_both_commits() -> None:
    with pytest.raises(OlderCommitError) as caught:
        run(OLD, DEPLOYED, True)
    assert f"runs commit {NEW[:12]} (revision 5, deployed by ci-bot)" in caught.value.message
    assert f"this apply is from commit {OLD[:12]}, an ancestor of it" in caught.value.message
    assert "--allow-older" in (caught.value.hint or "")


def test_newer_or_unrelated_commits_go_ahead_silently() -> None:
    assert run(OLD, DEPLOYED, False) == []


def test_the_same_commit_goes_ahead_without_asking_git() -> None:
    assert run(NEW, DEPLOYED, True) == []


def test_nothing_deployed_or_no_commit_recorded_goes_ahead() -> None:
    assert run(OLD, None, True) == []
    assert (
        run(OLD, Revision(release="web", namespace="shop", number=1, status="deployed"), True) == []
    )


def test_unknown_order_goes_ahead_with_a_warning() -> None:
    (warning,) = run(OLD, DEPLOYED, None)
    assert "it is not in this clone" in warning and NEW[:12] in warning


def test_no_git_work_tree_warns_only_when_asked_for() -> None:
    assert run(None, DEPLOYED, True) == []
    (warning,) = run(None, DEPLOYED, True, explicit=True)
    assert "not deploying from a git work tree" in warning
