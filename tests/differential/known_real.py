"""Differences that only the comparison with a real kube-apiserver shows (the recorded answers
of the cases do not cover them): case id -> reason. Each is listed in docs/emulator.md."""

from __future__ import annotations

KNOWN_REAL: dict[str, str] = {}
