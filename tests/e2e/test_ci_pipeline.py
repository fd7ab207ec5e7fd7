"""`kdeploy ci pipeline` as docs/gitlab-ci.md uses it: the documented parent job generates the
child pipeline in a git clone of the example project, and the child's deploy jobs run, in the
order their `needs:` give, with the runner stand-in of test_gitlab_pipeline.py (the parent's
`variables:` passed on, as GitLab passes them to a child pipeline). A fleet of twenty
environments checks the generated structure."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.test_gitlab_pipeline import DOC, ROOT, Runner, _context, _ok
from tests.helpers import commit_all

PARENT = "# .gitlab-ci.yml (a fleet"
GENERATE = "generate-deploy"
CHILD_FILE = "deploy-pipeline.yml"


def documented_parent() -> dict[str, Any]:
    """The `# .gitlab-ci.yml (a fleet...` block of docs/gitlab-ci.md."""
    text = DOC.read_text(encoding="utf-8")
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        if block.startswith(PARENT):
            loaded: dict[str, Any] = yaml.safe_load(block)
            return loaded
    raise AssertionError(f"docs/gitlab-ci.md has no `{PARENT}` block")


def _copy_example(project: Path) -> None:
    for part in ("packages", "environments"):
        shutil.copytree(ROOT / part, project / part)
    (project / ".gitignore").write_text("*.json\n*.env\nmanifests/\n" + CHILD_FILE + "\n")


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The example project in its own namespaces (the session's cluster is shared)."""
    project = tmp_path / "shop-deploy"
    _copy_example(project)
    envs = project / "environments"
    for name, namespace in (("staging", "cipipe-staging"), ("prod", "cipipe-prod")):
        path = envs / f"{name}.yaml"
        text = re.sub(r"(?m)^namespace: .*$", f"namespace: {namespace}", path.read_text())
        path.write_text(text)
    return project


def _children(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in doc.items() if k not in ("stages", "default", "variables")}


def _in_needs_order(jobs: dict[str, dict[str, Any]], wanted: set[str]) -> list[str]:
    """The `wanted` jobs in an order a GitLab runner could start them (needs first)."""
    order: list[str] = []
    while len(order) < len(wanted):
        ready = [
            name
            for name in jobs
            if name in wanted
            and name not in order
            and all(n["job"] in order for n in jobs[name]["needs"] if n["job"] in wanted)
        ]
        assert ready, f"no job can start among {wanted - set(order)}"
        order.append(ready[0])
    return order


def _generate(project: Path, runner_for: Any, commit: str) -> tuple[dict[str, Any], bytes]:
    """Run the documented parent job that writes the child pipeline; its YAML and bytes."""
    parent = documented_parent()
    result = runner_for(parent).run(GENERATE, commit, 1)
    _ok(result, GENERATE)
    assert parent[GENERATE]["artifacts"]["paths"] == [CHILD_FILE]
    trigger = parent["deploy"]["trigger"]
    assert trigger["include"] == [{"artifact": CHILD_FILE, "job": GENERATE}]
    assert trigger["strategy"] == "depend"
    data = (project / CHILD_FILE).read_bytes()
    loaded: dict[str, Any] = yaml.safe_load(data)
    return loaded, data


