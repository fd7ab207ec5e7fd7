"""Apply never removes or empties data of a live Secret, nor creates a Secret key with an empty
value, by accident (an unset CI variable renders an empty password): such a plan stops before any
change unless `--allow-secret-removal` is given, naming the Secret, the key and the values that fed
it (see docs/operations.md, "Secret data is
never removed by accident"). No secret value is ever printed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import Prepared
from kdeploy.diff import secret_removals
from kdeploy.errors import HistoryError, KdeployError

# how history stores a secret value (kdeploy.secrets.redaction_token)
_REDACTED_PREFIX = "<redacted"
# empty values named in a refusal, at most
_MAX_LISTED = 10


class SecretRemovalRefused(KdeployError):
    """Apply would remove or empty data of a live Secret, or create a Secret key with an empty
    value, and --allow-secret-removal is not set."""


def check_secret_removals(deps: Deps, prepared: Prepared) -> None:
    """Raise SecretRemovalRefused when the plan removes or empties a key of a live Secret, or
    creates a Secret key with an empty value; the message names each Secret and key, and where the
    value should have come from: the values that held a secret in the last deployed revision and
    are empty now, the environment's `secrets:` entries that gave no value, and the empty values."""
    removals = secret_removals(prepared.plan)
    if not removals:
        return
    target = prepared.target
    lines = "".join(f"\n  - {r.describe()}" for r in removals)
    sources = []
    emptied = _emptied_values(deps, target.release, target.namespace, target.values)
    if emptied:
        sources.append(
            "values that held a secret in the last deployed revision and are empty now: "
            + ", ".join(emptied)
        )
    if any(r.how == "created empty" for r in removals):
        if target.unavailable_secrets:
            sources.append(
                "`secrets:` entries that gave no value: " + ", ".join(target.unavailable_secrets)
            )
        empty = [p for p in empty_value_paths(target.values) if p not in emptied]
        if empty:
            sources.append("empty values: " + ", ".join(empty[:_MAX_LISTED]))
    raise SecretRemovalRefused(
        f"release {target.release} in namespace {target.namespace}: apply would remove or empty "
        f"secret data, or create it empty (nothing was changed):{lines}"
        + "".join(f"\n{source}" for source in sources),
        hint="give the value (in a values file, with --set, or the CI variable or file that "
        "feeds it); if an empty or removed key is intended, rerun with --allow-secret-removal",
    )


def empty_value_paths(values: Any, path: str = "values") -> list[str]:
    """Paths (`values.db.password`) of the empty strings in `values`."""
    if values == "":
        return [path]
    if isinstance(values, Mapping):
        return [p for k, v in values.items() for p in empty_value_paths(v, f"{path}.{k}")]
    if isinstance(values, list):
        return [p for i, v in enumerate(values) for p in empty_value_paths(v, f"{path}[{i}]")]
    return []


def _emptied_values(
    deps: Deps, release: str, namespace: str, values: Mapping[str, Any]
) -> list[str]:
    deployed = [r for r in deps.history.revisions(release, namespace) if r.status == "deployed"]
    if not deployed:
        return []
    try:
        previous = deps.history.get(release, namespace, deployed[-1].number, secrets=False)
    except HistoryError:
        return []
    return emptied_value_paths(previous.values, values)


def emptied_value_paths(previous: Any, current: Any, path: str = "values") -> list[str]:
    """Paths (`values.db.password`) of the secret values stored (redacted) in `previous` that are
    missing or empty in `current`."""
    return list(_emptied(previous, current, path))


def _emptied(previous: Any, current: Any, path: str) -> Iterator[str]:
    if isinstance(previous, str):
        if previous.startswith(_REDACTED_PREFIX) and current in (None, ""):
            yield path
    elif isinstance(previous, Mapping):
        here = current if isinstance(current, Mapping) else {}
        for name, value in previous.items():
            yield from _emptied(value, here.get(name), f"{path}.{name}")
    elif isinstance(previous, list):
        here_list = current if isinstance(current, list) else []
        for i, value in enumerate(previous):
            yield from _emptied(value, here_list[i] if i < len(here_list) else None, f"{path}[{i}]")
