"""Render benchmark: `kdeploy render` against `helm template` on the same generated apps.

Two workloads. *realistic* (benchmarks/render_realistic.py): production-sized apps of 6 objects
(ConfigMap with multi-line files, a two-container Deployment with many env vars, probes and volumes,
Service, Ingress with several hosts and TLS, HPA, PDB), at 1, 50, 200 and 1,000 apps, against one
umbrella `helm template`. *helm-create*: N apps of a `helm create`-style web app (ServiceAccount,
Service, Deployment, Ingress, HPA and a test Pod: 6 objects per app). Each workload is generated
twice: as one kdeploy package with N releases in an environment, and as a Helm umbrella chart with N
subcharts (plus, for helm-create, the N single charts for one-`helm template`-per-app runs). Measures wall time (median of several runs) and peak memory of each, and `kdeploy --help` cold
start, then writes the figures to docs/performance.md between this benchmark's markers.

Run with `make bench` (fetches helm into .tools/ first) or
`KDEPLOY_HELM=/path/to/helm .venv/bin/python benchmarks/render.py [--workload realistic] [--apps 1,200] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import render_realistic  # noqa: E402
from benchmarks.common import (  # noqa: E402
    PERF_DOC,
    load_note,
    machine,
    user_environ,
    write_section,
)

BEGIN = "<!-- BEGIN render-benchmark -->"
END = "<!-- END render-benchmark -->"
KDEPLOY = [sys.executable, "-m", "kdeploy.cli"]
DEFAULT_APPS = {"realistic": "1,50,200,1000", "helm-create": "1,10,50,200"}

PACKAGE_YAML = """\
name: app
version: 0.1.0
description: A helm-create-style web app, for benchmarks.
"""

VALUES_YAML = """\
replicaCount: 1
image:
  repository: nginx
  pullPolicy: IfNotPresent
  tag: "1.27.3"
serviceAccount:
  create: true
  automount: true
  annotations: {}
podAnnotations: {}
podLabels: {}
podSecurityContext:
  runAsNonRoot: true
securityContext: {}
service:
  type: ClusterIP
  port: 80
ingress:
  enabled: true
  className: nginx
  annotations: {}
  hosts:
    - host: chart-example.local
      paths:
        - path: /
          pathType: ImplementationSpecific
resources:
  requests: {cpu: 100m, memory: 128Mi}
  limits: {cpu: 500m, memory: 256Mi}
livenessProbe:
  httpGet:
    path: /
    port: http
readinessProbe:
  httpGet:
    path: /
    port: http
autoscaling:
  enabled: true
  minReplicas: 1
  maxReplicas: 100
  targetCPUUtilizationPercentage: 80
nodeSelector: {}
tolerations: []
affinity: {}
"""

HELPERS = """\
{% macro labels(release, package) -%}
app.kubernetes.io/version: {{ package.version | quote }}
helm.sh/chart: {{ package.name }}-{{ package.version }}
{{ selector(release, package) }}
{%- endmacro %}
{% macro selector(release, package) -%}
app.kubernetes.io/name: {{ package.name }}
app.kubernetes.io/instance: {{ release.name }}
{%- endmacro %}
"""

TEMPLATES = {
    "serviceaccount.yaml": """\
{% import "_helpers.j2" as h %}
{% if values.serviceAccount.create %}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ release.name }}
  labels:
    {{ h.labels(release, package) | indent(4) }}
{% if values.serviceAccount.annotations %}
  annotations:
{{ values.serviceAccount.annotations | toyaml(indent=4, first=True) }}
{% endif %}
automountServiceAccountToken: {{ values.serviceAccount.automount | tojson }}
{% endif %}
""",
    "service.yaml": """\
{% import "_helpers.j2" as h %}
apiVersion: v1
kind: Service
metadata:
  name: {{ release.name }}
  labels:
    {{ h.labels(release, package) | indent(4) }}
spec:
  type: {{ values.service.type }}
  ports:
    - port: {{ values.service.port }}
      targetPort: http
      protocol: TCP
      name: http
  selector:
    {{ h.selector(release, package) | indent(4) }}
