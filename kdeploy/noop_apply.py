"""Whether a server-side apply of a manifest would leave a live object as it is, judged without
asking the server (pure). It lets a plan skip the dry-run apply of objects nothing changed.

The evidence is the server's own record of kdeploy's last apply: kdeploy's entry in the live
object's `metadata.managedFields` (manager `kdeploy`, operation `Apply`, the main resource). After
an apply, that entry lists exactly the fields of the applied manifest; a later change of one of
them by another field manager (an update such as `kubectl edit` or `kubectl scale`, or a forced
apply) takes the field out of the entry or changes its value. An apply of `manifest` changes
nothing when:

- the entry exists, for the manifest's apiVersion, and the object is not being deleted;
- every field the manifest sets is in the entry and has exactly the manifest's value in the live
  object (no conversion, no quantity or type normalisation: "0.5" against "500m" is a doubt);
- the entry owns no field the manifest no longer sets (the apply would remove it);
- every list kdeploy owns item by item holds exactly the manifest's items, in its order.

Then the apply sets no value, removes no field and takes no field from anyone (a conflict needs a
different value), so the dry run would return the live object. Anything the rules do not cover
(a `null`, positional list items, a key the manifest leaves to a default that the entry records)
counts as a change: the caller falls back to the dry run, which is exact. See docs/performance.md,
"Requests proportional to the change".
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from kdeploy.model import Manifest

# Identity fields: part of every manifest, never recorded in managedFields.
_IDENTITY = ("apiVersion", "kind")
_META_IDENTITY = ("name", "namespace")
_SELF = "."


def apply_is_noop(manifest: Manifest, live: Mapping[str, Any], manager: str) -> bool:
    """Whether a server-side apply of `manifest` by field manager `manager` would leave `live`
    unchanged (see the module doc). False whenever that cannot be shown."""
    meta = live.get("metadata")
    if not isinstance(meta, Mapping) or meta.get("deletionTimestamp"):
        return False
    fields = _applied_fields(meta, manager, str(manifest.get("apiVersion", "")))
    if fields is None:
        return False
    if any(manifest.get(k) != live.get(k) for k in _IDENTITY):
        return False
    body = {k: v for k, v in manifest.items() if k not in _IDENTITY}
    own_meta = body.get("metadata")
    if not isinstance(own_meta, Mapping):
        return False
    if any(own_meta.get(k, meta.get(k)) != meta.get(k) for k in _META_IDENTITY):
        return False
    body["metadata"] = {k: v for k, v in own_meta.items() if k not in _META_IDENTITY}
    if not body["metadata"]:
        del body["metadata"]
    if _is_secret(manifest):
        folded = _fold_string_data(body)
        if folded is None:
            return False
        body = folded
    return _map_matches(body, fields, live)


def _applied_fields(meta: Mapping[str, Any], manager: str, api_version: str) -> Any:
    """The fieldsV1 of `manager`'s one Apply entry of the main resource, or None."""
    found = [
        e
        for e in meta.get("managedFields") or ()
        if isinstance(e, Mapping)
        and e.get("manager") == manager
        and e.get("operation") == "Apply"
        and not e.get("subresource")
    ]
    if len(found) != 1:
        return None
    entry = found[0]
    if entry.get("apiVersion") != api_version or entry.get("fieldsType") != "FieldsV1":
        return None
    fields = entry.get("fieldsV1")
    return fields if isinstance(fields, Mapping) else None


def _is_secret(manifest: Manifest) -> bool:
    return manifest.get("kind") == "Secret" and manifest.get("apiVersion") == "v1"


def _fold_string_data(body: dict[str, Any]) -> dict[str, Any] | None:
    """A Secret's `stringData` is write-only: the server stores each value base64-encoded in
    `data` and keeps no `stringData`, while managedFields record `stringData`. Returns the body
    with `stringData` marked to be compared with `data` as the server stores it (None when the
    manifest sets a key in both, or a value that is not a string: a doubt)."""
    string_data = body.get("stringData")
    if string_data is None:
        return body
    if not isinstance(string_data, Mapping):
        return None
    data = body.get("data") or {}
    if not isinstance(data, Mapping) or set(data) & set(string_data):
        return None
    if not all(isinstance(v, str) for v in string_data.values()):
        return None
    encoded = {str(k): base64.b64encode(v.encode()).decode() for k, v in string_data.items()}
    return {**body, "stringData": _StoredIn("data", encoded)}


