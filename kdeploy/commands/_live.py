"""What the live commands (diff, apply, rollback, status, uninstall) share: the terminal Output,
building Deps, and turning rendered releases into targets (their options: commands/_options.py).

Imported only by those commands, so `kdeploy --help` stays light."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import Target
from kdeploy.capabilities import Capabilities
from kdeploy.difflayout import DiffLayout
from kdeploy.model import ClusterRef, Environment

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class TerminalOutput:
    """Output on the terminal: progress on stderr, results and diffs on stdout; diffs coloured
    only when stdout is a terminal and NO_COLOR is unset."""

    color: bool
    interactive: bool

    @classmethod
    def detect(cls) -> TerminalOutput:
        tty = sys.stdout.isatty()
        return cls(
            color=tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb",
            interactive=tty and sys.stdin.isatty(),
        )

    def info(self, text: str) -> None:
        click.echo(text, err=True)

    def result(self, text: str) -> None:
        click.echo(text, nl=not text.endswith("\n"))

    def diff(self, text: str) -> None:
        if not self.color:
            # color=True: click would strip escape sequences off a pipe, GitLab's collapsible
            # section markers among them (kdeploy.difflayout); the diff text has no others (YAML
            # escapes control characters in values)
            click.echo(text, nl=False, color=True)
            return
        from rich.console import Console
        from rich.text import Text

        # we only get here on a terminal; rich still honours NO_COLOR by itself
        console = Console(highlight=False, soft_wrap=True, force_terminal=True)
        for line in text.splitlines():
            style = None
            if line.startswith(("+++", "---")):
                style = "bold"
            elif line.startswith("+"):
                style = "green"
            elif line.startswith("-"):
                style = "red"
            elif line.startswith("@@"):
                style = "cyan"
            elif line.startswith("~"):
                style = "yellow"
            console.print(Text(line, style=style or ""))

    def confirm(self, question: str) -> bool:
        return click.confirm(question, default=False, err=True)


def project_dir(ctx: click.Context) -> Path:
    obj: dict[str, Any] = ctx.obj or {}
    return Path(obj.get("project_dir") or os.getcwd())


def load_env_cluster(ctx: click.Context, env: str | None) -> tuple[Any, ClusterRef]:
    """The environment `env` of the project (None: the only one) and its cluster reference."""
    from kdeploy.actions.render import pick_environment
    from kdeploy.project import load_environment, load_project

    project = load_project(project_dir(ctx))
    environment = load_environment(project, pick_environment(project, env))
    return environment, environment.cluster


def build_deps(
    ctx: click.Context,
    cluster: ClusterRef,
    kubeconfig: str | None,
    context: str | None,
    *,
    operation: str = "",
    wait_for_lock: str | None = None,
    pool_size: int | None = None,
    full_diff: bool = False,
    diff_lines: int | None = None,
) -> Deps:
    """Real Deps for a cluster: the flags override the environment's `cluster:`. With an
    `operation` (apply, rollback, uninstall), releases are locked with Leases, waiting up to
    `wait_for_lock` (a duration such as `5m`; None: fail at once) for a held lock. `full_diff`:
    plans dry-run apply every object (see kdeploy.noop_apply)."""
    from kdeploy.actions.ordering import git_ancestry
    from kdeploy.commands._release import connect
    from kdeploy.durations import parse_duration
    from kdeploy.history.configmap import ConfigMapDriver
    from kdeploy.history.identity import detect_identity, utc_now
    from kdeploy.history.store import HistoryStore
    from kdeploy.kube.config import ClusterTarget, endpoint_of
    from kdeploy.kube.real import RealCluster
    from kdeploy.kube.retry import Retrier

    wait = None if wait_for_lock is None else parse_duration(wait_for_lock, what="--wait-for-lock")
    target = ClusterTarget(
        kubeconfig=kubeconfig or cluster.kubeconfig, context=context or cluster.context
    )
    # pool_size: connections for that many concurrent requests (see commands/_concurrency.py)
    api = connect(target, pool_size)
    identity = detect_identity(project_dir(ctx), os.environ)
    from kdeploy.history.trust import history_key

    store = HistoryStore(
        ConfigMapDriver(api),
        clock=utc_now,
        identity=lambda: identity,
        key=history_key(os.environ, api),
    )
    output = TerminalOutput.detect()
    deps = Deps(
        # retries of transient API errors are announced (one line each) where progress goes
        cluster=RealCluster(api, retrier=Retrier(notify=output.info)),
        history=store,
        output=output,
        clock=utc_now,
        identity=identity,
        target_cluster=endpoint_of(api).describe(),
        ancestry=git_ancestry(project_dir(ctx)),
        full_diff=full_diff,
        diff_layout=diff_layout(diff_lines),
    )
    if operation:
        from kdeploy.lock import LeaseLocker

        deps.locks = LeaseLocker(
            api, identity.who, operation=operation, wait=wait, notify=output.info
        )
    return deps


# --diff-lines in CI when not given: a first install of a big release prints its manifests once,
# in the --manifests-out artifact, not in the job log
CI_DIFF_LINES = 1000


def diff_layout(diff_lines: int | None) -> DiffLayout:
    """The layout of text diffs: `--diff-lines` (None: 1000 in CI, else no limit; 0: no limit),
    and GitLab collapsible sections in a GitLab CI job whose output is not a terminal."""
    from kdeploy.commands._wait import in_ci

    limit = diff_lines if diff_lines is not None else (CI_DIFF_LINES if in_ci() else 0)
    sections = os.environ.get("GITLAB_CI") == "true" and not sys.stdout.isatty()
    return DiffLayout(max_lines=limit or None, gitlab_sections=sections)


def environment_lock(environment: Environment, deploying: int) -> tuple[str, str] | None:
    """(name, namespace) of the environment's lock for an apply that deploys `deploying` of its
    releases: the Lease lives in the namespace of its first release in file order (whichever
    releases an apply selects, so every apply of the environment finds the same Lease). None when
    the apply deploys one release (or none): that release's lock, held for the same span, already
    makes it one step that other applies come before or after as a whole, so no interleaving is
    possible, and the two requests that create and delete a second Lease are saved."""
    if deploying < 2 or not environment.releases:
        return None
    return environment.name, environment.releases[0].namespace


def cluster_capabilities(
    ctx: click.Context, env: str | None, kubeconfig: str | None, context: str | None
) -> Capabilities:
    """`kube` for diff and apply: the version and discovery of the environment's cluster (the
    flags override its `cluster:`), read the first time a template asks; and the live objects
    lookup() reads (kdeploy.lookup)."""
    import functools

    from kdeploy.capabilities import from_cluster

    @functools.cache
    def cluster() -> Any:
        from kdeploy.kube.config import ClusterTarget, new_api_client
        from kdeploy.kube.real import RealCluster

        _environment, ref = load_env_cluster(ctx, env)
        target = ClusterTarget(
            kubeconfig=kubeconfig or ref.kubeconfig, context=context or ref.context
        )
        return RealCluster(new_api_client(target))

    def version() -> str:
        return str(cluster().server_version())

    def kinds() -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = cluster().api_kinds()
        return found

    def read(api_version: str, kind: str, namespace: str, name: str) -> Any:
        from kdeploy.kube.client import ObjectRef

        if name:
            return cluster().get(ObjectRef(api_version, kind, namespace, name))
        return cluster().list_by_labels(api_version, kind, namespace or None, "")

    return from_cluster(version, kinds, read)


def rendered_targets(
    ctx: click.Context,
    env: str | None,
    releases: Sequence[str],
    value_files: Sequence[str],
    sets: Sequence[str],
    set_strings: Sequence[str],
    description: str,
    kubeconfig: str | None,
    context: str | None,
    *,
    set_files: Sequence[str] = (),
    set_jsons: Sequence[str] = (),
    annotations: Sequence[str] = (),
    placeholders: bool = False,
) -> list[Target]:
    """Render the selected releases of `env` (all, in file order, when none are named) into
    deploy targets, with the secret strings to keep out of output and history. Templates see
    the cluster's version and APIs as `kube` (read only when a template uses it). Every object
    gets the `annotations` (--annotate KEY=VALUE) and, in a GitLab CI job with an environment,
    GitLab's deployment annotations (kdeploy.trace). With `placeholders`, a required secret the
    job lacks is rendered as a placeholder instead of stopping (diff --secrets keep-live).
    Raises click.BadParameter for a bad --annotate."""
    from kdeploy.actions.render import SecretsMode, render_environment
    from kdeploy.commands._values import warn_unused_values
    from kdeploy.secrets import Redactor, release_secret_strings
    from kdeploy.trace import AnnotationError, annotate, gitlab_annotations, parse_annotations

    try:
        own = parse_annotations(annotations)
    except AnnotationError as e:
        raise click.BadParameter(str(e), param_hint="'--annotate'") from None
    pod_annotations = gitlab_annotations(os.environ)

    rendered = render_environment(
        project_dir(ctx),
        env,
        releases,
        [Path(f) for f in value_files],
        sets,
        set_strings,
        capabilities=cluster_capabilities(ctx, env, kubeconfig, context),
        set_files=set_files,
        set_jsons=set_jsons,
        secrets_mode=SecretsMode.PLACEHOLDER if placeholders else SecretsMode.REQUIRE,
    )
    warn_unused_values(rendered)
    targets = []
    for rel in rendered:
        manifests = tuple(annotate((o.manifest for o in rel.objects), own, pod_annotations))
        secrets = frozenset(release_secret_strings(rel))
        targets.append(
            Target(
                release=rel.spec.name,
                namespace=rel.spec.namespace,
                manifests=manifests,
                values=rel.values,
                user_values=rel.user_values,
                package=rel.package.name,
                package_version=rel.package.version,
                app_version=rel.package.app_version or "",
                kube_version=rel.package.kube_version,
                environment=rel.spec.environment,
                description=description,
                secret_strings=secrets,
                unavailable_secrets=rel.unavailable_secrets,
                notes=Redactor(secrets).text(rel.notes) if rel.notes else "",
            )
        )
    return targets


def _command_line_wins(
    ctx: click.Context, namespace: str, env: str
) -> tuple[str | None, str | None]:
    """(-n, -e) with the one that only came from an environment variable dropped, when the other
    was given on the command line (`KDEPLOY_ENV=prod kdeploy status web -n shop`)."""
    from click.core import ParameterSource

    from_env = {ParameterSource.ENVIRONMENT, ParameterSource.DEFAULT}
    ns_source = ctx.get_parameter_source("namespace")
    env_source = ctx.get_parameter_source("env")
    if ns_source == ParameterSource.COMMANDLINE and env_source in from_env:
        return namespace, None
    if env_source == ParameterSource.COMMANDLINE and ns_source in from_env:
        return None, env
    return namespace, env


def locate_release(
    ctx: click.Context, release: str, namespace: str | None, env: str | None
) -> tuple[str, ClusterRef]:
    """The namespace of `release` and the cluster to use: from -n (no project files needed) or
    from the environment -e. When one comes from the command line and the other only from its
    KDEPLOY_* variable, the command line wins. Raises click.UsageError unless exactly one is
    given."""
    if namespace is not None and env is not None:
        namespace, env = _command_line_wins(ctx, namespace, env)
    if (namespace is None) == (env is None):
        raise click.UsageError("give exactly one of -n NAMESPACE or -e ENV")
    if namespace is not None:
        return namespace, ClusterRef()
    assert env is not None
    environment, cluster = load_env_cluster(ctx, env)
    for spec in environment.releases:
        if spec.name == release:
            return spec.namespace, cluster
    from kdeploy.errors import ProjectError

    names = ", ".join(s.name for s in environment.releases) or "(none)"
    raise ProjectError(
        f"{environment.path}: environment {env} has no release {release}; its releases: {names}"
    )
