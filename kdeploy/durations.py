"""Durations as people write them on the command line (`90s`, `5m`, `1h30m`, `500ms`) and back."""

from __future__ import annotations

import re

from kdeploy.errors import KdeployError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# Longest unit name first so that `ms` is not read as `m` followed by garbage.
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


class DurationError(KdeployError):
    """A duration could not be read."""


def parse_duration(text: str, *, what: str = "duration") -> float:
    """Seconds in `text`: one or more `<number><unit>` parts with units ms, s, m, h, d, largest
    first (`1h30m`, `90s`, `1.5m`, `500ms`); a bare `0` means zero. Returns a float >= 0.
    Raises DurationError quoting `text` when it is empty, has no unit, an unknown unit, or units
    out of order or repeated."""
    raw = text
    text = text.strip()
    if text == "0":
        return 0.0
    hint = "write it like 90s, 5m, 1h or 1h30m (units: ms, s, m, h, d)"
    if not text:
        raise DurationError(f"{what}: empty value", hint=hint)
    total = 0.0
    pos = 0
    last_rank = len(_UNITS)
    ranks = {unit: rank for rank, unit in enumerate(["ms", "s", "m", "h", "d"])}
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None:
            rest = text[pos:]
            reason = (
                "a number needs a unit"
                if re.fullmatch(r"\d+(?:\.\d+)?", rest)
                else f"cannot read {rest!r}"
            )
            raise DurationError(f"{what} {raw!r} is not a duration: {reason}", hint=hint)
        number, unit = match.groups()
        if ranks[unit] >= last_rank:
            raise DurationError(
                f"{what} {raw!r} is not a duration: units must go from largest to smallest, "
                "each at most once",
                hint=hint,
            )
        last_rank = ranks[unit]
        total += float(number) * _UNITS[unit]
        pos = match.end()
    return total


def format_duration(seconds: float) -> str:
    """A short human form of `seconds`: `500ms`, `45s`, `5m`, `1h30m`, `2h5m10s` (sub-second
    parts are dropped above one second, rounded to whole seconds)."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs or not parts:
        parts.append(f"{secs}s")
    return "".join(parts)
