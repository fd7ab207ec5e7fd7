"""Live benchmark: API requests and wall time of `kdeploy diff/apply/rollback` against the built-in
emulator, side by side with `helm upgrade --install` and `helm rollback` of the same objects.

Generates one kdeploy package and one Helm chart that render the same objects: per app a
ServiceAccount, ConfigMap, Secret, Service and Deployment (5 objects). A release of 40 apps (200
objects) is diffed and applied (first install, no change, then a change of one value that touches
10% of the objects); a release of 10 apps (50 objects) is changed everywhere and rolled back. Each
run starts a fresh in-process emulator; kdeploy and helm work in their own namespaces of it and
run as separate processes (their start-up is part of the wall time, as for a user). Requests are
read from the emulator's request log and split by method; a GET of a collection is a LIST.

Run with `make bench` (fetches helm into .tools/ first) or
`KDEPLOY_HELM=/path/to/helm .venv/bin/python benchmarks/live.py [--runs 3] [--no-write]`.
Figures, not assertions: nothing here fails on a slow machine. A helm step that fails against the
emulator is reported with its error instead of a figure.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    PERF_DOC,
    load_note,
    machine,
    user_environ,
    write_section,
)
from benchmarks.render import helm_version  # noqa: E402

# docs/performance.md sections, by cluster
MARKERS = {
    "emulator": ("<!-- BEGIN live-benchmark -->", "<!-- END live-benchmark -->"),
    "real": ("<!-- BEGIN live-benchmark-real -->", "<!-- END live-benchmark-real -->"),
}
BEGIN, END = MARKERS["emulator"]
CLUSTERS = {
    "emulator": "a fresh in-process emulator",
    "real": "a fresh real control plane (kube-apiserver, etcd, kube-controller-manager, "
    "kube-scheduler and kwok from tests/controlplane, started by its launcher)",
}
REQUEST_SOURCES = {
    "emulator": "the emulator's log",
    "real": "the kube-apiserver's audit log (the benchmark user's requests, kwok's left out)",
}
READINESS = {
    "emulator": "Emulator Deployments become ready after 1 s (its default).",
    "real": "Deployments become ready when kwok reports their pods running and the real "
    "controllers see them available.",
}
KDEPLOY = [sys.executable, "-m", "kdeploy.cli"]

BIG_APPS = 40  # x 5 objects = 200
SMALL_APPS = 10  # x 5 objects = 50
CHANGED_APPS = 4  # x 5 objects = 20, 10% of the big release
OBJECTS_PER_APP = 5
COLUMNS = ("GET", "LIST", "WATCH", "PATCH dry-run", "PATCH", "POST", "PUT", "DELETE", "discovery")
WRITES = ("PATCH", "POST", "PUT", "DELETE")

KDEPLOY_TEMPLATE = """\
{% for i in range(values.apps) %}
{% set name = "app-%03d" | format(i) %}
{% set stamp = values.stamp if i < values.stampApps else "base" %}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ name }}
  labels: {app: {{ name }}, stamp: {{ stamp }}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ name }}-config
  labels: {app: {{ name }}, stamp: {{ stamp }}}
data:
  LOG_LEVEL: info
  STAMP: {{ stamp }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ name }}-secret
  labels: {app: {{ name }}, stamp: {{ stamp }}}
type: Opaque
stringData:
  password: {{ "pw-%03d" | format(i) }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ name }}
  labels: {app: {{ name }}, stamp: {{ stamp }}}
spec:
  selector: {app: {{ name }}}
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ name }}
  labels: {app: {{ name }}, stamp: {{ stamp }}}
spec:
  replicas: 1
  selector:
    matchLabels: {app: {{ name }}}
  template:
    metadata:
      labels: {app: {{ name }}}
      annotations: {stamp: {{ stamp }}}
    spec:
      serviceAccountName: {{ name }}
      containers:
      - name: web
        image: nginx:1.27.3
        ports:
        - name: http
          containerPort: 8080
        envFrom:
        - configMapRef: {name: {{ name }}-config}
        resources:
          requests: {cpu: 10m, memory: 32Mi}
{% endfor %}
"""

# The same objects as a Helm chart template (Go templates + sprig).
HELM_TEMPLATE = """\
{{- range $i, $_ := until (int .Values.apps) }}
{{- $name := printf "app-%03d" $i }}
{{- $stamp := "base" }}
{{- if lt $i (int $.Values.stampApps) }}{{ $stamp = $.Values.stamp }}{{ end }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $name }}
  labels: {app: {{ $name }}, stamp: {{ $stamp }}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $name }}-config
  labels: {app: {{ $name }}, stamp: {{ $stamp }}}
