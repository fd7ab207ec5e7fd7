"""The GitLab child pipeline `kdeploy ci pipeline` writes: one deploy job per environment, each
running the documented deploy command (`kdeploy apply -e ENV --yes --atomic ...` with its
report, dotenv and manifests), ordered by the environments' `ci.needs`, serialized by a resource
group, gated by hand for production tiers. Pure: environments' settings in, a YAML text out, the
same bytes for the same input. Docs: docs/gitlab-ci.md.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kdeploy.cisettings import CiSettings
from kdeploy.errors import ProjectError

STAGE = "deploy"
DEFAULT_IMAGE = "python:3.12"
HEADER = (
    "# A GitLab child pipeline written by `kdeploy ci pipeline`: generate it again rather than\n"
    "# edit it. One deploy job per environment; see docs/gitlab-ci.md of kdeploy.\n"
)
# a word the shell reads as it is written, `$VARIABLE`s expanded
_BARE_WORD = re.compile(r"^[A-Za-z0-9_@%+=:,./$-]+$")
# the variable references a forwarded value may hold: `$NAME` and `${NAME}`, nothing more
_VARIABLE = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})")


@dataclass(frozen=True)
class DeployJob:
    """One environment's deploy job, its needs limited to environments of the pipeline."""

    settings: CiSettings
    needs: tuple[str, ...]

    @property
    def environment(self) -> str:
        return self.settings.environment


def job_name(environment: str) -> str:
    """`deploy-<environment>`: the job that deploys `environment`."""
    return f"deploy-{environment}"


def plan_jobs(
    settings: Mapping[str, CiSettings], selected: Sequence[str]
) -> tuple[list[DeployJob], list[str]]:
    """The deploy jobs of the `selected` environments, in an order where every job comes after
    the jobs it needs (ties by name), and notes for the user. An environment's needs that are
    not selected are replaced by the selected environments they need in turn, so the order
    holds through environments left out (`-e prod -e dev` with prod needing staging needing dev:
    prod needs dev); each one left out is a note. Raises ProjectError naming the file, line and
    the loop when the needs form a cycle."""
    _check_cycles(settings)
    chosen = set(selected)
    notes: list[str] = []
    jobs: dict[str, DeployJob] = {}
    for name in sorted(chosen):
        needs: list[str] = []
        for need in settings[name].needs:
            if need in chosen:
                needs.append(need)
                continue
            notes.append(
                f"note: {name} needs {need}, which is not in this pipeline: {job_name(name)} "
                "does not wait for it"
            )
            needs.extend(_selected_ancestors(settings, need, chosen))
        jobs[name] = DeployJob(settings[name], tuple(dict.fromkeys(needs)))
    return _in_order(jobs), notes


def _selected_ancestors(
    settings: Mapping[str, CiSettings], start: str, chosen: set[str]
) -> list[str]:
    """The nearest environments of `chosen` that `start` needs, directly or through others."""
    found: list[str] = []
    seen = {start}
    stack = list(settings[start].needs)
    while stack:
        name = stack.pop(0)
        if name in seen:
            continue
        seen.add(name)
        if name in chosen:
            found.append(name)
        else:
            stack.extend(settings[name].needs)
    return found


def _check_cycles(settings: Mapping[str, CiSettings]) -> None:
    """Raise ProjectError for the first `needs` loop found (environments by name)."""
    done: set[str] = set()
    for start in sorted(settings):
        _visit(settings, start, [], done)


def _visit(settings: Mapping[str, CiSettings], name: str, path: list[str], done: set[str]) -> None:
    """Depth-first through `name`'s needs; `path` is the chain that led here."""
    if name in done:
        return
    if name in path:
        loop = [*path[path.index(name) :], name]
        first = settings[loop[0]]
        at = f"{first.shown}:{first.needs_line}" if first.needs_line else first.shown
        raise ProjectError(
            f"{at}: ci.needs: the environments need each other in a loop: {' -> '.join(loop)}",
            hint="remove one of these needs, so that one environment deploys first",
        )
    for need in settings[name].needs:
        _visit(settings, need, [*path, name], done)
    done.add(name)


