"""Which revision `kdeploy rollback` restores by default (kdeploy.actions.rollback)."""

from __future__ import annotations

from typing import Any

import pytest

from kdeploy.actions.rollback import choose_revision, unfinished_rollback
from kdeploy.errors import HistoryError
from kdeploy.history.model import Revision


def rev(number: int, status: Any, **kw: Any) -> Revision:
    return Revision(release="web", namespace="shop", number=number, status=status, **kw)


def test_after_a_deployed_revision_the_one_before_it() -> None:
    assert choose_revision([rev(1, "superseded"), rev(2, "deployed")], None) == 1


def test_after_a_failed_apply_the_deployed_revision() -> None:
    assert choose_revision([rev(1, "superseded"), rev(2, "deployed"), rev(3, "failed")], None) == 2


@pytest.mark.parametrize("status", ["failed", "pending"])
def test_an_unfinished_rollback_is_finished(status: str) -> None:
    history = [rev(1, "superseded"), rev(2, "deployed"), rev(3, status, rollback_to=1)]
    assert choose_revision(history, None) == 1


def test_an_unfinished_rollback_recorded_before_rollback_to_was_stored() -> None:
    history = [
        rev(1, "superseded"),
        rev(2, "deployed"),
        rev(3, "failed", description="rollback to 1"),
    ]
    assert choose_revision(history, None) == 1


def test_a_finished_rollback_is_a_revision_like_any_other() -> None:
    history = [rev(1, "superseded"), rev(2, "superseded"), rev(3, "deployed", rollback_to=1)]
    assert unfinished_rollback(history[-1]) is None
    assert choose_revision(history, None) == 2


def test_to_wins_over_an_unfinished_rollback() -> None:
    history = [rev(1, "superseded"), rev(2, "deployed"), rev(3, "failed", rollback_to=1)]
    assert choose_revision(history, 2) == 2


def test_an_unfinished_rollback_to_a_trimmed_revision_falls_back_to_the_rule() -> None:
    history = [rev(2, "deployed"), rev(3, "failed", rollback_to=1)]
    assert choose_revision(history, None) == 2


def test_no_history() -> None:
    with pytest.raises(HistoryError):
        choose_revision([], None)
