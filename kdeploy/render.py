"""Render a release: a package's Jinja2 templates with merged values -> ordered, stamped manifests.

Templates run in Jinja2's immutable sandbox (a package written by someone else must not run code on a
CI runner that holds cluster credentials), with strict undefined values, `trim_blocks` and
`lstrip_blocks`. The only files a template can read are the package's own: templates through the
loader, static files through `files.get()`, both confined to the package. Each rendered document is
parsed once with the libyaml loader and checked, then namespaced and stamped with ownership labels.
Docs: docs/package-format.md.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
import yaml
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from kdeploy.capabilities import Capabilities
from kdeploy.capabilities import offline as offline_capabilities
from kdeploy.confine import escape_target
from kdeploy.errors import KdeployError, RenderError
from kdeploy.hooks import parse_hook
from kdeploy.lookup import Lookup, LookupFailure
from kdeploy.model import Manifest, Package, ReleaseSpec, RenderedObject, RenderedRelease, Values
from kdeploy.resources import api_group, crd_scopes, install_order, is_namespaced, stamp_ownership
from kdeploy.validate import describe, manifest_problems, metadata_problems
from kdeploy.valuereads import TrackedValues, ValueReads
from kdeploy.yamlblock import NotBlockTree
from kdeploy.yamlio import dump_block, dump_fast, load_all_fast

TEMPLATES_DIR = "templates"
NOTES_TEMPLATE = "NOTES.j2"
FILES_DIR = "files"
_TEMPLATE_SUFFIXES = (".yaml", ".yml")
# Characters that JSON leaves raw but YAML forbids or reads as line breaks inside a quoted scalar.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")
_UNDEFINED_NAME = re.compile(r"(?:has no (?:attribute|element) |^)'?([^']+)'?(?: is undefined)?$")


class _TemplateFailure(Exception):
    """Raised by filters and `files` while a template runs; reported with the template location."""


class _StrictChainableUndefined(jinja2.ChainableUndefined, jinja2.StrictUndefined):
    """Any use of a missing value fails, but `values.a.b is defined` and `values.a.b | default(x)`
    work even when `values.a` is missing."""


def _finalize(value: Any) -> Any:
    # `key: {{ values.x }}` with x null must stay null in YAML, not become the string "None".
    return "" if value is None else value


def _check_defined(value: Any) -> None:
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()


def _yaml_safe(text: str) -> str:
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _plain(value: Any) -> Any:
    """`value` with Jinja's Markup strings turned into plain ones, so YAML and JSON take it."""
    if isinstance(value, str) and type(value) is not str:
        return str(value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def toyaml(value: Any, indent: int = 0, first: bool = False) -> str:
    """`value` as block YAML without a trailing newline. Lines after the first are indented by
    `indent` spaces (the first too when `first`), like Jinja's `indent` filter, so the block lines up
    under the column where the expression starts: `  key:\\n    {{ v | toyaml(indent=4) }}`."""
    _check_defined(value)
    if type(value) is TrackedValues:
        value = value.copy()  # records that the whole mapping was read; what it holds is plain
    try:
        text = dump_block(value)  # plain data, the common case: no copy needed
    except NotBlockTree:
        text = dump_fast(_plain(value))  # Markup strings, tuples, tracked mappings inside
    if text.endswith("\n...\n"):
        text = text[:-4]
    lines = text.rstrip("\n").split("\n")
    pad = " " * indent
    out = [pad + lines[0] if first and lines[0] else lines[0]]
    out.extend(pad + line if line else line for line in lines[1:])
    return "\n".join(out)


def tojson(value: Any, indent: int | None = None) -> str:
    """`value` as JSON, which is also valid inline YAML (`key: {{ v | tojson }}`)."""
    _check_defined(value)
    return _yaml_safe(json.dumps(_plain(value), ensure_ascii=False, indent=indent))


def quote(value: Any) -> str:
    """`value` as a double-quoted YAML string with everything escaped: `{{ v | quote }}` is always a
    string, whatever `v` holds (`true`, `1.10`, `a: b`, quotes, newlines). null gives ""."""
    _check_defined(value)
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    return _yaml_safe(json.dumps(text, ensure_ascii=False))


def _text_bytes(value: Any) -> bytes:
    """Bytes as they are, anything else as its text in UTF-8; null is empty text (never "None")."""
    if isinstance(value, bytes):
        return value
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"true" if value else b"false"
    return str(value).encode("utf-8")


def b64encode(value: Any) -> str:
    """Base64 of `value` (text is encoded as UTF-8; null is empty)."""
    _check_defined(value)
    return base64.b64encode(_text_bytes(value)).decode("ascii")


def b64decode(value: Any) -> str:
    """The UTF-8 text that the base64 string `value` encodes."""
    _check_defined(value)
    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError) as e:
        raise _TemplateFailure(f"b64decode: not base64 of UTF-8 text: {e}") from None


