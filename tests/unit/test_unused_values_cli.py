"""Values that no template uses are reported (render/lint warn, naming file:line or the flag, with
the nearest used key), and schema errors name the file and line or the flag that set the value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import ProjectBuilder, kd

ROOT = Path(__file__).resolve().parents[2]

CONFIG_TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}
data:
  replicas: "{{ values.replicaCount }}"
  tag: {{ values.image.tag | quote }}
{% if values.ingress.enabled %}
  host: {{ values.ingress.host }}
{% endif %}
  resources: {{ values.resources | tojson | quote }}
{% for key, value in values.labels | dictsort %}
  label-{{ key }}: {{ value | quote }}
{% endfor %}
"""
DEFAULTS = {
    "replicaCount": 1,
    "image": {"tag": "1.0"},
    "ingress": {"enabled": False},
    "resources": {},
    "labels": {},
}
REDIS_TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}
data:
  port: "{{ values.port }}"
"""


@pytest.fixture
def proj(tmp_path: Path) -> ProjectBuilder:
    builder = ProjectBuilder(tmp_path)
    builder.package("app", values=DEFAULTS, templates={"config.yaml": CONFIG_TEMPLATE})
    builder.package("cache", values={"port": 6379}, templates={"config.yaml": REDIS_TEMPLATE})
    builder.environment(
        "dev",
        """\
        namespace: shop
        values:
          port: 6380
        releases:
          web:
            package: app
            values:
              replicaCount: 2
              image:
                tga: "2.0"
              ingress:
                host: shop.example.com
              resources:
                limits: {cpu: "1"}
              labels:
                team: shop
          cache:
            package: cache
        """,
    )
    return builder


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


def test_render_warns_about_a_misspelt_set_value_and_suggests_the_key(
    proj: ProjectBuilder,
) -> None:
    plain = kd(proj.root, "render", "-e", "dev")
    typo = kd(proj.root, "render", "-e", "dev", "--set", "web:replicaCont=5")
    assert typo.code == 0, typo.stderr
    assert typo.stdout == plain.stdout  # stdout stays the manifests
    assert (
        "warning: release web: replicaCont (set by --set web:replicaCont) is not used by any "
        "template; did you mean replicaCount?"
    ) in warnings(typo.stderr)


def test_a_typo_in_the_environment_file_is_named_with_its_line(proj: ProjectBuilder) -> None:
    result = kd(proj.root, "render", "-e", "dev")
    assert result.code == 0, result.stderr
    assert warnings(result.stderr) == [
        "warning: release web: image.tga (set in environments/dev.yaml:10) is not used by any "
        "template; did you mean image.tag?"
    ]


def test_values_read_whole_in_a_skipped_branch_or_shared_are_not_reported(
    proj: ProjectBuilder,
) -> None:
    """resources.limits.cpu is read through `resources | tojson`, labels.team through a loop,
    ingress.host only in a branch not taken, and the environment's `port` by release cache."""
    result = kd(proj.root, "render", "-e", "dev", "web")
    assert result.code == 0, result.stderr
    assert [w for w in warnings(result.stderr) if "image.tga" not in w] == []


def test_a_value_set_for_every_release_and_used_by_none_is_reported_once(
    proj: ProjectBuilder,
) -> None:
    result = kd(proj.root, "render", "-e", "dev", "--set", "prot=1")
    assert [w for w in warnings(result.stderr) if "prot" in w] == [
        "warning: release web: prot (set by --set prot) is not used by any release's "
        "templates; did you mean port?"
    ]


def test_the_warning_never_shows_the_value_given(proj: ProjectBuilder) -> None:
    result = kd(proj.root, "render", "-e", "dev", "--set-string", "web:dbPasword=hunter2")
    assert "dbPasword (set by --set-string web:dbPasword)" in result.stderr
    assert "hunter2" not in result.stderr


def test_lint_reports_unused_values_as_a_warning_finding(proj: ProjectBuilder) -> None:
    result = kd(proj.root, "lint", "-e", "dev", "-o", "json", "--set", "web:replicaCont=5")
    assert result.code == 0, result.stderr  # a warning never fails lint
    findings = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "values-unused"]
    assert {(f["path"], f["source"], f["severity"]) for f in findings} == {
        ("image.tga", "environments/dev.yaml:10", "warning"),
        ("replicaCont", "--set web:replicaCont", "warning"),
    }
    assert any("did you mean replicaCount?" in f["message"] for f in findings)


