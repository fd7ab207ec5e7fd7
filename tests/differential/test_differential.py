"""The emulator against a real kube-apiserver, case by case (see tests/differential/cases.py).

- `test_emulator_answers_like_kube_apiserver`: every case on the emulator and on a real server;
  the real server must give the answer the table records (else the table is wrong) and the
  normalised responses must be equal field by field. Needs a real control plane (conftest.py).
- `test_emulator_answers_as_documented`: every case on two emulators: the emulator's answer to
  the last request must be the recorded real-server answer, and the two emulators must agree
  (the normaliser absorbs every run-specific value, so a difference against a real server is a
  real difference). Runs everywhere; with `--cluster=real` the comparison above covers it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.differential.cases import all_cases
from tests.differential.conftest import cluster_option
from tests.differential.known_real import KNOWN_REAL, TIMING
from tests.differential.normalise import differences
from tests.differential.run import Case, lookup, report, run_pair
from tests.differential.wire import Target

CASES = all_cases()
INDEX = {case.id: i for i, case in enumerate(CASES)}


def _variables(case: Case, token: str) -> dict[str, str]:
    return {"ns": f"d{INDEX[case.id]}-{token}", "t": token}


def _params(real: bool) -> list[Any]:
    out = []
    for case in CASES:
        reason = case.known or (KNOWN_REAL.get(case.id, "") if real else "")
        strict = case.known != "" or case.id not in TIMING
        marks = [pytest.mark.xfail(strict=strict, reason=reason)] if reason else []
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


def unmet(case: Case, response: dict[str, Any]) -> list[str]:
    """The recorded expectations of `case` that `response` (its last, normalised) misses."""
    return [
        f"{path}: expected {want!r}, got {lookup(response, path)!r}"
        for path, want in case.expect
        if lookup(response, path) != want
    ]


@pytest.mark.parametrize("case", _params(real=True))
def test_emulator_answers_like_kube_apiserver(
    case: Case, emulator_target: Target, real_target: Target, run_token: str
) -> None:
    emulated, real = run_pair(emulator_target, real_target, case, _variables(case, run_token))
    wrong = unmet(case, real[-1])
    assert not wrong, (
        f"case {case.id}: the table's expectation is not what {real_target.name} "
        f"answers:\n  " + "\n  ".join(wrong) + f"\nresponse: {real[-1]}"
    )
    diffs = differences(emulated, real)
    assert not diffs, report(case, emulator_target, real_target, diffs)


@pytest.mark.parametrize("case", _params(real=False))
def test_emulator_answers_as_documented(
    case: Case,
    emulator_target: Target,
    second_emulator_target: Target,
    run_token: str,
    request: pytest.FixtureRequest,
) -> None:
    if cluster_option(request.config) == "real":
        pytest.skip("--cluster=real: the comparison with the real server covers this case")
    first, second = run_pair(
        emulator_target, second_emulator_target, case, _variables(case, run_token + "e")
    )
    diffs = differences(first, second)
    assert not diffs, (
        "two emulators disagree (a run-specific value the normaliser misses):\n"
        + report(case, emulator_target, second_emulator_target, diffs)
    )
    wrong = unmet(case, first[-1])
    assert not wrong, (
        f"case {case.id}: the emulator does not answer as a real server does:\n  "
        + "\n  ".join(wrong)
        + f"\nresponse: {first[-1]}"
    )
