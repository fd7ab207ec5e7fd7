"""The render action: load a project, merge each release's values, render and check the releases.

Render, lint, diff and apply all start here, so they see the same manifests.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdeploy.capabilities import Capabilities
from kdeploy.encrypted import is_encrypted_name, load_encrypted_values, string_leaves
from kdeploy.envsecrets import Missing, missing_error, resolve_secrets
from kdeploy.errors import KdeployError, ProjectError
from kdeploy.model import Environment, Package, ReleaseSpec, RenderedRelease, Values, ValuesLayer
from kdeploy.project import (
    SCHEMA_FILE,
    Project,
    load_environment,
    load_package,
    load_project,
)
from kdeploy.values import (
    PathSegment,
    merge_layers,
    parse_set_json,
    parse_set_path,
    set_path,
    set_target,
    split_release_scope,
)
from kdeploy.yamlio import load_user_file, load_user_text

# the lint rule id (kdeploy.lint.values_unused); a package that disables it gets no warnings
UNUSED_RULE = "values-unused"

if TYPE_CHECKING:
    from kdeploy.render import PackageTemplates
    from kdeploy.unused import PackageUse, UnusedValue
    from kdeploy.valuereads import ValueReads


@dataclass(frozen=True)
class ReleaseInput:
    """What one release renders from: its spec, its package and the merged values."""

    spec: ReleaseSpec
    package: Package
    values: Values
    secret_strings: frozenset[str] = frozenset()
    missing_secrets: tuple[Missing, ...] = ()
    # the layers a person set (environment, -f, --set...), lowest precedence first
    layers: tuple[ValuesLayer, ...] = ()
    # what those layers set, merged without the package's defaults (`kdeploy get values`)
    user_values: Values | None = None


class SecretsMode(Enum):
    """What a missing `secrets:` entry does: REQUIRE stops on a required one (diff, apply,
    render); PLACEHOLDER renders a placeholder in its place (lint, render --redact-secrets)."""

    REQUIRE = "require"
    PLACEHOLDER = "placeholder"


def pick_environment(project: Project, env: str | None) -> str:
    """`env`, or the only environment when `env` is None. Raises KdeployError when `env` is None
    and there is not exactly one environment, listing them."""
    if env is not None:
        return env
    if len(project.environments) == 1:
        return project.environments[0]
    if not project.environments:
        raise ProjectError(f"{project.root}: no environments/*.yaml files found")
    raise KdeployError(
        "several environments exist: choose one with -e ENV",
        hint=f"environments in this project: {', '.join(project.environments)}",
    )


def select_releases(environment: Environment, names: Sequence[str]) -> list[ReleaseSpec]:
    """The releases of `environment` named in `names` (all when empty), in environment file order.
    Raises KdeployError for an unknown name, listing the environment's releases."""
    if not names:
        return list(environment.releases)
    known = {r.name for r in environment.releases}
    for name in names:
        if name not in known:
            valid = ", ".join(r.name for r in environment.releases) or "(none)"
            raise KdeployError(
                f"unknown release {name!r} in environment {environment.name}",
                hint=f"releases in {environment.name}: {valid}",
            )
    wanted = set(names)
    return [r for r in environment.releases if r.name in wanted]


@dataclass(frozen=True)
class CommandLineValues:
    """The values given on the command line, each for every release (`release` None) or for one
    release (`RELEASE:` before it), in the order they apply."""

    files: list[tuple[str | None, ValuesLayer]]
    assignments: list[tuple[str | None, list[PathSegment], Any, str]]

    def layers_for(self, release: str) -> list[Values]:
        """The -f layers that apply to `release`, in command-line order."""
        return [layer.values for scope, layer in self.files if scope in (None, release)]

    def secret_layers_for(self, release: str) -> list[Values]:
        """The encrypted -f layers that apply to `release`."""
        return [
            layer.values for scope, layer in self.files if scope in (None, release) and layer.secret
        ]

    def apply_sets(self, release: str, values: Values) -> Values:
        """`values` with every --set/--set-string that applies to `release`, in order."""
        for scope, path, value, _source in self.assignments:
            if scope in (None, release):
                values = set_path(values, path, value)
        return values

    def value_layers(self, release: str) -> list[ValuesLayer]:
        """Every -f file and --set flag that applies to `release` as a values layer, in the
        order they apply (to say which one set a value)."""
        layers = [layer for scope, layer in self.files if scope in (None, release)]
        layers.extend(
            ValuesLayer(source=source, values=set_path({}, path, value), shared=scope is None)
            for scope, path, value, source in self.assignments
            if scope in (None, release)
        )
        return layers


