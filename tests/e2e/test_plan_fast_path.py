"""Planning skips the dry-run apply of objects whose live state shows that kdeploy's last apply is
intact (kdeploy.noop_apply), and the diff stays exact: for random sequences of applies, hand
edits by other field managers (kubectl-style updates, server-side applies by another manager,
forced or not, the scale subresource, a removed label) and server defaults, `kdeploy diff` reports
exactly what `kdeploy diff --full-diff` (a dry run of every object) reports. Runs on the emulator
and on the real control plane (--cluster=real)."""

from __future__ import annotations

import itertools
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.helpers import LiveCluster, kd, live_project

NS_PREFIX = "fastpath"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {tier: {{ values.tier }}}
spec:
  replicas: {{ values.replicas }}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: {{ values.image }}
{% if values.explicitDefaults %}
        imagePullPolicy: IfNotPresent
{% endif %}
        ports:
        - name: http
          containerPort: 8080
{% if values.explicitDefaults %}
          protocol: TCP
{% endif %}
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 8080
"""
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  greeting: {{ values.greeting | quote }}
{% if values.extraKey %}
  extra: "yes"
{% endif %}
"""
SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: web-secret
type: Opaque
stringData:
  password: {{ values.password | quote }}
"""
TEMPLATES = {
    "deployment.yaml": DEPLOYMENT,
    "service.yaml": SERVICE,
    "configmap.yaml": CONFIGMAP,
    "secret.yaml": SECRET,
}
VALUES = {
    "replicas": 1,
    "image": "nginx:1.27",
    "tier": "front",
    "greeting": "hello",
    "password": "pw-1",
    "extraKey": False,
    "explicitDefaults": False,
}

# what the sequences are made of
apply_values = st.fixed_dictionaries(
    {},
    optional={
        "replicas": st.integers(1, 3),
        "image": st.sampled_from(["nginx:1.27", "nginx:1.28"]),
        "tier": st.sampled_from(["front", "back"]),
        "greeting": st.sampled_from(["hello", "bye"]),
        "password": st.sampled_from(["pw-1", "pw-2"]),
        "extraKey": st.booleans(),
        "explicitDefaults": st.booleans(),
    },
)
steps = st.one_of(
    st.tuples(st.just("apply"), apply_values),
    st.tuples(st.just("update"), st.sampled_from(["replicas", "image", "greeting", "note"])),
    st.tuples(st.just("ssa"), st.sampled_from(["replicas", "greeting"]), st.booleans()),
    st.tuples(st.just("scale"), st.integers(1, 4)),
    st.tuples(st.just("drop-label"), st.just("")),
    st.tuples(st.just("password"), st.sampled_from(["pw-1", "pw-3"])),
)


class Hands:
    """Changes to the release's objects by other field managers, through the kubernetes client."""

    def __init__(self, live: LiveCluster) -> None:
        from kubernetes import client

        self.apps = client.AppsV1Api(live.api)
        self.core = client.CoreV1Api(live.api)
        self.ns = live.ns

    def update(self, what: str) -> None:
        """What `kubectl edit` or `kubectl set image` does: an update (here a merge patch) under
        its own field manager."""
        if what == "replicas":
            self._patch_deployment({"spec": {"replicas": 5}})
        elif what == "image":
            image = {"name": "app", "image": "nginx:hand"}
            self._patch_deployment({"spec": {"template": {"spec": {"containers": [image]}}}})
        elif what == "greeting":
            body = {"data": {"greeting": "edited"}}
            self.core.patch_namespaced_config_map(
                "web-config", self.ns, body, field_manager="kubectl-edit"
            )
        else:  # a field kdeploy never set
            self._patch_deployment({"metadata": {"annotations": {"note": "hand"}}})

    def ssa(self, what: str, force: bool) -> None:
        """A server-side apply by another manager (e.g. a second tool); a refused one (a
        conflict without force) changes nothing."""
        from kubernetes.client.exceptions import ApiException

        if what == "replicas":
            body: dict[str, Any] = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web"},
                "spec": {"replicas": 4},
            }
            call = self.apps.patch_namespaced_deployment
        else:
            body = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "web-config"},
                "data": {"greeting": "other-tool"},
            }
            call = self.core.patch_namespaced_config_map
        try:
            call(
                body["metadata"]["name"],
                self.ns,
                body,
                field_manager="other-tool",
                force=force,
                _content_type="application/apply-patch+yaml",
            )
        except ApiException as e:
            assert e.status == 409, e

    def scale(self, replicas: int) -> None:
        """What an autoscaler does: the scale subresource."""
        self.apps.patch_namespaced_deployment_scale(
            "web", self.ns, {"spec": {"replicas": replicas}}, field_manager="autoscaler"
        )

    def drop_label(self) -> None:
        """A label kdeploy set, removed by an update (a merge patch with null)."""
        self._patch_deployment({"metadata": {"labels": {"tier": None}}})

    def password(self, value: str) -> None:
        """A Secret value changed by hand (`data`, as kubectl edit shows it)."""
        import base64

        data = {"password": base64.b64encode(value.encode()).decode()}
        self.core.patch_namespaced_secret(
            "web-secret", self.ns, {"data": data}, field_manager="kubectl-edit"
        )

    def _patch_deployment(self, body: dict[str, Any]) -> None:
        self.apps.patch_namespaced_deployment("web", self.ns, body, field_manager="kubectl-edit")