def _in_order(jobs: Mapping[str, DeployJob]) -> list[DeployJob]:
    """`jobs` ordered so each comes after those it needs; among the ready ones, by name."""
    ordered: list[DeployJob] = []
    placed: set[str] = set()
    while len(ordered) < len(jobs):
        ready = sorted(
            name
            for name, job in jobs.items()
            if name not in placed and all(n in placed for n in job.needs)
        )
        for name in ready:
            ordered.append(jobs[name])
            placed.add(name)
    return ordered


def shell_word(text: str) -> str:
    """`text` as one shell word in which the job's shell expands `$NAME` and `${NAME}` and nothing
    else (so a value can be `web:image.tag=$CI_COMMIT_SHORT_SHA`, and a `$(...)`, a backquote, `$$`
    or `${NAME@P}` in a value is kept as text, never run): bare when it has no `$` and is safe so,
    else in double quotes with `"`, `\\`, backquotes and every other `$` escaped. Pure."""
    if _BARE_WORD.fullmatch(text) and "$" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ref = _VARIABLE.match(text, i)
        if ref:
            out.append(ref.group(0))
            i = ref.end()
            continue
        ch = text[i]
        out.append("\\" + ch if ch in '"\\`$' else ch)
        i += 1
    return '"' + "".join(out) + '"'


def apply_command(environment: str, value_flags: Sequence[tuple[str, str]]) -> str:
    """The deploy command of `environment`: the documented pipeline's `kdeploy apply`, with the
    `value_flags` ((flag, expression) pairs) forwarded."""
    words = ["kdeploy", "apply", "-e", shlex.quote(environment), "--yes", "--atomic"]
    for flag, expression in value_flags:
        words += [flag, shell_word(expression)]
    files = artifact_files(environment)
    words += ["--report", files["report"], "--dotenv", files["dotenv"]]
    words += ["--manifests-out", files["manifests"]]
    return " ".join(words)


def artifact_files(environment: str) -> dict[str, str]:
    """The files a deploy job of `environment` writes: its report, dotenv and manifests."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", environment)
    return {
        "report": f"deploy-{safe}.json",
        "dotenv": f"deploy-{safe}.env",
        "manifests": f"manifests/{safe}/",
    }


def deploy_job(job: DeployJob, value_flags: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The `.gitlab-ci.yml` mapping of one deploy job."""
    settings = job.settings
    files = artifact_files(job.environment)
    body: dict[str, Any] = {
        "stage": STAGE,
        # artifacts: false: no report or dotenv variables of an earlier environment leak in
        "needs": [{"job": job_name(n), "artifacts": False} for n in job.needs],
    }
    if settings.manual:
        # allow_failure: false keeps the pipeline (and the parent's trigger job) blocked until
        # someone runs the job, instead of passing without deploying
        body["when"] = "manual"
        body["allow_failure"] = False
    body["resource_group"] = settings.resource_group
    body["environment"] = {
        "name": job.environment,
        "deployment_tier": settings.tier,
        "url": "$KDEPLOY_ENVIRONMENT_URL",
    }
    body["script"] = [apply_command(job.environment, value_flags)]
    body["artifacts"] = {
        "when": "always",
        "paths": [files["report"], files["manifests"]],
        "reports": {"dotenv": files["dotenv"]},
    }
    return body


def pipeline_document(
    jobs: Sequence[DeployJob],
    value_flags: Sequence[tuple[str, str]],
    *,
    image: str | None,
    kdeploy_version: str,
) -> dict[str, Any]:
    """The child pipeline: `default:` runs the jobs in `image` (which has kdeploy), or, without
    one, in DEFAULT_IMAGE with this version of kdeploy installed first; then the jobs in order."""
    default: dict[str, Any] = {"image": image or DEFAULT_IMAGE}
    if image is None:
        default["before_script"] = [f"pip install -q kdeploy=={kdeploy_version}"]
    document: dict[str, Any] = {"stages": [STAGE], "default": default}
    for job in jobs:
        document[job_name(job.environment)] = deploy_job(job, value_flags)
    return document


def pipeline_text(document: Mapping[str, Any]) -> str:
    """The YAML text of `document` with the header comment, a blank line between jobs."""
    from kdeploy.yamlio import dump_fast

    parts = [dump_fast({key: value}) for key, value in document.items()]
    return HEADER + "\n".join(parts)
