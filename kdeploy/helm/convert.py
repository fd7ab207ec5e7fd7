"""What `kdeploy import helm` makes of Helm's revisions and of the live objects they own (pure):
kdeploy revisions, ownership stamps, the refusals, and the patch that removes Helm's marks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kdeploy.errors import HelmImportError
from kdeploy.helm.records import PENDING, HelmRevision, manifest_objects
from kdeploy.history.model import Revision, Status
from kdeploy.kube.client import ObjectRef
from kdeploy.model import Manifest
from kdeploy.ownership import describe_owner, kdeploy_stamped, owned_by
from kdeploy.resources import stamp_ownership

# Helm's marks on the objects of a release (Helm 3 and 4): `helm uninstall` and `helm upgrade`
# recognise their objects by them; the label is replaced by kdeploy's own value.
HELM_ANNOTATION_PREFIX = "meta.helm.sh/"
HELM_RELEASE_ANNOTATION = "meta.helm.sh/release-name"
HELM_NAMESPACE_ANNOTATION = "meta.helm.sh/release-namespace"
HELM_FIELD_MANAGER = "helm"
IMPORTED_PREFIX = "imported from Helm revision "

_STATUSES: dict[str, Status] = {
    "deployed": "deployed",
    "superseded": "superseded",
    "failed": "failed",
}


def imported_description(number: int) -> str:
    """The description of a kdeploy revision imported from Helm revision `number`."""
    return f"{IMPORTED_PREFIX}{number}"


def is_imported(revision: Revision) -> bool:
    """Whether a kdeploy revision was imported from Helm (by its description)."""
    return revision.description.startswith(IMPORTED_PREFIX)


def check_importable(revisions: Sequence[HelmRevision], release: str, namespace: str) -> None:
    """Refuse a release whose newest Helm revision is pending (a helm command is running, or was
    killed) or uninstalled. Raises HelmImportError."""
    latest = max(revisions, key=lambda r: r.number)
    where = f"Helm release {release} in namespace {namespace}"
    if latest.status in PENDING:
        raise HelmImportError(
            f"{where}: revision {latest.number} ({latest.record}) is {latest.status}: a helm "
            "command is still running on it, or was killed before it finished; nothing was "
            "changed",
            hint=f"wait for it to finish, or settle it first (`helm rollback {release} -n "
            f"{namespace}`), then import again",
        )
    if latest.status in ("uninstalling", "uninstalled"):
        raise HelmImportError(
            f"{where}: revision {latest.number} ({latest.record}) is {latest.status}: the "
            "release was uninstalled and only its history is left; nothing to import",
        )


def kdeploy_status(revision: HelmRevision) -> Status:
    """The kdeploy status of an (older or current) Helm revision: deployed, superseded and failed
    carry over; anything else (an old pending or uninstalled revision) is failed."""
    return _STATUSES.get(revision.status, "failed")


def current_revision(revisions: Sequence[HelmRevision]) -> HelmRevision:
    """The revision whose objects are live: the newest deployed one, else the newest."""
    deployed = [r for r in revisions if r.status == "deployed"]
    return max(deployed or revisions, key=lambda r: r.number)


def later_failures(
    revisions: Sequence[HelmRevision],
    current: HelmRevision,
    namespace_of: Callable[[Manifest], str],
) -> list[str]:
    """Lines about the revisions newer than `current` (they failed, or were left pending): the
    import re-applies `current`'s objects as recorded, so what such an upgrade changed goes back
    to `current` (as `helm rollback` would do), and objects only it created are left alone.
    `namespace_of` gives an object's namespace as it is applied."""
    later = [r for r in revisions if r.number > current.number]
    if not later:
        return []
    keys = {_ref(m, namespace_of) for m in manifest_objects(current)}
    lines = []
    for rev in later:
        lines.append(
            f"  Helm revision {rev.number} is {rev.status}: the import re-applies revision "
            f"{current.number}'s objects as recorded, undoing what revision {rev.number} changed "
            "in them"
        )
        extra = [ref for m in manifest_objects(rev) if (ref := _ref(m, namespace_of)) not in keys]
        if extra:
            lines.append(
                f"  only in Helm revision {rev.number}, left as they are (delete them with kubectl "
                f"if unwanted): {', '.join(extra)}"
            )
    return lines


def _ref(manifest: Manifest, namespace_of: Callable[[Manifest], str]) -> str:
    meta = manifest.get("metadata") or {}
    ref = ObjectRef(
        str(manifest.get("apiVersion", "")),
        str(manifest.get("kind", "")),
        namespace_of(manifest),
        str(meta.get("name", "")),
    )
    return str(ref)