data:
  LOG_LEVEL: info
  STAMP: {{ $stamp }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ $name }}-secret
  labels: {app: {{ $name }}, stamp: {{ $stamp }}}
type: Opaque
stringData:
  password: {{ printf "pw-%03d" $i }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels: {app: {{ $name }}, stamp: {{ $stamp }}}
spec:
  selector: {app: {{ $name }}}
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels: {app: {{ $name }}, stamp: {{ $stamp }}}
spec:
  replicas: 1
  selector:
    matchLabels: {app: {{ $name }}}
  template:
    metadata:
      labels: {app: {{ $name }}}
      annotations: {stamp: {{ $stamp }}}
    spec:
      serviceAccountName: {{ $name }}
      containers:
      - name: web
        image: nginx:1.27.3
        ports:
        - name: http
          containerPort: 8080
        envFrom:
        - configMapRef: {name: {{ $name }}-config}
        resources:
          requests: {cpu: 10m, memory: 32Mi}
{{- end }}
"""


# ---------------------------------------------------------------- request classification


@dataclass(frozen=True)
class Request:
    """One logged API request, classified."""

    verb: str  # one of COLUMNS
    resource: str  # e.g. "configmaps" ("" for discovery)
    name: str  # object name ("" for collections and discovery)


def classify(method: str, target: str) -> Request:
    """Classify a logged (method, path?query): a GET of a collection is LIST (WATCH with
    `watch=1`), a PATCH with `dryRun` is "PATCH dry-run", anything outside a resource path is
    "discovery" (/api, /apis, /openapi, /version)."""
    parts = urlsplit(target)
    query = parse_qs(parts.query)
    segs = [s for s in parts.path.split("/") if s]
    if segs[:1] == ["api"] and len(segs) >= 2:
        rest = segs[2:]
    elif segs[:1] == ["apis"] and len(segs) >= 3:
        rest = segs[3:]
    else:
        return Request("discovery", "", "")
    if not rest:
        return Request("discovery", "", "")
    if rest[0] == "namespaces" and len(rest) >= 3:
        rest = rest[2:]
    resource, name = rest[0], (rest[1] if len(rest) >= 2 else "")
    verb = method.upper()
    if verb == "GET" and not name:
        verb = "WATCH" if query.get("watch", ["0"])[0] in ("1", "true") else "LIST"
    elif verb == "PATCH" and "dryRun" in query:
        verb = "PATCH dry-run"
    return Request(verb, resource, name)


def is_release_object(req: Request) -> bool:
    """A request on one of the generated objects (app-NNN, app-NNN-config, app-NNN-secret), as
    opposed to history records, locks, namespaces, pods or discovery. Both tools create release
    objects with server-side apply (PATCH), so POSTs to a collection, which carry no name, are
    their release records (kdeploy's `kdeploy.<release>.vN`, helm's `sh.helm.release.v1.*`)."""
    return re.fullmatch(r"app-\d{3}(-config|-secret)?", req.name) is not None


@dataclass
class Step:
    """Figures of one command run: wall seconds and requests by verb (all, and on release
    objects only)."""

    wall: float
    verbs: Counter[str] = field(default_factory=Counter)
    object_verbs: Counter[str] = field(default_factory=Counter)
    error: str = ""
    spread: tuple[float, float] = (0.0, 0.0)  # fastest and slowest wall time over the runs

    @property
    def total(self) -> int:
        return sum(self.verbs.values())


def summarise(log: Sequence[tuple[str, str]], wall: float) -> Step:
    """The figures of one command from the requests it sent and its wall time."""
    step = Step(wall)
    for method, target in log:
        req = classify(method, target)
        step.verbs[req.verb] += 1
        if is_release_object(req):
            step.object_verbs[req.verb] += 1
    return step


# ---------------------------------------------------------------- projects


def write_kdeploy_project(root: Path, kubeconfig: str) -> None:
    """Package `bench` and environment `bench` with release `big` (BIG_APPS apps) in namespace
    kd-big and release `small` (SMALL_APPS apps) in kd-small."""
    pkg = root / "packages" / "bench"
    (pkg / "templates").mkdir(parents=True, exist_ok=True)
    (pkg / "package.yaml").write_text("name: bench\nversion: 1.0.0\ndescription: benchmark\n")
    (pkg / "values.yaml").write_text("apps: 1\nstamp: a\nstampApps: 0\n")
    (pkg / "templates" / "apps.yaml").write_text(KDEPLOY_TEMPLATE)
    (root / "environments").mkdir(exist_ok=True)
    (root / "environments" / "bench.yaml").write_text(
        f"cluster: {{kubeconfig: {kubeconfig}}}\n"
        "namespace: kd-big\n"
        "releases:\n"
        "  big:\n"
        "    package: bench\n"
        f"    values: {{apps: {BIG_APPS}}}\n"
        "  small:\n"
        "    package: bench\n"
        "    namespace: kd-small\n"
        f"    values: {{apps: {SMALL_APPS}}}\n"
    )


def write_helm_chart(root: Path) -> Path:
    """The Helm chart rendering the same objects as package `bench`; returns its directory."""
    chart = root / "chart"
    (chart / "templates").mkdir(parents=True, exist_ok=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: bench\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text("apps: 1\nstamp: a\nstampApps: 0\n")
    (chart / "templates" / "apps.yaml").write_text(HELM_TEMPLATE)
    return chart


# ---------------------------------------------------------------- running


class EmulatorRequests:
    """The requests an emulator received, from its own request log."""

    def __init__(self, emu: Any) -> None:
        self.emu = emu

    def mark(self) -> int:
        return int(self.emu.request_count)

    def since(self, mark: int) -> list[tuple[str, str]]:
        count = self.emu.request_count - mark
        return self.emu.request_log[-count:] if count else []


# audit verbs -> HTTP methods (classify() tells LIST and WATCH from GET by the URI)
AUDIT_METHODS = {
    "get": "GET",
    "list": "GET",
    "watch": "GET",
    "create": "POST",
    "update": "PUT",
    "patch": "PATCH",
    "delete": "DELETE",
    "deletecollection": "DELETE",
}
AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
"""


class AuditRequests:
    """The requests a real kube-apiserver received from the benchmark's user, read from its
    audit log (kwok, which shares the admin credentials, is told apart by its user agent; the
    controllers and the scheduler have their own users)."""

    def __init__(self, path: Path, user: str) -> None:
        self.path = path
        self.user = user

    def mark(self) -> int:
        time.sleep(0.5)  # let the server write the events of the requests before this point
        return self.path.stat().st_size if self.path.exists() else 0

    def since(self, mark: int) -> list[tuple[str, str]]:
        import json

        time.sleep(0.5)
        out: list[tuple[str, str]] = []
        with self.path.open("rb") as f:
            f.seek(mark)
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if (
                    event.get("stage") != "ResponseComplete"
                    or (event.get("user") or {}).get("username") != self.user
                    or str(event.get("userAgent", "")).startswith("kwok")
                ):
                    continue
                method = AUDIT_METHODS.get(str(event.get("verb")), str(event.get("verb")).upper())
                out.append((method, str(event.get("requestURI", ""))))
        return out


class Runner:
    """Runs commands against one cluster and records their requests."""

    def __init__(self, requests: Any, cwd: Path, env: dict[str, str]) -> None:
        self.requests = requests
        self.cwd = cwd
        self.env = env

    def run(self, cmd: Sequence[str], *, ok_codes: tuple[int, ...] = (0,)) -> Step:
        """Run `cmd` once; its wall time and the requests the cluster received meanwhile. A
        failing command gives a Step with `error` set (its last stderr line)."""
        before = self.requests.mark()
        start = time.perf_counter()
        proc = subprocess.run(
            list(cmd), cwd=self.cwd, env=self.env, capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - start
        step = summarise(self.requests.since(before), wall)
        if proc.returncode not in ok_codes:
            lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
            step.error = f"exit {proc.returncode}: " + (lines[-1] if lines else "(no output)")
            print(f"  FAILED {' '.join(cmd[-6:])}\n{proc.stderr[-2000:]}", file=sys.stderr)
        return step


def kdeploy_steps(r: Runner) -> Iterator[tuple[str, Step]]:
    """The kdeploy sequence; yields (step name, figures)."""
    kd = [*KDEPLOY, "-C", str(r.cwd)]
    big = ["-e", "bench", "big"]
    changed = ["--set", f"stampApps={CHANGED_APPS}"]
    # diff exits 2 when there are changes (with --detailed-exitcode); plain diff exits 0.
    yield "diff, first install", r.run([*kd, "diff", *big])
    yield "apply, first install (--no-wait)", r.run([*kd, "apply", *big, "--yes", "--no-wait"])
    yield "diff, no change", r.run([*kd, "diff", *big])
    yield "apply, no change (--no-wait)", r.run([*kd, "apply", *big, "--yes", "--no-wait"])
    yield "diff, 10% changed", r.run([*kd, "diff", *big, *changed])
    yield (
        "apply, 10% changed (--no-wait)",
        r.run([*kd, "apply", *big, *changed, "--yes", "--no-wait"]),
    )
    waited = ["--set", f"stampApps={CHANGED_APPS}", "--set", "stamp=b"]
    yield "apply, 10% changed, waiting for health", r.run([*kd, "apply", *big, *waited, "--yes"])
    everything = ["--set", f"stampApps={BIG_APPS}", "--set", "stamp=c"]
    yield (
        "apply, every object changed, waiting for health",
        r.run([*kd, "apply", *big, *everything, "--yes"]),
    )
    rb_big = [*kd, "rollback", "big", "-n", "kd-big", "--yes"]
    yield "rollback 200 objects, waiting for health", r.run(rb_big)
    small = ["-e", "bench", "small"]
    r.run([*kd, "apply", *small, "--yes", "--no-wait"])
    r.run([*kd, "apply", *small, "--set", f"stampApps={SMALL_APPS}", "--yes", "--no-wait"])
    rb = [*kd, "rollback", "small", "-n", "kd-small", "--yes"]
    # Start-up, client import and one LIST: the floor under every live command above.
    yield "history (start-up floor)", r.run([*kd, "history", "small", "-n", "kd-small"])
    yield "rollback 50 objects to 1 (--no-wait)", r.run([*rb, "--to", "1", "--no-wait"])
    yield "rollback 50 objects to 2, waiting for health", r.run([*rb, "--to", "2"])


def helm_steps(r: Runner, helm: str, chart: Path, kubeconfig: str) -> Iterator[tuple[str, Step]]:
    """The helm sequence (namespaces helm-big and helm-small); yields (step name, figures)."""
    base = [helm, "--kubeconfig", kubeconfig]
    big = ["upgrade", "--install", "big", str(chart), "-n", "helm-big"]
    apps = ["--set", f"apps={BIG_APPS}"]
    yield "upgrade --install, first install", r.run([*base, *big, *apps])
    yield "upgrade --install, no change", r.run([*base, *big, *apps])
    changed = ["--set", f"stampApps={CHANGED_APPS}"]
    yield "upgrade --install, 10% changed", r.run([*base, *big, *apps, *changed])
    waited = [*changed, "--set", "stamp=b", "--wait=watcher", "--timeout", "5m"]
    yield "upgrade --install, 10% changed, --wait=watcher", r.run([*base, *big, *apps, *waited])
    everything = ["--set", f"stampApps={BIG_APPS}", "--set", "stamp=c", "--wait=watcher"]
    yield (
        "upgrade --install, every object changed, --wait=watcher",
        r.run([*base, *big, *apps, *everything, "--timeout", "5m"]),
    )
    rb_big = [*base, "rollback", "big", "-n", "helm-big", "--wait=watcher", "--timeout", "5m"]
    yield "rollback 200 objects, --wait=watcher", r.run(rb_big)
    small = ["upgrade", "--install", "small", str(chart), "-n", "helm-small"]
    sapps = ["--set", f"apps={SMALL_APPS}"]
    r.run([*base, *small, *sapps])
    r.run([*base, *small, *sapps, "--set", f"stampApps={SMALL_APPS}"])
    rb = [*base, "rollback", "small", "-n", "helm-small"]
    yield "history (start-up floor)", r.run([*base, "history", "small", "-n", "helm-small"])
    yield "rollback 50 objects to 1", r.run([*rb, "1"])
    yield "rollback 50 objects to 2, --wait=watcher", r.run([*rb, "2", "--wait=watcher"])


def create_namespaces(kubeconfig: str, names: Sequence[str]) -> None:
    """Create the namespaces both tools deploy into (neither creates them during the runs)."""
    from kubernetes import client

    from kdeploy.kube.config import ClusterTarget, new_api_client

    api = client.CoreV1Api(new_api_client(ClusterTarget(kubeconfig=kubeconfig)))
    for name in names:
        api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))


