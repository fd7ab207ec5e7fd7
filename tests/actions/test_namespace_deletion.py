"""A Namespace is deleted only when asked for: `--delete-namespaces`, or a confirmation on a
terminal that names the namespace and what it holds; with `--yes` alone it is kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from kdeploy.actions.apply import apply_releases
from kdeploy.actions.deploy import DeployOptions
from kdeploy.actions.deps import Deps
from kdeploy.actions.uninstall import uninstall
from kdeploy.errors import Declined
from kdeploy.history.identity import Identity
from kdeploy.history.memory import MemoryDriver
from kdeploy.history.store import HistoryStore
from kdeploy.model import ObjectKey

from .fakes import FakeCluster, RecordingOutput
from .test_deploy_actions import NS, clock, cm, target

EXTRA = ObjectKey("", "Namespace", "", "extra")


@dataclass
class ScriptedOutput(RecordingOutput):
    """A terminal whose user gives `answers` in order."""

    interactive: bool = True
    answers: list[bool] = field(default_factory=list)

    def confirm(self, question: str) -> bool:
        self.questions.append(question)
        return self.answers.pop(0)


@pytest.fixture
def cluster() -> FakeCluster:
    return FakeCluster()


@pytest.fixture
def out() -> ScriptedOutput:
    return ScriptedOutput()


@pytest.fixture
def deps(cluster: FakeCluster, out: ScriptedOutput) -> Deps:
    store = HistoryStore(MemoryDriver(), clock=clock, identity=lambda: Identity(who="me@host"))
    return Deps(cluster=cluster, history=store, output=out, clock=clock)


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def someone_elses_configmap(cluster: FakeCluster, ns: str) -> None:
    cluster.namespaces.add(ns)
    cluster.put(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": ns}}
    )


def test_uninstall_asks_for_the_namespace_apart_and_keeps_it_when_declined(
    deps: Deps, cluster: FakeCluster, out: ScriptedOutput
) -> None:
    out.answers = [True]
    apply_releases(deps, [target(namespace(NS), cm("a"))], DeployOptions())
    someone_elses_configmap(cluster, NS)
    out.answers = [False, True]  # keep the namespace, uninstall the rest

    assert uninstall(deps, "web", NS) == 1

    namespace_question, uninstall_question = out.questions[-2:]
    assert namespace_question == f"Delete Namespace {NS} and everything in it (2 objects)"
    assert uninstall_question.startswith("Uninstall release web")
    assert (
        f"  Namespace {NS} holds 2 objects (2 ConfigMap): 1 not owned by release web of "
        f"namespace {NS}"
    ) in out.lines
    assert ObjectKey("", "Namespace", "", NS) in cluster.objects
    assert cluster.find("ConfigMap", "a") is None
    assert any(line.startswith(f"  kept Namespace {NS} ") for line in out.lines)


def test_uninstall_deletes_the_namespace_when_confirmed(
    deps: Deps, cluster: FakeCluster, out: ScriptedOutput
) -> None:
    out.answers = [True]
    apply_releases(deps, [target(namespace(NS), cm("a"))], DeployOptions())
    out.answers = [True, True]

    assert uninstall(deps, "web", NS) == 2

    assert cluster.objects == {}


def test_yes_alone_never_asks_and_keeps_the_namespace(
    deps: Deps, cluster: FakeCluster, out: ScriptedOutput
) -> None:
    out.answers = [True]
    apply_releases(deps, [target(namespace(NS), cm("a"))], DeployOptions())

    assert uninstall(deps, "web", NS, yes=True) == 1

    assert len(out.questions) == 1  # the apply's
    assert ObjectKey("", "Namespace", "", NS) in cluster.objects


def test_a_pruned_namespace_is_deleted_after_a_confirmation_naming_it(
    deps: Deps, cluster: FakeCluster, out: ScriptedOutput
) -> None:
    out.answers = [True]
    apply_releases(deps, [target(namespace("extra"), cm("a"))], DeployOptions())
    someone_elses_configmap(cluster, "extra")
    out.answers = [True, True]  # delete the namespace; apply

    apply_releases(deps, [target(cm("a"))], DeployOptions())

    assert out.questions[-2] == "Delete Namespace extra and everything in it (1 object)"
    assert EXTRA not in cluster.objects


def test_a_pruned_namespace_declined_is_kept_and_stays_in_the_release(
    deps: Deps, cluster: FakeCluster, out: ScriptedOutput
) -> None:
    out.answers = [True]
    apply_releases(deps, [target(namespace("extra"), cm("a"))], DeployOptions())
    out.answers = [False, True]

    (revision,) = apply_releases(deps, [target(cm("a"))], DeployOptions())

    assert EXTRA in cluster.objects
    assert EXTRA in {ObjectKey.of(m) for m in revision.manifests}
    assert "kept 1 no longer rendered" in (revision.result or "")
    # later, with --delete-namespaces and --yes: deleted without a question
    asked = len(out.questions)
    apply_releases(
        deps, [target(cm("a"), cm("b"))], DeployOptions(delete_namespaces=True), yes=True
    )
    assert len(out.questions) == asked
    assert EXTRA not in cluster.objects


def test_every_question_names_the_cluster(
    deps: Deps, cluster: FakeCluster, out: ScriptedOutput
) -> None:
    deps.target_cluster = "context prod at https://10.0.0.1:6443"
    out.answers = [True]
    apply_releases(deps, [target(namespace(NS), cm("a"))], DeployOptions())
    someone_elses_configmap(cluster, NS)
    out.answers = [False, False]
    with pytest.raises(Declined):
        uninstall(deps, "web", NS)
    assert len(out.questions) == 3
    for question in out.questions:
        assert question.rstrip("?").endswith(", on context prod at https://10.0.0.1:6443"), question
