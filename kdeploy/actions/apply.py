"""`kdeploy apply`: plan, show, confirm and deploy each release in order; the first failure stops
the rest."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from kdeploy.actions.cancel import cancelled_apply, newest_revision
from kdeploy.actions.compat import check_cluster_version
from kdeploy.actions.deploy import DeployOptions, deploy
from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import Prepared, Target, Upcoming, prepare, redacting, show_plan
from kdeploy.actions.ordering import check_newer
from kdeploy.actions.secret_removal import check_secret_removals
from kdeploy.deployreport import DeployReport
from kdeploy.errors import EXIT_UNHEALTHY, Declined, KdeployError
from kdeploy.history.model import Revision


class ConfirmationRequired(KdeployError):
    """Changes need a yes, and there is no terminal to ask on."""


def confirm_or_refuse(deps: Deps, what: str, yes: bool, *, declined: str) -> None:
    """Return when the user agreed (or `yes`). Raises Declined (`declined`, e.g. "release web in
    namespace shop: not applied", says what was not done) when they answer no on a terminal, and
    ConfirmationRequired without a terminal and without `--yes`. The question names the cluster
    (`deps.target_cluster`) so that nobody confirms a change to the wrong one."""
    if yes:
        return
    what = deps.on_cluster(what)
    if not deps.output.interactive:
        raise ConfirmationRequired(
            f"{what}: not running on a terminal, so kdeploy cannot ask for confirmation",
            hint="pass --yes to proceed without asking",
        )
    if not deps.output.confirm(f"{what}?"):
        raise Declined(f"{declined}: the confirmation was declined; nothing was changed")


def apply_releases(
    deps: Deps,
    targets: Sequence[Target],
    options: DeployOptions,
    *,
    yes: bool = False,
    dry_run: bool = False,
    parallel: bool = False,
    environment_lock: tuple[str, str] | None = None,
    report: DeployReport | None = None,
) -> list[Revision]:
    """Plan and deploy each target in order, each under its release lock (except a dry run).
    With `environment_lock` (environment name, namespace of the Lease), the environment's lock
    is held around all of it, taken before any release lock, so two applies of one environment
    never interleave release by release.
    Returns the recorded revisions. With `dry_run`, only shows the diffs. Raises the first failure
    (later releases are not touched), LockHeldError when a release is locked. With `parallel`,
    all releases run at once and each is attempted (see kdeploy.actions.parallel). Raises
    KubeVersionError before anything is locked or changed when the cluster does not satisfy a
    package's kubeVersion. `report` (apply --report, --dotenv) is told what happens to each
    release as it happens."""
    check_cluster_version(deps, targets)
    report = report or DeployReport(environment="", clock=lambda: 0.0)
    if environment_lock is not None and not dry_run:
        with deps.locks.hold_environment(*environment_lock):
            return _apply_all(
                deps, targets, options, report, yes=yes, dry_run=dry_run, parallel=parallel
            )
    return _apply_all(deps, targets, options, report, yes=yes, dry_run=dry_run, parallel=parallel)


def _apply_all(
    deps: Deps,
    targets: Sequence[Target],
    options: DeployOptions,
    report: DeployReport,
    *,
    yes: bool,
    dry_run: bool,
    parallel: bool,
) -> list[Revision]:
    if parallel and not dry_run and len(targets) > 1:
        return _apply_parallel(deps, targets, options, report, yes=yes)
    revisions: list[Revision] = []
    # a dry run plans the releases as one environment: what an earlier one would create counts
    # as present for the later ones (a real apply has created it by then)
    upcoming = Upcoming()
    for target in targets:
        with _reported(deps, report, target), _held(deps, target, dry_run), redacting(target):
            prepared, settled = _plan_one(deps, target, options, dry_run=dry_run, upcoming=upcoming)
            report.planned(target.release, target.namespace, *_changes(prepared))
            revision = _deploy_one(deps, prepared, settled, options, yes=yes, dry_run=dry_run)
            report.done(
                target.release, target.namespace, revision, status=_no_revision(prepared, dry_run)
            )
        upcoming = upcoming.after(prepared)
        if revision is not None:
            revisions.append(revision)
    if dry_run:
        deps.output.info("Dry run: nothing was changed.")
    return revisions


def _apply_parallel(
    deps: Deps,
    targets: Sequence[Target],
    options: DeployOptions,
    report: DeployReport,
    *,
    yes: bool,
) -> list[Revision]:
    from kdeploy.actions.parallel import run_parallel

    if not yes and deps.output.interactive:
        # confirmations of releases planned at the same time would interleave on the terminal
        raise ConfirmationRequired(
            "apply --parallel cannot ask for confirmation release by release",
            hint="review with --dry-run first, then pass --yes",
        )

    def one(i: int) -> Revision | None:
        target = targets[i]
        with _reported(deps, report, target), _held(deps, target, False), redacting(target):
            prepared, settled = _plan_one(deps, target, options, dry_run=False)
            report.planned(target.release, target.namespace, *_changes(prepared))
            revision = _deploy_one(deps, prepared, settled, options, yes=yes, dry_run=False)
            report.done(
                target.release, target.namespace, revision, status=_no_revision(prepared, False)
            )
            return revision

    return run_parallel(
        [(t.release, t.namespace) for t in targets], one, deps.output, max_workers=len(targets)
    )


@contextmanager
def _reported(deps: Deps, report: DeployReport, target: Target) -> Iterator[None]:
    """Tell `report` when the release starts, and how it failed (the message redacted by then),
    with the newest revision it left."""
    report.begin(target.release, target.namespace)
    try:
        yield
    except KdeployError as e:
        report.fail(
            target.release,
            target.namespace,
            e.format_message(),
            unhealthy=e.exit_code == EXIT_UNHEALTHY,
            revision=_newest(deps, target),
        )
        raise
    except KeyboardInterrupt:
        report.fail(target.release, target.namespace, "interrupted", revision=_newest(deps, target))
        raise


def _newest(deps: Deps, target: Target) -> tuple[int, str] | None:
    """(number, status) of the release's newest revision, or None (none, or unreadable)."""
    try:
        revisions = deps.history.revisions(target.release, target.namespace)
    except KdeployError:
        return None
    return (revisions[-1].number, revisions[-1].status) if revisions else None


def _changes(prepared: Prepared) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """(action, object) of every change of the plan, and the counts per action."""
    changes = [
        (str(c.action), str(c.key)) for c in prepared.plan.changes if c.action != "unchanged"
    ]
    return changes, prepared.plan.counts()


def _no_revision(prepared: Prepared, dry_run: bool) -> str:
    """What it means that a release recorded no revision (a declined one raises Declined)."""
    return "planned" if dry_run else "unchanged"


@contextmanager
def _held(deps: Deps, target: Target, dry_run: bool) -> Iterator[None]:
    """The release lock (none for a dry run), and meanwhile one view of the release's history:
    recovery, planning and deploying then share a single LIST of its revisions."""
    if dry_run:
        yield
        return
    with (
        deps.locks.hold(target.release, target.namespace),
        deps.history.operation(target.release, target.namespace),
    ):
        yield


def _plan_one(
    deps: Deps,
    target: Target,
    options: DeployOptions,
    *,
    dry_run: bool,
    upcoming: Upcoming | None = None,
) -> tuple[Prepared, bool]:
    """Recover the release's history (unless a dry run), check the deploy order and the
    environment, then plan the release (`upcoming`: see Upcoming) and show the plan. Returns the
    plan and whether the newest revision is deployed (recover.last_is_deployed)."""
    settled = True
    if not dry_run:
        from kdeploy.actions.recover import last_is_deployed, recover_history

        # a killed earlier run may have left the cluster ahead of history: record it then
        history = recover_history(deps, target.release, target.namespace)
        settled = last_is_deployed(history)
        if options.if_newer:
            deployed = [r for r in history if r.status == "deployed"]
            check_newer(
                deps.identity.git_commit,
                deployed[-1] if deployed else None,
                deps.ancestry,
                release=target.release,
                namespace=target.namespace,
                warn=deps.output.info,
                explicit=options.if_newer_explicit,
            )
        if not options.adopt:
            check_same_environment(history, target)
    prepared = prepare(deps, target, upcoming, create_namespace=options.create_namespace)
    show_plan(deps, prepared)
    return prepared, settled


def _deploy_one(
    deps: Deps,
    prepared: Prepared,
    settled: bool,
    options: DeployOptions,
    *,
    yes: bool,
    dry_run: bool,
) -> Revision | None:
    """Refuse, confirm and deploy one planned release; None when nothing was deployed."""
    target = prepared.target
    refusal = prepared.ownership_error()
    if refusal is not None and not options.adopt:
        raise refusal
    conflict = prepared.conflict_error()
    if conflict is not None and not options.force_conflicts:
        raise conflict
    if not options.allow_secret_removal:
        check_secret_removals(deps, prepared)
    if dry_run:
        return None
    if settled and not _needs_deploy(prepared, options):
        deps.output.info(f"Release {target.release}: no changes, nothing recorded.")
        return None
    options = confirm_pruned_namespaces(deps, prepared, options, yes)
    what = f"Apply these changes to release {target.release} in namespace {target.namespace}"
    confirm_or_refuse(
        deps,
        what,
        yes,
        declined=f"release {target.release} in namespace {target.namespace}: not applied",
    )
    before = newest_revision(deps, target.release, target.namespace)
    try:
        if options.atomic:
            from kdeploy.actions.atomic import deploy_atomic

            revision = deploy_atomic(deps, prepared, options)
        else:
            revision = deploy(deps, prepared, options)
    except KeyboardInterrupt as e:
        # Ctrl-C or SIGTERM: say which revision is left failed and how to undo it
        cancelled = cancelled_apply(deps, target, before, e)
        if cancelled is None:
            raise
        raise cancelled from e
    show_notes(deps, target)
    return revision


def show_notes(deps: Deps, target: Target) -> None:
    """Print the release's NOTES (already redacted) after it was deployed."""
    if target.notes:
        deps.output.result(f"NOTES for release {target.release}:\n{target.notes}\n")


def check_same_environment(history: Sequence[Revision], target: Target) -> None:
    """Refuse to apply a release that another environment deployed: an environment that extends
    another and forgets its own `namespace:` would otherwise take over (and could later uninstall)
    the parent's release of the same name in the same namespace. Raises KdeployError naming both
    environments; `--adopt` takes the release over on purpose."""
    deployed = [r for r in history if r.status == "deployed" and r.environment]
    if not deployed or not target.environment:
        return
    owner = deployed[-1].environment
    if owner == target.environment:
        return
    raise KdeployError(
        f"release {target.release} in namespace {target.namespace} was deployed by environment "
        f"{owner} (revision {deployed[-1].number}), not {target.environment}: refusing to take it "
        "over",
        hint=f"give environment {target.environment} its own namespace (or release name); to move "
        f"the release to {target.environment} on purpose, pass --adopt",
    )


def confirm_pruned_namespaces(
    deps: Deps, prepared: Prepared, options: DeployOptions, yes: bool
) -> DeployOptions:
    """The options, with the Namespaces the prune would delete that the user confirmed on a
    terminal (see kdeploy.actions.namespaces); says what each holds before deleting or asking."""
    if not options.prune:
        return options
    from kdeploy.actions.namespaces import namespaces_to_delete

    target = prepared.target
    confirmed = namespaces_to_delete(
        deps,
        (c.key for c in prepared.plan.of("delete")),
        target.release,
        target.namespace,
        delete_namespaces=options.delete_namespaces,
        yes=yes,
    )
    return replace(options, confirmed_namespaces=frozenset(k.name for k in confirmed))


def _needs_deploy(prepared: Prepared, options: DeployOptions) -> bool:
    # adopting changes ownership even when the content is identical; a changed hook (e.g. a new
    # migration image) is a new revision whose hooks must run
    return (
        prepared.has_changes
        or (bool(prepared.foreign) and options.adopt)
        or bool(prepared.changed_hooks)
    )
