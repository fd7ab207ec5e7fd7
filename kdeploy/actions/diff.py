"""Plan a release against the cluster: read the live objects (one LIST per kind and namespace, by
the release's instance label), dry-run apply every desired object that an apply could change, and
compare them. An object whose live state shows that kdeploy's apply of it would change nothing
(kdeploy.noop_apply) is not sent: its dry run would return it as it is. `Deps.full_diff` sends
every one.

This is the first half of apply and rollback and the whole of `kdeploy diff`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kdeploy import diff as diffmod
from kdeploy import drift as driftmod
from kdeploy.actions.deps import Deps
from kdeploy.actions.namespaces import is_namespace
from kdeploy.difflayout import gitlab_section, section_name, shorten
from kdeploy.errors import ClusterError, ConflictError, HistoryError, KdeployError
from kdeploy.history.model import Revision, revision_name
from kdeploy.hooks import Hook, hook_lines, hooks_json, is_hook
from kdeploy.hooks import split as split_hooks
from kdeploy.kube.client import FIELD_MANAGER, ObjectRef
from kdeploy.model import Manifest, ObjectKey
from kdeploy.noop_apply import apply_is_noop
from kdeploy.ownership import describe_owner, kdeploy_stamped, owned_by
from kdeploy.resource_policy import keep_policy
from kdeploy.resources import (
    INSTANCE_LABEL,
    api_group,
    crd_scopes,
    is_namespaced,
    stamp_release_namespace,
)
from kdeploy.secrets import Redactor


@dataclass(frozen=True)
class Target:
    """What to deploy: a release's manifests (ownership-stamped) and what to record with them."""

    release: str
    namespace: str
    manifests: tuple[Manifest, ...]
    values: dict[str, Any] = field(default_factory=dict)
    package: str = ""
    package_version: str = ""
    app_version: str = ""
    environment: str = ""
    description: str = ""
    secret_strings: frozenset[str] = frozenset()
    # the values the environment and the command line set, without package defaults (None:
    # not known, e.g. a rollback to a revision that did not record them)
    user_values: dict[str, Any] | None = None
    # the environment's `secrets:` entries that gave no value, described (no value)
    unavailable_secrets: tuple[str, ...] = ()
    # the package's `kubeVersion` constraint, checked against the cluster before any change
    kube_version: str | None = None
    # a rollback's source revision: recorded as `rollback_to`, with its git commit
    restores: Revision | None = None
    # the package's NOTES, rendered and redacted: shown once the release is deployed
    notes: str = ""

    def redactor(self) -> Callable[[str], str]:
        """A function that scrubs this release's secret strings from text."""
        return Redactor(self.secret_strings).text


@contextmanager
def redacting(target: Target) -> Iterator[None]:
    """Scrub the target's secret strings from any KdeployError raised inside (an API server may
    quote a rejected value in its message)."""
    try:
        yield
    except KdeployError as e:
        redact = target.redactor()
        setattr(e, "message", redact(e.message))  # noqa: B010  (click declares it Final)
        if e.hint:
            e.hint = redact(e.hint)
        raise


@dataclass(frozen=True)
class Upcoming:
    """What the releases planned before this one create, as far as a dry run of this one is
    concerned: their Namespaces and CRDs count as present (objects in such a namespace, or of such
    a kind, are planned as created instead of failing with NotFound). Plans of a whole
    environment carry it from release to release (`after`)."""

    namespaces: frozenset[str] = frozenset()
    crds: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def after(self, prepared: Prepared) -> Upcoming:
        """This, plus what the planned release creates: its Namespaces and CRDs, and its own
        namespace when --create-namespace creates it."""
        target = prepared.target
        names = {target.namespace} if prepared.creates_namespace else set()
        names |= {
            str((m.get("metadata") or {}).get("name", ""))
            for m in target.manifests
            if m.get("kind") == "Namespace" and api_group(str(m.get("apiVersion", ""))) == ""
        }
        return Upcoming(
            namespaces=self.namespaces | names,
            crds={**self.crds, **crd_scopes(target.manifests)},
        )


