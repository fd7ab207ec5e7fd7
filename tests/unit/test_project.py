"""Loading packages and environments: shapes, `extends`, layers in precedence order, and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdeploy.errors import ProjectError
from kdeploy.project import load_environment, load_package, load_project
from tests.helpers import ProjectBuilder


@pytest.fixture
def proj(tmp_path: Path) -> ProjectBuilder:
    builder = ProjectBuilder(tmp_path)
    builder.package("web", values={"replicas": 1, "image": {"tag": "1.0"}})
    builder.package("redis")
    return builder


def test_load_project_lists_packages_and_environments(proj: ProjectBuilder) -> None:
    proj.environment("prod", {"namespace": "prod"})
    proj.environment("dev", {"namespace": "dev"})
    (proj.root / "packages" / "not-a-package").mkdir()
    project = load_project(proj.root)
    assert project.packages == ("redis", "web")
    assert project.environments == ("dev", "prod")


def test_load_project_rejects_a_directory_without_packages_or_environments(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="is not a kdeploy project") as info:
        load_project(tmp_path)
    assert "-C DIR" in info.value.format_message()


def test_load_package_reads_metadata_defaults_and_schema(proj: ProjectBuilder) -> None:
    proj.package(
        "api",
        meta={
            "name": "api",
            "version": "2.1.0-rc.1+build.5",
            "description": "API",
            "kubeVersion": ">=1.28",
            "lint": {"disable": ["KD001"]},
        },
        values={"port": 8080},
        schema={"type": "object"},
    )
    pkg = load_package(load_project(proj.root), "api")
    assert (pkg.name, pkg.version, pkg.description, pkg.kube_version) == (
        "api",
        "2.1.0-rc.1+build.5",
        "API",
        ">=1.28",
    )
    assert pkg.lint_disable == ("KD001",)
    assert pkg.defaults == {"port": 8080}
    assert pkg.schema == {"type": "object"}


def test_a_package_is_loaded_once(proj: ProjectBuilder) -> None:
    project = load_project(proj.root)
    assert load_package(project, "web") is load_package(project, "web")


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"name": "web", "version": "1.0"}, "version '1.0' is not a semantic version"),
        ({"name": "web", "version": 1}, "version 1 is not a semantic version"),
        (
            {"name": "other", "version": "1.0.0"},
            "name 'other' does not match the directory name 'web'",
        ),
        ({"version": "1.0.0"}, "name must be a non-empty string"),
        ({"name": "web", "version": "1.0.0", "colour": "red"}, "unknown key 'colour'"),
        (
            {"name": "web", "version": "1.0.0", "lint": {"disable": "KD001"}},
            "lint.disable must be a list",
        ),
        (["name"], "must be a mapping, not a list"),
    ],
)
def test_bad_package_yaml_names_the_file(proj: ProjectBuilder, meta: object, message: str) -> None:
    proj.write("packages/web/package.yaml", meta)  # type: ignore[arg-type]
    with pytest.raises(ProjectError) as info:
        load_package(load_project(proj.root), "web")
    text = info.value.format_message()
    assert text.startswith("packages/web/package.yaml")
    assert message in text


def test_malformed_values_yaml_names_file_and_line(proj: ProjectBuilder) -> None:
    proj.write("packages/web/values.yaml", "replicas: 1\nimage: [a,\n")
    with pytest.raises(ProjectError, match=r"^packages/web/values.yaml:3:1: invalid YAML"):
        load_package(load_project(proj.root), "web")


def test_unknown_package_lists_the_known_ones(proj: ProjectBuilder) -> None:
    with pytest.raises(ProjectError) as info:
        load_package(load_project(proj.root), "nope")
    assert "unknown package 'nope'" in info.value.format_message()
    assert "redis, web" in info.value.format_message()


def test_environment_layers_are_in_precedence_order(proj: ProjectBuilder) -> None:
    proj.environment(
        "prod",
        {
            "cluster": {"context": "prod-ctx"},
            "namespace": "shop",
            "values": {"from": "prod-env"},
            "releases": {
                "web": {
                    "package": "web",
                    "valuesFiles": ["values/web.yaml"],
                    "values": {"from": "prod-rel"},
                },
                "cache": {"package": "redis", "namespace": "cache"},
            },
        },
    )
    proj.write("environments/values/web.yaml", {"from": "prod-file"})
    proj.environment(
        "staging",
        {
            "extends": "prod",
            "cluster": {"context": "staging-ctx"},
            "values": {"from": "staging-env"},
            "releases": {"web": {"values": {"from": "staging-rel"}}, "extra": {"package": "web"}},
        },
    )
    env = load_environment(load_project(proj.root), "staging")
    assert env.chain == ("prod", "staging")
    assert env.cluster.context == "staging-ctx"
    assert env.namespace == "shop"
    assert [r.name for r in env.releases] == ["web", "cache", "extra"]
    web = env.releases[0]
    assert (web.package, web.namespace, web.environment) == ("web", "shop", "staging")
    assert [layer.values["from"] for layer in web.layers] == [
        "prod-env",
        "staging-env",
        "prod-file",
        "prod-rel",
        "staging-rel",
    ]
    assert web.layers[2].source == "environments/values/web.yaml"
    assert env.releases[1].namespace == "cache"


def test_a_child_environment_can_drop_an_inherited_release(proj: ProjectBuilder) -> None:
    proj.environment(
        "prod", {"releases": {"web": {"package": "web"}, "cache": {"package": "redis"}}}
    )
    proj.environment("dev", {"extends": "prod", "releases": {"cache": None}})
    env = load_environment(load_project(proj.root), "dev")
    assert [r.name for r in env.releases] == ["web"]
    assert env.namespace == "default"


def test_extends_cycle_names_the_chain(proj: ProjectBuilder) -> None:
    proj.environment("a", {"extends": "b"})
    proj.environment("b", {"extends": "c"})
    proj.environment("c", {"extends": "a"})
    with pytest.raises(ProjectError, match=r"`extends` cycle: a -> b -> c -> a"):
        load_environment(load_project(proj.root), "a")


def test_unknown_environment_lists_the_valid_ones(proj: ProjectBuilder) -> None:
    proj.environment("dev", {})
    proj.environment("prod", {})
    with pytest.raises(ProjectError) as info:
        load_environment(load_project(proj.root), "qa")
    assert "unknown environment 'qa'" in info.value.format_message()
    assert "dev, prod" in info.value.format_message()


def test_extends_of_an_unknown_environment_names_the_file(proj: ProjectBuilder) -> None:
    proj.environment("dev", {"extends": "base"})
    with pytest.raises(
        ProjectError, match=r"environments/dev.yaml: extends: unknown environment 'base'"
    ):
        load_environment(load_project(proj.root), "dev")


def test_unknown_package_in_a_release_names_the_env_file_and_lists_packages(
    proj: ProjectBuilder,
) -> None:
    proj.environment("dev", {"releases": {"web": {"package": "webb"}}})
    with pytest.raises(ProjectError) as info:
        load_environment(load_project(proj.root), "dev")
    message = info.value.format_message()
    assert "environments/dev.yaml: releases.web.package: unknown package 'webb'" in message
    assert "redis, web" in message


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"releases": {"web": {}}}, "releases.web: no package given"),
        ({"releases": {"Web_1": {"package": "web"}}}, "'Web_1' is not a valid release name"),
        ({"namespace": "Prod"}, "'Prod' is not a valid namespace name"),
        (
            {"releases": {"web": {"package": "web", "valuesFiles": ["missing.yaml"]}}},
            "missing.yaml: file not found",
        ),
        ({"releases": {"web": {"package": "web", "vaules": {}}}}, "unknown key 'vaules'"),
        ({"releases": ["web"]}, "releases must be a mapping, not a list"),
        ({"cluster": "prod"}, "cluster must be a mapping"),
    ],
)
def test_bad_environment_names_the_file(
    proj: ProjectBuilder, env: dict[str, object], message: str
) -> None:
    proj.environment("dev", env)
    with pytest.raises(ProjectError) as info:
        load_environment(load_project(proj.root), "dev")
    text = info.value.format_message()
    assert text.startswith("environments/dev.yaml")
    assert message in text


def test_malformed_environment_yaml_names_file_and_line(proj: ProjectBuilder) -> None:
    proj.environment("dev", "namespace: dev\nreleases:\n  web:\n    package: web\n   values: {}\n")
    with pytest.raises(ProjectError, match=r"^environments/dev.yaml:5:\d+: invalid YAML"):
        load_environment(load_project(proj.root), "dev")


def test_kubeconfig_is_relative_to_the_environment_file(proj: ProjectBuilder) -> None:
    proj.environment("dev", {"cluster": {"context": "kind", "kubeconfig": "../kube/config"}})
    env = load_environment(load_project(proj.root), "dev")
    assert env.cluster.kubeconfig == str((proj.root / "kube" / "config").resolve())


def test_a_package_directory_without_package_yaml_is_explained(proj: ProjectBuilder) -> None:
    (proj.root / "packages" / "api" / "templates").mkdir(parents=True)
    proj.environment("dev", {"releases": {"api": {"package": "api"}}})
    with pytest.raises(ProjectError) as info:
        load_environment(load_project(proj.root), "dev")
    assert "packages/api/ has no package.yaml" in info.value.format_message()


def test_package_lookup_opt_in_is_read_and_must_be_a_boolean(proj: ProjectBuilder) -> None:
    proj.package("api", meta={"name": "api", "version": "1.0.0", "lookup": True})
    assert load_package(load_project(proj.root), "api").lookup is True
    assert load_package(load_project(proj.root), "web").lookup is False
    proj.package("bad", meta={"name": "bad", "version": "1.0.0", "lookup": "yes"})
    with pytest.raises(ProjectError, match="lookup must be true or false, not a string"):
        load_package(load_project(proj.root), "bad")
