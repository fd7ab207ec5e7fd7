"""The overlay merge laws and `--set` parsing."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kdeploy.errors import KdeployError
from kdeploy.values import apply_set, merge, merge_layers, parse_set, split_release_scope

keys = st.sampled_from(["a", "b", "c", "image", "tag", "replicas"])
scalars = st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.floats(allow_nan=False))
# values a user can write; nulls only appear in overlays (where they mean "remove")
plain_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)
mappings = st.dictionaries(keys, plain_values, max_size=5)
overlay_values = st.recursive(
    st.one_of(scalars, st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)
overlays = st.dictionaries(keys, overlay_values, max_size=5)


@given(mappings)
def test_empty_overlay_is_identity(base: dict[str, Any]) -> None:
    assert merge(base, {}) == base


@given(mappings)
def test_merging_onto_empty_base_gives_the_overlay(overlay: dict[str, Any]) -> None:
    assert merge({}, overlay) == overlay


@given(mappings, overlays)
def test_inputs_are_never_mutated(base: dict[str, Any], overlay: dict[str, Any]) -> None:
    base_before, overlay_before = copy.deepcopy(base), copy.deepcopy(overlay)
    result = merge(base, overlay)
    assert base == base_before
    assert overlay == overlay_before
    # the result shares nothing mutable with the inputs
    _scribble(result)
    assert base == base_before
    assert overlay == overlay_before


def _scribble(value: Any) -> None:
    if isinstance(value, dict):
        for v in list(value.values()):
            _scribble(v)
        value["__scribbled__"] = 1
    elif isinstance(value, list):
        for v in value:
            _scribble(v)
        value.append("__scribbled__")


@given(mappings, mappings)
def test_later_layer_wins_for_every_leaf(base: dict[str, Any], overlay: dict[str, Any]) -> None:
    result = merge(base, overlay)
    for path, leaf in _leaves(overlay):
        assert _get(result, path) == leaf


def _leaves(
    value: dict[str, Any], prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], Any]]:
    out = []
    for k, v in value.items():
        if isinstance(v, dict):
            # an empty mapping adds nothing to a mapping below it, so it has no leaf to check
            out.extend(_leaves(v, (*prefix, k)))
        else:
            out.append(((*prefix, k), v))
    return out


def _get(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


@given(mappings, keys)
def test_null_deletes_the_key(base: dict[str, Any], key: str) -> None:
    assert key not in merge(base, {key: None})


@given(mappings, mappings)
def test_keys_only_in_the_base_survive(base: dict[str, Any], overlay: dict[str, Any]) -> None:
    result = merge(base, overlay)
    for key in base.keys() - overlay.keys():
        assert result[key] == base[key]


@given(mappings, mappings, mappings)
def test_merge_layers_folds_left(a: dict[str, Any], b: dict[str, Any], c: dict[str, Any]) -> None:
    assert merge_layers([a, b, c]) == merge(merge(a, b), c)


def test_mappings_merge_recursively() -> None:
    base = {"image": {"repository": "web", "tag": "1.0"}, "replicas": 2}
    assert merge(base, {"image": {"tag": "1.1"}}) == {
        "image": {"repository": "web", "tag": "1.1"},
        "replicas": 2,
    }


def test_lists_are_replaced_whole() -> None:
    assert merge({"args": ["--a", "--b"]}, {"args": ["--c"]}) == {"args": ["--c"]}


def test_null_removes_a_nested_key_and_nulls_in_new_subtrees_are_dropped() -> None:
    base = {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}
    overlay = {"resources": {"limits": {"cpu": None}}, "extra": {"x": None, "y": 1}}
    assert merge(base, overlay) == {"resources": {"limits": {"memory": "1Gi"}}, "extra": {"y": 1}}


def test_a_type_change_replaces() -> None:
    assert merge({"a": {"b": 1}}, {"a": "text"}) == {"a": "text"}
    assert merge({"a": "text"}, {"a": {"b": 1}}) == {"a": {"b": 1}}
    assert merge({"a": [1]}, {"a": {"b": 1}}) == {"a": {"b": 1}}


def test_merge_layers_keeps_nulls_of_the_first_layer() -> None:
    # package defaults may say "no value" explicitly; templates test it with `is none`
    assert merge_layers([{"nodeSelector": None}, {"a": 1}]) == {"nodeSelector": None, "a": 1}
    assert merge_layers([]) == {}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("a.b.c=1", {"a": {"b": {"c": 1}}}),
        ("replicas=3", {"replicas": 3}),
        ("enabled=true", {"enabled": True}),
        ("ratio=0.5", {"ratio": 0.5}),
        ("word=yes", {"word": "yes"}),  # YAML 1.2: only true/false are booleans
        ("empty=", {"empty": ""}),
        ("colour=#fff", {"colour": "#fff"}),
        ("text=a: b", {"text": "a: b"}),
        ("url=http://x/?a=b", {"url": "http://x/?a=b"}),
        ("hosts=[a, b]", {"hosts": ["a", "b"]}),
        ("sel={app: web}", {"sel": {"app": "web"}}),
        ("gone=null", {}),
        (r"podAnnotations.example\.com/team=web", {"podAnnotations": {"example.com/team": "web"}}),
        ("hosts[1]=b", {"hosts": [None, "b"]}),
        ("a[0].b=1", {"a": [{"b": 1}]}),
        ("date=2024-01-01", {"date": "2024-01-01"}),
    ],
)
def test_parse_set(expr: str, expected: dict[str, Any]) -> None:
    assert parse_set(expr) == expected


def test_set_string_keeps_the_text() -> None:
    assert parse_set("image.tag=1.10", as_string=True) == {"image": {"tag": "1.10"}}
    assert parse_set("image.tag=1.10") == {"image": {"tag": 1.1}}
    assert parse_set("flag=true", as_string=True) == {"flag": "true"}


def test_apply_set_changes_one_list_element_and_keeps_the_rest() -> None:
    values = {"ports": [{"name": "http", "port": 80}, {"name": "metrics", "port": 9090}]}
    result = apply_set(values, "ports[1].port=9091")
    assert result == {"ports": [{"name": "http", "port": 80}, {"name": "metrics", "port": 9091}]}
    assert values["ports"][1]["port"] == 9090


def test_apply_set_null_removes_the_key() -> None:
    assert apply_set({"a": {"b": 1, "c": 2}}, "a.b=null") == {"a": {"c": 2}}


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("replicas", "no '=' between the path and the value"),
        ("=1", "empty path"),
        ("a..b=1", "empty key"),
        (".a=1", "empty key"),
        ("a.=1", "empty key"),
        ("[0]=1", "needs a key before it"),
        ("a[x]=1", "[x] is not a non-negative integer"),
        ("a[-1]=1", "[-1] is not a non-negative integer"),
        ("a[0=1", "unclosed '['"),
        ("a]=1", "']' without '['"),
        ("a[0]b=1", "unexpected text after ']'"),
        ("a[100000]=1", "larger than"),
        ("a=[1,", "not valid YAML"),
    ],
)
def test_malformed_set_is_an_error_quoting_it(expr: str, problem: str) -> None:
    with pytest.raises(KdeployError) as info:
        parse_set(expr)
    message = info.value.format_message()
    assert f'invalid --set "{expr}"' in message
    assert problem in message


def test_malformed_set_string_names_the_flag() -> None:
    with pytest.raises(KdeployError, match=r'invalid --set-string "nokey"'):
        parse_set("nokey", as_string=True)


def test_the_merge_example_in_the_docs() -> None:
    defaults = {
        "replicas": 1,
        "image": {"repository": "ghcr.io/shop/web", "tag": "2.7.0"},
        "args": ["--log-level=info", "--port=8080"],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "podAnnotations": {"team": "storefront"},
    }
    release = {
        "replicas": 3,
        "image": {"tag": "2.7.1"},
        "args": ["--log-level=warn"],
        "resources": {"limits": {"cpu": None}},
        "podAnnotations": "none",
    }
    assert merge(defaults, release) == {
        "replicas": 3,
        "image": {"repository": "ghcr.io/shop/web", "tag": "2.7.1"},
        "args": ["--log-level=warn"],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "256Mi"},
        },
        "podAnnotations": "none",
    }


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("web:image.tag=1", ("web", "image.tag=1")),
        ("web-2:values.yaml", ("web-2", "values.yaml")),
        ("image.tag=1", (None, "image.tag=1")),
        ("url=http://x", (None, "url=http://x")),
        ("a.b:c=1", (None, "a.b:c=1")),
        ("config\\:x=1", (None, "config\\:x=1")),
        ("Web:x=1", (None, "Web:x=1")),
        ("./web:x.yaml", (None, "./web:x.yaml")),
    ],
)
def test_split_release_scope(expr: str, expected: tuple[str | None, str]) -> None:
    assert split_release_scope(expr) == expected


def test_copy_tree_copies_every_mapping_and_list() -> None:
    from kdeploy.values import copy_tree

    original = {"a": {"b": [1, {"c": "d"}]}, "e": None, "f": (1, 2)}
    copied = copy_tree(original)
    assert copied == original
    copied["a"]["b"][1]["c"] = "changed"
    copied["a"]["b"].append(3)
    assert original == {"a": {"b": [1, {"c": "d"}]}, "e": None, "f": (1, 2)}