def sha256(value: Any) -> str:
    """Hex SHA-256 of `value`: text as UTF-8, a mapping or list as its canonical JSON (sorted keys),
    so `{{ values.config | sha256 }}` changes exactly when the config does."""
    _check_defined(value)
    if isinstance(value, (dict, list, tuple)):
        data = json.dumps(_plain(value), sort_keys=True, separators=(",", ":")).encode("utf-8")
    else:
        data = _text_bytes(value)
    return hashlib.sha256(data).hexdigest()


def required(value: Any, message: str = "a required value is missing") -> Any:
    """`value` itself; fails the render with `message` when it is undefined, null or empty."""
    if isinstance(value, jinja2.Undefined) or value is None:
        raise _TemplateFailure(message)
    if isinstance(value, (str, list, dict)) and not value:
        raise _TemplateFailure(message)
    return value


FILTERS = {
    "toyaml": toyaml,
    "tojson": tojson,
    "quote": quote,
    "b64encode": b64encode,
    "b64decode": b64decode,
    "sha256": sha256,
    "required": required,
}


class PackageFiles:
    """`files` in templates: read-only access to the package's files/ directory."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _resolve(self, name: Any) -> Path:
        if not isinstance(name, str) or not name:
            raise _TemplateFailure(f"files: a file name must be a non-empty string, not {name!r}")
        root = self._root.resolve()
        path = root / name
        if escape_target(path, root) is not None:
            raise _TemplateFailure(
                f"files.get({name!r}): the path escapes the package's {FILES_DIR}/ directory; "
                f"templates can read only files inside it"
            )
        return path.resolve()

    def get(self, name: str) -> str:
        """The text of files/<name>. Fails the render when the file is missing, is outside files/
        or is not UTF-8."""
        path = self._resolve(name)
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise _TemplateFailure(f"files.get({name!r}): no such file in {FILES_DIR}/") from None
        except UnicodeDecodeError:
            raise _TemplateFailure(
                f"files.get({name!r}): not UTF-8 text; use files.get_bytes() with b64encode"
            ) from None
        except OSError as e:
            raise _TemplateFailure(f"files.get({name!r}): {e.strerror or e}") from None

    def get_bytes(self, name: str) -> bytes:
        """The bytes of files/<name> (for binary files, with `b64encode`)."""
        path = self._resolve(name)
        try:
            return path.read_bytes()
        except OSError as e:
            raise _TemplateFailure(f"files.get_bytes({name!r}): {e.strerror or e}") from None

    def exists(self, name: str) -> bool:
        """Whether files/<name> exists."""
        return self._resolve(name).is_file()


class _PackageLoader(jinja2.BaseLoader):
    """Templates from the package's templates/, and `"alias:file.j2"` from the templates/ of a
    package it declares as a dependency (kdeploy.dependencies.import_roots). Any template that
    resolves outside its package is refused (a symlink to ~/.kube/config must not be included
    into a manifest)."""

    def __init__(self, package: Package) -> None:
        from kdeploy.dependencies import import_roots

        self._package = package
        self._roots = import_roots(package)

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        alias, sep, name = template.partition(":")
        package = self._package
        if sep:
            found = self._roots.get(alias)
            if found is None:
                declared = ", ".join(sorted(self._roots)) or "none"
                raise _TemplateFailure(
                    f"template {template!r}: {alias!r} is not a dependency of package "
                    f"{package.name} (its dependencies: {declared}); declare it under "
                    f"`dependencies:` in packages/{package.name}/package.yaml"
                )
            package = found
        else:
            name = template
        loader = jinja2.FileSystemLoader(str(package.path / TEMPLATES_DIR))
        source, filename, uptodate = loader.get_source(environment, name)
        target = escape_target(Path(filename), package.path)
        if target is not None:
            raise _TemplateFailure(
                f"template {template!r} resolves outside the package directory "
                f"packages/{package.path.name} (it links to {target}); templates can only "
                "use files inside their package"
            )
        return source, filename, uptodate


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, where a template of a dependency (`common:helpers.j2`) that imports a bare
    name (`"_base.j2"`) gets the file of its own package (`common:_base.j2`)."""

    def join_path(self, template: str, parent: str) -> str:
        alias, sep, _ = parent.partition(":")
        if sep and ":" not in template:
            return f"{alias}:{template}"
        return template


