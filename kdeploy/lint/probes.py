"""Rule probes-set: long-running workloads define readiness and liveness probes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from kdeploy.lint.findings import LONG_RUNNING_KINDS, Finding, Rule
from kdeploy.lint.workloads import containers, finding
from kdeploy.model import RenderedObject

PROBES_SET = Rule(
    "probes-set",
    "warning",
    "containers of Deployments, StatefulSets and DaemonSets have readiness and liveness probes",
    LONG_RUNNING_KINDS,
)
RULES = (PROBES_SET,)


def check(objects: Sequence[RenderedObject]) -> Iterator[Finding]:
    """Yield a finding for each long-running container that lacks a readiness or liveness probe.

    Jobs and CronJobs run to completion, so they are not checked; init containers (sidecars
    included) neither, as they rarely serve the workload's traffic.
    """
    for obj in objects:
        if obj.manifest.get("kind") not in LONG_RUNNING_KINDS:
            continue
        for c in containers(obj.manifest):
            if c.init:
                continue
            missing = [
                probe for probe in ("readinessProbe", "livenessProbe") if not c.spec.get(probe)
            ]
            if missing:
                yield finding(
                    PROBES_SET,
                    obj,
                    f'container "{c.name}" has no {" and no ".join(missing)}; without them '
                    "traffic reaches pods that are not ready and hung processes are never "
                    "restarted",
                    c.path,
                )
