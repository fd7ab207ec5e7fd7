"""`kube` in templates: the Kubernetes version and the APIs a release is rendered for (Helm's
`.Capabilities`). From the cluster's `/version` and discovery on diff and apply; offline (render,
lint) from `--kube-version` and `--api-versions`, defaulting to the newest Kubernetes version whose
API schemas kdeploy bundles and the built-in APIs of that version. Whatever the source, it is read
only when a template uses it. Docs: docs/package-format.md ("Capabilities").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kdeploy.errors import KdeployError
from kdeploy.kubeversion import ConstraintSyntaxError, Version, format_version, parse_version
from kdeploy.lookup import Reader


@dataclass(frozen=True)
class Known:
    """A Kubernetes version and the served APIs: `group/version` and `group/version/Kind`."""

    version: Version
    apis: frozenset[str]


def api_names(kinds: Iterable[tuple[str, str]]) -> frozenset[str]:
    """`apps/v1` and `apps/v1/Deployment` for each (apiVersion, kind)."""
    names: set[str] = set()
    for api_version, kind in kinds:
        names.add(api_version)
        names.add(f"{api_version}/{kind}")
    return frozenset(names)


class Capabilities:
    """What templates see as `kube`: `kube.version` ("1.37.2"), `kube.major`, `kube.minor` and
    `kube.has("monitoring.coreos.com/v1/ServiceMonitor")` (or a bare "group/version"). The
    source is read on first use, once."""

    def __init__(
        self, load: Callable[[], Known], source: str, reader: Reader | None = None
    ) -> None:
        self._load = load
        # what lookup() reads live objects with (kdeploy.lookup); private: not for templates
        self._reader = reader
        self._known: Known | None = None
        self._lock = threading.Lock()
        self.source = source

    def _get(self) -> Known:
        with self._lock:
            if self._known is None:
                self._known = self._load()
            return self._known

    @property
    def version(self) -> str:
        return format_version(self._get().version)

    @property
    def major(self) -> int:
        return self._get().version[0]

    @property
    def minor(self) -> int:
        return self._get().version[1]

    def has(self, api: str) -> bool:
        """Whether `api` ("apps/v1", "apps/v1/Deployment", "v1/ConfigMap") is served."""
        return isinstance(api, str) and api.strip().strip("/") in self._get().apis

    def __str__(self) -> str:
        return self.version


def live_reader(capabilities: Capabilities) -> Reader | None:
    """The live-object reader of `capabilities` (diff and apply), None offline."""
    return capabilities._reader


def parse_kube_version(text: str, flag: str = "--kube-version") -> Version:
    """The version `text` names ("1.30", "v1.30.2"). Raises KdeployError naming `flag`."""
    try:
        return parse_version(text)
    except ConstraintSyntaxError as e:
        raise KdeployError(f"{flag}: {e}", hint="give a version such as 1.30 or v1.30.2") from None


def parse_api_versions(values: Iterable[str]) -> frozenset[str]:
    """The `--api-versions` given (repeatable, each may be comma-separated), as api names; an
    entry `group/version/Kind` also makes `group/version` known."""
    names: set[str] = set()
    for value in values:
        for item in value.split(","):
            item = item.strip().strip("/")
            if not item:
                continue
            names.add(item)
            parts = item.split("/")
            if len(parts) == 3 or (len(parts) == 2 and parts[1][:1].isupper()):
                names.add("/".join(parts[:-1]))
    return frozenset(names)


def offline(kube_version: str | None, api_versions: Iterable[str] = ()) -> Capabilities:
    """Capabilities for render and lint: `kube_version` (default: the newest version with bundled
    schemas, as X.Y.0), and the built-in APIs of that minor version (of the newest bundled one
    when it has none) plus `api_versions`."""
    extra = parse_api_versions(api_versions)
    wanted = parse_kube_version(kube_version) if kube_version else None

    def load() -> Known:
        from kdeploy.lint.schema import SchemaCatalog, supported_versions

        bundled = supported_versions()
        version = wanted or (parse_version(bundled[-1]) if bundled else (1, 0, 0))
        minor = f"{version[0]}.{version[1]}"
        schemas = minor if minor in bundled else (bundled[-1] if bundled else None)
        builtin = api_names(SchemaCatalog(schemas).builtin_kinds()) if schemas else frozenset()
        return Known(version=version, apis=builtin | extra)

    return Capabilities(load, "offline")


def from_cluster(
    server_version: Callable[[], str],
    kinds: Callable[[], list[tuple[str, str]]],
    reader: Reader | None = None,
) -> Capabilities:
    """Capabilities read from a cluster (its `/version` and discovery) on first use, with the
    `reader` lookup() reads live objects with."""

    def load() -> Known:
        reported = server_version()
        try:
            version = parse_version(reported)
        except ConstraintSyntaxError as e:
            raise KdeployError(f"kube.version: the cluster reports {e}") from None
        return Known(version=version, apis=api_names(kinds()))

    return Capabilities(load, "cluster", reader)
