"""Rule probes-set."""

from __future__ import annotations

import pytest
from lint_helpers import container, deployment, objects

from kdeploy.lint import probes


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet"])
def test_long_running_workloads_without_probes_are_reported(kind: str) -> None:
    c = container(readinessProbe=None, livenessProbe=None)
    (f,) = probes.check(objects(deployment(kind=kind, containers=[c])))
    assert f.rule == "probes-set" and f.severity == "warning"
    assert 'container "web" has no readinessProbe and no livenessProbe' in f.message


def test_missing_liveness_only() -> None:
    (f,) = probes.check(objects(deployment(containers=[container(livenessProbe=None)])))
    assert "has no livenessProbe;" in f.message


def test_workload_with_probes_passes() -> None:
    assert list(probes.check(objects(deployment()))) == []


def test_jobs_and_init_containers_are_not_checked() -> None:
    bare = container(readinessProbe=None, livenessProbe=None)
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "namespace": "shop"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [bare]}}},
    }
    dep = deployment()
    dep["spec"]["template"]["spec"]["initContainers"] = [dict(bare, name="init")]
    assert list(probes.check(objects(job, dep))) == []
