"""Encrypted values files: a values file named `*.enc.yaml` is an age-encrypted (ASCII-armored)
YAML document, decrypted in memory when it is read (never written to disk in clear), its string
values then treated as secrets (redacted in diff, apply, history, errors).

Why age through `pyrage` (Rust bindings of the `rage` implementation, maintained, wheels for every
platform, no binary to install): the format is simple and audited, keys are one line (a masked CI
variable holds one), and one file can be encrypted to several recipients (each developer, CI). A
SOPS file encrypts values one by one and needs the SOPS tool or a Go library; kdeploy reads
whole-file age instead, which `age -d` and `rage -d` decrypt too.

The decryption key: KDEPLOY_AGE_KEY (the `AGE-SECRET-KEY-1...` line, e.g. a masked CI variable)
or KDEPLOY_AGE_KEY_FILE (a file of such lines, e.g. a GitLab File variable or `age-keygen -o`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from kdeploy.errors import KdeployError, ProjectError

SUFFIX = ".enc.yaml"
KEY_VAR = "KDEPLOY_AGE_KEY"
KEY_FILE_VAR = "KDEPLOY_AGE_KEY_FILE"
_ARMOR = "-----BEGIN AGE ENCRYPTED FILE-----"


def is_encrypted_name(path: Path | str) -> bool:
    """Whether a values file is an encrypted one, by its name (`*.enc.yaml`)."""
    return str(path).endswith(SUFFIX)


def _identity_lines(text: str) -> list[str]:
    return [
        line.strip() for line in text.splitlines() if line.strip().startswith("AGE-SECRET-KEY-")
    ]


def identities(environ: Mapping[str, str], what: str) -> list[Any]:
    """The age identities of KDEPLOY_AGE_KEY and KDEPLOY_AGE_KEY_FILE. Raises KdeployError
    naming `what` (the file to decrypt) and both variables when there is none, and the variable
    when its key is malformed (never the key itself)."""
    from pyrage import x25519

    found: list[tuple[str, str]] = []
    if environ.get(KEY_VAR):
        found += [(KEY_VAR, line) for line in _identity_lines(environ[KEY_VAR])]
    if environ.get(KEY_FILE_VAR):
        key_file = Path(environ[KEY_FILE_VAR])
        try:
            text = key_file.read_text(encoding="utf-8")
        except OSError as e:
            raise KdeployError(
                f"{what}: cannot read the key file {KEY_FILE_VAR}={key_file}: {e.strerror or e}"
            ) from None
        found += [(KEY_FILE_VAR, line) for line in _identity_lines(text)]
    if not found:
        raise KdeployError(
            f"{what} is encrypted and no age key is set: nothing was changed",
            hint=f"set {KEY_VAR} (an AGE-SECRET-KEY-1... line, a masked CI variable) or "
            f"{KEY_FILE_VAR} (a key file, e.g. a GitLab File variable)",
        )
    out = []
    for var, line in found:
        try:
            out.append(x25519.Identity.from_str(line))
        except Exception:  # pyrage raises its own error types; the key is never quoted
            raise KdeployError(f"{var}: not a valid age secret key (AGE-SECRET-KEY-1...)") from None
    return out


def recipients(given: Iterable[str], environ: Mapping[str, str]) -> list[Any]:
    """age recipients: those given (`age1...`), or else the public keys of the identities in the
    environment. Raises KdeployError naming a malformed recipient, or when there is none."""
    from pyrage import x25519

    out = []
    for text in given:
        try:
            out.append(x25519.Recipient.from_str(text.strip()))
        except Exception:
            raise KdeployError(f"{text!r} is not an age recipient (age1...)") from None
    if not out:
        out = [i.to_public() for i in identities(environ, "the file")]
    return out


def decrypt_text(path: Path, shown: str, environ: Mapping[str, str] | None = None) -> str:
    """The clear text of the encrypted file `path` (named `shown` in messages), in memory.
    Raises ProjectError when it cannot be read or is not age-armored, KdeployError when no key
    matches."""
    import pyrage

    env = os.environ if environ is None else environ
    try:
        armored = path.read_bytes()
    except FileNotFoundError:
        raise ProjectError(f"{shown}: file not found") from None
    except OSError as e:
        raise ProjectError(f"{shown}: cannot read: {e.strerror or e}") from None
    if _ARMOR.encode() not in armored[:200]:
        raise ProjectError(
            f"{shown}: a *.enc.yaml values file must be age-encrypted (ASCII armor, "
            f"'{_ARMOR}'); this one is not",
            hint=f"encrypt it with `kdeploy secrets encrypt {shown.removesuffix(SUFFIX)}.yaml "
            "-r age1...`",
        )
    keys = identities(env, shown)
    try:
        clear: bytes = bytes(pyrage.decrypt(armored, keys))
    except Exception as e:
        raise KdeployError(
            f"{shown}: cannot decrypt with the age key of {KEY_VAR}/{KEY_FILE_VAR}: "
            f"{type(e).__name__}: {e}; nothing was changed",
            hint="the file was encrypted to other recipients: ask someone who can decrypt it to "
            "re-encrypt it with this key's public key (`kdeploy secrets edit` keeps the file's "
            "recipients only when they are given with -r)",
        ) from None
    try:
        return clear.decode("utf-8")
    except UnicodeDecodeError:
        raise ProjectError(f"{shown}: the decrypted content is not UTF-8 text") from None


def encrypt_text(text: str, to: list[Any]) -> str:
    """`text` age-encrypted to the recipients `to`, ASCII-armored."""
    import pyrage

    armored: bytes = bytes(pyrage.encrypt(text.encode("utf-8"), to, armored=True))
    return armored.decode("ascii")


def load_encrypted_values(path: Path, shown: str) -> Any:
    """The parsed YAML of an encrypted values file (see decrypt_text). Syntax errors name the
    file and line, never quote its content."""
    from kdeploy.yamlio import load_user_text

    text = decrypt_text(path, shown)
    try:
        data: Any = load_user_text(text, shown)
        return data
    except KdeployError as e:
        # a YAML error may quote the line that failed: keep only where it is
        first = e.message.split(":", 3)
        raise ProjectError(":".join(first[:3]) + ": invalid YAML (content not shown)") from None


def string_leaves(data: Any) -> Iterator[str]:
    """Every string (and scalar, as text) value in `data`, for redacting an encrypted file's
    values."""
    if isinstance(data, Mapping):
        for v in data.values():
            yield from string_leaves(v)
    elif isinstance(data, list):
        for v in data:
            yield from string_leaves(v)
    elif isinstance(data, str | int | float) and not isinstance(data, bool):
        yield str(data)
