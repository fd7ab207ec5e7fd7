"""Hooks end to end: the real CLI against the built-in API emulator (whose simulated controllers
complete Jobs after about a second and fail Jobs whose image contains `job-fails`). Ordering is
checked in the emulator's request log, so those tests ask for `own_emulator`."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kdeploy.kube.client import ObjectRef
from tests.helpers import IMAGE_DEPLOYMENT_TEMPLATE as DEPLOYMENT
from tests.helpers import LiveCluster, kd, live_project, revisions

NS_PREFIX = "hooks"
_counter = itertools.count()

HOOKS = """\
{% for h in values.hooks %}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ h.name }}
  annotations:
    kdeploy.dev/hook: {{ h.phase | quote }}
{% if h.weight is defined %}
    kdeploy.dev/hook-weight: {{ h.weight | string | quote }}
{% endif %}
{% if h.policy is defined %}
    kdeploy.dev/hook-delete-policy: {{ h.policy | quote }}
{% endif %}
spec:
  backoffLimit: 0
{% if h.suspend is defined %}
  suspend: true
{% endif %}
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: run
        image: {{ h.image | default("busybox:1.36") }}
{% endfor %}
"""


@pytest.fixture
def project(tmp_path: Path, emulator: Any, ns: str) -> Path:
    return live_project(
        tmp_path / "project",
        str(emulator.kubeconfig_path),
        ns,
        templates={"deployment.yaml": DEPLOYMENT, "hooks.yaml": HOOKS},
        values={"image": "nginx:1.27", "hooks": []},
    )


def apply(project: Path, image: str, hooks: list[dict[str, Any]], *extra: str) -> Any:
    """`kdeploy apply` with the Deployment's image and the hook list given as a values file."""
    values = project / f"values-{next(_counter)}.yaml"
    values.write_text(yaml.safe_dump({"image": image, "hooks": hooks}))
    return kd(project, "apply", "-e", "dev", "--yes", "-f", str(values), *extra)


def statuses(project: Path) -> dict[int, str]:
    return {r["revision"]: r["status"] for r in revisions(project)}


def history_results(project: Path) -> dict[int, str]:
    return {r["revision"]: r["result"] for r in revisions(project)}


def writes(log: list[tuple[str, str]], ns: str) -> list[tuple[str, str]]:
    """The mutating requests for objects of namespace `ns` (no dry runs): (method, kind/name)."""
    out = []
    for method, path in log:
        if method not in ("PATCH", "DELETE", "POST", "PUT") or "dryRun" in path:
            continue
        where, _, _ = path.partition("?")
        parts = where.split("/")
        if f"namespaces/{ns}/" not in where or len(parts) < 2:
            continue
        out.append((method, f"{parts[-2]}/{parts[-1]}"))
    return out


def test_pre_apply_hook_runs_before_the_deployment_is_changed(
    project: Path, ns: str, live: LiveCluster, own_emulator: Any
) -> None:
    migrate = {"name": "migrate", "phase": "pre-apply"}
    start = len(own_emulator.request_log)
    result = apply(project, "nginx:1.27", [migrate])
    assert result.code == 0, result.stderr
    done = writes(own_emulator.request_log[start:], ns)
    assert done.index(("PATCH", "jobs/migrate")) < done.index(("PATCH", "deployments/web"))
    assert f"running hook pre-apply Job {ns}/migrate (weight 0)" in result.stderr
    job = live.job("migrate")
    assert job is not None
    assert any(c["type"] == "Complete" for c in job["status"]["conditions"])
    assert statuses(project) == {1: "deployed"}
    assert "1 hook succeeded" in history_results(project)[1]

    # before-run (the default): the same Job (immutable template) runs again on the next apply,
    # after the old one is deleted, and before the Deployment changes.
    start = len(own_emulator.request_log)
    result = apply(project, "nginx:1.28", [{**migrate, "image": "busybox:1.37"}])
    assert result.code == 0, result.stderr
    done = writes(own_emulator.request_log[start:], ns)
    delete = done.index(("DELETE", "jobs/migrate"))
    assert delete < done.index(("PATCH", "jobs/migrate")) < done.index(("PATCH", "deployments/web"))
    job = live.job("migrate")
    assert job is not None
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.37"
    assert live.image() == "nginx:1.28"
    assert statuses(project) == {1: "superseded", 2: "deployed"}