def test_a_package_that_disables_the_rule_gets_no_warnings(proj: ProjectBuilder) -> None:
    proj.write(
        "packages/app/package.yaml",
        {"name": "app", "version": "1.0.0", "lint": {"disable": ["values-unused"]}},
    )
    result = kd(proj.root, "render", "-e", "dev", "--set", "web:replicaCont=5")
    assert result.code == 0, result.stderr
    assert warnings(result.stderr) == []


@pytest.mark.parametrize("env", ["dev", "local", "prod", "staging"])
def test_the_example_project_sets_no_unused_value(env: str) -> None:
    result = kd(ROOT, "lint", "-e", env, "-o", "json")
    findings = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "values-unused"]
    assert findings == []


SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "replicaCount": {"type": "integer", "minimum": 1},
        "image": {"type": "object"},
        "ingress": {"type": "object"},
        "resources": {"type": "object"},
        "labels": {"type": "object"},
    },
}


def test_a_schema_error_names_the_file_and_line_that_set_the_value(
    proj: ProjectBuilder,
) -> None:
    proj.write("packages/app/values.schema.yaml", SCHEMA)
    proj.write(
        "environments/dev.yaml",
        (proj.root / "environments/dev.yaml")
        .read_text()
        .replace("replicaCount: 2", "replicaCount: 0"),
    )
    result = kd(proj.root, "render", "-e", "dev", "web")
    assert result.code == 1
    assert (
        "replicaCount: 0 is less than the minimum of 1 (set in environments/dev.yaml:8)"
        in result.stderr
    )


def test_a_schema_error_names_the_flag_and_the_nearest_key(proj: ProjectBuilder) -> None:
    proj.write("packages/app/values.schema.yaml", SCHEMA)
    result = kd(proj.root, "render", "-e", "dev", "web", "--set", "replicaCont=3")
    assert result.code == 1
    assert "Additional properties are not allowed" in result.stderr
    assert "replicaCont set by --set replicaCont; did you mean replicaCount?" in result.stderr
    assert result.stdout == ""


def test_values_of_a_dependency_are_checked_under_its_alias(tmp_path: Path) -> None:
    proj = ProjectBuilder(tmp_path)
    proj.package(
        "cache",
        templates={"svc.yaml": REDIS_TEMPLATE.replace("release.name }}", "release.name }}-cache")},
        values={"port": 6379, "enabled": True},
    )
    proj.package(
        "app",
        values=DEFAULTS,
        templates={"config.yaml": CONFIG_TEMPLATE},
        meta={
            "name": "app",
            "version": "1.0.0",
            "dependencies": [{"name": "cache", "version": ">=1", "condition": "cache.enabled"}],
        },
    )
    proj.environment(
        "dev",
        {
            "namespace": "shop",
            "releases": {
                "web": {"package": "app", "values": {"cache": {"port": 7000, "enabled": True}}}
            },
        },
    )
    result = kd(tmp_path, "render", "-e", "dev", "--set", "cache.prot=1")
    assert result.code == 0, result.stderr
    assert warnings(result.stderr) == [
        "warning: release web: cache.prot (set by --set cache.prot) is not used by any "
        "release's templates; did you mean cache.port?"
    ]


def test_values_read_whole_through_toyaml_are_not_reported(tmp_path: Path) -> None:
    """toyaml of a values mapping reads all of it, nested keys included; a sibling no template
    reads is still reported."""
    builder = ProjectBuilder(tmp_path)
    template = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ release.name }}\n"
        "data:\n  resources: |\n    {{ values.resources | toyaml(indent=4) }}\n"
    )
    builder.package(
        "app",
        values={"resources": {"limits": {"cpu": "1"}}, "extra": {}},
        templates={"config.yaml": template},
    )
    builder.environment(
        "dev",
        "namespace: shop\nreleases:\n  web:\n    package: app\n    values:\n"
        "      resources: {requests: {memory: 64Mi}}\n      extra: {unread: 1}\n",
    )
    result = kd(builder.root, "render", "-e", "dev")
    assert result.code == 0, result.stderr
    assert "memory: 64Mi" in result.stdout and "cpu: '1'" in result.stdout
    assert [w for w in warnings(result.stderr) if "resources" in w] == []
    assert any("extra.unread" in w for w in warnings(result.stderr)), result.stderr
