"""kdeploy.confine: where a project file really is, with symlinks followed."""

from __future__ import annotations

from pathlib import Path

from kdeploy.confine import escape_target


def test_files_inside_the_root_are_not_escapes(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "values.yaml").write_text("")
    (tmp_path / "pkg" / "link.yaml").symlink_to(tmp_path / "pkg" / "values.yaml")
    assert escape_target(tmp_path / "pkg" / "values.yaml", tmp_path / "pkg") is None
    assert escape_target(tmp_path / "pkg" / "link.yaml", tmp_path / "pkg") is None
    assert escape_target(tmp_path / "pkg", tmp_path / "pkg") is None


def test_links_and_dot_dots_leaving_the_root_are_escapes(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    secret = tmp_path / "secret"
    secret.write_text("")
    (tmp_path / "pkg" / "values.yaml").symlink_to(secret)
    assert escape_target(tmp_path / "pkg" / "values.yaml", tmp_path / "pkg") == secret
    assert escape_target(tmp_path / "pkg" / ".." / "secret", tmp_path / "pkg") == secret


def test_a_root_reached_through_a_link_is_compared_resolved(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_text("")
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    assert escape_target(tmp_path / "alias" / "f", tmp_path / "alias") is None