@dataclass(frozen=True)
class Prepared:
    """A planned release: the plan, plus what the deploy pipeline needs to act on it."""

    target: Target
    plan: diffmod.Plan
    desired: dict[ObjectKey, Manifest]
    live: dict[ObjectKey, Manifest]
    # manifests of the previous revisions (prune candidates come from here)
    previous: dict[ObjectKey, Manifest]
    # existing objects this release does not own -> who owns them, in words
    foreign: dict[ObjectKey, str]
    # those of `foreign` that carry another kdeploy release's stamp
    other_releases: frozenset[ObjectKey] = frozenset()
    # hook objects (not part of desired/plan: they run at their phase, see kdeploy.hooks)
    hooks: tuple[Hook, ...] = ()
    # hooks whose manifest differs from the one recorded by the previous revisions
    changed_hooks: frozenset[ObjectKey] = frozenset()
    # fields of our objects that other field managers changed: reclaimed, or conflicts that stop
    # the operation (kdeploy.drift)
    drift: tuple[driftmod.Drift, ...] = ()
    # the release namespace does not exist and --create-namespace creates it (outside the
    # release's objects: never pruned, kept by uninstall)
    creates_namespace: bool = False

    @property
    def has_changes(self) -> bool:
        """Whether applying would change the cluster (the plan, or a namespace to create)."""
        return self.plan.has_changes or self.creates_namespace

    @property
    def conflicts(self) -> list[driftmod.Drift]:
        """The drift that stops an apply or rollback (without --force-conflicts)."""
        return [d for d in self.drift if d.action == "conflict"]

    def conflict_error(self) -> ConflictError | None:
        """The refusal to take fields kdeploy never set (or that an autoscaler owns) from their
        field managers, or None when every conflicting field is reclaimable."""
        conflicts = self.conflicts
        if not conflicts:
            return None
        lines = "".join(f"\n  - {d.describe().removeprefix('conflict: ')}" for d in conflicts)
        return ConflictError(
            f"release {self.target.release} in namespace {self.target.namespace}: fields owned "
            f"by other field managers would be taken over:{lines}",
            hint="stop setting these fields in the package (leave replicas out when an autoscaler "
            "scales the workload), or rerun with --force-conflicts to take them over; see "
            "docs/operations.md, 'Drift and field conflicts'",
            fields=tuple((d.field, d.manager) for d in conflicts),
        )

    def ownership_error(self) -> ConflictError | None:
        """The refusal to touch objects owned by someone else, or None when there are none."""
        if not self.foreign:
            return None
        lines = [f"{key} exists and is owned by {owner}" for key, owner in self.foreign.items()]
        hint = (
            "kdeploy only changes objects its release created; rerun with --adopt to take "
            "them over, or rename the objects"
        )
        if self.other_releases:
            hint = (
                "an object belongs to one release (namespace and name); two releases cannot share "
                "it: rename it in one package (e.g. put the release namespace in the names of "
                "cluster-scoped objects), or --adopt to move it to this release"
            )
        return ConflictError(
            f"release {self.target.release} in namespace {self.target.namespace}: "
            + "; ".join(lines),
            hint=hint,
        )


def with_namespace(manifests: Iterable[Manifest], namespace: str) -> list[Manifest]:
    """The manifests with `metadata.namespace` set to `namespace` on namespaced objects that have
    none (copies; others unchanged)."""
    manifests = list(manifests)
    scopes = crd_scopes(manifests)
    out: list[Manifest] = []
    for m in manifests:
        meta = m.get("metadata") or {}
        group = api_group(str(m.get("apiVersion", "")))
        if not meta.get("namespace") and is_namespaced(group, str(m.get("kind", "")), scopes):
            m = {**m, "metadata": {**meta, "namespace": namespace}}
        out.append(m)
    return out


def previous_manifests(
    deps: Deps, release: str, namespace: str, *, secrets: bool = False
) -> dict[ObjectKey, Manifest]:
    """Manifests kdeploy may have created for this release and not deleted since: those of the last
    deployed revision and of every later (failed, pending) revision (the oldest manifest of each
    object). Prune candidates. Secret data stays redacted (and companion Secrets unread) unless
    `secrets`. Raises HistoryError when one of those revisions cannot be read."""
    return {
        k: ms[0] for k, ms in applied_manifests(deps, release, namespace, secrets=secrets).items()
    }


