"""The shared `RELEASE (-n NAMESPACE | -e ENV) [--kubeconfig PATH] [--context NAME]` selection of the
commands that work on one deployed release. With `-n` no project file is read at all."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kdeploy.errors import ProjectError

if TYPE_CHECKING:
    from kdeploy.history.store import HistoryStore
    from kdeploy.kube.config import ClusterTarget

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ReleaseTarget:
    """A release in a namespace of a cluster (and the environment it came from, if any)."""

    release: str
    namespace: str
    kubeconfig: str | None
    context: str | None
    environment: str | None = None

    def cluster(self) -> ClusterTarget:
        """Where to connect."""
        from kdeploy.kube.config import ClusterTarget

        return ClusterTarget(kubeconfig=self.kubeconfig, context=self.context)


def resolve_release(
    ctx: click.Context,
    release: str,
    namespace: str | None,
    env: str | None,
    kubeconfig: str | None,
    context: str | None,
) -> ReleaseTarget:
    """The release target from the command line. With `-e` the environment gives the namespace
    (unless `-n` is also given) and the cluster (unless `--kubeconfig`/`--context` are given).
    Raises click.UsageError without `-n` or `-e`, ProjectError for a release the environment does
    not declare."""
    if namespace is None and env is None:
        raise click.UsageError(
            f"say where release {release} is: -n NAMESPACE, or -e ENV to take it from an environment"
        )
    if env is None:
        assert namespace is not None
        return ReleaseTarget(release, namespace, kubeconfig, context)
    from kdeploy.project import load_environment, load_project

    obj: dict[str, Any] = ctx.obj or {}
    project = load_project(Path(obj.get("project_dir") or os.getcwd()))
    environment = load_environment(project, env)
    spec = next((r for r in environment.releases if r.name == release), None)
    if spec is None:
        names = ", ".join(r.name for r in environment.releases) or "(none)"
        raise ProjectError(
            f"release {release} is not declared in environment {env} "
            f"({project.display(environment.path)}); its releases: {names}",
            hint=f"or name the namespace directly: -n NAMESPACE instead of -e {env}",
        )
    return ReleaseTarget(
        release=release,
        namespace=namespace or spec.namespace,
        kubeconfig=kubeconfig or environment.cluster.kubeconfig,
        context=context or environment.cluster.context,
        environment=env,
    )


def connect(target: ClusterTarget, pool_size: int | None = None) -> Any:
    """An ApiClient for `target`, after printing (on stderr, so also in CI logs) the kube context
    and API server it talks to, with a warning for an unchecked certificate or withheld
    credentials. Raises ClusterError when the kubeconfig or context cannot be used."""
    from kdeploy.kube.config import endpoint_of, new_api_client

    api = new_api_client(target, pool_size=pool_size) if pool_size else new_api_client(target)
    for line in endpoint_of(api).lines():
        click.echo(line, err=True)
    return api


def open_store(cluster: ClusterTarget) -> HistoryStore:
    """A HistoryStore over the ConfigMap driver of `cluster` (see `connect`), with the history key
    when one is configured (kdeploy.history.trust). Raises ClusterError when the kubeconfig or
    context cannot be used."""
    from kdeploy.history.configmap import ConfigMapDriver
    from kdeploy.history.store import HistoryStore
    from kdeploy.history.trust import history_key

    api = connect(cluster)
    return HistoryStore(ConfigMapDriver(api), key=history_key(os.environ, api))


def open_history(target: ReleaseTarget) -> HistoryStore:
    """A HistoryStore over the ConfigMap driver of the target's cluster (see `open_store`)."""
    return open_store(target.cluster())
