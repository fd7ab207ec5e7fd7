"""Wait until the objects of a release are healthy: poll them through the ClusterClient, judge each
with `kdeploy.health.evaluate`, show progress, and when waiting fails, explain why from the
cluster's own evidence (the failing pods' container states and recent Warning Events).

Progress goes to a rich live view (one line per object and an overall bar) when stderr is a
terminal, otherwise to one plain line per state change through the action's Output, so CI logs
carry no escape codes, plus a `still waiting` line naming what each unhealthy object waits for when
nothing was printed for `progress_interval` seconds. rich is imported only when the live view is
used.

While objects are unhealthy their pods are read now and then (every 2 s with fail-fast, else every
`progress_interval` for plain progress, never for the live view), to name the failing container in
progress output and, with `fail_fast`, to fail as soon as a container has been stuck (see
kdeploy.stuck) for longer than `fail_fast_grace`.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kdeploy.errors import WaitError
from kdeploy.health import Health, container_problem, evaluate, has_rule
from kdeploy.kube.client import ClusterClient, ObjectRef
from kdeploy.model import Manifest
from kdeploy.resources import INSTANCE_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE
from kdeploy.stuck import StuckClock, StuckContainer
from kdeploy.stuck import seconds as _seconds

DEFAULT_TIMEOUT = 300.0
DEFAULT_PROGRESS_INTERVAL = 10.0
DEFAULT_FAIL_FAST_GRACE = 30.0
# How often pods are read with fail-fast on (without it: every progress interval).
_FAIL_FAST_POD_PERIOD = 2.0
# Kinds whose pods are found through spec.selector, for failure evidence.
_WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"})
_MAX_PODS = 3
_MAX_EVENTS = 5
_REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


@dataclass(frozen=True)
class WaitOptions:
    """Whether to wait after deploying, for how long (seconds), whether Services of type
    LoadBalancer must get an address, whether to fail as soon as a container has been stuck in
    ImagePullBackOff, CrashLoopBackOff... for longer than `fail_fast_grace` seconds, and how often
    plain progress says what is still awaited (seconds)."""

    enabled: bool = False
    timeout: float = DEFAULT_TIMEOUT
    load_balancers: bool = False
    fail_fast: bool = False
    fail_fast_grace: float = DEFAULT_FAIL_FAST_GRACE
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL


@dataclass
class Tracked:
    """One object being waited for, its latest verdict and when it settled."""

    ref: ObjectRef
    health: Health
    # The release's ownership labels, to read many objects of one kind with one list request.
    selector: str = ""
    settled_at: float | None = None
    # From the latest reading of its pods: the failing ones (name, problem) and the containers
    # stuck in a fail-fast reason.
    pods: list[tuple[str, str]] = field(default_factory=list)
    stuck: list[StuckContainer] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.ref.kind}/{self.ref.name}"


class ProgressView(Protocol):
    """Where waiting reports progress. `names_pods`: whether it shows the failing pods of what
    it waits for (else they are read only for fail-fast)."""

    names_pods: bool

    def update(self, rows: Sequence[Tracked], elapsed: float) -> None:
        """Show the current verdicts (called after every poll)."""
        ...

    def close(self, rows: Sequence[Tracked], elapsed: float, ok: bool) -> None:
        """Waiting ended (successfully or not); may be called more than once."""
        ...

    def next_update(self, elapsed: float) -> float:
        """In how many seconds the view wants `update` called again at the latest (inf: no
        need)."""
        ...


class Info(Protocol):
    def info(self, text: str) -> None: ...


@dataclass
class PlainProgress:
    """One line per object whenever its state or message changes, and a `still waiting` line
    when nothing was printed for `interval` seconds; no escape codes."""

    output: Info
    interval: float = DEFAULT_PROGRESS_INTERVAL
    names_pods: bool = True
    _seen: dict[ObjectRef, tuple[str, str]] = field(default_factory=dict)
    _last_line: float = 0.0

    def update(self, rows: Sequence[Tracked], elapsed: float) -> None:
        for row in rows:
            now = (row.health.state, row.health.message)
            if self._seen.get(row.ref) == now:
                continue
            self._seen[row.ref] = now
            self.output.info(f"  {_row_text(row, elapsed)}")
            self._last_line = elapsed
        waiting = [r for r in rows if not r.health.done]
        if waiting and elapsed - self._last_line >= self.interval:
            awaited = "; ".join(_awaited_text(r, elapsed) for r in waiting)
            self.output.info(f"  still waiting after {_seconds(elapsed)}: {awaited}")
            self._last_line = elapsed

    def next_update(self, elapsed: float) -> float:
        return max(self._last_line + self.interval - elapsed, 0.0)

    def close(self, rows: Sequence[Tracked], elapsed: float, ok: bool) -> None:
        if ok:
            self.output.info(f"  all {len(rows)} healthy after {_seconds(elapsed)}")


class RichProgress:
    """A rich live view on stderr: one line per object and an overall bar."""

    names_pods = False

    def __init__(self, title: str) -> None:
        from rich.console import Console
        from rich.live import Live

        self._title = title
        self._console = Console(stderr=True, highlight=False)
        self._live = Live(console=self._console, refresh_per_second=4, transient=False)
        self._live.start()

    def _render(self, rows: Sequence[Tracked], elapsed: float) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 2))
        styles = {"ready": "green", "failed": "bold red", "waiting": "yellow"}
        for row in rows:
            h = row.health
            table.add_row(
                Text(row.label, style="bold"),
                Text(h.state, style=styles[h.state]),
                Text(h.ready),
                Text(_seconds(_elapsed(row, elapsed)), style="dim"),
                Text(h.message, overflow="ellipsis", no_wrap=True),
            )
        done = sum(1 for r in rows if r.health.ok)
        bar = Table.grid(padding=(0, 1))
        bar.add_row(
            Text(self._title),
            ProgressBar(total=max(len(rows), 1), completed=done, width=30),
            Text(f"{done}/{len(rows)} healthy  {_seconds(elapsed)}"),
        )
        return Group(table, bar)

    def update(self, rows: Sequence[Tracked], elapsed: float) -> None:
        self._live.update(self._render(rows, elapsed), refresh=True)

    def close(self, rows: Sequence[Tracked], elapsed: float, ok: bool) -> None:
        if self._live.is_started:
            self._live.update(self._render(rows, elapsed), refresh=True)
            self._live.stop()

    def next_update(self, elapsed: float) -> float:
        return math.inf


def terminal_progress(
    output: Info, title: str, interval: float = DEFAULT_PROGRESS_INTERVAL
) -> ProgressView:
    """The live view when stderr is a terminal (and TERM is not dumb), else plain lines through
    `output`, with a `still waiting` line after `interval` seconds without one."""
    if sys.stderr.isatty() and os.environ.get("TERM") != "dumb":
        return RichProgress(title)
    return PlainProgress(output, interval)


def wait_for(
    cluster: ClusterClient,
    manifests: Iterable[Manifest],
    options: WaitOptions,
    progress: ProgressView,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    check: Callable[[], None] | None = None,
) -> float:
    """Poll the live state of `manifests` until all are healthy; returns the seconds waited.
    Objects of kinds without a health rule count as healthy (they were just applied). Raises
    WaitError when an object fails for good (e.g. a Job fails, a Deployment exceeds its progress
    deadline), when `options.fail_fast` and a container of its pods has been stuck for longer than
    `options.fail_fast_grace`, or when `options.timeout` passes, with the evidence gathered from
    the cluster; raises ClusterError when the cluster cannot be read. `check` runs before every
    poll and stops the wait by raising (the release lock was lost: waiting on would only delay the
    error)."""
    rows = [
        Tracked(
            ObjectRef.of(m), Health(False, False, "Waiting for status..."), _release_selector(m)
        )
        for m in manifests
        if has_rule(str(m.get("kind", "")), load_balancers=options.load_balancers)
    ]
    start = monotonic()
    if not rows:
        return 0.0
    interval = 0.2
    pods = _PodReader(
        _FAIL_FAST_POD_PERIOD
        if options.fail_fast
        else (options.progress_interval if progress.names_pods else math.inf)
    )
    try:
        while True:
            if check is not None:
                check()
            found = _read(cluster, [r for r in rows if not r.health.done])
            for row in rows:
                if row.health.done:
                    continue
                live = found.get(row.ref)
                row.health = (
                    Health(False, False, "not found")
                    if live is None
                    else evaluate(live, load_balancers=options.load_balancers)
                )
                if row.health.done:
                    row.settled_at = monotonic() - start
            elapsed = monotonic() - start
            pods.read(cluster, [r for r in rows if not r.health.done], found, elapsed)
            progress.update(rows, elapsed)
            if any(r.health.done and not r.health.ok for r in rows):
                progress.close(rows, elapsed, ok=False)
                raise _failure(cluster, rows, elapsed, options, timed_out=False)
            if all(r.health.ok for r in rows):
                progress.close(rows, elapsed, ok=True)
                return elapsed
            stuck = _stuck_rows(rows, options, pods.clock, elapsed)
            if stuck:
                progress.close(rows, elapsed, ok=False)
                raise _fail_fast_failure(cluster, stuck, elapsed, options)
            if elapsed >= options.timeout:
                progress.close(rows, elapsed, ok=False)
                raise _failure(cluster, rows, elapsed, options, timed_out=True)
            pause = min(interval, max(options.timeout - elapsed, 0.01))
            sleep(max(min(pause, progress.next_update(elapsed)), 0.01))
            interval = min(interval * 1.5, 2.0)
    except BaseException:
        # Also on Ctrl-C or a cluster error: the live view must give the terminal back.
        progress.close(rows, monotonic() - start, ok=False)
        raise


@dataclass
class _PodReader:
    """Reads the pods of unhealthy workloads every `period` seconds (not before the first period
    has passed, so a quick rollout costs no extra request) into `Tracked.pods` and the stuck
    clock. Pods that cannot be listed (no permission) are not tried again during this wait."""

    period: float
    clock: StuckClock = field(default_factory=StuckClock)
    _last: float = 0.0
    _allowed: bool = True

    def read(
        self,
        cluster: ClusterClient,
        rows: Sequence[Tracked],
        found: Mapping[ObjectRef, Manifest | None],
        elapsed: float,
    ) -> None:
        from kdeploy.errors import ClusterError, ForbiddenError

        if not self._allowed or elapsed - self._last < self.period:
            return
        self._last = elapsed
        for row in rows:
            live = found.get(row.ref)
            if live is None or (row.ref.kind != "Pod" and row.ref.kind not in _WORKLOADS):
                continue
            try:
                pods = _pods_of(cluster, row.ref, live)
            except ForbiddenError:
                self._allowed = False
                return
            except ClusterError:
                continue  # try again at the next reading; the wait itself goes on
            scope = str(row.ref)
            self.clock.observe(pods, elapsed, scope=scope)
            row.pods = _problems(pods)
            row.stuck = self.clock.stuck(scope)


def _stuck_rows(
    rows: Sequence[Tracked], options: WaitOptions, clock: StuckClock, elapsed: float
) -> list[tuple[Tracked, list[StuckContainer]]]:
    """With fail-fast: the unhealthy rows with containers stuck for longer than the grace."""
    if not options.fail_fast:
        return []
    found = []
    for row in rows:
        if row.health.done:
            continue
        stuck = clock.longer_than(options.fail_fast_grace, elapsed, scope=str(row.ref))
        if stuck:
            found.append((row, stuck))
    return found


def _read(cluster: ClusterClient, rows: Sequence[Tracked]) -> dict[ObjectRef, Manifest | None]:
    """The live objects of `rows` (None when missing): one list request per kind and namespace
    when several objects of it carry the same release labels, else one get each."""
    groups: dict[tuple[str, str, str, str], list[Tracked]] = {}
    for row in rows:
        key = (row.ref.api_version, row.ref.kind, row.ref.namespace, row.selector)
        groups.setdefault(key, []).append(row)
    found: dict[ObjectRef, Manifest | None] = {}
    for (api_version, kind, namespace, selector), members in groups.items():
        if len(members) < 2 or not selector:
            for row in members:
                found[row.ref] = cluster.get(row.ref)
            continue
        listed = cluster.list_by_labels(api_version, kind, namespace or None, selector)
        by_name = {str((obj.get("metadata") or {}).get("name", "")): obj for obj in listed}
        for row in members:
            found[row.ref] = by_name.get(row.ref.name)
    return found


def _release_selector(manifest: Manifest) -> str:
    labels = (manifest.get("metadata") or {}).get("labels") or {}
    instance = labels.get(INSTANCE_LABEL)
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE or not instance:
        return ""
    return f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE},{INSTANCE_LABEL}={instance}"


def _failure(
    cluster: ClusterClient,
    rows: Sequence[Tracked],
    elapsed: float,
    options: WaitOptions,
    *,
    timed_out: bool,
) -> WaitError:
    """The WaitError for the objects that failed (or, on timeout, are still not healthy). Its first
    line stands alone (history shows it): what failed and the most telling piece of evidence."""
    bad = [r for r in rows if r.health.done and not r.health.ok]
    if timed_out and not bad:
        bad = [r for r in rows if not r.health.ok]
    found = [(row, evidence(cluster, row.ref)) for row in bad]
    first, first_evidence = found[0]
    what = f"{first.ref.kind} {_where(first.ref)}"
    more = f" and {_count(len(bad) - 1, 'more object')}" if len(bad) > 1 else ""
    if timed_out and not first.health.done:
        head = f"timed out after {_seconds(options.timeout)} waiting for {what}{more}"
    else:
        head = f"{what}{more} failed after {_seconds(elapsed)}: {first.health.message}"
    if first_evidence.pods:
        pod, problem = first_evidence.pods[0]
        head += f" (pod {pod}: {_short(problem)})"
    return WaitError(
        "\n".join([head, *_evidence_lines(found)]),
        hint="fix the cause and apply again, or roll back with `kdeploy rollback`; "
        "--timeout gives slow rollouts more time",
    )


def _fail_fast_failure(
    cluster: ClusterClient,
    stuck: Sequence[tuple[Tracked, list[StuckContainer]]],
    elapsed: float,
    options: WaitOptions,
) -> WaitError:
    """The WaitError of `--fail-fast`: the objects whose containers have been stuck for longer
    than the grace, with the same evidence as a timeout. The first line stands alone."""
    found = [(row, evidence(cluster, row.ref)) for row, _ in stuck]
    first, containers = stuck[0]
    what = f"{first.ref.kind} {_where(first.ref)}"
    more = f" and {_count(len(stuck) - 1, 'more object')}" if len(stuck) > 1 else ""
    head = (
        f"{what}{more} failed fast after {_seconds(elapsed)}: {containers[0].text(elapsed)}, "
        f"longer than --fail-fast-grace ({_seconds(options.fail_fast_grace)})"
    )
    return WaitError(
        "\n".join([head, *_evidence_lines(found)]),
        hint="fix the cause and apply again, or roll back with `kdeploy rollback`; "
        "--no-fail-fast waits until --timeout instead",
    )


def _evidence_lines(found: Sequence[tuple[Tracked, Evidence]]) -> list[str]:
    lines = []
    for row, ev in found:
        lines.append(f"  {row.ref.kind} {_where(row.ref)}: {row.health.message}")
        lines.extend(f"    {line}" for line in ev.lines())
    return lines


@dataclass
class Evidence:
    """What the cluster says about an unhealthy object: failing pods (name, container problem),
    recent Warning events (one line each), and a note when something could not be read."""

    pods: list[tuple[str, str]] = field(default_factory=list)
    more_pods: int = 0
    events: list[str] = field(default_factory=list)
    note: str = ""

    def lines(self) -> list[str]:
        """The evidence as indented-ready lines, pods first."""
        out = [f"pod {name}: {problem}" for name, problem in self.pods]
        if self.more_pods:
            out.append(f"... and {self.more_pods} more failing pods")
        out.extend(self.events)
        if self.note:
            out.append(self.note)
        return out


def evidence(cluster: ClusterClient, ref: ObjectRef) -> Evidence:
    """Why `ref` is not healthy, from the cluster: its failing pods (found through the workload's
    selector) with their container states, then recent Warning Events of the object and of those
    pods. Never raises: a failure to read is reported in `note` instead."""
    from kdeploy.errors import ClusterError

    found = Evidence()
    try:
        live = cluster.get(ref) or {}
        pods = _failing_pods(cluster, ref, live)
        found.pods = pods[:_MAX_PODS]
        found.more_pods = max(len(pods) - _MAX_PODS, 0)
        involved = [(ref.kind, ref.name)]
        if ref.kind == "Deployment":
            involved += [("ReplicaSet", name) for name in _current_replicasets(cluster, ref, live)]
        involved += [("Pod", name) for name, _ in found.pods]
        found.events = _warning_events(cluster, ref.namespace, involved)
    except ClusterError as e:
        found.note = f"(could not read the evidence: {e.message})"
    return found


def _short(problem: str) -> str:
    """The first problem without its long message: `container app: ImagePullBackOff`."""
    return ": ".join(problem.split(": ")[:2])


def _failing_pods(cluster: ClusterClient, ref: ObjectRef, live: Manifest) -> list[tuple[str, str]]:
    return _problems(_pods_of(cluster, ref, live))


def _pods_of(cluster: ClusterClient, ref: ObjectRef, live: Manifest) -> list[Manifest]:
    """The pods of `ref`: itself for a Pod, those matching a workload's selector, else none."""
    if ref.kind == "Pod":
        return [live]
    if ref.kind not in _WORKLOADS:
        return []
    selector = selector_text((live.get("spec") or {}).get("selector"))
    if not selector and ref.kind == "Job":
        selector = f"job-name={ref.name}"
    if not selector:
        return []
    pods = cluster.list_by_labels("v1", "Pod", ref.namespace, selector)
    if ref.kind == "Deployment":
        # a Deployment's selector also matches the old ReplicaSets' pods: the failure is the
        # current revision's (the old pods' problems are what the new revision is to fix)
        current = set(_current_replicasets(cluster, ref, live))
        if current:
            pods = [p for p in pods if current & _owner_names(p, "ReplicaSet")]
    return pods


