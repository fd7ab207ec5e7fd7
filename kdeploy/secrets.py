"""Which strings are secret, and how to keep them out of everything kdeploy stores or prints.

A string is secret when it ends up in `data` or `stringData` of a rendered Secret, or when the values
schema marks the value `writeOnly: true`. Secrets shorter than `MIN_SECRET_LENGTH` characters (the
empty string and single characters) are not redacted: replacing every "a" or "1" in a manifest would
destroy the output and hide nothing.

Every secret is replaced, also inside longer strings and in its base64 form (whole, or inside the
base64 of a longer text at any of the three byte alignments, e.g. a `Basic` auth header built from
`user:password`), by `<redacted:sha256:abcd1234>`: the first 8 hex digits of a keyed HMAC-SHA256 of
the secret, so that a diff can still show that a value changed without showing the value. The key
is derived from `KDEPLOY_HISTORY_KEY` when it is set (equal values give equal markers across runs),
else random per process (equal within one command's output only); either way, a marker cannot be
used to confirm a guessed password offline (docs/history.md).

Everything here is pure: plain dicts and lists in, new plain dicts and lists out.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

MIN_SECRET_LENGTH = 2
SECRET_KINDS = frozenset({("v1", "Secret")})
_FALLBACK_TOKEN = "<redacted>"

Manifest = dict[str, Any]


HISTORY_KEY_ENV = "KDEPLOY_HISTORY_KEY"
_DIGEST_CONTEXT = b"kdeploy secret digest v1"
_process_key: bytes | None = None


def digest_key(env: Mapping[str, str] | None = None) -> bytes:
    """The key of the secret digests: derived from KDEPLOY_HISTORY_KEY when set (a different key
    than the one that signs history records), else random, made once per process."""
    global _process_key
    configured = (os.environ if env is None else env).get(HISTORY_KEY_ENV, "")
    if configured:
        return hmac.new(configured.encode(), _DIGEST_CONTEXT, hashlib.sha256).digest()
    if _process_key is None:
        _process_key = os.urandom(32)
    return _process_key


def short_hash(secret: str | bytes) -> str:
    """The first 8 hex digits of the keyed HMAC-SHA256 of `secret` (UTF-8 when a str), see
    `digest_key`: equal secrets give equal digests, a guessed one cannot be confirmed offline."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(digest_key(), raw, hashlib.sha256).hexdigest()[:8]


def redaction_token(secret: str | bytes) -> str:
    """The placeholder that replaces `secret`: `<redacted:sha256:abcd1234>`."""
    return f"<redacted:sha256:{short_hash(secret)}>"


def is_secret_manifest(manifest: Mapping[str, Any]) -> bool:
    """True for a core v1 Secret."""
    return (manifest.get("apiVersion"), manifest.get("kind")) in SECRET_KINDS


def secret_data_values(manifest: Mapping[str, Any]) -> dict[str, str | bytes]:
    """The plain values of a Secret manifest by key: `data` decoded from base64 (text when it is
    UTF-8, else bytes), then `stringData` (which wins, as on the API server). Values that are not
    valid base64 are returned as they are, since the API server would reject them anyway."""
    out: dict[str, str | bytes] = {}
    for key, value in (manifest.get("data") or {}).items():
        if not isinstance(value, str):
            continue
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            out[str(key)] = value
            continue
        try:
            out[str(key)] = raw.decode()
        except UnicodeDecodeError:
            out[str(key)] = raw
    for key, value in (manifest.get("stringData") or {}).items():
        if isinstance(value, str):
            out[str(key)] = value
    return out


