"""`apply --atomic`: when the deploy pipeline fails after it recorded a revision (an object was
refused, or the release did not become healthy), roll back to the last deployed revision through
the same rollback action as `kdeploy rollback`, so history shows both the failed revision and the
"rollback to N" revision.

On a first install there is nothing to restore. Unlike Helm, which uninstalls a failed atomic
install, kdeploy leaves the failed revision and its objects in place: they are the evidence of what
went wrong (pods, events), deleting them could take a namespace or volumes with them, and
`kdeploy uninstall` removes them in one step once the cause is understood.
"""

from __future__ import annotations

import dataclasses

from kdeploy.actions.deploy import DeployOptions, deploy
from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import Prepared
from kdeploy.errors import KdeployError, LockLostError, WaitError
from kdeploy.history.model import Revision
from kdeploy.lock import AlreadyHeld


def deploy_atomic(deps: Deps, prepared: Prepared, options: DeployOptions) -> Revision:
    """Deploy `prepared`; when that fails after a revision was recorded, roll back to the newest
    earlier `deployed` revision and raise. Returns the deployed revision on success. Raises a
    KdeployError with the exit code of the original failure, whose message says what failed and
    what was restored (or why nothing was). Must be called with the release lock held."""
    target = prepared.target
    before = _newest(deps, target.release, target.namespace)
    try:
        return deploy(deps, prepared, options)
    except LockLostError:
        # another deployer holds the release now: rolling back would interleave with it
        raise
    except KdeployError as e:
        failure = e
    revisions = deps.history.revisions(target.release, target.namespace)
    failed = max((r.number for r in revisions), default=0)
    where = f"release {target.release} in namespace {target.namespace}"
    if failed <= before:
        # Nothing was recorded, so nothing was changed: there is nothing to undo.
        raise failure
    head = f"apply of {where} failed (revision {failed} recorded as failed): {failure.message}"
    good = [r.number for r in revisions if r.status == "deployed" and r.number < failed]
    if not good:
        why = (
            f"revision {failed} was the first install"
            if failed == 1
            else "no earlier revision was deployed successfully"
        )
        raise _with_code(
            KdeployError(
                f"{head}\n--atomic: nothing to roll back to, {why}; its objects were left in "
                "place for inspection",
                hint=f"remove them with `kdeploy uninstall {target.release} -n {target.namespace}`"
                ", or fix the cause and apply again",
            ),
            failure,
        )
    number = max(good)
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
            wait=options.wait,
        )
    except KdeployError as e:
        raise _with_code(
            KdeployError(
                f"{head}\n--atomic: the rollback to revision {number} failed too: {e.message}",
                hint=f"inspect with `kdeploy history {target.release} -n {target.namespace}` and "
                f"`kdeploy status {target.release} -n {target.namespace}`",
            ),
            failure,
        ) from e
    recorded = f" (recorded as revision {restored.number})" if restored is not None else ""
    raise _with_code(
        KdeployError(
            f"{head}\n--atomic: rolled back to revision {number}{recorded}; the release runs "
            f"revision {number}'s manifests again",
            hint=f"fix the cause and apply again; `kdeploy history {target.release} -n "
            f"{target.namespace}` shows both revisions",
        ),
        failure,
    )


def _newest(deps: Deps, release: str, namespace: str) -> int:
    return max((r.number for r in deps.history.revisions(release, namespace)), default=0)


def _with_code(error: KdeployError, original: KdeployError) -> KdeployError:
    """`error`'s message and hint in an error that exits like `original` (4 when the wait
    failed, 1 for other failures)."""
    if isinstance(original, WaitError):
        return WaitError(error.message, hint=error.hint)
    return error