def _check_scope(environment: Environment, scope: str | None, flag: str, expr: str) -> None:
    if scope is None or any(r.name == scope for r in environment.releases):
        return
    valid = ", ".join(r.name for r in environment.releases) or "(none)"
    raise KdeployError(
        f'{flag} "{expr}": environment {environment.name} has no release "{scope}"',
        hint=f"releases in {environment.name}: {valid}; a key holding ':' is written with a "
        f"backslash before it ({scope}\\:...)",
    )


def command_line_values(
    project_dir: Path,
    environment: Environment,
    value_files: Sequence[Path],
    sets: Sequence[str],
    set_strings: Sequence[str],
    set_files: Sequence[str] = (),
    set_jsons: Sequence[str] = (),
    read_stdin: Callable[[], str] | None = None,
) -> CommandLineValues:
    """Read the -f files and parse the --set-json, --set, --set-string and --set-file
    expressions (applied in that order, as Helm does), each optionally scoped to one release
    (`web:values.yaml`, `web:image.tag=1.2`). `-f -` reads the values from standard input
    (`read_stdin`, default the process's), named `<stdin>` in messages; it may be given once.
    Parsed once, before any release, so a malformed one fails fast whatever is selected. Raises
    KdeployError naming the flag for an unknown release, a malformed expression or a second
    `-f -`, ProjectError for a file (or standard input) naming it and the line."""
    files = []
    stdin_given: str | None = None
    for given in value_files:
        scope, name = split_release_scope(str(given))
        _check_scope(environment, scope, "-f", str(given))
        if name == STDIN:
            if stdin_given is not None:
                raise KdeployError(
                    f'-f "{given}": standard input is read once, and "-f {stdin_given}" '
                    "already reads it",
                    hint="give `-f -` once; put the other values in a file",
                )
            stdin_given = str(given)
            files.append((scope, _stdin_layer(str(given), scope, read_stdin or _read_stdin)))
            continue
        path = Path(name)
        # relative to the project directory, as if kdeploy had been started there (like git -C)
        full = path if path.is_absolute() else project_dir / path
        encrypted = is_encrypted_name(full)
        data = load_encrypted_values(full, name) if encrypted else load_user_file(full, name)
        layer = ValuesLayer(
            source=f"-f {given}",
            values=_values_mapping(data, name),
            file=full,
            shown=name,
            shared=scope is None,
            secret=encrypted,
        )
        files.append((scope, layer))
    parsers: list[tuple[Sequence[str], str, Callable[[str], tuple[list[PathSegment], Any]]]] = [
        (set_jsons, "--set-json", parse_set_json),
        (sets, "--set", parse_set_path),
        (set_strings, "--set-string", lambda rest: parse_set_path(rest, as_string=True)),
        (set_files, "--set-file", lambda rest: read_set_file(project_dir, rest)),
    ]
    assignments = []
    for exprs, flag, parse in parsers:
        for expr in exprs:
            scope, rest = split_release_scope(expr)
            _check_scope(environment, scope, flag, expr)
            path_, value = parse(rest)
            # named without its value in messages: the value may be a secret
            assignments.append((scope, path_, value, f"{flag} {set_target(expr)}"))
    return CommandLineValues(files=files, assignments=assignments)


# `-f -`: the values file is standard input, named so in messages
STDIN = "-"
STDIN_NAME = "<stdin>"


