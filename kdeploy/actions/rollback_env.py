"""`kdeploy rollback -e ENV --all [--to-commit SHA]`: roll back every release of an environment,
each through the one rollback action, after choosing every release's revision first (so an
unknown commit changes nothing)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kdeploy.actions.deps import Deps
from kdeploy.actions.rollback import choose_revision
from kdeploy.errors import HistoryError
from kdeploy.history.model import Revision


@dataclass(frozen=True)
class Step:
    """One release to roll back: to revision `to` (None: its default, see choose_revision)."""

    release: str
    namespace: str
    to: int | None


def revision_for_commit(revisions: Sequence[Revision], commit: str) -> Revision | None:
    """The newest trusted revision that was deployed (deployed or superseded) from a git commit
    starting with `commit`, or None."""
    found = [
        r
        for r in revisions
        if r.git_commit
        and r.git_commit.startswith(commit)
        and r.status in ("deployed", "superseded")
        and r.trusted
    ]
    return found[-1] if found else None


def plan_steps(
    deps: Deps, releases: Sequence[tuple[str, str]], to_commit: str | None
) -> list[Step]:
    """The rollback of each (release, namespace), in the given (file) order: releases without
    history, and with `to_commit` those already running it, are skipped (saying so). Raises
    HistoryError naming every release that has no revision of `to_commit` (without it: no
    earlier deployed revision), before any change."""
    steps: list[Step] = []
    missing: list[str] = []
    for release, namespace in releases:
        revisions = deps.history.revisions(release, namespace)
        if not revisions:
            deps.output.info(f"Release {release} (namespace {namespace}): not deployed, skipped.")
            continue
        if to_commit is None:
            try:
                choose_revision(revisions, None, allow_unverified=False)
            except HistoryError as e:
                missing.append(f"{release} (namespace {namespace}: {e.message})")
                continue
            steps.append(Step(release, namespace, None))
            continue
        chosen = revision_for_commit(revisions, to_commit)
        if chosen is None:
            missing.append(f"{release} (namespace {namespace})")
            continue
        deployed = [r for r in revisions if r.status == "deployed"]
        if deployed and deployed[-1].number == chosen.number:
            deps.output.info(
                f"Release {release} (namespace {namespace}): revision {chosen.number} of commit "
                f"{to_commit} is deployed already, skipped."
            )
            continue
        steps.append(Step(release, namespace, chosen.number))
    if missing:
        what = (
            f"no deployed revision of commit {to_commit}"
            if to_commit
            else "nothing to roll back to"
        )
        raise HistoryError(
            f"{what} for release(s) " + ", ".join(missing) + "; nothing was rolled back",
            hint="check the commit with `kdeploy history RELEASE -e ENV` (column COMMIT), or "
            "roll back those releases one by one with --to N",
        )
    return steps


def rollback_environment(
    deps: Deps,
    releases: Sequence[tuple[str, str]],
    to_commit: str | None,
    run_one: Callable[[Step], Revision | None],
) -> list[Revision]:
    """Plan every release's rollback (plan_steps), then run each in file order with `run_one`
    (the rollback action); the first failure stops the rest. Returns the recorded revisions."""
    done = []
    for step in plan_steps(deps, releases, to_commit):
        revision = run_one(step)
        if revision is not None:
            done.append(revision)
    return done
