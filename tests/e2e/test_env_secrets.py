"""The `secrets:` section of environment files at the CLI: values read from CI variables and files
(GitLab masked and File variables), never shown by lint, diff, apply or history, never stored in a
ConfigMap, and a missing required one stops before any cluster change (docs/values.md)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_secret_leaks import _configmap_texts
from tests.helpers import CliResult, ProjectBuilder, kd

DB_PASSWORD = "Db-Mike-4471-sq"  # a masked CI variable, into a Secret's stringData
TLS_KEY = "-----BEGIN KEY-----\nKey-November-8812-tw\n-----END KEY-----\n"  # a File variable
SESSION = "Sess-Oscar-2290-pl"  # optional; used outside any Secret's data (an annotation)
ALL = (DB_PASSWORD, TLS_KEY, "Key-November-8812-tw", SESSION)

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ release.name }}-creds
  annotations:
    example.com/session: {{ values.session | default("none") | quote }}
type: Opaque
stringData:
  password: {{ values.db.password | quote }}
data:
  tls.key: {{ values.tls.key | b64encode }}
"""
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-config
data:
  user: {{ values.db.user | quote }}
"""


def _project(root: Path, kubeconfig: str, namespace: str) -> Path:
    proj = ProjectBuilder(root)
    proj.package(
        "webapp",
        templates={"secret.yaml": SECRET, "configmap.yaml": CONFIGMAP},
        values={"db": {"user": "app", "password": ""}, "tls": {"key": ""}},
    )
    proj.environment(
        "dev",
        f"""\
        cluster: {{kubeconfig: {kubeconfig}}}
        namespace: {namespace}
        secrets:
          db.password: {{env: KD_TEST_DB_PASSWORD}}
        releases:
          web:
            package: webapp
            secrets:
              tls.key: {{file: $KD_TEST_TLS_KEY_FILE}}
              session: {{env: KD_TEST_SESSION, required: false}}
        """,
    )
    return root


@pytest.fixture
def project(tmp_path: Path, emulator: Any, namespace: str) -> Path:
    return _project(tmp_path / "proj", str(emulator.kubeconfig_path), namespace)


@pytest.fixture
def ci_vars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The job's variables as GitLab sets them: a masked variable and a File variable."""
    key_file = tmp_path / "ci" / "TLS_KEY_FILE"
    key_file.parent.mkdir()
    key_file.write_text(TLS_KEY, encoding="utf-8")
    monkeypatch.setenv("KD_TEST_DB_PASSWORD", DB_PASSWORD)
    monkeypatch.setenv("KD_TEST_TLS_KEY_FILE", str(key_file))
    monkeypatch.setenv("KD_TEST_SESSION", SESSION)


def _assert_clean(what: str, result: CliResult) -> None:
    for secret in ALL:
        for form in (secret, base64.b64encode(secret.encode()).decode()):
            assert form not in result.stdout, f"{what}: stdout shows {secret!r}"
            assert form not in result.stderr, f"{what}: stderr shows {secret!r}"


def _assert_no_configmap_holds_secrets(kubeconfig: str) -> None:
    for where, text in _configmap_texts(kubeconfig):
        for secret in ALL:
            for form in (secret, base64.b64encode(secret.encode()).decode()):
                assert form not in text, f"ConfigMap {where} holds {secret!r}"


def _live_secret(kubeconfig: str, namespace: str) -> Any:
    from kubernetes import client, config

    api = config.new_client_from_config(kubeconfig)
    try:
        return client.CoreV1Api(api).read_namespaced_secret("web-creds", namespace)
    finally:
        api.close()


def _objects_in(kubeconfig: str, namespace: str) -> list[str]:
    from kubernetes import client, config

    api = config.new_client_from_config(kubeconfig)
    try:
        core = client.CoreV1Api(api)
        names = [
            f"ConfigMap {c.metadata.name}" for c in core.list_namespaced_config_map(namespace).items
        ]
        names += [f"Secret {s.metadata.name}" for s in core.list_namespaced_secret(namespace).items]
        return [n for n in names if n != "ConfigMap kube-root-ca.crt"]
    finally:
        api.close()


