"""`kdeploy ci pipeline`: the GitLab child pipeline it writes (structure, order, gates, resource
groups, reports), the `ci:` section of environment files and its errors naming file:line, and
what happens on bad input (exit 1, nothing written). Running the jobs is
tests/e2e/test_ci_pipeline.py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import CliResult, ProjectBuilder, kd

JOB_KEYS = {"stage", "needs", "resource_group", "environment", "script", "artifacts"}


@pytest.fixture
def proj(tmp_path: Path) -> ProjectBuilder:
    """dev, staging (needs dev) and prod (needs staging), each deploying release web."""
    builder = ProjectBuilder(tmp_path / "proj")
    builder.package("web")
    release = "releases:\n  web:\n    package: web\n"
    builder.environment("dev", f"namespace: shop-dev\n{release}")
    builder.environment("staging", f"namespace: shop-staging\nci:\n  needs: [dev]\n{release}")
    builder.environment("prod", f"namespace: shop\nci:\n  needs: [staging]\n{release}")
    return builder


def pipeline(result: CliResult) -> dict[str, Any]:
    assert result.code == 0, result.stderr
    loaded: dict[str, Any] = yaml.safe_load(result.stdout)
    return loaded


def jobs(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in doc.items() if k not in ("stages", "default", "variables")}


def needed(job: dict[str, Any]) -> list[str]:
    return [n["job"] for n in job["needs"]]


def test_one_deploy_job_per_environment_in_needs_order(proj: ProjectBuilder) -> None:
    doc = pipeline(kd(proj.root, "ci", "pipeline"))
    assert doc["stages"] == ["deploy"]
    assert list(jobs(doc)) == ["deploy-dev", "deploy-staging", "deploy-prod"]
    found = jobs(doc)
    assert needed(found["deploy-dev"]) == []
    assert needed(found["deploy-staging"]) == ["deploy-dev"]
    assert needed(found["deploy-prod"]) == ["deploy-staging"]
    # an earlier environment's artifacts (its dotenv variables) never reach the next job
    assert all(n["artifacts"] is False for job in found.values() for n in job["needs"])
    for name, job in found.items():
        env = name.removeprefix("deploy-")
        assert set(job) >= JOB_KEYS, name
        assert job["stage"] == "deploy"
        assert job["resource_group"] == env
        assert job["environment"]["name"] == env
        assert job["environment"]["url"] == "$KDEPLOY_ENVIRONMENT_URL"
        assert job["script"] == [
            f"kdeploy apply -e {env} --yes --atomic --report deploy-{env}.json "
            f"--dotenv deploy-{env}.env --manifests-out manifests/{env}/"
        ]
        assert job["artifacts"] == {
            "when": "always",
            "paths": [f"deploy-{env}.json", f"manifests/{env}/"],
            "reports": {"dotenv": f"deploy-{env}.env"},
        }


def test_production_tier_gets_a_manual_gate_that_blocks_the_pipeline(proj: ProjectBuilder) -> None:
    found = jobs(pipeline(kd(proj.root, "ci", "pipeline")))
    prod = found["deploy-prod"]
    assert prod["environment"]["deployment_tier"] == "production"
    assert prod["when"] == "manual"
    assert prod["allow_failure"] is False
    for name in ("deploy-dev", "deploy-staging"):
        assert "when" not in found[name]
    assert found["deploy-dev"]["environment"]["deployment_tier"] == "development"
    assert found["deploy-staging"]["environment"]["deployment_tier"] == "staging"


def test_ci_section_sets_tier_gate_and_resource_group(proj: ProjectBuilder) -> None:
    proj.environment(
        "dev",
        "namespace: shop-dev\nci:\n  tier: testing\n  manual: true\n"
        "  resourceGroup: shared-cluster\nreleases:\n  web:\n    package: web\n",
    )
    proj.environment(
        "prod",
        "namespace: shop\nci:\n  needs: staging\n  manual: false\nreleases:\n  web:\n"
        "    package: web\n",
    )
    found = jobs(pipeline(kd(proj.root, "ci", "pipeline")))
    assert found["deploy-dev"]["environment"]["deployment_tier"] == "testing"
    assert found["deploy-dev"]["when"] == "manual"
    assert found["deploy-dev"]["resource_group"] == "shared-cluster"
    assert "when" not in found["deploy-prod"]
    assert needed(found["deploy-prod"]) == ["deploy-staging"]


def test_ci_section_is_not_inherited_through_extends(proj: ProjectBuilder) -> None:
    proj.environment("canary", "extends: prod\nnamespace: shop-canary\n")
    found = jobs(pipeline(kd(proj.root, "ci", "pipeline", "-e", "canary", "-e", "prod")))
    # canary extends prod but neither waits for staging nor copies prod's gate
    assert needed(found["deploy-canary"]) == []
    assert found["deploy-canary"]["environment"]["deployment_tier"] == "other"
    assert "when" not in found["deploy-canary"]


def test_selected_environments_keep_the_order_through_ones_left_out(
    proj: ProjectBuilder,
) -> None:
    result = kd(proj.root, "ci", "pipeline", "-e", "prod", "-e", "dev")
    found = jobs(pipeline(result))
    assert list(found) == ["deploy-dev", "deploy-prod"]
    assert needed(found["deploy-prod"]) == ["deploy-dev"]
    assert (
        "note: prod needs staging, which is not in this pipeline: deploy-prod does not wait "
        "for it" in result.stderr
    )


def test_pipeline_false_leaves_an_environment_out_unless_named(proj: ProjectBuilder) -> None:
    proj.environment(
        "local", "namespace: demo\nci:\n  pipeline: false\nreleases:\n  web:\n    package: web\n"
    )
    assert "deploy-local" not in pipeline(kd(proj.root, "ci", "pipeline"))
    assert list(jobs(pipeline(kd(proj.root, "ci", "pipeline", "-e", "local")))) == ["deploy-local"]


def test_forwarded_values_reach_every_apply_with_variables_left_to_the_job(
    proj: ProjectBuilder,
) -> None:
    result = kd(
        proj.root,
        "ci",
        "pipeline",
        "-e",
        "dev",
        "--set-string",
        "web:image.tag=$CI_COMMIT_SHORT_SHA",
        "--set",
        'greeting=a "quoted" word',
    )
    (script,) = jobs(pipeline(result))["deploy-dev"]["script"]
    assert script == (
        'kdeploy apply -e dev --yes --atomic --set "greeting=a \\"quoted\\" word" '
        '--set-string "web:image.tag=$CI_COMMIT_SHORT_SHA" --report deploy-dev.json '
        "--dotenv deploy-dev.env --manifests-out manifests/dev/"
    )


def test_a_forwarded_value_runs_nothing_in_the_job_but_its_variables(
    proj: ProjectBuilder,
) -> None:
    # a parent job forwarding a commit title or a password: only $NAME and ${NAME} are expanded
    given = "greeting=$(touch pwned) `touch pwned2` ${X@P} pa$$ $TAG ${TAG}"
    result = kd(proj.root, "ci", "pipeline", "-e", "dev", "--set-string", given)
    (script,) = jobs(pipeline(result))["deploy-dev"]["script"]
    word = script.split("--set-string ", 1)[1].split(" --report", 1)[0]
    shown = subprocess.run(
        ["bash", "-c", f"printf %s {word}"],
        capture_output=True,
        text=True,
        cwd=proj.root,
        env={"TAG": "1.2.3", "X": "$(touch pwned3)", "PATH": os.environ["PATH"]},
        check=True,
    ).stdout
    assert shown == "greeting=$(touch pwned) `touch pwned2` ${X@P} pa$$ 1.2.3 1.2.3"
    assert not list(proj.root.glob("pwned*"))


def test_a_forwarded_value_for_an_unknown_release_is_refused(proj: ProjectBuilder) -> None:
    out = proj.root / "child.yml"
    result = kd(proj.root, "ci", "pipeline", "-o", str(out), "--set-string", "wbe:image.tag=1")
    assert result.code == 1
    assert 'Error: --set-string "wbe:image.tag=1": environment dev has no release "wbe"' in (
        result.stderr
    )
    assert not out.exists()


def test_image_option_replaces_the_pip_install(proj: ProjectBuilder) -> None:
    plain = kd(proj.root, "ci", "pipeline")
    default = pipeline(plain)["default"]
    assert default["image"] == "python:3.12"
    assert default["before_script"][0].startswith("pip install -q kdeploy==")
    # the install runs with the deploy credentials: the user is told where it comes from
    assert "note: without --image the deploy jobs install kdeploy==" in plain.stderr
    given = kd(proj.root, "ci", "pipeline", "--image", "registry.example.com/kdeploy:1")
    own = pipeline(given)
    assert own["default"] == {"image": "registry.example.com/kdeploy:1"}
    assert "without --image" not in given.stderr


def test_output_file_is_written_and_the_same_input_gives_the_same_bytes(
    proj: ProjectBuilder,
) -> None:
    first = kd(proj.root, "ci", "pipeline", "-o", "child.yml")
    assert first.code == 0, first.stderr
    assert first.stdout == ""
    assert "wrote child.yml: 3 deploy job(s): dev, staging, prod" in first.stderr
    written = (proj.root / "child.yml").read_bytes()
    assert kd(proj.root, "ci", "pipeline", "-o", "child.yml").code == 0
    assert (proj.root / "child.yml").read_bytes() == written
    assert kd(proj.root, "ci", "pipeline").stdout.encode() == written
    # -e order does not matter: the needs decide it
    again = kd(proj.root, "ci", "pipeline", "-e", "prod", "-e", "staging", "-e", "dev")
    assert again.stdout.encode() == written


def test_unknown_environment_exits_1_naming_it_and_writes_nothing(proj: ProjectBuilder) -> None:
    result = kd(proj.root, "ci", "pipeline", "-e", "prod", "-e", "stagin", "-o", "child.yml")
    assert result.code == 1
    assert "Error: unknown environment 'stagin'" in result.stderr
    assert "environments in this project: dev, prod, staging" in result.stderr
    assert not (proj.root / "child.yml").exists()


def _env_with_ci(proj: ProjectBuilder, ci: str) -> None:
    proj.environment(
        "prod", f"namespace: shop\n# comment\nci:\n{ci}releases:\n  web:\n    package: web\n"
    )


@pytest.mark.parametrize(
    ("ci", "message"),
    [
        ("  need: [staging]\n", "environments/prod.yaml:4: ci: unknown key 'need'"),
        (
            "  needs: [staging, stagin]\n",
            "environments/prod.yaml:4: ci.needs: unknown environment 'stagin'",
        ),
        (
            "  needs:\n    - staging\n    - prod\n",
            "environments/prod.yaml:6: ci.needs: environment prod cannot need itself",
        ),
        (
            "  needs: {staging: true}\n",
            "environments/prod.yaml:4: ci.needs must be a list of environment names, not a mapping",
        ),
        (
            "  tier: prod\n",
            "environments/prod.yaml:4: ci.tier: 'prod' is not a GitLab deployment tier",
        ),
        ("  manual: yes\n", "environments/prod.yaml:4: ci.manual must be true or false"),
        (
            "  resourceGroup: 'a:b'\n",
            "environments/prod.yaml:4: ci.resourceGroup: 'a:b' is not a resource group name",
        ),
    ],
)
def test_a_bad_ci_section_names_file_and_line_and_writes_nothing(
    proj: ProjectBuilder, ci: str, message: str
) -> None:
    _env_with_ci(proj, ci)
    result = kd(proj.root, "ci", "pipeline", "-o", "child.yml")
    assert result.code == 1
    assert f"Error: {message}" in result.stderr
    assert not (proj.root / "child.yml").exists()


@pytest.mark.parametrize(
    ("ci", "message"),
    [
        ("  need: [staging]\n", "environments/prod.yaml:4: ci: unknown key 'need'"),
        ("  needs: [nope]\n", "environments/prod.yaml:4: ci.needs: unknown environment 'nope'"),
    ],
)
def test_lint_checks_the_ci_section_so_a_merge_request_finds_it(
    proj: ProjectBuilder, ci: str, message: str, tmp_path: Path
) -> None:
    _env_with_ci(proj, ci)
    junit = tmp_path / "lint.xml"
    result = kd(proj.root, "lint", "-e", "prod", "--junit", str(junit))
    assert result.code == 1
    assert f"Error: {message}" in result.stderr
    assert message in junit.read_text()
    # the other environments' lint is not affected by prod's file
    assert kd(proj.root, "lint", "-e", "dev").code == 0


def test_a_needs_loop_is_refused_naming_it(proj: ProjectBuilder) -> None:
    proj.environment(
        "dev", "namespace: shop-dev\nci:\n  needs: [prod]\nreleases:\n  web:\n    package: web\n"
    )
    result = kd(proj.root, "ci", "pipeline", "-o", "child.yml")
    assert result.code == 1
    assert (
        "Error: environments/dev.yaml:3: ci.needs: the environments need each other in a loop: "
        "dev -> prod -> staging -> dev" in result.stderr
    )
    assert not (proj.root / "child.yml").exists()


def test_other_commands_accept_and_ignore_the_ci_section(proj: ProjectBuilder) -> None:
    result = kd(proj.root, "render", "-e", "prod")
    assert result.code == 0, result.stderr
    assert [d["kind"] for d in result.docs()] == ["ConfigMap"]


@pytest.mark.parametrize(
    ("name", "tier"),
    [
        ("prod", "production"),
        ("prod-eu-1", "production"),
        ("production", "production"),
        ("live", "production"),
        ("pre-prod", "staging"),
        ("staging-us", "staging"),
        ("qa", "testing"),
        ("review-42", "development"),
        ("dev", "development"),
        ("sandbox", "development"),
        ("eu-west", "other"),
        ("product-catalog", "other"),
    ],
)
def test_the_tier_is_guessed_from_the_name(name: str, tier: str) -> None:
    from kdeploy.cisettings import guess_tier

    assert guess_tier(name) == tier


def test_an_environment_name_gitlab_refuses_is_an_error(proj: ProjectBuilder) -> None:
    proj.environment("eu:west", "namespace: eu\nreleases:\n  web:\n    package: web\n")
    result = kd(proj.root, "ci", "pipeline", "-o", "child.yml")
    assert result.code == 1
    assert "Error: environments/eu:west.yaml: 'eu:west' cannot name a GitLab environment" in (
        result.stderr
    )
    assert not (proj.root / "child.yml").exists()
