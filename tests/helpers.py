"""Shared test builders: write a kdeploy project into a temp directory and run the CLI on it.

from tests.helpers import ProjectBuilder, run_kdeploy

proj = ProjectBuilder(tmp_path)
proj.package("web", templates={"cm.yaml": CM}, values={"replicas": 2})
proj.environment("dev", {"namespace": "dev", "releases": {"web": {"package": "web"}}})
result = run_kdeploy("-C", str(tmp_path), "render", "-e", "dev")
assert result.code == 0, result.stderr
"""

from __future__ import annotations

import contextlib
import functools
import io
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml

CONFIGMAP_TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-config
data:
  greeting: {{ values.greeting | quote }}
"""
SECRET_TEMPLATE = """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ release.name }}-secret
type: Opaque
stringData:
  password: {{ values.password | quote }}
"""
# a release that creates its own namespace
NAMESPACE_TEMPLATE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: {{ release.namespace }}
"""
# `values.replicas` (default 1) replicas of the image `values.image`; `values.deadline`, when
# given, is the progressDeadlineSeconds
IMAGE_DEPLOYMENT_TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ release.name }}
spec:
  replicas: {{ values.replicas | default(1) }}
{% if values.deadline is defined %}
  progressDeadlineSeconds: {{ values.deadline }}
{% endif %}
  selector:
    matchLabels: {app: {{ release.name }}}
  template:
    metadata:
      labels: {app: {{ release.name }}}
    spec:
      containers:
      - name: app
        image: {{ values.image }}
"""
# the image in use, for a ConfigMap that changes whenever the Deployment's image does
IMAGE_CONFIGMAP_TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-config
data:
  image: {{ values.image | quote }}
"""


def _text(content: str | dict[str, Any] | list[Any]) -> str:
    if isinstance(content, str):
        return textwrap.dedent(content)
    return yaml.safe_dump(content, sort_keys=False)


class ProjectBuilder:
    """Writes packages/, environments/ and other files of a project under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "packages").mkdir(parents=True, exist_ok=True)
        (root / "environments").mkdir(parents=True, exist_ok=True)

    def write(self, rel: str, content: str | dict[str, Any] | list[Any]) -> Path:
        """Write `content` (text is dedented; a dict or list is dumped as YAML) to root/rel."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_text(content), encoding="utf-8")
        return path

    def package(
        self,
        name: str,
        *,
        templates: dict[str, str] | None = None,
        values: str | dict[str, Any] | None = None,
        schema: str | dict[str, Any] | None = None,
        files: dict[str, str] | None = None,
        version: str = "1.0.0",
        meta: str | dict[str, Any] | None = None,
    ) -> Path:
        """A package packages/<name>/; `meta` replaces the generated package.yaml when given.
        Without templates it gets one ConfigMap template using `values.greeting`."""
        base = f"packages/{name}"
        if meta is None:
            meta = {"name": name, "version": version, "description": f"test package {name}"}
        self.write(f"{base}/package.yaml", meta)
        if values is None and templates is None:
            values = {"greeting": "hello"}
        if values is not None:
            self.write(f"{base}/values.yaml", values)
        if schema is not None:
            self.write(f"{base}/values.schema.yaml", schema)
        for tname, text in (templates or {"configmap.yaml": CONFIGMAP_TEMPLATE}).items():
            self.write(f"{base}/templates/{tname}", text)
        for fname, text in (files or {}).items():
            self.write(f"{base}/files/{fname}", text)
        return self.root / base

    def environment(self, name: str, content: str | dict[str, Any]) -> Path:
        """environments/<name>.yaml."""
        return self.write(f"environments/{name}.yaml", content)


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    def docs(self) -> list[Any]:
        """The YAML documents printed on stdout (empty ones dropped)."""
        return [d for d in yaml.safe_load_all(self.stdout) if d is not None]


def cli_options() -> Iterator[tuple[str, click.Option]]:
    """(top-level command name, option) for every option of every kdeploy command and subcommand,
    the global options under the name ''."""
    from kdeploy.cli import cli

    ctx = click.Context(cli)

    def walk(command: click.Command, top: str) -> Iterator[tuple[str, click.Option]]:
        if isinstance(command, click.Group) and command is not cli:
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                yield from walk(sub, top)
        for param in command.params:
            if isinstance(param, click.Option):
                yield top, param

    yield from walk(cli, "")
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None
        yield from walk(command, name)


@functools.cache
def option_envvars() -> frozenset[str]:
    """The environment variables that kdeploy's options read (KDEPLOY_TIMEOUT, ...)."""
    names = set()
    for _, option in cli_options():
        envvars = [option.envvar] if isinstance(option.envvar, str) else option.envvar or []
        names.update(envvars)
    return frozenset(names)