@pytest.mark.usefixtures("ci_vars")
def test_secrets_from_ci_variables_and_files_are_deployed_and_never_shown(
    project: Path, emulator: Any, namespace: str
) -> None:
    kubeconfig = str(emulator.kubeconfig_path)
    diff = kd(project, "diff", "-e", "dev", "--detailed-exitcode")
    assert diff.code == 2, diff.stderr
    _assert_clean("diff", diff)
    assert "<redacted:sha256:" in diff.stdout  # the annotation from an env secret is masked
    apply = kd(project, "apply", "-e", "dev", "--yes")
    assert apply.code == 0, apply.stderr
    _assert_clean("apply", apply)

    live = _live_secret(kubeconfig, namespace)
    assert base64.b64decode(live.data["password"]).decode() == DB_PASSWORD
    assert base64.b64decode(live.data["tls.key"]).decode() == TLS_KEY
    assert live.metadata.annotations["example.com/session"] == SESSION

    for args in (("history", "web", "-e", "dev", "-o", "json"), ("status", "web", "-e", "dev")):
        result = kd(project, *args)
        assert result.code == 0, result.stderr
        _assert_clean(" ".join(args), result)
    get_values = kd(project, "get", "values", "web", "-e", "dev")
    assert get_values.code == 0, get_values.stderr
    _assert_clean("get values", get_values)
    assert "<redacted:sha256:" in get_values.stdout  # stored redacted in the history values
    _assert_no_configmap_holds_secrets(kubeconfig)

    unchanged = kd(project, "diff", "-e", "dev", "--detailed-exitcode")
    assert unchanged.code == 0, unchanged.stdout + unchanged.stderr
    _assert_clean("second diff", unchanged)


