"""What diff and apply say about the values they were given: a value no template uses is a warning
(the release still deploys), a value the schema refuses stops them before any change, naming the
file and line or the flag that set it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import IMAGE_DEPLOYMENT_TEMPLATE, LiveCluster, kd, live_project

NS_PREFIX = "values-feedback"
SCHEMA = {
    "type": "object",
    "properties": {"replicas": {"type": "integer", "minimum": 1}, "image": {"type": "string"}},
}


@pytest.fixture
def project(tmp_path: Path, emulator: Any, ns: str) -> Path:
    root = live_project(
        tmp_path / "proj",
        str(emulator.kubeconfig_path),
        ns,
        templates={"deployment.yaml": IMAGE_DEPLOYMENT_TEMPLATE},
        values={"image": "nginx:1.27", "replicas": 1},
        schema=SCHEMA,
    )
    env = root / "environments/dev.yaml"
    env.write_text(env.read_text() + "    values:\n      replicas: 2\n")
    return root


def test_apply_warns_about_an_unused_value_and_deploys(project: Path, live: LiveCluster) -> None:
    result = kd(project, "apply", "-e", "dev", "--yes", "--set", "web:replicaz=3")
    assert result.code == 0, result.stderr
    assert (
        "warning: release web: replicaz (set by --set web:replicaz) is not used by any "
        "template; did you mean replicas?"
    ) in result.stderr
    assert live.image() == "nginx:1.27"


@pytest.mark.parametrize(
    ("args", "where"),
    [
        ((), "(set in environments/dev.yaml:"),
        (("--set", "web:replicas=-1"), "(set by --set web:replicas)"),
    ],
)
@pytest.mark.parametrize("command", ["diff", "apply"])
def test_a_refused_value_is_named_where_it_was_set_and_nothing_changes(
    project: Path, live: LiveCluster, command: str, args: tuple[str, ...], where: str
) -> None:
    env = project / "environments/dev.yaml"
    env.write_text(env.read_text().replace("replicas: 2", "replicas: 0"))
    line = env.read_text().splitlines().index("      replicas: 0") + 1
    extra = ("--yes",) if command == "apply" else ()
    result = kd(project, command, "-e", "dev", *extra, *args)
    assert result.code == 1, result.stderr
    assert "values do not match packages/webapp/values.schema.yaml" in result.stderr
    if args:
        assert f"replicas: -1 is less than the minimum of 1 {where}" in result.stderr
    else:
        assert f"replicas: 0 is less than the minimum of 1 {where}{line})" in result.stderr
    from kdeploy.kube.client import ObjectRef

    assert live.cluster.get(ObjectRef("apps/v1", "Deployment", live.ns, "web")) is None


def test_a_helm_habit_in_a_template_stops_apply_before_any_change(
    project: Path, live: LiveCluster
) -> None:
    template = project / "packages/webapp/templates/deployment.yaml"
    template.write_text(template.read_text().replace("{{ values.image }}", "{{ .Values.image }}"))
    result = kd(project, "apply", "-e", "dev", "--yes")
    assert result.code == 1, result.stderr
    assert "packages/webapp/templates/deployment.yaml:18: template syntax error" in result.stderr
    assert "write values.image (not .Values.image)" in result.stderr
    from kdeploy.kube.client import ObjectRef

    assert live.cluster.get(ObjectRef("apps/v1", "Deployment", live.ns, "web")) is None
