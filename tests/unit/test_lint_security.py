"""Rule run-as-non-root."""

from __future__ import annotations

import pytest
from lint_helpers import container, deployment, objects

from kdeploy.lint import security


def messages(manifest: dict[str, object]) -> list[str]:
    return [f.message for f in security.check(objects(manifest))]


def test_container_with_run_as_non_root_passes() -> None:
    assert messages(deployment()) == []


def test_pod_level_run_as_non_root_covers_every_container() -> None:
    c = container(securityContext=None)
    assert messages(deployment(containers=[c], pod_security={"runAsNonRoot": True})) == []


def test_non_zero_run_as_user_passes() -> None:
    c = container(securityContext={"runAsUser": 10001})
    assert messages(deployment(containers=[c])) == []


def test_missing_security_context_is_reported_with_container_name() -> None:
    found = list(security.check(objects(deployment(containers=[container(securityContext=None)]))))
    assert len(found) == 1
    f = found[0]
    assert f.rule == "run-as-non-root" and f.severity == "error"
    assert f.obj == "Deployment shop/web"
    assert 'container "web" may run as root' in f.message
    assert "runAsNonRoot: true" in f.message
    assert f.path == "spec.template.spec.containers[0].securityContext"


@pytest.mark.parametrize(
    ("pod", "ctr", "expected"),
    [
        ({"runAsNonRoot": True}, {"runAsUser": 0}, "runs as root (runAsUser: 0)"),
        ({"runAsNonRoot": True}, {"runAsNonRoot": False}, "runAsNonRoot: false"),
        ({"runAsUser": 0}, {}, "runs as root"),
    ],
)
def test_container_setting_overrides_pod_setting(
    pod: dict[str, object], ctr: dict[str, object], expected: str
) -> None:
    c = container(securityContext=ctr)
    (message,) = messages(deployment(containers=[c], pod_security=pod))
    assert expected in message


def test_init_containers_and_cronjobs_are_checked() -> None:
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "report", "namespace": "shop"},
        "spec": {
            "schedule": "0 * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "initContainers": [container(name="init", securityContext=None)],
                            "containers": [container(name="main")],
                        }
                    }
                }
            },
        },
    }
    found = list(security.check(objects(cronjob)))
    assert [f.path for f in found] == [
        "spec.jobTemplate.spec.template.spec.initContainers[0].securityContext"
    ]


def test_objects_without_pods_are_ignored() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "s"}}
    assert messages(cm) == []
