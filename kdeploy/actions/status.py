"""`kdeploy status`: each object of the current revision, whether it exists, and whether it drifted
from what was applied (someone's `kubectl edit` or `kubectl scale`)."""

from __future__ import annotations

from dataclasses import dataclass

from kdeploy import diff as diffmod
from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import read_live, with_namespace
from kdeploy.errors import ClusterError, HistoryError
from kdeploy.history.model import Revision
from kdeploy.hooks import is_hook
from kdeploy.model import ObjectKey
from kdeploy.secrets import Redactor


@dataclass(frozen=True)
class ObjectStatus:
    """One object of the current revision: present in the cluster, drifted, and the drift diff."""

    key: ObjectKey
    present: bool
    drifted: bool
    diff: str = ""

    @property
    def state(self) -> str:
        if not self.present:
            return "missing"
        return "drifted" if self.drifted else "in sync"


@dataclass(frozen=True)
class ReleaseStatus:
    """The current revision of a release and the state of its objects."""

    revision: Revision
    objects: tuple[ObjectStatus, ...]


def release_status(deps: Deps, release: str, namespace: str) -> ReleaseStatus:
    """The status of the current revision (the last deployed one, else the latest). Drift is
    judged by a forced server-side dry-run apply of the stored manifest: if re-applying would
    change the live object, it drifted. Raises HistoryError for an unknown release."""
    revision = deps.history.last_deployed(release, namespace) or deps.history.last(
        release, namespace
    )
    if revision is None:
        raise HistoryError(
            f"release {release} has no history in namespace {namespace}",
            hint="check the release name and -n NAMESPACE",
        )
    # Hooks are not release objects: they run and may be deleted, so they are never drift.
    manifests = [m for m in with_namespace(revision.manifests, namespace) if not is_hook(m)]
    live = read_live(deps, release, manifests)
    redact = Redactor(revision.secret_strings).text
    rows: list[ObjectStatus] = []
    for manifest in manifests:
        key = ObjectKey.of(manifest)
        current_obj = live.get(key)
        if current_obj is None:
            rows.append(ObjectStatus(key, present=False, drifted=False))
            continue
        try:
            would_be = deps.cluster.apply(manifest, dry_run=True, force=True)
        except ClusterError as e:
            rows.append(ObjectStatus(key, present=True, drifted=True, diff=f"{e.message}\n"))
            continue
        change = diffmod.plan({key: would_be}, {key: current_obj}, ()).changes[0]
        text = diffmod.object_diff(change, redact=redact)
        rows.append(
            ObjectStatus(key, present=True, drifted=change.action != "unchanged", diff=text)
        )
    return ReleaseStatus(revision=revision, objects=tuple(rows))
