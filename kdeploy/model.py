"""Plain data shared by the pure core and the I/O shell. Frozen where it can be."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Manifest = dict[str, Any]
Values = dict[str, Any]


@dataclass(frozen=True, order=True)
class ObjectKey:
    """Identity of a Kubernetes object: API group (not version), kind, namespace ('' when
    cluster-scoped) and name. Two objects with the same key are the same object."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, manifest: Manifest) -> ObjectKey:
        """Key of a manifest; the group is taken from apiVersion ('v1' -> '')."""
        api_version = str(manifest.get("apiVersion", ""))
        group = api_version.rpartition("/")[0] if "/" in api_version else ""
        meta = manifest.get("metadata") or {}
        return cls(
            group=group,
            kind=str(manifest.get("kind", "")),
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name", "")),
        )

    def __str__(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{kind} {where}"


APPLICATION = "application"
LIBRARY = "library"


@dataclass(frozen=True)
class Package:
    """A package loaded from packages/<name>/: an application (renders manifests) or a library
    (macros only), with its dependencies resolved and their versions checked."""

    name: str
    version: str
    path: Path
    description: str = ""
    kube_version: str | None = None
    lint_disable: tuple[str, ...] = ()
    defaults: Values = field(default_factory=dict, compare=False)
    schema: dict[str, Any] | None = field(default=None, compare=False)
    type: str = APPLICATION
    app_version: str | None = None
    # package.yaml `lookup: true`: templates may read live objects (kdeploy.lookup)
    lookup: bool = False
    dependencies: tuple[Dependency, ...] = field(default=(), compare=False)

    @property
    def is_library(self) -> bool:
        return self.type == LIBRARY


@dataclass(frozen=True)
class Dependency:
    """A package another one depends on (package.yaml `dependencies:`): a library whose macros
    its templates import as `"<alias>:file.j2"`, or an application whose manifests are rendered
    into the same release with the values under `<alias>:` when `condition` holds."""

    alias: str
    package: Package
    constraint: str
    condition: str | None = None


@dataclass(frozen=True)
class ValuesLayer:
    """One layer of values, with where it came from (for error messages and docs). A layer read
    from a file also has the file and the key path of its values inside it (`("values",)` for an
    environment's own values), so that a message can name the line that set a value."""

    source: str
    values: Values
    file: Path | None = field(default=None, compare=False)
    shown: str = field(default="", compare=False)  # the file as messages name it
    root: tuple[str, ...] = field(default=(), compare=False)
    # applies to every release of the environment (its `values:`, a -f or --set without RELEASE:)
    shared: bool = field(default=False, compare=False)
    # read from an encrypted values file (*.enc.yaml): its values are secrets (kdeploy.encrypted)
    secret: bool = field(default=False, compare=False)
    # the text of a layer read from no file (`-f -`: standard input), to find a value's line
    text: str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ReleaseSpec:
    """A release as declared by an environment (after resolving `extends`)."""

    name: str
    package: str
    namespace: str
    environment: str
    layers: tuple[ValuesLayer, ...] = ()
    source: str = ""
    # `secrets:` entries (kdeploy.envsecrets.SecretSource), environment-wide ones first
    secrets: tuple[Any, ...] = ()


@dataclass(frozen=True)
class ClusterRef:
    """Which cluster an environment deploys to."""

    context: str | None = None
    kubeconfig: str | None = None


@dataclass(frozen=True)
class Environment:
    """An environment loaded from environments/<name>.yaml with its `extends` chain resolved."""

    name: str
    path: Path
    cluster: ClusterRef
    namespace: str
    releases: tuple[ReleaseSpec, ...]
    chain: tuple[str, ...] = ()


@dataclass(frozen=True)
class RenderedObject:
    """One manifest produced by a template, with its source for error messages."""

    manifest: Manifest
    source: str
    release: str

    @property
    def key(self) -> ObjectKey:
        return ObjectKey.of(self.manifest)


@dataclass(frozen=True)
class RenderedRelease:
    """The result of rendering one release: merged values and ordered manifests."""

    spec: ReleaseSpec
    package: Package
    values: Values
    objects: tuple[RenderedObject, ...]
    # values read from the environment's `secrets:` sources: redacted wherever the release shows
    secret_strings: frozenset[str] = field(default=frozenset(), compare=False)
    # `secrets:` entries whose source gave no value: "where (why)", never a value
    unavailable_secrets: tuple[str, ...] = field(default=(), compare=False)
    # every layer of values a person set (environment, -f, --set...), lowest precedence first
    value_layers: tuple[ValuesLayer, ...] = field(default=(), compare=False)
    # what those layers set, merged without the package's defaults (None: not known)
    user_values: Values | None = field(default=None, compare=False)
    # values set in those layers that no template read (kdeploy.unused.UnusedValue)
    unused_values: tuple[Any, ...] = field(default=(), compare=False)
    # values of Secrets that templates read with lookup(): redacted like the release's own
    lookup_secrets: frozenset[str] = field(default=frozenset(), compare=False)
    # templates/NOTES.j2 rendered (None when the package has none): shown after a successful
    # apply, with every secret string of the release redacted
    notes: str | None = field(default=None, compare=False)