""",
    "deployment.yaml": """\
{% import "_helpers.j2" as h %}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ release.name }}
  labels:
    {{ h.labels(release, package) | indent(4) }}
spec:
{% if not values.autoscaling.enabled %}
  replicas: {{ values.replicaCount }}
{% endif %}
  selector:
    matchLabels:
      {{ h.selector(release, package) | indent(6) }}
  template:
    metadata:
{% if values.podAnnotations %}
      annotations:
{{ values.podAnnotations | toyaml(indent=8, first=True) }}
{% endif %}
      labels:
        {{ h.labels(release, package) | indent(8) }}
{% if values.podLabels %}
{{ values.podLabels | toyaml(indent=8, first=True) }}
{% endif %}
    spec:
      serviceAccountName: {{ release.name }}
{% if values.podSecurityContext %}
      securityContext:
{{ values.podSecurityContext | toyaml(indent=8, first=True) }}
{% endif %}
      containers:
        - name: {{ package.name }}
{% if values.securityContext %}
          securityContext:
{{ values.securityContext | toyaml(indent=12, first=True) }}
{% endif %}
          image: "{{ values.image.repository }}:{{ values.image.tag }}"
          imagePullPolicy: {{ values.image.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ values.service.port }}
              protocol: TCP
          livenessProbe:
{{ values.livenessProbe | toyaml(indent=12, first=True) }}
          readinessProbe:
{{ values.readinessProbe | toyaml(indent=12, first=True) }}
          resources:
{{ values.resources | toyaml(indent=12, first=True) }}
{% if values.nodeSelector %}
      nodeSelector:
{{ values.nodeSelector | toyaml(indent=8, first=True) }}
{% endif %}
{% if values.tolerations %}
      tolerations:
{{ values.tolerations | toyaml(indent=8, first=True) }}
{% endif %}
""",
    "ingress.yaml": """\
{% import "_helpers.j2" as h %}
{% if values.ingress.enabled %}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ release.name }}
  labels:
    {{ h.labels(release, package) | indent(4) }}
{% if values.ingress.annotations %}
  annotations:
{{ values.ingress.annotations | toyaml(indent=4, first=True) }}
{% endif %}
spec:
  ingressClassName: {{ values.ingress.className }}
  rules:
{% for host in values.ingress.hosts %}
    - host: {{ host.host | quote }}
      http:
        paths:
{% for path in host.paths %}
          - path: {{ path.path }}
            pathType: {{ path.pathType }}
            backend:
              service:
                name: {{ release.name }}
                port:
                  number: {{ values.service.port }}
{% endfor %}
{% endfor %}
{% endif %}
""",
    "hpa.yaml": """\
{% import "_helpers.j2" as h %}
{% if values.autoscaling.enabled %}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ release.name }}
  labels:
    {{ h.labels(release, package) | indent(4) }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ release.name }}
  minReplicas: {{ values.autoscaling.minReplicas }}
  maxReplicas: {{ values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ values.autoscaling.targetCPUUtilizationPercentage }}
{% endif %}
""",
    "test-connection.yaml": """\
{% import "_helpers.j2" as h %}
apiVersion: v1
kind: Pod
metadata:
  name: {{ release.name }}-test-connection
  labels:
    {{ h.labels(release, package) | indent(4) }}
spec:
  containers:
    - name: wget
      image: busybox:1.37
      command: ['wget']
      args: ['{{ release.name }}:{{ values.service.port }}']
  restartPolicy: Never
""",
}

# The same overrides for every app on both sides: what an environment overlay would set.
PROD_OVERRIDES = {"image": {"tag": "1.27.3"}, "autoscaling": {"maxReplicas": 20}}


@dataclass
class Sample:
    """Median wall time (s), CPU time (user + system, s) and peak RSS (MiB) of repeated runs of
    one command."""

    wall: float
    peak_mib: float
    objects: int
    cpu: float = 0.0


def run_measured(
    cmd: Sequence[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float, str, float]:
    """Run a command once; return (wall seconds, peak RSS MiB of that process, stdout, CPU
    seconds)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode != 0:
            raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err}")
        out.seek(0)
        text = out.read().decode()
    return wall, usage.ru_maxrss / 1024, text, usage.ru_utime + usage.ru_stime


