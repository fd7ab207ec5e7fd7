"""Each revision records the CI run that made it (pipeline, job, merge request, commit), the images
it deploys and `--description`, shown by `history`; objects get `--annotate KEY=VALUE` and, in a
GitLab job with an environment, GitLab's deployment annotations. No secret (CI_JOB_TOKEN) is
recorded."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import IMAGE_DEPLOYMENT_TEMPLATE, LiveCluster, kd, live_project, revisions

NS_PREFIX = "trace"
JOB_TOKEN = "glcbt-64_trace-job-token-9d1e"
GITLAB_ENV = {
    "GITLAB_CI": "true",
    "CI_PIPELINE_URL": "https://gitlab.example.com/g/shop/-/pipelines/700",
    "CI_JOB_URL": "https://gitlab.example.com/g/shop/-/jobs/7001",
    "CI_MERGE_REQUEST_IID": "12",
    "CI_MERGE_REQUEST_PROJECT_URL": "https://gitlab.example.com/g/shop",
    "CI_COMMIT_SHA": "4f2c0a1b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a",
    "CI_COMMIT_REF_NAME": "feature/cart",
    "CI_ENVIRONMENT_NAME": "review/cart",
    "CI_ENVIRONMENT_SLUG": "review-cart-x1y2z3",
    "CI_PROJECT_PATH_SLUG": "g-shop",
    "CI_JOB_TOKEN": JOB_TOKEN,
}


def _deployment(live: LiveCluster) -> dict[str, Any]:
    from kdeploy.kube.client import ObjectRef

    obj = live.cluster.get(ObjectRef("apps/v1", "Deployment", live.ns, "web"))
    assert obj is not None
    return obj


def _project(tmp_path: Path, emulator: Any, ns: str) -> Path:
    return live_project(
        tmp_path,
        str(emulator.kubeconfig_path),
        ns,
        templates={"deployment.yaml": IMAGE_DEPLOYMENT_TEMPLATE},
        values={"image": "registry.example.com/shop/web:1.4.2"},
    )


def test_a_revision_records_the_ci_run_images_and_description_and_objects_are_annotated(
    tmp_path: Path, emulator: Any, live: LiveCluster, ns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in GITLAB_ENV.items():
        monkeypatch.setenv(name, value)
    root = _project(tmp_path, emulator, ns)

    result = kd(
        root, "apply", "-e", "dev", "--yes", "--description", "cart fix", "--annotate", "team=shop"
    )

    assert result.code == 0, result.stderr
    [revision] = revisions(root)
    assert revision["description"] == "apply: cart fix"
    assert revision["gitCommit"] == GITLAB_ENV["CI_COMMIT_SHA"]
    assert revision["images"] == ["registry.example.com/shop/web:1.4.2"]
    assert revision["ci"] == {
        "pipelineUrl": GITLAB_ENV["CI_PIPELINE_URL"],
        "jobUrl": GITLAB_ENV["CI_JOB_URL"],
        "mergeRequest": "https://gitlab.example.com/g/shop/-/merge_requests/12",
        "ref": "feature/cart",
        "ciEnvironment": "review/cart",
    }
    wide = kd(root, "history", "web", "-e", "dev", "-o", "wide")
    assert wide.code == 0, wide.stderr
    header, row = wide.stdout.splitlines()
    assert "IMAGES" in header and "MERGE REQUEST" in header and "PIPELINE" in header
    assert "registry.example.com/shop/web:1.4.2" in row
    assert GITLAB_ENV["CI_PIPELINE_URL"] in row
    assert row.endswith("apply: cart fix")

    deployment = _deployment(live)
    annotations = deployment["metadata"]["annotations"]
    assert annotations["team"] == "shop"
    assert annotations["app.gitlab.com/env"] == "review-cart-x1y2z3"
    assert annotations["app.gitlab.com/app"] == "g-shop"
    pod_annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert pod_annotations == {
        "app.gitlab.com/env": "review-cart-x1y2z3",
        "app.gitlab.com/app": "g-shop",
    }

    # the job token is in no history record and no output
    from kubernetes import client

    core = client.CoreV1Api(live.api)
    stored = json.dumps(
        [cm.to_dict() for cm in core.list_namespaced_config_map(ns).items], default=str
    )
    encoded = base64.b64encode(JOB_TOKEN.encode()).decode()
    for text in (stored, result.stdout, result.stderr, wide.stdout):
        assert JOB_TOKEN not in text
        assert encoded not in text


def test_a_new_annotate_value_per_pipeline_restarts_no_pod(
    tmp_path: Path, emulator: Any, live: LiveCluster, ns: str
) -> None:
    root = _project(tmp_path, emulator, ns)
    first = kd(root, "apply", "-e", "dev", "--yes", "--annotate", "pipeline=700")
    assert first.code == 0, first.stderr
    template = _deployment(live)["spec"]["template"]

    second = kd(root, "apply", "-e", "dev", "--yes", "--annotate", "pipeline=701")

    assert second.code == 0, second.stderr
    deployment = _deployment(live)
    assert deployment["metadata"]["annotations"]["pipeline"] == "701"
    # the pod template is untouched, so no new ReplicaSet rolls the pods (the Deployment's own
    # generation does move: the server bumps it on any annotation change)
    assert deployment["spec"]["template"] == template
    assert "pipeline" not in (template["metadata"].get("annotations") or {})
    emulator.settle()
    replica_sets = live.cluster.list_by_labels("apps/v1", "ReplicaSet", ns, "app=web")
    assert len(replica_sets) == 1


@pytest.mark.parametrize(
    ("arg", "said"),
    [
        ("kdeploy.dev/release=other", "kdeploy.dev/ annotations are kdeploy's own"),
        ("team", "'team' is not KEY=VALUE"),
        ("bad key=1", "'bad key' is not a valid annotation key"),
    ],
)
def test_a_bad_annotate_is_a_usage_error_naming_it_and_changes_nothing(
    tmp_path: Path, emulator: Any, live: LiveCluster, ns: str, arg: str, said: str
) -> None:
    root = _project(tmp_path, emulator, ns)

    result = kd(root, "apply", "-e", "dev", "--yes", "--annotate", arg)

    assert result.code == 64, result.stderr
    assert "--annotate" in result.stderr
    assert said in result.stderr
    from kdeploy.kube.client import ObjectRef

    assert live.cluster.get(ObjectRef("apps/v1", "Deployment", ns, "web")) is None
