"""The files `apply` leaves for CI artifacts: `--report FILE` (JSON), `--dotenv FILE` (GitLab
`reports: dotenv`) and `--manifests-out DIR` (the applied manifests, secrets redacted). The
report and dotenv files are written whatever happens, also when the apply fails."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from kdeploy.commands._files import write_text_atomic
from kdeploy.deployreport import DeployReport, environment_url
from kdeploy.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    KdeployError,
    Terminated,
)

F = TypeVar("F", bound=Callable[..., Any])


def report_options(f: F) -> F:
    """--report FILE, --dotenv FILE and --manifests-out DIR."""
    for decorator in reversed(
        [
            click.option(
                "--report",
                "report_file",
                type=click.Path(dir_okay=False),
                default=None,
                metavar="FILE",
                help="Write a JSON report (releases, revisions, objects changed, health, "
                "durations, exit status) to FILE, also when the apply fails.",
            ),
            click.option(
                "--dotenv",
                "dotenv_file",
                type=click.Path(dir_okay=False),
                default=None,
                metavar="FILE",
                help="Write KEY=VALUE lines (environment URL if known, revisions, status) to FILE, "
                "for GitLab's `artifacts: reports: dotenv`; also when the apply fails.",
            ),
            click.option(
                "--manifests-out",
                "manifests_out",
                type=click.Path(file_okay=False),
                default=None,
                metavar="DIR",
                help="Write the manifests to apply, one RELEASE.yaml per release, with secret "
                "values redacted, to DIR (before anything is applied).",
            ),
        ]
    ):
        f = decorator(f)
    return f


@dataclass
class Artifacts:
    """Where the artifacts go (None: not asked for) and what the apply has told so far."""

    project_dir: Path
    report_file: str | None
    dotenv_file: str | None
    manifests_out: str | None
    started_at: str = ""
    report: DeployReport = field(init=False)
    url: str | None = None
    cluster: str = ""
    git_commit: str | None = None

    def path(self, given: str) -> Path:
        """`given`, relative to the project directory (like -f)."""
        path = Path(given)
        return path if path.is_absolute() else self.project_dir / path

    def start(self, environment: str, targets: Sequence[Any], *, waits: bool) -> DeployReport:
        """The report for these deploy targets. Writes --manifests-out, and --report and
        --dotenv saying `running`, now: before the cluster is touched, so that an unwritable path
        changes nothing, and a killed job still leaves a report."""
        self.report = DeployReport.of(
            environment,
            [(t.release, t.namespace) for t in targets],
            time.monotonic,
            waits=waits,
        )
        self.url = environment_url(m for t in targets for m in t.manifests)
        if self.manifests_out is not None:
            write_manifests(self.path(self.manifests_out), targets)
        self.write(None, "", 0.0)
        return self.report

    def write(self, exit_code: int | None, error: str, took: float) -> None:
        """Write --report and --dotenv (those asked for) with this outcome."""
        from datetime import UTC, datetime

        from kdeploy.history.identity import format_time

        if self.report_file is not None:
            doc = self.report.to_json(
                exit_code=exit_code,
                error=error,
                started_at=self.started_at,
                finished_at=format_time(datetime.now(UTC)) if exit_code is not None else "",
                seconds=took,
                cluster=self.cluster,
                git_commit=self.git_commit,
                environment_url=self.url,
            )
            write_text_atomic(
                self.path(self.report_file),
                json.dumps(doc, indent=2, sort_keys=True) + "\n",
                what="--report",
                hint="choose a writable path",
            )
        if self.dotenv_file is not None:
            write_text_atomic(
                self.path(self.dotenv_file),
                self.report.dotenv(exit_code=exit_code, environment_url=self.url),
                what="--dotenv",
                hint="choose a writable path",
            )


def write_manifests(directory: Path, targets: Sequence[Any]) -> None:
    """One RELEASE.yaml per deploy target in `directory`, secret values redacted."""
    from kdeploy.secrets import split_secret_manifests
    from kdeploy.yamlio import dump_fast

    for target in targets:
        masked, _ = split_secret_manifests(target.manifests, target.secret_strings)
        text = "".join(f"---\n{dump_fast(m)}" for m in masked)
        path = directory / f"{target.release}.yaml"
        write_text_atomic(
            path, text, what="--manifests-out", hint="check that the directory is writable"
        )
        click.echo(f"wrote {path} ({len(masked)} objects)", err=True)


def _exit_code(error: BaseException) -> int:
    if isinstance(error, KdeployError):
        return error.exit_code
    if isinstance(error, Terminated):
        return EXIT_TERMINATED
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, click.exceptions.Exit):
        return error.exit_code
    return EXIT_INTERNAL


def _message(error: BaseException) -> str:
    if isinstance(error, KdeployError):
        return error.format_message()
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    return f"internal error: {type(error).__name__}"


@contextmanager
def writing_artifacts(
    ctx: click.Context,
    report_file: str | None,
    dotenv_file: str | None,
    manifests_out: str | None,
    environment: str | None = None,
) -> Iterator[Artifacts]:
    """Run the `with` block (the apply), then write --report and --dotenv with its outcome, also
    when it raised (the exception goes on). Errors are already redacted when they get here.
    `environment` (the -e given) names the environment in a report of an apply that failed before
    the environment was loaded (a render error); Artifacts.start sets the loaded one's name."""
    from datetime import UTC, datetime

    from kdeploy.history.identity import format_time

    project = Path((ctx.obj or {}).get("project_dir") or os.getcwd())
    artifacts = Artifacts(project, report_file, dotenv_file, manifests_out)
    artifacts.report = DeployReport(environment=environment or "", clock=time.monotonic)
    artifacts.started_at = format_time(datetime.now(UTC))
    started = time.monotonic()
    exit_code, error = 0, ""
    try:
        yield artifacts
    except BaseException as e:
        exit_code, error = _exit_code(e), _message(e)
        raise
    finally:
        if report_file is not None or dotenv_file is not None:
            try:
                artifacts.write(exit_code, error, time.monotonic() - started)
            except KdeployError as e:
                if not exit_code:
                    raise
                # the apply's own failure is what the job must show
                click.echo(f"warning: {e.format_message()}", err=True)
