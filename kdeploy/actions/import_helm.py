"""`kdeploy import helm`: move a live Helm release, with its history, to kdeploy.

Order (each step is safe to repeat, so a rerun after a kill finishes the job):
1. read and check everything (Helm's records, kdeploy's history, the live objects): any refusal
   comes before the first change;
2. write one kdeploy revision per Helm revision (same number, status and time), skipping those
   an earlier run wrote: until Helm's records go, Helm still manages the release;
3. take the current revision's live objects over: server-side apply of the recorded manifests
   (kdeploy's labels and annotations, field manager kdeploy, conflicts forced);
4. delete Helm's records, oldest first: from now on `helm list` and `helm uninstall` no longer
   see the release, and kdeploy manages it;
5. remove Helm's marks from the objects (`meta.helm.sh/*` annotations, the `helm` field manager).
A rerun after step 4 finds no Helm records and an imported history: it does step 5 only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kdeploy.actions.apply import confirm_or_refuse
from kdeploy.actions.deps import Deps
from kdeploy.errors import ClusterError, HelmImportError
from kdeploy.helm.convert import (
    check_importable,
    current_revision,
    helm_cleanup_patch,
    hook_report,
    is_imported,
    kdeploy_status,
    later_failures,
    owned_manifests,
    ownership_problem,
    refuse_owned,
    to_revision,
)
from kdeploy.helm.records import HelmRevision, decode_record, record_selector
from kdeploy.history.model import Revision
from kdeploy.kube.client import ClusterClient, ObjectRef
from kdeploy.model import Manifest
from kdeploy.ownership import owned_by
from kdeploy.resources import sort_objects

# Helm's storage drivers: Secrets (default) and ConfigMaps (HELM_DRIVER=configmap)
_RECORD_KINDS = ("Secret", "ConfigMap")


@dataclass(frozen=True)
class ImportResult:
    """What an import did: kdeploy revisions written now, objects taken over, objects of the
    current revision missing from the cluster, Helm records deleted, objects cleaned of Helm's
    marks."""

    written: tuple[int, ...] = ()
    adopted: int = 0
    missing: tuple[str, ...] = ()
    records_deleted: int = 0
    cleaned: int = 0


@dataclass(frozen=True)
class _Plan:
    records: tuple[Manifest, ...]
    revisions: tuple[HelmRevision, ...]
    manifests: dict[int, list[Manifest]]
    current: HelmRevision
    present: tuple[Manifest, ...]
    missing: tuple[str, ...]
    # what happens to revisions newer than `current` (failed or left pending upgrades)
    notes: tuple[str, ...] = ()


def import_helm(
    deps: Deps,
    release: str,
    namespace: str,
    *,
    environment: str = "",
    dry_run: bool = False,
    yes: bool = False,
) -> ImportResult | None:
    """Import Helm release `release` of `namespace` (see the module docstring); `environment`
    is recorded in the revisions and stamped on the objects (`--into`). Returns what was done,
    None for a dry run; raises Declined when the confirmation is declined. Raises HelmImportError (before any change) for an
    unknown release, a pending one, an unreadable record, objects another release owns, or a
    release kdeploy already deployed itself; LockHeldError when the release is locked."""
    records = _helm_records(deps.cluster, release, namespace)
    history = deps.history.revisions(release, namespace)
    if not records:
        if any(is_imported(r) for r in history):
            return _finish(deps, release, namespace, history, dry_run=dry_run)
        raise HelmImportError(
            f"no Helm release {release} in namespace {namespace}: no Secret or ConfigMap "
            f"labelled {record_selector(release)}; nothing was changed",
            hint=f"check the name and namespace with `helm list -n {namespace}` (or `helm list "
            "-A`)",
        )
    _refuse_own_history(history, release, namespace)
    plan = _plan(deps, records, release, namespace, environment)
    _show(deps, plan, history, release, namespace)
    if dry_run:
        deps.output.info("Dry run: nothing was changed.")
        return None
    what = f"Import Helm release {release} in namespace {namespace} into kdeploy"
    confirm_or_refuse(
        deps, what, yes, declined=f"Helm release {release} in namespace {namespace}: not imported"
    )
    with deps.locks.hold(release, namespace), deps.history.operation(release, namespace):
        return _run(deps, plan, release, namespace, environment)


def _helm_records(cluster: ClusterClient, release: str, namespace: str) -> list[Manifest]:
    found: list[Manifest] = []
    for kind in _RECORD_KINDS:
        found += cluster.list_by_labels("v1", kind, namespace, record_selector(release))
    return found


def _refuse_own_history(history: Sequence[Revision], release: str, namespace: str) -> None:
    """Refuse to mix Helm's history into one kdeploy wrote itself (an earlier import's revisions
    are fine: this is a rerun)."""
    own = [r for r in history if not is_imported(r)]
    if not own:
        return
    first = own[0]
    raise HelmImportError(
        f"release {release} in namespace {namespace} already has kdeploy history (revision "
        f"{first.number}: {first.description or first.status}); importing Helm's history into it "
        "would mix two histories; nothing was changed",
        hint="if kdeploy took the objects over already (`apply --adopt`), delete Helm's records "
        f"instead: kubectl delete secret,configmap -n {namespace} -l {record_selector(release)}",
    )


def _plan(
    deps: Deps, records: list[Manifest], release: str, namespace: str, environment: str
) -> _Plan:
    revisions = sorted((decode_record(r) for r in records), key=lambda r: r.number)
    for rev in revisions:
        if (rev.release, rev.namespace) != (release, namespace):
            raise HelmImportError(
                f"the Helm record {rev.record} describes release {rev.release} in namespace "
                f"{rev.namespace}, not {release} in {namespace}; nothing was changed",
                hint="it was copied or relabelled by hand: fix or delete it, then import again",
            )
    check_importable(revisions, release, namespace)

    def namespaced(api_version: str, kind: str) -> bool:
        try:
            return deps.cluster.resolve(api_version, kind).namespaced
        except ClusterError:  # a kind the cluster no longer serves: Helm put it in the namespace
            return True

    def namespace_of(manifest: Manifest) -> str:
        given = (manifest.get("metadata") or {}).get("namespace")
        kind = (str(manifest.get("apiVersion", "")), str(manifest.get("kind", "")))
        return str(given or (namespace if namespaced(*kind) else ""))

    manifests = {r.number: owned_manifests(r, environment, namespaced) for r in revisions}
    current = current_revision(revisions)
    present: list[Manifest] = []
    missing: list[str] = []
    problems: list[tuple[ObjectRef, str]] = []
    for manifest in sort_objects(manifests[current.number]):
        ref = ObjectRef.of(manifest)
        live = deps.cluster.get(ref)
        if live is None:
            missing.append(str(ref))
            continue
        problem = ownership_problem(live, release, namespace)
        if problem is not None:
            problems.append((ref, problem))
        present.append(manifest)
    refuse_owned(problems, release, namespace)
    return _Plan(
        records=tuple(records),
        revisions=tuple(revisions),
        manifests=manifests,
        current=current,
        present=tuple(present),
        missing=tuple(missing),
        notes=tuple(later_failures(revisions, current, namespace_of)),
    )


def _show(
    deps: Deps, plan: _Plan, history: Sequence[Revision], release: str, namespace: str
) -> None:
    out = deps.output
    have = {r.number for r in history}
    kinds = sorted({r.record_kind for r in plan.revisions})
    out.info(
        f"Helm release {release} in namespace {namespace}: {len(plan.revisions)} revision(s) "
        f"stored in {' and '.join(k + 's' for k in kinds)}"
    )
    for rev in plan.revisions:
        done = " (already imported)" if rev.number in have else ""
        out.info(
            f"  revision {rev.number}: {rev.status} -> kdeploy {kdeploy_status(rev)}, "
            f"{rev.deployed_at or 'time unknown'}, chart {rev.chart}-{rev.chart_version}"
            f"{', ' + rev.description if rev.description else ''}{done}"
        )
    out.info(
        f"Take over {len(plan.present)} live object(s) of revision {plan.current.number}: "
        f"{', '.join(str(ObjectRef.of(m)) for m in plan.present) or 'none'}"
    )
    for ref in plan.missing:
        out.info(f"  not in the cluster, left out (a later apply or rollback creates it): {ref}")
    for line in plan.notes:
        out.info(line)
    for line in hook_report(plan.current):
        out.info(line)
    out.info(
        f"Then delete Helm's {len(plan.records)} record(s) and remove its annotations "
        "(meta.helm.sh/*) and field manager from the objects."
    )


def _run(deps: Deps, plan: _Plan, release: str, namespace: str, environment: str) -> ImportResult:
    def guard(stage: str) -> None:
        deps.locks.check(release, namespace, stage)

    have = {r.number for r in deps.history.revisions(release, namespace)}
    written = []
    for rev in plan.revisions:
        if rev.number in have:
            continue
        guard(f"recording revision {rev.number}")
        revision = to_revision(rev, plan.manifests[rev.number], environment, deps.identity.who)
        deps.history.record_imported(revision)
        written.append(rev.number)
    for manifest in plan.present:
        guard("taking the objects over")
        deps.cluster.apply(manifest, dry_run=False, force=True)
    deleted = 0
    for record in sorted(plan.records, key=_record_number):
        guard("deleting Helm's records")
        deleted += deps.cluster.delete(ObjectRef.of(record))
    cleaned = _clean(deps, plan.present, release, namespace)
    numbers = ", ".join(str(r.number) for r in plan.revisions)
    deps.output.info(
        f"Release {release}: imported from Helm (kdeploy revisions {numbers}; {len(plan.present)} "
        f"object(s) taken over; {deleted} Helm record(s) deleted; Helm's marks removed from "
        f"{cleaned} object(s))."
    )
    if environment:
        deps.output.info(
            f"Linked to environment {environment}: `kdeploy diff -e {environment} {release}` "
            "shows what its package would change, `kdeploy apply` continues the history."
        )
    return ImportResult(
        written=tuple(written),
        adopted=len(plan.present),
        missing=plan.missing,
        records_deleted=deleted,
        cleaned=cleaned,
    )


def _record_number(record: Manifest) -> int:
    label = ((record.get("metadata") or {}).get("labels") or {}).get("version", "")
    return int(label) if str(label).isdigit() else 0


def _clean(deps: Deps, manifests: Sequence[Manifest], release: str, namespace: str) -> int:
    """Remove Helm's marks from the live objects this release owns; returns how many changed."""
    cleaned = 0
    for manifest in manifests:
        ref = ObjectRef.of(manifest)
        live = deps.cluster.get(ref)
        if live is None or not owned_by(live, release, namespace):
            continue
        patch = helm_cleanup_patch(live)
        if patch is None:
            continue
        deps.locks.check(release, namespace, "removing Helm's marks")
        if deps.cluster.merge_patch(ref, patch) is not None:
            cleaned += 1
    return cleaned


def _finish(
    deps: Deps, release: str, namespace: str, history: Sequence[Revision], *, dry_run: bool
) -> ImportResult | None:
    """A rerun after Helm's records are gone: remove Helm's marks left on the objects of the
    newest imported revision."""
    newest = max((r for r in history if is_imported(r)), key=lambda r: r.number)
    deps.output.info(
        f"Helm release {release} in namespace {namespace} was already imported (kdeploy "
        f"revision {newest.number} is {newest.description}); removing Helm's marks left on its "
        "objects, if any."
    )
    if dry_run:
        deps.output.info("Dry run: nothing was changed.")
        return None
    with deps.locks.hold(release, namespace), deps.history.operation(release, namespace):
        stored = deps.history.get(release, namespace, newest.number, secrets=False)
        cleaned = _clean(deps, stored.manifests, release, namespace)
    deps.output.info(f"Release {release}: Helm's marks removed from {cleaned} object(s).")
    return ImportResult(cleaned=cleaned)
