"""Deploy order by git history (`apply --if-newer`, on by default in CI): refuse to deploy a commit
that is an ancestor of the commit the release runs, so that of two pipelines waiting for the lock,
the older commit cannot land last.

Only a proven ancestor is refused: the same commit may be deployed again (a retry), and a commit
of another branch, or one whose relation git cannot tell (a shallow CI clone without the deployed
commit), goes ahead, with a warning in the latter case. `--allow-older` deploys an older commit on
purpose; `kdeploy rollback` is never checked.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kdeploy.errors import KdeployError
from kdeploy.history.identity import git_is_ancestor
from kdeploy.history.model import Revision

# (older, newer) -> True when `older` is an ancestor of `newer`, False when not, None when unknown
AncestorCheck = Callable[[str, str], bool | None]


class OlderCommitError(KdeployError):
    """The commit being deployed is older than (an ancestor of) the one the release runs."""


def git_ancestry(directory: Path) -> AncestorCheck:
    """An AncestorCheck answered by the git work tree holding `directory`."""
    return lambda older, newer: git_is_ancestor(directory, older, newer)


def check_newer(
    ours: str | None,
    deployed: Revision | None,
    is_ancestor: AncestorCheck,
    *,
    release: str,
    namespace: str,
    warn: Callable[[str], None],
    explicit: bool,
) -> None:
    """Raise OlderCommitError when commit `ours` is a strict ancestor of the commit of the
    `deployed` revision. Goes ahead (saying why on `warn` when `explicit`, i.e. --if-newer was
    asked for) when either commit is unknown, or (always saying so) when git cannot tell."""
    where = f"release {release} in namespace {namespace}"
    if ours is None:
        if explicit:
            warn(
                f"warning: --if-newer: not deploying from a git work tree, so {where} is not checked"
            )
        return
    if deployed is None or not deployed.git_commit or deployed.git_commit == ours:
        return
    theirs = deployed.git_commit
    older = is_ancestor(ours, theirs)
    if older is None:
        warn(
            f"warning: --if-newer: cannot tell whether commit {ours[:12]} is older than commit "
            f"{theirs[:12]} of revision {deployed.number} of {where}: it is not in this clone "
            "(fetch more history, e.g. GIT_DEPTH=0 in GitLab CI); deploying"
        )
        return
    if older:
        by = f" by {deployed.who}" if deployed.who else ""
        at = f" at {deployed.finished_at or deployed.started_at}" if deployed.started_at else ""
        raise OlderCommitError(
            f"{where} runs commit {theirs[:12]} (revision {deployed.number}, deployed{by}{at}); "
            f"this apply is from commit {ours[:12]}, an ancestor of it: refusing to deploy an "
            "older commit over a newer one (--if-newer, on by default in CI); nothing was changed",
            hint="a newer pipeline already deployed; to deploy this older commit on purpose, "
            "pass --allow-older (or roll back with `kdeploy rollback`)",
        )
