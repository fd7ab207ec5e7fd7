"""Secrets never leak: a whole release lifecycle (lint, diff, apply, history, get, status, a change
through --set, rollback, failures of every kind, uninstall) against the emulator, with distinctive
secret values given through a Secret's stringData, a Secret's data, a `writeOnly` schema value and
`--set`/`--set-string`. No command prints them (`render` excepted: it prints manifests, as documented
in docs/cli.md) and no ConfigMap in the cluster holds them, raw, base64 or gzip-compressed."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CliResult, kd, live_project

PASSWORD = "Pw-Alpha-7731-zq"  # Secret stringData, from values.yaml
TOKEN = "Tok-Bravo-4402-xk"  # Secret data (b64encode), from values.yaml
API_KEY = "Key-Charlie-5193-wv"  # writeOnly in the schema, used outside any Secret
SET_PASSWORD = "Set-Delta-8820-pj"  # a new password given with --set
BAD_KEY = "Bad-Echo-6671!!"  # writeOnly value that breaks the schema's pattern
BAD_LABEL = "Lbl-Fox-3318!!"  # a secret that the API server rejects as a label value (Invalid)
HOOK_SECRET = "Hook-Golf-2290-mn"  # secret in a failing hook Job
WAIT_SECRET = "Wait-Hotel-1187-rt"  # secret in a Deployment that never becomes ready
JOB_SECRET = "Job-India-6604-ue"  # secret in a Job's template, which the API server keeps immutable
JOB_SECRET_2 = "Job-Juliet-9931-ka"  # changing it: Invalid, quoting the whole template
HAND_SECRET = "Hand-Kilo-7402-ol"  # written into the live Secret by hand (kubectl edit)
ATOMIC_SECRET = "Atom-Lima-3356-qe"  # in a release that fails and is rolled back by --atomic
ALL = [
    ATOMIC_SECRET,
    HAND_SECRET,
    PASSWORD,
    TOKEN,
    API_KEY,
    SET_PASSWORD,
    BAD_KEY,
    BAD_LABEL,
    HOOK_SECRET,
    WAIT_SECRET,
    JOB_SECRET,
    JOB_SECRET_2,
]

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ release.name }}-creds
type: Opaque
stringData:
  password: {{ values.password | quote }}
  label: {{ values.label | quote }}
  hook: {{ values.hookSecret | quote }}
  wait: {{ values.waitSecret | quote }}
  job: {{ values.jobSecret | quote }}
data:
  token: {{ values.token | b64encode }}
"""
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-config
  labels:
    check: {{ values.label | quote }}
data:
  mode: {{ values.mode | quote }}
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ release.name }}
spec:
  replicas: 1
  progressDeadlineSeconds: 1
  selector:
    matchLabels: {app: {{ release.name }}}
  template:
    metadata:
      labels: {app: {{ release.name }}}
    spec:
      containers:
      - name: app
        image: {{ values.image }}
        env:
        - {name: API_KEY, value: {{ values.apiKey | quote }}}
        - {name: WAIT, value: {{ values.waitSecret | quote }}}
"""
JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ release.name }}-once
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: once
        image: busybox:1.36
        env:
        - {name: JOB_SECRET, value: {{ values.jobSecret | quote }}}
"""
HOOK = """\
{% if values.hookImage %}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ release.name }}-migrate
  annotations:
    kdeploy.dev/hook: pre-apply
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: {{ values.hookImage }}
        args: ["--password={{ values.hookSecret }}"]
{% endif %}
"""
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "apiKey": {"type": "string", "writeOnly": True, "pattern": "^[A-Za-z0-9-]+$"},
    },
}


