"""Build an `ApiClient` for a kubeconfig and context (or the pod's service account).

Precedence: `--kubeconfig`/`--context` flags, then the environment file's `cluster:`, then
`KUBECONFIG` (a list of paths is merged, as kubectl does), then `~/.kube/config`; when no
kubeconfig exists and `KUBERNETES_SERVICE_HOST` is set, the in-cluster service account is used
(CI runners on Kubernetes).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kdeploy.errors import ClusterError
from kdeploy.kube.importing import import_config

# Seconds. Connecting to a healthy API server takes milliseconds; a read can legitimately take a while
# for large lists, but never minutes: without a timeout the client would wait forever.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
# Connections kept per host: enough for the default `--concurrency` plus the lock renewal thread.
DEFAULT_POOL_SIZE = 16


IN_CLUSTER = "in-cluster service account"


@dataclass(frozen=True)
class Endpoint:
    """What a client talks to, as commands tell the user: the kubeconfig context (or the in-cluster
    service account) and the API server URL, and how the connection is weakened, if at all."""

    context: str
    server: str
    insecure: bool = False  # insecure-skip-tls-verify: the server's certificate is not checked
    credentials_withheld: bool = False  # plain HTTP: the kubeconfig's credentials are not sent

    def describe(self) -> str:
        """`context prod at https://10.0.0.1:6443`."""
        return f"context {self.context} at {self.server}"

    def lines(self) -> list[str]:
        """What a command prints before it talks to the cluster: the target, then a warning per
        weakness."""
        out = [f"Cluster: {self.describe()}"]
        if self.insecure:
            out.append(
                f"Warning: insecure-skip-tls-verify is set for context {self.context}: the "
                f"certificate of {self.server} is not checked, so whoever answers at that address "
                "gets these requests"
            )
        if self.credentials_withheld:
            out.append(
                f"Warning: {self.server} is plain HTTP: kubeconfig credentials are not sent "
                "(kubectl does not send them either); use the API server's https:// address"
            )
        return out


def endpoint_of(api_client: Any) -> Endpoint:
    """The Endpoint of a client made by `new_api_client` (the server URL alone for others)."""
    found = getattr(api_client, "endpoint", None)
    if isinstance(found, Endpoint):
        return found
    return Endpoint(context="(unknown)", server=str(api_client.configuration.host))


@dataclass(frozen=True)
class ClusterTarget:
    """Where to connect: an explicit kubeconfig path list (None: default lookup) and context."""

    kubeconfig: str | None = None
    context: str | None = None


def resolve_kubeconfig(kubeconfig: str | None, environ: dict[str, str] | None = None) -> str | None:
    """The kubeconfig path(s) to use, or None when there is none (in-cluster may apply).
    Pure apart from checking which files exist."""
    env = os.environ if environ is None else environ
    if kubeconfig:
        return os.path.expanduser(kubeconfig)
    from_env = env.get("KUBECONFIG")
    if from_env:
        paths = [p for p in from_env.split(os.pathsep) if p and os.path.exists(p)]
        return os.pathsep.join(paths) if paths else None
    home = os.path.expanduser("~/.kube/config")
    return home if os.path.exists(home) else None


def new_api_client(target: ClusterTarget, *, pool_size: int = DEFAULT_POOL_SIZE) -> Any:
    """A configured `kubernetes.client.ApiClient` keeping up to `pool_size` connections (at least
    the number of threads that will share it); raises ClusterError when the kubeconfig or the
    context cannot be used. Every request it sends has a timeout, and it never retries by itself
    (`kdeploy.kube.retry` does)."""
    import_config()
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    path = resolve_kubeconfig(target.kubeconfig)
    cfg = client.Configuration()
    context = IN_CLUSTER
    if path is None:
        if os.environ.get("KUBERNETES_SERVICE_HOST") and not target.context:
            try:
                config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
            except ConfigException as e:
                raise ClusterError(f"cannot use the in-cluster service account: {e}") from e
        else:
            raise ClusterError(
                "no kubeconfig found (looked at --kubeconfig, the environment's cluster.kubeconfig, "
                "KUBECONFIG and ~/.kube/config)",
                hint="pass --kubeconfig PATH or set KUBECONFIG",
            )
    else:
        for single in path.split(os.pathsep):
            if not os.path.exists(single):
                raise ClusterError(f"kubeconfig {single} does not exist")
        context = _check_context(path, target.context)
        try:
            with _logged_errors() as logged:
                config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=path,
                    context=target.context,
                    client_configuration=cfg,
                    persist_config=False,
                )
        except ConfigException as e:
            raise ClusterError(f"kubeconfig {path}: {e}") from e
        except (OSError, ValueError) as e:
            raise ClusterError(f"kubeconfig {path} cannot be read: {e}") from e
        except Exception as e:  # the client raises YAML and type errors as they come
            raise _malformed(path, e) from e
        if logged:
            # The client only logs a failing exec credential plugin and goes on without
            # credentials; every request would then fail with a misleading 401.
            raise ClusterError(
                f"kubeconfig {path}: cannot get credentials for the context: {logged[0]}",
                hint="check the context's users[].user.exec command (installed and on PATH?)",
            )
        _check_server(path, context, cfg.host)
    withheld = _harden(cfg)
    cfg.connection_pool_maxsize = max(1, pool_size)
    endpoint = Endpoint(
        context=context,
        server=str(cfg.host),
        insecure=not cfg.verify_ssl,
        credentials_withheld=withheld,
    )
    return _timeout_api_client(cfg, endpoint)


def _timeout_api_client(cfg: Any, endpoint: Endpoint | None = None) -> Any:
    import_config()
    from kubernetes import client

    known = endpoint or Endpoint(context="(unknown)", server=str(cfg.host))

    class TimeoutApiClient(client.ApiClient):
        """An ApiClient whose requests time out by default: the typed calls (history, lock) pass
        no timeout, and a dropped connection would otherwise hang them forever. `endpoint` says
        what it talks to (for messages)."""

        def __init__(self, configuration: Any) -> None:
            super().__init__(configuration=configuration)
            self.endpoint = known

        def call_api(
            self,
            method: Any,
            url: Any,
            header_params: Any = None,
            body: Any = None,
            post_params: Any = None,
            _request_timeout: Any = None,
        ) -> Any:
            return super().call_api(
                method,
                url,
                header_params,
                body,
                post_params,
                _request_timeout or (CONNECT_TIMEOUT, READ_TIMEOUT),
            )

    return TimeoutApiClient(configuration=cfg)


def _check_context(path: str, context: str | None) -> str:
    """The name of the context to use: `context` when the kubeconfig has it, else (None) the
    kubeconfig's current context. Raises ClusterError for an unknown context."""
    import_config()
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    try:
        contexts, active = config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
            config_file=path
        )
    except ConfigException as e:
        if context is None:
            return "(none)"  # loading the kubeconfig reports the problem, with its own message
        raise ClusterError(f"kubeconfig {path}: {e}") from e
    except Exception as e:  # the client raises YAML and type errors as they come
        raise _malformed(path, e) from e
    if context is None:
        return str((active or {}).get("name") or "(none)")
    names = sorted(str(c.get("name")) for c in contexts or [])
    if context not in names:
        raise ClusterError(
            f"context {context!r} not found in kubeconfig {path}; "
            f"available contexts: {', '.join(names) or '(none)'}"
        )
    return context


