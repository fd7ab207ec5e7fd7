"""`kdeploy render` as a user runs it: output, files, exit codes and the message for each bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import ProjectBuilder, run_kdeploy


@pytest.fixture
def proj(tmp_path: Path) -> ProjectBuilder:
    builder = ProjectBuilder(tmp_path)
    builder.package("web", values={"greeting": "hello"})
    builder.environment(
        "dev",
        {
            "namespace": "shop",
            "releases": {
                "web": {"package": "web"},
                "api": {"package": "web", "values": {"greeting": "hi"}},
            },
        },
    )
    return builder


def render(proj: ProjectBuilder, *args: str) -> tuple[int, str, str]:
    result = run_kdeploy("-C", str(proj.root), "render", *args)
    return result.code, result.stdout, result.stderr


def assert_user_error(code: int, stderr: str, *fragments: str) -> None:
    assert code == 1, stderr
    assert stderr.startswith("Error: ")
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in stderr


def test_render_prints_every_release_as_yaml_documents(proj: ProjectBuilder) -> None:
    code, out, err = render(proj, "-e", "dev")
    assert code == 0, err
    assert out.startswith("---\n# Source: web/templates/configmap.yaml\napiVersion: v1\n")
    assert "# Source: api/templates/configmap.yaml" in out
    docs = list(yaml.safe_load_all(out))
    assert [(d["metadata"]["name"], d["data"]["greeting"]) for d in docs] == [
        ("web-config", "hello"),
        ("api-config", "hi"),
    ]
    assert all(d["metadata"]["namespace"] == "shop" for d in docs)


def test_env_may_be_omitted_when_there_is_only_one(proj: ProjectBuilder) -> None:
    code, out, _ = render(proj)
    assert code == 0
    assert "web-config" in out


def test_env_is_required_when_there_are_several(proj: ProjectBuilder) -> None:
    proj.environment("prod", {"releases": {}})
    code, _, err = render(proj)
    assert_user_error(code, err, "choose one with -e ENV", "dev, prod")


def test_named_releases_only(proj: ProjectBuilder) -> None:
    code, out, _ = render(proj, "-e", "dev", "api")
    assert code == 0
    assert "api-config" in out and "web-config" not in out


def test_values_flags_reach_the_templates(proj: ProjectBuilder) -> None:
    proj.write("override.yaml", {"greeting": "from-file"})
    code, out, _ = render(proj, "-e", "dev", "web", "-f", "override.yaml")
    assert yaml.safe_load(out)["data"]["greeting"] == "from-file"
    code, out, _ = render(proj, "-e", "dev", "web", "-f", "override.yaml", "--set", "greeting=set")
    assert yaml.safe_load(out)["data"]["greeting"] == "set"
    code, out, _ = render(
        proj, "-e", "dev", "web", "--set", "greeting=1", "--set-string", "greeting=007"
    )
    assert code == 0
    assert yaml.safe_load(out)["data"]["greeting"] == "007"


def greetings(out: str) -> dict[str, str]:
    return {d["metadata"]["name"]: d["data"]["greeting"] for d in yaml.safe_load_all(out)}


def test_release_scoped_set_changes_only_that_release(proj: ProjectBuilder) -> None:
    code, out, err = render(proj, "-e", "dev", "--set", "api:greeting=scoped")
    assert code == 0, err
    assert greetings(out) == {"web-config": "hello", "api-config": "scoped"}


def test_release_scoped_set_string_and_file(proj: ProjectBuilder) -> None:
    proj.write("web-only.yaml", {"greeting": "from-web-file"})
    code, out, err = render(
        proj, "-e", "dev", "-f", "web:web-only.yaml", "--set-string", "api:greeting=007"
    )
    assert code == 0, err
    assert greetings(out) == {"web-config": "from-web-file", "api-config": "007"}


def test_scoped_and_unscoped_overrides_apply_in_command_line_order(proj: ProjectBuilder) -> None:
    code, out, err = render(
        proj, "-e", "dev", "--set", "greeting=all", "--set", "web:greeting=web", "--set", "x=1"
    )
    assert code == 0, err
    assert greetings(out) == {"web-config": "web", "api-config": "all"}
    code, out, err = render(proj, "-e", "dev", "--set", "web:greeting=web", "--set", "greeting=all")
    assert greetings(out) == {"web-config": "all", "api-config": "all"}


def test_scoped_override_for_a_release_not_selected_is_ignored(proj: ProjectBuilder) -> None:
    code, out, err = render(proj, "-e", "dev", "web", "--set", "api:greeting=scoped")
    assert code == 0, err
    assert greetings(out) == {"web-config": "hello"}


def test_scoped_override_for_an_unknown_release_is_an_error(proj: ProjectBuilder) -> None:
    code, _, err = render(proj, "-e", "dev", "--set", "wbe:greeting=x")
    assert_user_error(
        code, err, '--set "wbe:greeting=x": environment dev has no release "wbe"', "web, api"
    )
    code, _, err = render(proj, "-e", "dev", "-f", "wbe:x.yaml")
    assert_user_error(code, err, '-f "wbe:x.yaml": environment dev has no release "wbe"')


def test_a_key_holding_a_colon_is_escaped(proj: ProjectBuilder) -> None:
    code, out, err = render(proj, "-e", "dev", "web", "--set", "greeting\\:x=1")
    assert code == 0, err
    (doc,) = yaml.safe_load_all(out)
    assert doc["data"]["greeting"] == "hello"


def test_out_writes_one_file_per_release(proj: ProjectBuilder, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    code, out, err = render(proj, "-e", "dev", "--out", str(out_dir))
    assert code == 0, err
    assert out == ""
    assert sorted(p.name for p in out_dir.iterdir()) == ["api.yaml", "web.yaml"]
    (doc,) = yaml.safe_load_all((out_dir / "web.yaml").read_text())
    assert doc["metadata"]["name"] == "web-config"
    assert "wrote" in err and "web.yaml (1 objects)" in err


def test_out_into_an_unwritable_place_is_an_error(proj: ProjectBuilder, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    code, _, err = render(proj, "-e", "dev", "--out", str(blocker / "sub"))
    assert_user_error(code, err, "cannot write", "blocker/sub/")


def test_unknown_environment_lists_the_valid_ones(proj: ProjectBuilder) -> None:
    code, _, err = render(proj, "-e", "qa")
    assert_user_error(code, err, "unknown environment 'qa'", "environments in this project: dev")


def test_unknown_release_lists_the_valid_ones(proj: ProjectBuilder) -> None:
    code, _, err = render(proj, "-e", "dev", "wbe")
    assert_user_error(
        code, err, "unknown release 'wbe' in environment dev", "releases in dev: web, api"
    )


def test_unknown_package_names_the_environment_file(proj: ProjectBuilder) -> None:
    proj.environment("dev", {"releases": {"web": {"package": "wbe"}}})
    code, _, err = render(proj, "-e", "dev")
    assert_user_error(
        code,
        err,
        "environments/dev.yaml: releases.web.package: unknown package 'wbe'",
        "packages in this project: web",
    )


def test_extends_cycle(proj: ProjectBuilder) -> None:
    proj.environment("dev", {"extends": "prod"})
    proj.environment("prod", {"extends": "dev"})
    code, _, err = render(proj, "-e", "dev")
    assert_user_error(code, err, "`extends` cycle: dev -> prod -> dev")


@pytest.mark.parametrize(
    ("rel", "text", "where"),
    [
        (
            "packages/web/values.yaml",
            "greeting: hello\n  bad: indent\n",
            "packages/web/values.yaml:2:6",
        ),
        (
            "packages/web/package.yaml",
            "name: web\nversion: [1.0.0\n",
            "packages/web/package.yaml:3:1",
        ),
        ("environments/dev.yaml", "releases:\n  web: {package: web\n", "environments/dev.yaml:3:1"),
    ],
)
def test_malformed_yaml_names_file_and_line(
    proj: ProjectBuilder, rel: str, text: str, where: str
) -> None:
    proj.write(rel, text)
    code, _, err = render(proj, "-e", "dev")
    assert_user_error(code, err, f"{where}: invalid YAML")


def test_malformed_values_file_from_the_command_line(proj: ProjectBuilder) -> None:
    proj.write("bad.yaml", "a: 1\na: 2\n")
    code, _, err = render(proj, "-e", "dev", "-f", "bad.yaml")
    assert_user_error(code, err, 'bad.yaml:2:1: invalid YAML: found duplicate key "a"')


def test_missing_values_file_from_the_command_line(proj: ProjectBuilder) -> None:
    code, _, err = render(proj, "-e", "dev", "-f", "nope.yaml")
    assert_user_error(code, err, "nope.yaml: file not found")


def test_undefined_value(proj: ProjectBuilder) -> None:
    proj.write(
        "packages/web/templates/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ values.missing.key }}\n",
    )
    code, _, err = render(proj, "-e", "dev")
    assert_user_error(
        code,
        err,
        "packages/web/templates/configmap.yaml:6: undefined value values.missing",
        "values.missing.key",
        "(release web of environment dev)",
    )


def test_template_syntax_error(proj: ProjectBuilder) -> None:
    proj.write("packages/web/templates/configmap.yaml", "apiVersion: v1\n{{ values.x }\n")
    code, _, err = render(proj, "-e", "dev")
    assert_user_error(code, err, "packages/web/templates/configmap.yaml:2: template syntax error")


def test_invalid_rendered_yaml_shows_the_rendered_lines(proj: ProjectBuilder) -> None:
    proj.write(
        "packages/web/templates/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ values.greeting }}\n",
    )
    code, _, err = render(proj, "-e", "dev", "--set", "greeting=[a, b")
    assert_user_error(code, err, 'invalid --set "greeting=[a, b"')
    code, _, err = render(proj, "-e", "dev", "--set-string", "greeting=a: b")
    assert_user_error(
        code,
        err,
        "configmap.yaml: the rendered output is not valid YAML at rendered line 6",
        "6 |   a: a: b",
    )


def test_duplicate_objects_name_both_sources(proj: ProjectBuilder) -> None:
    proj.write(
        "packages/web/templates/fixed.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: shared\n",
    )
    code, _, err = render(proj, "-e", "dev")
    assert_user_error(
        code,
        err,
        "Secret shop/shared is declared twice",
        "release web (packages/web/templates/fixed.yaml)",
        "release api (packages/web/templates/fixed.yaml)",
    )


def test_invalid_set(proj: ProjectBuilder) -> None:
    code, _, err = render(proj, "-e", "dev", "--set", "greeting")
    assert_user_error(
        code, err, "invalid --set \"greeting\": no '=' between the path and the value", "hint:"
    )


def test_schema_violation_names_the_value_path(proj: ProjectBuilder) -> None:
    proj.write(
        "packages/web/values.schema.yaml",
        {"type": "object", "properties": {"replicas": {"type": "integer", "minimum": 1}}},
    )
    code, _, err = render(proj, "-e", "dev", "--set", "replicas=-1")
    assert_user_error(
        code,
        err,
        "values do not match packages/web/values.schema.yaml",
        "replicas: -1 is less than the minimum of 1",
    )


def test_files_get_escaping_the_package(proj: ProjectBuilder) -> None:
    proj.write(
        "packages/web/templates/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ files.get('../../../environments/dev.yaml') | quote }}\n",
    )
    code, _, err = render(proj, "-e", "dev")
    assert_user_error(code, err, "configmap.yaml:6:", "escapes the package's files/ directory")


def test_sandbox_blocks_code_execution(proj: ProjectBuilder) -> None:
    proj.write(
        "packages/web/templates/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ ''.__class__.__mro__[1].__subclasses__() }}\n",
    )
    code, _, err = render(proj, "-e", "dev")
    assert_user_error(code, err, "configmap.yaml:6: blocked by the template sandbox", "__class__")


def test_not_a_project_directory(tmp_path: Path) -> None:
    result = run_kdeploy("-C", str(tmp_path), "render")
    assert_user_error(result.code, result.stderr, "is not a kdeploy project", "-C DIR")


def test_bad_flag_is_a_usage_error(proj: ProjectBuilder) -> None:
    code, _, err = render(proj, "--no-such-flag")
    assert code == 64
    assert "No such option" in err


def test_render_never_imports_the_kubernetes_client(proj: ProjectBuilder) -> None:
    script = (
        "import sys\n"
        "from kdeploy.cli import main\n"
        "try:\n"
        f"    main(['-C', {str(proj.root)!r}, 'render', '-e', 'dev'])\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        "print('exit', code, 'kubernetes' in sys.modules, 'jinja2' in sys.modules, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.stderr.strip().splitlines()[-1] == "exit 0 False True"
    assert "web-config" in proc.stdout


def test_output_is_identical_across_runs(proj: ProjectBuilder) -> None:
    first = render(proj, "-e", "dev")
    second = render(proj, "-e", "dev")
    assert first == second


def test_out_leaves_no_temporary_files_and_replaces_old_output(
    proj: ProjectBuilder, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "web.yaml").write_text("old\n")
    assert render(proj, "-e", "dev", "--out", str(out_dir))[0] == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["api.yaml", "web.yaml"]
    assert "old" not in (out_dir / "web.yaml").read_text()


def test_redact_secrets_masks_secret_and_write_only_values(tmp_path: Path) -> None:
    proj = ProjectBuilder(tmp_path)
    proj.package(
        "app",
        templates={
            "secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n"
            "stringData:\n  password: {{ values.password | quote }}\n"
            "data:\n  token: {{ values.token | b64encode }}\n",
            "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n"
            "data:\n  url: {{ ('https://u:' ~ values.apiKey ~ '@h') | quote }}\n",
        },
        values={"password": "Pw-Render-4410", "token": "Tok-Render-7781", "apiKey": "Key-R-5512x"},
        schema={"type": "object", "properties": {"apiKey": {"type": "string", "writeOnly": True}}},
    )
    proj.environment("dev", {"namespace": "shop", "releases": {"app": {"package": "app"}}})
    code, plain, err = render(proj, "-e", "dev")
    assert code == 0, err
    assert "Pw-Render-4410" in plain and "Key-R-5512x" in plain
    code, out, err = render(proj, "-e", "dev", "--redact-secrets")
    assert code == 0, err
    for secret in ("Pw-Render-4410", "Tok-Render-7781", "Key-R-5512x"):
        assert secret not in out
    import base64

    assert base64.b64encode(b"Tok-Render-7781").decode() not in out
    docs = {d["kind"]: d for d in yaml.safe_load_all(out)}
    assert docs["Secret"]["stringData"]["password"].startswith("<redacted:")
    assert docs["Secret"]["data"]["token"].startswith("<redacted:")
    assert docs["ConfigMap"]["data"]["url"].startswith("https://u:<redacted:")