@contextlib.contextmanager
def cluster(kind: str, workdir: Path) -> Iterator[tuple[str, Any]]:
    """A fresh cluster: (kubeconfig path, request source). `emulator`: an in-process emulator;
    `real`: a real control plane (tests/controlplane/launcher.py) with an audit log."""
    if kind == "emulator":
        from kdeploy.emulator.app import Emulator

        with Emulator() as emu:
            yield emu.kubeconfig_path, EmulatorRequests(emu)
        return
    from tests.controlplane.launcher import ControlPlane

    policy = workdir / "audit-policy.yaml"
    policy.write_text(AUDIT_POLICY)
    audit = workdir / "audit.log"
    args = (f"--audit-policy-file={policy}", f"--audit-log-path={audit}", "--audit-log-maxsize=0")
    with ControlPlane.start(apiserver_args=args) as cp:
        yield cp.kubeconfig_path, AuditRequests(audit, "kdeploy-admin")


def one_run(helm: str | None, kind: str = "emulator") -> dict[tuple[str, str], Step]:
    """One fresh cluster, the kdeploy then the helm sequence; figures by (tool, step)."""
    out: dict[tuple[str, str], Step] = {}
    with tempfile.TemporaryDirectory(prefix="kdeploy-live-bench-") as tmp:
        root = Path(tmp)
        with cluster(kind, root) as (kubeconfig, requests):
            proj = root / "project"
            write_kdeploy_project(proj, kubeconfig)
            home = root / "home"
            env = {
                **user_environ(),
                "NO_COLOR": "1",
                "HOME": str(home),
                "KUBECONFIG": kubeconfig,
                "XDG_CACHE_HOME": str(home / "cache"),
                "XDG_CONFIG_HOME": str(home / "config"),
                "XDG_DATA_HOME": str(home / "data"),
            }
            create_namespaces(kubeconfig, ["kd-big", "kd-small", "helm-big", "helm-small"])
            runner = Runner(requests, proj, env)
            for name, step in kdeploy_steps(runner):
                out[("kdeploy", name)] = step
                print(
                    f"  kdeploy {name}: {step.wall:.2f}s {dict(step.verbs)} {step.error}",
                    flush=True,
                )
            if helm:
                chart = write_helm_chart(root)
                for name, step in helm_steps(runner, helm, chart, kubeconfig):
                    out[("helm", name)] = step
                    print(
                        f"  helm {name}: {step.wall:.2f}s {dict(step.verbs)} {step.error}",
                        flush=True,
                    )
    return out