def server_problem(server: str) -> str | None:
    """What makes `server` (a kubeconfig cluster's `server`) unusable as an API server URL, or
    None: it must be http:// or https:// with a host, and a port in range when it has one."""
    from urllib.parse import urlsplit

    if "://" not in server:
        return "it has no scheme (write https://HOST:PORT)"
    try:
        parts = urlsplit(server)
        port = parts.port
    except ValueError as e:
        return f"it is not a valid URL ({e})"
    if parts.scheme.lower() not in ("http", "https"):
        return f"its scheme {parts.scheme}:// is not http:// or https://"
    if not parts.hostname:
        return "it names no host"
    del port  # parsed only to check it
    return None


def _check_server(path: str, context: str, host: object) -> None:
    """Raise ClusterError at once for a server URL no request can reach (instead of retrying what
    looks like a flaky network), naming the kubeconfig, the context and the URL as written."""
    server = _written_server(path, context) or str(host)
    problem = server_problem(server)
    if problem is not None:
        raise ClusterError(
            f"kubeconfig {path}, context {context}: the cluster's server {server!r} is not an "
            f"API server URL: {problem}",
            hint="set clusters[].cluster.server of that context's cluster to the API server's "
            "address, e.g. https://10.0.0.1:6443",
        )


def _written_server(path: str, context: str) -> str | None:
    """The `server` of context `context`'s cluster as the kubeconfig files in `path` write it
    (the first file that defines each wins, as the client merges them); None when not found."""
    import yaml

    docs = []
    for single in path.split(os.pathsep):
        try:
            with open(single, encoding="utf-8") as f:
                docs.append(yaml.safe_load(f) or {})
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue

    def first(section: str, name: object) -> dict[str, Any]:
        for doc in docs:
            for item in (doc.get(section) if isinstance(doc, dict) else None) or []:
                if isinstance(item, dict) and item.get("name") == name:
                    return dict(item.get(section[:-1]) or {})
        return {}

    server = first("clusters", first("contexts", context).get("cluster")).get("server")
    return server if isinstance(server, str) else None


