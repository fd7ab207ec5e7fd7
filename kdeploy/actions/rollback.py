"""`kdeploy rollback`: re-apply a stored revision through the deploy pipeline. It never re-renders
(the package may have changed or be absent) and works whatever state the current revision is in."""

from __future__ import annotations

import re

from kdeploy.actions.apply import confirm_or_refuse, confirm_pruned_namespaces
from kdeploy.actions.deploy import DeployOptions, deploy
from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import Target, prepare, redacting, show_plan
from kdeploy.actions.phases import DEFAULT_CONCURRENCY
from kdeploy.actions.recover import recover_history
from kdeploy.errors import HistoryError
from kdeploy.history.model import Revision
from kdeploy.wait import WaitOptions


def choose_revision(
    revisions: list[Revision], to: int | None, *, allow_unverified: bool = False
) -> int:
    """The revision number to roll back to: `to` when given (it must exist); else, when the latest
    revision is a rollback that did not finish (interrupted or failed), the revision it was
    restoring, so a re-run finishes it instead of reversing direction; else the newest deployed or
    superseded revision before the current one (the latest revision when it failed or is pending,
    the one before the deployed one otherwise). Only trusted revisions are chosen by default;
    `to` names an untrusted one only with `allow_unverified`. Raises HistoryError."""
    if not revisions:
        raise HistoryError("the release has no recorded revisions")
    numbers = [r.number for r in revisions]
    existing = ", ".join(str(n) for n in numbers)
    if to is not None:
        if to not in numbers:
            raise HistoryError(f"revision {to} does not exist; existing revisions: {existing}")
        chosen = next(r for r in revisions if r.number == to)
        if chosen.distrust and not allow_unverified:
            raise HistoryError(
                f"revision {to} is not trusted: {chosen.distrust}; a rollback would apply its "
                "manifests with your credentials",
                hint=f"check them (`kdeploy get manifest {chosen.release} --revision {to} -n "
                f"{chosen.namespace}`) and pass --allow-unverified to roll back to it anyway",
            )
        return to
    # records that are not trusted never choose the target: a forged "newer" revision must not
    # decide what is current or what a re-run finishes
    revisions = [r for r in revisions if r.trusted]
    if not revisions:
        raise HistoryError(
            f"no trusted revision to roll back to; existing revisions: {existing}",
            hint="see `kdeploy history` for why; pass --to N --allow-unverified to choose one",
        )
    latest = max(revisions, key=lambda r: r.number)
    unfinished = unfinished_rollback(latest)
    if unfinished is not None and unfinished in numbers:
        return unfinished
    good = [r.number for r in revisions if r.status in ("deployed", "superseded")]
    if latest.status == "deployed":
        good = [n for n in good if n < latest.number]
    if not good:
        raise HistoryError(
            f"no earlier successful revision to roll back to; existing revisions: {existing}",
            hint="pass --to N to choose one",
        )
    return max(good)


def unsigned_target_warning(revisions: list[Revision], number: int) -> str:
    """The `warning:` for rolling back to revision `number` when it is not signed by kdeploy's
    history key: untrusted and chosen with --allow-unverified, or, without a key, unsigned while
    other revisions are signed (someone else may have written it). "" otherwise."""
    chosen = next(r for r in revisions if r.number == number)
    if chosen.distrust:
        return (
            f"warning: rolling back to revision {number}, which is not trusted "
            f"({chosen.distrust}), as --allow-unverified allows"
        )
    others = [str(r.number) for r in revisions if r.signed]
    if chosen.trust == "unchecked" and not chosen.signed and others:
        return (
            f"warning: rolling back to revision {number}, which is not signed while "
            + (
                f"revisions {', '.join(others)} are"
                if len(others) > 1
                else f"revision {others[0]} is"
            )
            + "; without the history key (KDEPLOY_HISTORY_KEY) kdeploy cannot tell whether it "
            "wrote it"
        )
    return ""


