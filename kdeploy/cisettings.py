"""An environment file's `ci:` section: how `kdeploy ci pipeline` deploys the environment.

```yaml
ci:
  needs: [staging]          # environments whose deploy job must succeed first
  tier: production          # GitLab deployment tier (default: guessed from the name)
  manual: true              # a person starts the job (default: true for the production tier)
  resourceGroup: prod       # GitLab resource group (default: the environment name)
  pipeline: true            # false: left out unless named with -e (a base, a local cluster)
```

The section belongs to its file alone and is never inherited through `extends` (staging
extends prod, and must not inherit prod's manual gate or wait for itself). Checked only when a
pipeline is generated; every error names the file and line. Docs: docs/gitlab-ci.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kdeploy.errors import ProjectError
from kdeploy.project import type_name

CI_KEYS = ("needs", "tier", "manual", "resourceGroup", "pipeline")
# GitLab's `environment:deployment_tier` values
TIERS = ("production", "staging", "testing", "development", "other")
# a GitLab environment or resource group name: letters, digits, '-', '_', '/', '$', '{', '}', '.',
# and spaces
_RESOURCE_GROUP = re.compile(r"^[A-Za-z0-9_./${} -]{1,255}$")
# words of an environment name and the tier they stand for, checked in this order (so a name with
# a production word is production even when it also has another: prod-test is production)
_TIER_WORDS = (
    ("production", frozenset({"prod", "production", "prd", "live"})),
    ("staging", frozenset({"staging", "stage", "stg", "preprod", "uat"})),
    ("testing", frozenset({"test", "testing", "qa", "int", "integration"})),
    ("development", frozenset({"dev", "development", "review", "local", "sandbox"})),
)


@dataclass(frozen=True)
class CiSettings:
    """The `ci:` section of one environment file, defaults filled in."""

    environment: str
    needs: tuple[str, ...] = ()
    tier: str = "other"
    manual: bool = False
    resource_group: str = ""
    pipeline: bool = True
    # where the file is, for messages: `environments/prod.yaml` and the line of `ci.needs`
    shown: str = ""
    needs_line: int | None = None


def check_gitlab_environment_name(environment: str, shown: str) -> None:
    """Raise ProjectError unless `environment` (an environment file's name, `shown`) can name a
    GitLab environment: letters, digits, spaces, '-', '_', '.', '/', '$', '{', '}', not starting
    or ending with '/'. Pure."""
    if not _RESOURCE_GROUP.fullmatch(environment) or environment.strip("/") != environment:
        raise ProjectError(
            f"{shown}: {environment!r} cannot name a GitLab environment",
            hint="rename the file: letters, digits, '-', '_', '.' and '/' (not at either end)",
        )


def guess_tier(environment: str) -> str:
    """The deployment tier an environment's name suggests: `production` when one of its words
    (split on '-', '_', '.', '/') is prod, production, prd or live (pre-prod is one word,
    preprod); `staging`, `testing` and `development` for their own words (_TIER_WORDS); `other`
    otherwise. Pure."""
    name = re.sub(r"pre[-_.]prod", "preprod", environment.lower())
    words = set(re.split(r"[-_./ ]+", name))
    for tier, names in _TIER_WORDS:
        if words & names:
            return tier
    return "other"


def parse_ci(
    raw: Any,
    environment: str,
    shown: str,
    lines: Mapping[tuple[str, ...], int],
    environments: Sequence[str],
) -> CiSettings:
    """The `ci:` value `raw` of environment `environment` (file `shown`, whose key lines are
    `lines`, see kdeploy.yamlio.key_lines), checked; `environments` are the project's. Raises
    ProjectError naming `file:line` and the key for an unknown key, a value of the wrong type, an
    unknown tier, or a `needs` entry that is no environment of the project or the environment
    itself, and for an environment name GitLab would refuse. Pure."""
    check_gitlab_environment_name(environment, shown)

    def where(*path: str) -> str:
        key = ("ci", *path)
        while key and key not in lines:
            key = key[:-1]
        line = lines.get(key) if key else None
        return f"{shown}:{line}" if line is not None else shown

    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ProjectError(
            f"{where()}: ci must be a mapping, not {type_name(raw)}",
            hint=f"allowed keys: {', '.join(CI_KEYS)}",
        )
    for key in raw:
        if key not in CI_KEYS:
            raise ProjectError(
                f"{where(str(key))}: ci: unknown key {key!r}",
                hint=f"allowed keys: {', '.join(CI_KEYS)}",
            )
    needs = _needs(raw.get("needs"), environment, environments, where)
    tier = raw.get("tier", guess_tier(environment))
    if tier not in TIERS:
        raise ProjectError(
            f"{where('tier')}: ci.tier: {tier!r} is not a GitLab deployment tier",
            hint=f"use one of {', '.join(TIERS)}",
        )
    manual = _flag(raw, "manual", tier == "production", where)
    pipeline = _flag(raw, "pipeline", True, where)
    group = raw.get("resourceGroup", environment)
    if not isinstance(group, str) or not _RESOURCE_GROUP.fullmatch(group):
        raise ProjectError(
            f"{where('resourceGroup')}: ci.resourceGroup: {group!r} is not a resource group name",
            hint="use letters, digits, '-', '_', '/', '.' and spaces (at most 255 characters)",
        )
    return CiSettings(
        environment=environment,
        needs=needs,
        tier=tier,
        manual=manual,
        resource_group=group,
        pipeline=pipeline,
        shown=shown,
        needs_line=lines.get(("ci", "needs")),
    )


def _needs(raw: Any, environment: str, environments: Sequence[str], where: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise ProjectError(
            f"{where('needs')}: ci.needs must be a list of environment names, not {type_name(raw)}",
            hint="e.g. needs: [staging]",
        )
    known = ", ".join(environments) or "(none)"
    needs: list[str] = []
    for index, item in enumerate(raw):
        at = where("needs", str(index))
        if not isinstance(item, str) or item not in environments:
            raise ProjectError(
                f"{at}: ci.needs: unknown environment {item!r}",
                hint=f"environments in this project: {known}",
            )
        if item == environment:
            raise ProjectError(
                f"{at}: ci.needs: environment {environment} cannot need itself",
                hint="name the environments that must be deployed before this one",
            )
        if item not in needs:
            needs.append(item)
    return tuple(needs)


def _flag(raw: dict[str, Any], key: str, default: bool, where: Any) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ProjectError(f"{where(key)}: ci.{key} must be true or false, not {type_name(value)}")
    return value