@pytest.fixture
def project(tmp_path: Path, emulator: Any, namespace: str) -> Path:
    return live_project(
        tmp_path,
        str(emulator.kubeconfig_path),
        namespace,
        package="vault",
        templates={
            "secret.yaml": SECRET,
            "configmap.yaml": CONFIGMAP,
            "deployment.yaml": DEPLOYMENT,
            "hook.yaml": HOOK,
            "job.yaml": JOB,
        },
        values={
            "password": PASSWORD,
            "token": TOKEN,
            "apiKey": API_KEY,
            "label": "plain-label",
            "mode": "one",
            "image": "nginx:1.27",
            "hookImage": "",
            "hookSecret": HOOK_SECRET,
            "waitSecret": WAIT_SECRET,
            "jobSecret": JOB_SECRET,
        },
        schema=SCHEMA,
    )


def _assert_clean(what: str, result: CliResult) -> None:
    for secret in ALL:
        for form in (secret, base64.b64encode(secret.encode()).decode()):
            assert form not in result.stdout, f"{what}: stdout shows {secret!r}:\n{result.stdout}"
            assert form not in result.stderr, f"{what}: stderr shows {secret!r}:\n{result.stderr}"


def _configmap_texts(kubeconfig: str) -> list[tuple[str, str]]:
    """(namespace/name, every string of the ConfigMap incl. decompressed binaryData) for all
    ConfigMaps of the cluster."""
    from kubernetes import client, config

    api = config.new_client_from_config(kubeconfig)
    try:
        items = client.CoreV1Api(api).list_config_map_for_all_namespaces().items
        out = []
        for cm in items:
            texts = [json.dumps(api.sanitize_for_serialization(cm))]
            for value in (cm.binary_data or {}).values():
                raw = base64.b64decode(value)
                texts.append(raw.decode("latin-1"))
                if raw[:2] == b"\x1f\x8b":
                    texts.append(gzip.decompress(raw).decode("utf-8", "replace"))
            out.append((f"{cm.metadata.namespace}/{cm.metadata.name}", "\n".join(texts)))
        return out
    finally:
        api.close()


def _edit_live_secret(kubeconfig: str, namespace: str, value: str) -> None:
    from kubernetes import client, config

    api = config.new_client_from_config(kubeconfig)
    try:
        body = {"data": {"password": base64.b64encode(value.encode()).decode()}}
        client.CoreV1Api(api).patch_namespaced_secret("web-creds", namespace, body)
    finally:
        api.close()


def _assert_no_configmap_holds_secrets(kubeconfig: str) -> None:
    for where, text in _configmap_texts(kubeconfig):
        for secret in ALL:
            for form in (secret, base64.b64encode(secret.encode()).decode()):
                assert form not in text, f"ConfigMap {where} holds {secret!r}"