def _values_mapping(data: Any, shown: str) -> Values:
    """The top of a values file: a mapping (an empty file is {}). Raises ProjectError naming
    `shown` otherwise."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ProjectError(f"{shown}: a values file must hold a mapping at the top")
    return data


def _read_stdin() -> str:
    """The whole of standard input as text. Raises ProjectError when it cannot be read."""
    import sys

    try:
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        # strictly: the text stream's own decoding may carry bad bytes on as surrogates
        return data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as e:
        raise ProjectError(f"{STDIN_NAME}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise ProjectError(f"{STDIN_NAME}: cannot read: {e.strerror or e}") from None


def _stdin_layer(given: str, scope: str | None, read: Callable[[], str]) -> ValuesLayer:
    """The values layer of `-f -` (or `-f RELEASE:-`): standard input parsed as a values file,
    its text kept so that a message can name the line of a value (`<stdin>:3`)."""
    text = read()
    if not text.strip():
        # `generate-values | kdeploy apply -f -` whose generator failed: never deploy without them
        raise ProjectError(
            f"-f {given}: {STDIN_NAME} is empty; nothing was changed",
            hint="check the command that feeds standard input (with `set -o pipefail` its "
            "failure stops the job); for no values, leave out `-f -`",
        )
    return ValuesLayer(
        source=f"-f {given}",
        values=_values_mapping(load_user_text(text, STDIN_NAME), STDIN_NAME),
        shown=STDIN_NAME,
        text=text,
        shared=scope is None,
    )


# a --set-file value ends up in a manifest, and a ConfigMap or Secret holds at most 1 MiB
MAX_SET_FILE_BYTES = 1024 * 1024


def read_set_file(project_dir: Path, expr: str) -> tuple[list[PathSegment], str]:
    """`--set-file PATH=FILE`: the values path and the text of FILE (relative to the project
    directory). A file named inside the project must stay inside it with symlinks followed
    (kdeploy.confine: a link checked into the project must not read ~/.kube/config into a
    manifest); a file outside the project (a CI file variable) is the user's own choice, like
    -f. Raises ProjectError naming the flag for a missing, unreadable, non-UTF-8, too large or
    escaping file."""
    from kdeploy.confine import escape_target

    path_, name = parse_set_path(expr, as_string=True, flag="--set-file")
    where = f'--set-file "{expr}"'
    if not name:
        raise ProjectError(f"{where}: no file after '='", hint="use --set-file PATH=FILE")
    given = Path(name)
    full = given if given.is_absolute() else project_dir / given
    lexical = Path(os.path.normpath(full))
    root = project_dir.resolve()
    if lexical.is_relative_to(project_dir) or lexical.is_relative_to(root):
        target = escape_target(lexical, root)
        if target is not None:
            raise ProjectError(
                f"{where}: {name} is in the project directory but resolves outside it (it links "
                f"to {target})",
                hint="a file of the project must stay inside the project; name a file outside "
                "it directly if you mean to read it",
            )
    try:
        data = full.read_bytes()
    except FileNotFoundError:
        raise ProjectError(f"{where}: file not found ({full})") from None
    except OSError as e:
        raise ProjectError(f"{where}: cannot read {full}: {e.strerror or e}") from None
    if len(data) > MAX_SET_FILE_BYTES:
        raise ProjectError(
            f"{where}: {name} holds {len(data)} bytes, more than the {MAX_SET_FILE_BYTES} a "
            "Kubernetes object can hold"
        )
    try:
        return path_, data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProjectError(
            f"{where}: {name} is not UTF-8 text ({e.reason} at byte {e.start})",
            hint="for binary data, put the file in the package's files/ and use "
            "files.get_bytes() with b64encode",
        ) from None


def prepare_releases(
    project_dir: Path,
    env: str | None,
    releases: Sequence[str],
    value_files: Sequence[Path],
    sets: Sequence[str],
    set_strings: Sequence[str],
    *,
    set_files: Sequence[str] = (),
    set_jsons: Sequence[str] = (),
    secrets_mode: SecretsMode = SecretsMode.REQUIRE,
    environ: Mapping[str, str] | None = None,
) -> tuple[Project, Environment, list[ReleaseInput]]:
    """Load the project and the environment and merge each selected release's values, lowest
    precedence first: package defaults, environment layers (ReleaseSpec.layers), the environment's
    `secrets:` (read from `environ`, default os.environ), `-f` files in order, then `--set-json`,
    `--set`, `--set-string`, `--set-file`, each in order; a `RELEASE:` prefix limits a -f or a
    --set... flag to that release. A missing optional secret leaves its value unset; a missing required one raises
    KdeployError (naming file, path and source, never a value) in REQUIRE mode, and gets a
    placeholder in PLACEHOLDER mode. Raises KdeployError (ProjectError for files) for anything
    wrong in the project or the command-line values."""
    project = load_project(project_dir)
    environment = load_environment(project, pick_environment(project, env))
    selected = select_releases(environment, releases)
    extra = command_line_values(
        project.root, environment, value_files, sets, set_strings, set_files, set_jsons
    )
    environ = os.environ if environ is None else environ
    inputs = []
    for spec in selected:
        package = load_package(project, spec.package)
        found = resolve_secrets(spec.secrets, environ)
        secrets = list(found.assignments)
        if secrets_mode is SecretsMode.PLACEHOLDER:
            secrets.extend(
                (m.source.segments, m.source.placeholder())
                for m in found.missing
                if m.source.required
            )
        # the values of encrypted files are secrets wherever they end up
        encrypted = [layer.values for layer in spec.layers if layer.secret]
        encrypted += extra.secret_layers_for(spec.name)
        from_files = {s for data in encrypted for s in string_leaves(data) if len(s) >= 4}
        inputs.append(
            ReleaseInput(
                spec=spec,
                package=package,
                values=_release_values(package.defaults, spec, secrets, extra),
                secret_strings=found.strings | frozenset(from_files),
                missing_secrets=found.missing,
                layers=(*spec.layers, *extra.value_layers(spec.name)),
                user_values=_release_values({}, spec, secrets, extra),
            )
        )
    if secrets_mode is SecretsMode.REQUIRE:
        # checked for every selected release before anything renders or reaches a cluster
        required = tuple(m for item in inputs for m in item.missing_secrets if m.source.required)
        if required:
            raise missing_error(environment.name, tuple(dict.fromkeys(required)))
    return project, environment, inputs


def _release_values(
    base: Values,
    spec: ReleaseSpec,
    secrets: Sequence[tuple[Sequence[PathSegment], Any]],
    extra: CommandLineValues,
) -> Values:
    """`base` with the release's layers over it, in precedence order: the environment's layers,
    its `secrets:` values, then -f files and the --set... flags that apply to the release."""
    values = merge_layers([base, *(layer.values for layer in spec.layers)])
    for path, secret in secrets:
        values = set_path(values, list(path), secret)
    values = merge_layers([values, *extra.layers_for(spec.name)])
    return extra.apply_sets(spec.name, values)


def render_environment(
    project_dir: Path,
    env: str | None,
    releases: Sequence[str],
    value_files: Sequence[Path],
    sets: Sequence[str],
    set_strings: Sequence[str],
    *,
    set_files: Sequence[str] = (),
    set_jsons: Sequence[str] = (),
    validate_values: bool = True,
    secrets_mode: SecretsMode = SecretsMode.REQUIRE,
    capabilities: Capabilities | None = None,
) -> list[RenderedRelease]:
    """Render the selected releases of `env` (None: the only environment; empty `releases`: all):
    values merged (see prepare_releases), checked against each package's values.schema.yaml
    (unless `validate_values` is False, for lint which reports them itself), rendered, and checked
    for objects declared twice among the rendered releases. Returns releases in environment file
    order, objects in install order, each with the values read from `secrets:` as its
    `secret_strings` (see prepare_releases for `secrets_mode`); templates see `capabilities` as
    `kube` (default: offline ones, kdeploy.capabilities). Raises KdeployError subclasses:
    ProjectError, ValidationError, RenderError; their messages never hold a secret's value."""
    from kdeploy.gcpolicy import building

    with building():
        project, environment, inputs = prepare_releases(
            project_dir,
            env,
            releases,
            value_files,
            sets,
            set_strings,
            set_files=set_files,
            set_jsons=set_jsons,
            secrets_mode=secrets_mode,
        )
        secrets = frozenset(s for item in inputs for s in item.secret_strings)
        try:
            return _render_inputs(
                project,
                environment,
                inputs,
                validate_values=validate_values,
                capabilities=capabilities,
            )
        except KdeployError as e:
            if not secrets:
                raise
            # a schema error or a template's fail() may quote a value read from a secret source
            raise redacted_error(e, secrets) from None


