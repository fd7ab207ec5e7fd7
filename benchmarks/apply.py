"""Apply benchmark: wall time and API requests of `kdeploy apply` and `kdeploy rollback` for a
200-object release with `--concurrency 1` (one object at a time) against the default 8 (objects of
one install phase sent at once), against the built-in emulator.

The release has 40 apps of 5 objects (ServiceAccount, ConfigMap, Secret, Service, Deployment).
Steps per setting, each in a fresh namespace: install (200 creates), update (a value that changes
every object) and rollback to revision 1 (every object changed back). kdeploy runs as a separate
process (start-up included, as for a user) with `--no-wait`, so the figures are about sending the
changes, not about the emulator's simulated rollout. Requests come from the emulator's request log.

Run: `.venv/bin/python benchmarks/apply.py [--runs 3] [--latency 0.005,0.02] [--no-write]`. `--latency`
adds that many seconds to every request (a real API server is not on loopback); the figures are
written to docs/performance.md between this benchmark's markers. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import write_section  # noqa: E402

BEGIN = "<!-- BEGIN apply-benchmark -->"
END = "<!-- END apply-benchmark -->"
KDEPLOY = [sys.executable, "-m", "kdeploy.cli"]
APPS = 40
WRITES = ("PATCH", "POST", "PUT", "DELETE")

TEMPLATE = """\
{% for i in range(values.apps) %}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app-{{ i }}
  labels: {version: "{{ values.version }}"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-{{ i }}
data:
  version: "{{ values.version }}"
---
apiVersion: v1
kind: Secret
metadata:
  name: app-{{ i }}
stringData:
  token: "t-{{ i }}-{{ values.version }}"
---
apiVersion: v1
kind: Service
metadata:
  name: app-{{ i }}
  labels: {version: "{{ values.version }}"}
spec:
  selector: {app: app-{{ i }}}
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{{ i }}
spec:
  replicas: 1
  selector:
    matchLabels: {app: app-{{ i }}}
  template:
    metadata:
      labels: {app: app-{{ i }}, version: "{{ values.version }}"}
    spec:
      serviceAccountName: app-{{ i }}
      containers:
      - name: app
        image: nginx:1.27
{% endfor %}
"""


@dataclass(frozen=True)
class Step:
    wall: float
    requests: int
    writes: int
    dry_runs: int


def write_project(root: Path, kubeconfig: str, namespaces: dict[str, str]) -> None:
    """Package `bench` and one environment per setting (name -> namespace)."""
    pkg = root / "packages" / "bench"
    (pkg / "templates").mkdir(parents=True)
    (pkg / "package.yaml").write_text("name: bench\nversion: 1.0.0\n")
    (pkg / "values.yaml").write_text(f"apps: {APPS}\nversion: '1'\n")
    (pkg / "templates" / "objects.yaml").write_text(TEMPLATE)
    (root / "environments").mkdir()
    for env, namespace in namespaces.items():
        (root / "environments" / f"{env}.yaml").write_text(
            f"cluster:\n  kubeconfig: {kubeconfig}\nnamespace: {namespace}\n"
            "releases:\n  bench:\n    package: bench\n"
        )


def run(emu: Any, root: Path, args: list[str]) -> Step:
    before = len(emu.request_log)
    started = time.perf_counter()
    proc = subprocess.run(
        [*KDEPLOY, "-C", str(root), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG": os.devnull},
        timeout=600,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"kdeploy {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    log = emu.request_log[before:]
    dry = [(m, p) for m, p in log if "dryRun=" in p]
    methods = Counter(m for m, p in log if "dryRun=" not in p)
    return Step(wall, len(log), sum(methods[m] for m in WRITES), len(dry))


Key = tuple[float, int, str]


def one_run(latency: float, concurrencies: list[int]) -> dict[Key, Step]:
    from kubernetes import client, config

    from kdeploy.emulator.app import Emulator
    from kdeploy.emulator.types import ControllerKnobs, FaultRule

    results: dict[Key, Step] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        Emulator(knobs=ControllerKnobs(ready_delay=0.05)) as emu,
    ):
        if latency:
            emu.add_fault(FaultRule(action="latency", delay=latency, times=None))
        namespaces = {f"c{c}": f"bench-c{c}" for c in concurrencies}
        api = config.new_client_from_config(emu.kubeconfig_path)
        for ns in namespaces.values():
            client.CoreV1Api(api).create_namespace({"metadata": {"name": ns}})
        api.close()
        root = Path(tmp) / "project"
        write_project(root, emu.kubeconfig_path, namespaces)
        for c in concurrencies:
            common = ["--yes", "--no-wait", "--concurrency", str(c)]
            env = ["-e", f"c{c}"]
            results[(latency, c, "install")] = run(emu, root, ["apply", *env, *common])
            results[(latency, c, "update")] = run(
                emu, root, ["apply", *env, *common, "--set", "version=2"]
            )
            results[(latency, c, "rollback")] = run(
                emu, root, ["rollback", "bench", *env, "--to", "1", *common]
            )
    return results


def median(runs: list[dict[Key, Step]]) -> dict[Key, Step]:
    out = {}
    for key in runs[0]:
        steps = [r[key] for r in runs]
        out[key] = Step(
            statistics.median(s.wall for s in steps),
            int(statistics.median(s.requests for s in steps)),
            int(statistics.median(s.writes for s in steps)),
            int(statistics.median(s.dry_runs for s in steps)),
        )
    return out


def report(res: dict[Key, Step], runs: int) -> str:
    latencies = sorted({lat for lat, _, _ in res})
    settings = sorted({c for _, c, _ in res})
    lines = [
        BEGIN,
        "## Apply and rollback: `--concurrency 1` against the default 8",
        "",
        f"A release of {APPS * 5} objects ({APPS} apps x ServiceAccount, ConfigMap, Secret, "
        "Service, Deployment) against the built-in emulator, `--no-wait`, kdeploy as a separate "
        f"process (start-up included), median of {runs} runs. Each step runs in its own "
        "namespace: install (200 creates), update (a value that changes every object), "
        "rollback to revision 1 (every object changed back). The emulator adds a fixed delay to "
        "every request (fault injection) to stand in for the network round trip to a real API "
        f"server. {platform.system()} {platform.machine()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs shared by kdeploy and the emulator. Produced by "
        "`benchmarks/apply.py`.",
        "",
        "| added latency | step | concurrency | wall time | API requests "
        "| dry-run applies (diff) | writes |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for lat in latencies:
        for step in ("install", "update", "rollback"):
            for c in settings:
                s = res[(lat, c, step)]
                lines.append(
                    f"| {lat * 1000:.0f} ms | {step} | {c} | {s.wall:.2f} s | {s.requests} "
                    f"| {s.dry_runs} | {s.writes} |"
                )
    lines.append("")
    if len(settings) >= 2:
        lo, hi = settings[0], settings[-1]
        for lat in latencies:
            parts = []
            for step in ("install", "update", "rollback"):
                a, b = res[(lat, lo, step)], res[(lat, hi, step)]
                parts.append(f"{step} {a.wall / b.wall:.1f}x")
            lines.append(
                f"- Speed-up of `--concurrency {hi}` over `{lo}` at {lat * 1000:.0f} ms: "
                + ", ".join(parts)
                + "."
            )
        spread = max(
            abs(res[(lat, lo, step)].requests - res[(lat, hi, step)].requests)
            for lat in latencies
            for step in ("install", "update", "rollback")
        )
        lines += [
            f"- Request counts do not depend on the concurrency (they differ by at most {spread}, "
            "a lock renewal): each object is written at most once either way, only the waits for "
            "the answers overlap, so the API server gets the same work, sooner.",
            "- What concurrency removes is waiting on round trips, so the gain grows with the "
            "latency. The rest of the wall time is CPU (rendering, diffing, the emulator itself, "
            "all Python on the same few cores here), which threads do not shorten; against a "
            "real API server that CPU is on another machine. Phases still run one after another "
            "(namespaces, CRDs, RBAC, configuration, volume claims, services, workloads, the "
            "rest), and the diff's dry-run applies run in parallel with either setting.",
            "",
        ]
    lines.append(END)
    return "\n".join(lines)


def write_doc(section: str) -> None:
    """Replace this benchmark's section of docs/performance.md, keeping the others."""
    write_section(section, BEGIN, END)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--latency", default="0.005,0.02", help="seconds added per request (comma-separated)"
    )
    parser.add_argument("--concurrency", default="1,8", help="settings to compare")
    parser.add_argument("--no-write", action="store_true", help="print, do not update the doc")
    args = parser.parse_args()
    settings = [int(c) for c in args.concurrency.split(",")]
    latencies = [float(x) for x in args.latency.split(",")]
    runs = []
    for _ in range(args.runs):
        merged: dict[Key, Step] = {}
        for latency in latencies:
            merged.update(one_run(latency, settings))
        runs.append(merged)
    section = report(median(runs), args.runs)
    print(section)
    if not args.no_write:
        write_doc(section)


if __name__ == "__main__":
    main()
