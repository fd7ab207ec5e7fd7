"""`kdeploy apply --parallel`: several releases at once, each under its own lock.

Unlike the default (file order, the first failure stops the rest), every release is attempted;
afterwards a summary line per release says what happened, and the command fails when any did.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kdeploy.actions.deps import Output
from kdeploy.errors import KdeployError
from kdeploy.history.model import Revision


class ReleasesFailed(KdeployError):
    """One or more releases of a parallel apply failed (exit 1; each failure was reported)."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one release: its revision (None: nothing deployed) or its error."""

    release: str
    namespace: str
    revision: Revision | None = None
    error: KdeployError | None = None

    def summary(self) -> str:
        """One line for the final summary."""
        where = f"{self.release} (namespace {self.namespace})"
        if self.error is not None:
            first = self.error.message.splitlines()[0] if self.error.message else "failed"
            return f"  {where}: FAILED: {first}"
        if self.revision is None:
            return f"  {where}: no changes"
        return f"  {where}: revision {self.revision.number} {self.revision.status}"


def run_parallel(
    releases: Sequence[tuple[str, str]],
    run_one: Callable[[int], Revision | None],
    output: Output,
    *,
    max_workers: int,
) -> list[Revision]:
    """Run `run_one(i)` for every release i of `releases` ((name, namespace) pairs) on up to
    `max_workers` threads, each to the end whatever the others do. Reports each failure as it
    happens and a summary at the end. Returns the recorded revisions (in `releases` order).
    Raises ReleasesFailed naming the failed releases when any failed; an unexpected exception
    (a bug, Ctrl-C) is re-raised after every release has finished."""
    outcomes: list[Outcome] = []
    unexpected: list[BaseException] = []

    def attempt(i: int) -> Outcome:
        name, namespace = releases[i]
        try:
            return Outcome(name, namespace, revision=run_one(i))
        except KdeployError as e:
            output.info(f"Release {name} in namespace {namespace} failed: {e.format_message()}")
            return Outcome(name, namespace, error=e)

    with ThreadPoolExecutor(
        max_workers=max(1, min(max_workers, len(releases))), thread_name_prefix="kdeploy-release"
    ) as pool:
        futures = [pool.submit(attempt, i) for i in range(len(releases))]
        for future in futures:
            try:
                outcomes.append(future.result())
            except BaseException as e:
                unexpected.append(e)
    if unexpected:
        raise unexpected[0]
    output.info("Summary:")
    for outcome in outcomes:
        output.info(outcome.summary())
    failed = [o for o in outcomes if o.error is not None]
    if failed:
        names = ", ".join(o.release for o in failed)
        raise ReleasesFailed(
            f"{len(failed)} of {len(outcomes)} releases failed: {names}",
            hint="see each release's error above; the others were applied",
        )
    return [o.revision for o in outcomes if o.revision is not None]
