"""The one deploy pipeline, shared by apply and rollback so they can never drift apart:

ownership check → record revision N+1 `pending` → server-side apply in install order (waiting for
CRDs to be Established, then refreshing discovery) → prune what the release no longer renders →
wait until the release's objects are healthy (unless waiting is off) → mark `deployed` (or
`failed`, with the error) → trim history.

Before every write batch (each hook, each install or prune phase, each health poll, marking the
revision deployed) the release lock is checked: a deployer whose lock was broken or taken over
stops there instead of interleaving its writes with the new holder's (see `_lock_lost`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import Prepared, Target, previous_manifests
from kdeploy.actions.namespaces import is_namespace, kept_namespace_line
from kdeploy.actions.phases import DEFAULT_CONCURRENCY, run_phase, split_phases
from kdeploy.drift import reclaimable
from kdeploy.errors import ConflictError, KdeployError, LockLostError
from kdeploy.history.model import Revision
from kdeploy.hooks import Operation, When, hooks_for, phase
from kdeploy.kube.client import ObjectRef
from kdeploy.model import Manifest, ObjectKey
from kdeploy.ownership import owned_by
from kdeploy.resource_policy import keep_policy
from kdeploy.resources import install_order, sort_objects
from kdeploy.wait import WaitOptions

DEFAULT_HISTORY_MAX = 10
DEFAULT_ATOMIC_GRACE = 20.0


@dataclass(frozen=True)
class DeployOptions:
    """How to deploy: take over conflicting fields, adopt foreign objects, prune, history size,
    whether (and how long) to wait for health, and whether a failed apply rolls back (`atomic`,
    handled by the apply action). Waiting is off by default here; the commands turn it on."""

    force_conflicts: bool = False
    adopt: bool = False
    prune: bool = True
    history_max: int = DEFAULT_HISTORY_MAX
    wait: WaitOptions = field(default_factory=WaitOptions)
    atomic: bool = False
    # after Ctrl-C or SIGTERM, an atomic apply's rollback waits for health at most this long
    atomic_grace: float = DEFAULT_ATOMIC_GRACE
    # apply may remove or empty keys of a live Secret (kdeploy.actions.secret_removal)
    allow_secret_removal: bool = False
    # refuse to deploy a git commit older than (an ancestor of) the deployed one (apply only;
    # explicit: asked for with --if-newer, so an unchecked apply says why)
    if_newer: bool = False
    if_newer_explicit: bool = False
    # which hooks run: pre-/post-apply, or pre-/post-rollback (kdeploy.hooks)
    operation: Operation = "apply"
    # objects of one install phase applied (and pruned) at once; see kdeploy.actions.phases
    concurrency: int = DEFAULT_CONCURRENCY
    # a pruned Namespace is deleted only with --delete-namespaces, or when confirmed by name on a
    # terminal (kdeploy.actions.namespaces); otherwise it is kept and reported
    delete_namespaces: bool = False
    confirmed_namespaces: frozenset[str] = frozenset()
    # create the release namespace when it is missing (Prepared.creates_namespace)
    create_namespace: bool = False

    def keeps(self, key: ObjectKey) -> bool:
        """Whether a prune keeps `key` instead of deleting it."""
        if not self.prune:
            return True
        return (
            is_namespace(key)
            and not self.delete_namespaces
            and key.name not in self.confirmed_namespaces
        )


def deploy(deps: Deps, prepared: Prepared, options: DeployOptions) -> Revision:
    """Run the pipeline for a prepared release and return the recorded revision (deployed).

    Raises ConflictError before any change when objects are owned by someone else and not
    `options.adopt`; on any failure after the pending revision is recorded, marks it `failed`
    with the error and re-raises. Raises LockLostError (exit 3) when the release lock was lost,
    before the next write."""
    error = prepared.ownership_error()
    if error is not None and not options.adopt:
        raise error
    error = None if options.force_conflicts else prepared.conflict_error()
    if error is not None:
        raise error
    target = prepared.target
    out = deps.output
    # Hooks are recorded too, so a rollback can run the restored revision's rollback hooks.
    recorded = [*prepared.desired.values(), *(h.manifest for h in prepared.hooks)]
    kept_keys = [
        c.key
        for c in prepared.plan.of("delete")
        if c.key in prepared.previous
        and options.keeps(c.key)
        and keep_policy(prepared.live.get(c.key), prepared.previous[c.key]) is None
    ]
    if kept_keys:
        # Kept objects stay part of the release (and prune candidates) until a prune deletes them;
        # record them with their real secret data, so that a rollback can re-apply them.
        full = previous_manifests(deps, target.release, target.namespace, secrets=True)
        recorded += [full.get(key, prepared.previous[key]) for key in kept_keys]
    early = _create_release_namespace(deps, prepared)
    made_home = prepared.creates_namespace and create_missing_namespace(deps, target)
    # The lock cannot live in a namespace that did not exist yet: take it now, before recording.
    deps.locks.ensure(target.release, target.namespace)
    if early or made_home:
        # The history was read before the lock existed: another deployer may have recorded
        # revisions in the namespace meanwhile, so read it again now that we hold the lock.
        deps.history.refresh(target.release, target.namespace)

    def guard(stage: str) -> None:
        deps.locks.check(target.release, target.namespace, stage)

    guard("recording a new revision")
    _mark_interrupted(deps, target.release, target.namespace)
    revision = deps.history.begin(
        target.release,
        target.namespace,
        manifests=recorded,
        values=target.values,
        user_values=target.user_values,
        package=target.package,
        package_version=target.package_version,
        app_version=target.app_version,
        environment=target.environment,
        description=target.description,
        secret_strings=set(target.secret_strings),
        restores=target.restores,
    )
    try:
        ran = _run_hooks(deps, prepared, options, "pre", guard)
        counts = _apply_all(deps, prepared, options, early, guard)
        deleted, kept = _prune(deps, prepared, options, guard)
        counts["deleted"] = deleted
        result = ", ".join(f"{n} {what}" for what, n in counts.items())
        if made_home:
            result = f"created Namespace {target.namespace} (--create-namespace); {result}"
        reverted = [d for d in prepared.drift if d.action == "reclaim"]
        if reverted:
            fields = "; ".join(f"{d.key} {d.field} (changed by {d.manager})" for d in reverted)
            result += f"; reverted drift: {fields}"
        if kept:
            result += f"; kept {kept} no longer rendered"
            result += " (--no-prune)" if not options.prune else ""
        if options.wait.enabled:
            result += f"; healthy after {_wait(deps, prepared, options.wait, guard)}"
        ran += _run_hooks(deps, prepared, options, "post", guard)
        if ran:
            result += f"; {ran} hook{'s' if ran != 1 else ''} succeeded"
        guard(f"marking revision {revision.number} deployed")
        revision = deps.history.finish(revision, "deployed", result)
    except LockLostError as e:
        raise _lock_lost(deps, revision, e, options.operation) from e
    except KdeployError as e:
        deps.history.finish(revision, "failed", target.redactor()(e.format_message()))
        raise
    except BaseException as e:
        deps.history.finish(revision, "failed", f"interrupted: {type(e).__name__}")
        raise
    why = f" ({target.description})" if target.description else ""
    out.info(
        f"Release {target.release} revision {revision.number}{why} deployed in namespace "
        f"{target.namespace}: {result}"
    )
    _trim_history(deps, target.release, target.namespace, options.history_max)
    return revision


def _trim_history(deps: Deps, release: str, namespace: str, keep: int) -> None:
    """Delete old revisions beyond `keep` (and orphaned revision parts). The deploy has succeeded
    and is recorded: a failure here (e.g. no permission to delete ConfigMaps) is only a warning."""
    try:
        deps.history.prune(release, namespace, keep=keep)
    except KdeployError as e:
        deps.output.info(
            f"warning: could not trim the history of release {release} in namespace {namespace} "
            f"(the deploy succeeded and is recorded): {e.message}\n"
            f"  hint: old revisions stay until a deployer who may delete ConfigMaps and Secrets "
            f"in namespace {namespace} applies again (or use --history-max 0 to keep them all)"
        )


def _lock_lost(
    deps: Deps, revision: Revision, error: LockLostError, operation: Operation
) -> LockLostError:
    """Record our revision `failed` after losing the lock, and return the error to raise.

    This one history write is safe although another deployer may hold the lock and be writing:
    revision numbers are unique per deployer (each records its revision with a create that fails
    on an existing number), so the new holder never records under our number; the only write it
    makes to our record is marking it `failed` ("interrupted") when it finds it pending, and
    `finish` only writes a record that is still pending, so either way the outcome is the same
    `failed`. Nothing else is written: no superseding, no history trimming, no cluster change."""
    number = revision.number
    try:
        deps.history.finish(revision, "failed", error.message)
        marked = f"revision {number} marked failed"
    except KdeployError as e:
        # typically: the new holder already marked it failed ("interrupted")
        marked = f"revision {number} not marked failed here ({e.message})"
    return LockLostError(
        f"{error.message}; {marked}; run {operation} again",
        hint=(
            "another deployer may be running now; the next run waits for it (--wait-for-lock) "
            "and deploys on top of what it leaves"
        ),
    )


def _run_hooks(
    deps: Deps, prepared: Prepared, options: DeployOptions, when: When, guard: Callable[[str], None]
) -> int:
    """Run the release's hooks of the operation's pre or post phase; returns how many ran.
    Raises the first hook's failure (see kdeploy.actions.hooks.run_hooks)."""
    name = phase(options.operation, when)
    hooks = hooks_for(prepared.hooks, name)
    if not hooks:
        return 0
    from kdeploy.actions.hooks import run_hooks

    return run_hooks(
        deps,
        hooks,
        name,
        timeout=options.wait.timeout,
        force_conflicts=options.force_conflicts,
        wait=options.wait,
        adopted={h.key for h in hooks if h.key in prepared.foreign},
        check=guard,
    )


