"""docs/migrating-from-helm.md: the Jinja2 spellings its Go-template table gives render what the
Helm originals do, and its `_helpers` example works as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.helpers import ProjectBuilder, kd

DOC = Path(__file__).resolve().parent.parent / "docs" / "migrating-from-helm.md"

VALUES = {
    "name": "a-long-name-ending-in-a-dash-",
    "version": "v1.2.3",
    "empty": "",
    "zero": 0,
    "flag": False,
    "labels": {"tier": "front", "team": "web"},
    "items": ["a", "b"],
    "key-with-dash": "dashed",
    "b": 2,
    "type": "NodePort",
    "tls": [],
}
# Go template (what Helm renders) -> the Jinja2 spelling of the table
TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: table
data:
  trunc: {{ values.name[:6] | quote }}
  trunc_trim: {{ values.name[:29].removesuffix("-") | quote }}
  trim_suffix: {{ values.name.removesuffix("-") | quote }}
  trim_prefix: {{ values.version.removeprefix("v") | quote }}
  is_map: {{ (values.labels is mapping) | quote }}
  is_string: {{ (values.name is string) | quote }}
  is_slice: {{ (values["items"] is sequence and values["items"] is not string) | quote }}
  is_bool: {{ (values.flag is boolean) | quote }}
  dict: {{ {"a": 1, "b": values.b} | tojson | quote }}
  index: {{ values["key-with-dash"] | quote }}
  has_key: {{ ("labels" in values) | quote }}
  range_map: "{% for k, v in values.labels | dictsort %}{{ k }}={{ v }};{% endfor %}"
  printf: {{ (release.name ~ "-web") | quote }}
  contains: {{ ("Node" in values.type) | quote }}
  and_eq_not_empty: {{ (values.type == "NodePort" and not values.zero) | quote }}
  inline_if: "http{{ "s" if values.tls }}://"
  default_unset: {{ values.unset | default("web") | quote }}
  default_empty: {{ values.empty | default("web") | quote }}
  default_false: {{ values.flag | default("web") }}
  default_empty_helm: {{ values.empty | default("web", true) | quote }}
  default_zero_helm: {{ values.zero | default("web", true) | quote }}
  default_false_helm: {{ values.flag | default("web", true) | quote }}
"""


def render(tmp_path: Path, templates: dict[str, str]) -> list[Any]:
    proj = ProjectBuilder(tmp_path)
    proj.package("shop", templates=templates, values=VALUES)
    proj.environment("dev", {"namespace": "shop", "releases": {"web": {"package": "shop"}}})
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 0, result.stderr
    return result.docs()


def test_the_go_template_table_renders_what_helm_does(tmp_path: Path) -> None:
    (doc,) = render(tmp_path, {"table.yaml": TEMPLATE})
    assert doc["data"] == {
        "trunc": "a-long",  # trunc 6
        "trunc_trim": "a-long-name-ending-in-a-dash",  # trunc 29 | trimSuffix "-"
        "trim_suffix": "a-long-name-ending-in-a-dash",
        "trim_prefix": "1.2.3",
        "is_map": "true",
        "is_string": "true",
        "is_slice": "true",
        "is_bool": "true",
        "dict": '{"a": 1, "b": 2}',
        "index": "dashed",
        "has_key": "true",
        "range_map": "team=web;tier=front;",  # Helm ranges over a map in key order
        "printf": "web-web",
        "contains": "true",  # contains "Node" .Values.type
        "and_eq_not_empty": "true",  # and (eq .Values.type "NodePort") (empty .Values.zero)
        "inline_if": "http://",  # http{{ if .Values.tls }}s{{ end }}:// with tls: []
        # Jinja's default replaces only what is undefined; default(x, true) is Helm's default
        "default_unset": "web",
        "default_empty": "",
        "default_false": False,
        "default_empty_helm": "web",
        "default_zero_helm": "web",
        "default_false_helm": "web",
    }


def jinja_block(starting: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```jinja\n(.*?)```", text, flags=re.S)
    found = [b for b in blocks if b.startswith(starting)]
    assert len(found) == 1, f"no single ```jinja block starting with {starting!r}"
    return found[0]


def test_the_helpers_example_renders(tmp_path: Path) -> None:
    helpers = jinja_block("{# templates/_helpers.j2 #}")
    deployment = jinja_block("{# templates/deployment.yaml #}")
    body = deployment.replace("metadata:", "apiVersion: v1\nkind: ConfigMap\nmetadata:", 1)
    (doc,) = render(tmp_path, {"_helpers.j2": helpers, "configmap.yaml": body})
    assert doc["metadata"]["name"] == "web-shop"
    assert doc["metadata"]["labels"]["app.kubernetes.io/name"] == "shop"
    assert doc["metadata"]["labels"]["app.kubernetes.io/instance"] == "web"
