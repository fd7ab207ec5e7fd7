"""Whether a stored revision record can be trusted: HMAC signatures and field managers.

History is input: a rollback re-applies a revision's manifests with the deployer's credentials,
so a record forged by anyone who may create ConfigMaps in the namespace would be applied as if
kdeploy had written it. With a key configured (`KDEPLOY_HISTORY_KEY`, or the Secret named by
`KDEPLOY_HISTORY_KEY_SECRET`), every record kdeploy writes carries an HMAC-SHA256 over its
release, namespace, number, status, metadata (which holds the SHA-256 of the payload and of the
companion Secret's data) and state; a record without a valid one is not trusted. Without a key,
only the field managers of the record (`metadata.managedFields`) are checked, which catches
mistakes and careless forgery, not an attacker who claims kdeploy's field manager. See
docs/history.md, "Trust".

Everything here is pure except `history_key`, which may read one Secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Literal

from kdeploy.errors import HistoryError
from kdeploy.history.driver import Record
from kdeploy.secrets import HISTORY_KEY_ENV

KEY_SECRET_ENV = "KDEPLOY_HISTORY_KEY_SECRET"
KEY_SECRET_FIELD = "history-key"
SIGNATURE_FIELD = "signature"
SIGNATURE_PREFIX = "hmac-sha256:"
# Field managers that write history: kdeploy's own, and the kubernetes client's default
# (User-Agent `OpenAPI-Generator/...`), under which earlier kdeploy versions wrote records.
KDEPLOY_MANAGERS = frozenset({"kdeploy", "OpenAPI-Generator"})

Trust = Literal["verified", "invalid", "unsigned", "unchecked"]


def _canonical(record: Record, status: str, state: Mapping[str, str]) -> bytes:
    doc = {
        "v": 1,
        "release": record.release,
        "namespace": record.namespace,
        "number": record.number,
        "status": status,
        "meta": record.meta,
        "state": {k: v for k, v in state.items() if k != SIGNATURE_FIELD},
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def sign(key: bytes, record: Record, status: str, state: Mapping[str, str]) -> str:
    """The signature of `record` with `status` and `state` (its own signature field ignored)."""
    mac = hmac.new(key, _canonical(record, status, state), hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + mac


def signed_state(
    key: bytes | None, record: Record, status: str, state: Mapping[str, str]
) -> dict[str, str]:
    """`state` with the signature for `status` (without a key: with an empty signature, so that a
    signature of an earlier status never stays behind)."""
    out = {k: v for k, v in state.items() if k != SIGNATURE_FIELD}
    out[SIGNATURE_FIELD] = sign(key, record, status, out) if key is not None else ""
    return out


def verify(key: bytes | None, record: Record) -> Trust:
    """`verified` (signed with `key`), `invalid` (a signature that does not match), `unsigned`,
    or `unchecked` when there is no key."""
    if key is None:
        return "unchecked"
    given = record.state.get(SIGNATURE_FIELD, "")
    if not given:
        return "unsigned"
    expected = sign(key, record, record.status, record.state)
    return "verified" if hmac.compare_digest(given, expected) else "invalid"


def foreign_writers(writers: tuple[str, ...]) -> tuple[str, ...]:
    """The field managers among a record's `writers` other than kdeploy's."""
    return tuple(w for w in writers if w not in KDEPLOY_MANAGERS)


def distrust(trust: Trust, foreign: tuple[str, ...]) -> str:
    """Why a record with this verdict and these foreign writers is not trusted; "" when it is."""
    who = f"; written or changed by field manager {', '.join(foreign)}" if foreign else ""
    if trust == "invalid":
        return (
            f"its signature does not verify with the history key (changed outside kdeploy, "
            f"forged, or signed with another key){who}"
        )
    if trust == "unsigned":
        return f"it is not signed (written before the history key was set, or not by kdeploy){who}"
    if trust == "unchecked" and foreign:
        return (
            f"it was written or changed by field manager {', '.join(foreign)}, not by kdeploy "
            f"(set {HISTORY_KEY_ENV} to authenticate history)"
        )
    return ""


def history_key(env: Mapping[str, str], api_client: Any = None) -> bytes | None:
    """The key that signs and verifies history records: `KDEPLOY_HISTORY_KEY`, else the
    `history-key` field of the Secret `NAMESPACE/NAME` named by `KDEPLOY_HISTORY_KEY_SECRET`
    (read through `api_client`), else None. Raises HistoryError when both are set, or the Secret
    is named but cannot be read or has no such field."""
    direct = env.get(HISTORY_KEY_ENV, "")
    secret = env.get(KEY_SECRET_ENV, "")
    if direct and secret:
        raise HistoryError(
            f"both {HISTORY_KEY_ENV} and {KEY_SECRET_ENV} are set",
            hint="set only one of them",
        )
    if direct:
        return direct.encode()
    if not secret:
        return None
    namespace, _, name = secret.partition("/")
    if not namespace or not name or api_client is None:
        raise HistoryError(
            f"{KEY_SECRET_ENV}={secret!r} does not name a Secret as NAMESPACE/NAME",
            hint=f"e.g. {KEY_SECRET_ENV}=kdeploy-system/history-key",
        )
    return _read_key_secret(api_client, namespace, name)


def _read_key_secret(api_client: Any, namespace: str, name: str) -> bytes:
    import base64

    from kubernetes.client.exceptions import ApiException

    from kdeploy.history.corecalls import CoreCalls

    where = f"Secret {namespace}/{name} (named by {KEY_SECRET_ENV})"
    try:
        found = json.loads(CoreCalls(api_client).read_namespaced_secret(name, namespace).data)
    except ApiException as e:
        raise HistoryError(
            f"cannot read the history key from {where}: {e.status} {e.reason}",
            hint=f"create it with `kubectl create secret generic {name} -n {namespace} "
            f"--from-literal={KEY_SECRET_FIELD}=$(openssl rand -hex 32)` and let the deployer "
            "read it",
        ) from e
    value = (found.get("data") or {}).get(KEY_SECRET_FIELD, "")
    if not value:
        raise HistoryError(
            f"{where} has no field {KEY_SECRET_FIELD!r}",
            hint=f"store the key under data.{KEY_SECRET_FIELD}",
        )
    return base64.b64decode(value)
