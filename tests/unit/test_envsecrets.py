"""kdeploy.envsecrets: parsing `secrets:` entries and reading their sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdeploy.envsecrets import SecretSource, parse_secrets, resolve_secrets
from kdeploy.errors import ProjectError


def _parse(tmp_path: Path, raw: object) -> dict[tuple[object, ...], SecretSource | None]:
    env_file = tmp_path / "environments" / "dev.yaml"
    env_file.parent.mkdir(exist_ok=True)
    env_file.write_text("secrets: {}\n", encoding="utf-8")
    return parse_secrets(raw, "environments/dev.yaml", "secrets", ("secrets",), env_file)


def test_entries_are_keyed_by_parsed_path_and_required_by_default(tmp_path: Path) -> None:
    parsed = _parse(
        tmp_path,
        {"db.password": {"env": "DB"}, r"a\.b[1]": {"file": "k", "required": False}, "x": None},
    )
    db = parsed[("db", "password")]
    assert db is not None and db.env == "DB" and db.required is True
    ab = parsed[("a.b", 1)]
    assert ab is not None and ab.file == "k" and ab.required is False
    assert ab.base_dir == tmp_path / "environments"
    assert parsed[("x",)] is None  # removes an inherited entry


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"a": {"env": "A", "file": "f"}}, "give exactly one of `env` and `file` (both are given)"),
        ({"a": {}}, "give exactly one of `env` and `file`"),
        ({"a": "A"}, "must be a mapping"),
        ({"a": {"sops": "x.enc.yaml"}}, "unknown key 'sops'"),
        ({"a=b": {"env": "A"}}, "'=' is not allowed"),
        ({"a[x]": {"env": "A"}}, "invalid values path"),
        ({"a": {"env": "1A"}}, "env must be a variable name"),
        ({"a": {"file": ""}}, "file must be a non-empty path"),
        (["a"], "secrets must be a mapping"),
    ],
)
def test_bad_entries_are_project_errors(tmp_path: Path, raw: object, problem: str) -> None:
    with pytest.raises(ProjectError) as e:
        _parse(tmp_path, raw)
    assert problem in e.value.message
    assert e.value.message.startswith("environments/dev.yaml")


def _source(
    env: str | None = None, file: str | None = None, base: Path = Path("/")
) -> SecretSource:
    return SecretSource(
        path="p", segments=("p",), env=env, file=file, required=True, where="w", base_dir=base
    )


def test_env_sources_read_variables_and_empty_counts_as_missing() -> None:
    found = resolve_secrets((_source(env="A"), _source(env="B")), {"A": "val-a", "B": ""})
    assert found.assignments == ((("p",), "val-a"),)
    assert found.strings == frozenset({"val-a"})
    (missing,) = found.missing
    assert missing.reason == "variable B is not set or empty"


def test_file_sources_expand_variables_and_keep_content_exactly(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("line\n", encoding="utf-8")
    (tmp_path / "rel").write_text("relative", encoding="utf-8")
    found = resolve_secrets(
        (
            _source(file="${DIR}/key"),
            _source(file="rel", base=tmp_path),
            _source(file="$UNSET/key"),
            _source(file="$DIR/none"),
        ),
        {"DIR": str(tmp_path)},
    )
    assert [v for _, v in found.assignments] == ["line\n", "relative"]
    reasons = [m.reason for m in found.missing]
    assert reasons[0] == "file $UNSET/key: variable UNSET is not set or empty"
    assert reasons[1].startswith("file $DIR/none (") and reasons[1].endswith("not found")


def test_placeholders_name_the_source_never_a_value() -> None:
    assert _source(env="DB").placeholder() == "<secret not available: env DB>"
    assert _source(file="$F").placeholder() == "<secret not available: file $F>"