def owned_manifests(
    revision: HelmRevision,
    environment: str,
    namespaced: Callable[[str, str], bool],
) -> list[Manifest]:
    """The objects of a Helm revision as kdeploy records and applies them: in the release
    namespace when namespaced and Helm left the namespace out (Helm applies them there),
    stamped as kdeploy release objects. `namespaced(apiVersion, kind)` says whether a kind is
    namespaced. Raises HelmImportError when the manifest cannot be read."""
    out = []
    for obj in manifest_objects(revision):
        meta = dict(obj.get("metadata") or {})
        if not meta.get("namespace") and namespaced(str(obj["apiVersion"]), str(obj["kind"])):
            meta["namespace"] = revision.namespace
        obj = {**obj, "metadata": meta}
        out.append(
            stamp_ownership(obj, revision.release, environment, namespace=revision.namespace)
        )
    return out


def to_revision(
    revision: HelmRevision, manifests: list[Manifest], environment: str, who: str
) -> Revision:
    """The kdeploy revision recording a Helm revision: same number, status and time, the merged
    values and those the user set (`helm get values`), the chart as package, description
    `imported from Helm revision N`, and what Helm said as result."""
    app = f", app version {revision.app_version}" if revision.app_version else ""
    said = f": {revision.description}" if revision.description else ""
    return Revision(
        release=revision.release,
        namespace=revision.namespace,
        number=revision.number,
        status=kdeploy_status(revision),
        manifests=manifests,
        values=revision.values,
        user_values=revision.user_values,
        package=revision.chart,
        package_version=revision.chart_version,
        app_version=revision.app_version,
        environment=environment,
        who=who,
        started_at=revision.deployed_at,
        finished_at=revision.deployed_at or None,
        description=imported_description(revision.number),
        result=f"Helm {revision.status}{said} (chart {revision.chart}-"
        f"{revision.chart_version}{app}; {revision.record})",
    )


def ownership_problem(live: Mapping[str, Any], release: str, namespace: str) -> str | None:
    """Why kdeploy must not take over a live object for this release, or None: it belongs to
    another kdeploy release, or to another Helm release."""
    if kdeploy_stamped(live):
        if owned_by(live, release, namespace):
            return None
        return f"owned by {describe_owner(live)}"
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    helm_release = annotations.get(HELM_RELEASE_ANNOTATION)
    helm_namespace = annotations.get(HELM_NAMESPACE_ANNOTATION)
    if helm_release is not None and (helm_release, helm_namespace) != (release, namespace):
        return f"owned by {describe_owner(live)}"
    return None


def refuse_owned(problems: Sequence[tuple[ObjectRef, str]], release: str, namespace: str) -> None:
    """Raise HelmImportError naming every object that another release owns (none: return)."""
    if not problems:
        return
    listed = "; ".join(f"{ref} is {why}" for ref, why in problems)
    raise HelmImportError(
        f"cannot import Helm release {release} in namespace {namespace}: {listed}; nothing was "
        "changed",
        hint="an object belongs to one release: uninstall the other release or remove the object "
        "from one of them, then import again",
    )


def helm_cleanup_patch(live: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON merge patch that removes Helm's marks from a live object kdeploy has taken over:
    the `meta.helm.sh/*` annotations and the managedFields entries of the field manager `helm`
    (so kdeploy alone owns the fields it applies, and a later apply may remove them). None when
    there is nothing to remove."""
    meta = live.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    doomed = sorted(k for k in annotations if k.startswith(HELM_ANNOTATION_PREFIX))
    entries = [e for e in meta.get("managedFields") or [] if isinstance(e, Mapping)]
    kept = [dict(e) for e in entries if e.get("manager") != HELM_FIELD_MANAGER]
    patch: dict[str, Any] = {}
    if doomed:
        patch["annotations"] = dict.fromkeys(doomed)
    if len(kept) != len(entries):
        # an empty list would keep the live entries; [{}] clears them
        patch["managedFields"] = kept or [{}]
    return {"metadata": patch} if patch else None


def hook_report(revision: HelmRevision) -> list[str]:
    """One line per hook of the current Helm revision: hooks are not part of the release's
    objects, so they are not imported (and a live hook object is left alone)."""
    lines = []
    for hook in revision.hooks:
        events = ",".join(hook.events) or "no events"
        if any(e.startswith("test") for e in hook.events):
            why = (
                "a test hook, not imported: port it as a kdeploy test hook (annotation "
                "kdeploy.dev/hook: test, run by `kdeploy test`, see docs/hooks.md)"
            )
        else:
            why = (
                "not imported: port it as a kdeploy hook (annotation kdeploy.dev/hook, see "
                "docs/hooks.md); an object it left in the cluster stays as it is"
            )
        lines.append(f"  skipped Helm hook {hook.kind} {hook.name} ({events}): {why}")
    return lines