def collect_secret_strings(
    manifests: Iterable[Mapping[str, Any]],
    values: Any = None,
    schema: Mapping[str, Any] | None = None,
) -> set[str]:
    """All secret strings of a release: the plain values of every rendered Secret's `data` and
    `stringData` (binary data contributes its base64 text), and every scalar under a `writeOnly: true`
    schema node of `values`. Strings shorter than MIN_SECRET_LENGTH are left out."""
    found: set[str] = set()
    for manifest in manifests:
        if not is_secret_manifest(manifest):
            continue
        for key, plain in secret_data_values(manifest).items():
            if isinstance(plain, bytes):
                found.add(str((manifest.get("data") or {}).get(key, "")))
            else:
                found.add(plain)
        # A number written unquoted (`pin: 1234`) is refused by the API server, and the error
        # quotes it: it is still a secret.
        for field in ("data", "stringData"):
            for value in (manifest.get(field) or {}).values():
                if not isinstance(value, str):
                    found.update(_scalar_strings(value))
    if schema is not None and values is not None:
        found.update(_write_only_strings(values, schema, schema, depth=0))
    return {s for s in found if len(s) >= MIN_SECRET_LENGTH}


def values_secret_strings(package: Any, values: Any) -> set[str]:
    """The `writeOnly` strings of `values` for `package` (kdeploy.model.Package): under its own
    schema, and under each included dependency's schema for the values that dependency gets."""
    from kdeploy.dependencies import included_dependencies
    from kdeploy.errors import KdeployError

    found = collect_secret_strings((), values, package.schema)
    if not isinstance(values, dict):
        return found
    try:
        included = included_dependencies(package, values, "")
    except KdeployError:
        return found
    for item in included:
        found.update(collect_secret_strings((), item.values, item.dependency.package.schema))
    return found


def release_secret_strings(release: Any) -> set[str]:
    """All secret strings of a rendered release (kdeploy.model.RenderedRelease): those of
    `collect_secret_strings` (with every included dependency's `writeOnly` values) plus the values
    read from the environment's `secrets:` sources."""
    found = collect_secret_strings(o.manifest for o in release.objects)
    found.update(values_secret_strings(release.package, release.values))
    found.update(s for s in release.lookup_secrets if len(s) >= MIN_SECRET_LENGTH)
    found.update(s for s in release.secret_strings if len(s) >= MIN_SECRET_LENGTH)
    return found


def _write_only_strings(
    value: Any, node: Mapping[str, Any], root: Mapping[str, Any], depth: int
) -> Iterator[str]:
    # Depth bounds recursive $refs; values deeper than this are not a realistic values file.
    if depth > 64 or not isinstance(node, Mapping):
        return
    node = _resolve_ref(node, root)
    if node.get("writeOnly") is True:
        yield from _scalar_strings(value)
        return
    for combinator in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(combinator) or ():
            yield from _write_only_strings(value, sub, root, depth + 1)
    for branch in ("then", "else"):
        if isinstance(node.get(branch), Mapping):
            yield from _write_only_strings(value, node[branch], root, depth + 1)
    if isinstance(value, Mapping):
        yield from _object_write_only(value, node, root, depth)
    elif isinstance(value, list):
        yield from _array_write_only(value, node, root, depth)


def _object_write_only(
    value: Mapping[str, Any], node: Mapping[str, Any], root: Mapping[str, Any], depth: int
) -> Iterator[str]:
    properties = node.get("properties") or {}
    patterns = node.get("patternProperties") or {}
    additional = node.get("additionalProperties")
    for key, child in value.items():
        matched = False
        if key in properties:
            matched = True
            yield from _write_only_strings(child, properties[key], root, depth + 1)
        for pattern, sub in patterns.items():
            try:
                hit = re.search(pattern, str(key)) is not None
            except re.error:
                hit = False
            if hit:
                matched = True
                yield from _write_only_strings(child, sub, root, depth + 1)
        if not matched and isinstance(additional, Mapping):
            yield from _write_only_strings(child, additional, root, depth + 1)


