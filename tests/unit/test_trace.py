"""Traceability (kdeploy.trace, kdeploy.history.identity.ci_trace): images, annotations, CI run."""

from __future__ import annotations

import pytest

from kdeploy.history.identity import ci_trace
from kdeploy.trace import (
    AnnotationError,
    annotate,
    container_images,
    gitlab_annotations,
    parse_annotations,
)

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "annotations": {"a": "1"}},
    "spec": {
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "initContainers": [{"name": "init", "image": "busybox:1"}],
                "containers": [{"name": "app", "image": "shop/web:2.0"}],
            },
        }
    },
}
CRONJOB = {
    "apiVersion": "batch/v1",
    "kind": "CronJob",
    "metadata": {"name": "report"},
    "spec": {
        "jobTemplate": {
            "spec": {"template": {"spec": {"containers": [{"name": "r", "image": "shop/web:2.0"}]}}}
        }
    },
}
CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}


def test_parse_annotations_in_order_later_wins() -> None:
    assert parse_annotations(["team=shop", "example.com/owner=a=b", "team=web"]) == {
        "team": "web",
        "example.com/owner": "a=b",
    }


@pytest.mark.parametrize(
    ("arg", "said"),
    [
        ("novalue", "'novalue' is not KEY=VALUE"),
        ("bad key=x", "'bad key' is not a valid annotation key"),
        ("Example.COM/x=1", "'Example.COM/x' is not a valid annotation key"),
        ("kdeploy.dev/release=other", "kdeploy.dev/ annotations are kdeploy's own"),
    ],
)
def test_bad_annotations_are_named(arg: str, said: str) -> None:
    with pytest.raises(AnnotationError, match=said):
        parse_annotations([arg])


def test_gitlab_annotations_need_both_slugs() -> None:
    env = {"CI_ENVIRONMENT_SLUG": "staging", "CI_PROJECT_PATH_SLUG": "group-shop"}
    assert gitlab_annotations(env) == {
        "app.gitlab.com/env": "staging",
        "app.gitlab.com/app": "group-shop",
    }
    assert gitlab_annotations({"CI_PROJECT_PATH_SLUG": "group-shop"}) == {}


def test_annotate_puts_user_annotations_on_objects_and_gitlab_ones_on_pods_too() -> None:
    out = annotate([DEPLOYMENT, CRONJOB, CONFIGMAP], {"team": "shop"}, {"app.gitlab.com/env": "s"})
    deployment, cronjob, configmap = out
    assert deployment["metadata"]["annotations"] == {
        "a": "1",
        "team": "shop",
        "app.gitlab.com/env": "s",
    }
    pod = deployment["spec"]["template"]["metadata"]
    assert pod["annotations"] == {"app.gitlab.com/env": "s"}
    assert pod["labels"] == {"app": "web"}
    job_pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["metadata"]
    assert job_pod["annotations"] == {"app.gitlab.com/env": "s"}
    assert configmap["metadata"]["annotations"] == {"team": "shop", "app.gitlab.com/env": "s"}
    assert DEPLOYMENT["metadata"]["annotations"] == {"a": "1"}  # copies, the input unchanged
    only_user = annotate([DEPLOYMENT], {"team": "shop"}, {})[0]
    assert "annotations" not in only_user["spec"]["template"]["metadata"]


def test_a_jobs_immutable_pod_template_gets_no_gitlab_annotations() -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate"},
        "spec": {"template": {"spec": {"containers": [{"name": "m", "image": "m:1"}]}}},
    }
    [out] = annotate([job], {}, {"app.gitlab.com/env": "s"})
    assert out["metadata"]["annotations"] == {"app.gitlab.com/env": "s"}
    assert "metadata" not in out["spec"]["template"]


def test_container_images_once_each_in_order() -> None:
    assert container_images([CONFIGMAP, DEPLOYMENT, CRONJOB]) == ["busybox:1", "shop/web:2.0"]


def test_ci_trace_reads_only_named_non_secret_variables() -> None:
    env = {
        "CI_PIPELINE_URL": "https://gitlab.example.com/g/shop/-/pipelines/7",
        "CI_JOB_URL": "https://gitlab.example.com/g/shop/-/jobs/70",
        "CI_MERGE_REQUEST_IID": "12",
        "CI_MERGE_REQUEST_PROJECT_URL": "https://gitlab.example.com/g/shop",
        "CI_COMMIT_REF_NAME": "main",
        "CI_JOB_TOKEN": "glcbt-64-secret",
        "CI_REGISTRY_PASSWORD": "hunter22-secret",
    }
    trace = dict(ci_trace(env))
    assert trace == {
        "pipelineUrl": "https://gitlab.example.com/g/shop/-/pipelines/7",
        "jobUrl": "https://gitlab.example.com/g/shop/-/jobs/70",
        "ref": "main",
        "mergeRequest": "https://gitlab.example.com/g/shop/-/merge_requests/12",
    }
    assert ci_trace({}) == ()
