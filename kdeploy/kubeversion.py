"""Kubernetes version constraints (`package.yaml` `kubeVersion`): parse them and match versions.

Grammar: comparisons joined by spaces or commas are ANDed (`>=1.27 <1.36`, `>=1.27, <1.36`), and
`||` separates alternatives (`1.27 || >=1.30`). Operators: `>=`, `>`, `<=`, `<`, `=` (also the
default when none is written) and `!=`. Versions are `MAJOR[.MINOR[.PATCH]]` with an optional `v`
prefix; what follows the numbers (`-eks-abc`, `+k3s1`) is ignored, because providers decorate the
versions of releases that are otherwise the upstream ones.

A version written with fewer parts stands for the whole range it names, so `=1.28` accepts every
1.28.x, `>1.28` starts at 1.29, `<=1.28` ends after the last 1.28.x and `<1.28` / `>=1.28` compare
with 1.28.0. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Version = tuple[int, int, int]

_OPERATORS = (">=", "<=", "!=", ">", "<", "=")
_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+][0-9A-Za-z.+-]*)?$")
_TERM = re.compile(r"^(>=|<=|!=|>|<|=)?\s*(\S+)$")


class ConstraintSyntaxError(ValueError):
    """A constraint or version that cannot be parsed; the message says which part and why."""


@dataclass(frozen=True)
class Comparison:
    """One `operator version` term; `parts` is how many numbers were written (1 to 3)."""

    operator: str
    version: Version
    parts: int

    def allows(self, version: Version) -> bool:
        """True when `version` satisfies this comparison (a short version names a range)."""
        low = self.version
        # the first version after the range a short version names: 1.28 -> 1.29.0
        if self.parts == 1:
            high: Version = (low[0] + 1, 0, 0)
        elif self.parts == 2:
            high = (low[0], low[1] + 1, 0)
        else:
            high = (low[0], low[1], low[2] + 1)
        inside = low <= version < high
        if self.operator == "=":
            return inside
        if self.operator == "!=":
            return not inside
        if self.operator == ">=":
            return version >= low
        if self.operator == ">":
            return version >= high
        if self.operator == "<=":
            return version < high
        return version < low

    def __str__(self) -> str:
        return f"{self.operator}{'.'.join(str(n) for n in self.version[: self.parts])}"


@dataclass(frozen=True)
class Constraint:
    """Alternatives (OR) of conjunctions (AND) of comparisons, and the text it was parsed from."""

    text: str
    alternatives: tuple[tuple[Comparison, ...], ...]

    def allows(self, version: Version) -> bool:
        """True when `version` satisfies every comparison of at least one alternative."""
        return any(all(c.allows(version) for c in group) for group in self.alternatives)


def parse_version(text: str) -> Version:
    """The (major, minor, patch) of `text` such as `1.28`, `v1.28.3` or `1.28.3-eks-abc`; missing
    parts are 0. Raises ConstraintSyntaxError when it is not a version."""
    match = _VERSION.match(text.strip())
    if not match:
        raise ConstraintSyntaxError(f'"{text}" is not a version (expected e.g. 1.28 or v1.28.3)')
    return (int(match[1]), int(match[2] or 0), int(match[3] or 0))


def parse_constraint(text: str) -> Constraint:
    """Parse a constraint such as `>=1.27 <1.36` or `>=1.25, <1.27 || >=1.29`.

    Raises ConstraintSyntaxError naming the offending term when the text is empty, a term has an
    unknown operator or no version, or an alternative of `||` is empty."""
    if not text.strip():
        raise ConstraintSyntaxError("the constraint is empty")
    alternatives: list[tuple[Comparison, ...]] = []
    for alternative in text.split("||"):
        terms = _terms(alternative)
        if not terms:
            raise ConstraintSyntaxError(f'"{text}" has an empty alternative around "||"')
        alternatives.append(tuple(_comparison(term) for term in terms))
    return Constraint(text=text.strip(), alternatives=tuple(alternatives))


def _terms(alternative: str) -> list[str]:
    """Split one alternative into terms, keeping an operator written apart from its version
    (`>= 1.28`) with it."""
    tokens = [t for t in re.split(r"[\s,]+", alternative) if t]
    terms: list[str] = []
    pending = ""
    for token in tokens:
        if token in _OPERATORS:
            if pending:
                raise ConstraintSyntaxError(f'operator "{pending}" has no version after it')
            pending = token
            continue
        terms.append(pending + token)
        pending = ""
    if pending:
        raise ConstraintSyntaxError(f'operator "{pending}" has no version after it')
    return terms


def _comparison(term: str) -> Comparison:
    match = _TERM.match(term)
    raw = match[2] if match else term
    version_match = _VERSION.match(raw)
    if match is None or version_match is None:
        raise ConstraintSyntaxError(
            f'"{term}" is not a comparison (expected an operator among '
            f"{', '.join(_OPERATORS)} followed by a version such as 1.28)"
        )
    parts = 1 + sum(1 for g in (version_match[2], version_match[3]) if g is not None)
    return Comparison(operator=match[1] or "=", version=parse_version(raw), parts=parts)


def format_version(version: Version) -> str:
    """`1.28.3` for (1, 28, 3)."""
    return ".".join(str(n) for n in version)
