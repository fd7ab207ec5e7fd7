"""What every benchmark shares: the machine description, the load note and writing a benchmark's
section of docs/performance.md."""

from __future__ import annotations

import os
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PERF_DOC = ROOT / "docs" / "performance.md"


def user_environ() -> dict[str, str]:
    """This process's environment as an installed tool sees it on a user's machine: without
    PYTHONDONTWRITEBYTECODE (set in some sandboxes and CI images), under which every kdeploy run
    would compile its own modules again, where a pip-installed kdeploy has their bytecode."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def machine() -> str:
    """`Linux x86_64, 8 cores (CPU model), 16 GiB RAM, Python 3.11.9`: where figures were taken."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}){mem}, Python {platform.python_version()}"


def load_note(before: float, after: float) -> str:
    """The 1-minute load average around the measurement, so readers can judge the wall times."""
    cores = os.cpu_count() or 1
    note = f"1-minute load average {before:.1f} before and {after:.1f} after, on {cores} cores"
    if max(before, after) > cores:
        note += " (other work was running: wall times are inflated; request counts are not)"
    return note


def write_section(section: str, begin: str, end: str) -> None:
    """Replace the part of docs/performance.md between the markers `begin` and `end` (included)
    with `section`, keeping the other benchmarks' sections; append it when the markers are
    missing."""
    text = (
        PERF_DOC.read_text(encoding="utf-8")
        if PERF_DOC.exists()
        else "# Performance\n\nFigures from `benchmarks/`, run on demand.\n"
    )
    if begin in text and end in text:
        text = text[: text.index(begin)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    PERF_DOC.write_text(text, encoding="utf-8")