def _wait(
    deps: Deps, prepared: Prepared, options: WaitOptions, guard: Callable[[str], None]
) -> str:
    """Wait until every object of the release is healthy; returns the time taken ("3.2s").
    Raises WaitError naming the release, with the evidence."""
    from kdeploy.errors import WaitError
    from kdeploy.wait import terminal_progress, wait_for

    target = prepared.target
    deps.output.info(f"Waiting for release {target.release} to become healthy...")
    progress = terminal_progress(
        deps.output, f"release {target.release}", options.progress_interval
    )
    try:
        waited = wait_for(
            deps.cluster,
            prepared.desired.values(),
            options,
            progress,
            check=lambda: guard("the next health check"),
        )
    except WaitError as e:
        raise WaitError(
            f"release {target.release} in namespace {target.namespace} is not healthy: {e.message}",
            hint=e.hint,
        ) from e
    return f"{waited:.1f}s"


def _mark_interrupted(deps: Deps, release: str, namespace: str) -> None:
    """We hold the release lock, so a `pending` revision belongs to a deployer that died (its lock
    expired): record it as failed ("interrupted") instead of leaving the release stuck."""
    for rev in deps.history.revisions(release, namespace):
        if rev.status == "pending":
            deps.history.mark_interrupted(rev)
            deps.output.info(
                f"  revision {rev.number} of release {release} was interrupted (its deployer "
                "stopped); marked failed"
            )