def redacted_error(error: KdeployError, secrets: frozenset[str]) -> KdeployError:
    """`error` (same class) with every secret string redacted from its message and hint."""
    from kdeploy.secrets import Redactor

    redactor = Redactor(secrets)
    clean = copy.copy(error)
    message = redactor.text(error.message)
    clean.__dict__["message"] = message  # click declares `message` final; this is a new object
    clean.hint = redactor.text(error.hint) if error.hint else error.hint
    clean.args = (message,)
    return clean


def _render_inputs(
    project: Project,
    environment: Environment,
    inputs: list[ReleaseInput],
    *,
    validate_values: bool,
    capabilities: Capabilities | None,
) -> list[RenderedRelease]:
    from kdeploy.dependencies import included_dependencies
    from kdeploy.origins import origin_finder, package_defaults_layer
    from kdeploy.render import (
        PackageTemplates,
        apply_crd_scopes,
        default_cache_dir,
        make_bytecode_cache,
        render_release,
    )
    from kdeploy.resources import crd_scopes
    from kdeploy.validate import ValuesValidator, check_duplicates
    from kdeploy.valuereads import ValueReads

    cache = make_bytecode_cache(default_cache_dir())
    templates: dict[str, PackageTemplates] = {}
    validators: dict[str, ValuesValidator] = {}
    rendered = []
    reads: list[ValueReads] = []
    for item in inputs:
        pkg = item.package
        if validate_values:
            origins = (package_defaults_layer(pkg), *item.layers)
            checks: list[tuple[Package, Values, str, tuple[str, ...]]] = [
                (pkg, item.values, item.spec.name, ())
            ]
            checks.extend(
                (dep.dependency.package, dep.values, f"{item.spec.name} ({dep.path})", dep.aliases)
                for dep in included_dependencies(pkg, item.values, f"release {item.spec.name}")
            )
            for checked, values, label, prefix in checks:
                if checked.schema is None:
                    continue
                validator = validators.get(checked.name)
                if validator is None:
                    source = project.display(checked.path / SCHEMA_FILE)
                    validator = validators[checked.name] = ValuesValidator(checked.schema, source)
                validator.check(values, label, origin_finder(origins, prefix))
        tset = templates.get(pkg.name)
        if tset is None:
            tset = templates[pkg.name] = PackageTemplates(pkg, cache)
        reads.append(ValueReads())
        release = render_release(
            pkg,
            item.spec,
            item.values,
            templates=tset,
            reads=reads[-1],
            capabilities=capabilities,
        )
        rendered.append(
            replace(
                release,
                secret_strings=item.secret_strings,
                unavailable_secrets=tuple(m.describe() for m in item.missing_secrets),
                value_layers=item.layers,
                user_values=item.user_values,
            )
        )
    rendered = _with_unused_values(project, environment, rendered, reads, templates)
    # A custom resource whose CRD another release renders was scoped without knowing it.
    rendered = apply_crd_scopes(
        rendered, crd_scopes(o.manifest for r in rendered for o in r.objects)
    )
    # With a release filter only the selected releases are compared: rendering the others just
    # for this check would make `render web` fail on a broken, unrelated release.
    check_duplicates(rendered)
    return rendered