def median_steps(runs: list[dict[tuple[str, str], Step]]) -> dict[tuple[str, str], Step]:
    """Per (tool, step): median wall time and median count per verb; an error in any run wins."""
    merged: dict[tuple[str, str], Step] = {}
    for key in runs[0]:
        steps = [run[key] for run in runs if key in run]
        errors = [s.error for s in steps if s.error]
        walls = [s.wall for s in steps]
        step = Step(
            statistics.median(walls),
            error=errors[0] if errors else "",
            spread=(min(walls), max(walls)),
        )
        for attr in ("verbs", "object_verbs"):
            counter: Counter[str] = getattr(step, attr)
            for verb in {v for s in steps for v in getattr(s, attr)}:
                counter[verb] = round(statistics.median(getattr(s, attr)[verb] for s in steps))
        merged[key] = step
    return merged


# ---------------------------------------------------------------- report


def row(tool: str, name: str, step: Step) -> str:
    if step.error:
        return f"| {tool} | {name} | failed: {step.error.replace('|', '/')} |" + " |" * (
            len(COLUMNS) + 3
        )
    cells = [str(step.verbs.get(c, 0) or "") for c in COLUMNS]
    obj_writes = sum(step.object_verbs.get(v, 0) for v in WRITES)
    obj_reads = step.object_verbs.get("GET", 0)
    return (
        f"| {tool} | {name} | {step.wall:.2f} s | {step.spread[0]:.2f} to {step.spread[1]:.2f} s "
        f"| {step.total} | " + " | ".join(cells) + f" | {obj_writes} / {obj_reads} |"
    )


