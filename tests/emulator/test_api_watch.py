"""Watch streams: events from a resourceVersion, selectors, bookmarks, WatchList and 410 Expired."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import urllib3
from kubernetes import client, config, watch
from kubernetes.client import ApiException


@pytest.fixture(scope="module")
def core(emulator: Any) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(emulator.kubeconfig_path))


def cm(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}}, "data": data}


def stream(core: client.CoreV1Api, namespace: str, **kw: Any) -> list[tuple[str, str, str]]:
    """(type, name, resourceVersion) of every event until the server ends the watch."""
    out = []
    for ev in watch.Watch().stream(
        core.list_namespaced_config_map, namespace, _preload_content=False, **kw
    ):
        obj = ev["raw_object"]
        out.append(
            (ev["type"], obj["metadata"].get("name", ""), obj["metadata"]["resourceVersion"])
        )
    return out


def test_watch_from_resource_version_sees_changes_after_it(
    core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, cm("before"))
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, cm("w"))
    core.patch_namespaced_config_map("w", namespace, {"data": {"a": "1"}})
    core.delete_namespaced_config_map("w", namespace)
    events = stream(core, namespace, resource_version=rv, timeout_seconds=1)
    assert [(t, n) for t, n, _ in events] == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]
    rvs = [int(r) for _, _, r in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)


def test_watch_without_resource_version_starts_with_current_objects(
    core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, cm("one", {"w": "1"}))
    core.create_namespaced_config_map(namespace, cm("two", {"w": "1"}))
    events = stream(core, namespace, timeout_seconds=1, label_selector="w")
    assert [(t, n) for t, n, _ in events] == [("ADDED", "one"), ("ADDED", "two")]


def test_watch_with_label_selector_turns_label_changes_into_added_and_deleted(
    core: client.CoreV1Api, namespace: str
) -> None:
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, cm("x", {"team": "a"}))
    core.patch_namespaced_config_map("x", namespace, {"metadata": {"labels": {"team": "b"}}})
    core.patch_namespaced_config_map("x", namespace, {"metadata": {"labels": {"team": "a"}}})
    core.create_namespaced_config_map(namespace, cm("other", {"team": "b"}))
    events = stream(
        core, namespace, resource_version=rv, timeout_seconds=1, label_selector="team=a"
    )
    assert [(t, n) for t, n, _ in events] == [("ADDED", "x"), ("DELETED", "x"), ("ADDED", "x")]


def test_watch_delivers_events_as_they_happen(core: client.CoreV1Api, namespace: str) -> None:
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    seen: list[str] = []
    w = watch.Watch()

    def run() -> None:
        for ev in w.stream(
            core.list_namespaced_config_map, namespace, resource_version=rv, timeout_seconds=30
        ):
            seen.append(ev["object"].metadata.name)
            if len(seen) == 2:
                w.stop()

    t = threading.Thread(target=run)
    t.start()
    core.create_namespaced_config_map(namespace, cm("live1"))
    core.create_namespaced_config_map(namespace, cm("live2"))
    t.join(timeout=30)
    assert seen == ["live1", "live2"]


def _raw_watch(emulator: Any, path: str) -> list[dict[str, Any]]:
    resp = urllib3.PoolManager().request("GET", emulator.url + path, preload_content=False)
    assert resp.status == 200, resp.data
    lines = [json.loads(line) for line in resp.data.splitlines() if line.strip()]
    return lines


def test_watchlist_ends_initial_events_with_annotated_bookmark(
    own_emulator: Any, core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, cm("a", {"w": "1"}))
    core.create_namespaced_config_map(namespace, cm("b", {"w": "1"}))
    events = _raw_watch(
        own_emulator,
        f"/api/v1/namespaces/{namespace}/configmaps?watch=true&sendInitialEvents=true&labelSelector=w"
        "&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1",
    )
    assert [e["type"] for e in events[:3]] == ["ADDED", "ADDED", "BOOKMARK"]
    mark = events[2]["object"]
    assert mark["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert mark["kind"] == "ConfigMap"
    assert int(mark["metadata"]["resourceVersion"]) >= max(
        int(e["object"]["metadata"]["resourceVersion"]) for e in events[:2]
    )


def test_watchlist_without_resource_version_match_is_rejected(
    core: client.CoreV1Api, namespace: str
) -> None:
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map(
            namespace,
            watch=True,
            send_initial_events=True,
            allow_watch_bookmarks=True,
            timeout_seconds=1,
        )
    assert err.value.status == 422


def test_too_old_resource_version_gives_410_expired(own_emulator: Any, namespace: str) -> None:
    from kdeploy.emulator.app import Emulator

    with Emulator(history=5, controllers=False) as small:
        kube = client.CoreV1Api(config.new_client_from_config(small.kubeconfig_path))
        rv = kube.list_namespaced_config_map("default").metadata.resource_version
        for i in range(10):
            kube.create_namespaced_config_map("default", cm(f"c{i}"))
        events = _raw_watch(
            small, f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}"
        )
        assert events[0]["type"] == "ERROR"
        status = events[0]["object"]
        assert status["code"] == 410 and status["reason"] == "Expired"
        assert status["message"].startswith(f"too old resource version: {rv}")


def test_watch_with_bookmarks_gets_one_every_bookmark_interval() -> None:
    from kdeploy.emulator.app import Emulator

    with Emulator(controllers=False, bookmark_interval=0.2) as small:
        kube = client.CoreV1Api(config.new_client_from_config(small.kubeconfig_path))
        kube.create_namespace({"metadata": {"name": "elsewhere"}})
        rv = kube.list_namespaced_config_map("default").metadata.resource_version
        # A change outside the watched namespace: never sent, but bookmarks move past it.
        other = kube.create_namespaced_config_map("elsewhere", cm("other"))
        path = f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}"
        events = _raw_watch(small, path + "&allowWatchBookmarks=true&timeoutSeconds=2")
        assert events and {e["type"] for e in events} == {"BOOKMARK"}
        # Several periodic ones before the one that ends the watch.
        assert len(events) >= 3
        for e in events:
            assert e["object"]["kind"] == "ConfigMap"
            assert "annotations" not in e["object"]["metadata"]
            assert int(e["object"]["metadata"]["resourceVersion"]) >= int(
                other.metadata.resource_version
            )
        assert _raw_watch(small, path + "&timeoutSeconds=1") == []


def test_bookmarks_come_about_once_a_minute_by_default(own_emulator: Any, namespace: str) -> None:
    rv = own_emulator.store.resource_version
    path = f"/api/v1/namespaces/{namespace}/configmaps?watch=1&resourceVersion={rv}"
    events = _raw_watch(own_emulator, path + "&allowWatchBookmarks=true&timeoutSeconds=1")
    # Only the one a watch ends with.
    assert [e["type"] for e in events] == ["BOOKMARK"]