def run_kdeploy(*args: str) -> CliResult:
    """Run `kdeploy ARGS` in this process through kdeploy.cli.main, as the console script does,
    and return the exit code and what it printed."""
    from kdeploy.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return CliResult(code=code, stdout=out.getvalue(), stderr=err.getvalue())


def kd(project: Path, *args: str) -> CliResult:
    """`kdeploy -C PROJECT ARGS`, in this process (see run_kdeploy)."""
    return run_kdeploy("-C", str(project), *args)


def revisions(project: Path, release: str = "web", env: str = "dev") -> list[dict[str, Any]]:
    """The revisions `kdeploy history RELEASE -e ENV -o json` lists for PROJECT, oldest first;
    fails the test when that command does not exit 0."""
    import json

    result = kd(project, "history", release, "-e", env, "-o", "json")
    assert result.code == 0, result.stderr
    listed: list[dict[str, Any]] = json.loads(result.stdout)["revisions"]
    return listed


def live_project(
    root: Path,
    kubeconfig: str,
    namespace: str,
    *,
    templates: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    schema: dict[str, Any] | None = None,
    package: str = "webapp",
) -> Path:
    """A project at `root` with package `package` (`templates`, `values`, `schema`) and an
    environment `dev` deploying it as release `web` to `namespace` of the cluster in
    `kubeconfig`. Returns root."""
    proj = ProjectBuilder(root)
    proj.package(package, templates=templates, values=values, schema=schema)
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": kubeconfig},
            "namespace": namespace,
            "releases": {"web": {"package": package}},
        },
    )
    return root


class LiveCluster:
    """A namespace of a cluster read through the real client, for assertions."""

    def __init__(self, kubeconfig: str, namespace: str) -> None:
        from kdeploy.kube.config import ClusterTarget, new_api_client
        from kdeploy.kube.real import RealCluster

        self.kubeconfig = kubeconfig
        self.api = new_api_client(ClusterTarget(kubeconfig=kubeconfig))
        self.cluster = RealCluster(self.api)
        self.ns = namespace

    def image(self) -> str:
        """The image of Deployment web's first container."""
        from kdeploy.kube.client import ObjectRef

        dep = self.cluster.get(ObjectRef("apps/v1", "Deployment", self.ns, "web"))
        assert dep is not None
        return str(dep["spec"]["template"]["spec"]["containers"][0]["image"])

    def object(self, kind: str, name: str, api_version: str = "v1") -> dict[str, Any] | None:
        """The object `kind` `name` in this namespace, or None when there is none."""
        from kdeploy.kube.client import ObjectRef

        return self.cluster.get(ObjectRef(api_version, kind, self.ns, name))

    def job(self, name: str) -> dict[str, Any] | None:
        """Job `name` in this namespace, or None when there is none."""
        from kdeploy.kube.client import ObjectRef

        return self.cluster.get(ObjectRef("batch/v1", "Job", self.ns, name))

    def create_namespace(self, name: str) -> None:
        """Create namespace `name` (outside this one)."""
        from kubernetes import client

        client.CoreV1Api(self.api).create_namespace({"metadata": {"name": name}})


def run_kdeploy_process(*args: str, cwd: Path | None = None) -> CliResult:
    """Run `python -m kdeploy.cli ARGS` in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-m", "kdeploy.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    return CliResult(code=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)


def kd_on_terminal(project: Path, *args: str, answers: str) -> CliResult:
    """`kdeploy -C PROJECT ARGS` in a fresh interpreter whose stdin and stdout are a terminal (a
    pseudo-terminal), as a person runs it, typing `answers` (e.g. "n\\n") at its prompts. stdout
    is what the terminal showed (the typed answers echoed); stderr is captured apart, so the
    prompts are in it."""
    import os
    import pty
    import select
    import threading

    master, slave = pty.openpty()
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kdeploy.cli", "-C", str(project), *args],
        stdin=slave,
        stdout=slave,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(slave)
    err: list[bytes] = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    os.write(master, answers.encode())
    shown = b""
    try:
        while select.select([master], [], [], 120)[0]:
            chunk = os.read(master, 65536)
            if not chunk:
                break
            shown += chunk
    except OSError:  # EIO: the process closed the terminal
        pass
    finally:
        os.close(master)
    code = proc.wait(timeout=120)
    reader.join(timeout=120)
    text = shown.decode(errors="replace").replace("\r\n", "\n")
    return CliResult(code=code, stdout=text, stderr=b"".join(err).decode(errors="replace"))


def git(repo: Path, *args: str) -> str:
    """`git -C REPO ARGS` with a fixed committer; returns stdout stripped (raises on failure)."""
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    """Commit every file of the work tree REPO (made a repository first if needed); returns the
    new HEAD commit."""
    if not (repo / ".git").exists():
        git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")
