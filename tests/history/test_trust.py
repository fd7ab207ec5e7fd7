"""Signed history records (kdeploy.history.trust) through HistoryStore, on the memory driver."""

from __future__ import annotations

import dataclasses

import pytest

from kdeploy.errors import HistoryError
from kdeploy.history.driver import Record
from kdeploy.history.identity import Identity
from kdeploy.history.memory import MemoryDriver
from kdeploy.history.store import HistoryStore
from kdeploy.history.trust import distrust, history_key, sign, verify

KEY = b"k" * 32
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}


def _store(driver: MemoryDriver, key: bytes | None) -> HistoryStore:
    return HistoryStore(driver, identity=lambda: Identity(who="me@host"), key=key)


def _deploy(store: HistoryStore) -> None:
    rev = store.begin(
        "web", "shop", manifests=[CM], values={}, package="p", package_version="1",
        environment="dev", description="apply", secret_strings=set(),
    )  # fmt: skip
    store.finish(rev, "deployed", "ok")


def _record(driver: MemoryDriver, number: int) -> Record:
    return driver._records[("shop", "web", number)]


def test_records_written_with_a_key_verify_through_status_changes() -> None:
    driver = MemoryDriver()
    store = _store(driver, KEY)
    _deploy(store)
    _deploy(store)  # supersedes revision 1: signed again
    assert [(r.status, r.trust, r.trusted) for r in store.revisions("web", "shop")] == [
        ("superseded", "verified", True),
        ("deployed", "verified", True),
    ]
    assert store.get("web", "shop", 1).manifests == [CM]


def test_a_changed_status_or_meta_or_number_does_not_verify() -> None:
    driver = MemoryDriver()
    _deploy(_store(driver, KEY))
    good = _record(driver, 1)
    for forged in (
        dataclasses.replace(good, status="failed"),
        dataclasses.replace(good, meta={**good.meta, "description": "x"}),
        dataclasses.replace(good, number=2),
        dataclasses.replace(good, state={**good.state, "result": "other"}),
    ):
        assert verify(KEY, forged) == "invalid"
    assert verify(b"other key", good) == "invalid"
    assert verify(KEY, dataclasses.replace(good, state={"result": "ok"})) == "unsigned"
    assert verify(None, good) == "unchecked"


def test_a_status_change_never_signs_a_record_that_did_not_verify() -> None:
    driver = MemoryDriver()
    store = _store(driver, KEY)
    _deploy(store)
    forged = dataclasses.replace(_record(driver, 1), number=5, state={"result": "forged"})
    driver.create(forged)
    _deploy(store)  # revision 6: supersedes only trusted deployed revisions
    statuses = {r.number: (r.status, r.trust) for r in store.revisions("web", "shop")}
    assert statuses == {
        1: ("superseded", "verified"),
        5: ("deployed", "unsigned"),
        6: ("deployed", "verified"),
    }
    store.settle_deployed("web", "shop")
    assert _record(driver, 5).status == "deployed"
    assert verify(KEY, _record(driver, 5)) == "unsigned"


def test_a_payload_changed_under_valid_metadata_is_refused() -> None:
    driver = MemoryDriver()
    store = _store(driver, KEY)
    _deploy(store)
    record = _record(driver, 1)
    driver._records[("shop", "web", 1)] = dataclasses.replace(record, payload=b"\x1f\x8bxx")
    with pytest.raises(HistoryError, match="does not match the checksum") as info:
        store.get("web", "shop", 1)
    assert "kubectl delete configmap kdeploy.web.v1 -n shop" in (info.value.hint or "")


def test_without_a_key_other_field_managers_are_not_trusted() -> None:
    assert distrust("unchecked", ()) == ""
    assert "kubectl-create" in distrust("unchecked", ("kubectl-create",))
    assert "does not verify" in distrust("invalid", ())
    assert "not signed" in distrust("unsigned", ())
    record = Record("web", "shop", 1, "deployed", {"a": 1}, {"result": "x"})
    assert sign(KEY, record, "deployed", {}) == sign(KEY, record, "deployed", {"signature": "y"})


def test_a_damaged_record_is_listed_and_stops_only_its_own_reads() -> None:
    driver = MemoryDriver()
    store = _store(driver, None)
    _deploy(store)
    _deploy(store)
    driver._records[("shop", "web", 1)] = dataclasses.replace(_record(driver, 1), status="bogus")
    revs = store.revisions("web", "shop")
    assert [(r.number, r.status, r.trusted) for r in revs] == [
        (1, "damaged", False),
        (2, "deployed", True),
    ]
    assert "bogus" in revs[0].damage
    with pytest.raises(HistoryError, match="bogus") as info:
        store.get("web", "shop", 1)
    assert "kubectl delete configmap kdeploy.web.v1 -n shop" in (info.value.hint or "")
    assert store.get("web", "shop", 2).manifests == [CM]


def test_history_key_sources() -> None:
    assert history_key({}) is None
    assert history_key({"KDEPLOY_HISTORY_KEY": "abc"}) == b"abc"
    with pytest.raises(HistoryError, match="both"):
        history_key({"KDEPLOY_HISTORY_KEY": "a", "KDEPLOY_HISTORY_KEY_SECRET": "ns/n"})
    with pytest.raises(HistoryError, match="NAMESPACE/NAME"):
        history_key({"KDEPLOY_HISTORY_KEY_SECRET": "just-a-name"}, api_client=object())