def test_secrets_never_leak_through_a_whole_lifecycle(
    project: Path, emulator: Any, namespace: str
) -> None:
    kubeconfig = str(emulator.kubeconfig_path)
    rel = ("web", "-n", namespace, "--kubeconfig", kubeconfig)
    results: list[tuple[str, CliResult, int | None]] = []

    def run(what: str, *args: str, code: int | None = 0) -> CliResult:
        result = kd(project, *args)
        results.append((what, result, code))
        _assert_clean(what, result)
        if code is not None:
            assert result.code == code, f"{what}: exit {result.code}\n{result.stderr}"
        return result

    # render prints manifests by design; its schema errors must still hide writeOnly values
    rendered = kd(project, "render", "-e", "dev")
    assert rendered.code == 0 and PASSWORD in rendered.stdout
    bad = run(
        "render schema error", "render", "-e", "dev", "--set-string", f"apiKey={BAD_KEY}", code=1
    )
    assert "apiKey" in bad.stderr
    run("lint schema error", "lint", "-e", "dev", "--set-string", f"apiKey={BAD_KEY}", code=1)
    run("lint json", "lint", "-e", "dev", "-o", "json", "--set-string", f"apiKey={BAD_KEY}", code=1)
    run(
        "apply schema error",
        "apply",
        "-e",
        "dev",
        "--yes",
        "--set-string",
        f"apiKey={BAD_KEY}",
        code=1,
    )

    run("diff before install", "diff", "-e", "dev")
    run("diff json", "diff", "-e", "dev", "--output", "json")
    run("apply 1", "apply", "-e", "dev", "--yes", "--timeout", "60s")
    run("diff after apply", "diff", "-e", "dev", "--detailed-exitcode")

    changed = run(
        "diff of --set",
        "diff",
        "-e",
        "dev",
        "--detailed-exitcode",
        "--set-string",
        f"password={SET_PASSWORD}",
        code=2,
    )
    assert "password" in changed.stdout
    run(
        "diff json of --set",
        "diff",
        "-e",
        "dev",
        "-o",
        "json",
        "--set",
        f"password={SET_PASSWORD}",
        code=0,
    )
    run(
        "apply 2",
        "apply",
        "-e",
        "dev",
        "--yes",
        "--set",
        f"password={SET_PASSWORD}",
        "--set",
        "mode=two",
    )

    for args in (
        ("history", *rel),
        ("history", *rel, "--output", "json"),
        ("get", "manifest", *rel),
        ("get", "values", *rel),
        ("get", "manifest", *rel, "--revision", "1", "-o", "json"),
        ("get", "values", *rel, "--revision", "1", "-o", "json"),
        ("status", *rel),
    ):
        run(" ".join(args[:2]), *args)

    # someone edits the live Secret by hand: drift and diff must not show the live value
    _edit_live_secret(kubeconfig, namespace, HAND_SECRET)
    drift = run("status drift", "status", *rel, "--show-diff", code=None)
    assert "drifted" in drift.stdout
    run("status drift json", "status", *rel, "-o", "json", "--show-diff", code=None)
    run(
        "diff of drift",
        "diff",
        "-e",
        "dev",
        "--set",
        f"password={SET_PASSWORD}",
        "--set",
        "mode=two",
    )
    run("diff json of drift", "diff", "-e", "dev", "-o", "json")

    # a secret that is not a valid label value: refused before anything is sent
    bad_label = run(
        "render bad label", "render", "-e", "dev", "--set-string", f"label={BAD_LABEL}", code=1
    )
    assert "label" in bad_label.stderr
    run(
        "apply bad label",
        "apply",
        "-e",
        "dev",
        "--yes",
        "--set-string",
        f"label={BAD_LABEL}",
        code=1,
    )
    # the API server refuses a change of a Job's template, quoting the template (Invalid)
    invalid = run(
        "diff Invalid", "diff", "-e", "dev", "--set-string", f"jobSecret={JOB_SECRET_2}", code=1
    )
    assert "immutable" in invalid.stderr
    run(
        "apply Invalid", "apply", "-e", "dev", "--yes", "--set", f"jobSecret={JOB_SECRET_2}", code=1
    )

    # a failing hook, then a rollout that never becomes healthy
    run(
        "apply failing hook",
        "apply",
        "-e",
        "dev",
        "--yes",
        "--timeout",
        "30s",
        "--set",
        "hookImage=busybox:job-fails",
        code=4,
    )
    run(
        "apply never ready",
        "apply",
        "-e",
        "dev",
        "--yes",
        "--timeout",
        "20s",
        "--set",
        "image=nginx:never-ready",
        code=4,
    )
    run("history after failures", "history", *rel)
    run("status after failures", "status", *rel, code=None)

    atomic = run(
        "apply --atomic",
        "apply",
        "-e",
        "dev",
        "--yes",
        "--atomic",
        "--timeout",
        "20s",
        "--set",
        "image=nginx:never-ready",
        "--set-string",
        f"password={ATOMIC_SECRET}",
        code=4,
    )
    assert "roll" in atomic.stderr.lower(), atomic.stderr
    run("rollback", "rollback", *rel, "--to", "1", "--yes", "--timeout", "60s")
    run("history after rollback", "history", *rel, "-o", "json")
    _assert_no_configmap_holds_secrets(kubeconfig)

    run("uninstall keep history", "uninstall", *rel, "--keep-history", "--yes")
    names = [where for where, _ in _configmap_texts(kubeconfig)]
    assert f"{namespace}/kdeploy.web.v1" in names, names  # the history is there, and clean
    _assert_no_configmap_holds_secrets(kubeconfig)
    assert all(r.code != 70 for _, r, _ in results)


