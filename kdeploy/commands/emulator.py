"""`kdeploy emulator`: run the built-in in-memory Kubernetes API server until interrupted."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

import click

from kdeploy.errors import KdeployError


def _load_faults(path: str) -> list[Any]:
    from kdeploy.emulator.faults import rule_from_dict

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise KdeployError(
            f"cannot read fault rules from {path}: {e}",
            hint="give a JSON list of rules such as "
            '[{"method": "GET", "path": "/api/v1/.*", "action": "status", "status": 503}]',
        ) from e
    rules = data if isinstance(data, list) else [data]
    out = []
    for i, r in enumerate(rules):
        try:
            out.append(rule_from_dict(r))
        except (TypeError, ValueError) as e:
            raise KdeployError(f"{path}: fault rule #{i + 1} is invalid: {e}") from e
    return out


@click.command("emulator")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1 to listen on (0 picks a free one).",
)
@click.option(
    "--kubeconfig-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the kubeconfig (default: a temporary file).",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Load objects from FILE at start and save them there on change and at exit.",
)
@click.option(
    "--tls",
    is_flag=True,
    help="Serve HTTPS with a generated certificate and require a bearer token.",
)
@click.option(
    "--ready-delay",
    type=float,
    default=None,
    help="Seconds before simulated pods become ready (default 1).",
)
@click.option(
    "--job-duration",
    type=float,
    default=None,
    help="Seconds a Job with a normal image runs before it completes (default 1).",
)
@click.option(
    "--never-ready-pattern",
    default=None,
    help="Image substring whose pods stay in ImagePullBackOff (default never-ready).",
)
@click.option(
    "--crashloop-pattern",
    default=None,
    help="Image substring whose pods go to CrashLoopBackOff (default crashloop).",
)
@click.option(
    "--job-fail-pattern", default=None, help="Image substring whose Jobs fail (default job-fails)."
)
@click.option(
    "--faults",
    "faults_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="JSON file with a list of fault rules to activate at start.",
)
def command(
    port: int,
    kubeconfig_out: str | None,
    state_file: str | None,
    tls: bool,
    ready_delay: float | None,
    job_duration: float | None,
    never_ready_pattern: str | None,
    crashloop_pattern: str | None,
    job_fail_pattern: str | None,
    faults_file: str | None,
) -> None:
    """Run the built-in in-memory Kubernetes API emulator until interrupted.

    Prints the path of a kubeconfig (context `kdeploy-emulator`) once it is ready to serve.
    """
    from kdeploy.emulator.app import Emulator
    from kdeploy.emulator.types import ControllerKnobs

    given = {
        "ready_delay": ready_delay,
        "job_duration": job_duration,
        "never_ready_pattern": never_ready_pattern,
        "crashloop_pattern": crashloop_pattern,
        "job_fail_pattern": job_fail_pattern,
    }
    knobs = ControllerKnobs(**{k: v for k, v in given.items() if v is not None})  # type: ignore[arg-type]
    rules = _load_faults(faults_file) if faults_file else []
    emu = Emulator(
        port=port, knobs=knobs, state_file=state_file, tls=tls, kubeconfig_path=kubeconfig_out
    )
    try:
        emu.start()
    except OSError as e:
        raise KdeployError(
            f"cannot start the emulator on 127.0.0.1:{port}: {e}",
            hint="choose another --port, or --port 0 for a free one",
        ) from e
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        # only the state file feeds start() with outside data
        detail = f"line {e.lineno}: {e.msg}" if isinstance(e, json.JSONDecodeError) else repr(e)
        raise KdeployError(
            f"--state {state_file}: not a kdeploy emulator state file ({detail})",
            hint="give a file written by `kdeploy emulator --state`, or a path that does not "
            "exist yet to start empty",
        ) from None
    for rule in rules:
        emu.add_fault(rule)
    done = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    click.echo(emu.kubeconfig_path, nl=True)
    click.echo(f"kdeploy emulator serving {emu.url} (Ctrl-C to stop)", err=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        emu.stop()
        click.echo("kdeploy emulator stopped", err=True)
