"""Lock contention: two deployers apply the same release at the same moment, round after round,
against the built-in emulator through the official client. Run once with the release lock and
once without it (control), and report applies attempted, revisions recorded, failures, overlapping
pending→finished windows, wall time and time spent waiting for the lock.

`.venv/bin/python benchmarks/lock_contention.py [--rounds 50] [--no-write]` prints a Markdown table
and writes it to docs/performance.md between this benchmark's markers.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kdeploy.actions.apply import apply_releases
from kdeploy.actions.deploy import DeployOptions
from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import Target
from kdeploy.history.configmap import ConfigMapDriver
from kdeploy.history.identity import Identity
from kdeploy.history.model import Revision
from kdeploy.history.store import HistoryStore
from kdeploy.lock import LeaseLocker, Locker, NoLocks
from kdeploy.resources import stamp_ownership

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import load_note, machine, write_section

BEGIN = "<!-- BEGIN lock-benchmark -->"
END = "<!-- END lock-benchmark -->"

NAMES = ("alice@laptop", "gitlab-ci https://gitlab.example/-/jobs/1")


@dataclass
class Quiet:
    interactive: bool = False

    def info(self, text: str) -> None:
        """Not shown."""

    def result(self, text: str) -> None:
        """Not shown."""

    def diff(self, text: str) -> None:
        """Not shown."""

    def confirm(self, question: str) -> bool:
        return True


# (revision number, pending at, finished at, status), monotonic clock
Span = tuple[int, float, float, str]


@dataclass
class Figures:
    spans: list[Span] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class TimedHistory(HistoryStore):
    """Appends a Span to `spans` for each revision it finishes (tests/lock uses it too)."""

    def __init__(self, driver: Any, spans: list[Span], who: str) -> None:
        super().__init__(driver, identity=lambda: Identity(who=who))
        self._spans = spans
        self._started: dict[int, float] = {}

    def begin(self, release: str, namespace: str, **kw: Any) -> Revision:
        revision = super().begin(release, namespace, **kw)
        self._started[revision.number] = time.monotonic()
        return revision

    def finish(
        self, revision: Revision, status: Literal["deployed", "failed"], result: str
    ) -> Revision:
        done = super().finish(revision, status, result)
        self._spans.append(
            (revision.number, self._started[revision.number], time.monotonic(), status)
        )
        return done


class TimedLocks:
    """Measures how long `hold` waits before the block runs."""

    def __init__(self, inner: Locker, figures: Figures) -> None:
        self._inner = inner
        self._figures = figures

    def hold(self, release: str, namespace: str) -> Any:
        from contextlib import contextmanager

        @contextmanager
        def held() -> Any:
            start = time.monotonic()
            with self._inner.hold(release, namespace):
                self._figures.waits.append(time.monotonic() - start)
                yield

        return held()

    def ensure(self, release: str, namespace: str) -> None:
        self._inner.ensure(release, namespace)

    def check(self, release: str, namespace: str, stage: str) -> None:
        self._inner.check(release, namespace, stage)

    def hold_environment(self, environment: str, namespace: str) -> Any:
        return self._inner.hold_environment(environment, namespace)


def target(namespace: str, who: str, n: int) -> Target:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "web-config"},
        "data": {"deployer": who, "round": str(n)},
    }
    return Target(
        release="web",
        namespace=namespace,
        manifests=(stamp_ownership(cm, "web", "bench"),),
        package="webapp",
        package_version="1.0.0",
        environment="bench",
        description=f"{who} round {n}",
    )


def run(kubeconfig: str, namespace: str, rounds: int, locked: bool) -> dict[str, Any]:
    from kdeploy.kube.config import ClusterTarget, new_api_client
    from kdeploy.kube.real import RealCluster

    figures = Figures()
    apis = [new_api_client(ClusterTarget(kubeconfig=kubeconfig)) for _ in NAMES]
    all_deps = []
    for api, who in zip(apis, NAMES, strict=True):
        inner: Locker = (
            LeaseLocker(api, who, operation="apply", wait=120, poll=(0.01, 0.05))
            if locked
            else NoLocks()
        )
        all_deps.append(
            Deps(
                cluster=RealCluster(api),
                history=TimedHistory(ConfigMapDriver(api), figures.spans, who),
                output=Quiet(),
                identity=Identity(who=who),
                locks=TimedLocks(inner, figures),
            )
        )
    barrier = threading.Barrier(len(NAMES))

    def deployer(deps: Deps, who: str) -> None:
        for n in range(rounds):
            barrier.wait()
            try:
                apply_releases(
                    deps, [target(namespace, who, n)], DeployOptions(history_max=0), yes=True
                )
            except Exception as e:
                figures.failures.append(f"{type(e).__name__}: {str(e)[:80]}")

    start = time.monotonic()
    threads = [
        threading.Thread(target=deployer, args=(d, w)) for d, w in zip(all_deps, NAMES, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    revisions = all_deps[0].history.revisions("web", namespace)
    spans = sorted((start, end) for _, start, end, _ in figures.spans)
    overlaps = sum(1 for a, b in itertools.pairwise(spans) if b[0] < a[1])
    numbers = [r.number for r in revisions]
    for api in apis:
        api.close()
    return {
        "locked": locked,
        "applies": rounds * len(NAMES),
        "recorded": len(revisions),
        "deployed_or_superseded": sum(r.status in ("deployed", "superseded") for r in revisions),
        "gaps": (max(numbers) - len(numbers)) if numbers else 0,
        "failures": len(figures.failures),
        "failure_kinds": sorted({f.split(":")[0] for f in figures.failures}),
        "overlaps": overlaps,
        "wall": wall,
        "wait_median": statistics.median(figures.waits) if figures.waits else 0.0,
        "wait_max": max(figures.waits) if figures.waits else 0.0,
    }


def main() -> None:
    from kubernetes import client

    from kdeploy.emulator.app import Emulator
    from kdeploy.kube.config import ClusterTarget, new_api_client

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--no-write", action="store_true", help="print, do not update the doc")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = []
    with Emulator() as emu:
        api = new_api_client(ClusterTarget(kubeconfig=str(emu.kubeconfig_path)))
        core = client.CoreV1Api(api)
        for locked in (True, False):
            ns = "bench-locked" if locked else "bench-unlocked"
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
            rows.append(run(str(emu.kubeconfig_path), ns, args.rounds, locked))
    lines = [
        BEGIN,
        "## Lock contention: two deployers, one release",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()}; "
        f"{load_note(load_before, os.getloadavg()[0])}. Two deployers in threads apply the same "
        f"release at the same moment, {args.rounds} rounds each, against the built-in emulator "
        "through the official client, once holding the release Lease and once without it "
        "(control). Reproduce with `.venv/bin/python benchmarks/lock_contention.py`; the same "
        "scenario is the test `tests/lock/test_lock_contention.py`.",
        "",
        "| lock | applies attempted | revisions recorded | deployed/superseded | failed applies "
        "| overlapping pending windows | wall time | lock wait median / max |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        kinds = f" ({', '.join(r['failure_kinds'])})" if r["failure_kinds"] else ""
        lines.append(
            f"| {'Lease' if r['locked'] else 'none (control)'} | {r['applies']} | {r['recorded']} "
            f"| {r['deployed_or_superseded']} | {r['failures']}{kinds} | {r['overlaps']} "
            f"| {r['wall']:.1f} s | {r['wait_median'] * 1000:.0f} ms / {r['wait_max'] * 1000:.0f} ms |"
        )
    locked, control = rows[0], rows[1]
    lines += [
        "",
        f"With the Lease: {locked['failures']} failed applies and {locked['overlaps']} "
        f"overlapping pending windows in {locked['applies']} applies; without it (control): "
        f"{control['failures']} failed and {control['overlaps']} overlapping.",
        END,
    ]
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        write_section(section, BEGIN, END)


if __name__ == "__main__":
    main()
