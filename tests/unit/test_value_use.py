"""Which values templates use: reads tracked while rendering, names read from the source, the
nearest key for a typo, and the line a key is written on."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from kdeploy.model import ValuesLayer
from kdeploy.origins import describe_layer, set_paths, user_set_paths
from kdeploy.render import FILTERS
from kdeploy.unused import PackageUse, nearest, unused_values
from kdeploy.valuereads import TrackedValues, ValueReads, mentioned_values
from kdeploy.yamlio import key_lines

VALUES = {
    "replicas": 2,
    "image": {"repository": "nginx", "tag": "1"},
    "resources": {"limits": {"cpu": "1"}},
    "env": {"A": "1", "B": "2"},
    "hosts": [{"name": "a"}],
}


def render(source: str) -> ValueReads:
    env = ImmutableSandboxedEnvironment(undefined=jinja2.ChainableUndefined)
    env.filters.update(FILTERS)
    reads = ValueReads()
    env.from_string(source).render(values=TrackedValues(VALUES, reads))
    return reads


@pytest.mark.parametrize(
    ("source", "used", "unused"),
    [
        ("{{ values.replicas }}", [("replicas",)], [("image", "tag")]),
        ("{{ values.image.tag }}", [("image", "tag")], [("image", "repository")]),
        ("{{ values['image']['tag'] }}", [("image", "tag")], [("image", "tga")]),
        ("{{ values.resources | toyaml }}", [("resources", "limits", "cpu")], [("replicas",)]),
        ("{{ values.resources | tojson }}", [("resources", "limits", "memory")], []),
        ("{% for k, v in values.env.items() %}{{ v }}{% endfor %}", [("env", "C")], []),
        ("{% for k in values.env %}{{ k }}{% endfor %}", [("env", "A")], [("image",)]),
        ("{{ values.env | dictsort }}", [("env", "B")], []),
        ("{{ values.hosts[0].name }}", [("hosts",)], []),
        ("{{ values.get('replicas') }}", [("replicas",)], [("env",)]),
        ("{{ values.image.missing is defined }}", [("image",)], [("image", "tag")]),
        ("{% if 'tag' in values.image %}{% endif %}", [("image", "tag")], [("image", "x")]),
    ],
)
def test_render_records_what_templates_read(
    source: str, used: list[tuple[str, ...]], unused: list[tuple[str, ...]]
) -> None:
    reads = render(source)
    for path in used:
        assert reads.covers(path), path
    for path in unused:
        assert not reads.covers(path), path


def test_tracked_values_render_like_plain_ones_and_stay_read_only() -> None:
    env = ImmutableSandboxedEnvironment()
    env.filters.update(FILTERS)
    tracked = TrackedValues(VALUES, ValueReads())
    for source in ("{{ values.image | toyaml }}", "{{ values.env | tojson }}", "{{ values }}"):
        template = env.from_string(source)
        assert template.render(values=tracked) == template.render(values=VALUES)
    with pytest.raises(jinja2.exceptions.SecurityError):
        env.from_string("{{ values.image.update({'tag': 'x'}) }}").render(values=tracked)


def test_names_in_the_source_count_in_any_branch_and_macro() -> None:
    env = ImmutableSandboxedEnvironment()
    source = """
    {% macro box(values) %}{{ values.box.size }}{% endmacro %}
    {% if values.ingress.enabled %}{{ values.ingress.host }}{% endif %}
    {{ values.env[name] }} {{ values.get("port") }} {{ h(values) }}
    {% for k, v in values.labels.items() %}{% endfor %}
    """
    found = mentioned_values([env.parse(source)])
    assert found == {
        ("box", "size"),
        ("ingress", "enabled"),
        ("ingress", "host"),
        ("env",),
        ("port",),
        ("labels",),
    }


def test_nearest_suggests_the_closest_key_at_the_level_of_the_typo() -> None:
    known = {("replicaCount",), ("image",), ("image", "tag"), ("image", "repository")}
    assert nearest(("replicaCont",), known) == ("replicaCount",)
    assert nearest(("image", "tga"), known) == ("image", "tag")
    assert nearest(("imag", "tag"), known) == ("image", "tag")
    assert nearest(("zzz",), known) is None


def test_a_value_is_used_when_read_named_or_declared() -> None:
    use = PackageUse(
        defaults={"replicas": 1, "list": [1]},
        schema={"properties": {"labels": {"type": "object", "additionalProperties": {}}}},
        mentions=lambda: frozenset({("ingress", "host")}),
    )
    reads = ValueReads()
    reads.add(("image", "tag"), whole=True)
    layers = [
        ValuesLayer(
            "--set",
            {
                "replicas": 3,
                "list": [2],
                "labels": {"team": "x"},
                "ingress": {"host": "h"},
                "image": {"tag": "1", "tga": "1"},
                "gone": None,
            },
        )
    ]
    assert [u.path for u in unused_values(layers, use, reads)] == [("image", "tga")]


def test_set_paths_are_the_leaves_a_layer_sets() -> None:
    assert list(set_paths({"a": {"b": 1, "c": {}}, "d": [1], "e": None})) == [
        ("a", "b"),
        ("a", "c"),
        ("d",),
    ]
    first, second = ValuesLayer("one", {"a": 1, "b": 1}), ValuesLayer("two", {"a": 2})
    assert user_set_paths([first, second]) == {("b",): first, ("a",): second}


def test_key_lines_and_the_origin_of_a_value_in_a_file(tmp_path: Path) -> None:
    text = "namespace: x\nvalues:\n  image:\n    tag: '1'\n  hosts:\n  - a\n  - {name: b}\n"
    assert key_lines(text)[("values", "image", "tag")] == 4
    assert key_lines(text)[("values", "hosts", "1", "name")] == 7
    assert key_lines("a: [") == {}
    path = tmp_path / "prod.yaml"
    path.write_text(text)
    layer = ValuesLayer(
        "prod values", {"image": {"tag": "1"}}, file=path, shown="prod.yaml", root=("values",)
    )
    assert describe_layer(layer, ("image", "tag")) == "prod.yaml:4"
    assert describe_layer(ValuesLayer("--set a", {}), ("a",)) == "--set a"
