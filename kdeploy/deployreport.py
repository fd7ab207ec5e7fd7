"""What an `apply` did, for CI artifacts: the JSON report (`apply --report FILE`) and the dotenv
file (`apply --dotenv FILE`, for GitLab's `artifacts: reports: dotenv`). Pure: the apply action
feeds a `DeployReport` as it goes (begin, planned, done), the command finishes and writes it,
also when the apply failed.

Nothing here holds a secret: objects are named, never shown, and error messages have already
been redacted by the action that raised them."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

REPORT_FORMAT_VERSION = 1


@dataclass
class ReleaseOutcome:
    """One release of the apply: planned, then deployed, unchanged, failed or never reached."""

    release: str
    namespace: str
    # skipped (not reached), planned, deployed, unchanged, failed
    status: str = "skipped"
    revision: int | None = None
    revision_status: str = ""
    changes: list[dict[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    health: str = ""
    result: str = ""
    error: str = ""
    started: float | None = None
    seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The release's entry in the report."""
        return {
            "release": self.release,
            "namespace": self.namespace,
            "status": self.status,
            "revision": self.revision,
            "revisionStatus": self.revision_status or None,
            "summary": self.counts,
            "changes": self.changes,
            "health": self.health or None,
            "result": self.result or None,
            "error": self.error or None,
            "durationSeconds": None if self.seconds is None else round(self.seconds, 3),
        }


@dataclass
class DeployReport:
    """Collects what happens to each release of one apply (thread-safe: `apply --parallel`
    reports from several threads), keyed by (namespace, release)."""

    environment: str
    clock: Callable[[], float]
    waits: bool = True
    releases: dict[tuple[str, str], ReleaseOutcome] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def of(
        cls,
        environment: str,
        releases: Iterable[tuple[str, str]],
        clock: Callable[[], float],
        *,
        waits: bool = True,
    ) -> DeployReport:
        """A report for the (release, namespace) pairs about to be applied, in order."""
        report = cls(environment=environment, clock=clock, waits=waits)
        for release, namespace in releases:
            report.releases[(namespace, release)] = ReleaseOutcome(release, namespace)
        return report

    def _get(self, release: str, namespace: str) -> ReleaseOutcome:
        with self._guard:
            return self.releases.setdefault(
                (namespace, release), ReleaseOutcome(release, namespace)
            )

    def begin(self, release: str, namespace: str) -> None:
        """The release's turn has come (its clock starts)."""
        outcome = self._get(release, namespace)
        outcome.started = self.clock()
        outcome.status = "planned"

    def planned(
        self,
        release: str,
        namespace: str,
        changes: Iterable[tuple[str, str]],
        counts: Mapping[str, int],
    ) -> None:
        """The release's plan: (action, object) per change, and the counts per action."""
        outcome = self._get(release, namespace)
        outcome.changes = [{"action": action, "object": obj} for action, obj in changes]
        outcome.counts = dict(counts)

    def done(self, release: str, namespace: str, revision: Any | None, *, status: str = "") -> None:
        """The release finished: `revision` (a history Revision) was recorded, or None when
        nothing was (`status`: unchanged, or planned for a dry run)."""
        outcome = self._get(release, namespace)
        self._stop(outcome)
        if revision is None:
            outcome.status = status or "unchanged"
            return
        outcome.status = "deployed" if revision.status == "deployed" else "failed"
        outcome.revision = revision.number
        outcome.revision_status = revision.status
        outcome.result = revision.result
        if revision.status == "deployed":
            outcome.health = "healthy" if self.waits else "not waited for"

    def fail(
        self,
        release: str,
        namespace: str,
        message: str,
        *,
        unhealthy: bool = False,
        revision: tuple[int, str] | None = None,
    ) -> None:
        """Release `release` failed with `message` (already redacted); `revision`: the newest
        revision it left (number, status), when one was recorded."""
        outcome = self._get(release, namespace)
        self._stop(outcome)
        outcome.status = "failed"
        outcome.error = message
        outcome.health = "unhealthy" if unhealthy else ""
        if revision is not None:
            outcome.revision, outcome.revision_status = revision

    def _stop(self, outcome: ReleaseOutcome) -> None:
        if outcome.started is not None and outcome.seconds is None:
            outcome.seconds = self.clock() - outcome.started

    def to_json(
        self,
        *,
        exit_code: int | None,
        error: str,
        started_at: str,
        finished_at: str,
        seconds: float,
        cluster: str,
        git_commit: str | None,
        environment_url: str | None,
    ) -> dict[str, Any]:
        """The JSON document of `apply --report` (stable; fields are only ever added)."""
        return {
            "version": REPORT_FORMAT_VERSION,
            "command": "apply",
            "environment": self.environment,
            "environmentUrl": environment_url,
            "cluster": cluster,
            "gitCommit": git_commit,
            "status": outcome_status(exit_code),
            "exitCode": exit_code,
            "error": error or None,
            "startedAt": started_at,
            "finishedAt": finished_at,
            "durationSeconds": round(seconds, 3),
            "releases": [o.to_json() for o in self.releases.values()],
        }

    def dotenv(self, *, exit_code: int | None, environment_url: str | None) -> str:
        """The dotenv file: KEY=VALUE lines GitLab turns into variables of later jobs (and the
        environment URL of the job's `environment:`)."""
        lines = {
            "KDEPLOY_ENVIRONMENT": self.environment,
            "KDEPLOY_STATUS": outcome_status(exit_code),
        }
        if exit_code is not None:
            lines["KDEPLOY_EXIT_CODE"] = str(exit_code)
        if environment_url:
            lines["KDEPLOY_ENVIRONMENT_URL"] = environment_url
        for outcome in self.releases.values():
            if outcome.revision is not None:
                lines[f"KDEPLOY_REVISION_{dotenv_name(outcome.release)}"] = str(outcome.revision)
        return "".join(f"{key}={dotenv_value(value)}\n" for key, value in lines.items())


def outcome_status(exit_code: int | None) -> str:
    """running (no exit code yet: the apply has not finished, or was killed), succeeded, failed."""
    if exit_code is None:
        return "running"
    return "succeeded" if exit_code == 0 else "failed"


def dotenv_name(release: str) -> str:
    """A release name as part of a variable name: `api-v2` -> `API_V2`."""
    return re.sub(r"[^A-Z0-9_]", "_", release.upper())


def dotenv_value(value: str) -> str:
    """`value` on one line (GitLab's dotenv takes no quotes or multi-line values)."""
    return " ".join(value.split())


def environment_url(manifests: Iterable[Mapping[str, Any]]) -> str | None:
    """The URL of the first host of the first Ingress among `manifests` (https when the Ingress
    lists the host under `tls`), or None when there is none."""
    for m in manifests:
        if m.get("kind") != "Ingress":
            continue
        spec = m.get("spec") or {}
        tls_hosts = {h for t in spec.get("tls") or [] for h in (t or {}).get("hosts") or []}
        for rule in spec.get("rules") or []:
            host = (rule or {}).get("host")
            if isinstance(host, str) and host and "*" not in host:
                return f"{'https' if host in tls_hosts else 'http'}://{host}"
    return None
