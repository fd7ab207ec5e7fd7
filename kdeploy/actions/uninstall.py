"""`kdeploy uninstall`: delete a release's objects in reverse install order, then its history
(unless kept)."""

from __future__ import annotations

from kdeploy.actions.apply import confirm_or_refuse
from kdeploy.actions.deploy import delete_objects
from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import previous_manifests, read_live, with_namespace
from kdeploy.actions.namespaces import is_namespace, kept_namespace_line, namespaces_to_delete
from kdeploy.errors import HistoryError
from kdeploy.model import Manifest, ObjectKey
from kdeploy.ownership import describe_owner, owned_by
from kdeploy.resource_policy import keep_policy
from kdeploy.resources import install_order


def uninstall(
    deps: Deps,
    release: str,
    namespace: str,
    *,
    keep_history: bool = False,
    yes: bool = False,
    delete_namespaces: bool = False,
) -> int:
    """Delete the live objects this release owns (from its last deployed and later revisions) in
    reverse install order, then its history unless `keep_history`. An object its history lists
    that now belongs to someone else, or has the keep policy (kdeploy.resource_policy), is kept and
    reported. A Namespace is deleted only with
    `delete_namespaces` or when confirmed on a terminal (kdeploy.actions.namespaces). Returns how
    many objects were deleted. Holds the release lock throughout. Raises Declined when the user
    answers no (nothing deleted), HistoryError for an unknown release, LockHeldError when the
    release is locked."""
    with deps.locks.hold(release, namespace):
        if not deps.history.revisions(release, namespace):
            orphans = deps.history.remove_orphans(release, namespace)
            if orphans:
                for leftover in orphans:
                    deps.output.info(
                        f"  deleted orphaned {leftover.kind} {namespace}/{leftover.name}"
                    )
                deps.output.info(
                    f"Release {release} had no revisions left in namespace {namespace}; deleted "
                    f"{len(orphans)} orphaned revision parts."
                )
                return 0
            raise HistoryError(
                f"release {release} has no history in namespace {namespace}",
                hint="check the release name and -n NAMESPACE",
            )
        found = previous_manifests(deps, release, namespace)
        # A hook kept by its delete policy outlives the revisions that ran it: look in them all.
        found.update(recorded_hooks(deps, release, namespace))
        manifests = with_namespace(found.values(), namespace)
        live = read_live(deps, release, manifests)
        home = ObjectKey("", "Namespace", "", namespace)
        doomed: list[Manifest] = []
        for key, obj in sorted(live.items(), key=lambda item: install_order(item[1])):
            policy = keep_policy(obj, found.get(key))
            if not owned_by(obj, release, namespace, recorded=True):
                deps.output.info(f"  kept {key}: owned by {describe_owner(obj)}")
            elif policy is not None:
                deps.output.info(f"  kept {key} ({policy}): left in the cluster")
            elif not (keep_history and key == home):  # the namespace holding the history stays
                doomed.append(obj)
        doomed.reverse()
        namespaces = [ObjectKey.of(obj) for obj in doomed if is_namespace(ObjectKey.of(obj))]
        for obj in doomed:
            if not is_namespace(ObjectKey.of(obj)):
                deps.output.info(f"  will delete {_key(obj)}")
        chosen = namespaces_to_delete(
            deps, namespaces, release, namespace, delete_namespaces=delete_namespaces, yes=yes
        )
        for key in namespaces:
            if key in chosen:
                deps.output.info(f"  will delete {key}")
        doomed = [obj for obj in doomed if not _kept_namespace(obj, chosen)]
        what = f"Uninstall release {release} from namespace {namespace} ({len(doomed)} objects)"
        confirm_or_refuse(
            deps, what, yes, declined=f"release {release} in namespace {namespace}: not uninstalled"
        )
        for key in namespaces:
            if key not in chosen:
                deps.output.info(kept_namespace_line(key.name, f"of release {release}"))
        # Stop before each phase of deletions if the lock was broken or taken over meanwhile.
        deleted = delete_objects(
            deps, doomed, check=lambda stage: deps.locks.check(release, namespace, stage)
        )
        if keep_history:
            deps.output.info(f"Release {release}: deleted {deleted} objects; history kept.")
        else:
            deps.history.delete_all(release, namespace)
            deps.output.info(f"Release {release}: deleted {deleted} objects and its history.")
        _created_namespace(deps, release, namespace, delete=delete_namespaces and not keep_history)
        return deleted


def uninstall_environment(
    deps: Deps,
    releases: list[tuple[str, str]],
    *,
    keep_history: bool = False,
    yes: bool = False,
    delete_namespaces: bool = False,
) -> int:
    """Uninstall the (release, namespace) pairs of an environment, given in file order, last one
    first (a namespace release listed first goes last). A release without history (never
    deployed, or uninstalled already) is skipped, saying so; the first failure stops the rest.
    Returns how many objects were deleted."""
    total = 0
    for release, namespace in reversed(releases):
        if not deps.history.revisions(release, namespace) and not deps.history.orphans(
            release, namespace
        ):
            deps.output.info(f"Release {release} (namespace {namespace}): not deployed, skipped.")
            continue
        deleted = uninstall(
            deps,
            release,
            namespace,
            keep_history=keep_history,
            yes=yes,
            delete_namespaces=delete_namespaces,
        )
        total += deleted or 0
    return total


def _created_namespace(deps: Deps, release: str, namespace: str, *, delete: bool) -> None:
    """The release namespace, when --create-namespace created it for this release: deleted with
    `delete` (--delete-namespaces), otherwise kept and reported."""
    from kdeploy.actions.namespaces import CREATED_FOR_ANNOTATION
    from kdeploy.kube.client import ObjectRef

    ref = ObjectRef("v1", "Namespace", "", namespace)
    live = deps.cluster.get(ref)
    annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
    created_for = str(annotations.get(CREATED_FOR_ANNOTATION) or "")
    if not created_for.startswith(f"release {release}"):
        return
    if delete:
        deps.cluster.delete(ref)
        deps.output.info(f"  deleted Namespace {namespace} (created by --create-namespace)")
        return
    deps.output.info(
        f"  kept Namespace {namespace} (created by --create-namespace for {created_for}; "
        "deleting a namespace deletes everything in it): to delete it, uninstall with "
        f"--delete-namespaces, or: kubectl delete namespace {namespace}"
    )


def recorded_hooks(deps: Deps, release: str, namespace: str) -> dict[ObjectKey, Manifest]:
    """The hook manifests of every readable revision of the release."""
    from kdeploy.hooks import is_hook

    out: dict[ObjectKey, Manifest] = {}
    for rev in deps.history.revisions(release, namespace):
        try:
            full = deps.history.get(release, namespace, rev.number)
        except HistoryError:
            continue
        out.update((ObjectKey.of(m), m) for m in full.manifests if is_hook(m))
    return out


def _kept_namespace(obj: Manifest, chosen: set[ObjectKey]) -> bool:
    key = ObjectKey.of(obj)
    return is_namespace(key) and key not in chosen


def _key(obj: dict[str, object]) -> str:
    from kdeploy.model import ObjectKey

    return str(ObjectKey.of(obj))