def ok(res: dict[tuple[str, str], Step], tool: str, name: str) -> Step | None:
    """The figures of a step that succeeded, else None."""
    step = res.get((tool, name))
    return step if step is not None and not step.error else None


def writes_of(step: Step, objects_only: bool = True) -> int:
    counter = step.object_verbs if objects_only else step.verbs
    return sum(counter.get(v, 0) for v in WRITES)


def interpretation(res: dict[tuple[str, str], Step]) -> list[str]:
    """Sentences comparing the figures with the issue's targets and with helm."""
    lines = []
    changed = CHANGED_APPS * OBJECTS_PER_APP
    floor = ok(res, "kdeploy", "history (start-up floor)")
    if ap := ok(res, "kdeploy", "apply, 10% changed (--no-wait)"):
        writes = writes_of(ap)
        reads = ap.object_verbs.get("GET", 0)
        dry = ap.verbs.get("PATCH dry-run", 0)
        constant = ap.total - dry - writes
        verdict = "meets" if dry + writes <= 2 * changed and reads == 0 else "misses"
        lines.append(
            f"- Apply of a change touching {changed} of {BIG_APPS * OBJECTS_PER_APP} objects: "
            f"{ap.total} requests: {dry} dry-run applies and {writes} writes of release objects, "
            f"{reads} per-object GETs, and {constant} others (LISTs, discovery, history, locks). "
            f"This {verdict} the target of at most 2 requests per changed object plus a constant."
        )
    for step in ("diff, no change", "apply, no change (--no-wait)"):
        if nd := ok(res, "kdeploy", step):
            verdict = "meets" if nd.total <= 10 else "misses"
            lines.append(
                f"- `{step.split(',')[0]}` with nothing to change: {nd.total} requests "
                f"({nd.verbs.get('PATCH dry-run', 0)} dry runs, {writes_of(nd)} writes to release "
                f"objects, {writes_of(nd, False) - writes_of(nd)} to its history and locks); this "
                f"{verdict} the target of at most 10."
            )
    kr = ok(res, "kdeploy", "rollback 200 objects, waiting for health")
    hr2 = ok(res, "helm", "rollback 200 objects, --wait=watcher")
    if kr and hr2:
        verdict = "faster" if kr.wall < hr2.wall else "slower"
        lines.append(
            f"- Rollback of 200 objects, waiting for health: kdeploy {kr.wall:.2f} s "
            f"({kr.total} requests), helm {hr2.wall:.2f} s ({hr2.total} requests): kdeploy is "
            f"{verdict} ({hr2.wall / kr.wall:.2f}x)."
        )
    if rb := ok(res, "kdeploy", "rollback 50 objects to 1 (--no-wait)"):
        verdict = "meets" if rb.wall < 2.0 else "misses"
        extra = ""
        if floor:
            extra = (
                f" Of that, {floor.wall:.2f} s is the floor of any live command on this machine "
                "(interpreter start-up and importing the `kubernetes` client, measured by "
                "`kdeploy history`), so the rollback itself takes about "
                f"{rb.wall - floor.wall:.2f} s."
            )
        lines.append(
            f"- Rollback of the 50-object release (every object changed): {rb.wall:.2f} s without "
            f"waiting, {writes_of(rb)} object writes; this {verdict} the target of under 2 s."
            + extra
        )
    if hr := ok(res, "helm", "rollback 50 objects to 1"):
        lines.append(
            f"- helm rollback of the same release: {hr.wall:.2f} s, {writes_of(hr)} object writes "
            f"and {hr.object_verbs.get('GET', 0)} object GETs (it reads each object before "
            "patching it)."
        )
    ka = ok(res, "kdeploy", "apply, first install (--no-wait)")
    ha = ok(res, "helm", "upgrade --install, first install")
    if ka and ha:
        lines.append(
            f"- First install of 200 objects: kdeploy {ka.wall:.2f} s and {ka.total} requests "
            "(a dry-run per object for the diff it shows, then one apply per object), helm "
            f"{ha.wall:.2f} s and {ha.total} requests (a GET per object, then one apply per "
            "object; no diff)."
        )
    kc = ok(res, "kdeploy", "apply, 10% changed (--no-wait)")
    hc = ok(res, "helm", "upgrade --install, 10% changed")
    if kc and hc:
        lines.append(
            f"- The 10% change: kdeploy writes {writes_of(kc)} objects in {kc.wall:.2f} s; helm "
            f"re-applies all {writes_of(hc)} objects in {hc.wall:.2f} s (and as many on an "
            "upgrade with no change at all)."
        )
    return lines


