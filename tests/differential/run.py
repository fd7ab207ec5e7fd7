"""Running one case (a short sequence of steps) on one target and collecting its responses."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tests.differential.normalise import Normaliser
from tests.differential.wire import Request, Response, Target

_VAR = re.compile(r"\$\{(\w+)\}")


@dataclass(frozen=True)
class Step:
    """One request of a case. `check=False` steps prepare state and are not compared;
    `until` makes the step a wait: it is repeated until the status code is `until`."""

    method: str
    path: str
    body: Any = None
    query: tuple[tuple[str, str], ...] = ()
    content_type: str | None = None
    check: bool = True
    until: int | None = None
    raw: bool = False


@dataclass(frozen=True)
class Case:
    """A named sequence of steps; the responses of its checked steps are compared.

    `expect` is what a real kube-apiserver answers to the last step, as documented
    (k8s-semantics.md, k8s-api-protocol.md) or read in its sources: (dotted path, value) pairs
    over the response data (`code`, `body.reason`, `body.kind`, ...). `known` names a
    difference of the emulator that is not fixed yet (the case is then an expected failure);
    differences that only the comparison with a real server shows are in known_real.py.
    `drop` lists fields left out of the comparison because a real cluster's controllers write
    them at their own pace; `drop_managers` likewise for managedFields entries.
    """

    id: str
    steps: tuple[Step, ...]
    expect: tuple[tuple[str, Any], ...] = ()
    known: str = ""
    drop: tuple[tuple[str, ...], ...] = ()
    drop_managers: tuple[str, ...] = ()
    cleanup: tuple[Step, ...] = ()
    needs_service_account: bool = False
    wire: bool = False  # also compare whether each body ends with a newline


WAIT_LIMIT = 90.0  # a loaded real cluster's namespace controller may take a minute


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """`value` with every `${name}` in its strings replaced from `variables`."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: variables.get(m.group(1), ""), value)
    if isinstance(value, bytes) and b"${" in value:
        return substitute(value.decode(), variables).encode()
    if isinstance(value, dict):
        return {substitute(k, variables): substitute(v, variables) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(substitute(v, variables) for v in value)
    return value


def _remember(variables: dict[str, str], index: int, resp: Response) -> None:
    body = resp.body if isinstance(resp.body, dict) else {}
    meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    for key, var in (("resourceVersion", "rv"), ("uid", "uid"), ("name", "name")):
        if isinstance(meta.get(key), str):
            variables[f"{var}{index}"] = meta[key]
            variables[f"{var}"] = meta[key]


def run_case(target: Target, case: Case, variables: dict[str, str]) -> list[dict[str, Any]]:
    """Send the case's steps to `target` in order; the `as_data()` of each checked response.

    `variables` holds `ns` and `t` (this run's namespace and name token); each step's response
    adds `rvN`/`uidN`/`nameN` (and `rv`/`uid`/`name` for the latest) for the steps after it.
    """
    variables = dict(variables)
    # What a namespace's controllers add to it (the root CA ConfigMap, the default service
    # account) is waited for, so that lists and pod admission do not depend on their timing.
    _send(
        target,
        Step("GET", "/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt", until=200),
        variables,
    )
    if case.needs_service_account:
        wait = Step("GET", "/api/v1/namespaces/${ns}/serviceaccounts/default", until=200)
        _send(target, wait, variables)
    out: list[dict[str, Any]] = []
    for index, step in enumerate(case.steps):
        resp = _send(target, step, variables)
        _remember(variables, index, resp)
        if step.check and step.until is None:
            out.append(resp.as_data(case.wire))
    for step in case.cleanup:
        _send(target, step, variables)
    return out


def _send(target: Target, step: Step, variables: dict[str, str]) -> Response:
    req = Request(
        method=step.method,
        path=substitute(step.path, variables),
        query=substitute(step.query, variables),
        body=substitute(step.body, variables),
        content_type=step.content_type,
        raw=step.raw,
    )
    if step.until is None:
        return target.send(req)
    deadline = time.monotonic() + WAIT_LIMIT
    while True:
        resp = target.send(req)
        if resp.status == step.until or time.monotonic() > deadline:
            return resp
        time.sleep(0.1)


def run_isolated(target: Target, case: Case, variables: dict[str, str]) -> list[dict[str, Any]]:
    """`run_case` in a namespace of its own (created first, deleted after, not compared)."""
    ns_body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": variables["ns"]}}
    target.send(Request("POST", "/api/v1/namespaces", body=ns_body))
    try:
        return run_case(target, case, variables)
    finally:
        target.send(Request("DELETE", f"/api/v1/namespaces/{variables['ns']}"))


def normalised(case: Case, responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The case's responses with run-specific values replaced (see normalise.py)."""
    norm = Normaliser(case.drop, case.drop_managers)
    return [norm.response(r) for r in responses]


def run_pair(
    left: Target, right: Target, case: Case, variables: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The normalised responses of `case` on both targets (run side by side)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        a = pool.submit(run_isolated, left, case, variables)
        b = pool.submit(run_isolated, right, case, variables)
        return normalised(case, a.result()), normalised(case, b.result())


def report(case: Case, left: Target, right: Target, diffs: list[tuple[str, Any, Any]]) -> str:
    """A readable account of the fields where the two targets' responses differ."""
    lines = [f"case {case.id}: {len(diffs)} field(s) differ ({left.name} | {right.name})"]
    for path, a, b in diffs[:40]:
        lines.append(f"  {path}: {_short(a)} | {_short(b)}")
    return "\n".join(lines)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) < 300 else text[:300] + "..."


def lookup(data: Any, path: str) -> Any:
    """The value at dotted `path` in `data` (`<absent>` when missing)."""
    for key in path.split("."):
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return "<absent>"
    return data