class _SafeBytecodeCache(jinja2.FileSystemBytecodeCache):
    """A bytecode cache that never fails a render: an unreadable or unwritable cache is skipped."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def default_cache_dir() -> Path | None:
    """Where compiled templates are cached: $KDEPLOY_CACHE_DIR, else $XDG_CACHE_HOME/kdeploy/jinja,
    else ~/.cache/kdeploy/jinja. None when KDEPLOY_NO_CACHE is set."""
    if os.environ.get("KDEPLOY_NO_CACHE"):
        return None
    explicit = os.environ.get("KDEPLOY_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kdeploy" / "jinja"


def make_bytecode_cache(directory: Path | None) -> jinja2.BytecodeCache | None:
    """A bytecode cache in `directory` (created private to this user), or None when there is no
    directory, it cannot be created, or someone else could write to it (cached code is loaded and
    run, so a shared writable cache would let another user inject code)."""
    if directory is None:
        return None
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = directory.stat()
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    if not os.access(directory, os.W_OK | os.X_OK):
        return None
    return _SafeBytecodeCache(str(directory), "kdeploy-%s.cache")


def _template_location(
    tb: TracebackType | None, templates_dirs: tuple[Path, ...]
) -> tuple[Path, int] | None:
    """The innermost template frame of a render traceback (Jinja rewrites the frames of compiled
    templates to their template file and line)."""
    prefixes = tuple(str(d) + os.sep for d in templates_dirs)
    found = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(prefixes):
            found = (Path(filename), tb.tb_lineno)
        tb = tb.tb_next
    return found


def _excerpt(text: str, line: int, radius: int = 2) -> str:
    """Lines around 1-based `line` of `text`, numbered, the line itself marked with '>'."""
    lines = text.split("\n")
    start, end = max(1, line - radius), min(len(lines), line + radius)
    width = len(str(end))
    return "\n".join(
        f"  {'>' if n == line else ' '} {n:>{width}} | {lines[n - 1]}"
        for n in range(start, end + 1)
    )


def _undefined_expression(message: str, source_line: str) -> str:
    """The name a template used that is undefined, as written (values.image.tag) when the line
    shows it, else the bare name Jinja reports."""
    m = _UNDEFINED_NAME.search(message)
    if not m:
        return message
    name = m.group(1)
    ref = re.search(
        r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*|\[[^\]]*\])*?(?:\."
        + re.escape(name)
        + r"|\[['\"]"
        + re.escape(name)
        + r"['\"]\])(?![\w])",
        source_line,
    )
    return ref.group(0) if ref else name


class PackageTemplates:
    """The templates of one package in one Jinja environment, compiled once and reused for every
    release of the package."""

    def __init__(
        self, package: Package, bytecode_cache: jinja2.BytecodeCache | None = None
    ) -> None:
        from kdeploy.dependencies import import_roots

        self.package = package
        self.templates_dir = (package.path / TEMPLATES_DIR).resolve()
        self.display_root = f"packages/{package.path.name}"
        # where each template this package can use lives, and how messages name that directory
        self._roots = {self.templates_dir: self.display_root}
        for dep in import_roots(package).values():
            self._roots.setdefault(
                (dep.path / TEMPLATES_DIR).resolve(), f"packages/{dep.path.name}"
            )
        self._bytecode_cache = bytecode_cache
        self._dependencies: dict[str, PackageTemplates] = {}
        env = _Sandbox(
            loader=_PackageLoader(package),
            undefined=_StrictChainableUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            autoescape=False,
            finalize=_finalize,
            bytecode_cache=bytecode_cache,
            # templates do not change during a run: no stat() of each file on every render
            auto_reload=False,
        )
        env.filters.update(FILTERS)
        self.env = env
        self.names = self._manifest_templates()
        self.has_notes = (self.templates_dir / NOTES_TEMPLATE).is_file()
        self.shown = {name: self.display(self.templates_dir / name) for name in self.names}
        self._mentioned: frozenset[tuple[str | int, ...]] | None = None

    def _manifest_templates(self) -> tuple[str, ...]:
        if self.package.is_library or not self.templates_dir.is_dir():
            return ()
        return tuple(
            sorted(
                p.name
                for p in self.templates_dir.iterdir()
                if p.is_file() and p.suffix in _TEMPLATE_SUFFIXES and not p.name.startswith("_")
            )
        )

    def dependency(self, package: Package) -> PackageTemplates:
        """The templates of `package`, a dependency of this one, compiled once."""
        found = self._dependencies.get(package.name)
        if found is None:
            found = self._dependencies[package.name] = PackageTemplates(
                package, self._bytecode_cache
            )
        return found

    def mentioned_values(self) -> frozenset[tuple[str | int, ...]]:
        """The value paths that any template of the package (macro libraries too) names in its
        source (kdeploy.valuereads.mentioned_values). A template that does not parse names
        none: rendering reports it."""
        if self._mentioned is None:
            from kdeploy.valuereads import mentioned_values

            parsed = []
            if self.templates_dir.is_dir():
                for path in sorted(self.templates_dir.rglob("*")):
                    if not path.is_file() or escape_target(path, self.package.path) is not None:
                        continue
                    try:
                        parsed.append(self.env.parse(path.read_text(encoding="utf-8")))
                    except (OSError, UnicodeDecodeError, jinja2.TemplateSyntaxError):
                        continue
            self._mentioned = frozenset(mentioned_values(parsed))
        return self._mentioned

    def display(self, path: Path) -> str:
        """A template path as messages show it: packages/<pkg>/templates/<file>."""
        resolved = path.resolve()
        for root, shown in self._roots.items():
            if resolved.is_relative_to(root):
                return f"{shown}/{TEMPLATES_DIR}/{resolved.relative_to(root)}"
        return str(path)

    def _fail(self, name: str, exc: BaseException, what: str) -> RenderError:
        shown = self.display(self.templates_dir / name)
        loc = _template_location(exc.__traceback__, tuple(self._roots))
        if loc is None:
            return RenderError(f"{shown}: {what}")
        path, line = loc
        where = f"{self.display(path)}:{line}"
        context = f" (while rendering {shown})" if self.display(path) != shown else ""
        try:
            source_line = path.read_text(encoding="utf-8").split("\n")[line - 1].strip()
        except (OSError, IndexError, UnicodeDecodeError):
            source_line = ""
        shown_line = f"\n  {line} | {source_line}" if source_line else ""
        if isinstance(exc, jinja2.UndefinedError):
            helm = self._undefined_helm_hint(str(exc.message or exc), path, source_line)
            if helm is not None:
                problem, hint = helm
                return RenderError(f"{where}: {problem}{context}{shown_line}", hint=hint)
            name_used = _undefined_expression(str(exc.message or exc), source_line)
            return RenderError(
                f"{where}: undefined value {name_used} ({exc.message}){context}{shown_line}",
                hint="set it in values.yaml, the environment, -f or --set; or guard it with "
                "`is defined` or `| default(...)`",
            )
        return RenderError(f"{where}: {what}{context}{shown_line}")

    def _undefined_helm_hint(
        self, message: str, path: Path, source_line: str
    ) -> tuple[str, str] | None:
        """(problem, hint) for an undefined name that is no missing value: a macro the imported
        library does not define, or a Helm function (`toYaml x`). None otherwise."""
        from kdeploy.templatehints import function_hint, missing_macro

        macro = missing_macro(message)
        if macro is not None:
            alias_match = re.search(
                r"([A-Za-z_]\w*)\s*\.\s*" + re.escape(macro) + r"\b", source_line
            )
            alias = alias_match.group(1) if alias_match else "the imported template"
            library, defined = self._imported_macros(path, alias)
            from kdeploy.unused import nearest

            guess = nearest((macro,), {(m,) for m in defined})
            problem = f"{alias} ({library}) has no macro {macro!r}"
            if guess is not None:
                problem += f"; did you mean {alias}.{guess[0]}?"
            listed = ", ".join(defined) or "none"
            return problem, f"macros defined in {library}: {listed}"
        m = re.match(r"'([A-Za-z_]\w*)' is undefined", message)
        hint = function_hint(m.group(1)) if m else None
        if m is None or hint is None:
            return None
        return f"{m.group(1)!r} is not defined in kdeploy templates", hint

    def _imported_macros(self, path: Path, alias: str) -> tuple[str, list[str]]:
        """(the template that `path` imports as `alias`, the macros it defines); ("the imported
        template", []) when that cannot be told."""
        from jinja2 import nodes

        try:
            tree = self.env.parse(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, jinja2.TemplateSyntaxError):
            return "the imported template", []
        for node in tree.find_all(nodes.Import):
            if node.target == alias and isinstance(node.template, nodes.Const):
                name = str(node.template.value)
                try:
                    source, _, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
                    macros = [m.name for m in self.env.parse(source).find_all(nodes.Macro)]
                except Exception:  # only for a hint; the error is reported anyway
                    return name, []
                return name, sorted(macros)
        return "the imported template", []

    def _syntax_error(self, name: str, e: jinja2.TemplateSyntaxError) -> RenderError:
        """A syntax error with its line, and for a Helm habit the kdeploy spelling; for a block
        that is never closed (or closed by the wrong end tag), the line that opens it."""
        from kdeploy.templatehints import filter_hint, syntax_hint, unclosed_block

        path = Path(e.filename) if e.filename else self.templates_dir / name
        shown = self.display(path)
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            source = e.source or ""
        lines = source.split("\n")
        line = e.lineno
        message = e.message or str(e)
        at_end = message.startswith("Unexpected end of template")
        if at_end or "probably made a nesting mistake" in message:
            found = unclosed_block(self.env, source, None if at_end else line)
            if found is not None:
                tag, opened = found
                closer = re.search(r"unknown tag '(\w+)'", message)
                after = (
                    f"the template ends at line {line}"
                    if at_end or closer is None
                    else f"`{{% {closer.group(1)} %}}` at line {line} comes first"
                )
                return RenderError(
                    f"{shown}:{opened}: template syntax error: `{{% {tag} %}}` is never closed ({after})"
                    + _shown_line(lines, opened),
                    hint=f"add `{{% end{tag} %}}` where the {tag} block ends",
                )
        hint = None
        m = re.match(r"No filter named '([^']+)'", message)
        if m:
            hint = filter_hint(m.group(1), self.env.filters)
        elif 0 < line <= len(lines):
            hint = syntax_hint(message, lines[line - 1])
        return RenderError(
            f"{shown}:{line}: template syntax error: {message}" + _shown_line(lines, line),
            hint=hint,
        )

    def _not_found(self, template: str) -> str:
        alias, sep, name = template.partition(":")
        if sep:
            from kdeploy.dependencies import import_roots

            dep = import_roots(self.package).get(alias)
            where = f"packages/{dep.path.name}" if dep is not None else alias
            return f"template {name!r} not found in {where}/{TEMPLATES_DIR}/ (as {template!r})"
        return f"template {template!r} not found in {self.display_root}/{TEMPLATES_DIR}/"

    def render_text(self, name: str, context: dict[str, Any]) -> str:
        """The text of template `name` rendered with `context`. Raises RenderError naming the
        template file and line for syntax errors, undefined values, sandbox violations and failed
        filters."""
        try:
            return self.env.get_template(name).render(context)
        except jinja2.TemplateSyntaxError as e:
            raise self._syntax_error(name, e) from None
        except jinja2.UndefinedError as e:
            raise self._fail(name, e, f"undefined value ({e.message})") from None
        except SecurityError as e:
            raise self._fail(
                name, e, f"blocked by the template sandbox: {e.message or e}"
            ) from None
        except jinja2.TemplateNotFound as e:
            raise self._fail(name, e, self._not_found(str(e.name))) from None
        except (_TemplateFailure, LookupFailure) as e:
            raise self._fail(name, e, str(e)) from None
        except RecursionError as e:
            raise self._fail(name, e, "recursion too deep") from None
        except KdeployError:
            raise  # from what a template asked of kdeploy (kube: the cluster), not the template
        except Exception as e:  # a template is user code: any failure in it is a user error
            raise self._fail(name, e, f"{type(e).__name__}: {e}") from None


def _shown_line(lines: list[str], line: int) -> str:
    """`\n  12 | <the line>` for 1-based `line` of `lines`, or '' when it is out of range or
    blank."""
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return f"\n  {line} | {text}" if text else ""


def _parse_documents(text: str, shown: str) -> list[Any]:
    try:
        return load_all_fast(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = (e.problem or e.context or "invalid YAML").strip()
        if mark is None:
            raise RenderError(
                f"{shown}: the rendered output is not valid YAML: {problem}"
            ) from None
        line = mark.line + 1
        raise RenderError(
            f"{shown}: the rendered output is not valid YAML at rendered line {line}, column "
            f"{mark.column + 1}: {problem}\n{_excerpt(text, line)}",
            hint="check the indentation that the template produces (toyaml/indent arguments) "
            "and quote values with `| quote`",
        ) from None
    except yaml.YAMLError as e:
        raise RenderError(f"{shown}: the rendered output is not valid YAML: {e}") from None


def _render_documents(
    parts: list[tuple[PackageTemplates, dict[str, Any]]],
) -> list[tuple[str, dict[str, Any]]]:
    """(template display name, document) for every non-empty document of every template of each
    (templates, context) part: the release's package, then its included dependencies."""
    docs: list[tuple[str, dict[str, Any]]] = []
    indexes: list[int] = []
    for tset, context in parts:
        for name in tset.names:
            text = tset.render_text(name, context)
            shown = tset.shown[name]
            for index, doc in enumerate(_parse_documents(text, shown), start=1):
                if doc is None:
                    continue
                problems = manifest_problems(doc)
                if problems:
                    raise RenderError(
                        f"{shown}: document {index} ({describe(doc)}) is not a valid Kubernetes "
                        "object: " + "; ".join(problems),
                        hint="every document needs apiVersion, kind and metadata.name",
                    )
                docs.append((shown, doc))
                indexes.append(index)
    # Checked once every document is known: these messages quote label and annotation values,
    # and a value that some rendered Secret holds must not be printed.
    for (shown, doc), index in zip(docs, indexes, strict=True):
        problems = metadata_problems(doc)
        if problems:
            from kdeploy.secrets import Redactor, collect_secret_strings

            redactor = Redactor(collect_secret_strings(d for _, d in docs))
            raise RenderError(
                redactor.text(
                    f"{shown}: document {index} ({describe(doc)}) would be refused by the API "
                    "server: " + "; ".join(problems)
                ),
                hint="fix the name, namespace, labels or annotations the template produces",
            )
    return docs


def template_context(
    package: Package,
    spec: ReleaseSpec,
    values: Values,
    files: PackageFiles,
    kube: Capabilities,
    lookups: list[Lookup] | None = None,
) -> dict[str, Any]:
    """What templates of `package` see when rendering release `spec` (docs/package-format.md,
    "Template context")."""
    return {
        "values": values,
        "release": {
            "name": spec.name,
            "namespace": spec.namespace,
            "environment": spec.environment,
        },
        "package": {
            "name": package.name,
            "version": package.version,
            "appVersion": package.app_version,
        },
        "files": files,
        "kube": kube,
        "lookup": _lookup(package, kube, lookups),
    }


def _looked_up_secrets(lookups: list[Lookup]) -> set[str]:
    return {s for found in lookups for s in found.secret_strings}


def _lookup(package: Package, kube: Capabilities, lookups: list[Lookup] | None) -> Lookup:
    """The `lookup` function for `package` (remembered in `lookups`, for the Secrets it reads)."""
    from kdeploy.capabilities import live_reader

    found = Lookup(live_reader(kube), package.name, package.lookup)
    if lookups is not None:
        lookups.append(found)
    return found


def _tracked(values: Values, reads: ValueReads | None, path: tuple[str, ...]) -> Values:
    """`values` as templates see them: recording their reads (at `path`) into `reads`, if any."""
    return values if reads is None else TrackedValues(values, reads, path)


def render_release(
    package: Package,
    spec: ReleaseSpec,
    values: Values,
    files_root: Path | None = None,
    *,
    templates: PackageTemplates | None = None,
    reads: ValueReads | None = None,
    capabilities: Capabilities | None = None,
) -> RenderedRelease:
    """Render `package` for release `spec` with the merged `values`: every templates/*.yaml (files
    starting with `_` are macro libraries), then those of each application dependency whose
    condition holds (with its own values subtree, kdeploy.dependencies), each YAML document
    parsed and checked (apiVersion, kind, metadata.name), empty documents skipped, namespaced
    objects without a namespace put in the release's namespace (cluster-scoped ones lose theirs),
    ownership labels and annotations stamped, objects in install order. Templates see
    `capabilities` as `kube` (default: offline ones, kdeploy.capabilities.offline). `files_root` defaults to
    the package's files/ directory; pass `templates` to reuse one compiled environment across
    releases of the package. Raises RenderError naming the template file (and line, or rendered
    line) on any failure, and for a library package (it has no manifests). `reads`, when given,
    records which values the templates read (kdeploy.valuereads), a dependency's under its
    alias."""
    from kdeploy.dependencies import included_dependencies

    if package.is_library:
        raise RenderError(
            f"release {spec.name} of environment {spec.environment}: package {package.name} is a "
            "library (type: library): it holds macros only and renders no manifests",
            hint=f"list {package.name} under `dependencies:` of an application package and "
            f'import its macros there ({{% import "{package.name}:FILE.j2" as h %}})',
        )
    tset = templates or PackageTemplates(package)
    files = PackageFiles(files_root if files_root is not None else package.path / FILES_DIR)
    kube = capabilities or offline_capabilities(None)
    lookups: list[Lookup] = []
    try:
        seen = _tracked(values, reads, ())
        parts = [(tset, template_context(package, spec, seen, files, kube, lookups))]
        for item in included_dependencies(package, values, f"release {spec.name}"):
            dep = item.dependency.package
            dep_files = PackageFiles(dep.path / FILES_DIR)
            dep_values = _tracked(item.values, reads, item.aliases)
            parts.append(
                (
                    tset.dependency(dep),
                    template_context(dep, spec, dep_values, dep_files, kube, lookups),
                )
            )
        docs = _render_documents(parts)
        notes = tset.render_text(NOTES_TEMPLATE, parts[0][1]) if tset.has_notes else None
    except RenderError as e:
        from kdeploy.secrets import Redactor, values_secret_strings

        # Errors may quote rendered text; `writeOnly` values (and Secrets read with lookup) must
        # not reach the terminal.
        redactor = Redactor(values_secret_strings(package, values) | _looked_up_secrets(lookups))
        # Releases of one package differ only by their values: say which one failed.
        raise RenderError(
            redactor.text(
                f"{e.message}\n  (release {spec.name} of environment {spec.environment})"
            ),
            hint=e.hint,
        ) from None

    scopes = crd_scopes(doc for _, doc in docs)
    objects = []
    for shown, doc in docs:
        manifest = stamp_ownership(doc, spec.name, spec.environment, namespace=spec.namespace)
        meta = manifest["metadata"]
        if is_namespaced(api_group(manifest["apiVersion"]), manifest["kind"], scopes):
            if not meta.get("namespace"):
                # right after the name, where people look for it
                manifest["metadata"] = {
                    "name": meta.pop("name"),
                    "namespace": spec.namespace,
                    **meta,
                }
        else:
            meta.pop("namespace", None)
        parse_hook(manifest, shown)  # a bad hook annotation fails here, naming the template
        objects.append(RenderedObject(manifest=manifest, source=shown, release=spec.name))
    objects.sort(key=lambda o: install_order(o.manifest))
    return RenderedRelease(
        spec=spec,
        package=package,
        values=values,
        objects=tuple(objects),
        lookup_secrets=frozenset(_looked_up_secrets(lookups)),
        notes=notes.strip("\n") if notes and notes.strip() else None,
    )


def apply_crd_scopes(
    releases: list[RenderedRelease], scopes: dict[tuple[str, str], str]
) -> list[RenderedRelease]:
    """`releases` with objects of cluster-scoped custom kinds (per `scopes`, e.g. CRDs rendered by
    another release of the environment) stripped of the namespace render_release gave them, since
    a kind it did not know was taken as namespaced. Releases without such objects are returned as
    they are."""
    cluster = {key for key, scope in scopes.items() if scope == "Cluster"}
    if not cluster:
        return releases
    result = []
    for rel in releases:
        changed = False
        objects = []
        for obj in rel.objects:
            m = obj.manifest
            meta = m["metadata"]
            if "namespace" in meta and (api_group(m["apiVersion"]), m["kind"]) in cluster:
                meta = {k: v for k, v in meta.items() if k != "namespace"}
                obj = RenderedObject(
                    manifest={**m, "metadata": meta}, source=obj.source, release=obj.release
                )
                changed = True
            objects.append(obj)
        if changed:
            objects.sort(key=lambda o: install_order(o.manifest))
            rel = dataclasses.replace(rel, objects=tuple(objects))
        result.append(rel)
    return result


def manifest_text(manifest: Manifest) -> str:
    """One manifest as a YAML document body (no `---`)."""
    return dump_fast(manifest)