def applied_manifests(
    deps: Deps, release: str, namespace: str, *, secrets: bool = False
) -> dict[ObjectKey, list[Manifest]]:
    """Every manifest kdeploy applied for each object in the revisions a deploy replaces (the last
    deployed one and every later one), oldest first.

    Raises HistoryError when one of them cannot be read (a missing chunk, a corrupt payload):
    without it, kdeploy cannot know which objects it created, so it could neither prune them nor
    tell the fields it set; the error names the record to drop to go on."""
    revisions = deps.history.revisions(release, namespace)
    if not revisions:
        return {}
    deployed = [r.number for r in revisions if r.status == "deployed"]
    floor = deployed[-1] if deployed else 0
    out: dict[ObjectKey, list[Manifest]] = {}
    for rev in revisions:
        if rev.number < floor:
            continue
        try:
            full = deps.history.get(release, namespace, rev.number, secrets=secrets)
        except HistoryError as e:
            raise damaged_revision_error(release, namespace, rev.number, e) from e
        for m in full.manifests:
            out.setdefault(ObjectKey.of(m), []).append(m)
    return out


def damaged_revision_error(
    release: str, namespace: str, number: int, cause: KdeployError
) -> HistoryError:
    """The error for revision `number`, needed to plan, that cannot be read."""
    name = revision_name(release, number)
    return HistoryError(
        f"revision {number} of release {release} in namespace {namespace} cannot be read "
        f"({cause.message}); without it kdeploy cannot tell which objects that revision created, "
        "so it cannot plan what to prune; nothing was changed",
        hint=f"drop the damaged record with `kubectl delete configmap {name} -n {namespace}` "
        f"(and `kubectl delete secret {name} -n {namespace}` if it exists), then run again; "
        "objects only that revision created are then no longer pruned: list them with "
        f"`kubectl get all -n {namespace} -l {INSTANCE_LABEL}={release}`",
    )


def read_live(deps: Deps, release: str, manifests: Iterable[Manifest]) -> dict[ObjectKey, Manifest]:
    """The live objects among `manifests` that carry the release name's instance label: one LIST
    per (apiVersion, kind, namespace) by that label. Only the objects of `manifests` are returned
    (a LIST of a cluster-scoped kind also finds a same-named release's objects of other
    namespaces). Whose they are is for the caller to judge (kdeploy.ownership). Kinds the cluster
    does not serve yet are skipped."""
    groups: set[tuple[str, str, str]] = set()
    wanted: set[ObjectKey] = set()
    for m in manifests:
        ref = ObjectRef.of(m)
        groups.add((ref.api_version, ref.kind, ref.namespace))
        wanted.add(ObjectKey.of(m))
    live: dict[ObjectKey, Manifest] = {}
    for api_version, kind, namespace in sorted(groups):
        try:
            deps.cluster.resolve(api_version, kind)
        except ClusterError:
            continue  # e.g. a CRD applied by this release: nothing of that kind exists yet
        items = deps.cluster.list_by_labels(
            api_version, kind, namespace or None, f"{INSTANCE_LABEL}={release}"
        )
        for item in items:
            key = ObjectKey.of(item)
            if key in wanted:
                live[key] = item
    return live


