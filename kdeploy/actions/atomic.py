"""`apply --atomic`: when the deploy pipeline fails after it recorded a revision (an object was
refused, or the release did not become healthy), roll back to the last deployed revision through
the same rollback action as `kdeploy rollback`, so history shows both the failed revision and the
"rollback to N" revision.

Ctrl-C or SIGTERM (a cancelled CI job) counts as a failure too: the rollback then waits for health
at most the grace time (`--atomic-grace`, default 20s, to finish before a CI runner's kill), and a
second signal stops it at once.

A failed wait's evidence is printed before the rollback's own diff and progress, so a CI log shows
the cause first. When the rollback fails too, the release runs neither revision: that exits 5
(RollbackFailed), apart from the 4 of a wait failure that was rolled back.

On a first install there is nothing to restore. Unlike Helm, which uninstalls a failed atomic
install, kdeploy leaves the failed revision and its objects in place: they are the evidence of what
went wrong (pods, events), deleting them could take a namespace or volumes with them, and
`kdeploy uninstall` removes them in one step once the cause is understood.
"""

from __future__ import annotations

import dataclasses

from kdeploy.actions.cancel import last_deployed_before, newest_revision
from kdeploy.actions.deploy import DeployOptions, deploy
from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import Prepared, Target
from kdeploy.durations import format_duration
from kdeploy.errors import (
    KdeployError,
    LockLostError,
    RollbackFailed,
    WaitError,
    cancelled,
    interruption_name,
)
from kdeploy.history.model import Revision
from kdeploy.lock import AlreadyHeld


def deploy_atomic(deps: Deps, prepared: Prepared, options: DeployOptions) -> Revision:
    """Deploy `prepared`; when that fails, or Ctrl-C or SIGTERM stops it, after a revision was
    recorded, roll back to the newest earlier `deployed` revision and raise. Returns the deployed
    revision on success. Raises a KdeployError with the exit code of the original failure (130 or
    143, as Cancelled, when interrupted), whose message says what failed and what was restored
    (or why nothing was); RollbackFailed (exit 5) when the rollback fails too. The failure and
    its evidence are printed before the rollback starts. After an interruption the rollback
    waits for health at most `options.atomic_grace` seconds, and a second signal stops it at
    once. Must be called with the release lock held."""
    target = prepared.target
    before = newest_revision(deps, target.release, target.namespace)
    cause: KdeployError | KeyboardInterrupt
    try:
        return deploy(deps, prepared, options)
    except LockLostError:
        # another deployer holds the release now: rolling back would interleave with it
        raise
    except KdeployError as e:
        cause = e
    except KeyboardInterrupt as e:
        cause = e
    failed = newest_revision(deps, target.release, target.namespace)
    if failed <= before:
        # Nothing was recorded, so nothing was changed: there is nothing to undo.
        raise cause
    where = f"release {target.release} in namespace {target.namespace}"
    if isinstance(cause, KeyboardInterrupt):
        name = interruption_name(cause)
        head = f"{name} stopped the apply of {where} (revision {failed} recorded as failed)"
    else:
        head = f"apply of {where} failed (revision {failed} recorded as failed): {cause.message}"
    number = last_deployed_before(deps, target.release, target.namespace, failed)
    for rev in deps.history.revisions(target.release, target.namespace):
        # never automatically to a record that is not trusted (docs/history.md, "Trust"): say
        # which newer ones were passed over
        skipped = (number or 0) < rev.number < failed and not rev.trusted
        if skipped and rev.status in ("deployed", "superseded"):
            deps.output.info(
                f"--atomic: not rolling back to revision {rev.number}: {rev.distrust or rev.damage}"
            )
    if number is None:
        why = (
            f"revision {failed} was the first install"
            if failed == 1
            else "no earlier revision was deployed successfully"
        )
        raise _outcome(
            f"{head}\n--atomic: nothing to roll back to, {why}; its objects were left in "
            "place for inspection",
            f"remove them with `kdeploy uninstall {target.release} -n {target.namespace}`"
            ", or fix the cause and apply again",
            cause,
        )
    wait = options.wait
    if isinstance(cause, KeyboardInterrupt):
        grace = options.atomic_grace
        wait = dataclasses.replace(wait, timeout=min(wait.timeout, grace))
        deps.output.info(
            f"--atomic: {name} received: rolling back {where} to revision {number}, waiting "
            f"at most {format_duration(grace)} (--atomic-grace); a second signal stops the "
            "rollback at once"
        )
    else:
        if "\n" in cause.message:
            # The evidence goes to the log before the rollback's own diff and progress; the
            # final error repeats only its first line.
            deps.output.info(head)
            first = cause.message.splitlines()[0]
            head = (
                f"apply of {where} failed (revision {failed} recorded as failed): {first}\n"
                "  (the evidence is shown above, before the rollback)"
            )
        deps.output.info(f"--atomic: rolling back {where} to revision {number}")
    from kdeploy.actions.rollback import rollback

    try:
        # The caller already holds the release lock; the rollback runs under it (and checks it).
        restored = rollback(
            dataclasses.replace(deps, locks=AlreadyHeld(deps.locks)),
            target.release,
            target.namespace,
            to=number,
            yes=True,
            force_conflicts=options.force_conflicts,
            history_max=options.history_max,
            wait=wait,
        )
    except KdeployError as e:
        # exit 5 even after Ctrl-C or SIGTERM: the release is now in a state nobody chose
        raise RollbackFailed(
            f"{head}\n--atomic: the rollback to revision {number} failed too: {e.message}",
            hint=_inspect(target, number),
        ) from e
    except KeyboardInterrupt as e:
        raise cancelled(
            f"{head}\n--atomic: a second signal ({interruption_name(e)}) stopped the rollback "
            f"to revision {number} before it finished",
            hint=f"finish it: kdeploy rollback {target.release} -n {target.namespace}",
            interrupt=e,
        ) from e
    recorded = f" (recorded as revision {restored.number})" if restored is not None else ""
    raise _outcome(
        f"{head}\n--atomic: rolled back to revision {number}{recorded}; the release runs "
        f"revision {number}'s manifests again",
        f"fix the cause and apply again; `kdeploy history {target.release} -n "
        f"{target.namespace}` shows both revisions",
        cause,
    )


def _inspect(target: Target, number: int) -> str:
    where = f"{target.release} -n {target.namespace}"
    return (
        f"inspect with `kdeploy history {where}` and `kdeploy status {where}`; "
        f"`kdeploy rollback {where}` tries the rollback to revision {number} again"
    )


def _outcome(message: str, hint: str, cause: KdeployError | KeyboardInterrupt) -> KdeployError:
    """An error with `message` and `hint` that exits like `cause`: 4 when the wait failed, 130 or
    143 when interrupted (Cancelled), 1 for other failures."""
    if isinstance(cause, KeyboardInterrupt):
        return cancelled(message, hint=hint, interrupt=cause)
    if isinstance(cause, WaitError):
        return WaitError(message, hint=hint)
    return KdeployError(message, hint=hint)
