"""`kdeploy import helm`: a release made by the real helm (install + 2 upgrades) moves to kdeploy
with its history; `kdeploy rollback --to 1` then restores Helm's first revision, and helm no longer
sees the release. Refusals (unknown, pending, unreadable record, objects of another release)
change nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helm_release import (
    helm_cli,
    helm_records,
    helm_releases,
    install,
    marks,
    obj,
    rewrite_record,
    secret_value,
    write_chart,
)
from tests.emulator.cli_clients import Cli, helm_binary
from tests.helpers import CliResult, LiveCluster, ProjectBuilder, run_kdeploy

NS_PREFIX = "import-helm"

pytestmark = [
    pytest.mark.helm,
    pytest.mark.skipif(
        helm_binary() is None,
        reason="helm not found: run `make tools` or set KDEPLOY_HELM to a helm v4 binary",
    ),
]


@pytest.fixture
def helm(emulator: Any, tmp_path: Path) -> Cli:
    return helm_cli(str(emulator.kubeconfig), tmp_path / "helm-home")


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    return write_chart(tmp_path)


def kd(emulator: Any, *args: str) -> CliResult:
    return run_kdeploy(*args, "--kubeconfig", str(emulator.kubeconfig))


def history(emulator: Any, ns: str) -> list[dict[str, Any]]:
    result = kd(emulator, "history", "web", "-n", ns, "-o", "json")
    assert result.code == 0, result.stderr
    revisions: list[dict[str, Any]] = json.loads(result.stdout)["revisions"]
    return revisions


def greeting(live: LiveCluster) -> str:
    found = obj(live, "v1", "ConfigMap", "web-config")
    assert found is not None
    return str(found["data"]["greeting"])


def replicas(live: LiveCluster) -> int:
    found = obj(live, "apps/v1", "Deployment", "web")
    assert found is not None
    return int(found["spec"]["replicas"])


def test_import_moves_three_helm_revisions_and_rollback_restores_the_first(
    emulator: Any, ns: str, live: LiveCluster, helm: Cli, chart: Path
) -> None:
    install(helm, chart, "web", ns)
    assert (greeting(live), replicas(live)) == ("three", 3)

    done = kd(emulator, "import", "helm", "web", "-n", ns, "--yes")
    assert done.code == 0, done.stderr
    assert "skipped Helm hook ConfigMap web-hook (post-install,post-upgrade)" in done.stderr
    assert "skipped Helm hook Pod web-test (test): a test hook, not imported" in done.stderr

    revisions = history(emulator, ns)
    assert [(r["revision"], r["status"], r["description"]) for r in revisions] == [
        (1, "superseded", "imported from Helm revision 1"),
        (2, "superseded", "imported from Helm revision 2"),
        (3, "deployed", "imported from Helm revision 3"),
    ]
    assert {(r["package"], r["packageVersion"], r["appVersion"]) for r in revisions} == {
        ("shop", "1.2.0", "2.0.1")
    }
    assert "app version 2.0.1" in revisions[0]["result"]
    assert all(r["startedAt"].endswith("Z") for r in revisions)

    # helm no longer sees the release, so `helm uninstall` cannot delete the objects
    assert helm_releases(helm, ns) == []
    assert helm_records(live, "web") == []
    gone = helm.run("uninstall", "web", "-n", ns)
    assert gone.code != 0 and "not found" in gone.err
    now = marks(live)
    for name in (
        "ConfigMap/web-config",
        "Secret/web-secret",
        "Deployment/web",
        "ConfigMap/web-extra",
    ):
        labels, annotations, managers = now[name]
        assert labels["app.kubernetes.io/managed-by"] == "kdeploy", name
        assert annotations["kdeploy.dev/release"] == "web", name
        assert not [a for a in annotations if a.startswith("meta.helm.sh/")], name
        assert managers == ["kdeploy"], name

    # revision 1's values are Helm's (the chart defaults: nothing was set), the password redacted
    values = kd(emulator, "get", "values", "web", "-n", ns, "--revision", "1", "--all")
    assert values.code == 0, values.stderr
    assert "greeting: one" in values.stdout
    assert "first-Pass-1" not in values.stdout and "<redacted:" in values.stdout
    # without --all, what was set (`helm get values`): revision 3's --set flags
    values = kd(emulator, "get", "values", "web", "-n", ns, "--revision", "3", "-o", "json")
    assert values.code == 0, values.stderr
    set_values = json.loads(values.stdout)
    assert set_values.pop("password").startswith("<redacted:")
    assert set_values == {"greeting": "three", "replicas": 3, "extra": True}

    back = kd(emulator, "rollback", "web", "-n", ns, "--to", "1", "--yes", "--no-wait")
    assert back.code == 0, back.stderr
    assert (greeting(live), replicas(live)) == ("one", 1)
    assert secret_value(live, "web-secret", "password") == "first-Pass-1"
    assert obj(live, "v1", "ConfigMap", "web-extra") is None
    assert [r["description"] for r in history(emulator, ns)][-1] == "rollback to 1"


def test_import_reads_helms_configmap_driver(
    emulator: Any, ns: str, live: LiveCluster, tmp_path: Path, chart: Path
) -> None:
    helm = helm_cli(str(emulator.kubeconfig), tmp_path / "cm-home", driver="configmap")
    install(helm, chart, "web", ns, revisions=2)
    assert [o["kind"] for o in helm_records(live, "web")] == ["ConfigMap", "ConfigMap"]

    done = kd(emulator, "import", "helm", "web", "-n", ns, "--yes")
    assert done.code == 0, done.stderr
    assert "stored in ConfigMaps" in done.stderr
    assert [r["status"] for r in history(emulator, ns)] == ["superseded", "deployed"]
    assert helm_records(live, "web") == [] and helm_releases(helm, ns) == []
    back = kd(emulator, "rollback", "web", "-n", ns, "--to", "1", "--yes", "--no-wait")
    assert back.code == 0, back.stderr
    assert greeting(live) == "one"


def test_dry_run_shows_the_import_and_changes_nothing(
    emulator: Any, ns: str, live: LiveCluster, helm: Cli, chart: Path
) -> None:
    install(helm, chart, "web", ns, revisions=2)
    before = marks(live)
    done = kd(emulator, "import", "helm", "web", "-n", ns, "--dry-run")
    assert done.code == 0, done.stderr
    assert "revision 2: deployed -> kdeploy deployed" in done.stderr
    assert f"Take over 3 live object(s) of revision 2: ConfigMap {ns}/web-config" in done.stderr
    assert "Dry run: nothing was changed." in done.stderr
    assert marks(live) == before
    assert helm_releases(helm, ns) == ["web"]


def test_a_failed_last_upgrade_is_imported_as_failed_and_its_changes_undone(
    own_emulator: Any, ns: str, live: LiveCluster, helm: Cli, chart: Path
) -> None:
    install(helm, chart, "web", ns, revisions=1)
    # the emulator never readies this image: the upgrade times out and Helm marks it failed
    failed = helm.run(
        "upgrade", "web", str(chart), "-n", ns, "--set", "greeting=broken", "--set", "extra=true",
        "--set", "image=never-ready:1", "--wait", "--timeout", "3s",
    )  # fmt: skip
    assert failed.code != 0
    assert greeting(live) == "broken"

    done = kd(own_emulator, "import", "helm", "web", "-n", ns, "--yes")
    assert done.code == 0, done.stderr
    assert "Helm revision 2 is failed: the import re-applies revision 1's objects" in done.stderr
    assert (
        f"only in Helm revision 2, left as they are (delete them with kubectl if unwanted): "
        f"ConfigMap {ns}/web-extra"
    ) in done.stderr
    assert [(r["revision"], r["status"]) for r in history(own_emulator, ns)] == [
        (1, "deployed"),
        (2, "failed"),
    ]
    assert greeting(live) == "one"
    assert helm_releases(helm, ns) == []


def test_a_rerun_after_the_import_finishes_without_changes(
    emulator: Any, ns: str, live: LiveCluster, helm: Cli, chart: Path
) -> None:
    install(helm, chart, "web", ns, revisions=1)
    assert kd(emulator, "import", "helm", "web", "-n", ns, "--yes").code == 0
    after = marks(live)
    again = kd(emulator, "import", "helm", "web", "-n", ns, "--yes")
    assert again.code == 0, again.stderr
    assert "was already imported" in again.stderr
    assert "Helm's marks removed from 0 object(s)" in again.stderr
    assert marks(live) == after


def test_import_into_an_environment_continues_its_history(
    emulator: Any, ns: str, live: LiveCluster, helm: Cli, chart: Path, tmp_path: Path
) -> None:
    install(helm, chart, "web", ns, revisions=2)
    proj = ProjectBuilder(tmp_path / "project")
    proj.package(
        "shop",
        templates={
            "configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
            "  name: {{ release.name }}-config\ndata:\n  greeting: {{ values.greeting | quote }}\n"
        },
        values={"greeting": "ported"},
    )
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig)},
            "namespace": ns,
            "releases": {"web": {"package": "shop"}},
        },
    )
    root = str(proj.root)
    done = run_kdeploy("-C", root, "import", "helm", "web", "--into", "dev", "--yes")
    assert done.code == 0, done.stderr
    assert "`kdeploy diff -e dev web`" in done.stderr
    assert {r["environment"] for r in history(emulator, ns)} == {"dev"}

    applied = run_kdeploy("-C", root, "apply", "-e", "dev", "--yes", "--no-wait")
    assert applied.code == 0, applied.stderr
    assert greeting(live) == "ported"
    # the chart's other objects are not in the package: the apply prunes them
    assert obj(live, "apps/v1", "Deployment", "web") is None
    assert [r["revision"] for r in history(emulator, ns)] == [1, 2, 3]


def test_into_an_environment_without_the_release_is_refused(
    emulator: Any, ns: str, live: LiveCluster, helm: Cli, chart: Path, tmp_path: Path
) -> None:
    install(helm, chart, "web", ns, revisions=1)
    proj = ProjectBuilder(tmp_path / "project")
    proj.package("other", templates={})
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig)},
            "namespace": ns,
            "releases": {"api": {"package": "other"}},
        },
    )
    before = marks(live)
    done = run_kdeploy("-C", str(proj.root), "import", "helm", "web", "--into", "dev", "--yes")
    assert done.code == 1
    assert "environment dev has no release web (its releases: api)" in done.stderr
    assert "dev.yaml" in done.stderr
    assert marks(live) == before


# refusals: a message naming the object, and nothing changed in the cluster


def test_an_unknown_release_is_refused(emulator: Any, ns: str, live: LiveCluster) -> None:
    done = kd(emulator, "import", "helm", "nope", "-n", ns, "--yes")
    assert done.code == 1
    assert f"no Helm release nope in namespace {ns}" in done.stderr
    assert "owner=helm,name=nope" in done.stderr
    assert f"helm list -n {ns}" in done.stderr


def test_a_pending_helm_revision_is_refused(
    emulator: Any, ns: str, live: LiveCluster, helm: Cli, chart: Path
) -> None:
    install(helm, chart, "web", ns, revisions=2)
    latest = helm_records(live, "web")[-1]

    def pending(release: dict[str, Any]) -> dict[str, Any]:
        release["info"]["status"] = "pending-upgrade"
        return release

    rewrite_record(live, latest, pending)
    before = marks(live)
    done = kd(emulator, "import", "helm", "web", "-n", ns, "--yes")
    assert done.code == 1
    assert f"revision 2 (Secret {ns}/sh.helm.release.v1.web.v2) is pending-upgrade" in done.stderr
    assert "helm rollback web" in done.stderr
    assert marks(live) == before


def test_an_undecodable_record_is_refused_naming_it(
    emulator: Any, ns: str, live: LiveCluster, helm: Cli, chart: Path
) -> None:
    install(helm, chart, "web", ns, revisions=2)
    first = helm_records(live, "web")[0]
    # what a protobuf-encoded release would look like: neither gzip nor JSON
    rewrite_record(live, first, lambda _: b"\n\x03web\x10\x01\x1a\x05shop")
    before = marks(live)
    done = kdeploy_import(emulator, ns)
    assert done.code == 1
    assert f"Secret {ns}/sh.helm.release.v1.web.v1" in done.stderr
    assert "not JSON" in done.stderr and "protobuf" in done.stderr
    assert marks(live) == before


def kdeploy_import(emulator: Any, ns: str) -> CliResult:
    return kd(emulator, "import", "helm", "web", "-n", ns, "--yes")


def test_objects_of_another_kdeploy_release_are_refused_naming_them(
    emulator: Any, ns: str, live: LiveCluster, helm: Cli, chart: Path
) -> None:
    install(helm, chart, "web", ns, revisions=1)
    from kubernetes import client

    client.CoreV1Api(live.api).patch_namespaced_config_map(
        "web-config",
        ns,
        {
            "metadata": {
                "labels": {"app.kubernetes.io/managed-by": "kdeploy"},
                "annotations": {
                    "kdeploy.dev/release": "other",
                    "kdeploy.dev/release-namespace": ns,
                },
            }
        },
    )
    before = marks(live)
    done = kdeploy_import(emulator, ns)
    assert done.code == 1
    assert f'ConfigMap {ns}/web-config is owned by kdeploy release "other" in namespace {ns}' in (
        done.stderr
    )
    assert "nothing was changed" in done.stderr
    assert marks(live) == before
    assert helm_releases(helm, ns) == ["web"]


def test_a_release_kdeploy_deployed_itself_is_refused(
    emulator: Any, ns: str, live: LiveCluster, helm: Cli, chart: Path, tmp_path: Path
) -> None:
    install(helm, chart, "web", ns, revisions=1)
    proj = ProjectBuilder(tmp_path / "project")
    proj.package(
        "shop",
        templates={
            "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ported\ndata: {}\n"
        },
    )
    proj.environment(
        "dev",
        {
            "cluster": {"kubeconfig": str(emulator.kubeconfig)},
            "namespace": ns,
            "releases": {"web": {"package": "shop"}},
        },
    )
    # kdeploy deploys release web itself (revision 1) while Helm's records are still there
    applied = run_kdeploy("-C", str(proj.root), "apply", "-e", "dev", "--yes", "--no-wait")
    assert applied.code == 0, applied.stderr
    before = marks(live)
    done = kdeploy_import(emulator, ns)
    assert done.code == 1
    assert f"release web in namespace {ns} already has kdeploy history (revision 1" in done.stderr
    assert f"kubectl delete secret,configmap -n {ns} -l owner=helm,name=web" in done.stderr
    assert marks(live) == before
