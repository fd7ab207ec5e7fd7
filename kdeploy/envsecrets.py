"""The `secrets:` section of environment files: values read from CI variables and files.

An entry maps a values path (the --set path syntax) to a source, `{env: VAR}` or `{file: PATH}`,
with `required` (default true). Parsing (`parse_secrets`) is pure and checks the shape, naming the
environment file and line; `resolve_secrets` reads the sources from an environment mapping and the
file system. A value read from a secret source is never printed: messages name the environment
file, the values path and the variable or file only. Docs: docs/values.md ("Secrets").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdeploy.errors import KdeployError, ProjectError
from kdeploy.values import PathSegment, parse_set_path

_SOURCE_KEYS = ("env", "file", "required")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VAR_REF = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
# The start of every placeholder (SecretSource.placeholder): lint checks a missing secret's type
# and presence with it, not its content (pattern, length, format), which only the real value has.
PLACEHOLDER_PREFIX = "<secret not available: "
SECRETS_HINT = (
    "each entry is `PATH: {env: VARIABLE}` or `PATH: {file: FILE}`, optionally with "
    "`required: false`; PATH uses the --set syntax (a.b[0].c); see docs/values.md"
)


@dataclass(frozen=True)
class SecretSource:
    """One `secrets:` entry: where its value comes from and where it goes."""

    path: str  # the values path as written
    segments: tuple[PathSegment, ...]
    env: str | None
    file: str | None
    required: bool
    where: str  # `environments/prod.yaml: releases.web.secrets.tls.key`, for messages
    base_dir: Path  # a relative `file:` is relative to the environment file's directory

    def describe(self) -> str:
        """`variable DB_PASSWORD` or `file $TLS_KEY_FILE` (as written; never the value)."""
        return f"variable {self.env}" if self.env is not None else f"file {self.file}"

    def placeholder(self) -> str:
        """What stands in for the value when it is not available (lint, render --redact-secrets)."""
        kind = f"env {self.env}" if self.env is not None else f"file {self.file}"
        return f"{PLACEHOLDER_PREFIX}{kind}>"


@dataclass(frozen=True)
class Missing:
    """A secret whose source gave no value, and why (naming the variable or file, never a value)."""

    source: SecretSource
    reason: str

    def describe(self) -> str:
        return f"{self.source.where} ({self.reason})"


@dataclass(frozen=True)
class ResolvedSecrets:
    """The secrets of one release: assignments to make (in order), the secret strings among them
    and the sources that gave no value."""

    assignments: tuple[tuple[tuple[PathSegment, ...], str], ...]
    strings: frozenset[str]
    missing: tuple[Missing, ...]


def parse_secrets(
    raw: Any, shown: str, where: str, text_path: tuple[str, ...], env_file: Path
) -> dict[tuple[PathSegment, ...], SecretSource | None]:
    """The entries of a `secrets:` mapping found at `where` (`secrets`, `releases.web.secrets`) of
    the environment file `env_file` (`shown` in messages), keyed by parsed path; an entry set to null
    is kept as None (it removes an inherited secret). `text_path` are the YAML keys leading to the
    mapping, to name the line of a bad entry. Raises ProjectError naming file:line."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ProjectError(
            f"{_at(shown, env_file, text_path)}: {where} must be a mapping", hint=SECRETS_HINT
        )
    out: dict[tuple[PathSegment, ...], SecretSource | None] = {}
    for key, spec in raw.items():
        path = str(key)
        entry = f"{where}.{path}"
        try:
            if "=" in path:
                raise ProjectError(f"{entry}: invalid values path {path!r}: '=' is not allowed")
            try:
                segments = tuple(parse_set_path(f"{path}=x", as_string=True)[0])
            except KdeployError as e:
                why = e.message.split(": ", 1)[-1]
                raise ProjectError(f"{entry}: invalid values path {path!r}: {why}") from None
            out[segments] = (
                None if spec is None else _source(spec, path, segments, entry, shown, env_file)
            )
        except ProjectError as e:
            # the line is looked up only now: finding it reads the file again
            raise ProjectError(
                f"{_at(shown, env_file, (*text_path, path))}: {e.message}",
                hint=e.hint or SECRETS_HINT,
            ) from None
    return out


