"""What an apply stopped by Ctrl-C or SIGTERM (a cancelled CI job) says: which revision it left
failed, what stays in the cluster, and the exact command that undoes it.

The deploy pipeline already records the revision `failed` ("interrupted") and the lock is
released on the way out; this adds the words, so the last lines of a cancelled job's log tell
the next person what to run instead of a bare `Terminated.`.
"""

from __future__ import annotations

from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import Target
from kdeploy.errors import Cancelled, cancelled, interruption_name


def newest_revision(deps: Deps, release: str, namespace: str) -> int:
    """The number of the newest recorded revision of the release (0: none)."""
    return max((r.number for r in deps.history.revisions(release, namespace)), default=0)


def last_deployed_before(deps: Deps, release: str, namespace: str, number: int) -> int | None:
    """The newest trusted `deployed` or `superseded` revision before `number`, or None: a record
    that is not trusted (docs/history.md, "Trust") is never a target of an automatic rollback."""
    good = [
        r.number
        for r in deps.history.revisions(release, namespace)
        if r.status in ("deployed", "superseded") and r.number < number and r.trusted
    ]
    return max(good, default=None)


def location(target: Target) -> str:
    """How the release commands (`rollback`, `uninstall`) find the release: `-e ENV` when the
    target came from an environment, else `-n NAMESPACE`."""
    return f"-e {target.environment}" if target.environment else f"-n {target.namespace}"


def undo_hint(target: Target, good: int | None, failed: int) -> str:
    """The exact command that restores the release as it was before revision `failed`."""
    if good is None:
        return (
            f"nothing was deployed before revision {failed}: remove what it created with "
            f"`kdeploy uninstall {target.release} {location(target)}`, or apply again"
        )
    return (
        f"roll back to revision {good}, the last deployed one: "
        f"kdeploy rollback {target.release} {location(target)} --to {good}"
    )


def cancelled_apply(
    deps: Deps, target: Target, before: int, interrupt: BaseException
) -> Cancelled | None:
    """The error an apply stopped by `interrupt` ends with, when it recorded a revision after
    revision `before`; None when it recorded nothing (then nothing was changed)."""
    release, namespace = target.release, target.namespace
    failed = newest_revision(deps, release, namespace)
    if failed <= before:
        return None
    good = last_deployed_before(deps, release, namespace, failed)
    return cancelled(
        f"{interruption_name(interrupt)} stopped the apply of release {release} in namespace "
        f"{namespace}: revision {failed} is left failed, and what it applied stays in the "
        "cluster (a rollout may still be in progress)",
        hint=undo_hint(target, good, failed),
        interrupt=interrupt,
    )
