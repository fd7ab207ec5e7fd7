"""Repair what a deployer killed mid-operation left in a release's history, before the next
operation plans anything.

A killed apply or rollback can leave its revision `pending` (killed before it finished), or two
revisions `deployed` (killed between marking its own revision deployed and superseding the
previous one). The caller holds the release lock, so no other deployer is running: a `pending`
revision was interrupted, and only the newest `deployed` revision describes the cluster.
"""

from __future__ import annotations

from kdeploy.actions.deps import Deps
from kdeploy.history.model import Revision


def recover_history(deps: Deps, release: str, namespace: str) -> list[Revision]:
    """Warn about every damaged or untrusted revision, mark every `pending` revision of the
    release `failed` ("interrupted") and every trusted `deployed` revision but the newest
    `superseded`; returns the revisions as they now stand (oldest first,
    metadata only). Call only while holding the release lock. Raises HistoryError or
    ClusterError when history cannot be read or written."""
    from kdeploy.history.report import untrusted_warnings

    revisions = deps.history.revisions(release, namespace)
    for line in untrusted_warnings(revisions):
        deps.output.info(line)
    repaired = False
    for rev in revisions:
        if rev.status == "pending":
            deps.history.mark_interrupted(rev)
            repaired = True
            deps.output.info(
                f"  revision {rev.number} of release {release} was interrupted (its deployer "
                "stopped); marked failed"
            )
    if deps.history.settle_deployed(release, namespace):
        repaired = True
    return deps.history.revisions(release, namespace) if repaired else revisions


def last_is_deployed(revisions: list[Revision]) -> bool:
    """True when the newest revision is `deployed` (or there is none): then the cluster is known
    to hold what history says, and an apply without changes need not record anything."""
    return not revisions or revisions[-1].status == "deployed"