def prepare(
    deps: Deps,
    target: Target,
    upcoming: Upcoming | None = None,
    *,
    create_namespace: bool = False,
) -> Prepared:
    """Plan `target`: dry-run apply each desired object, compare with the live objects, and list
    prune candidates and objects owned by someone else. Changes nothing in the cluster.
    `upcoming`: what releases planned before this one create (see Upcoming). With
    `create_namespace`, a missing release namespace is planned as created (Prepared.
    creates_namespace) unless this release or an upcoming one creates it.

    Raises ClusterError when the server rejects a desired object (Invalid, Forbidden, ...) and
    HistoryError when a revision it needs cannot be read. A field-manager conflict on an object
    this release owns is drift (Prepared.drift, see kdeploy.drift): planned as reclaimed or as a
    conflict, never raised here."""
    stamped = stamp_release_namespace(target.manifests, target.release, target.namespace)
    found = split_hooks(with_namespace(stamped, target.namespace), f"release {target.release}")
    manifests = list(found.regular)
    desired = {ObjectKey.of(m): m for m in manifests}
    applied = applied_manifests(deps, target.release, target.namespace)
    everything = {k: ms[0] for k, ms in applied.items()}
    # Hooks are never pruned as release objects; their delete policy decides their fate.
    previous = {k: m for k, m in everything.items() if not is_hook(m)}
    changed_hooks = frozenset(h.key for h in found.hooks if everything.get(h.key) != h.manifest)
    live = read_live(deps, target.release, [*manifests, *previous.values()])
    upcoming = upcoming or Upcoming()
    new_namespaces = {k.name for k in desired if is_namespace(k)} | upcoming.namespaces
    new_crds = {**upcoming.crds, **crd_scopes(manifests)}
    creates_namespace = (
        create_namespace
        and target.namespace not in new_namespaces
        and deps.cluster.get(ObjectRef("v1", "Namespace", "", target.namespace)) is None
    )
    if creates_namespace:
        new_namespaces.add(target.namespace)

    def ours(current: Manifest, key: ObjectKey) -> bool:
        return owned_by(current, target.release, target.namespace, recorded=key in everything)

    drift: list[driftmod.Drift] = []

    def one(key: ObjectKey) -> Manifest | None:
        current = live.get(key)
        mine = current is not None and ours(current, key)
        if (
            mine
            and current is not None
            and not deps.full_diff
            and key in everything
            and apply_is_noop(desired[key], current, FIELD_MANAGER)
        ):
            return current  # what the dry run would answer, known without asking (noop_apply)
        try:
            would_be = _dry_run(deps, key, desired[key], mine, new_namespaces, new_crds)
        except ConflictError as e:
            if not e.fields:
                raise
            fields = e.fields
        else:
            if mine and current is not None and would_be is not None:
                drift.extend(_unrecorded_drift(deps, key, desired[key], current, applied))
                drift.extend(
                    driftmod.secret_data_drift(key, current, would_be, applied.get(key, []))
                )
            return would_be
        # another field manager changed fields of our object: reclaim what we set before
        found = driftmod.classify(key, fields, applied.get(key, []), _autoscaler(deps, key, fields))
        drift.extend(found)
        # what apply makes of it once the fields are taken (the diff shows the drift reverted)
        return deps.cluster.apply(desired[key], dry_run=True, force=True)

    answers = _in_parallel(one, list(desired), deps.cluster.max_parallel)
    dry_run: dict[ObjectKey, Manifest] = {}
    foreign: dict[ObjectKey, str] = {}
    stamped_by_others: set[ObjectKey] = set()
    for key, manifest in desired.items():
        current = live.get(key)
        would_be = answers[key]
        if would_be is None:  # conflict on an object that is not ours: report ownership instead
            current = current or deps.cluster.get(ObjectRef.of(manifest))
            if current is None:
                raise ClusterError(f"dry-run apply {key}: conflict on an object that is gone")
            live[key] = current
            # what --adopt (which takes the fields over) would make of it
            would_be = deps.cluster.apply(manifest, dry_run=True, force=True)
        elif current is None and would_be is not manifest and _exists(would_be):
            # it exists without our instance label: someone else's object
            current = deps.cluster.get(ObjectRef.of(manifest))
            if current is not None:
                live[key] = current
        if current is not None and not ours(current, key):
            foreign[key] = describe_owner(current)
            if kdeploy_stamped(current):
                stamped_by_others.add(key)
        dry_run[key] = would_be

    # A hook replaces (before-run) or updates an object of its name: never someone else's.
    for hook in found.hooks:
        try:
            current = deps.cluster.get(ObjectRef.of(hook.manifest))
        except ClusterError:
            continue  # its kind is not served yet (a CRD this release installs)
        if current is not None and not ours(current, hook.key):
            foreign[hook.key] = describe_owner(current)
            if kdeploy_stamped(current):
                stamped_by_others.add(hook.key)

    # The release's own namespace holds its history (and lock): never a prune candidate.
    home = ObjectKey("", "Namespace", "", target.namespace)
    owned_previous = {k for k in previous if k != home and k in live and ours(live[k], k)}
    plan = diffmod.plan(
        dry_run, {k: live.get(k) for k in (*dry_run, *owned_previous)}, owned_previous
    )
    return Prepared(
        target=target,
        plan=plan,
        desired=desired,
        live=live,
        previous=previous,
        foreign=foreign,
        other_releases=frozenset(stamped_by_others),
        hooks=found.hooks,
        changed_hooks=changed_hooks,
        drift=tuple(sorted(drift, key=lambda d: (list(desired).index(d.key), d.field))),
        creates_namespace=creates_namespace,
    )


