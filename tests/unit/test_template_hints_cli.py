"""Template errors from Helm habits say the kdeploy spelling, at file:line, and a block that is never
closed is reported where it opens, through `kdeploy render` and `kdeploy lint`."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdeploy.templatehints import syntax_hint, unclosed_block
from tests.helpers import ProjectBuilder, kd

HELPERS = """\
{% macro labels(release) -%}
app: {{ release.name }}
{%- endmacro %}
{% macro fullname(release) -%}
{{ release.name }}
{%- endmacro %}
"""
HEAD = """\
{% import "_helpers.j2" as h %}
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
"""


def project(root: Path, body: str) -> ProjectBuilder:
    proj = ProjectBuilder(root)
    proj.package(
        "app",
        values={"labels": {"a": "b"}, "enabled": True, "image": {"tag": "1"}},
        templates={"_helpers.j2": HELPERS, "cm.yaml": HEAD + body},
    )
    proj.environment("dev", {"namespace": "shop", "releases": {"web": {"package": "app"}}})
    return proj


@pytest.mark.parametrize(
    ("body", "line", "fragments"),
    [
        (
            "data:\n  tag: {{ .Values.image.tag }}\n",
            7,
            ["template syntax error: unexpected '.'", "write values.image.tag (not .Values"],
        ),
        (
            "  namespace: {{ .Release.Namespace }}\n",
            6,
            ["write release.namespace (not .Release.Namespace)"],
        ),
        (
            "  labels:\n    {{ values.labels | toyaml | nindent 4 }}\n",
            7,
            ["`| nindent N` is Helm's", "| indent(N)", "| toyaml(indent=N)"],
        ),
        (
            "  labels: {{ values.labels | toYaml }}\n",
            6,
            ["No filter named 'toYaml'", "kdeploy's filter is `| toyaml`"],
        ),
        (
            'data:\n  a: {{ values.x | default "a" }}\n',
            7,
            ["filter arguments go in parentheses in kdeploy: `| default(...)`"],
        ),
        (
            "{{ if values.enabled }}\ndata: {}\n{{ end }}\n",
            6,
            ["`{{ if }}` is Go template syntax", "{% endif %}"],
        ),
        (
            "  labels:\n    {{ h.lables(release) | indent(4) }}\n",
            7,
            ["h (_helpers.j2) has no macro 'lables'; did you mean h.labels?", "fullname, labels"],
        ),
        (
            "  labels:\n    {{ toYaml values.labels }}\n",
            7,
            ["`toYaml` is a Helm function", "{{ x | toyaml }}"],
        ),
    ],
)
@pytest.mark.parametrize("command", ["render", "lint"])
def test_a_helm_habit_gets_the_kdeploy_spelling_at_its_line(
    tmp_path: Path, command: str, body: str, line: int, fragments: list[str]
) -> None:
    project(tmp_path, body)
    result = kd(tmp_path, command, "-e", "dev")
    assert result.code == 1, result.stderr
    assert result.stdout == ""
    assert f"Error: packages/app/templates/cm.yaml:{line}: " in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    assert "set it in values.yaml" not in result.stderr  # not taken for a missing value
    assert "Traceback" not in result.stderr


def test_a_missing_endif_is_reported_at_its_opening_tag(tmp_path: Path) -> None:
    body = "{% if values.enabled %}\ndata:\n{% for k, v in values.labels.items() %}\n"
    body += "  {{ k }}: {{ v }}\n{% endfor %}\n\n\n"
    project(tmp_path, body)
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 1
    assert (
        "Error: packages/app/templates/cm.yaml:6: template syntax error: `{% if %}` is never closed (the template ends "
        "at line 11)\n  6 | {% if values.enabled %}"
    ) in result.stderr
    assert "hint: add `{% endif %}` where the if block ends" in result.stderr


def test_a_block_closed_by_the_wrong_end_tag_names_both_lines(tmp_path: Path) -> None:
    body = "{% for k in values.labels %}\n{% if values.enabled %}\ndata: {}\n{% endfor %}\n"
    project(tmp_path, body)
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 1
    assert (
        "cm.yaml:7: template syntax error: `{% if %}` is never closed (`{% endfor %}` at line 9 comes first)"
        in result.stderr
    )


def test_syntax_hint_is_none_for_an_ordinary_mistake() -> None:
    assert syntax_hint("unexpected '}'", "a: {{ values.x }}}") is None
    assert syntax_hint("expected token 'end of print statement'", "{{ values.a b }}") is None


def test_unclosed_block_knows_block_set_from_assignment() -> None:
    import jinja2

    env = jinja2.Environment()
    assert unclosed_block(env, "{% set a = 1 %}{% if x %}") == ("if", 1)
    assert unclosed_block(env, "{% set a %}x{% endset %}\n{% for x in y %}") == ("for", 2)
    assert unclosed_block(env, "{% if x %}{% endif %}") is None


def test_the_string_methods_docs_list_work_and_mutation_is_refused(tmp_path: Path) -> None:
    """docs/package-format.md, "For Helm users": the methods it lists run in the sandbox."""
    body = """\
data:
  a: {{ "web".upper() ~ "Web".lower() ~ "a b".title() ~ "ab".capitalize() }}
  b: {{ " x ".strip() ~ "-x".lstrip("-") ~ "x-".rstrip("-") ~ "a-b".replace("-", "_") }}
  c: {{ ("a,b".split(",") | join("+")) ~ ("a\\nb".splitlines() | length) }}
  d: {{ "v1".startswith("v") ~ "x-".endswith("-") ~ "v1".removeprefix("v") }}
  e: {{ "x-".removesuffix("-") ~ "7".zfill(3) ~ "a".ljust(2, ".") ~ "aa".count("a") }}
  f: {{ "abc".find("c") ~ ",".join(["p", "q"]) ~ "{}-{}".format(1, 2) ~ "abcdef"[:3] }}
  g: {{ dict(values.labels, team="shop") | dictsort | length }}
"""
    project(tmp_path, body)
    result = kd(tmp_path, "render", "-e", "dev")
    assert result.code == 0, result.stderr
    assert result.docs()[0]["data"] == {
        "a": "WEBwebA BAb",
        "b": "xxxa_b",
        "c": "a+b2",
        "d": "TrueTrue1",
        "e": "x007a.2",
        "f": "2p,q1-2abc",
        "g": 2,
    }
    project(tmp_path, "data: {{ values.labels.update({'x': 1}) }}\n")
    refused = kd(tmp_path, "render", "-e", "dev")
    assert refused.code == 1
    assert "cm.yaml:6: blocked by the template sandbox" in refused.stderr
