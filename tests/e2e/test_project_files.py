"""What kdeploy reads from a project: every file of a package or environment must lie inside the
project (and a package's files inside its package) after symlinks are followed, and YAML that is
too deep or whose aliases expand too far is refused, naming the file, before anything runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CliResult, LiveCluster, ProjectBuilder, kd

NS_PREFIX = "files"
SECRET = "s3cr3t-outside-the-project"


def _clean(result: CliResult) -> None:
    for text in (result.stdout, result.stderr):
        assert "Traceback" not in text and "Internal error" not in text, text
    assert result.code != 70


def _project(root: Path) -> ProjectBuilder:
    proj = ProjectBuilder(root)
    proj.package("app", values={"greeting": "hello"})
    proj.environment("dev", {"namespace": "dev", "releases": {"web": {"package": "app"}}})
    return proj


def _outside(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "outside" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _link(link: Path, target: Path) -> None:
    if link.exists() or link.is_symlink():
        link.unlink()
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


# -- one confinement rule for everything read from the project -----------------------------------


@pytest.mark.parametrize(
    ("link", "content", "inside"),
    [
        ("packages/app/values.yaml", f"greeting: {SECRET}\n", "package directory packages/app"),
        (
            "packages/app/package.yaml",
            f"name: app\nversion: 1.0.0\ndescription: {SECRET}\n",
            "package directory packages/app",
        ),
        (
            "packages/app/values.schema.yaml",
            f"type: object\ndescription: {SECRET}\n",
            "package directory packages/app",
        ),
        (
            "packages/app/templates/cm.yaml",
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata: {{k: {SECRET}}}\n",
            "package directory packages/app",
        ),
        (
            "environments/dev.yaml",
            f"namespace: dev\nreleases: {{web: {{package: app, values: {{greeting: {SECRET}}}}}}}\n",
            "project directory",
        ),
    ],
)
def test_a_project_file_that_is_a_symlink_out_of_the_project_is_refused(
    tmp_path: Path, link: str, content: str, inside: str
) -> None:
    root = tmp_path / "proj"
    _project(root)
    target = _outside(tmp_path, Path(link).name, content)
    _link(root / link, target)
    result = kd(root, "render", "-e", "dev")
    _clean(result)
    assert result.code == 1, result.stdout
    assert SECRET not in result.stdout + result.stderr
    assert link in result.stderr, result.stderr
    assert f"resolves outside the {inside}" in result.stderr, result.stderr
    assert str(target) in result.stderr  # says where the link goes


def test_a_values_file_symlink_out_of_the_project_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    proj = _project(root)
    target = _outside(tmp_path, "web.yaml", f"greeting: {SECRET}\n")
    _link(root / "environments/values/web.yaml", target)
    proj.environment(
        "dev",
        {
            "namespace": "dev",
            "releases": {"web": {"package": "app", "valuesFiles": ["values/web.yaml"]}},
        },
    )
    result = kd(root, "render", "-e", "dev")
    _clean(result)
    assert result.code == 1
    assert SECRET not in result.stdout + result.stderr
    assert "environments/values/web.yaml: resolves outside the project directory" in result.stderr


def test_a_package_directory_symlink_out_of_the_project_is_refused(tmp_path: Path) -> None:
    elsewhere = ProjectBuilder(tmp_path / "elsewhere")
    elsewhere.package("app", values={"greeting": SECRET})
    root = tmp_path / "proj"
    proj = ProjectBuilder(root)
    _link(root / "packages/app", tmp_path / "elsewhere/packages/app")
    proj.environment("dev", {"namespace": "dev", "releases": {"web": {"package": "app"}}})
    result = kd(root, "render", "-e", "dev")
    _clean(result)
    assert result.code == 1
    assert SECRET not in result.stdout + result.stderr
    assert "packages/app" in result.stderr and "resolves outside the project" in result.stderr


def test_symlinks_inside_the_project_are_followed(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    proj = _project(root)
    proj.write("packages/app/shared/defaults.yaml", "greeting: from-a-link\n")
    _link(root / "packages/app/values.yaml", root / "packages/app/shared/defaults.yaml")
    result = kd(root, "render", "-e", "dev")
    assert result.code == 0, result.stderr
    assert "from-a-link" in result.stdout


def test_a_values_file_given_with_f_may_be_outside_the_project(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    _project(root)
    outside = _outside(tmp_path, "mine.yaml", "greeting: chosen-by-the-user\n")
    result = kd(root, "render", "-e", "dev", "-f", str(outside))
    assert result.code == 0, result.stderr
    assert "chosen-by-the-user" in result.stdout


# -- YAML that is too deep or expands too far -----------------------------------------------------

ALIAS_BOMB = "".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n',
        *(
            f"{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "greeting: *i\n",
    ]
)


def _deep(levels: int) -> str:
    return "greeting: " + "{a: " * levels + "1" + "}" * levels + "\n"


@pytest.mark.parametrize(
    ("where", "text", "expected"),
    [
        ("packages/app/values.yaml", _deep(500), "nested deeper than 100 levels"),
        ("packages/app/values.yaml", ALIAS_BOMB, "aliases expand to more than"),
        ("-f", _deep(500), "nested deeper than 100 levels"),
        ("-f", ALIAS_BOMB, "aliases expand to more than"),
        ("environments/dev.yaml", ALIAS_BOMB, "aliases expand to more than"),
    ],
)
def test_too_deep_or_exploding_yaml_is_refused_naming_the_file(
    tmp_path: Path, where: str, text: str, expected: str
) -> None:
    assert len(ALIAS_BOMB) < 500
    root = tmp_path / "proj"
    proj = _project(root)
    args: list[str] = []
    if where == "-f":
        path = proj.write("mine.yaml", text)
        args = ["-f", str(path)]
        shown = str(path)
    elif where.startswith("environments/"):
        proj.write(where, text.replace("greeting: *i", "releases: {web: {package: app}}"))
        shown = where
    else:
        proj.write(where, text)
        shown = where
    started = time.monotonic()
    result = kd(root, "render", "-e", "dev", *args)
    elapsed = time.monotonic() - started
    _clean(result)
    assert result.code == 1, result.stderr
    assert f"{shown}:" in result.stderr and expected in result.stderr, result.stderr
    assert elapsed < 10, elapsed


def test_an_alias_bomb_stops_apply_before_any_change(
    tmp_path: Path, emulator: Any, ns: str, live: LiveCluster
) -> None:
    root = tmp_path / "proj"
    proj = ProjectBuilder(root)
    proj.package("app", values={"greeting": "hello"})
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig_path)},
            "namespace": ns,
            "releases": {"web": {"package": "app"}},
        },
    )
    bomb = proj.write("bomb.yaml", ALIAS_BOMB)
    started = time.monotonic()
    result = kd(root, "apply", "-e", "dev", "--yes", "-f", str(bomb))
    assert time.monotonic() - started < 10
    _clean(result)
    assert result.code == 1
    assert f"{bomb}:" in result.stderr and "aliases expand" in result.stderr
    from kdeploy.kube.client import ObjectRef

    assert live.cluster.get(ObjectRef("v1", "ConfigMap", ns, "web-config")) is None


def test_ordinary_anchors_and_nesting_still_load(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    proj = _project(root)
    proj.write(
        "packages/app/values.yaml",
        "base: &base {x: 1, y: [1, 2]}\ngreeting: ok\nother: *base\ndeep: "
        + "{a: " * 60
        + "1"
        + "}" * 60
        + "\n",
    )
    result = kd(root, "render", "-e", "dev")
    assert result.code == 0, result.stderr
