"""recover_history and HistoryStore.settle_deployed over the in-memory history driver: what a
deployer killed mid-operation leaves in history is repaired before the next operation."""

from __future__ import annotations

from kdeploy.actions.deps import Deps
from kdeploy.actions.recover import last_is_deployed, recover_history
from kdeploy.history.identity import Identity
from kdeploy.history.memory import MemoryDriver
from kdeploy.history.model import Revision
from kdeploy.history.store import HistoryStore
from tests.actions.fakes import FakeCluster, RecordingOutput


def make_deps(driver: MemoryDriver | None = None, output: RecordingOutput | None = None) -> Deps:
    store = HistoryStore(driver or MemoryDriver(), identity=lambda: Identity(who="alice@laptop"))
    return Deps(cluster=FakeCluster(), history=store, output=output or RecordingOutput())


def begin(deps: Deps) -> Revision:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    return deps.history.begin(
        "web",
        "shop",
        manifests=[manifest],
        values={},
        package="web",
        package_version="1.0.0",
        environment="dev",
        description="apply",
        secret_strings=set(),
    )


def statuses(deps: Deps) -> dict[int, str]:
    return {r.number: r.status for r in deps.history.revisions("web", "shop")}


def test_a_pending_revision_is_marked_failed_interrupted() -> None:
    output = RecordingOutput()
    deps = make_deps(output=output)
    deps.history.finish(begin(deps), "deployed", "ok")
    begin(deps)  # its deployer was killed here
    revisions = recover_history(deps, "web", "shop")
    assert [(r.number, r.status, r.result) for r in revisions] == [
        (1, "deployed", "ok"),
        (2, "failed", "interrupted"),
    ]
    assert not last_is_deployed(revisions)
    assert "revision 2 of release web was interrupted" in output.text


def test_two_deployed_revisions_keep_only_the_newest() -> None:
    driver = MemoryDriver()
    deps = make_deps(driver)
    deps.history.finish(begin(deps), "deployed", "ok")
    second = begin(deps)
    # what a kill between `finish`'s two writes leaves: 2 deployed, 1 not yet superseded
    driver.update("web", "shop", 2, "deployed", {})
    assert statuses(deps) == {1: "deployed", 2: "deployed"}
    revisions = recover_history(deps, "web", "shop")
    assert statuses(deps) == {1: "superseded", 2: "deployed"}
    assert last_is_deployed(revisions)
    assert second.number == 2


def test_a_clean_history_is_left_alone() -> None:
    deps = make_deps()
    deps.history.finish(begin(deps), "deployed", "ok")
    assert deps.history.settle_deployed("web", "shop") == []
    assert [r.status for r in recover_history(deps, "web", "shop")] == ["deployed"]
    assert recover_history(make_deps(), "web", "shop") == []
    assert last_is_deployed([])


def test_apply_without_changes_after_an_interrupted_revision_records_one() -> None:
    from kdeploy.actions.apply import apply_releases
    from kdeploy.actions.deploy import DeployOptions
    from kdeploy.actions.diff import Target
    from kdeploy.resources import stamp_ownership

    output = RecordingOutput()
    deps = make_deps(output=output)
    manifest = stamp_ownership(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "1"}},
        "web",
        "dev",
    )
    target = Target(release="web", namespace="shop", manifests=(manifest,), package="web")
    assert len(apply_releases(deps, [target], DeployOptions(), yes=True)) == 1
    # a second run recorded revision 2 and applied everything, then was killed
    begin(deps)
    done = apply_releases(deps, [target], DeployOptions(), yes=True)
    assert [r.number for r in done] == [3]
    assert statuses(deps) == {1: "superseded", 2: "failed", 3: "deployed"}
    assert "no changes, nothing recorded" not in output.text
    # once history is settled, an apply without changes records nothing again
    assert apply_releases(deps, [target], DeployOptions(), yes=True) == []
    assert "no changes, nothing recorded" in output.text