def _owner_names(obj: Manifest, kind: str) -> set[str]:
    """Names of the `kind` owners of `obj`."""
    owners = (obj.get("metadata") or {}).get("ownerReferences") or []
    return {str(o.get("name", "")) for o in owners if o.get("kind") == kind}


def _problems(pods: Iterable[Manifest]) -> list[tuple[str, str]]:
    """(name, container problem) of the failing ones among `pods`, by name."""
    found = []
    for pod in pods:
        problem = container_problem(pod)
        if problem:
            found.append((str((pod.get("metadata") or {}).get("name", "")), problem))
    return sorted(found)


def _current_replicasets(cluster: ClusterClient, ref: ObjectRef, live: Manifest) -> list[str]:
    """The ReplicaSet(s) of the Deployment's current revision: their events say why pods could
    not be created (quota, admission webhooks)."""
    meta = live.get("metadata") or {}
    selector = selector_text((live.get("spec") or {}).get("selector"))
    if not selector or not meta.get("uid"):
        return []
    revision = (meta.get("annotations") or {}).get(_REVISION_ANNOTATION)
    names = []
    for rs in cluster.list_by_labels("apps/v1", "ReplicaSet", ref.namespace, selector):
        rs_meta = rs.get("metadata") or {}
        owners = [o.get("uid") for o in rs_meta.get("ownerReferences") or []]
        if meta["uid"] not in owners:
            continue
        if revision and (rs_meta.get("annotations") or {}).get(_REVISION_ANNOTATION) != revision:
            continue
        names.append(str(rs_meta.get("name", "")))
    return sorted(names)


