"""The pure diff: planning, normalisation, formatting and secret masking."""

from __future__ import annotations

import base64
import json

from kdeploy.diff import Plan, format_text, normalize, plan, summary, to_json
from kdeploy.model import ObjectKey


def cm(name: str, data: dict[str, str], **meta: object) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop", **meta},
        "data": data,
    }


def secret(name: str, data: dict[str, str]) -> dict[str, object]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "shop"},
        "type": "Opaque",
        "data": encoded,
    }


def key(obj: dict[str, object]) -> ObjectKey:
    return ObjectKey.of(obj)


SERVER_META = {
    "uid": "1234",
    "resourceVersion": "17",
    "generation": 3,
    "creationTimestamp": "2026-01-01T00:00:00Z",
    "managedFields": [{"manager": "kdeploy", "operation": "Apply"}],
    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
}


def test_normalize_drops_server_managed_metadata_and_status() -> None:
    live = cm("a", {"k": "v"}, **SERVER_META)
    live["status"] = {"phase": "x"}
    assert normalize(live) == cm("a", {"k": "v"})
    assert "uid" in live["metadata"]  # type: ignore[operator]  # input untouched


def test_plan_sees_no_change_when_only_server_metadata_differs() -> None:
    desired = cm("a", {"k": "v"}, uid="1", resourceVersion="9")
    live = cm("a", {"k": "v"}, **SERVER_META)
    p = plan({key(desired): desired}, {key(desired): live}, set())
    assert [c.action for c in p.changes] == ["unchanged"]
    assert not p.has_changes
    assert summary(p) == "0 to create, 0 to change, 0 to delete"


def test_plan_classifies_create_change_delete() -> None:
    new = cm("new", {"k": "v"})
    changed = cm("changed", {"k": "v2"})
    gone = cm("gone", {"k": "v"})
    never_live = cm("already-deleted", {"k": "v"})
    live = {key(changed): cm("changed", {"k": "v1"}), key(gone): gone, key(new): None}
    p = plan(
        {key(new): new, key(changed): changed},
        live,
        {key(gone), key(changed), key(never_live)},
    )
    assert [(c.action, c.key.name) for c in p.changes] == [
        ("create", "new"),
        ("change", "changed"),
        ("delete", "gone"),
    ]
    assert summary(p) == "1 to create, 1 to change, 1 to delete"


def test_text_diff_shows_exactly_the_changed_line() -> None:
    desired = cm("a", {"k": "new", "same": "x"})
    p = plan({key(desired): desired}, {key(desired): cm("a", {"k": "old", "same": "x"})}, set())
    text = format_text(p)
    changed = [
        line
        for line in text.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---", "+ create", "- delete"))
    ]
    assert changed == ["-  k: old", "+  k: new"]
    assert "~ change ConfigMap shop/a" in text
    assert text.rstrip().endswith("0 to create, 1 to change, 0 to delete")


def test_secret_values_are_masked_with_a_hash_but_changed_keys_show() -> None:
    desired = secret("s", {"password": "hunter2-new", "user": "admin"})
    live = secret("s", {"password": "hunter2-old", "user": "admin"})
    p = plan({key(desired): desired}, {key(desired): live}, set())
    text = format_text(p)
    assert "hunter2" not in text
    assert base64.b64encode(b"hunter2-new").decode() not in text
    changed = [ln for ln in text.splitlines() if ln.startswith(("-  ", "+  "))]
    assert len(changed) == 2 and all("password: <redacted:sha256:" in ln for ln in changed)
    assert changed[0] != changed[1]


def test_show_secrets_prints_values() -> None:
    desired = secret("s", {"password": "hunter2"})
    p = plan({key(desired): desired}, {key(desired): None}, set())
    assert base64.b64encode(b"hunter2").decode() in format_text(p, show_secrets=True)


def test_redact_scrubs_secret_strings_outside_secrets() -> None:
    desired = cm("a", {"dsn": "postgres://u:topsecret@db"})
    p = plan({key(desired): desired}, {}, set())
    text = format_text(p, redact=lambda t: t.replace("topsecret", "***"))
    assert "topsecret" not in text and "postgres://u:***@db" in text


def test_json_form_is_stable() -> None:
    desired = cm("a", {"k": "v"})
    p = plan({key(desired): desired}, {}, set())
    doc = to_json(p)
    assert json.loads(json.dumps(doc)) == doc
    assert doc["summary"] == {"create": 1, "change": 0, "delete": 0, "unchanged": 0}
    (change,) = doc["changes"]
    assert {k: change[k] for k in ("action", "apiVersion", "kind", "namespace", "name")} == {
        "action": "create",
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "namespace": "shop",
        "name": "a",
    }
    assert "+  k: v" in change["diff"]


def test_empty_plan_has_no_changes() -> None:
    assert not Plan().has_changes
    assert format_text(Plan()) == "0 to create, 0 to change, 0 to delete\n"