def test_hooks_run_in_weight_order_and_diff_lists_them_apart(
    project: Path, ns: str, own_emulator: Any
) -> None:
    hooks = [
        {"name": "late", "phase": "pre-apply", "weight": 5},
        {"name": "early", "phase": "pre-apply", "weight": -5},
        {"name": "notify", "phase": "post-apply"},
    ]
    values = project / "weights.yaml"
    values.write_text(yaml.safe_dump({"hooks": hooks}))
    diff = kd(project, "diff", "-e", "dev", "-f", str(values))
    assert diff.code == 0, diff.stderr
    assert (
        "Hooks:\n"
        f"  pre-apply Job {ns}/early (weight -5)\n"
        f"  pre-apply Job {ns}/late (weight 5)\n"
        f"  post-apply Job {ns}/notify (weight 0)\n"
    ) in diff.stdout
    # hooks are not changes to the release's objects: only the Deployment is created
    assert "1 to create, 0 to change, 0 to delete" in diff.stdout
    assert "+ create Job" not in diff.stdout
    as_json = kd(project, "diff", "-e", "dev", "-f", str(values), "-o", "json")
    doc = json.loads(as_json.stdout)
    assert doc["summary"]["create"] == 1
    (release,) = doc["releases"]
    assert [(h["phases"], h["name"], h["weight"]) for h in release["hooks"]] == [
        (["pre-apply"], "early", -5),
        (["pre-apply"], "late", 5),
        (["post-apply"], "notify", 0),
    ]
    assert release["hooks"][0]["deletePolicy"] == "before-run"

    start = len(own_emulator.request_log)
    result = apply(project, "nginx:1.27", hooks)
    assert result.code == 0, result.stderr
    done = writes(own_emulator.request_log[start:], ns)
    order = [done.index(("PATCH", w)) for w in ("jobs/early", "jobs/late", "deployments/web")]
    assert order == sorted(order)
    assert done.index(("PATCH", "jobs/notify")) > order[-1]
    assert "3 hooks succeeded" in history_results(project)[1]


def test_failing_pre_apply_hook_stops_the_apply(project: Path, ns: str, live: LiveCluster) -> None:
    assert apply(project, "nginx:1.27", []).code == 0
    result = apply(
        project, "nginx:1.28", [{"name": "migrate", "phase": "pre-apply", "image": "x:job-fails"}]
    )
    assert result.code == 4, result.stderr
    assert f"pre-apply hook Job {ns}/migrate failed:" in result.stderr
    assert "BackoffLimitExceeded" in result.stderr
    assert "container run: terminated with exit code 1" in result.stderr
    assert "nothing else was changed" in result.stderr
    assert live.image() == "nginx:1.27"
    assert statuses(project) == {1: "deployed", 2: "failed"}
    reason = history_results(project)[2]
    assert f"pre-apply hook Job {ns}/migrate failed" in reason and "BackoffLimitExceeded" in reason


def test_failing_post_apply_hook_marks_the_revision_failed(
    project: Path, ns: str, live: LiveCluster
) -> None:
    result = apply(
        project, "nginx:1.28", [{"name": "smoke", "phase": "post-apply", "image": "x:job-fails"}]
    )
    assert result.code == 4, result.stderr
    assert f"post-apply hook Job {ns}/smoke failed:" in result.stderr
    assert live.image() == "nginx:1.28"  # the main apply happened before
    assert statuses(project) == {1: "failed"}


def test_on_success_deletes_the_hook_and_never_keeps_it(
    project: Path, ns: str, live: LiveCluster
) -> None:
    hooks = [
        {"name": "gone", "phase": "pre-apply", "policy": "on-success"},
        {"name": "kept", "phase": "post-apply", "policy": "never"},
    ]
    result = apply(project, "nginx:1.27", hooks)
    assert result.code == 0, result.stderr
    assert live.job("gone") is None
    kept = live.job("kept")
    assert kept is not None
    # hooks carry the release's ownership labels
    assert kept["metadata"]["labels"]["app.kubernetes.io/instance"] == "web"
    # a kept hook is not a release object: no drift, not listed by status
    status = kd(project, "status", "web", "-e", "dev")
    assert status.code == 0, status.stderr
    assert "kept" not in status.stdout
    # and is not pruned when the hook disappears from the package
    assert apply(project, "nginx:1.28", []).code == 0
    assert live.job("kept") is not None
    # uninstall removes what the release left behind, hooks included
    result = kd(project, "uninstall", "web", "-e", "dev", "--yes")
    assert result.code == 0, result.stderr
    assert live.job("kept") is None


def test_a_changed_hook_alone_is_applied_and_an_unchanged_one_is_not_rerun(
    project: Path, ns: str, live: LiveCluster, own_emulator: Any
) -> None:
    migrate = {"name": "migrate", "phase": "pre-apply"}
    assert apply(project, "nginx:1.27", [migrate]).code == 0
    result = apply(project, "nginx:1.27", [{**migrate, "image": "busybox:1.37"}])
    assert result.code == 0, result.stderr
    assert statuses(project) == {1: "superseded", 2: "deployed"}
    job = live.job("migrate")
    assert job is not None
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.37"
    start = len(own_emulator.request_log)
    result = apply(project, "nginx:1.27", [{**migrate, "image": "busybox:1.37"}])
    assert result.code == 0, result.stderr
    assert "no changes, nothing recorded" in result.stderr
    assert [w for w in writes(own_emulator.request_log[start:], ns) if "jobs" in w[1]] == []