def _warning_events(
    cluster: ClusterClient, namespace: str, involved: Sequence[tuple[str, str]]
) -> list[str]:
    """The newest distinct Warning events about `involved` objects, oldest first; the same event
    on several pods is shown once, naming the first pod and how many more."""
    events: list[tuple[str, tuple[str, str], str]] = []
    for kind, name in involved:
        selector = f"involvedObject.name={name},involvedObject.kind={kind},type=Warning"
        for ev in cluster.list_by_labels("v1", "Event", namespace, "", field_selector=selector):
            if ev.get("type") != "Warning":
                continue
            when = str(ev.get("lastTimestamp") or ev.get("eventTime") or "")
            what = (str(ev.get("reason", "")), str(ev.get("message", "")).strip())
            events.append((when, what, f"{kind} {name}"))
    events.sort()
    on: dict[tuple[str, str], list[str]] = {}
    for _, what, subject in events:
        subjects = on.setdefault(what, [])
        if subject not in subjects:
            subjects.append(subject)
    lines = []
    for (reason, message), subjects in on.items():
        others = f" (and {len(subjects) - 1} more)" if len(subjects) > 1 else ""
        lines.append(f"event {reason} on {subjects[0]}{others}: {message}")
    return lines[-_MAX_EVENTS:]


def selector_text(selector: Any) -> str:
    """A LabelSelector object as a selector string (`a=b,c in (x,y),!d`); "" when empty."""
    if not isinstance(selector, Mapping):
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key"), expr.get("operator")
        values = ",".join(expr.get("values") or [])
        if op == "In":
            parts.append(f"{key} in ({values})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def _row_text(row: Tracked, elapsed: float) -> str:
    h = row.health
    ready = f" {h.ready}" if h.ready else ""
    return (
        f"{row.label}: {h.state}{ready} ({_seconds(_elapsed(row, elapsed))}) {h.message}".rstrip()
    )


def _awaited_text(row: Tracked, elapsed: float) -> str:
    """What an unhealthy object waits for, in a few words: `Deployment/web 1/3 ready (pod web-x:
    container app: ImagePullBackOff for 12s)`, `Job/migrate (Waiting for completion: ...)`."""
    h = row.health
    ready = f" {h.ready} ready" if h.ready and row.ref.kind != "Job" else ""
    if row.stuck:
        first = row.stuck[0]
        took = elapsed - first.since
        why = f"pod {first.pod}: {first.container}: {first.reason}"
        why += f" for {_seconds(took)}" if took >= 1 else ""
    elif row.pods:
        pod, problem = row.pods[0]
        why = f"pod {pod}: {_short(problem)}"
    else:
        why = h.message
    more = len(row.pods) - 1
    if more > 0:
        why += f", {_count(more, 'more failing pod')}"
    return f"{row.label}{ready} ({why})"


def _elapsed(row: Tracked, elapsed: float) -> float:
    return row.settled_at if row.settled_at is not None else elapsed


def _where(ref: ObjectRef) -> str:
    return f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