def count_objects(text: str) -> int:
    """Number of YAML documents that hold a `kind:` at top level."""
    return len(re.findall(r"^kind: ", text, flags=re.M))


def median_of(
    runs: int, cmd: Sequence[str], cwd: Path, env: dict[str, str] | None = None
) -> Sample:
    """Run `cmd` `runs` times (after one warm-up) and return the medians."""
    run_measured(cmd, cwd, env)
    walls, peaks, cpus, objects = [], [], [], 0
    for _ in range(runs):
        wall, peak, text, cpu = run_measured(cmd, cwd, env)
        walls.append(wall)
        peaks.append(peak)
        cpus.append(cpu)
        objects = count_objects(text)
    return Sample(
        statistics.median(walls), statistics.median(peaks), objects, statistics.median(cpus)
    )


def write_kdeploy_project(root: Path, apps: int) -> None:
    """A project with one package and a `prod` environment holding `apps` releases."""
    pkg = root / "packages" / "app"
    (pkg / "templates").mkdir(parents=True)
    (pkg / "package.yaml").write_text(PACKAGE_YAML)
    (pkg / "values.yaml").write_text(VALUES_YAML)
    (pkg / "templates" / "_helpers.j2").write_text(HELPERS)
    for name, text in TEMPLATES.items():
        (pkg / "templates" / name).write_text(text)
    envs = root / "environments"
    envs.mkdir()
    lines = [
        "cluster: {context: bench}",
        "namespace: bench",
        "values:",
        "  image:",
        '    tag: "1.27.3"',
        "releases:",
    ]
    for i in range(apps):
        lines += [
            f"  app-{i:03d}:",
            "    package: app",
            "    values:",
            "      autoscaling:",
            "        maxReplicas: 20",
        ]
    (envs / "prod.yaml").write_text("\n".join(lines) + "\n")


def write_helm_charts(root: Path, helm: str, apps: int) -> tuple[Path, list[Path]]:
    """An umbrella chart with `apps` subcharts, and the same apps as standalone charts."""
    base = root / "base"
    home = root / "home"
    home.mkdir()
    env = {
        **user_environ(),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
    }
    subprocess.run([helm, "create", str(base)], check=True, capture_output=True, env=env)
    values = (base / "values.yaml").read_text()
    values = values.replace("repository: nginx", "repository: nginx")
    values = re.sub(r'(?m)^  tag: ""', '  tag: "1.27.3"', values)
    values = re.sub(r"(?ms)^ingress:\n  enabled: false", "ingress:\n  enabled: true", values)
    values = re.sub(
        r"(?ms)^autoscaling:\n  enabled: false", "autoscaling:\n  enabled: true", values
    )
    values = values.replace(
        "resources: {}",
        "resources:\n  requests: {cpu: 100m, memory: 128Mi}\n  limits: {cpu: 500m, memory: 256Mi}",
    )
    (base / "values.yaml").write_text(values)
    umbrella = root / "umbrella"
    (umbrella / "charts").mkdir(parents=True)
    (umbrella / "Chart.yaml").write_text("apiVersion: v2\nname: umbrella\nversion: 0.1.0\n")
    overrides = []
    singles = []
    for i in range(apps):
        name = f"app-{i:03d}"
        dest = umbrella / "charts" / name
        shutil.copytree(base, dest)
        chart = (dest / "Chart.yaml").read_text()
        (dest / "Chart.yaml").write_text(re.sub(r"(?m)^name: .*$", f"name: {name}", chart))
        overrides.append(f"{name}:\n  autoscaling:\n    maxReplicas: 20\n")
        singles.append(dest)
    (umbrella / "values.yaml").write_text("".join(overrides))
    return umbrella, singles


def helm_env(root: Path) -> dict[str, str]:
    home = root / "home"
    return {
        **user_environ(),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
    }