def _unrecorded_drift(
    deps: Deps,
    key: ObjectKey,
    manifest: Manifest,
    current: Manifest,
    applied: dict[ObjectKey, list[Manifest]],
) -> list[driftmod.Drift]:
    """The replicas conflict the server's dry run cannot report (kdeploy.drift.unrecorded_scale)."""
    found = driftmod.unrecorded_scale(key, manifest, current, applied.get(key, []))
    if found is None:
        return []
    scaler = _autoscaler(deps, key, ((found.field, ""),))
    if scaler:
        found = driftmod.unrecorded_scale(key, manifest, current, applied.get(key, []), scaler)
    return [found] if found else []


def _autoscaler(deps: Deps, key: ObjectKey, fields: tuple[tuple[str, str], ...]) -> str:
    """ "HorizontalPodAutoscaler ns/name" when one scales object `key` and `.spec.replicas` is
    among the conflicting `fields`; "" otherwise (also when autoscalers cannot be listed)."""
    if not key.namespace or not any(f == ".spec.replicas" for f, _ in fields):
        return ""
    try:
        hpas = deps.cluster.list_by_labels(
            "autoscaling/v2", "HorizontalPodAutoscaler", key.namespace, ""
        )
    except ClusterError:
        return ""
    for hpa in hpas:
        if driftmod.scale_target(hpa) == (key.kind, key.name):
            name = (hpa.get("metadata") or {}).get("name", "")
            return f"HorizontalPodAutoscaler {key.namespace}/{name}"
    return ""


def _in_parallel(
    fn: Callable[[ObjectKey], Manifest | None], keys: list[ObjectKey], workers: int
) -> dict[ObjectKey, Manifest | None]:
    """fn(key) for every key, on up to `workers` threads (the requests are read-only). The first
    failure in key order is raised, as a sequential loop would."""
    if workers <= 1 or len(keys) <= 1:
        return {key: fn(key) for key in keys}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(workers, len(keys))) as pool:
        futures = [pool.submit(fn, key) for key in keys]
        return {key: future.result() for key, future in zip(keys, futures, strict=True)}


def _dry_run(
    deps: Deps,
    key: ObjectKey,
    manifest: Manifest,
    ours: bool,
    new_namespaces: set[str],
    new_crds: dict[tuple[str, str], str],
) -> Manifest | None:
    """The would-be object; the manifest itself when the server cannot tell yet (its namespace or
    CRD is created by this same release); None on a conflict with an object we do not own.
    Raises ConflictError on a field-manager conflict on our own object."""
    if (key.group, key.kind) in new_crds:
        try:
            deps.cluster.resolve(str(manifest.get("apiVersion")), key.kind)
        except ClusterError:
            return manifest
    try:
        return deps.cluster.apply(manifest, dry_run=True, force=False)
    except ConflictError:
        if ours:
            raise  # a real field-manager conflict on our own object: drift (see prepare)
        return None
    except ClusterError as e:
        if key.namespace in new_namespaces and ": NotFound:" in e.message:
            return manifest  # the namespace does not exist until this release creates it
        if key.namespace and f'namespaces "{key.namespace}" not found' in e.message:
            raise missing_namespace_error(key) from e
        raise


def missing_namespace_error(key: ObjectKey) -> ClusterError:
    """The refusal to plan an object whose namespace neither exists nor is created by the plan."""
    return ClusterError(
        f"{key}: namespace {key.namespace} does not exist, and no release planned before this one "
        "creates it; nothing was changed",
        hint="render its Namespace in a release listed earlier in the environment file, or pass "
        "--create-namespace to create the release namespace",
    )


def _exists(obj: Manifest) -> bool:
    # A dry-run create returns no resourceVersion; an update of an existing object returns its own.
    return bool((obj.get("metadata") or {}).get("resourceVersion"))