def _array_write_only(
    value: list[Any], node: Mapping[str, Any], root: Mapping[str, Any], depth: int
) -> Iterator[str]:
    prefix = node.get("prefixItems") or []
    items = node.get("items")
    for index, child in enumerate(value):
        if index < len(prefix):
            yield from _write_only_strings(child, prefix[index], root, depth + 1)
        elif isinstance(items, Mapping):
            yield from _write_only_strings(child, items, root, depth + 1)
        elif isinstance(items, list) and index < len(items):  # draft-07 tuple form
            yield from _write_only_strings(child, items[index], root, depth + 1)


def _resolve_ref(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local `$ref` (`#/$defs/x`); other refs are left alone (not followed)."""
    seen: set[str] = set()
    while isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
        ref = node["$ref"]
        if ref in seen:
            break
        seen.add(ref)
        target: Any = root
        for part in ref.lstrip("#").strip("/").split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, Mapping) else None
        if not isinstance(target, Mapping):
            break
        merged = dict(target)
        merged.update({k: v for k, v in node.items() if k != "$ref"})
        node = merged
    return node


def _scalar_strings(value: Any) -> Iterator[str]:
    """Every scalar under `value` as text; booleans and None are never secret."""
    if isinstance(value, Mapping):
        for child in value.values():
            yield from _scalar_strings(child)
    elif isinstance(value, list):
        for child in value:
            yield from _scalar_strings(child)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)


class Redactor:
    """Replaces a fixed set of secrets (raw and base64-encoded, also inside longer strings).

    Build once per set of secrets and reuse: the pattern is compiled in the constructor."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: dict[str, str] = {}
        for secret in secrets:
            if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
                continue
            token = redaction_token(secret)
            forms.setdefault(secret, token)
            for encoded in _base64_forms(secret):
                forms.setdefault(encoded, token)
        self._forms = forms
        # Longest first, so a secret containing another secret is replaced whole.
        ordered = sorted(forms, key=lambda s: (-len(s), s))
        self._pattern = re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        """`text` with every secret replaced by its token. If a secret would still appear (it is a
        substring of a token, or spans a token's edge), the whole string becomes `<redacted>`, or ""
        as a last resort: the guarantee is that no secret survives."""
        if self._pattern is None or not text:
            return text
        out = self._pattern.sub(lambda m: self._forms[m.group(0)], text)
        if out == text or not self._leaks(out):
            return out
        return "" if self._leaks(_FALLBACK_TOKEN) else _FALLBACK_TOKEN

    def obj(self, obj: Any) -> Any:
        """A deep copy of `obj` (dicts, lists, scalars) with secrets replaced in every string,
        dict keys included."""
        if self._pattern is None:
            return copy.deepcopy(obj)
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, Mapping):
            return {self.text(k) if isinstance(k, str) else k: self.obj(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.obj(v) for v in obj]
        return obj

    def _leaks(self, text: str) -> bool:
        assert self._pattern is not None
        return self._pattern.search(text) is not None


# Base64 characters of a fragment shorter than this are not searched for: they would match by
# chance in any longer base64 text.
MIN_BASE64_FRAGMENT = 4


def _base64_forms(secret: str) -> list[str]:
    raw = secret.encode()
    forms = [base64.b64encode(raw).decode()]
    # Without padding too: the same bytes often appear unpadded inside longer tokens.
    if forms[0].endswith("=") and len(forms[0].rstrip("=")) >= MIN_BASE64_FRAGMENT:
        forms.append(forms[0].rstrip("="))
    forms += _shifted_base64(raw)
    forms += [f.replace("+", "-").replace("/", "_") for f in forms]  # URL-safe alphabet
    return list(dict.fromkeys(forms))


def shifted_base64_fragment(raw: bytes, shift: int) -> str:
    """The base64 characters that `raw` alone determines when it starts `shift` bytes (0, 1, 2)
    after a 3-byte group boundary inside a longer text: the characters mixing in bits of the
    bytes before or after it are left out."""
    encoded = base64.b64encode(b"\0" * shift + raw).decode()
    start = (0, 2, 3)[shift]
    end = (shift + len(raw)) // 3 * 4
    # the first character of a trailing partial group holds 6 bits of `raw` alone
    if (shift + len(raw)) % 3:
        end += 1
    return encoded[start:end] if end > start else ""


def _shifted_base64(raw: bytes) -> list[str]:
    """The secret's fragments inside the base64 of a longer text, at each byte alignment."""
    out = []
    for shift in range(3):
        fragment = shifted_base64_fragment(raw, shift)
        if len(fragment) >= MIN_BASE64_FRAGMENT:
            out.append(fragment)
    return out


def redact(obj: Any, secrets: Iterable[str]) -> Any:
    """A deep copy of `obj` with every secret string (raw or base64, also as a substring) replaced by
    `<redacted:sha256:abcd1234>` (see `short_hash`)."""
    return Redactor(secrets).obj(obj)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (raw or base64, also as a substring) replaced by its token."""
    return Redactor(secrets).text(text)


def secret_key_hashes(manifests: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """For every Secret manifest, its key names and the short hash of each plain value:
    `{"Secret shop/db": {"password": "abcd1234"}}`. Safe to store and print."""
    out: dict[str, dict[str, str]] = {}
    for manifest in manifests:
        if not is_secret_manifest(manifest):
            continue
        meta = manifest.get("metadata") or {}
        where = "/".join(str(p) for p in (meta.get("namespace"), meta.get("name", "")) if p)
        out[f"Secret {where}"] = {
            k: short_hash(v) for k, v in sorted(secret_data_values(manifest).items())
        }
    return out


def _redact_secret_manifest(manifest: Mapping[str, Any]) -> Manifest:
    """A Secret with each data/stringData value replaced by its token; key names are kept."""
    plain = secret_data_values(manifest)
    out: Manifest = copy.deepcopy(dict(manifest))
    for field in ("data", "stringData"):
        if isinstance(out.get(field), dict):
            out[field] = {
                k: redaction_token(plain.get(str(k), str(v))) for k, v in out[field].items()
            }
    return out


def split_secret_manifests(
    manifests: Iterable[Mapping[str, Any]], secret_strings: Iterable[str] = ()
) -> tuple[list[Manifest], dict[str, Any]]:
    """Split manifests for storage into what may be stored in plain sight and what must be kept secret.

    Returns `(redacted, payload)`: `redacted` has every Secret's values replaced by tokens (key names
    kept) and every other secret string redacted; `payload` (`{"objects": [{"index": i, "manifest":
    original}, ...]}`) holds the original of each manifest that was changed, which is what a rollback
    needs to re-apply them. `restore(redacted, payload)` gives back the originals."""
    redactor = Redactor(secret_strings)
    redacted: list[Manifest] = []
    originals: list[dict[str, Any]] = []
    for index, manifest in enumerate(manifests):
        if is_secret_manifest(manifest):
            stored = redactor.obj(_redact_secret_manifest(manifest))
        else:
            stored = redactor.obj(manifest)
        if stored != manifest:
            originals.append({"index": index, "manifest": copy.deepcopy(dict(manifest))})
        redacted.append(stored)
    return redacted, {"objects": originals}


def restore(redacted: Iterable[Mapping[str, Any]], payload: Mapping[str, Any]) -> list[Manifest]:
    """The original manifests from `split_secret_manifests`' output. Raises ValueError when the
    payload does not belong to these manifests (an index is out of range)."""
    out: list[Manifest] = [copy.deepcopy(dict(m)) for m in redacted]
    for entry in payload.get("objects") or ():
        index = entry.get("index")
        original = entry.get("manifest")
        if (
            not isinstance(index, int)
            or not 0 <= index < len(out)
            or not isinstance(original, dict)
        ):
            raise ValueError(f"secret payload entry {index!r} does not match the stored manifests")
        out[index] = copy.deepcopy(original)
    return out