def _create_release_namespace(deps: Deps, prepared: Prepared) -> set[ObjectKey]:
    """When the release creates its own namespace, create it before anything else: the history
    is stored there, and the pending revision must be recorded before the other changes."""
    key = ObjectKey("", "Namespace", "", prepared.target.namespace)
    change = next((c for c in prepared.plan.changes if c.key == key), None)
    if change is None or change.action != "create":
        return set()
    deps.cluster.apply(prepared.desired[key], dry_run=False, force=False)
    deps.output.info(f"  created {key}")
    return {key}


def create_missing_namespace(deps: Deps, target: Target) -> bool:
    """Create the release namespace (--create-namespace), marked with the release it was created
    for (server-side apply: if another deployer created it meanwhile, only the mark is added).
    Returns True."""
    from kdeploy.actions.namespaces import created_namespace_manifest

    deps.cluster.apply(created_namespace_manifest(target), dry_run=False, force=False)
    deps.output.info(f"  created Namespace {target.namespace} (--create-namespace)")
    return True


def _apply_all(
    deps: Deps,
    prepared: Prepared,
    options: DeployOptions,
    done: set[ObjectKey],
    guard: Callable[[str], None],
) -> dict[str, int]:
    """SSA every created or changed (or adopted) object, except those already `done`, phase by
    phase in install order (each phase's objects concurrently, see kdeploy.actions.phases); at
    most one write each. Raises at the first phase with a failure, naming every failed object."""
    actions = {c.key: c.action for c in prepared.plan.changes}
    counts = {"created": len(done), "changed": 0, "unchanged": 0}
    todo: list[Manifest] = []
    for manifest in sort_objects(prepared.desired.values()):
        key = ObjectKey.of(manifest)
        if key in done:
            continue
        if actions.get(key, "create") == "unchanged" and key not in prepared.foreign:
            counts["unchanged"] += 1
            continue
        todo.append(manifest)

    def apply_one(manifest: Manifest) -> str:
        key = ObjectKey.of(manifest)
        adopted = key in prepared.foreign
        force = options.force_conflicts or adopted
        reclaim = reclaimable(prepared.drift, key)
        try:
            deps.cluster.apply(manifest, dry_run=False, force=force)
        except ConflictError as e:
            # force for exactly the fields planned as reclaimed (drift reverted); a field that
            # changed hands since planning stops here like any conflict
            if not reclaim or not e.fields or not {f for f, _ in e.fields} <= reclaim:
                raise
            deps.cluster.apply(manifest, dry_run=False, force=True)
        return "adopted" if adopted else actions.get(key, "create") + "d"

    for group in split_phases(todo):
        guard(f"applying phase {group.name!r}")
        verbs = run_phase(group, apply_one, concurrency=_concurrency(deps, options), verb="apply")
        for manifest, verb in zip(group.objects, verbs, strict=True):
            key = ObjectKey.of(manifest)
            deps.output.info(f"  {verb} {key}")
            counts["created" if verb == "created" else "changed"] += 1
        crds = [
            ObjectKey.of(m).name
            for m in group.objects
            if m.get("kind") == "CustomResourceDefinition"
            and ObjectKey.of(m).group == "apiextensions.k8s.io"
        ]
        if crds:
            _settle_crds(deps, crds)
    return counts