def _with_unused_values(
    project: Project,
    environment: Environment,
    rendered: list[RenderedRelease],
    reads: list[ValueReads],
    templates: dict[str, PackageTemplates],
) -> list[RenderedRelease]:
    """`rendered` with the values each release sets but does not use (kdeploy.unused). A value set
    for every release (the environment's `values:`, a -f or --set without RELEASE:) is reported
    once, and only when no release of the environment uses it."""
    from kdeploy.render import PackageTemplates
    from kdeploy.unused import PackageUse, unused_values

    def use_of(package: Package) -> PackageUse:
        tset = templates.get(package.name)
        if tset is None:
            tset = templates[package.name] = PackageTemplates(package)
        apps = [dep for dep in package.dependencies if not dep.package.is_library]
        return PackageUse(
            package.defaults,
            package.schema,
            tset.mentioned_values,
            dependencies=tuple((dep.alias, use_of(dep.package)) for dep in apps),
            conditions=frozenset(tuple(dep.condition.split(".")) for dep in apps if dep.condition),
        )

    found = [
        []
        if UNUSED_RULE in rel.package.lint_disable
        else unused_values(rel.value_layers, use_of(rel.package), read)
        for rel, read in zip(rendered, reads, strict=True)
    ]
    if any(u.shared for per_release in found for u in per_release):
        found = _shared_unused_once(project, environment, rendered, found, use_of)
    return [
        replace(rel, unused_values=tuple(values))
        for rel, values in zip(rendered, found, strict=True)
    ]


def _shared_unused_once(
    project: Project,
    environment: Environment,
    rendered: list[RenderedRelease],
    found: list[list[UnusedValue]],
    use_of: Callable[[Package], PackageUse],
) -> list[list[UnusedValue]]:
    """`found` with each value set for every release kept only when no release of the
    environment uses it (the releases not rendered: by their package's declarations and
    templates), once, on the first release, with the first suggestion any release made."""
    from kdeploy.origins import user_set_paths

    rendered_names = {rel.spec.name for rel in rendered}
    others = [
        use_of(load_package(project, spec.package))
        for spec in environment.releases
        if spec.name not in rendered_names
    ]
    unused_in = [{(u.path, u.origin): u for u in per_release} for per_release in found]
    set_in = [set(user_set_paths(rel.value_layers)) for rel in rendered]
    result: list[list[UnusedValue]] = []
    reported: set[tuple[Any, ...]] = set()
    for per_release in found:
        kept = []
        for value in per_release:
            key = (value.path, value.origin)
            if not value.shared:
                kept.append(value)
                continue
            if key in reported:
                continue
            reported.add(key)
            unused_everywhere = all(
                key in unused or value.path not in paths
                for unused, paths in zip(unused_in, set_in, strict=True)
            ) and not any(use.uses(value.path) for use in others)
            if unused_everywhere:
                guesses = [u[key].suggestion for u in unused_in if key in u]
                suggestion = next((g for g in guesses if g is not None), None)
                kept.append(replace(value, suggestion=suggestion))
        result.append(kept)
    return result