def show_plan(deps: Deps, prepared: Prepared, *, show_secrets: bool = False) -> None:
    """Write the human diff of a prepared release to the output."""
    target = prepared.target
    deps.output.info(f"Release {target.release} (namespace {target.namespace}):")
    if prepared.creates_namespace:
        deps.output.diff(
            f"+ create Namespace {target.namespace} (--create-namespace; not a release object: "
            "never pruned, kept by uninstall)\n"
        )
    layout = deps.diff_layout
    parts = diffmod.text_parts(prepared.plan, show_secrets=show_secrets, redact=target.redactor())
    body, shortened = shorten(parts, layout.max_lines)
    summary = diffmod.summary(prepared.plan)
    if shortened:
        summary += (
            f" ({shortened} created objects shown by name only: the diff is longer than "
            f"--diff-lines {layout.max_lines}; their text: --manifests-out DIR or diff -o json)"
        )
    if layout.gitlab_sections:
        title = f"diff of release {target.release} in namespace {target.namespace}"
        name = section_name(target.release, target.namespace)
        stamp = int(deps.clock().timestamp())
        deps.output.diff(gitlab_section(name, title, body, timestamp=stamp) + summary + "\n")
    else:
        deps.output.diff(body + summary + "\n")
    for key, owner in prepared.foreign.items():
        deps.output.info(f"! {key} exists and is owned by {owner}")
    for change in prepared.plan.of("delete"):
        policy = keep_policy(prepared.live.get(change.key), prepared.previous.get(change.key))
        if policy is not None:
            deps.output.info(
                f"! {change.key} has {policy}: apply leaves it in the cluster and it is no "
                f"longer part of release {target.release}"
            )
        elif is_namespace(change.key):
            deps.output.info(
                f"! {change.key} is deleted, with everything in it, only with --delete-namespaces "
                "(or when confirmed on a terminal); otherwise it is kept"
            )
    for d in prepared.drift:
        deps.output.diff(f"! {d.describe()}\n")
    for removal in diffmod.secret_removals(prepared.plan):
        deps.output.diff(f"! {removal.describe()} (apply needs --allow-secret-removal)\n")
    if prepared.hooks:
        # Listed apart: hooks are not release objects and do not count as changes to them.
        lines = hook_lines(prepared.hooks)
        deps.output.diff("Hooks:\n" + "".join(f"  {line}\n" for line in lines))


def diff_releases(
    deps: Deps,
    targets: Iterable[Target],
    *,
    show_secrets: bool = False,
    as_json: bool = False,
    text: bool | None = None,
    create_namespace: bool = False,
) -> tuple[list[Prepared], dict[str, Any] | None]:
    """Plan every target (in order) and print the diffs (`text`; default: when not `as_json`),
    build the JSON document (`diff --output json`), or both. Returns the prepared releases and the
    JSON document (or None). The targets are planned as one environment: what an earlier one
    creates (a Namespace, a CRD) counts as present for the later ones (see Upcoming);
    `create_namespace` plans missing release namespaces as created.
    Raises KubeVersionError before planning when the cluster does not satisfy a package's
    kubeVersion."""
    from kdeploy.actions.compat import check_cluster_version

    targets = list(targets)
    show_text = not as_json if text is None else text
    check_cluster_version(deps, targets)
    prepared_all: list[Prepared] = []
    releases_json: list[dict[str, Any]] = []
    upcoming = Upcoming()
    for target in targets:
        with redacting(target):
            prepared = prepare(deps, target, upcoming, create_namespace=create_namespace)
        upcoming = upcoming.after(prepared)
        prepared_all.append(prepared)
        if as_json:
            doc = diffmod.to_json(
                prepared.plan, show_secrets=show_secrets, redact=target.redactor()
            )
            releases_json.append(
                {
                    "release": target.release,
                    "namespace": target.namespace,
                    "createNamespace": prepared.creates_namespace,
                    **doc,
                    "notOwned": [
                        {"object": str(k), "owner": owner} for k, owner in prepared.foreign.items()
                    ],
                    "hooks": hooks_json(prepared.hooks, prepared.changed_hooks),
                    "drift": [d.to_json() for d in prepared.drift],
                    "secretRemovals": [
                        {"object": str(r.key), "key": r.data_key, "removal": r.how}
                        for r in diffmod.secret_removals(prepared.plan)
                    ],
                }
            )
        if show_text:
            show_plan(deps, prepared, show_secrets=show_secrets)
    if not as_json:
        return prepared_all, None
    total = {"create": 0, "change": 0, "delete": 0, "unchanged": 0}
    for p in prepared_all:
        for name, n in p.plan.counts().items():
            total[name] += n
    return prepared_all, {
        "version": diffmod.JSON_FORMAT_VERSION,
        "changes": any(p.has_changes for p in prepared_all),
        "summary": total,
        "releases": releases_json,
    }