class _StoredIn:
    """A map of the manifest that the server stores under another field (a Secret's
    `stringData`, in `data`, base64): owned under its own name, compared where it is stored."""

    def __init__(self, field: str, values: dict[str, str]) -> None:
        self.field = field
        self.values = values

    def matches(self, fields: Any, live: Mapping[str, Any]) -> bool:
        stored = live.get(self.field)
        return (
            isinstance(fields, Mapping)
            and isinstance(stored, Mapping)
            and {k for k in fields if k != _SELF} == {"f:" + k for k in self.values}
            and not any(fields["f:" + k] for k in self.values)
            and all(_same(stored.get(k), v) for k, v in self.values.items())
        )


def _map_matches(config: Mapping[str, Any], fields: Mapping[str, Any], live: Any) -> bool:
    """A map of the manifest against kdeploy's fields of it and the live map."""
    if not isinstance(live, Mapping):
        return False
    owned = {k for k in fields if k != _SELF}
    config = {_json_key(k): v for k, v in config.items()}
    if owned != {"f:" + k for k in config}:
        return False  # a field the manifest no longer sets would be removed, or one is not ours
    for name, value in config.items():
        if isinstance(value, _StoredIn):
            if not value.matches(fields["f:" + name], live):
                return False
            continue
        if name not in live:
            return False
        if not _value_matches(value, fields["f:" + name], live[name]):
            return False
    return True


def _json_key(key: Any) -> str:
    """A map key as the manifest's JSON sends it (YAML 1.1 reads `on:` as the boolean true)."""
    if isinstance(key, str):
        return key
    return str(next(iter(json.loads(json.dumps({key: None})))))


def _value_matches(config: Any, fields: Any, live: Any) -> bool:
    if not isinstance(fields, Mapping):
        return False
    if config is None:
        return False  # a null in an applied manifest removes the field: leave it to the server
    if not fields:
        # a leaf, or a map or list owned as one value (atomic): the live value must be identical
        return _same(config, live)
    if isinstance(config, Mapping):
        return _map_matches(config, fields, live)
    if isinstance(config, list):
        return _list_matches(config, fields, live)
    return False  # a scalar with child fields: not a shape kdeploy understands


def _list_matches(config: list[Any], fields: Mapping[str, Any], live: Any) -> bool:
    """A list kdeploy owns item by item (`k:` keyed items, `v:` set members): the live list must
    hold exactly the manifest's items, in its order, each owned by kdeploy."""
    if not isinstance(live, list) or len(live) != len(config):
        return False
    items = {k: v for k, v in fields.items() if k != _SELF}
    if len(items) != len(config):
        return False
    used: set[str] = set()
    for want, have in zip(config, live, strict=True):
        entry = _entry_for(have, items)
        if entry is None or entry in used:
            return False
        used.add(entry)
        if entry.startswith("v:"):
            if items[entry] or not _same(want, have):
                return False
            continue
        key = json.loads(entry[2:])
        if not isinstance(want, Mapping) or not _key_fits(want, key):
            return False
        if not _map_matches(want, items[entry], have):
            return False
    return True


def _entry_for(item: Any, entries: Mapping[str, Any]) -> str | None:
    """The fields entry that names the live list item `item` (`k:{...}` by its key fields, or
    `v:<value>`), or None."""
    for entry in entries:
        if entry.startswith("v:"):
            try:
                value = json.loads(entry[2:])
            except ValueError:
                return None
            if _same(value, item):
                return entry
        elif entry.startswith("k:"):
            try:
                key = json.loads(entry[2:])
            except ValueError:
                return None
            if (
                isinstance(key, dict)
                and isinstance(item, Mapping)
                and all(k in item and _same(item[k], v) for k, v in key.items())
            ):
                return entry
        else:
            return None  # positional (`i:`) or unknown: a doubt
    return None


def _key_fits(item: Mapping[str, Any], key: Mapping[str, Any]) -> bool:
    """Whether a manifest list item has the key recorded for its live item: every key field it
    sets has the key's value; one it leaves out was defaulted by the server (a port's protocol)."""
    return all(_same(item[k], v) for k, v in key.items() if k in item)


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values, types included (True is not 1, 1 is not 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
