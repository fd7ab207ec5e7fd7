"""--set-file PATH=FILE and --set-json PATH=JSON through `kdeploy render` and `kdeploy lint`:
values, release scopes, precedence, and the refusals (naming the flag) for bad input."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ProjectBuilder, kd

TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}
data:
  motd: {{ values.motd | quote }}
  resources: {{ values.resources | tojson | quote }}
"""


@pytest.fixture
def proj(tmp_path: Path) -> ProjectBuilder:
    builder = ProjectBuilder(tmp_path / "proj")
    builder.package("app", values={"motd": "hi", "resources": {}}, templates={"cm.yaml": TEMPLATE})
    builder.environment(
        "dev",
        {
            "namespace": "shop",
            "releases": {"web": {"package": "app"}, "api": {"package": "app"}},
        },
    )
    builder.write("motd.txt", "welcome\nto the shop\n")
    return builder


def data(result_docs: list[Any], name: str) -> dict[str, str]:
    (doc,) = [d for d in result_docs if d["metadata"]["name"] == name]
    found: dict[str, str] = doc["data"]
    return found


@pytest.mark.parametrize("command", ["render", "lint"])
def test_set_file_and_set_json_are_accepted_by_render_and_lint(
    proj: ProjectBuilder, command: str
) -> None:
    result = kd(
        proj.root,
        command,
        "-e",
        "dev",
        "--set-file",
        "motd=motd.txt",
        "--set-json",
        'resources={"limits": {"cpu": "1"}}',
    )
    assert result.code == 0, result.stderr
    assert "warning" not in result.stderr


def test_set_file_sets_the_text_and_set_json_any_value_per_release(proj: ProjectBuilder) -> None:
    result = kd(
        proj.root,
        "render",
        "-e",
        "dev",
        "--set-file",
        "web:motd=motd.txt",
        "--set-json",
        'api:resources={"limits": {"cpu": "1"}, "ok": true}',
    )
    assert result.code == 0, result.stderr
    docs = result.docs()
    assert data(docs, "web")["motd"] == "welcome\nto the shop\n"
    assert data(docs, "api")["motd"] == "hi"
    assert data(docs, "api")["resources"] == '{"limits": {"cpu": "1"}, "ok": true}'
    assert data(docs, "web")["resources"] == "{}"


def test_set_json_applies_before_set_as_in_helm(proj: ProjectBuilder) -> None:
    result = kd(
        proj.root, "render", "-e", "dev", "web", "--set", "motd=from-set", "--set-json",
        'motd="from-json"',
    )  # fmt: skip
    assert data(result.docs(), "web")["motd"] == "from-set"


def test_a_set_file_outside_the_project_is_read_as_named(
    proj: ProjectBuilder, tmp_path: Path
) -> None:
    outside = tmp_path / "ci-variable-file"
    outside.write_text("from CI")
    result = kd(proj.root, "render", "-e", "dev", "web", "--set-file", f"motd={outside}")
    assert result.code == 0, result.stderr
    assert data(result.docs(), "web")["motd"] == "from CI"


def test_a_set_file_linking_out_of_the_project_is_refused(
    proj: ProjectBuilder, tmp_path: Path
) -> None:
    secret = tmp_path / "kubeconfig"
    secret.write_text("token: s3cret")
    os.symlink(secret, proj.root / "innocent.txt")
    result = kd(proj.root, "render", "-e", "dev", "--set-file", "motd=innocent.txt")
    assert result.code == 1
    assert result.stdout == ""
    assert '--set-file "motd=innocent.txt": innocent.txt is in the project directory but ' in (
        result.stderr
    )
    assert f"resolves outside it (it links to {secret.resolve()})" in result.stderr
    assert "s3cret" not in result.stderr


@pytest.mark.parametrize(
    ("flag", "value", "fragment"),
    [
        ("--set-file", "motd=missing.txt", '--set-file "motd=missing.txt": file not found'),
        ("--set-file", "motd=bin.dat", "bin.dat is not UTF-8 text"),
        ("--set-file", "motd=", "no file after '='"),
        ("--set-file", "nope:motd=motd.txt", 'environment dev has no release "nope"'),
        ("--set-json", "resources={cpu: 1}", 'invalid --set-json for "resources": the value is'),
        ("--set-json", "motd", "invalid --set-json \"motd\": no '='"),
    ],
)
def test_bad_set_file_or_set_json_is_refused_naming_the_flag(
    proj: ProjectBuilder, flag: str, value: str, fragment: str
) -> None:
    proj.write("bin.dat", "")
    (proj.root / "bin.dat").write_bytes(b"\xff\xfe\x00")
    result = kd(proj.root, "render", "-e", "dev", flag, value)
    assert result.code == 1, result.stderr
    assert result.stdout == ""
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unused_value_from_set_file_is_named_by_its_flag(proj: ProjectBuilder) -> None:
    result = kd(proj.root, "render", "-e", "dev", "--set-file", "web:mtod=motd.txt")
    assert (
        "warning: release web: mtod (set by --set-file web:mtod) is not used by any template; "
        "did you mean motd?"
    ) in result.stderr
