"""Rule run-as-non-root: every container runs as a non-root user."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from kdeploy.lint.findings import POD_KINDS, Finding, Rule
from kdeploy.lint.workloads import containers, finding, pod_spec
from kdeploy.model import RenderedObject

RUN_AS_NON_ROOT = Rule(
    "run-as-non-root",
    "error",
    "containers run as a non-root user (runAsNonRoot: true, or runAsUser other than 0)",
    POD_KINDS,
)
RULES = (RUN_AS_NON_ROOT,)


def check(objects: Sequence[RenderedObject]) -> Iterator[Finding]:
    """Yield a finding for each container that may run as root (UID 0)."""
    for obj in objects:
        found = pod_spec(obj.manifest)
        if found is None:
            continue
        pod_ctx = _security_context(found[0])
        for c in containers(obj.manifest):
            problem = _root_problem(pod_ctx, _security_context(c.spec))
            if problem:
                yield finding(
                    RUN_AS_NON_ROOT,
                    obj,
                    f'container "{c.name}" {problem}; set securityContext.runAsNonRoot: true '
                    "(pod or container) and use an image with a non-root USER, or set "
                    "runAsUser to a non-zero UID",
                    f"{c.path}.securityContext",
                )


def _root_problem(pod_ctx: dict[str, Any], ctr_ctx: dict[str, Any]) -> str | None:
    """Why the container may run as root, or None when it cannot. Container settings override
    the pod's, as the kubelet applies them."""
    non_root = ctr_ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
    user = ctr_ctx.get("runAsUser", pod_ctx.get("runAsUser"))
    if user == 0:
        # runAsNonRoot: true with runAsUser: 0 is refused by the kubelet at start-up.
        return "runs as root (runAsUser: 0)"
    if isinstance(user, int) and not isinstance(user, bool):
        return None
    if non_root is True:
        return None
    if non_root is False:
        return "allows running as root (runAsNonRoot: false)"
    return "may run as root (neither runAsNonRoot nor runAsUser is set)"


def _security_context(spec: dict[str, Any]) -> dict[str, Any]:
    ctx = spec.get("securityContext")
    return ctx if isinstance(ctx, dict) else {}
