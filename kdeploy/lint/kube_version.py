"""Rule kube-version: the target Kubernetes version satisfies the package's `kubeVersion`."""

from __future__ import annotations

from collections.abc import Iterator

from kdeploy.kubeversion import parse_constraint, parse_version
from kdeploy.lint.findings import Finding, Rule
from kdeploy.model import RenderedRelease

KUBE_VERSION = Rule(
    "kube-version",
    "error",
    "the target Kubernetes version satisfies the package's kubeVersion constraint",
    frozenset(),
)
RULES = (KUBE_VERSION,)
PACKAGE_OBJECT = "package"


def check(release: RenderedRelease, kube_version: str) -> Iterator[Finding]:
    """Yield a finding when `kube_version` ("X.Y", read as X.Y.0) does not satisfy the package's
    constraint; nothing when the package has none. The constraint was checked when the package
    was loaded, so it parses."""
    text = release.package.kube_version
    if not text:
        return
    if parse_constraint(text).allows(parse_version(kube_version)):
        return
    package = release.package.path.name
    yield Finding(
        rule=KUBE_VERSION.id,
        severity=KUBE_VERSION.severity,
        message=f'package {package} requires Kubernetes "{text}" (kubeVersion), '
        f"but the target version is {kube_version}",
        obj=PACKAGE_OBJECT,
        source=f"packages/{package}/package.yaml",
        release=release.spec.name,
    )