def _concurrency(deps: Deps, options: DeployOptions) -> int:
    # a client that is not thread-safe (max_parallel 1) gets one request at a time
    return max(1, min(options.concurrency, deps.cluster.max_parallel))


def _settle_crds(deps: Deps, names: list[str]) -> None:
    for name in names:
        deps.cluster.wait_established(name)
    deps.cluster.refresh_discovery()
    names.clear()


def _prune(
    deps: Deps, prepared: Prepared, options: DeployOptions, guard: Callable[[str], None]
) -> tuple[int, int]:
    """Delete (or, with --no-prune, keep and report) the objects planned for deletion, in reverse
    install order; a Namespace is kept unless its deletion was asked for (DeployOptions.keeps),
    and an object with the keep policy (kdeploy.resource_policy) is always left in the cluster and
    out of the release. Returns (deleted, kept)."""
    target = prepared.target
    doomed = [prepared.live[c.key] for c in prepared.plan.of("delete") if c.key in prepared.live]
    # every prune candidate comes from the release's history: recorded
    doomed = [m for m in doomed if owned_by(m, target.release, target.namespace, recorded=True)]
    if not doomed:
        return 0, 0
    ordered = sorted(doomed, key=install_order, reverse=True)
    released = []
    for m in ordered:
        key = ObjectKey.of(m)
        policy = keep_policy(m, prepared.previous.get(key))
        if policy is not None:
            # Left in the cluster and out of the new revision: it no longer belongs to the release.
            deps.output.info(
                f"  kept {key} (no longer rendered; {policy}): left in the cluster, no longer "
                f"part of release {target.release}"
            )
            released.append(m)
    ordered = [m for m in ordered if m not in released]
    kept = [m for m in ordered if options.keeps(ObjectKey.of(m))]
    for m in kept:
        key = ObjectKey.of(m)
        if not options.prune:
            deps.output.info(f"  kept {key} (no longer rendered; --no-prune)")
        else:
            deps.output.info(kept_namespace_line(key.name, "no longer rendered"))
    ordered = [m for m in ordered if not options.keeps(ObjectKey.of(m))]
    kept_count = len(kept) + len(released)
    if not ordered:
        return 0, kept_count
    concurrency = _concurrency(deps, options)
    return delete_objects(deps, ordered, concurrency=concurrency, check=guard), kept_count


def delete_objects(
    deps: Deps,
    ordered: list[Manifest],
    *,
    concurrency: int = 1,
    check: Callable[[str], None] | None = None,
) -> int:
    """Delete live objects phase by phase in reverse install order (each phase's objects
    `concurrency` at a time); returns how many existed. Raises at the first phase with a failure,
    naming every failed object; `check(stage)` runs before each phase and stops by raising."""
    deleted = 0
    for group in split_phases(ordered, reverse=True):
        if check is not None:
            check(f"pruning phase {group.name!r}")
        gone = run_phase(
            group,
            lambda m: deps.cluster.delete(ObjectRef.of(m)),
            concurrency=concurrency,
            verb="delete",
        )
        for manifest, existed in zip(group.objects, gone, strict=True):
            if existed:
                deleted += 1
                deps.output.info(f"  deleted {ObjectKey.of(manifest)}")
    return deleted
