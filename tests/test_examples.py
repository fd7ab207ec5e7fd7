"""The example packages and environments: they lint clean, and they show what the docs say they
show (a ConfigMap change rolls the pods, `null` deletes a default, lists are replaced whole)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENTS = sorted(p.stem for p in (ROOT / "environments").glob("*.yaml"))


def kdeploy(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real CLI on the repository's example project."""
    return subprocess.run(
        [sys.executable, "-m", "kdeploy.cli", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def render(*args: str) -> list[dict[str, Any]]:
    """The manifests `kdeploy render ARGS` prints."""
    result = kdeploy("render", *args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def names(docs: list[dict[str, Any]], kind: str) -> set[str]:
    return {d["metadata"]["name"] for d in docs if d["kind"] == kind}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_example_environment_lints_without_errors_or_warnings(env: str) -> None:
    result = kdeploy("lint", "-e", env, "--output", "json")
    report = json.loads(result.stdout)
    problems = [f for f in report["findings"] if f["severity"] in ("error", "warning")]
    assert problems == [], json.dumps(problems, indent=2)
    assert result.returncode == 0, result.stderr
    assert report["summary"]["error"] == 0


def test_config_change_rolls_the_web_pods() -> None:
    before = find(render("-e", "local", "web"), "Deployment", "web")
    after = find(
        render("-e", "local", "web", "--set", "config.LOG_LEVEL=warn"), "Deployment", "web"
    )
    checksum = "checksum/config"
    old = before["spec"]["template"]["metadata"]["annotations"][checksum]
    new = after["spec"]["template"]["metadata"]["annotations"][checksum]
    assert len(old) == 64
    assert old != new


def test_web_ingress_carries_cert_manager_and_external_dns_annotations_in_prod() -> None:
    ingress = find(render("-e", "prod", "web"), "Ingress", "web")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    assert annotations["external-dns.alpha.kubernetes.io/hostname"] == "shop.example.com"
    assert ingress["spec"]["tls"] == [{"hosts": ["shop.example.com"], "secretName": "web-tls"}]


def test_null_in_a_values_file_deletes_the_cluster_issuer_default() -> None:
    ingress = find(render("-e", "local", "web"), "Ingress", "web")
    assert "cert-manager.io/cluster-issuer" not in ingress["metadata"]["annotations"]
    assert "tls" not in ingress["spec"]


def test_null_in_dev_removes_the_nightly_report_cronjob() -> None:
    assert names(render("-e", "dev", "worker"), "CronJob") == {"worker-cleanup-sessions"}
    assert names(render("-e", "prod", "worker"), "CronJob") == {
        "worker-cleanup-sessions",
        "worker-nightly-report",
    }


def test_staging_replaces_the_cleanup_args_list_whole() -> None:
    cron = find(render("-e", "staging", "worker"), "CronJob", "worker-cleanup-sessions")
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["cleanup-sessions", "--older-than=1h"]


def test_staging_inherits_prod_releases_in_its_own_namespace() -> None:
    docs = render("-e", "staging")
    namespaced = [d for d in docs if d["kind"] != "Namespace"]
    assert {d["metadata"]["namespace"] for d in namespaced} == {"shop-staging"}
    assert find(docs, "Namespace", "shop-staging")
    labels = find(docs, "Deployment", "web")["metadata"]["labels"]
    # Mappings merge along `extends`: prod's labels stay, staging's are added.
    assert labels["team"] == "storefront"
    assert labels["environment"] == "staging"


def test_migration_job_name_changes_with_the_image() -> None:
    before = names(render("-e", "prod", "worker"), "Job")
    after = names(render("-e", "prod", "worker", "--set", "image.tag=2.7.2"), "Job")
    assert len(before) == 1 and len(after) == 1
    assert before != after


def test_migration_job_name_changes_with_anything_in_its_pod_template() -> None:
    # a Job's pod template is immutable: a new env value under the same name would fail the apply
    before = names(render("-e", "prod", "worker"), "Job")
    after = names(render("-e", "prod", "worker", "--set", "env.LOG_LEVEL=warn"), "Job")
    assert len(before) == 1 and len(after) == 1
    assert before != after


def test_redis_config_comes_from_the_package_file_and_values() -> None:
    docs = render("-e", "prod", "cache")
    conf = find(docs, "ConfigMap", "cache-config")["data"]["redis.conf"]
    assert "appendonly yes" in conf
    assert "maxmemory 1gb" in conf
    sts = find(docs, "StatefulSet", "cache")
    assert sts["spec"]["serviceName"] == "cache-headless"
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert find(docs, "Service", "cache-headless")["spec"]["clusterIP"] == "None"


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec") or {}
    template = spec.get("jobTemplate", {}).get("spec", spec).get("template", {})
    return list(template.get("spec", {}).get("containers", []))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_new_image_tag_changes_only_the_container_images(env: str) -> None:
    """A commit that changes nothing but the image tag CI sets (`--set-string
    web:image.tag=$CI_COMMIT_SHORT_SHA`) changes the `image` of the containers that run it and
    nothing else: no label or pod-template field carries the tag, so the other objects of the
    release are not rewritten on every deploy."""
    before, after = (
        render(
            *("-e", env, "web", "worker"),
            *("--set-string", f"web:image.tag={tag}", "--set-string", f"worker:image.tag={tag}"),
        )
        for tag in ("1a2b3c4d", "5e6f7a8b")
    )
    assert len(before) == len(after)
    changed = []
    for old, new in zip(before, after, strict=True):
        for container in _containers(old):
            container["image"] = container["image"].replace("1a2b3c4d", "5e6f7a8b")
        if old["kind"] == "Job":  # named after its image: a new Job on purpose
            old["metadata"]["name"] = new["metadata"]["name"]
        if old != new:
            changed.append(f"{new['kind']}/{new['metadata']['name']}")
    assert changed == []
    images = [c["image"] for doc in after for c in _containers(doc)]
    assert any(image.endswith(":5e6f7a8b") for image in images), images
