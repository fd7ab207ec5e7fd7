"""The pure half of `diff --secrets keep-live` (kdeploy.actions.keeplive)."""

from __future__ import annotations

import base64

from kdeploy.actions.keeplive import placeholder_keys, with_live_keys

MARK = "<secret not available: env DB_PASSWORD>"
SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "creds"},
    "stringData": {"password": MARK, "user": "app"},
    "data": {
        "token": base64.b64encode(f"Bearer {MARK}".encode()).decode(),
        "ca": base64.b64encode(b"plain").decode(),
    },
}


def test_placeholder_keys_of_string_data_and_base64_data() -> None:
    assert placeholder_keys(SECRET) == ["password", "token"]
    assert placeholder_keys({"kind": "ConfigMap", "data": {"a": MARK}}) == []


def test_live_values_replace_only_the_placeholder_keys_present_live() -> None:
    live = {"data": {"password": "bGl2ZQ==", "ca": "b3RoZXI="}}
    out, taken = with_live_keys(SECRET, ["password", "token"], live)
    assert taken == ["password"]
    assert out["data"]["password"] == "bGl2ZQ=="
    assert out["stringData"] == {"user": "app"}
    assert out["data"]["ca"] == SECRET["data"]["ca"]  # not a placeholder: the rendered value
    assert out["data"]["token"] == SECRET["data"]["token"]  # not live: stays a placeholder
    none, nothing = with_live_keys(SECRET, ["password"], None)
    assert nothing == [] and none["stringData"]["password"] == MARK