BASIC_USER = "svc-web"
BASIC_PASSWORD = "Basic-Mike-5521-xo"  # a Secret's value, also inside a `Basic` auth header
BASIC_TEMPLATES = {
    "secret.yaml": """\
        apiVersion: v1
        kind: Secret
        metadata:
          name: {{ release.name }}-creds
        stringData:
          password: {{ values.password | quote }}
        """,
    "configmap.yaml": """\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ release.name }}-proxy
        data:
          auth: {{ ("Basic " ~ ((values.user ~ ":" ~ values.password) | b64encode)) | quote }}
        """,
}


def _base64_fragments(secret: str) -> list[str]:
    """What identifies `secret` inside the base64 of a longer text, at each of the three byte
    alignments: the characters that depend on the secret's bytes alone."""
    out = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + secret.encode()).decode()
        start = (0, 2, 3)[shift]
        end = (shift + len(secret)) // 3 * 4
        out.append(encoded[start:end])
    return out


def test_a_secret_inside_longer_base64_is_redacted_at_every_alignment(
    tmp_path: Path, emulator: Any, namespace: str
) -> None:
    import textwrap

    header = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
    fragments = _base64_fragments(BASIC_PASSWORD)
    assert any(f in header for f in fragments)  # the header really holds the secret
    project = live_project(
        tmp_path,
        str(emulator.kubeconfig_path),
        namespace,
        templates={k: textwrap.dedent(v) for k, v in BASIC_TEMPLATES.items()},
        values={"user": BASIC_USER, "password": BASIC_PASSWORD},
    )
    diff = kd(project, "diff", "-e", "dev")
    apply = kd(project, "apply", "-e", "dev", "--yes")
    assert apply.code == 0, apply.stderr
    changed = kd(project, "diff", "-e", "dev", "--set", f"user={BASIC_USER}x")
    for what, result in (("diff", diff), ("apply", apply), ("diff of a change", changed)):
        for form in (BASIC_PASSWORD, header, *fragments):
            assert form not in result.stdout + result.stderr, f"{what} shows {form!r}"
    assert "auth: Basic <redacted" in changed.stdout or "Basic " in changed.stdout
    for name, text in _configmap_texts(str(emulator.kubeconfig_path)):
        if name.startswith(f"{namespace}/kdeploy."):
            for form in (BASIC_PASSWORD, *fragments):
                assert form not in text, f"{name} holds {form!r}"


def test_redaction_marker_does_not_confirm_a_guessed_password(
    tmp_path: Path, emulator: Any, namespace: str
) -> None:
    import hashlib

    project = live_project(
        tmp_path,
        str(emulator.kubeconfig_path),
        namespace,
        templates={"secret.yaml": SECRET_ONLY},
        values={"password": "summer2026"},
    )
    apply = kd(project, "apply", "-e", "dev", "--yes")
    assert apply.code == 0, apply.stderr
    guess = hashlib.sha256(b"summer2026").hexdigest()[:8]
    history = kd(project, "history", "web", "-e", "dev", "-o", "json")
    got = kd(project, "get", "manifest", "web", "-e", "dev")
    texts = [
        history.stdout,
        got.stdout,
        *(t for _, t in _configmap_texts(str(emulator.kubeconfig_path))),
    ]
    assert "<redacted:" in got.stdout
    for text in texts:
        assert guess not in text


SECRET_ONLY = """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ release.name }}-creds
stringData:
  password: {{ values.password | quote }}
"""
