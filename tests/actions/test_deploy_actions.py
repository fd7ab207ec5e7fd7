"""apply, diff, rollback, status and uninstall over an in-memory cluster and the memory history driver."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from kdeploy.actions.apply import ConfirmationRequired, apply_releases
from kdeploy.actions.deploy import DeployOptions
from kdeploy.actions.deps import Deps
from kdeploy.actions.diff import Target, diff_releases, prepare
from kdeploy.actions.rollback import rollback
from kdeploy.actions.status import release_status
from kdeploy.actions.uninstall import uninstall
from kdeploy.errors import ClusterError, ConflictError, Declined, HistoryError
from kdeploy.history.identity import Identity
from kdeploy.history.memory import MemoryDriver
from kdeploy.history.store import HistoryStore
from kdeploy.model import ObjectKey
from kdeploy.resources import stamp_ownership

from .fakes import FakeCluster, RecordingOutput

NS = "shop"


def clock() -> datetime:
    return datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def cluster() -> FakeCluster:
    return FakeCluster()


@pytest.fixture
def out() -> RecordingOutput:
    return RecordingOutput()


@pytest.fixture
def deps(cluster: FakeCluster, out: RecordingOutput) -> Deps:
    store = HistoryStore(MemoryDriver(), clock=clock, identity=lambda: Identity(who="me@host"))
    return Deps(cluster=cluster, history=store, output=out, clock=clock)


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "c"}]}}},
    }


def secret(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def target(*manifests: dict[str, Any], release: str = "web", description: str = "") -> Target:
    stamped = tuple(stamp_ownership(m, release, "prod") for m in manifests)
    return Target(
        release=release,
        namespace=NS,
        manifests=stamped,
        package="webapp",
        package_version="1.0.0",
        environment="prod",
        description=description,
    )


YES = {"yes": True}


def key(kind: str, name: str, group: str = "") -> ObjectKey:
    return ObjectKey(group, kind, NS, name)


def test_first_apply_creates_everything_and_records_revision_1(
    deps: Deps, cluster: FakeCluster, out: RecordingOutput
) -> None:
    (rev,) = apply_releases(
        deps, [target(cm("a", k="1"), deployment("web"))], DeployOptions(), **YES
    )
    assert rev.number == 1 and rev.status == "deployed"
    assert (
        cluster.find("ConfigMap", "a") is not None and cluster.find("Deployment", "web") is not None
    )
    assert "2 to create, 0 to change, 0 to delete" in out.text
    # install order: ConfigMap before Deployment
    assert cluster.log == [
        f"apply {key('ConfigMap', 'a')}",
        f"apply {key('Deployment', 'web', 'apps')}",
    ]


def test_diff_right_after_apply_is_empty(deps: Deps) -> None:
    t = target(cm("a", k="1"), deployment("web"))
    apply_releases(deps, [t], DeployOptions(), **YES)
    (prepared,), _ = diff_releases(deps, [t])
    assert not prepared.plan.has_changes


def test_change_applies_only_the_changed_object_and_supersedes(
    deps: Deps, cluster: FakeCluster, out: RecordingOutput
) -> None:
    apply_releases(deps, [target(cm("a", k="1"), deployment("web"))], DeployOptions(), **YES)
    cluster.calls.clear()
    cluster.log.clear()
    out.diffs.clear()
    (rev,) = apply_releases(
        deps, [target(cm("a", k="2"), deployment("web"))], DeployOptions(), **YES
    )
    assert rev.number == 2
    assert cluster.calls["apply"] == 1 and cluster.calls["get"] == 0
    assert cluster.log == [f"apply {key('ConfigMap', 'a')}"]
    changed = [ln for ln in out.diffs[0].splitlines() if ln.startswith(("-  ", "+  "))]
    assert changed == ["-  k: '1'", "+  k: '2'"]
    statuses = [(r.number, r.status) for r in deps.history.revisions("web", NS)]
    assert statuses == [(1, "superseded"), (2, "deployed")]


def test_apply_without_changes_records_nothing(deps: Deps, out: RecordingOutput) -> None:
    t = target(cm("a", k="1"))
    apply_releases(deps, [t], DeployOptions(), **YES)
    assert apply_releases(deps, [t], DeployOptions(), **YES) == []
    assert "no changes" in out.text
    assert len(deps.history.revisions("web", NS)) == 1


def test_removed_object_is_pruned_and_no_prune_keeps_it(
    deps: Deps, cluster: FakeCluster, out: RecordingOutput
) -> None:
    apply_releases(deps, [target(cm("a"), cm("b"))], DeployOptions(), **YES)
    apply_releases(deps, [target(cm("a"))], DeployOptions(prune=False), **YES)
    assert cluster.find("ConfigMap", "b") is not None
    assert f"kept {key('ConfigMap', 'b')} (no longer rendered; --no-prune)" in out.text
    apply_releases(deps, [target(cm("a"))], DeployOptions(), **YES)
    assert cluster.find("ConfigMap", "b") is None


def test_prune_runs_in_reverse_install_order(deps: Deps, cluster: FakeCluster) -> None:
    apply_releases(deps, [target(cm("a"), deployment("web"), cm("keep"))], DeployOptions(), **YES)
    cluster.log.clear()
    apply_releases(deps, [target(cm("keep"))], DeployOptions(), **YES)
    assert cluster.log == [
        f"delete {key('Deployment', 'web', 'apps')}",
        f"delete {key('ConfigMap', 'a')}",
    ]


def test_rollback_restores_revision_and_recreates_pruned_object(
    deps: Deps, cluster: FakeCluster
) -> None:
    apply_releases(deps, [target(cm("a", k="1"), cm("b"))], DeployOptions(), **YES)
    rev1 = {k: dict(v) for k, v in cluster.objects.items()}
    apply_releases(deps, [target(cm("a", k="2"), cm("c"))], DeployOptions(), **YES)
    assert cluster.find("ConfigMap", "b") is None
    rev = rollback(deps, "web", NS, to=1, yes=True)
    assert rev is not None and rev.number == 3 and rev.description == "rollback to 1"
    assert set(cluster.objects) == set(rev1)
    assert cluster.find("ConfigMap", "a")["data"] == {"k": "1"}  # type: ignore[index]
    assert cluster.find("ConfigMap", "c") is None


def test_rollback_defaults_to_previous_deployed_and_works_after_failure(
    deps: Deps, cluster: FakeCluster
) -> None:
    apply_releases(deps, [target(cm("a", k="1"))], DeployOptions(), **YES)
    apply_releases(deps, [target(cm("a", k="2"))], DeployOptions(), **YES)
    bad = key("ConfigMap", "broken")
    cluster.failures[bad] = ClusterError("apply ConfigMap shop/broken: Invalid: data: too big")
    with pytest.raises(ClusterError, match="too big"):
        apply_releases(deps, [target(cm("a", k="3"), cm("broken"))], DeployOptions(), **YES)
    revs = deps.history.revisions("web", NS)
    assert [(r.number, r.status) for r in revs] == [
        (1, "superseded"),
        (2, "deployed"),
        (3, "failed"),
    ]
    assert "too big" in revs[-1].result
    # the failed revision changed a; rollback (default: last deployed, 2) restores it
    rev = rollback(deps, "web", NS, yes=True)
    assert rev is not None and rev.description == "rollback to 2"
    assert cluster.find("ConfigMap", "a")["data"] == {"k": "2"}  # type: ignore[index]
    # when the current revision is deployed, the default is the deployed one before it
    apply_releases(deps, [target(cm("a", k="5"))], DeployOptions(), **YES)
    rev = rollback(deps, "web", NS, yes=True)
    assert rev is not None and rev.number == 6 and rev.description == "rollback to 4"
    assert cluster.find("ConfigMap", "a")["data"] == {"k": "2"}  # type: ignore[index]


def test_rollback_to_unknown_revision_lists_existing(deps: Deps, cluster: FakeCluster) -> None:
    apply_releases(deps, [target(cm("a"))], DeployOptions(), **YES)
    before = dict(cluster.objects)
    with pytest.raises(HistoryError, match=r"revision 7 does not exist; existing revisions: 1"):
        rollback(deps, "web", NS, to=7, yes=True)
    assert cluster.objects == before
    with pytest.raises(HistoryError, match="release nope has no history in namespace shop"):
        rollback(deps, "nope", NS, yes=True)


def test_object_created_by_hand_is_refused_without_adopt(deps: Deps, cluster: FakeCluster) -> None:
    cluster.put({**cm("a", k="hand"), "metadata": {"name": "a", "namespace": NS}})
    before = {k: dict(v) for k, v in cluster.objects.items()}
    with pytest.raises(ConflictError) as info:
        apply_releases(deps, [target(cm("a", k="1"), cm("b"))], DeployOptions(), **YES)
    assert "ConfigMap shop/a exists and is owned by no release: created by hand" in str(info.value)
    assert "kubectl-create" in str(info.value) and "--adopt" in info.value.format_message()
    assert cluster.objects == before
    assert deps.history.revisions("web", NS) == []
    (rev,) = apply_releases(deps, [target(cm("a", k="1"))], DeployOptions(adopt=True), **YES)
    assert rev.status == "deployed"
    assert cluster.find("ConfigMap", "a")["data"] == {"k": "1"}  # type: ignore[index]


def test_object_of_another_release_is_refused(deps: Deps, cluster: FakeCluster) -> None:
    apply_releases(deps, [target(cm("shared"), release="other")], DeployOptions(), **YES)
    with pytest.raises(
        ConflictError, match='ConfigMap shop/shared exists and is owned by kdeploy release "other"'
    ):
        apply_releases(deps, [target(cm("shared", k="x"))], DeployOptions(), **YES)
    assert "k" not in (cluster.find("ConfigMap", "shared") or {}).get("data", {})


def test_ssa_conflict_on_a_field_kdeploy_never_set_names_field_and_manager(
    deps: Deps, cluster: FakeCluster
) -> None:
    apply_releases(deps, [target(deployment("web"))], DeployOptions(), **YES)
    field = ".spec.template.spec.serviceAccountName"
    cluster.conflicts[key("Deployment", "web", "apps")] = (field, "kubectl-edit")
    with pytest.raises(ConflictError) as info:
        apply_releases(deps, [target(deployment("web", replicas=3))], DeployOptions(), **YES)
    assert f'Deployment.apps shop/web {field} is owned by "kubectl-edit"' in str(info.value)
    assert "--force-conflicts" in info.value.format_message()
    assert len(deps.history.revisions("web", NS)) == 1
    (rev,) = apply_releases(
        deps, [target(deployment("web", replicas=3))], DeployOptions(force_conflicts=True), **YES
    )
    assert rev.number == 2
    assert cluster.find("Deployment", "web")["spec"]["replicas"] == 3  # type: ignore[index]


def test_ssa_conflict_on_a_field_kdeploy_set_before_is_reclaimed(
    deps: Deps, cluster: FakeCluster, out: RecordingOutput
) -> None:
    apply_releases(deps, [target(deployment("web"))], DeployOptions(), **YES)
    cluster.conflicts[key("Deployment", "web", "apps")] = (".spec.replicas", "kubectl-scale")
    (rev,) = apply_releases(deps, [target(deployment("web", replicas=3))], DeployOptions(), **YES)
    assert rev.number == 2
    assert cluster.find("Deployment", "web")["spec"]["replicas"] == 3  # type: ignore[index]
    shown = "".join(out.diffs)
    assert 'reverted drift: .spec.replicas was changed by "kubectl-scale"' in shown
    assert "reverted drift: Deployment.apps shop/web .spec.replicas" in rev.result


def test_without_terminal_apply_requires_yes(deps: Deps, cluster: FakeCluster) -> None:
    with pytest.raises(ConfirmationRequired, match="not running on a terminal") as info:
        apply_releases(deps, [target(cm("a"))], DeployOptions())
    assert "--yes" in info.value.format_message()
    assert cluster.objects == {} and deps.history.revisions("web", NS) == []


def test_declining_on_a_terminal_changes_nothing(
    deps: Deps, cluster: FakeCluster, out: RecordingOutput
) -> None:
    out.interactive, out.answer = True, False
    with pytest.raises(Declined, match="release web in namespace shop: not applied"):
        apply_releases(deps, [target(cm("a")), target(cm("b"), release="later")], DeployOptions())
    # the later release is not even asked about
    assert len(out.questions) == 1 and cluster.objects == {}


def test_dry_run_stops_after_diff(deps: Deps, cluster: FakeCluster, out: RecordingOutput) -> None:
    assert apply_releases(deps, [target(cm("a"))], DeployOptions(), dry_run=True, yes=True) == []
    assert cluster.objects == {} and "1 to create" in out.text


def test_failure_stops_later_releases(deps: Deps, cluster: FakeCluster) -> None:
    cluster.failures[key("ConfigMap", "x")] = ClusterError("apply ConfigMap shop/x: Forbidden: no")
    with pytest.raises(ClusterError, match="Forbidden"):
        apply_releases(
            deps,
            [target(cm("x"), release="first"), target(cm("y"), release="second")],
            DeployOptions(),
            **YES,
        )
    assert cluster.find("ConfigMap", "y") is None
    assert deps.history.revisions("second", NS) == []


def test_namespace_and_crd_of_the_same_release(deps: Deps, cluster: FakeCluster) -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fresh"}}
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"kind": "Widget"}},
    }
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "fresh"},
    }
    in_fresh = {**cm("c"), "metadata": {"name": "c", "namespace": "fresh"}}
    (rev,) = apply_releases(deps, [target(widget, in_fresh, crd, ns)], DeployOptions(), **YES)
    assert rev.status == "deployed"
    assert cluster.log[:2] == [
        "apply Namespace fresh",
        "apply CustomResourceDefinition.apiextensions.k8s.io widgets.example.com",
    ]
    assert cluster.log.index("established widgets.example.com") < cluster.log.index(
        "apply Widget.example.com fresh/w"
    )


def test_secret_values_never_in_diff_output(deps: Deps, out: RecordingOutput) -> None:
    t = target(secret("creds", password="s3cr3t-value"))
    apply_releases(deps, [t], DeployOptions(), **YES)
    apply_releases(deps, [target(secret("creds", password="n3w-s3cr3t"))], DeployOptions(), **YES)
    text = out.text
    for plain in ("s3cr3t-value", "n3w-s3cr3t"):
        assert plain not in text
        assert base64.b64encode(plain.encode()).decode() not in text
    assert "password: <redacted:sha256:" in text


def test_status_reports_presence_and_drift(deps: Deps, cluster: FakeCluster) -> None:
    apply_releases(deps, [target(cm("a", k="1"), cm("b"), cm("c"))], DeployOptions(), **YES)
    cluster.objects[key("ConfigMap", "a")]["data"] = {"k": "edited"}
    del cluster.objects[key("ConfigMap", "b")]
    status = release_status(deps, "web", NS)
    states = {row.key.name: row.state for row in status.objects}
    assert states == {"a": "drifted", "b": "missing", "c": "in sync"}
    (a,) = [r for r in status.objects if r.key.name == "a"]
    assert "-  k: edited" in a.diff and "+  k: '1'" in a.diff


def test_uninstall_deletes_objects_in_reverse_order_and_history(
    deps: Deps, cluster: FakeCluster
) -> None:
    apply_releases(deps, [target(cm("a"), deployment("web"))], DeployOptions(), **YES)
    cluster.put({**cm("unrelated"), "metadata": {"name": "unrelated", "namespace": NS}})
    cluster.log.clear()
    assert uninstall(deps, "web", NS, yes=True) == 2
    assert cluster.log == [
        f"delete {key('Deployment', 'web', 'apps')}",
        f"delete {key('ConfigMap', 'a')}",
    ]
    assert cluster.find("ConfigMap", "unrelated") is not None
    assert deps.history.revisions("web", NS) == []


def test_uninstall_keep_history(deps: Deps, cluster: FakeCluster) -> None:
    apply_releases(deps, [target(cm("a"))], DeployOptions(), **YES)
    uninstall(deps, "web", NS, keep_history=True, yes=True)
    assert cluster.objects == {} and len(deps.history.revisions("web", NS)) == 1


def test_history_max_trims_old_revisions(deps: Deps) -> None:
    for i in range(5):
        apply_releases(deps, [target(cm("a", k=str(i)))], DeployOptions(history_max=2), **YES)
    assert [r.number for r in deps.history.revisions("web", NS)] == [4, 5]


def test_plan_reads_by_list_not_per_object(deps: Deps, cluster: FakeCluster) -> None:
    t = target(*(cm(f"c{i}") for i in range(20)))
    apply_releases(deps, [t], DeployOptions(), **YES)
    cluster.calls.clear()
    prepare(deps, t)
    assert cluster.calls["get"] == 0 and cluster.calls["list"] == 1
    assert cluster.calls["dry-run"] == 20


def test_secret_values_are_redacted_from_errors(deps: Deps, cluster: FakeCluster) -> None:
    t = Target(
        **{
            **target(secret("creds", password="s3cr3t-value")).__dict__,
            "secret_strings": frozenset({"s3cr3t-value"}),
        }
    )
    cluster.failures[key("Secret", "creds")] = ClusterError(
        'apply Secret shop/creds: Invalid: data.password: Invalid value: "s3cr3t-value"'
    )
    with pytest.raises(ClusterError) as info:
        apply_releases(deps, [t], DeployOptions(), **YES)
    assert "s3cr3t-value" not in info.value.format_message()
    assert "<redacted:sha256:" in info.value.format_message()
    (rev,) = deps.history.revisions("web", NS)
    assert rev.status == "failed" and "s3cr3t-value" not in rev.result


def test_a_pending_revision_of_a_dead_deployer_is_marked_interrupted(
    deps: Deps, cluster: FakeCluster, out: RecordingOutput
) -> None:
    apply_releases(deps, [target(cm("a", k="1"))], DeployOptions(), **YES)
    # a deployer that recorded revision 2 and died before finishing
    deps.history.begin(
        "web",
        NS,
        manifests=[],
        values={},
        package="webapp",
        package_version="1.0.0",
        environment="prod",
        description="apply",
        secret_strings=set(),
    )
    (rev,) = apply_releases(deps, [target(cm("a", k="3"))], DeployOptions(), **YES)
    assert rev.number == 3
    revs = deps.history.revisions("web", NS)
    assert [(r.number, r.status, r.result) for r in revs][1:] == [
        (2, "failed", "interrupted"),
        (3, "deployed", "0 created, 1 changed, 0 unchanged, 0 deleted"),
    ]
    assert "revision 2 of release web was interrupted" in out.text


def test_the_release_namespace_is_never_pruned_and_kept_with_its_history(
    deps: Deps, cluster: FakeCluster
) -> None:
    home = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
    apply_releases(deps, [target(home, cm("a"))], DeployOptions(), **YES)
    (prepared,), _ = diff_releases(deps, [target(cm("a"))])
    assert prepared.plan.of("delete") == []
    apply_releases(deps, [target(home, cm("a"))], DeployOptions(), **YES)
    uninstall(deps, "web", NS, keep_history=True, yes=True)
    assert [k.kind for k in cluster.objects] == ["Namespace"]
    uninstall(deps, "web", NS, yes=True, delete_namespaces=True)
    assert cluster.objects == {}


def test_a_kept_secret_is_recorded_with_its_data_and_restored_by_rollback(
    deps: Deps, cluster: FakeCluster
) -> None:
    apply_releases(
        deps, [target(cm("a"), secret("creds", password="pw-123456"))], DeployOptions(), **YES
    )
    apply_releases(deps, [target(cm("a", k="2"))], DeployOptions(prune=False), **YES)
    rev2 = deps.history.get("web", NS, 2)
    (kept,) = [m for m in rev2.manifests if m["kind"] == "Secret"]
    assert base64.b64decode(kept["data"]["password"]) == b"pw-123456"
    apply_releases(deps, [target(cm("a", k="3"))], DeployOptions(), **YES)
    assert cluster.find("Secret", "creds") is None
    rollback(deps, "web", NS, to=2, yes=True)
    restored = cluster.find("Secret", "creds")
    assert restored is not None and base64.b64decode(restored["data"]["password"]) == b"pw-123456"
