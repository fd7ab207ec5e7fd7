"""Choosing an environment's revisions by git commit (kdeploy.actions.rollback_env)."""

from __future__ import annotations

from kdeploy.actions.rollback_env import revision_for_commit
from kdeploy.history.model import Revision


def _rev(number: int, status: str, commit: str | None, distrust: str = "") -> Revision:
    return Revision(
        "web",
        "shop",
        number,
        status,
        git_commit=commit,
        distrust=distrust,  # type: ignore[arg-type]
    )


def test_the_newest_deployed_or_superseded_trusted_revision_of_the_commit() -> None:
    revisions = [
        _rev(1, "superseded", "aaaa1111"),
        _rev(2, "superseded", "aaaa1111"),
        _rev(3, "failed", "aaaa1111"),
        _rev(4, "superseded", "aaaa1111", distrust="signature does not verify"),
        _rev(5, "deployed", "bbbb2222"),
    ]
    found = revision_for_commit(revisions, "aaaa111")
    assert found is not None and found.number == 2
    assert revision_for_commit(revisions, "cccc") is None
    assert revision_for_commit([_rev(1, "deployed", None)], "aaaa111") is None