_ROLLBACK_DESCRIPTION = re.compile(r"rollback to (\d+)")


def unfinished_rollback(revision: Revision) -> int | None:
    """The revision that `revision` was rolling back to when it is a rollback that did not finish
    (`pending` or `failed`), else None. Records written before `rollback_to` was stored are
    recognised by their description `rollback to N`."""
    if revision.status not in ("pending", "failed"):
        return None
    if revision.rollback_to is not None:
        return revision.rollback_to
    match = _ROLLBACK_DESCRIPTION.fullmatch(revision.description)
    return int(match.group(1)) if match else None


def rollback(
    deps: Deps,
    release: str,
    namespace: str,
    *,
    to: int | None = None,
    yes: bool = False,
    force_conflicts: bool = False,
    allow_unverified: bool = False,
    history_max: int = 10,
    wait: WaitOptions | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    delete_namespaces: bool = False,
) -> Revision | None:
    """Roll `release` back to revision `to` (default: see `choose_revision`); shows the diff,
    asks for confirmation, prunes what revision `to` did not have and records "rollback to N".
    A Namespace the prune would delete needs `delete_namespaces` (or a confirmation on a
    terminal). Holds the release lock throughout and waits for health as `wait` says (default: no wait).
    Returns the new revision. Raises Declined when the user answers no (nothing changed),
    HistoryError for an unknown release or revision, LockHeldError when the release is locked,
    WaitError when it does not become healthy."""
    # one view of the history for recovery, planning and deploying (see HistoryStore.operation)
    with deps.locks.hold(release, namespace), deps.history.operation(release, namespace):
        revisions = recover_history(deps, release, namespace)
        if not revisions:
            raise HistoryError(
                f"release {release} has no history in namespace {namespace}",
                hint="check the release name and -n NAMESPACE (see `kdeploy history`)",
            )
        try:
            number = choose_revision(revisions, to, allow_unverified=allow_unverified)
        except HistoryError as e:
            raise HistoryError(
                f"release {release} in namespace {namespace}: {e.message}", hint=e.hint
            ) from e
        warning = unsigned_target_warning(revisions, number)
        if warning:
            deps.output.info(warning)
        latest = revisions[-1]
        if to is None and unfinished_rollback(latest) == number:
            deps.output.info(
                f"Revision {latest.number} of release {release} (rollback to {number}) did not "
                f"finish ({latest.result or latest.status}); finishing it: rolling back to "
                f"revision {number} again"
            )
        source = deps.history.get(release, namespace, number)
        if source.has_secrets and not source.secrets_restored:
            raise HistoryError(
                f"revision {number} of release {release} in namespace {namespace}: its secrets "
                f"(Secret {source.name}) are missing, so it cannot be re-applied"
            )
        target = Target(
            release=release,
            namespace=namespace,
            manifests=tuple(source.manifests),
            values=source.values,
            user_values=source.user_values,
            package=source.package,
            package_version=source.package_version,
            app_version=source.app_version,
            environment=source.environment,
            description=f"rollback to {number}",
            secret_strings=source.secret_strings,
            restores=source,
        )
        options = DeployOptions(
            force_conflicts=force_conflicts,
            prune=True,
            history_max=history_max,
            wait=wait or WaitOptions(),
            operation="rollback",
            concurrency=concurrency,
            delete_namespaces=delete_namespaces,
        )
        with redacting(target):
            prepared = prepare(deps, target)
            show_plan(deps, prepared)
            refusal = prepared.ownership_error() or (
                None if force_conflicts else prepared.conflict_error()
            )
            if refusal is not None:
                raise refusal
            options = confirm_pruned_namespaces(deps, prepared, options, yes)
            what = f"Roll back release {release} in namespace {namespace} to revision {number}"
            confirm_or_refuse(
                deps,
                what,
                yes,
                declined=f"release {release} in namespace {namespace}: not "
                f"rolled back to revision {number}",
            )
            return deploy(deps, prepared, options)
