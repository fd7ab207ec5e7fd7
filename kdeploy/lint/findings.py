"""The result of a lint check, the rules that produce them, and the order findings are shown in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kdeploy.model import RenderedObject

Severity = Literal["error", "warning", "info"]

SEVERITY_RANK: dict[str, int] = {"error": 0, "warning": 1, "info": 2}

# The annotation that switches rules off for one object: a comma-separated list of rule ids.
DISABLE_ANNOTATION = "kdeploy.dev/lint-disable"

# Kinds whose objects carry a pod template (or are pods).
POD_KINDS = frozenset(
    {
        "Pod",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
        "Job",
        "CronJob",
    }
)
LONG_RUNNING_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})


@dataclass(frozen=True)
class Rule:
    """A lint rule: its id, default severity, one-line summary, and the kinds it applies to
    (None: every object; an empty set: the release's values rather than an object)."""

    id: str
    severity: Severity
    summary: str
    kinds: frozenset[str] | None = None

    def applies_to(self, kind: str) -> bool:
        """True when objects of `kind` are checked by this rule."""
        return self.kinds is None or kind in self.kinds


@dataclass(frozen=True)
class Finding:
    """One problem (or, at severity info, one skipped check) found in a release.

    `obj` is the object as `Kind namespace/name` (or `values` for values findings), `source` the
    template or values file it came from, and `path` the field path inside it when known.
    """

    rule: str
    severity: Severity
    message: str
    obj: str
    source: str
    release: str
    path: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def sort_key(self) -> tuple[str, int, str, str, str, str]:
        """Order: release, then severity (errors first), object, rule, path, message."""
        return (
            self.release,
            SEVERITY_RANK[self.severity],
            self.obj,
            self.rule,
            self.path,
            self.message,
        )


@dataclass(frozen=True)
class Check:
    """One (rule, object) pair that was evaluated; the JUnit report makes a test case of each."""

    release: str
    rule: str
    obj: str
    source: str


def object_label(obj: RenderedObject) -> str:
    """How findings name an object: `Deployment shop/web` (`Namespace shop` when cluster-scoped)."""
    key = obj.key
    return f"{key.kind} {key.namespace}/{key.name}" if key.namespace else f"{key.kind} {key.name}"


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Return the findings in display order (see `Finding.sort_key`), duplicates removed."""
    return sorted(set(findings), key=Finding.sort_key)


def count_by_severity(findings: list[Finding]) -> dict[str, int]:
    """Return {"error": n, "warning": n, "info": n} for the findings."""
    counts = {"error": 0, "warning": 0, "info": 0}
    for f in findings:
        counts[f.severity] += 1
    return counts