def _harden(cfg: Any) -> bool:
    """Switch off urllib3's retries and warnings, and drop every credential when the server is not
    https://. Returns True when credentials were configured and have been dropped."""
    import warnings
    from urllib.parse import urlsplit

    import urllib3

    # No retries inside urllib3: kdeploy.kube.retry repeats transient failures with backoff, and
    # urllib3's own retries (3 by default, also on 429/503 for PUT and DELETE) would multiply with
    # ours and re-send writes behind our back. The client-go style retries stay off too.
    cfg.retries = urllib3.Retry(total=0, redirect=0, raise_on_redirect=False, raise_on_status=False)
    cfg.client_go_retries = False
    # kdeploy says it once in its own words (Endpoint.lines) instead of urllib3 on every request.
    warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    # Token files often end in a newline, which is not allowed in a header (kubectl trims it too).
    cfg.api_key = {k: v.strip() if isinstance(v, str) else v for k, v in cfg.api_key.items()}
    # Credentials never travel unencrypted: a bearer token (from the kubeconfig, a token file or an
    # exec plugin) or basic auth all end up in api_key. The scheme is compared as a URL scheme
    # (case-insensitive); anything but https counts as plain (client-go does the same).
    if urlsplit(str(cfg.host)).scheme.lower() != "https":
        withheld = bool(cfg.api_key or cfg.refresh_api_key_hook or cfg.username or cfg.password)
        cfg.api_key = {}
        cfg.api_key_prefix = {}
        cfg.refresh_api_key_hook = None
        cfg.username = cfg.password = None
        return withheld
    return False


def _malformed(path: str, error: Exception) -> ClusterError:
    """The error for a kubeconfig the client cannot parse: invalid YAML (with its line) or YAML
    that is not a kubeconfig mapping."""
    import yaml

    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        detail = f"kubeconfig {mark.name}:{mark.line + 1}: invalid YAML: {error.problem}"
    else:
        detail = f"kubeconfig {path} is not a valid kubeconfig ({type(error).__name__}: {error})"
    return ClusterError(
        detail.replace("\n", " "),
        hint="fix the file, or point --kubeconfig / KUBECONFIG at another one",
    )


@contextlib.contextmanager
def _logged_errors() -> Iterator[list[str]]:
    """Collect the messages of ERROR records logged (to the root logger) inside the block instead
    of printing them; the kubernetes client reports credential plugin failures only that way."""
    import logging

    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    root = logging.getLogger()
    handler = Collect(level=logging.ERROR)
    root.addHandler(handler)
    try:
        yield messages
    finally:
        root.removeHandler(handler)