def _source(
    spec: Any, path: str, segments: tuple[PathSegment, ...], where: str, shown: str, env_file: Path
) -> SecretSource:
    if not isinstance(spec, dict):
        raise ProjectError(
            f"{where}: must be a mapping such as {{env: VARIABLE}} or {{file: FILE}}"
        )
    for name in spec:
        if name not in _SOURCE_KEYS:
            raise ProjectError(
                f"{where}: unknown key {name!r}",
                hint=f"allowed keys: {', '.join(_SOURCE_KEYS)}; encrypted files are not supported",
            )
    env, file = spec.get("env"), spec.get("file")
    if (env is None) == (file is None):
        raise ProjectError(
            f"{where}: give exactly one of `env` and `file`"
            + (" (both are given)" if env is not None else ""),
            hint=SECRETS_HINT,
        )
    if env is not None and (not isinstance(env, str) or not _VAR_NAME.match(env)):
        raise ProjectError(
            f"{where}: env must be a variable name (letters, digits, '_'), not {env!r}",
            hint="write the name without `$`, e.g. `env: DB_PASSWORD`",
        )
    if file is not None and (not isinstance(file, str) or not file):
        raise ProjectError(f"{where}: file must be a non-empty path", hint=SECRETS_HINT)
    required = spec.get("required", True)
    if not isinstance(required, bool):
        raise ProjectError(f"{where}: required must be true or false, not {required!r}")
    return SecretSource(
        path=path,
        segments=segments,
        env=env,
        file=file,
        required=required,
        where=f"{shown}: {where}",
        base_dir=env_file.parent,
    )


def _at(shown: str, env_file: Path, keys: tuple[str, ...]) -> str:
    """`shown:LINE` for the entry reached by `keys` in the YAML file (just `shown` when it cannot
    be found). Only called on the error path: it reads the file again, keeping marks."""
    import yaml

    try:
        text = env_file.read_text(encoding="utf-8")
        node: Any = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return shown
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            break
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                line, node = k.start_mark.line + 1, v
                break
        else:
            break
    return f"{shown}:{line}" if line is not None else shown


def resolve_secrets(
    sources: tuple[SecretSource, ...], environ: Mapping[str, str]
) -> ResolvedSecrets:
    """Read each source: an environment variable, or a file whose name may hold `$VAR`/`${VAR}`
    (expanded from `environ`). A variable unset or empty, or a file missing, empty or unreadable,
    is missing. Never raises for a missing source: the caller decides (see ResolvedSecrets.missing)."""
    assignments = []
    strings = set()
    missing = []
    for source in sources:
        value, reason = _read(source, environ)
        if value is None:
            missing.append(Missing(source=source, reason=reason))
            continue
        assignments.append((source.segments, value))
        strings.add(value)
    return ResolvedSecrets(
        assignments=tuple(assignments), strings=frozenset(strings), missing=tuple(missing)
    )


def _read(source: SecretSource, environ: Mapping[str, str]) -> tuple[str | None, str]:
    if source.env is not None:
        value = environ.get(source.env, "")
        return (value, "") if value else (None, f"variable {source.env} is not set or empty")
    assert source.file is not None
    unset = [a or b for a, b in _VAR_REF.findall(source.file) if not environ.get(a or b)]
    if unset:
        return None, f"file {source.file}: variable {unset[0]} is not set or empty"
    name = _VAR_REF.sub(lambda m: environ[m.group(1) or m.group(2)], source.file)
    path = Path(name).expanduser()
    if not path.is_absolute():
        path = source.base_dir / path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, f"file {source.file} ({path}) not found"
    except UnicodeDecodeError:
        return None, f"file {source.file} ({path}) is not UTF-8 text"
    except OSError as e:
        return None, f"file {source.file} ({path}) cannot be read: {e.strerror or e}"
    # like an empty variable: an empty secret is never what a job meant to deploy
    return (text, "") if text else (None, f"file {source.file} ({path}) is empty")


def missing_error(environment: str, missing: tuple[Missing, ...]) -> KdeployError:
    """The error for required secrets that gave no value: one line each, no value."""
    lines = "\n".join(f"  - {m.describe()}" for m in missing)
    return KdeployError(
        f"environment {environment}: required secrets are not available:\n{lines}",
        hint="set the CI variable (or File variable) for this job, mark the entry "
        "`required: false`, or render offline with `kdeploy render --redact-secrets`",
    )
