"""Diffs are coloured only on a terminal, and never with NO_COLOR."""

from __future__ import annotations

import pytest

from kdeploy.commands._live import TerminalOutput

DIFF = "--- live/x\n+++ desired/x\n@@ -1 +1 @@\n-a: 1\n+a: 2\n"


def test_plain_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    out = TerminalOutput.detect()  # pytest's stdout is not a terminal
    assert not out.color and not out.interactive
    out.diff(DIFF)
    assert capsys.readouterr().out == DIFF


def test_coloured_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    TerminalOutput(color=True, interactive=False).diff(DIFF)
    text = capsys.readouterr().out
    assert "\x1b[" in text and "+a: 2" in text


def test_no_color_disables_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    assert not TerminalOutput.detect().color
