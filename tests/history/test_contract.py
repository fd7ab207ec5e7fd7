"""One contract for every history driver: the same behaviour from memory and from ConfigMaps.

The ConfigMap half runs against the API emulator through the real `kubernetes` client.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kdeploy.errors import HistoryError
from kdeploy.history.driver import Driver
from kdeploy.history.identity import Identity
from kdeploy.history.memory import MemoryDriver
from kdeploy.history.store import HistoryStore

RELEASE = "web"
PASSWORD = "hunter2-very-secret"
API_KEY = "sk-live-abcdef123456"


@dataclass
class Backend:
    name: str
    driver: Driver
    namespace: str
    # Every text kdeploy stored outside Secrets, decoded and decompressed where possible.
    plain_texts: Callable[[], list[str]]
    core: Any = None
    api: Any = None


def _memory_backend() -> Backend:
    driver = MemoryDriver()

    def texts() -> list[str]:
        out: list[str] = []
        for record in driver._records.values():
            out.append(json.dumps(record.meta))
            out.append(json.dumps(record.state))
            if record.payload is not None:
                out.append(gzip.decompress(record.payload).decode())
        return out

    return Backend("memory", driver, "shop", texts)


def _configmap_backend(request: pytest.FixtureRequest) -> Backend:
    try:
        emulator = request.getfixturevalue("emulator")
    except pytest.FixtureLookupError:
        pytest.skip("the emulator fixture (tests/conftest.py) is not available")
    from kubernetes import client

    from kdeploy.history.configmap import ConfigMapDriver
    from kdeploy.kube.config import ClusterTarget, new_api_client

    api = new_api_client(ClusterTarget(kubeconfig=str(emulator.kubeconfig_path)))
    core = client.CoreV1Api(api)
    namespace = request.getfixturevalue("namespace")
    driver = ConfigMapDriver(api)

    def texts() -> list[str]:
        return _all_configmap_texts(core)

    return Backend("configmap", driver, namespace, texts, core, api)


def _all_configmap_texts(core: Any) -> list[str]:
    """Every ConfigMap in the cluster as raw JSON, plus its binaryData decoded and, once the
    chunks of a revision are joined, decompressed."""
    items = json.loads(core.list_config_map_for_all_namespaces(_preload_content=False).data).get(
        "items", []
    )
    out: list[str] = []
    blobs: dict[tuple[str, str, str], dict[int, bytes]] = {}
    for item in items:
        out.append(json.dumps(item))
        labels = item["metadata"].get("labels") or {}
        for value in (item.get("binaryData") or {}).values():
            raw = base64.b64decode(value)
            out.append(raw.decode(errors="replace"))
            release = labels.get("kdeploy.dev/release") or labels.get("kdeploy.dev/part-of")
            if release:
                key = (
                    item["metadata"]["namespace"],
                    release,
                    labels.get("kdeploy.dev/revision", ""),
                )
                blobs.setdefault(key, {})[int(labels.get("kdeploy.dev/part", "0"))] = raw
    for parts in blobs.values():
        joined = b"".join(parts[k] for k in sorted(parts))
        try:
            out.append(gzip.decompress(joined).decode())
        except (OSError, EOFError):
            pass
    return out


@pytest.fixture(params=["memory", "configmap"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        yield _memory_backend()
    else:
        yield _configmap_backend(request)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=5)
        return self.now


@pytest.fixture
def store(backend: Backend) -> HistoryStore:
    return HistoryStore(
        backend.driver,
        clock=Clock(),
        identity=lambda: Identity(who="alice@laptop", git_commit="abc123", git_dirty=True),
    )


def secret_manifest(password: str = PASSWORD) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "type": "Opaque",
        "data": {"password": base64.b64encode(password.encode()).decode()},
    }


def deployment(image: str = "web:1", api_key: str = API_KEY) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "web", "image": image, "env": [{"name": "KEY", "value": api_key}]}
                    ]
                }
            }
        },
    }


def begin(store: HistoryStore, ns: str, **overrides: Any) -> Any:
    args: dict[str, Any] = {
        "manifests": [secret_manifest(), deployment()],
        "values": {"image": "web:1", "apiKey": API_KEY, "db": {"password": PASSWORD}},
        "package": "webapp",
        "package_version": "1.2.0",
        "environment": "prod",
        "description": "apply",
        # as the values schema would mark apiKey and db.password writeOnly
        "secret_strings": {API_KEY, PASSWORD},
    }
    args.update(overrides)
    return store.begin(RELEASE, ns, **args)


def statuses(store: HistoryStore, ns: str) -> list[tuple[int, str]]:
    return [(r.number, r.status) for r in store.revisions(RELEASE, ns)]


def test_begin_records_pending_revision_with_who_and_when(
    store: HistoryStore, backend: Backend
) -> None:
    rev = begin(store, backend.namespace)
    assert (rev.number, rev.status) == (1, "pending")
    [listed] = store.revisions(RELEASE, backend.namespace)
    assert listed.status == "pending"
    assert listed.who == "alice@laptop"
    assert (listed.git_commit, listed.git_dirty) == ("abc123", True)
    assert listed.started_at == "2026-11-23T12:00:05Z"
    assert (listed.package, listed.package_version, listed.environment) == (
        "webapp",
        "1.2.0",
        "prod",
    )
    assert listed.manifests == [] and not listed.payload_loaded


def test_finish_deployed_supersedes_previous_and_numbers_increase(
    store: HistoryStore, backend: Backend
) -> None:
    ns = backend.namespace
    store.finish(begin(store, ns), "deployed", "applied 2 objects")
    second = begin(store, ns, description="second")
    assert second.number == 2
    assert statuses(store, ns) == [(1, "deployed"), (2, "pending")]
    done = store.finish(second, "deployed", "ok")
    assert done.status == "deployed" and done.finished_at
    assert statuses(store, ns) == [(1, "superseded"), (2, "deployed")]
    third = store.finish(begin(store, ns), "failed", "Deployment shop/web: Invalid")
    assert statuses(store, ns) == [(1, "superseded"), (2, "deployed"), (3, "failed")]
    assert store.revisions(RELEASE, ns)[2].result == "Deployment shop/web: Invalid"
    assert third.number == 3


def test_last_and_last_deployed(store: HistoryStore, backend: Backend) -> None:
    ns = backend.namespace
    assert store.last(RELEASE, ns) is None
    assert store.last_deployed(RELEASE, ns) is None
    store.finish(begin(store, ns), "deployed", "ok")
    store.finish(begin(store, ns, manifests=[deployment("web:2")]), "failed", "boom")
    last = store.last(RELEASE, ns)
    deployed = store.last_deployed(RELEASE, ns)
    assert last is not None and deployed is not None
    assert (last.number, last.status) == (2, "failed")
    assert (deployed.number, deployed.status) == (1, "deployed")
    assert deployed.manifests == [secret_manifest(), deployment()]


def test_get_restores_secret_data_and_keeps_values_redacted(
    store: HistoryStore, backend: Backend
) -> None:
    ns = backend.namespace
    begin(store, ns)
    full = store.get(RELEASE, ns, 1)
    assert full.manifests == [secret_manifest(), deployment()]
    assert full.secrets_restored
    assert {PASSWORD, API_KEY} <= full.secret_strings
    assert PASSWORD not in json.dumps(full.values) and API_KEY not in json.dumps(full.values)
    assert full.values["image"] == "web:1"
    assert full.secret_keys == {
        "Secret shop/db": {"password": full.secret_keys["Secret shop/db"]["password"]}
    }
    redacted = store.get(RELEASE, ns, 1, secrets=False)
    assert redacted.manifests[0]["data"]["password"].startswith("<redacted:sha256:")
    assert API_KEY not in json.dumps(redacted.manifests)


def test_mark_interrupted_fails_pending_revision_only(
    store: HistoryStore, backend: Backend
) -> None:
    ns = backend.namespace
    pending = begin(store, ns)
    failed = store.mark_interrupted(pending)
    assert (failed.status, failed.result) == ("failed", "interrupted")
    assert statuses(store, ns) == [(1, "failed")]
    assert store.revisions(RELEASE, ns)[0].result == "interrupted"
    deployed = store.finish(begin(store, ns), "deployed", "ok")
    assert store.mark_interrupted(deployed).status == "deployed"
    assert statuses(store, ns) == [(1, "failed"), (2, "deployed")]


def test_finish_of_revision_no_longer_pending_is_refused(
    store: HistoryStore, backend: Backend
) -> None:
    ns = backend.namespace
    rev = begin(store, ns)
    store.mark_interrupted(rev)
    with pytest.raises(HistoryError, match=r"revision 1 of release web .* is already failed"):
        store.finish(rev, "deployed", "late")
    assert statuses(store, ns) == [(1, "failed")]


def test_prune_keeps_last_deployed_and_current(store: HistoryStore, backend: Backend) -> None:
    ns = backend.namespace
    store.finish(begin(store, ns), "deployed", "ok")  # 1 stays the last deployed
    for _ in range(4):
        store.finish(begin(store, ns), "failed", "boom")  # 2..5
    deleted = store.prune(RELEASE, ns, keep=2)
    assert deleted == [2, 3, 4]
    assert statuses(store, ns) == [(1, "deployed"), (5, "failed")]
    assert store.get(RELEASE, ns, 1).manifests == [secret_manifest(), deployment()]


def test_prune_deletes_oldest_superseded_beyond_keep(store: HistoryStore, backend: Backend) -> None:
    ns = backend.namespace
    for _ in range(5):
        store.finish(begin(store, ns), "deployed", "ok")
    pending = begin(store, ns)
    assert store.prune(RELEASE, ns, keep=3) == [1, 2, 3]
    assert statuses(store, ns) == [(4, "superseded"), (5, "deployed"), (6, "pending")]
    assert store.prune(RELEASE, ns, keep=0) == []
    # numbering continues after pruning
    store.finish(pending, "deployed", "ok")
    assert begin(store, ns).number == 7


def test_delete_all_removes_every_revision(store: HistoryStore, backend: Backend) -> None:
    ns = backend.namespace
    store.finish(begin(store, ns), "deployed", "ok")
    begin(store, ns)
    assert store.delete_all(RELEASE, ns) == [1, 2]
    assert store.revisions(RELEASE, ns) == []
    assert begin(store, ns).number == 1
    if backend.core is not None:
        secrets = backend.core.list_namespaced_secret(ns).items
        assert [s.metadata.name for s in secrets] == ["kdeploy.web.v1"]


def test_unknown_revision_error_lists_existing(store: HistoryStore, backend: Backend) -> None:
    ns = backend.namespace
    with pytest.raises(HistoryError, match=f"release web has no history in namespace {ns}"):
        store.get(RELEASE, ns, 1)
    store.finish(begin(store, ns), "deployed", "ok")
    begin(store, ns)
    with pytest.raises(HistoryError) as err:
        store.get(RELEASE, ns, 7)
    assert err.value.message == (
        f"release web in namespace {ns} has no revision 7; existing revisions: 1, 2"
    )


def test_releases_do_not_see_each_other(store: HistoryStore, backend: Backend) -> None:
    ns = backend.namespace
    begin(store, ns)
    store.begin(
        "api",
        ns,
        manifests=[],
        values={},
        package="api",
        package_version="1",
        environment="prod",
        description="",
        secret_strings=set(),
    )
    assert [r.release for r in store.revisions("api", ns)] == ["api"]
    assert [r.number for r in store.revisions(RELEASE, ns)] == [1]


def test_releases_lists_each_release_with_history_once(
    store: HistoryStore, backend: Backend
) -> None:
    ns = backend.namespace
    begin(store, ns)
    begin(store, ns)
    store.begin(
        "api",
        ns,
        manifests=[],
        values={},
        package="api",
        package_version="1",
        environment="prod",
        description="",
        secret_strings=set(),
    )
    assert store.releases(ns) == [(ns, "api"), (ns, RELEASE)]
    assert {(ns, "api"), (ns, RELEASE)} <= set(store.releases(None))
    assert store.releases("no-such-namespace") == []


def test_large_payload_is_chunked_and_round_trips(store: HistoryStore, backend: Backend) -> None:
    ns = backend.namespace
    # Incompressible: about 3 MiB of random data stays about 3 MiB after gzip.
    blob = base64.b64encode(os.urandom(2_400_000)).decode()
    manifests = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"big-{i}", "namespace": ns},
            "data": {"blob": blob[i * 400_000 : (i + 1) * 400_000]},
        }
        for i in range(8)
    ] + [secret_manifest()]
    rev = begin(store, ns, manifests=manifests, values={"noise": blob})
    store.finish(rev, "deployed", "ok")
    got = store.get(RELEASE, ns, rev.number)
    assert got.manifests == manifests
    assert got.values == {"noise": blob}
    if backend.core is not None:
        names = sorted(c.metadata.name for c in backend.core.list_namespaced_config_map(ns).items)
        parts = [n for n in names if n.startswith("kdeploy.web.v1.part-")]
        assert "kdeploy.web.v1" in names
        assert len(parts) >= 4, names
        store.delete_all(RELEASE, ns)
        left = [c.metadata.name for c in backend.core.list_namespaced_config_map(ns).items]
        assert not [n for n in left if n.startswith("kdeploy.")]


def test_no_configmap_ever_contains_a_secret_value(store: HistoryStore, backend: Backend) -> None:
    ns = backend.namespace
    base = secret_manifest()
    base["stringData"] = {"token": "string-data-token"}
    rev = begin(
        store,
        ns,
        manifests=[base, deployment()],
        description=f"deploy with {API_KEY}",
    )
    store.finish(rev, "failed", f"Deployment shop/web rejected value {API_KEY}")
    second = begin(
        store,
        ns,
        manifests=[secret_manifest("second-password-9")],
        values={"db": {"password": "second-password-9"}},
    )
    store.finish(second, "deployed", "ok")
    store.mark_interrupted(begin(store, ns))
    store.prune(RELEASE, ns, keep=2)
    secrets = [PASSWORD, API_KEY, "string-data-token", "second-password-9"]
    texts = backend.plain_texts()
    assert texts
    for text in texts:
        for secret in secrets:
            assert secret not in text
            assert base64.b64encode(secret.encode()).decode() not in text
    # and the stored data still brings everything back for a rollback
    assert store.get(RELEASE, ns, 2).manifests == [secret_manifest("second-password-9")]


def test_companion_secret_has_the_revision_secrets_type(
    store: HistoryStore, backend: Backend
) -> None:
    if backend.core is None:
        pytest.skip("ConfigMap driver only")
    ns = backend.namespace
    begin(store, ns)
    secret = backend.core.read_namespaced_secret("kdeploy.web.v1", ns)
    assert secret.type == "kdeploy.dev/revision-secrets"
    cm = backend.core.read_namespaced_config_map("kdeploy.web.v1", ns)
    assert cm.metadata.labels == {
        "app.kubernetes.io/managed-by": "kdeploy",
        "kdeploy.dev/release": "web",
        "kdeploy.dev/revision": "1",
        "kdeploy.dev/status": "pending",
    }
    meta = json.loads(cm.data["meta.json"])
    assert meta["who"] == "alice@laptop"


def test_revision_without_secrets_has_no_companion_secret(
    store: HistoryStore, backend: Backend
) -> None:
    ns = backend.namespace
    rev = store.begin(
        RELEASE,
        ns,
        manifests=[deployment()],
        values={"image": "x"},
        package="p",
        package_version="1",
        environment="e",
        description="",
        secret_strings=set(),
    )
    assert not rev.has_secrets
    assert store.get(RELEASE, ns, 1).manifests == [deployment()]
    if backend.core is not None:
        assert backend.core.list_namespaced_secret(ns).items == []


def test_missing_companion_secret_is_a_clear_error(store: HistoryStore, backend: Backend) -> None:
    if backend.core is None:
        pytest.skip("ConfigMap driver only")
    ns = backend.namespace
    begin(store, ns)
    backend.core.delete_namespaced_secret("kdeploy.web.v1", ns)
    with pytest.raises(HistoryError) as err:
        store.get(RELEASE, ns, 1)
    assert err.value.message == (
        f"the companion Secret kdeploy.web.v1 of revision 1 of release web in namespace {ns} "
        "is missing; its secret data cannot be restored"
    )
    # without secrets (kdeploy get) the revision still reads
    assert store.get(RELEASE, ns, 1, secrets=False).manifests[1]["kind"] == "Deployment"


def test_missing_or_changed_chunk_is_detected(store: HistoryStore, backend: Backend) -> None:
    if backend.core is None:
        pytest.skip("ConfigMap driver only")
    from kdeploy.history.configmap import ConfigMapDriver

    ns = backend.namespace
    small = HistoryStore(
        ConfigMapDriver(backend.api, chunk_bytes=2000),
        identity=lambda: Identity(who="t"),
    )
    blob = base64.b64encode(os.urandom(6000)).decode()
    rev = begin(small, ns, values={"noise": blob})
    assert small.get(RELEASE, ns, rev.number).values == {"noise": blob}
    part = backend.core.read_namespaced_config_map("kdeploy.web.v1.part-2", ns)
    part.binary_data = {"payload.json.gz": base64.b64encode(b"tampered").decode()}
    backend.core.replace_namespaced_config_map("kdeploy.web.v1.part-2", ns, part)
    with pytest.raises(HistoryError, match="does not match its checksum"):
        small.get(RELEASE, ns, 1)
    backend.core.delete_namespaced_config_map("kdeploy.web.v1.part-2", ns)
    with pytest.raises(HistoryError) as err:
        small.get(RELEASE, ns, 1)
    assert err.value.message == (
        f"ConfigMap {ns}/kdeploy.web.v1.part-2 (part 2 of revision 1 of release web) is missing"
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_operation_sequences_keep_invariants(
    store: HistoryStore, backend: Backend, seed: int
) -> None:
    import random

    rng = random.Random(seed)
    ns = backend.namespace
    used: list[str] = []
    recorded: dict[int, list[dict[str, Any]]] = {}
    pending: Any = None
    for step in range(10):
        op = rng.choice(["deploy", "fail", "interrupt", "prune"])
        if op == "prune":
            store.prune(RELEASE, ns, keep=rng.randint(1, 4))
            continue
        if pending is not None:
            store.mark_interrupted(pending)
            pending = None
        password = f"pw-{seed}-{step}-{rng.randrange(10**9)}"
        used.append(password)
        manifests = [secret_manifest(password), deployment(f"web:{step}")]
        rev = begin(
            store,
            ns,
            manifests=manifests,
            values={"db": {"password": password}},
            secret_strings=set(),
        )
        recorded[rev.number] = manifests
        if op == "deploy":
            store.finish(rev, "deployed", "ok")
        elif op == "fail":
            store.finish(rev, "failed", f"error mentioning {password}")
        else:
            pending = rev
        revs = store.revisions(RELEASE, ns)
        assert [r.number for r in revs] == sorted(r.number for r in revs)
        assert sum(r.status == "deployed" for r in revs) <= 1
        deployed = store.last_deployed(RELEASE, ns)
        if deployed is not None:
            assert deployed.manifests == recorded[deployed.number]
    for text in backend.plain_texts():
        for secret in used:
            assert secret not in text
            assert base64.b64encode(secret.encode()).decode() not in text


def test_finish_within_an_operation_still_sees_a_takeover(
    store: HistoryStore, backend: Backend
) -> None:
    # One operation reads the history once and keeps it up to date with its own writes; a
    # deployer that took over after the lock expired is still noticed when finishing.
    ns = backend.namespace
    other = HistoryStore(backend.driver)
    with store.operation(RELEASE, ns):
        assert statuses(store, ns) == []
        rev = begin(store, ns)
        assert statuses(store, ns) == [(1, "pending")]
        other.mark_interrupted(rev)
        with pytest.raises(HistoryError, match=r"revision 1 of release web .* is already failed"):
            store.finish(rev, "deployed", "late")
        assert statuses(store, ns) == [(1, "failed")]
    assert statuses(other, ns) == [(1, "failed")]
