"""Before diff or apply: does the cluster's Kubernetes version satisfy each package's
`kubeVersion` constraint?"""

from __future__ import annotations

from collections.abc import Iterable

from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import Target
from kdeploy.errors import ClusterError, KdeployError
from kdeploy.kubeversion import ConstraintSyntaxError, parse_constraint, parse_version


class KubeVersionError(KdeployError):
    """The cluster runs a Kubernetes version a package does not support."""


def check_cluster_version(deps: Deps, targets: Iterable[Target]) -> None:
    """Read the cluster version (one request, only when some target has a constraint) and raise
    KubeVersionError naming the first package whose `kubeVersion` it does not satisfy. Raises
    ClusterError when the server's version cannot be read or parsed."""
    constrained = [t for t in targets if t.kube_version]
    if not constrained:
        return
    reported = deps.cluster.server_version()
    try:
        version = parse_version(reported)
    except ConstraintSyntaxError as e:
        raise ClusterError(f"cannot check kubeVersion constraints: the cluster reports {e}") from e
    for target in constrained:
        assert target.kube_version is not None
        if not parse_constraint(target.kube_version).allows(version):
            raise KubeVersionError(
                f"release {target.release}: package {target.package} requires Kubernetes "
                f'"{target.kube_version}" (kubeVersion in packages/{target.package}/package.yaml), '
                f"but the cluster runs {reported}; nothing was changed",
                hint="deploy to a cluster that satisfies the constraint, or change the package's "
                "kubeVersion if it does support this version",
            )
