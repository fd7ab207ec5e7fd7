"""Names, namespaces, labels and annotations of rendered objects, checked at render time against
the API server's rules, and the render error that names the template, object, bad value and rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kdeploy.validate import metadata_problems, name_problem
from tests.helpers import ProjectBuilder, kd


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("ConfigMap", "web-config"),
        ("ConfigMap", "web.config.v1"),
        ("ConfigMap", "a" * 253),
        ("Deployment", "1web"),
        ("Namespace", "shop-1"),
        ("Namespace", "a" * 63),
        ("Service", "web"),
        ("ClusterRole", "system:aggregate-to-edit"),
        ("RoleBinding", "Deployer:CI"),
        ("CronJob", "a" * 52),
        ("Widget", "my.widget"),
    ],
)
def test_valid_names(kind: str, name: str) -> None:
    assert name_problem(kind, name) == ""


@pytest.mark.parametrize(
    ("kind", "name", "rule"),
    [
        ("ConfigMap", "Web", "RFC 1123 subdomain"),
        ("ConfigMap", "web_config", "RFC 1123 subdomain"),
        ("ConfigMap", "-web", "RFC 1123 subdomain"),
        ("ConfigMap", "web.", "RFC 1123 subdomain"),
        ("ConfigMap", "a" * 254, "RFC 1123 subdomain"),
        ("Deployment", "web app", "RFC 1123 subdomain"),
        ("Namespace", "shop.prod", "RFC 1123 label"),
        ("Namespace", "a" * 64, "RFC 1123 label"),
        ("Service", "1web", "DNS-1035 label"),
        ("Service", "web.internal", "DNS-1035 label"),
        ("Service", "a" * 64, "DNS-1035 label"),
        ("ClusterRole", "a/b", "path segment"),
        ("Role", "..", "path segment"),
        ("Widget", "My_Widget", "RFC 1123 subdomain"),
    ],
)
def test_invalid_names_name_the_rule(kind: str, name: str, rule: str) -> None:
    problem = name_problem(kind, name)
    assert problem.startswith(f'"{name}" is not a valid {kind} name: it must be ')
    assert rule in problem


def test_cronjob_names_are_at_most_52_characters() -> None:
    problem = name_problem("CronJob", "a" * 53)
    assert "53 characters long, at most 52" in problem


def _doc(meta: dict[str, Any], kind: str = "ConfigMap") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": "web", **meta}}


def test_clean_metadata_has_no_problems() -> None:
    doc = _doc(
        {
            "namespace": "shop",
            "labels": {"app.kubernetes.io/name": "web", "tier": "", "v": "1.0_b-2"},
            "annotations": {"example.com/note": "Any text: at all!", "plain": ""},
        }
    )
    assert metadata_problems(doc) == []


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"namespace": "Shop"}, 'metadata.namespace "Shop" is not a valid namespace name'),
        ({"namespace": "a.b"}, "RFC 1123 label"),
        ({"labels": {"tier": "x" * 64}}, f'label "tier" has value "{"x" * 64}", which is not'),
        ({"labels": {"tier": "-front"}}, 'label "tier" has value "-front"'),
        ({"labels": {"tier": "a b"}}, 'label "tier" has value "a b"'),
        ({"labels": {"version": 1.0}}, 'label "version" has a number value (1.0)'),
        ({"labels": {"on": True}}, 'label "on" has a boolean value (True)'),
        ({"labels": {"bad key": "x"}}, 'metadata.labels: key "bad key" is not'),
        ({"labels": {"Example.com/x": "y"}}, 'key "Example.com/x" is not'),
        ({"labels": {"/x": "y"}}, 'key "/x" is not'),
        ({"labels": {"x" * 64: "y"}}, f'key "{"x" * 64}" is not'),
        ({"annotations": {"a/b/c": "y"}}, 'metadata.annotations: key "a/b/c" is not'),
        ({"annotations": {"replicas": 3}}, 'annotation "replicas" has a number value (3)'),
    ],
)
def test_metadata_problems(meta: dict[str, Any], expected: str) -> None:
    problems = metadata_problems(_doc(meta))
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_name_problem_is_reported_for_the_kind() -> None:
    (problem,) = metadata_problems(_doc({}, kind="Service") | {"metadata": {"name": "Web"}})
    assert problem.startswith('metadata.name "Web" is not a valid Service name: it must be a DNS')


def _project(tmp_path: Path, template: str) -> Path:
    proj = ProjectBuilder(tmp_path)
    proj.package("webapp", templates={"things.yaml": template}, values={"name": "Web_App"})
    proj.environment("dev", {"namespace": "shop", "releases": {"web": {"package": "webapp"}}})
    return tmp_path


BAD_NAME = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: ok
---
apiVersion: v1
kind: Service
metadata:
  name: {{ values.name }}
spec:
  ports: [{port: 80}]
"""


@pytest.mark.parametrize("command", ["render", "lint"])
def test_render_refuses_a_bad_name_naming_template_object_and_rule(
    tmp_path: Path, command: str
) -> None:
    result = kd(_project(tmp_path, BAD_NAME), command, "-e", "dev")
    assert result.code == 1
    err = result.stderr
    assert "packages/webapp/templates/things.yaml: document 2 (Service Web_App)" in err
    assert 'metadata.name "Web_App" is not a valid Service name: it must be a DNS-1035 label' in err
    assert "release web of environment dev" in err
    assert "Traceback" not in err
    assert result.stdout == ""


def test_render_refuses_a_bad_label_value(tmp_path: Path) -> None:
    template = """\
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: web
      labels:
        app.kubernetes.io/version: {{ values.version }}
    """
    proj = ProjectBuilder(tmp_path)
    proj.package("webapp", templates={"cm.yaml": template}, values={"version": 1.5})
    proj.environment("dev", {"namespace": "shop", "releases": {"web": {"package": "webapp"}}})
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 1
    assert "packages/webapp/templates/cm.yaml: document 1 (ConfigMap web)" in result.stderr
    assert 'label "app.kubernetes.io/version" has a number value (1.5)' in result.stderr


def test_render_refuses_a_bad_namespace(tmp_path: Path) -> None:
    template = """\
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: web
      namespace: Team_A
    """
    proj = ProjectBuilder(tmp_path)
    proj.package("webapp", templates={"cm.yaml": template}, values={})
    proj.environment("dev", {"namespace": "shop", "releases": {"web": {"package": "webapp"}}})
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 1
    assert 'metadata.namespace "Team_A" is not a valid namespace name' in result.stderr
    assert "packages/webapp/templates/cm.yaml" in result.stderr
