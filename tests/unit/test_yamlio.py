"""The two YAML paths: C-accelerated parsing of rendered output, and user files with precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kdeploy.errors import ProjectError
from kdeploy.yamlio import (
    dump_all_fast,
    dump_fast,
    fast_path_in_use,
    load_all_fast,
    load_user_file,
    load_user_text,
    user_yaml_is_c_accelerated,
)


def test_rendered_yaml_uses_libyaml() -> None:
    assert yaml.__with_libyaml__
    assert fast_path_in_use()


def test_user_files_use_the_ruamel_c_parser() -> None:
    assert user_yaml_is_c_accelerated()


def test_load_all_fast_keeps_empty_documents_as_none() -> None:
    assert load_all_fast("a: 1\n---\n---\nb: [x]\n") == [{"a": 1}, None, {"b": ["x"]}]


def test_timestamps_stay_strings_on_both_paths(tmp_path: Path) -> None:
    assert load_all_fast("d: 2024-01-01\n") == [{"d": "2024-01-01"}]
    f = tmp_path / "v.yaml"
    f.write_text("d: 2024-01-01T10:00:00Z\n")
    assert load_user_file(f) == {"d": "2024-01-01T10:00:00Z"}


def test_user_files_follow_yaml_1_2_booleans(tmp_path: Path) -> None:
    f = tmp_path / "v.yaml"
    f.write_text("a: yes\nb: on\nc: true\n")
    assert load_user_file(f) == {"a": "yes", "b": "on", "c": True}


def test_duplicate_keys_in_rendered_output_are_an_error() -> None:
    with pytest.raises(yaml.YAMLError, match='duplicate key "a"'):
        load_all_fast("a: 1\na: 2\n")


def test_dump_keeps_insertion_order_and_block_style() -> None:
    text = dump_fast({"kind": "ConfigMap", "apiVersion": "v1", "data": {"z": "1", "a": "2"}})
    assert text == "kind: ConfigMap\napiVersion: v1\ndata:\n  z: '1'\n  a: '2'\n"


def test_dump_writes_multiline_strings_as_literal_blocks() -> None:
    text = dump_fast({"script": "echo one\necho two\n"})
    assert text == "script: |\n  echo one\n  echo two\n"
    assert load_all_fast(text) == [{"script": "echo one\necho two\n"}]


def test_dump_never_folds_long_lines_or_uses_aliases() -> None:
    long = "x" * 300
    shared = {"k": "v"}
    text = dump_fast({"long": long, "a": shared, "b": shared})
    assert f"long: {long}\n" in text
    assert "&" not in text and "*" not in text


def test_dump_quotes_strings_that_would_change_type() -> None:
    values = {"a": "true", "b": "1.10", "c": "2024-01-01", "d": "null", "e": "yes"}
    assert load_all_fast(dump_fast(values)) == [values]


def test_dump_all_fast_separates_documents() -> None:
    text = dump_all_fast([{"a": 1}, {"b": 2}])
    assert text == "---\na: 1\n---\nb: 2\n"


def test_malformed_user_file_names_file_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "values.yaml"
    f.write_text("image:\n  tag: 1.0\n   repo: x\n")
    with pytest.raises(ProjectError) as info:
        load_user_file(f, "packages/web/values.yaml")
    message = info.value.format_message()
    assert message.startswith("packages/web/values.yaml:3:")
    assert "invalid YAML" in message


def test_duplicate_key_in_user_file_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "env.yaml"
    f.write_text("namespace: a\nnamespace: b\n")
    with pytest.raises(
        ProjectError, match=r'env.yaml:2:1: invalid YAML: found duplicate key "namespace"'
    ):
        load_user_file(f, "env.yaml")


def test_missing_user_file_is_a_project_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"nope\.yaml: file not found"):
        load_user_file(tmp_path / "nope.yaml", "nope.yaml")


def test_empty_user_file_is_none(tmp_path: Path) -> None:
    f = tmp_path / "empty.yaml"
    f.write_text("# nothing yet\n")
    assert load_user_file(f) is None


# -- the fast paths give the same results as PyYAML's generic ones --------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_text = st.one_of(
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff\x85\u2028\u2029"
        )
        | st.sampled_from(["\n", " ", ":", "#", "-", "'", '"', "&", "*", "!", "{"]),
        max_size=12,
    ),
    st.sampled_from(["true", "null", "1.0", "0x1", "~", "2024-01-01", "yes", "on", "1e3", ".inf"]),
)
_scalars = st.one_of(
    _text, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False, allow_infinity=False)
)
_trees = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_text, inner, max_size=4)),
    max_leaves=20,
)


def _reference_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", data, style="|" if "\n" in data else None
    )


class _ReferenceDumper(yaml.CSafeDumper):  # the generic representer, same emitter
    def ignore_aliases(self, data: object) -> bool:
        return True


_ReferenceDumper.add_representer(str, _reference_str)


@given(_trees)
def test_fast_dump_matches_pyyaml_and_round_trips(tree: object) -> None:
    reference = yaml.dump(
        tree,
        Dumper=_ReferenceDumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=1 << 20,
    )
    assert dump_fast(tree) == reference
    assert load_all_fast(dump_fast(tree)) == [tree]


@given(_trees)
def test_fast_load_matches_pyyaml(tree: object) -> None:
    text = yaml.safe_dump(tree, default_flow_style=None)
    assert load_all_fast(text) == [yaml.safe_load(text)]


def test_merge_keys_and_explicit_tags_still_work() -> None:
    text = "base: &b {a: 1, b: 2}\nderived:\n  <<: *b\n  b: 3\nbin: !!binary aGk=\ns: !!str 12\n"
    assert load_all_fast(text) == [
        {"base": {"a": 1, "b": 2}, "derived": {"a": 1, "b": 3}, "bin": b"hi", "s": "12"}
    ]


def test_aliases_are_expanded_and_recursive_ones_rejected() -> None:
    assert load_all_fast("a: &x [1, 2]\nb: *x\n") == [{"a": [1, 2], "b": [1, 2]}]
    with pytest.raises(yaml.YAMLError, match="recursive"):
        load_all_fast("a: &x [1, *x]\n")


def test_unknown_tags_and_unhashable_keys_are_errors() -> None:
    with pytest.raises(yaml.YAMLError, match="could not determine a constructor"):
        load_all_fast("a: !python/object x\n")
    with pytest.raises(yaml.YAMLError, match="unhashable key"):
        load_all_fast("? [a]\n: 1\n")


def _nested(levels: int, open_: str = "{a: ", close: str = "}") -> str:
    """A document whose innermost value sits `levels` collections deep."""
    return open_ * levels + "1" + close * levels + "\n"


def test_nesting_up_to_the_limit_loads_and_one_more_level_is_refused() -> None:
    from kdeploy.yamlio import MAX_DEPTH

    assert load_user_text(_nested(MAX_DEPTH), "ok.yaml") is not None
    with pytest.raises(ProjectError, match=r"deep.yaml:1:\d+: nested deeper than 100 levels"):
        load_user_text(_nested(MAX_DEPTH + 1), "deep.yaml")


def test_block_style_nesting_is_bounded_too() -> None:
    text = "".join(f"{'  ' * i}k{i}:\n" for i in range(150)) + "  " * 150 + "v\n"
    with pytest.raises(ProjectError, match=r"block.yaml:\d+:\d+: nested deeper than"):
        load_user_text(text, "block.yaml")


def test_very_deep_flow_nesting_is_refused_before_parsing() -> None:
    import time

    started = time.monotonic()
    with pytest.raises(ProjectError, match="nested deeper than 100 levels"):
        load_user_text(_nested(200_000, "[", "]"), "huge.yaml")
    assert time.monotonic() - started < 2


def test_brackets_inside_strings_do_not_count_when_balanced() -> None:
    text = "patterns: [" + ", ".join(['"[a-z]{3}"'] * 500) + "]\n"
    assert len(load_user_text(text, "re.yaml")["patterns"]) == 500


def test_aliases_are_counted_each_time_they_are_used() -> None:
    from kdeploy.yamlio import MAX_EXPANDED_NODES

    # 10 lists of 10 aliases of a list of 10: about 1,100 values, far under the limit
    small = "a: &a [1,2,3,4,5,6,7,8,9,10]\nb: &b [" + ",".join(["*a"] * 10) + "]\n"
    small += "c: [" + ",".join(["*b"] * 10) + "]\n"
    assert len(load_user_text(small, "small.yaml")["c"]) == 10
    levels = ["l0: &l0 [" + ",".join(['"x"'] * 10) + "]"]
    for i in range(1, 7):  # 10**7 values once expanded
        levels.append(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]")
    assert MAX_EXPANDED_NODES < 10**7
    with pytest.raises(ProjectError, match=r"bomb.yaml:\d+:\d+: aliases expand to more than"):
        load_user_text("\n".join(levels) + "\n", "bomb.yaml")


# -- the block layout writes exactly what libyaml writes -------------------------------------------

_awkward_text = st.one_of(
    _text,
    st.sampled_from(
        [
            "a\n",
            "a\n\n",
            "\na",
            " a\nb",
            "a \nb",
            "a\n b\n",
            "line\n\n  indented\n",
            "\t tab",
            "- a",
            "? x",
            "a: b",
            "#c",
            "0400",
            "<<",
            "x" * 130,
            "ünïcødé\nzwei",
        ]
    ),
)
_keys = st.one_of(_awkward_text, st.integers(), st.booleans(), st.none())
_awkward_trees = st.recursive(
    st.one_of(_awkward_text, st.integers(), st.booleans(), st.none(), st.floats()),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(_keys, inner, max_size=5)),
    max_leaves=40,
)


def _libyaml_dump(tree: object) -> str:
    text: str = yaml.dump(
        tree,
        Dumper=_ReferenceDumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=1 << 20,
    )
    return text


@given(_awkward_trees)
def test_block_layout_writes_what_libyaml_writes(tree: object) -> None:
    assert dump_fast(tree) == _libyaml_dump(tree)


@pytest.mark.parametrize(
    "tree",
    [
        {"keep": "trailing lines\n\n", "next": 1},  # `|+`: libyaml ends the document with `...`
        {"multi\nline key": 1},  # a complex key (`? `)
        {"x" * 200: 1},  # too long for a simple key
        {"tuple": (1, 2)},  # not plain data
        {1.5: "float key"},
        {"nested": [{"a": [[], {}, [[1]], "b\nc\n"]}], "empty": {}, "none": None, "n": -0.0},
    ],
)
def test_block_layout_falls_back_or_matches_on_awkward_data(tree: object) -> None:
    assert dump_fast(tree) == _libyaml_dump(tree)