def time_per_app_helm(helm: str, singles: list[Path], env: dict[str, str], runs: int) -> float:
    """Median wall time of running `helm template` once per app, sequentially."""
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        for chart in singles:
            subprocess.run(
                [helm, "template", chart.name, str(chart), "--set", "autoscaling.maxReplicas=20"],
                check=True,
                capture_output=True,
                env=env,
            )
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def helm_version(helm: str) -> str:
    out = subprocess.run([helm, "version", "--short"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def cold_start(runs: int) -> float:
    """Median wall time of `kdeploy --help` in a fresh interpreter."""
    exe = shutil.which("kdeploy", path=str(Path(sys.executable).parent)) or "kdeploy"
    walls = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        subprocess.run([exe, "--help"], check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls[1:])


def _table(rows: list[dict[str, float]], per_app: bool) -> list[str]:
    head = "| apps | objects | kdeploy render | helm template (umbrella) | ratio kdeploy/umbrella |"
    rule = "|---:|---:|---:|---:|---:|"
    if per_app:
        head += " helm template per app (sum) | speed-up vs per app |"
        rule += "---:|---:|"
    head += " kdeploy CPU | helm CPU | ratio (CPU) | kdeploy peak MiB | helm umbrella peak MiB |"
    rule += "---:|---:|---:|---:|---:|"
    lines = [head, rule]
    for r in rows:
        line = (
            f"| {r['apps']:.0f} | {r['objects']:.0f} | {r['kdeploy']:.3f} s | {r['helm']:.3f} s | "
            f"{r['kdeploy'] / r['helm']:.2f}x |"
        )
        if per_app:
            line += f" {r['per_app']:.2f} s | {r['per_app'] / r['kdeploy']:.1f}x |"
        line += (
            f" {r['kdeploy_cpu']:.3f} s | {r['helm_cpu']:.3f} s | "
            f"{r['kdeploy_cpu'] / r['helm_cpu']:.2f}x | {r['kdeploy_mib']:.0f} | {r['helm_mib']:.0f} |"
        )
        lines.append(line)
    if len(rows) >= 2:
        lo, hi = rows[0], rows[-1]
        k_cost = (hi["kdeploy"] - lo["kdeploy"]) / max(hi["objects"] - lo["objects"], 1) * 1000
        h_cost = (hi["helm"] - lo["helm"]) / max(hi["objects"] - lo["objects"], 1) * 1000
        lines += [
            "",
            f"Steady cost per object (slope between {lo['apps']:.0f} and {hi['apps']:.0f} apps): "
            f"kdeploy {k_cost:.2f} ms, helm {h_cost:.2f} ms (ratio {k_cost / h_cost:.2f}x).",
        ]
    return lines


def report(
    tables: dict[str, list[dict[str, float]]],
    startup: float,
    helm: str,
    runs: int,
    load: tuple[float, float],
) -> str:
    lines = [
        BEGIN,
        "## Render: `kdeploy render` vs `helm template`",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()}; {load_note(*load)}; "
        f"{helm_version(helm)}; median of {runs} runs after one warm-up; peak memory is the "
        "process's max RSS, CPU is its user + system time (less inflated than wall time when other work shares the cores; helm's Go runtime uses both cores, kdeploy one). Both tools ran in the same run, one after the other for each size. "
        "Reproduce with `make bench`.",
    ]
    if "realistic" in tables:
        lines += [
            "",
            "### Realistic apps",
            "",
            "Each app is a production-sized web app (benchmarks/render_realistic.py): a ConfigMap "
            "with three multi-line files, a Deployment with two containers (24 env vars, three "
            "probes, resources, security contexts, five volumes, affinity, topology spread), a "
            "Service, an Ingress with four hosts and TLS, an HPA with two metrics and scaling "
            "behaviour, a PodDisruptionBudget: 6 objects, about 2.2 KB of YAML each. kdeploy "
            "renders one package for N releases of an environment; helm one umbrella chart with N "
            "subcharts, from the same values.yaml and templates that do the same work.",
            "",
            *_table(tables["realistic"], per_app=False),
        ]
    if "helm-create" in tables:
        lines += [
            "",
            "### `helm create`-style apps",
            "",
            "Each app is a `helm create`-style web app with ingress and autoscaling enabled "
            "(ServiceAccount, Service, Deployment, Ingress, HPA, test Pod: 6 small objects).",
            "",
            *_table(tables["helm-create"], per_app=True),
        ]
    lines += [
        "",
        f"`kdeploy --help` cold start: {startup * 1000:.0f} ms (median of {runs}).",
        "",
        "Targets (issue 10): on realistic apps at most 1.0x one umbrella `helm template` at 200 "
        "and 1,000 apps and at most 2x for a single app, peak memory below helm's.",
        END,
    ]
    return "\n".join(lines)


def write_doc(section: str) -> None:
    """Replace this benchmark's section of docs/performance.md, keeping the others."""
    write_section(section, BEGIN, END)


def measure(workload: str, apps: int, helm: str, runs: int, per_app_runs: int) -> dict[str, float]:
    """One size of one workload: both tools, medians of `runs`, from the same generated apps."""
    with tempfile.TemporaryDirectory(prefix="kdeploy-bench-") as tmp:
        root = Path(tmp)
        proj = root / "project"
        proj.mkdir()
        realistic = workload == "realistic"
        if realistic:
            render_realistic.write_kdeploy_project(proj, apps)
            umbrella, singles = render_realistic.write_helm_charts(root, helm, apps)
        else:
            write_kdeploy_project(proj, apps)
            umbrella, singles = write_helm_charts(root, helm, apps)
        env = helm_env(root)
        kd = median_of(runs, [*KDEPLOY, "render", "-e", "prod"], proj)
        hm = median_of(runs, [helm, "template", "rel", str(umbrella)], root, env)
        if realistic and (kd.objects != 6 * apps or hm.objects != 6 * apps):
            raise SystemExit(
                f"expected {6 * apps} objects, kdeploy {kd.objects}, helm {hm.objects}"
            )
        per_app = 0.0 if realistic else time_per_app_helm(helm, singles, env, per_app_runs)
    print(
        f"{workload} {apps:5d} apps: kdeploy {kd.wall:.3f}s ({kd.objects} objects, "
        f"{kd.peak_mib:.0f} MiB, {kd.cpu:.3f}s CPU) helm umbrella {hm.wall:.3f}s ({hm.objects} objects, "
        f"{hm.peak_mib:.0f} MiB, {hm.cpu:.3f}s CPU)"
        + ("" if realistic else f" helm per app {per_app:.2f}s"),
        flush=True,
    )
    return {
        "apps": apps,
        "objects": kd.objects,
        "helm_objects": hm.objects,
        "kdeploy": kd.wall,
        "helm": hm.wall,
        "per_app": per_app,
        "kdeploy_mib": kd.peak_mib,
        "helm_mib": hm.peak_mib,
        "kdeploy_cpu": kd.cpu,
        "helm_cpu": hm.cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workload",
        choices=["realistic", "helm-create", "both"],
        default="both",
        help="which apps to render (default: both tables)",
    )
    parser.add_argument(
        "--apps", default=None, help="comma-separated app counts (default per workload)"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--per-app-runs", type=int, default=1, help="runs of the one-helm-per-app loop"
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print, do not update docs/performance.md"
    )
    args = parser.parse_args()
    helm = os.environ.get("KDEPLOY_HELM") or shutil.which("helm")
    if not helm or not Path(helm).exists():
        raise SystemExit("helm not found: run `make tools` or set KDEPLOY_HELM")
    workloads = ["realistic", "helm-create"] if args.workload == "both" else [args.workload]
    load_before = os.getloadavg()[0]
    tables: dict[str, list[dict[str, float]]] = {}
    for workload in workloads:
        sizes = args.apps or DEFAULT_APPS[workload]
        tables[workload] = [
            measure(workload, int(a), helm, args.runs, args.per_app_runs) for a in sizes.split(",")
        ]
    section = report(
        tables, cold_start(args.runs), helm, args.runs, (load_before, os.getloadavg()[0])
    )
    print(section)
    if not args.no_write:
        write_doc(section)
        print(f"wrote {PERF_DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
