"""Durations as written on the command line (`--timeout`, `--wait-for-lock`)."""

from __future__ import annotations

import pytest

from kdeploy.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("2h5m10s", 7510.0),
        ("500ms", 0.5),
        ("1m500ms", 60.5),
        ("1.5m", 90.0),
        ("1d", 86400.0),
        ("0", 0.0),
        ("0s", 0.0),
        (" 10s ", 10.0),
    ],
)
def test_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty value"),
        ("10", "a number needs a unit"),
        ("5x", "cannot read '5x'"),
        ("m5", "cannot read 'm5'"),
        ("-5m", "cannot read '-5m'"),
        ("1h2x", "cannot read '2x'"),
        ("30s5m", "units must go from largest to smallest"),
        ("5m5m", "units must go from largest to smallest"),
        ("5 m", "cannot read '5 m'"),
    ],
)
def test_bad_input_is_quoted_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(text, what="--wait-for-lock")
    message = info.value.format_message()
    assert message.startswith("--wait-for-lock")
    assert reason in message
    if text:
        assert repr(text) in message
    assert "90s, 5m, 1h or 1h30m" in message
    assert info.value.exit_code == 1


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "500ms"),
        (0, "0ms"),
        (1, "1s"),
        (45, "45s"),
        (60, "1m"),
        (300, "5m"),
        (5400, "1h30m"),
        (7510, "2h5m10s"),
        (3600, "1h"),
        (29.6, "30s"),
        (-90, "-1m30s"),
    ],
)
def test_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("text", ["1m30s", "5m", "1h30m", "2h5m10s", "500ms"])
def test_format_reads_back(text: str) -> None:
    assert format_duration(parse_duration(text)) == text
