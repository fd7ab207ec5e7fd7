"""Run the hooks of one phase against the cluster: one at a time, in order, each (after its delete
policy allows) applied with server-side apply and waited for until healthy before the next.

A failure raises at once, so the caller's operation stops there; the error names the phase and the
hook object and carries the cluster's evidence (the failing pod's container state, Warning events).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Collection, Sequence

from kdeploy.actions.deps import Deps
from kdeploy.errors import ClusterError, WaitError
from kdeploy.hooks import Hook
from kdeploy.kube.client import ObjectRef
from kdeploy.model import ObjectKey
from kdeploy.wait import DEFAULT_TIMEOUT, WaitOptions, terminal_progress, wait_for


def run_hooks(
    deps: Deps,
    hooks: Sequence[Hook],
    phase: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    force_conflicts: bool = False,
    adopted: Collection[ObjectKey] = (),
    sleep: Callable[[float], None] = time.sleep,
    check: Callable[[str], None] | None = None,
    wait: WaitOptions | None = None,
) -> int:
    """Run `hooks` (already in run order) for `phase`; returns how many ran. Hooks in `adopted`
    (existing objects another owner held, taken over with --adopt) are applied with forced
    conflicts.

    Raises WaitError when a hook fails or is not healthy within `timeout` seconds (or an old hook
    object is not gone in time), ClusterError when the server refuses a hook; both messages start
    with "<phase> hook <Kind ns/name>". `check(stage)` runs before each hook and while waiting for
    it, and stops the run by raising (the release lock was lost: see kdeploy.lock). `wait` gives
    the fail-fast and progress settings of the wait for each hook (its timeout is `timeout`)."""
    guard = check or (lambda _stage: None)
    for hook in hooks:
        force = force_conflicts or hook.key in adopted
        guard(f"running {phase} hook {hook.label}")
        _run_one(deps, hook, phase, timeout, force, sleep, guard, wait or WaitOptions())
    return len(hooks)


def _run_one(
    deps: Deps,
    hook: Hook,
    phase: str,
    timeout: float,
    force_conflicts: bool,
    sleep: Callable[[float], None],
    guard: Callable[[str], None],
    wait: WaitOptions,
) -> None:
    ref = ObjectRef.of(hook.manifest)
    name = f"{phase} hook {hook.label}"
    deps.output.info(f"  running hook {hook.describe(phase)}")
    try:
        if hook.delete_policy == "before-run":
            # A Job's template is immutable: the old run must be gone before this one is created.
            _delete_and_wait(deps, ref, timeout, sleep)
            guard(f"creating {name}")
        deps.cluster.apply(hook.manifest, dry_run=False, force=force_conflicts)
        progress = terminal_progress(deps.output, name, wait.progress_interval)
        waited = wait_for(
            deps.cluster,
            [hook.manifest],
            dataclasses.replace(wait, enabled=True, timeout=timeout, load_balancers=False),
            progress,
            check=lambda: guard(f"the next health check of {name}"),
        )
    except WaitError as e:
        raise WaitError(f"{name} failed: {e.message}", hint=_hint(phase)) from e
    except ClusterError as e:
        raise type(e)(f"{name} failed: {e.message}", hint=e.hint or _hint(phase)) from e
    deps.output.info(f"  {name} succeeded after {waited:.1f}s")
    if hook.delete_policy == "on-success":
        guard(f"deleting {name} (hook-delete-policy on-success)")
        deps.cluster.delete(ref, "Background")
        deps.output.info(f"  deleted {hook.label} (hook-delete-policy on-success)")


def _delete_and_wait(
    deps: Deps, ref: ObjectRef, timeout: float, sleep: Callable[[float], None]
) -> None:
    """Delete `ref` with foreground propagation (its pods go first) and poll until it is gone.
    Raises WaitError when it is still there after `timeout` seconds."""
    if not deps.cluster.delete(ref, "Foreground"):
        return
    deps.output.info(f"  deleted the previous {ref} (hook-delete-policy before-run)")
    deadline = time.monotonic() + timeout
    interval = 0.1
    while deps.cluster.get(ref) is not None:
        if time.monotonic() >= deadline:
            raise WaitError(
                f"the previous {ref} was still being deleted after {timeout:.0f}s",
                hint="check its finalizers with `kubectl get -o yaml`",
            )
        sleep(interval)
        interval = min(interval * 1.5, 1.0)


def _hint(phase: str) -> str:
    if phase.startswith("pre-"):
        return (
            "nothing else was changed; fix the hook (see its pod logs) and run the operation again"
        )
    return "the release's objects were applied; fix the hook and apply again, or roll back"
