"""Secret detection and redaction: what counts as secret, and that it never shows."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kdeploy.secrets import (
    collect_secret_strings,
    redact,
    redact_text,
    redaction_token,
    restore,
    secret_key_hashes,
    split_secret_manifests,
)


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db", "namespace": "shop"},
    "type": "Opaque",
    "data": {"password": b64("hunter2-pass")},
    "stringData": {"token": "tok-123456"},
}
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {"name": "web", "env": [{"name": "API_KEY", "value": "Bearer sk-live-9999"}]}
                ]
            }
        }
    },
}


def test_collects_secret_data_decoded_and_string_data() -> None:
    found = collect_secret_strings([SECRET, DEPLOYMENT], {}, None)
    assert found == {"hunter2-pass", "tok-123456"}


def test_configmap_data_is_not_secret() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"password": "visible"}}
    assert collect_secret_strings([cm]) == set()


def test_binary_secret_data_contributes_its_base64_text() -> None:
    raw = base64.b64encode(b"\xff\xfe\x00binary").decode()
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"}, "data": {"k": raw}}
    assert collect_secret_strings([secret]) == {raw}


def test_empty_and_single_character_secrets_are_not_redacted() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "stringData": {"a": "", "b": "x", "c": "xy"}}
    assert collect_secret_strings([secret]) == {"xy"}


def test_write_only_schema_nested_properties_items_and_additional_properties() -> None:
    schema = {
        "type": "object",
        "properties": {
            "db": {
                "type": "object",
                "properties": {"password": {"type": "string", "writeOnly": True}, "host": {}},
            },
            "users": {
                "type": "array",
                "items": {"properties": {"token": {"writeOnly": True}, "name": {}}},
            },
            "extra": {"additionalProperties": {"writeOnly": True}},
            "ref": {"$ref": "#/$defs/secretish"},
            "pin": {"type": "integer", "writeOnly": True},
            "flag": {"type": "boolean", "writeOnly": True},
        },
        "$defs": {"secretish": {"writeOnly": True}},
    }
    values = {
        "db": {"password": "pw-db-1", "host": "db.local"},
        "users": [{"token": "tk-a", "name": "alice"}, {"token": "tk-b", "name": "bob"}],
        "extra": {"one": "extra-1", "two": {"deep": "extra-2"}},
        "ref": "by-ref",
        "pin": 4242,
        "flag": True,
    }
    assert collect_secret_strings([], values, schema) == {
        "pw-db-1",
        "tk-a",
        "tk-b",
        "extra-1",
        "extra-2",
        "by-ref",
        "4242",
    }


def test_write_only_under_all_of_and_pattern_properties() -> None:
    schema = {
        "allOf": [{"properties": {"a": {"writeOnly": True}}}],
        "patternProperties": {"^secret_": {"writeOnly": True}},
    }
    values = {"a": "from-allof", "secret_x": "from-pattern", "plain": "visible"}
    assert collect_secret_strings([], values, schema) == {"from-allof", "from-pattern"}


def test_redact_nested_substring_and_base64() -> None:
    obj = {
        "a": ["x hunter2-pass y", {"b": b64("hunter2-pass")}],
        "c": 3,
        "d": None,
        "hunter2-pass": "as a key",
    }
    out = redact(obj, {"hunter2-pass"})
    token = redaction_token("hunter2-pass")
    assert out == {"a": [f"x {token} y", {"b": token}], "c": 3, "d": None, token: "as a key"}
    assert obj["a"][0] == "x hunter2-pass y"  # input untouched


def test_redaction_marker_is_keyed_not_a_plain_sha256() -> None:
    import hashlib

    plain = hashlib.sha256(b"s3cr3t-value").hexdigest()[:8]
    out = redact_text("pw=s3cr3t-value;", {"s3cr3t-value"})
    assert out == f"pw={redaction_token('s3cr3t-value')};"
    assert plain not in out
    # equal values give equal markers (within one process), different values different ones
    assert redaction_token("s3cr3t-value") == redaction_token(b"s3cr3t-value")
    assert redaction_token("s3cr3t-value") != redaction_token("s3cr3t-valuf")


def test_digest_key_comes_from_the_history_key_when_set() -> None:
    from kdeploy.secrets import digest_key

    one = digest_key({"KDEPLOY_HISTORY_KEY": "k1"})
    assert one == digest_key({"KDEPLOY_HISTORY_KEY": "k1"})
    assert one != digest_key({"KDEPLOY_HISTORY_KEY": "k2"})
    assert digest_key({}) == digest_key({})  # random, but one per process
    assert b"k1" not in one


@pytest.mark.parametrize("prefix", ["", "u:", "us:", "use:", "user:", "x" * 7 + ":"])
@pytest.mark.parametrize("suffix", ["", "!", "!!", "!!!"])
@pytest.mark.parametrize("urlsafe", [False, True])
def test_secret_inside_longer_base64_is_redacted_at_every_alignment(
    prefix: str, suffix: str, urlsafe: bool
) -> None:
    secret = "pa?ss>word-1234~"
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    header = "Basic " + encode(f"{prefix}{secret}{suffix}".encode()).decode()
    out = redact_text(header, {secret})
    assert "<redacted:sha256:" in out
    # nothing that decodes to 3 consecutive bytes of the secret is left
    for shift in range(3):
        from kdeploy.secrets import shifted_base64_fragment

        fragment = shifted_base64_fragment(secret.encode(), shift)
        if urlsafe:
            fragment = fragment.replace("+", "-").replace("/", "_")
        assert fragment not in out


def test_short_base64_fragments_are_not_searched() -> None:
    # a 2-byte secret has no fragment of 4 characters at a shifted alignment: plain text stays
    assert redact_text(base64.b64encode(b"xxab").decode(), {"ab"}) == "eHhhYg=="


def test_longer_secret_containing_shorter_one_is_replaced_whole() -> None:
    out = redact_text("abc-secret-long", {"secret", "abc-secret-long"})
    assert out == redaction_token("abc-secret-long")


def test_split_keeps_key_names_and_hashes_and_restore_round_trips() -> None:
    manifests = [SECRET, DEPLOYMENT]
    secrets = collect_secret_strings(manifests) | {"sk-live-9999"}
    redacted, payload = split_secret_manifests(manifests, secrets)
    text = json.dumps(redacted)
    for s in secrets:
        assert s not in text
        assert b64(s) not in text
    assert set(redacted[0]["data"]) == {"password"}
    assert redacted[0]["data"]["password"] == redaction_token("hunter2-pass")
    assert redacted[0]["stringData"]["token"] == redaction_token("tok-123456")
    assert "Bearer <redacted:sha256:" in text
    assert restore(redacted, payload) == manifests


def test_split_stores_nothing_secret_for_manifests_without_secrets() -> None:
    redacted, payload = split_secret_manifests([DEPLOYMENT])
    assert redacted == [DEPLOYMENT]
    assert payload == {"objects": []}


def test_restore_rejects_payload_of_other_manifests() -> None:
    with pytest.raises(ValueError, match="does not match"):
        restore([DEPLOYMENT], {"objects": [{"index": 3, "manifest": SECRET}]})


def test_secret_key_hashes_name_keys_not_values() -> None:
    hashes = secret_key_hashes([SECRET, DEPLOYMENT])
    assert list(hashes) == ["Secret shop/db"]
    assert set(hashes["Secret shop/db"]) == {"password", "token"}
    assert "hunter2-pass" not in json.dumps(hashes)


secret_text = st.text(alphabet="abcdeor<>:=sh256-xyz", min_size=2, max_size=12)
json_leaf = st.one_of(st.none(), st.integers(), st.text(alphabet="abcdeor<>:=sh256-xyz "))
json_obj = st.recursive(
    json_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(alphabet="abcxyz", max_size=4), children, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(secrets=st.sets(secret_text, min_size=1, max_size=4), obj=json_obj, data=st.data())
def test_redacted_output_never_contains_a_secret(
    secrets: set[str], obj: object, data: st.DataObject
) -> None:
    # Plant the secrets in the object too, so redaction has something to do.
    planted = [obj, *secrets, "pre" + data.draw(st.sampled_from(sorted(secrets))) + "post"]
    out = redact(planted, secrets)
    text = json.dumps(out)
    for s in secrets:
        for leaf in _strings(out):
            assert s not in leaf, (s, leaf, text)


def _strings(obj: object) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [*obj.keys(), *(s for v in obj.values() for s in _strings(v))]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(secret_text, min_size=1, max_size=4),
    extra=st.sets(secret_text, max_size=3),
    obj=json_obj,
)
def test_split_then_restore_gives_back_the_manifests(
    values: list[str], extra: set[str], obj: object
) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {f"k{i}": b64(v) for i, v in enumerate(values)},
    }
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": obj}}
    manifests = [secret, other]
    secrets = collect_secret_strings(manifests) | extra
    redacted, payload = split_secret_manifests(manifests, secrets)
    assert restore(redacted, payload) == manifests
    for leaf in _strings(redacted):
        for s in secrets:
            assert s not in leaf