def helm_conformance(res: dict[tuple[str, str], Step], where: str = "the emulator") -> str:
    """What helm could and could not do against the cluster in these runs."""
    helm = [(name, step) for (tool, name), step in res.items() if tool == "helm"]
    if not helm:
        return "helm was not run (not found); only kdeploy's figures are shown."
    failed = [f"`{name}` ({step.error})" for name, step in helm if step.error]
    text = (
        f"helm against {where}: every helm step below ran to completion"
        if not failed
        else f"helm against {where}: these helm steps failed: " + "; ".join(failed)
    )
    return (
        text + ". helm has no counterpart of `kdeploy diff` (the helm-diff plugin is not part of "
        "helm), so the diff rows have no helm row."
    )


def report(
    res: dict[tuple[str, str], Step],
    helm: str | None,
    runs: int,
    load: str,
    kind: str = "emulator",
) -> str:
    helm_line = helm_version(helm) if helm else "helm not found (KDEPLOY_HELM unset)"
    begin, end = MARKERS[kind]
    title = "## Live operations: `kdeploy diff/apply/rollback` vs `helm upgrade/rollback`"
    where = "the emulator"
    if kind == "real":
        title += ", on a real API server"
        where = "the real API server"
    lines = [
        begin,
        title,
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()}; {load}; {helm_line}; median of {runs} "
        f"runs, each against {CLUSTERS[kind]} (`benchmarks/live.py --cluster {kind}`). Each app "
        "is a ServiceAccount, ConfigMap, Secret, Service and Deployment; the 200-object release "
        f"has {BIG_APPS} apps, the 50-object one {SMALL_APPS}. The change sets a label (and a pod "
        f"template annotation) on the objects of {CHANGED_APPS} apps: {CHANGED_APPS * 5} objects, "
        "10%. The 50-object rollbacks go back over a revision that changed all 50 objects; the "
        "200-object rollback undoes a change of every object. Wall time includes "
        "process start-up; *range* is the fastest and slowest run. Requests are read from "
        f"{REQUEST_SOURCES[kind]} (medians; they hardly vary). *object W / R*: writes and "
        "GETs of release objects, i.e. not counting history records, locks, namespaces and "
        f"discovery. {READINESS[kind]} kdeploy steps "
        "use `--no-wait` unless they say they wait; helm 4 does not wait by default "
        "(`--wait=hookOnly`), its waiting rows use `--wait=watcher`.",
        "",
        helm_conformance(res, where),
        "",
        "| tool | step | wall | range | requests | " + " | ".join(COLUMNS) + " | object W / R |",
        "|---|---|---:|---:|---:|" + "---:|" * len(COLUMNS) + "---:|",
    ]
    for (tool, name), step in res.items():
        lines.append(row(tool, name, step))
    lines += ["", *interpretation(res), "", end]
    return "\n".join(lines)


def write_doc(section: str, kind: str = "emulator") -> None:
    """Replace this benchmark's section of docs/performance.md, keeping the others."""
    write_section(section, *MARKERS[kind])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-helm", action="store_true", help="kdeploy only")
    parser.add_argument(
        "--cluster",
        choices=sorted(MARKERS),
        default="emulator",
        help="the built-in emulator (default), or a real control plane built from "
        "tests/controlplane (needs Go the first time; see docs/testing.md)",
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print, do not update docs/performance.md"
    )
    args = parser.parse_args()
    helm = None
    if not args.no_helm:
        helm = os.environ.get("KDEPLOY_HELM") or shutil.which("helm")
        if not helm or not Path(helm).exists():
            raise SystemExit("helm not found: run `make tools`, set KDEPLOY_HELM or pass --no-helm")
    results = []
    before = os.getloadavg()[0]
    for i in range(args.runs):
        print(f"run {i + 1}/{args.runs}", flush=True)
        results.append(one_run(helm, args.cluster))
    load = load_note(before, os.getloadavg()[0])
    section = report(median_steps(results), helm, args.runs, load, args.cluster)
    print(section)
    if not args.no_write:
        write_doc(section, args.cluster)
        print(f"wrote {PERF_DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