def test_rollback_runs_the_pre_rollback_hooks_of_the_restored_revision(
    project: Path, ns: str, live: LiveCluster, own_emulator: Any
) -> None:
    undo = {"name": "undo-v1", "phase": "pre-rollback"}
    assert apply(project, "nginx:1.27", [undo]).code == 0
    assert live.job("undo-v1") is None  # a rollback hook does not run on apply
    assert apply(project, "nginx:1.28", [{"name": "undo-v2", "phase": "pre-rollback"}]).code == 0
    start = len(own_emulator.request_log)
    result = kd(project, "rollback", "web", "-e", "dev", "--yes")
    assert result.code == 0, result.stderr
    assert f"running hook pre-rollback Job {ns}/undo-v1 (weight 0)" in result.stderr
    done = writes(own_emulator.request_log[start:], ns)
    assert done.index(("PATCH", "jobs/undo-v1")) < done.index(("PATCH", "deployments/web"))
    assert ("PATCH", "jobs/undo-v2") not in done
    assert live.image() == "nginx:1.27"
    assert statuses(project)[3] == "deployed"


def test_dry_run_runs_no_hooks(project: Path, live: LiveCluster) -> None:
    result = apply(project, "nginx:1.27", [{"name": "migrate", "phase": "pre-apply"}], "--dry-run")
    assert result.code == 0, result.stderr
    assert live.job("migrate") is None


def test_invalid_hook_annotation_names_the_object_and_template(project: Path, ns: str) -> None:
    values = project / "bad.yaml"
    values.write_text(yaml.safe_dump({"hooks": [{"name": "migrate", "phase": "pre-install"}]}))
    for command in ("render", "apply"):
        args = [command, "-e", "dev", "-f", str(values)]
        result = kd(project, *args, *(["--yes"] if command == "apply" else []))
        assert result.code == 1, result.stderr
        assert "templates/hooks.yaml" in result.stderr
        assert f"Job {ns}/migrate: annotation kdeploy.dev/hook: unknown phase 'pre-install'" in (
            result.stderr
        )


def test_render_marks_hooks(project: Path) -> None:
    values = project / "render.yaml"
    values.write_text(
        yaml.safe_dump({"hooks": [{"name": "migrate", "phase": "pre-apply", "weight": -5}]})
    )
    result = kd(project, "render", "-e", "dev", "-f", str(values))
    assert result.code == 0, result.stderr
    assert (
        "# Source: web/templates/hooks.yaml\n# Hook: pre-apply (weight -5, delete policy "
        "before-run; not applied with the release's objects)\napiVersion: batch/v1\n"
    ) in result.stdout


def test_a_hook_never_replaces_an_object_the_release_does_not_own(
    project: Path, ns: str, live: LiveCluster
) -> None:
    from kubernetes import client

    theirs = {
        "metadata": {"name": "migrate"},
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "x", "image": "x:1"}]}
            }
        },
    }
    client.BatchV1Api(live.api).create_namespaced_job(ns, theirs)
    before = live.job("migrate")
    assert before is not None
    result = apply(project, "nginx:1.27", [{"name": "migrate", "phase": "pre-apply"}])
    assert result.code == 1, result.stderr
    assert f"Job.batch {ns}/migrate exists and is owned by no release" in result.stderr
    after = live.job("migrate")
    assert after is not None and after["metadata"]["uid"] == before["metadata"]["uid"]
    assert live.cluster.get(ObjectRef("apps/v1", "Deployment", ns, "web")) is None


def test_rollback_runs_post_rollback_hooks_and_apply_does_not(
    project: Path, ns: str, live: LiveCluster
) -> None:
    after = {"name": "after-rollback", "phase": "post-rollback,post-apply", "weight": 1}
    assert apply(project, "nginx:1.27", [after]).code == 0
    first = live.job("after-rollback")
    assert first is not None  # also a post-apply hook
    assert apply(project, "nginx:1.28", []).code == 0
    result = kd(project, "rollback", "web", "-e", "dev", "--yes")
    assert result.code == 0, result.stderr
    assert f"running hook post-rollback Job {ns}/after-rollback (weight 1)" in result.stderr
    again = live.job("after-rollback")
    assert again is not None and again["metadata"]["uid"] != first["metadata"]["uid"]
    assert live.image() == "nginx:1.27"


def test_a_pre_apply_hook_that_never_finishes_times_out_and_changes_nothing(
    project: Path, ns: str, live: LiveCluster, own_emulator: Any
) -> None:
    assert apply(project, "nginx:1.27", []).code == 0
    stuck = {"name": "migrate", "phase": "pre-apply", "suspend": True}
    result = apply(project, "nginx:1.28", [stuck], "--timeout", "2s")
    assert result.code == 4, result.stderr
    assert f"pre-apply hook Job {ns}/migrate failed: timed out after 2.0s" in result.stderr
    assert live.image() == "nginx:1.27"
    assert statuses(project) == {1: "deployed", 2: "failed"}