def _sets(values: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for k, v in values.items():
        out += ["--set", f"{k}={json.dumps(v) if isinstance(v, bool) else v}"]
    return out


def _diff(root: Path, values: dict[str, Any], *extra: str) -> tuple[int, dict[str, Any]]:
    result = kd(root, "diff", "-e", "dev", "-o", "json", *_sets(values), *extra)
    assert result.code in (0, 2), result.stderr
    return result.code, json.loads(result.stdout)


NAMESPACES = itertools.count()


@settings(
    max_examples=10,
    deadline=None,
    # each example deploys to a cluster: report the failing sequence as found, unshrunk
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(steps, min_size=1, max_size=6))
def test_diff_without_dry_runs_of_unchanged_objects_reports_what_the_full_dry_run_reports(
    tmp_path_factory: pytest.TempPathFactory, emulator: Any, sequence: list[tuple[Any, ...]]
) -> None:
    namespace = f"{NS_PREFIX}-p{next(NAMESPACES)}-{uuid.uuid4().hex[:6]}"
    kubeconfig = str(emulator.kubeconfig_path)
    LiveCluster(kubeconfig, "default").create_namespace(namespace)
    root = live_project(
        tmp_path_factory.mktemp("fastpath"),
        kubeconfig,
        namespace,
        templates=TEMPLATES,
        values=VALUES,
    )
    hands = Hands(LiveCluster(kubeconfig, namespace))
    values: dict[str, Any] = {}
    applied = kd(root, "apply", "-e", "dev", "--yes", "--no-wait")
    assert applied.code == 0, applied.stderr
    for step in sequence:
        kind, arg = step[0], step[1]
        if kind == "apply":
            values = {**values, **arg}
            result = kd(
                root,
                "apply",
                "-e",
                "dev",
                "--yes",
                "--no-wait",
                "--force-conflicts",
                *_sets(values),
            )
            assert result.code == 0, result.stderr
        elif kind == "update":
            hands.update(arg)
        elif kind == "ssa":
            hands.ssa(arg, step[2])
        elif kind == "scale":
            hands.scale(arg)
        elif kind == "drop-label":
            hands.drop_label()
        else:
            hands.password(arg)
        fast = _diff(root, values)
        full = _diff(root, values, "--full-diff")
        assert fast == full, (sequence, step)


def _dry_runs(log: list[tuple[str, str]]) -> int:
    return sum(
        1
        for method, target in log
        if method == "PATCH" and "dryRun" in parse_qs(urlsplit(target).query)
    )


def test_an_unchanged_release_is_planned_without_dry_runs_and_a_hand_change_is_still_found(
    tmp_path: Path, own_emulator: Any, namespace: str
) -> None:
    root = live_project(
        tmp_path / "project",
        str(own_emulator.kubeconfig_path),
        namespace,
        templates=TEMPLATES,
        values=VALUES,
    )
    assert kd(root, "apply", "-e", "dev", "--yes", "--no-wait").code == 0

    start = len(own_emulator.request_log)
    result = kd(root, "apply", "-e", "dev", "--yes", "--no-wait")
    assert result.code == 0, result.stderr
    assert "no changes" in result.stderr
    log = own_emulator.request_log[start:]
    assert _dry_runs(log) == 0
    # the deployed revision's record comes with the history LIST, not a GET of its ConfigMap
    assert not [t for m, t in log if m == "GET" and "/configmaps/kdeploy.web.v" in t]

    # a changed value: only the object it changes is dry-run applied
    start = len(own_emulator.request_log)
    result = kd(root, "diff", "-e", "dev", "--set", "greeting=bye")
    assert "~ change ConfigMap" in result.stdout and "1 to change" in result.stdout
    assert _dry_runs(own_emulator.request_log[start:]) == 1

    # kubectl scale: the drift on a field kdeploy owns is found and shown as apply reverts it
    Hands(LiveCluster(str(own_emulator.kubeconfig_path), namespace)).scale(3)
    result = kd(root, "diff", "-e", "dev")
    assert "~ change Deployment.apps" in result.stdout
    assert "-  replicas: 3" in result.stdout and "+  replicas: 1" in result.stdout

    # --full-diff (or KDEPLOY_FULL_DIFF=1) dry-runs every object again
    start = len(own_emulator.request_log)
    result = kd(root, "diff", "-e", "dev", "--full-diff")
    # (and the scaled Deployment once more, forced: what apply makes of the drift it reverts)
    assert _dry_runs(own_emulator.request_log[start:]) == len(TEMPLATES) + 1