def test_the_generated_pipeline_deploys_staging_then_prod(example: Path, emulator: Any) -> None:
    kubeconfig = str(emulator.kubeconfig_path)
    context = _context(kubeconfig)
    first = commit_all(example, "first release")
    parent = documented_parent()

    def runner_for(pipeline: dict[str, Any]) -> Runner:
        return Runner(example, pipeline, kubeconfig, context)

    child, data = _generate(example, runner_for, first)
    jobs = _children(child)
    # local is left out (ci.pipeline: false); prod waits for staging and for a person
    assert list(jobs) == ["deploy-dev", "deploy-staging", "deploy-prod"]
    assert jobs["deploy-prod"]["needs"] == [{"job": "deploy-staging", "artifacts": False}]
    assert jobs["deploy-prod"]["when"] == "manual"
    short = first[:8]
    assert '--set-string "web:image.tag=$CI_COMMIT_SHORT_SHA"' in jobs["deploy-prod"]["script"][0]

    # GitLab passes the parent's variables to the child pipeline's jobs
    runner = runner_for({**child, "variables": parent["variables"]})
    order = _in_needs_order(jobs, {"deploy-staging", "deploy-prod"})
    assert order == ["deploy-staging", "deploy-prod"]
    for name in order:
        env = name.removeprefix("deploy-")
        _ok(runner.run(name, first, 1), name)
        report = json.loads((example / f"deploy-{env}.json").read_text())
        assert report["status"] == "succeeded", report
        assert {r["status"] for r in report["releases"]} == {"deployed"}
        dotenv = (example / f"deploy-{env}.env").read_text().splitlines()
        assert "KDEPLOY_STATUS=succeeded" in dotenv
        assert (example / "manifests" / env / "web.yaml").is_file()

    listed = subprocess.run(
        ["kdeploy", "releases", "-e", "prod", "-o", "json"],
        cwd=example,
        env=runner.variables({}, first, 1),
        capture_output=True,
        text=True,
        check=True,
    )
    releases = json.loads(listed.stdout)["releases"]
    assert {r["gitCommit"] for r in releases} == {first}
    web = next(r for r in releases if r["release"] == "web")
    assert any(image.endswith(f":{short}") for image in web["images"]), web

    # the same commit generates the same bytes
    again = runner_for(parent).run(GENERATE, first, 2)
    _ok(again, GENERATE)
    assert (example / CHILD_FILE).read_bytes() == data


REGIONS = [f"prod-{r}-{n:02d}" for r in ("eu", "us") for n in range(1, 10)]


def _fleet(project: Path) -> None:
    """The fleet of docs/gitlab-ci.md: base (not deployed), staging, prod-canary after staging,
    eighteen regions after the canary; all extend base, each in its own cluster."""
    _copy_example(project)
    envs = project / "environments"
    prod = envs / "prod.yaml"
    base = prod.read_text()
    base = re.sub(r"(?ms)^cluster:\n(  .*?\n)+", "", base)
    base = re.sub(r"(?ms)^ci:\n(  .*?\n)+", "", base)
    for stale in envs.glob("*.yaml"):
        stale.unlink()
    (envs / "base.yaml").write_text("ci:\n  pipeline: false\n" + base)

    def env(name: str, ci: str) -> None:
        text = f"extends: base\ncluster:\n  context: {name}\nnamespace: fleet-{name}\n{ci}"
        (envs / f"{name}.yaml").write_text(text)

    env("staging", "")
    env("prod-canary", "ci:\n  needs: [staging]\n")
    for region in REGIONS:
        env(region, "ci:\n  needs: [prod-canary]\n  manual: false\n")


def test_a_fleet_of_twenty_environments_gets_twenty_ordered_jobs(
    tmp_path: Path, emulator: Any
) -> None:
    project = tmp_path / "fleet"
    _fleet(project)
    kubeconfig = str(emulator.kubeconfig_path)
    commit = commit_all(project, "fleet")

    def runner_for(pipeline: dict[str, Any]) -> Runner:
        return Runner(project, pipeline, kubeconfig, _context(kubeconfig))

    child, _ = _generate(project, runner_for, commit)
    jobs = _children(child)
    names = [name.removeprefix("deploy-") for name in jobs]
    assert names == ["staging", "prod-canary", *sorted(REGIONS)]
    assert len(jobs) == 20
    assert len({job["resource_group"] for job in jobs.values()}) == 20
    manual = [name for name, job in jobs.items() if job.get("when") == "manual"]
    assert manual == ["deploy-prod-canary"]
    assert jobs["deploy-prod-canary"]["allow_failure"] is False
    for region in REGIONS:
        job = jobs[f"deploy-{region}"]
        assert job["needs"] == [{"job": "deploy-prod-canary", "artifacts": False}]
        assert job["environment"] == {
            "name": region,
            "deployment_tier": "production",
            "url": "$KDEPLOY_ENVIRONMENT_URL",
        }
        assert job["script"][0].startswith(f"kdeploy apply -e {region} --yes --atomic ")