@pytest.mark.parametrize("command", ["diff", "apply"])
def test_a_missing_required_variable_stops_before_any_cluster_change(
    project: Path,
    emulator: Any,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(TLS_KEY, encoding="utf-8")
    monkeypatch.setenv("KD_TEST_TLS_KEY_FILE", str(key_file))
    monkeypatch.setenv("KD_TEST_SESSION", SESSION)
    monkeypatch.delenv("KD_TEST_DB_PASSWORD", raising=False)
    args = ["--yes"] if command == "apply" else []
    result = kd(project, command, "-e", "dev", *args)
    assert result.code == 1, result.stdout + result.stderr
    assert "environments/dev.yaml: secrets.db.password" in result.stderr
    assert "KD_TEST_DB_PASSWORD" in result.stderr
    _assert_clean(command, result)
    assert "Cluster:" not in result.stderr  # stopped before connecting to any cluster
    assert _objects_in(str(emulator.kubeconfig_path), namespace) == []


def test_a_missing_file_variable_and_an_empty_variable_are_both_named(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KD_TEST_DB_PASSWORD", "")
    monkeypatch.setenv("KD_TEST_TLS_KEY_FILE", "/nonexistent/kd-test-key")
    result = kd(project, "apply", "-e", "dev", "--yes")
    assert result.code == 1
    assert "variable KD_TEST_DB_PASSWORD is not set or empty" in result.stderr
    assert "releases.web.secrets.tls.key" in result.stderr
    assert "/nonexistent/kd-test-key" in result.stderr
    assert "session" not in result.stderr  # optional: its absence is not an error


def test_lint_and_render_work_offline_without_the_secrets(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("KD_TEST_DB_PASSWORD", "KD_TEST_TLS_KEY_FILE", "KD_TEST_SESSION"):
        monkeypatch.delenv(var, raising=False)
    lint = kd(project, "lint", "-e", "dev")
    assert lint.code == 0, lint.stdout + lint.stderr
    assert "secrets not available" in lint.stderr
    for named in ("secrets.db.password", "KD_TEST_DB_PASSWORD", "releases.web.secrets.session"):
        assert named in lint.stderr

    render = kd(project, "render", "-e", "dev")
    assert render.code == 1
    assert "KD_TEST_DB_PASSWORD" in render.stderr and "--redact-secrets" in render.stderr

    redacted = kd(project, "render", "-e", "dev", "--redact-secrets")
    assert redacted.code == 0, redacted.stderr
    assert "<redacted:sha256:" in redacted.stdout


@pytest.mark.usefixtures("ci_vars")
def test_render_redact_secrets_masks_values_read_from_secrets(project: Path) -> None:
    result = kd(project, "render", "-e", "dev", "--redact-secrets")
    assert result.code == 0, result.stderr
    _assert_clean("render --redact-secrets", result)
    plain = kd(project, "render", "-e", "dev")
    assert plain.code == 0 and SESSION in plain.stdout  # render prints manifests as they are


def _render_values(root: Path, env: str, *args: str) -> dict[str, Any]:
    result = kd(root, "render", "-e", env, *args)
    assert result.code == 0, result.stderr
    (doc,) = [d for d in result.docs() if d["kind"] == "ConfigMap"]
    return dict(doc["data"])


def test_precedence_environment_values_then_secrets_then_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = ProjectBuilder(tmp_path)
    proj.package(
        "app",
        templates={"cm.yaml": CM_ALL},
        values={"a": "default", "b": "default", "c": "default"},
    )
    proj.environment(
        "base",
        """\
        values: {a: from-values, b: from-values, c: from-values}
        secrets:
          a: {env: KD_TEST_A}
          b: {env: KD_TEST_B}
        releases:
          web: {package: app}
        """,
    )
    proj.environment(
        "nulled",
        """\
        extends: base
        secrets:
          a: null
        """,
    )
    proj.environment(
        "child",
        """\
        extends: base
        secrets:
          b: {env: KD_TEST_B_CHILD}
        releases:
          web:
            secrets:
              c: {env: KD_TEST_C, required: false}
        """,
    )
    monkeypatch.setenv("KD_TEST_A", "secret-a")
    monkeypatch.setenv("KD_TEST_B", "secret-b")
    monkeypatch.setenv("KD_TEST_B_CHILD", "secret-b-child")
    monkeypatch.delenv("KD_TEST_C", raising=False)
    assert _render_values(tmp_path, "base") == {
        "a": "secret-a",
        "b": "secret-b",
        "c": "from-values",
    }
    # extends: the child's entry for the same path wins; a missing optional one leaves the value
    assert _render_values(tmp_path, "child") == {
        "a": "secret-a",
        "b": "secret-b-child",
        "c": "from-values",
    }
    # `path: null` removes an inherited entry: the value comes from the values layers again
    assert _render_values(tmp_path, "nulled")["a"] == "from-values"
    # -f and --set come after the secrets
    over = proj.write("over.yaml", {"a": "from-f"})
    assert _render_values(tmp_path, "base", "-f", str(over), "--set", "b=from-set") == {
        "a": "from-f",
        "b": "from-set",
        "c": "from-values",
    }


CM_ALL = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}
data:
  a: {{ values.a | quote }}
  b: {{ values.b | quote }}
  c: {{ values.c | quote }}
"""


@pytest.mark.parametrize(
    ("entry", "line", "problem"),
    [
        ("db.password: {vault: x}", 6, "unknown key 'vault'"),
        ("db.password: {env: A, file: /x}", 6, "give exactly one of `env` and `file`"),
        ("db..password: {env: A}", 6, "invalid values path 'db..password'"),
        ("db.password: {env: $A}", 6, "env must be a variable name"),
        ("db.password: {env: A, required: maybe}", 6, "required must be true or false"),
    ],
)
def test_bad_entries_name_file_and_line(
    tmp_path: Path, entry: str, line: int, problem: str
) -> None:
    proj = ProjectBuilder(tmp_path)
    proj.package("app")
    proj.environment(
        "dev",
        f"namespace: dev\nreleases:\n  web:\n    package: app\n    secrets:\n      {entry}\n",
    )
    for command in ("render", "lint"):
        result = kd(tmp_path, command, "-e", "dev")
        assert result.code == 1, result.stdout
        assert f"environments/dev.yaml:{line}: releases.web.secrets." in result.stderr
        assert problem in result.stderr


def test_errors_quoting_a_value_from_secrets_redact_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = ProjectBuilder(tmp_path)
    proj.package(
        "app",
        templates={"cm.yaml": CM_ALL},
        values={"a": "x", "b": "x", "c": "x"},
        schema={"type": "object", "properties": {"a": {"type": "string", "maxLength": 3}}},
    )
    proj.environment("dev", "secrets:\n  a: {env: KD_TEST_A}\nreleases:\n  web: {package: app}\n")
    monkeypatch.setenv("KD_TEST_A", DB_PASSWORD)
    for command in ("render", "lint"):
        result = kd(tmp_path, command, "-e", "dev")
        assert result.code == 1, result.stdout + result.stderr
        assert "is too long" in result.stdout + result.stderr
        _assert_clean(command, result)


API_SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ release.name }}-api
type: Opaque
stringData:
  token: {{ values.api.token | quote }}
"""


def test_first_install_of_an_empty_secret_value_needs_allow_secret_removal(
    tmp_path: Path, emulator: Any, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = ProjectBuilder(tmp_path / "proj")
    proj.package("webapp", templates={"secret.yaml": API_SECRET}, values={"api": {"token": ""}})
    proj.environment(
        "dev",
        f"""\
        cluster: {{kubeconfig: {emulator.kubeconfig_path}}}
        namespace: {namespace}
        releases:
          web:
            package: webapp
            secrets:
              api.token: {{env: KD_TEST_API_TOKEN, required: false}}
        """,
    )
    monkeypatch.delenv("KD_TEST_API_TOKEN", raising=False)
    kubeconfig = str(emulator.kubeconfig_path)

    result = kd(proj.root, "apply", "-e", "dev", "--yes")
    assert result.code == 1, result.stdout + result.stderr
    assert f"Secret {namespace}/web-api: key token would be created empty" in result.stderr
    assert (
        "environments/dev.yaml: releases.web.secrets.api.token "
        "(variable KD_TEST_API_TOKEN is not set or empty)"
    ) in result.stderr
    assert "values.api.token" in result.stderr and "--allow-secret-removal" in result.stderr
    assert _objects_in(kubeconfig, namespace) == []  # nothing deployed, nothing recorded

    diff = kd(proj.root, "diff", "-e", "dev")
    assert f"! Secret {namespace}/web-api: key token would be created empty" in diff.stdout
    doc = json.loads(kd(proj.root, "diff", "-e", "dev", "-o", "json").stdout)
    assert doc["releases"][0]["secretRemovals"] == [
        {"object": f"Secret {namespace}/web-api", "key": "token", "removal": "created empty"}
    ]

    allowed = kd(proj.root, "apply", "-e", "dev", "--yes", "--allow-secret-removal")
    assert allowed.code == 0, allowed.stdout + allowed.stderr
    assert "Secret web-api" in _objects_in(kubeconfig, namespace)
    # once deployed empty on purpose, it stays so without the flag
    again = kd(proj.root, "apply", "-e", "dev", "--yes")
    assert again.code == 0, again.stdout + again.stderr


def test_a_secret_file_that_is_empty_counts_as_missing(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-key"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setenv("KD_TEST_DB_PASSWORD", DB_PASSWORD)
    monkeypatch.setenv("KD_TEST_TLS_KEY_FILE", str(empty))
    result = kd(project, "apply", "-e", "dev", "--yes")
    assert result.code == 1, result.stdout + result.stderr
    assert f"releases.web.secrets.tls.key (file $KD_TEST_TLS_KEY_FILE ({empty}) is empty)" in (
        result.stderr
    )
    assert "Cluster:" not in result.stderr


def test_lint_without_a_secret_skips_its_content_rules_but_checks_a_given_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lint job lacks the protected, environment-scoped variables: the schema's pattern and
    minLength cannot be checked on the placeholder and do not fail it; a value that is given is
    checked, and the error never shows it."""
    proj = ProjectBuilder(tmp_path)
    proj.package(
        "app",
        templates={"cm.yaml": CM_ALL},
        values={"a": "x", "b": "x", "c": "x"},
        schema={
            "type": "object",
            "properties": {
                "a": {
                    "type": "string",
                    "writeOnly": True,
                    "pattern": "^postgres://",
                    "minLength": 16,
                }
            },
        },
    )
    proj.environment(
        "prod",
        {
            "namespace": "shop",
            "releases": {"web": {"package": "app", "secrets": {"a": {"env": "KD_TEST_DB_URL"}}}},
        },
    )
    monkeypatch.delenv("KD_TEST_DB_URL", raising=False)
    lint = kd(tmp_path, "lint", "-e", "prod")
    assert lint.code == 0, lint.stdout + lint.stderr
    assert "KD_TEST_DB_URL" in lint.stderr and "values-schema" not in lint.stdout

    monkeypatch.setenv("KD_TEST_DB_URL", "mysql://Bad-Kilo-5531")
    lint = kd(tmp_path, "lint", "-e", "prod")
    assert lint.code == 1
    assert "values-schema" in lint.stdout and "does not match '^postgres://'" in lint.stdout
    assert "Bad-Kilo-5531" not in lint.stdout + lint.stderr
