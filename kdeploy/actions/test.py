"""`kdeploy test`: run the test hooks (`kdeploy.dev/hook: test`) of a release's deployed revision,
one at a time, and report each as passed or failed with a summary of its pods' logs.

Test hooks are recorded with the revision like every hook and never run by apply or rollback, so
a test needs no package sources: only the kubeconfig. Docs: docs/hooks.md ("Tests").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from kdeploy.actions.deps import Deps
from kdeploy.actions.hooks import run_hooks
from kdeploy.errors import ClusterError, HistoryError, WaitError
from kdeploy.hooks import TEST_PHASE, Hook, hooks_for
from kdeploy.hooks import split as split_hooks
from kdeploy.secrets import Redactor
from kdeploy.wait import DEFAULT_TIMEOUT

LOG_LINES = 20


@dataclass(frozen=True)
class TestResult:
    """One test hook's outcome: passed or not, why, and the tail of its pods' logs."""

    hook: Hook
    passed: bool
    message: str
    logs: tuple[tuple[str, str], ...] = ()  # (pod name, log tail or why it could not be read)


@dataclass(frozen=True)
class TestRun:
    """The tests of one deployed revision."""

    release: str
    namespace: str
    revision: int
    results: tuple[TestResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def run_tests(
    deps: Deps,
    release: str,
    namespace: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
) -> TestRun:
    """Run every test hook of the last deployed revision of `release` (weight order), each to
    completion or failure, all of them whatever the earlier ones did. Holds the release lock (a
    test must not run while an apply replaces what it tests). Raises HistoryError when the release
    has no deployed revision, LockHeldError when it is locked."""
    with deps.locks.hold(release, namespace):
        deployed = deps.history.last_deployed(release, namespace)
        if deployed is None:
            raise HistoryError(
                f"release {release} has no deployed revision in namespace {namespace}",
                hint="apply it first; check the release name and -n NAMESPACE "
                "(see `kdeploy history`)",
            )
        revision = deps.history.get(release, namespace, deployed.number)
        redact = Redactor(revision.secret_strings).text
        hooks = hooks_for(split_hooks(revision.manifests).hooks, TEST_PHASE)
        results = []
        for hook in hooks:
            try:
                run_hooks(
                    deps,
                    [hook],
                    TEST_PHASE,
                    timeout=timeout,
                    sleep=sleep,
                    check=lambda stage: deps.locks.check(release, namespace, stage),
                )
                passed, message = True, "passed"
            except (WaitError, ClusterError) as e:
                passed, message = False, redact(e.message)
            logs = tuple((pod, redact(text)) for pod, text in _logs(deps, hook))
            results.append(TestResult(hook=hook, passed=passed, message=message, logs=logs))
        return TestRun(release, namespace, deployed.number, tuple(results))


def _logs(deps: Deps, hook: Hook) -> list[tuple[str, str]]:
    """(pod, the last LOG_LINES lines of its logs, or why they could not be read) for the pod a
    test is, or the pods of a test Job; none once the test object is gone."""
    key = hook.key
    if key.kind == "Pod" and key.group == "":
        pods = [key.name]
    elif key.kind == "Job" and key.group == "batch":
        try:
            found = deps.cluster.list_by_labels("v1", "Pod", key.namespace, f"job-name={key.name}")
        except ClusterError as e:
            return [("(pods)", f"could not be listed: {e.message}")]
        pods = sorted(str(p["metadata"]["name"]) for p in found)
    else:
        return []
    out = []
    for pod in pods:
        try:
            out.append((pod, deps.cluster.pod_logs(key.namespace, pod, LOG_LINES)))
        except ClusterError as e:
            out.append((pod, f"(logs not available: {e.message})"))
    return out


def format_run(run: TestRun) -> str:
    """The report: one PASS/FAIL line per test, the failure's reason and each pod's log tail."""
    lines = [
        f"Release {run.release} in namespace {run.namespace}, revision {run.revision}: "
        f"{len(run.results)} test{'s' if len(run.results) != 1 else ''}"
    ]
    for result in run.results:
        word = "PASS" if result.passed else "FAIL"
        lines.append(f"  {word} {result.hook.label}")
        if not result.passed:
            lines.extend(f"       {line}" for line in result.message.splitlines())
        for pod, text in result.logs:
            tail = text.rstrip("\n").splitlines() or ["(no output)"]
            lines.append(f"       logs of pod {pod} (last {LOG_LINES} lines):")
            lines.extend(f"         {line}" for line in tail)
    failed = sum(1 for r in run.results if not r.passed)
    lines.append(f"Tests: {len(run.results) - failed} passed, {failed} failed")
    return "\n".join(lines) + "\n"
