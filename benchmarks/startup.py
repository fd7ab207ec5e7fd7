"""Start-up benchmark: the read-only live commands of kdeploy and helm against the emulator.

One in-process emulator; kdeploy applies release `small` (50 objects, benchmarks/live.py) to
namespace kd-small and helm installs the same objects as release `small` in helm-small. Then each
of `history`, `get values` and `status` runs several times per tool, each in a fresh process: the
median wall time and CPU time (user + system, which other work on the machine inflates less than
wall time) are the fixed cost every live command pays before and around its first request. The
interpreter alone (`python -c pass`) and `kdeploy --version` (no client import) are the floors.

Run with `KDEPLOY_HELM=/path/to/helm .venv/bin/python benchmarks/startup.py [--runs 7]`; writes
its section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import load_note, machine, user_environ, write_section  # noqa: E402
from benchmarks.live import (  # noqa: E402
    KDEPLOY,
    SMALL_APPS,
    create_namespaces,
    write_helm_chart,
    write_kdeploy_project,
)
from benchmarks.render import helm_version  # noqa: E402

BEGIN = "<!-- BEGIN startup-benchmark -->"
END = "<!-- END startup-benchmark -->"
STEPS = ("history", "get values", "status")


def timed(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `cmd`; fails loudly when it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err}")
    return wall, usage.ru_utime + usage.ru_stime


def medians(runs: int, cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Median wall and CPU seconds of `runs` runs after one warm-up."""
    timed(cmd, cwd, env)
    samples = [timed(cmd, cwd, env) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def measure(helm: str, runs: int) -> dict[tuple[str, str], tuple[float, float]]:
    from kdeploy.emulator.app import Emulator

    out: dict[tuple[str, str], tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="kdeploy-startup-") as tmp, Emulator() as emu:
        root = Path(tmp)
        proj = root / "project"
        write_kdeploy_project(proj, emu.kubeconfig_path)
        home = root / "home"
        env = {
            **user_environ(),
            "NO_COLOR": "1",
            "HOME": str(home),
            "KUBECONFIG": emu.kubeconfig_path,
            "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
        }
        create_namespaces(emu.kubeconfig_path, ["kd-small", "helm-small"])
        kd = [*KDEPLOY, "-C", str(proj)]
        timed([*kd, "apply", "-e", "bench", "small", "--yes", "--no-wait"], proj, env)
        chart = write_helm_chart(root)
        timed(
            [
                helm,
                "install",
                "small",
                str(chart),
                "-n",
                "helm-small",
                "--set",
                f"apps={SMALL_APPS}",
            ],
            root,
            env,
        )
        out[("python", "interpreter (python -c pass)")] = medians(
            runs, [sys.executable, "-c", "pass"], proj, env
        )
        out[("kdeploy", "--version")] = medians(runs, [*kd, "--version"], proj, env)
        for step in STEPS:
            words = step.split()
            out[("kdeploy", step)] = medians(
                runs, [*kd, *words, "small", "-n", "kd-small"], proj, env
            )
            out[("helm", step)] = medians(
                runs, [helm, *words, "small", "-n", "helm-small"], root, env
            )
            k, h = out[("kdeploy", step)], out[("helm", step)]
            print(f"{step}: kdeploy {k[0]:.3f}s ({k[1]:.3f} CPU) helm {h[0]:.3f}s", flush=True)
    return out


def report(res: dict[tuple[str, str], tuple[float, float]], helm: str, runs: int, load: str) -> str:
    lines = [
        BEGIN,
        "## Start-up: read-only live commands, kdeploy vs helm",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()}; {load}; {helm_version(helm)}; "
        f"median of {runs} runs after one warm-up, each a fresh process against one in-process "
        "emulator holding a 50-object release of each tool (`benchmarks/startup.py`). *CPU* is "
        "user + system time of the process.",
        "",
        "| command | kdeploy wall | kdeploy CPU | helm wall | helm CPU | ratio (wall) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for step in STEPS:
        k, h = res[("kdeploy", step)], res[("helm", step)]
        lines.append(
            f"| {step} | {k[0]:.3f} s | {k[1]:.3f} s | {h[0]:.3f} s | {h[1]:.3f} s | "
            f"{k[0] / h[0]:.1f}x |"
        )
    py, ver = res[("python", "interpreter (python -c pass)")], res[("kdeploy", "--version")]
    lines += [
        "",
        f"Floors: the interpreter alone {py[0]:.3f} s ({py[1]:.3f} s CPU); `kdeploy --version` "
        f"{ver[0]:.3f} s ({ver[1]:.3f} s CPU).",
        END,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    helm = os.environ.get("KDEPLOY_HELM") or shutil.which("helm")
    if not helm or not Path(helm).exists():
        raise SystemExit("helm not found: run `make tools` or set KDEPLOY_HELM")
    before = os.getloadavg()[0]
    res = measure(helm, args.runs)
    section = report(res, helm, args.runs, load_note(before, os.getloadavg()[0]))
    print(section)
    if not args.no_write:
        write_section(section, BEGIN, END)


if __name__ == "__main__":
    main()
