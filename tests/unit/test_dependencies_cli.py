"""Library packages and package dependencies as a user meets them through `kdeploy render` and
`kdeploy lint`: imports by name, included manifests with their own values, conditions, version
constraints and confinement (docs/package-format.md, "Dependencies and library packages")."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ProjectBuilder, kd

HELPERS = """\
{% macro labels(release) -%}
app.kubernetes.io/name: {{ release.name }}
app.kubernetes.io/part-of: shop
{%- endmacro %}
{% macro name(release, suffix) -%}
{{ release.name }}-{{ suffix or base_suffix() }}
{%- endmacro %}
{% from "_base.j2" import base_suffix %}
"""
BASE = """\
{% macro base_suffix() -%}base{%- endmacro %}
"""
APP_CM = """\
{% import "common:helpers.j2" as h %}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ h.name(release, "config") }}
  labels:
    {{ h.labels(release) | indent(4) }}
data:
  greeting: {{ values.greeting | quote }}
"""
CACHE_SVC = """\
apiVersion: v1
kind: Service
metadata:
  name: {{ release.name }}-cache
spec:
  ports:
  - port: {{ values.port }}
"""


def _meta(name: str, version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
    return {"name": name, "version": version, **extra}


def _project(
    root: Path,
    deps: list[dict[str, Any]],
    *,
    common_version: str = "1.2.0",
    release_values: dict[str, Any] | None = None,
) -> ProjectBuilder:
    proj = ProjectBuilder(root)
    proj.package(
        "common",
        meta=_meta("common", common_version, type="library"),
        templates={"helpers.j2": HELPERS, "_base.j2": BASE},
    )
    proj.package(
        "cache",
        meta=_meta("cache", "2.1.0"),
        templates={"service.yaml": CACHE_SVC},
        values={"port": 6379, "enabled": True},
        schema={"type": "object", "properties": {"port": {"type": "integer"}}},
    )
    proj.package(
        "web",
        meta=_meta("web", dependencies=deps),
        templates={"configmap.yaml": APP_CM},
        values={"greeting": "hello"},
    )
    proj.environment(
        "dev",
        {"namespace": "shop", "releases": {"web": {"package": "web", **(release_values or {})}}},
    )
    return proj


COMMON = {"name": "common", "version": ">=1.0 <2"}
CACHE = {"name": "cache", "version": ">=2.0", "condition": "cache.enabled"}


def _kinds(docs: list[Any]) -> list[tuple[str, str]]:
    return [(d["kind"], d["metadata"]["name"]) for d in docs]


def test_library_macros_are_imported_by_package_name(tmp_path: Path) -> None:
    _project(tmp_path, [COMMON])
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 0, result.stderr
    (cm,) = result.docs()
    assert cm["metadata"]["name"] == "web-config"
    assert cm["metadata"]["labels"]["app.kubernetes.io/part-of"] == "shop"


def test_a_library_template_imports_its_own_files_by_bare_name(tmp_path: Path) -> None:
    proj = _project(tmp_path, [COMMON])
    proj.write(
        "packages/web/templates/configmap.yaml",
        APP_CM.replace('h.name(release, "config")', "h.name(release, none)"),
    )
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 0, result.stderr
    assert result.docs()[0]["metadata"]["name"] == "web-base"


def test_import_from_an_undeclared_package_names_the_package_yaml(tmp_path: Path) -> None:
    _project(tmp_path, [])
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 1
    assert "packages/web/templates/configmap.yaml:1" in result.stderr
    assert "'common' is not a dependency of package web" in result.stderr
    assert "packages/web/package.yaml" in result.stderr


def test_a_library_package_renders_no_manifests_of_its_own(tmp_path: Path) -> None:
    proj = _project(tmp_path, [COMMON])
    proj.environment("lib", {"namespace": "x", "releases": {"c": {"package": "common"}}})
    result = kd(tmp_path, "render", "-e", "lib")
    assert result.code == 1
    assert "package common is a library" in result.stderr


def test_dependency_manifests_render_with_their_own_values_subtree(tmp_path: Path) -> None:
    _project(tmp_path, [COMMON, CACHE], release_values={"values": {"cache": {"port": 7000}}})
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 0, result.stderr
    docs = result.docs()
    assert _kinds(docs) == [("ConfigMap", "web-config"), ("Service", "web-cache")]
    svc = docs[1]
    assert svc["spec"]["ports"][0]["port"] == 7000
    assert svc["metadata"]["namespace"] == "shop"
    assert svc["metadata"]["labels"]["app.kubernetes.io/instance"] == "web"


def test_dependency_condition_false_leaves_its_manifests_out(tmp_path: Path) -> None:
    _project(tmp_path, [CACHE], release_values={"values": {"cache": {"enabled": False}}})
    (tmp_path / "packages/web/templates/configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n"
    )
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 0, result.stderr
    assert _kinds(result.docs()) == [("ConfigMap", "plain")]
    on = kd(tmp_path, "render", "-e", "dev", "--set", "cache.enabled=true")
    assert _kinds(on.docs()) == [("ConfigMap", "plain"), ("Service", "web-cache")]


def test_dependency_values_are_checked_against_its_schema(tmp_path: Path) -> None:
    _project(tmp_path, [CACHE], release_values={"values": {"cache": {"port": "http"}}})
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 1
    assert "packages/cache/values.schema.yaml" in result.stderr
    assert "port: 'http' is not of type 'integer'" in result.stderr
    assert "web > cache" in result.stderr


def test_dependency_version_mismatch_names_both_packages(tmp_path: Path) -> None:
    _project(tmp_path, [COMMON], common_version="2.0.0")
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 1
    assert 'package web requires common ">=1.0 <2"' in result.stderr
    assert "packages/common is version 2.0.0" in result.stderr
    assert kd(tmp_path, "lint", "-e", "dev").code == 1


def test_dependency_on_an_unknown_package_is_refused(tmp_path: Path) -> None:
    _project(tmp_path, [{"name": "../outside", "version": "1"}])
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 1
    assert "packages/web/package.yaml: dependencies[0]: unknown package '../outside'" in (
        result.stderr
    )


def test_dependency_cycle_is_refused(tmp_path: Path) -> None:
    proj = _project(tmp_path, [CACHE])
    proj.write(
        "packages/cache/package.yaml",
        _meta("cache", "2.1.0", dependencies=[{"name": "web", "version": ">=1"}]),
    )
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 1
    assert "dependency cycle: web -> cache -> web" in result.stderr


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_library_template_linking_outside_its_package_is_refused(tmp_path: Path) -> None:
    _project(tmp_path, [COMMON])
    secret = tmp_path.parent / f"{tmp_path.name}-kubeconfig"
    secret.write_text("token: s3cr3t-value\n")
    helpers = tmp_path / "packages/common/templates/helpers.j2"
    helpers.unlink()
    helpers.symlink_to(secret)
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 1
    assert "resolves outside the package directory packages/common" in result.stderr
    assert "s3cr3t-value" not in result.stderr + result.stdout


def test_error_in_a_library_macro_names_the_library_file_and_line(tmp_path: Path) -> None:
    proj = _project(tmp_path, [COMMON])
    proj.write(
        "packages/common/templates/helpers.j2",
        HELPERS.replace("app.kubernetes.io/part-of: shop", "x: {{ release.nope.deeper }}"),
    )
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 1
    assert "packages/common/templates/helpers.j2:3" in result.stderr
    assert "while rendering packages/web/templates/configmap.yaml" in result.stderr


def test_app_version_written_as_a_number_is_refused_with_a_hint_to_quote(tmp_path: Path) -> None:
    proj = _project(tmp_path, [COMMON])
    proj.write("packages/web/package.yaml", "name: web\nversion: 1.0.0\nappVersion: 2.10\n")
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 1
    assert "packages/web/package.yaml: appVersion must be a string" in result.stderr
    assert "appVersion must be a string, not a number (2.1)" in result.stderr
    assert "quote it" in result.stderr
