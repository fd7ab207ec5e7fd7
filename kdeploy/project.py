"""Find and load a project's packages (packages/<name>/) and environments (environments/<env>.yaml).

Everything here reads files; the shapes are checked as they are read, so an error names the file and
the key that is wrong. Docs: docs/package-format.md and docs/values.md.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdeploy.confine import escape_target
from kdeploy.encrypted import is_encrypted_name, load_encrypted_values
from kdeploy.envsecrets import SecretSource, parse_secrets
from kdeploy.errors import ProjectError
from kdeploy.model import (
    APPLICATION,
    LIBRARY,
    ClusterRef,
    Dependency,
    Environment,
    Package,
    ReleaseSpec,
    Values,
    ValuesLayer,
)
from kdeploy.yamlio import load_user_file

PACKAGES_DIR = "packages"
ENVIRONMENTS_DIR = "environments"
PACKAGE_FILE = "package.yaml"
VALUES_FILE = "values.yaml"
SCHEMA_FILE = "values.schema.yaml"

_PACKAGE_KEYS = (
    "name",
    "version",
    "appVersion",
    "type",
    "description",
    "kubeVersion",
    "lint",
    "lookup",
    "dependencies",
)
_DEPENDENCY_KEYS = ("name", "version", "alias", "condition")
_LINT_KEYS = ("disable",)
# `ci` is read by `kdeploy ci pipeline` alone (kdeploy.cisettings)
_ENV_KEYS = ("extends", "cluster", "namespace", "values", "secrets", "releases", "ci")
_CLUSTER_KEYS = ("context", "kubeconfig")
_RELEASE_KEYS = ("package", "namespace", "values", "valuesFiles", "secrets")
# semver.org 2.0.0, as its specification gives it
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
# Release and namespace names end up in labels and object names: RFC 1123 labels.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
NAME_RULE = "use lowercase letters, digits and '-', at most 63 characters"


def is_name(text: str) -> bool:
    """Whether `text` is a valid release or namespace name (a DNS-1123 label)."""
    return bool(_DNS_LABEL.fullmatch(text))


@dataclass
class Project:
    """A project directory: the names of its packages and environments. Packages are loaded on
    first use and kept, so releases sharing a package read it once."""

    root: Path
    packages: tuple[str, ...]
    environments: tuple[str, ...]
    _loaded: dict[str, Package] = field(default_factory=dict, repr=False, compare=False)

    def display(self, path: Path) -> str:
        """`path` relative to the project root when it is inside it (for messages)."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def package_dir(self, name: str) -> Path:
        return self.root / PACKAGES_DIR / name

    def environment_file(self, name: str) -> Path:
        return self.root / ENVIRONMENTS_DIR / f"{name}.yaml"


def load_project(root: Path) -> Project:
    """The project at `root`: package directories (holding a package.yaml) and environment files
    (environments/*.yaml), sorted by name. Raises ProjectError when `root` has neither packages/
    nor environments/."""
    root = root.resolve()
    pkg_dir, env_dir = root / PACKAGES_DIR, root / ENVIRONMENTS_DIR
    if not root.is_dir():
        raise ProjectError(f"{root}: no such directory")
    if not pkg_dir.is_dir() and not env_dir.is_dir():
        raise ProjectError(
            f"{root} is not a kdeploy project: it has no {PACKAGES_DIR}/ or {ENVIRONMENTS_DIR}/ directory",
            hint="run kdeploy in the project directory, or name it with `kdeploy -C DIR ...`",
        )
    packages = (
        tuple(sorted(p.name for p in pkg_dir.iterdir() if (p / PACKAGE_FILE).is_file()))
        if pkg_dir.is_dir()
        else ()
    )
    environments = (
        tuple(sorted(p.stem for p in env_dir.glob("*.yaml") if p.is_file()))
        if env_dir.is_dir()
        else ()
    )
    return Project(root=root, packages=packages, environments=environments)


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(names) if names else "(none)"


def _packages_hint(project: Project, name: str) -> str:
    hint = f"packages in this project: {_names(project.packages)}"
    if project.package_dir(name).is_dir():
        hint = f"{PACKAGES_DIR}/{name}/ has no {PACKAGE_FILE}; " + hint
    return hint


def _mapping(value: Any, where: str, *, allow_none: bool = True) -> dict[str, Any]:
    if value is None and allow_none:
        return {}
    if not isinstance(value, dict):
        raise ProjectError(f"{where} must be a mapping, not {type_name(value)}")
    return value


def type_name(value: Any) -> str:
    """How a message names the YAML type of `value`: "a mapping", "a list", "null"..."""
    if value is None:
        return "null"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _check_keys(data: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in allowed:
            raise ProjectError(
                f"{where}: unknown key {key!r}", hint=f"allowed keys: {', '.join(allowed)}"
            )


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ProjectError(f"{where} must be a non-empty string, not {type_name(value)}")
    return value


_CONFINE_HINT = (
    "kdeploy reads a package's files only from inside its directory, and environments and their "
    "valuesFiles only from inside the project (symlinks are followed to check); copy the file "
    "into the project, or give a values file from elsewhere on the command line with -f"
)


def _confine(project: Project, path: Path, root: Path, root_shown: str) -> None:
    """Raise ProjectError when `path`, symlinks followed, is not inside `root` (kdeploy.confine)."""
    target = escape_target(path, root)
    if target is not None:
        raise ProjectError(
            f"{project.display(path)}: resolves outside the {root_shown} (it links to {target})",
            hint=_CONFINE_HINT,
        )


def _read(project: Project, path: Path, root: Path, root_shown: str) -> tuple[Any, str]:
    """The parsed YAML of `path` after checking it lies inside `root`, and its name for messages."""
    _confine(project, path, root, root_shown)
    shown = project.display(path)
    if is_encrypted_name(path):
        return load_encrypted_values(path, shown), shown
    return load_user_file(path, shown), shown


def _read_from_project(project: Project, path: Path) -> tuple[Any, str]:
    return _read(project, path, project.root, "project directory")


def load_package(project: Project, name: str, _chain: tuple[str, ...] = ()) -> Package:
    """The package packages/<name>/ with its defaults, optional schema and its dependencies (each
    loaded the same way, its version checked against the constraint). Raises ProjectError for an
    unknown package (listing the known ones), for any malformed file, naming file and key, for a
    dependency cycle and for a dependency whose version does not satisfy the constraint (naming
    both packages)."""
    cached = project._loaded.get(name)
    if cached is not None:
        return cached
    if name not in project.packages:
        raise ProjectError(f"unknown package {name!r}", hint=_packages_hint(project, name))
    if name in _chain:
        loop = " -> ".join([*_chain[_chain.index(name) :], name])
        raise ProjectError(
            f"{PACKAGES_DIR}/{_chain[-1]}/{PACKAGE_FILE}: dependency cycle: {loop}",
            hint="a package cannot depend on itself, directly or through others",
        )
    path = project.package_dir(name)
    _confine(project, path, project.root, "project directory")
    inside = f"package directory {project.display(path)}"
    raw_meta, shown = _read(project, path / PACKAGE_FILE, path, inside)
    meta = _mapping(raw_meta, shown, allow_none=False)
    _check_keys(meta, _PACKAGE_KEYS, shown)
    pkg_name = _string(meta.get("name"), f"{shown}: name")
    if pkg_name != name:
        raise ProjectError(
            f"{shown}: name {pkg_name!r} does not match the directory name {name!r}",
            hint=f"rename the directory or set `name: {name}`",
        )
    version = meta.get("version")
    if not isinstance(version, str) or not _SEMVER.match(version):
        raise ProjectError(
            f"{shown}: version {version!r} is not a semantic version",
            hint="use MAJOR.MINOR.PATCH, e.g. version: 1.4.0 (quote it if YAML reads it as a number)",
        )
    description = meta.get("description") or ""
    if not isinstance(description, str):
        raise ProjectError(f"{shown}: description must be a string")
    kube_version = meta.get("kubeVersion")
    if kube_version is not None:
        kube_version = _string(kube_version, f"{shown}: kubeVersion")
        _check_kube_version(kube_version, shown)
    app_version = meta.get("appVersion")
    if app_version is not None and not isinstance(app_version, str):
        raise ProjectError(
            f"{shown}: appVersion must be a string, not {type_name(app_version)} ({app_version!r})",
            hint='quote it, e.g. appVersion: "2.10" (unquoted, YAML reads 2.10 as the number 2.1)',
        )
    if app_version is not None:
        app_version = _string(app_version, f"{shown}: appVersion")
    pkg_type = meta.get("type", APPLICATION)
    if pkg_type not in (APPLICATION, LIBRARY):
        raise ProjectError(
            f"{shown}: type {pkg_type!r} is not a package type",
            hint=f"use `type: {APPLICATION}` (the default) or `type: {LIBRARY}` (macros only)",
        )
    lookup = meta.get("lookup", False)
    if not isinstance(lookup, bool):
        raise ProjectError(f"{shown}: lookup must be true or false, not {type_name(lookup)}")
    lint = _mapping(meta.get("lint"), f"{shown}: lint")
    _check_keys(lint, _LINT_KEYS, f"{shown}: lint")
    disable = lint.get("disable") or []
    if not isinstance(disable, list) or not all(isinstance(r, str) for r in disable):
        raise ProjectError(f"{shown}: lint.disable must be a list of rule ids")

    values_file = path / VALUES_FILE
    defaults: Values = {}
    if values_file.exists():
        raw_values, shown_values = _read(project, values_file, path, inside)
        defaults = _mapping(raw_values, shown_values)
    schema_file = path / SCHEMA_FILE
    schema: dict[str, Any] | None = None
    if schema_file.exists():
        raw_schema, shown_schema = _read(project, schema_file, path, inside)
        schema = _mapping(raw_schema, shown_schema, allow_none=False)

    dependencies = _dependencies(project, meta.get("dependencies"), shown, (*_chain, name))
    package = Package(
        name=name,
        version=version,
        path=path,
        description=description,
        kube_version=kube_version,
        lint_disable=tuple(disable),
        defaults=defaults,
        schema=schema,
        type=pkg_type,
        app_version=app_version,
        lookup=lookup,
        dependencies=dependencies,
    )
    project._loaded[name] = package
    return package


def _dependencies(
    project: Project, raw: Any, shown: str, chain: tuple[str, ...]
) -> tuple[Dependency, ...]:
    """The `dependencies:` of package.yaml `shown`: each a package under packages/ (confined like
    the package itself), loaded and its version checked against the `version` constraint."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ProjectError(f"{shown}: dependencies must be a list, not {type_name(raw)}")
    result: list[Dependency] = []
    for index, entry in enumerate(raw):
        where = f"{shown}: dependencies[{index}]"
        entry = _mapping(entry, where, allow_none=False)
        _check_keys(entry, _DEPENDENCY_KEYS, where)
        dep_name = _string(entry.get("name"), f"{where}.name")
        if dep_name not in project.packages:
            raise ProjectError(
                f"{where}: unknown package {dep_name!r}; a dependency must be a package of this "
                f"project (a directory under {PACKAGES_DIR}/)",
                hint=_packages_hint(project, dep_name),
            )
        alias = _string(entry.get("alias", dep_name), f"{where}.alias")
        if not is_name(alias):
            raise ProjectError(f"{where}.alias: {alias!r} is not a valid name", hint=NAME_RULE)
        if any(d.alias == alias for d in result):
            raise ProjectError(
                f"{where}: {alias!r} is declared twice",
                hint="give the second one its own `alias:`",
            )
        constraint = _string(entry.get("version"), f"{where}.version")
        condition = entry.get("condition")
        if condition is not None:
            condition = _string(condition, f"{where}.condition")
        package = load_package(project, dep_name, chain)
        _check_dependency_version(constraint, package, where, chain[-1])
        result.append(
            Dependency(alias=alias, package=package, constraint=constraint, condition=condition)
        )
    return tuple(result)


def _check_dependency_version(constraint: str, dep: Package, where: str, parent: str) -> None:
    """Refuse `dep` when its version does not satisfy `constraint`, naming both packages."""
    from kdeploy.kubeversion import ConstraintSyntaxError, parse_constraint, parse_version

    try:
        parsed = parse_constraint(constraint)
    except ConstraintSyntaxError as e:
        raise ProjectError(
            f'{where}.version: "{constraint}" is not a valid version constraint: {e}',
            hint='write comparisons such as ">=1.2.0 <2" or "1.4"; "||" separates alternatives',
        ) from e
    if not parsed.allows(parse_version(dep.version)):
        raise ProjectError(
            f'package {parent} requires {dep.name} "{constraint}" but {PACKAGES_DIR}/{dep.name} '
            f"is version {dep.version}",
            hint=f"update {PACKAGES_DIR}/{dep.name}/{PACKAGE_FILE} or the constraint in "
            f"{PACKAGES_DIR}/{parent}/{PACKAGE_FILE}",
        )


def _check_kube_version(text: str, shown: str) -> None:
    """Refuse a kubeVersion constraint that cannot be parsed, naming package.yaml."""
    from kdeploy.kubeversion import ConstraintSyntaxError, parse_constraint

    try:
        parse_constraint(text)
    except ConstraintSyntaxError as e:
        raise ProjectError(
            f'{shown}: kubeVersion "{text}" is not a valid constraint: {e}',
            hint='write comparisons such as ">=1.28" or ">=1.27 <1.36"; "||" separates alternatives',
        ) from e


@dataclass
class _ReleaseDraft:
    """A release while the `extends` chain is folded, parent first."""

    name: str
    package: str | None = None
    namespace: str | None = None
    layers: list[ValuesLayer] = field(default_factory=list)
    source: str = ""
    secrets: dict[tuple[Any, ...], SecretSource | None] = field(default_factory=dict)


def environment_source(project: Project, name: str) -> tuple[str, str]:
    """The text of environment `name`'s own file (no `extends` folded) and its name for messages,
    for readers that need its lines. Raises ProjectError for an unknown environment (listing the
    valid ones), a file that resolves outside the project or cannot be read."""
    if name not in project.environments:
        raise ProjectError(
            f"unknown environment {name!r}",
            hint=f"environments in this project: {_names(project.environments)}",
        )
    path = project.environment_file(name)
    _confine(project, path, project.root, "project directory")
    shown = project.display(path)
    try:
        return path.read_text(encoding="utf-8"), shown
    except UnicodeDecodeError as e:
        raise ProjectError(f"{shown}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise ProjectError(f"{shown}: cannot read: {e.strerror or e}") from None


def _read_env(project: Project, name: str) -> dict[str, Any]:
    raw, shown = _read_from_project(project, project.environment_file(name))
    data = _mapping(raw, shown)
    _check_keys(data, _ENV_KEYS, shown)
    return data


def _chain(project: Project, name: str) -> list[tuple[str, dict[str, Any]]]:
    """[(env name, raw data)] from the root ancestor down to `name`."""
    chain: list[tuple[str, dict[str, Any]]] = []
    current: str | None = name
    while current is not None:
        names = [n for n, _ in chain]
        if current in names:
            loop = " -> ".join([*names[names.index(current) :], current])
            raise ProjectError(
                f"{ENVIRONMENTS_DIR}/{names[-1]}.yaml: `extends` cycle: {loop}",
                hint="an environment cannot extend itself, directly or through others",
            )
        if current not in project.environments:
            child = chain[-1][0] if chain else None
            where = f"{ENVIRONMENTS_DIR}/{child}.yaml: extends: " if child else ""
            raise ProjectError(
                f"{where}unknown environment {current!r}",
                hint=f"environments in this project: {_names(project.environments)}",
            )
        data = _read_env(project, current)
        chain.append((current, data))
        parent = data.get("extends")
        if parent is not None and not isinstance(parent, str):
            raise ProjectError(
                f"{ENVIRONMENTS_DIR}/{current}.yaml: extends must be an environment name"
            )
        current = parent
    chain.reverse()
    return chain


def load_environment(project: Project, name: str) -> Environment:
    """The environment `name` with its `extends` chain folded in: namespace and each release's
    package and namespace come from the most specific environment that sets them; the cluster is
    the environment's own, never inherited (one that extends an environment naming a cluster must
    name its own);
    ReleaseSpec.layers hold, in precedence order (lowest first), the environment `values` along
    the chain (parent first), then each release's valuesFiles and values (parent environment
    first); package defaults are not included. Releases keep file order, parent's first; a child may
    remove an inherited release with `name: null`. Raises ProjectError for an unknown environment
    (listing the valid ones), an `extends` cycle, an unknown package and any malformed file."""
    chain = _chain(project, name)
    cluster: dict[str, Any] = {}
    namespace: str | None = None
    env_layers: list[ValuesLayer] = []
    env_secrets: dict[tuple[Any, ...], SecretSource | None] = {}
    drafts: dict[str, _ReleaseDraft] = {}
    for env_name, data in chain:
        env_file = project.environment_file(env_name)
        shown = project.display(env_file)
        # A cluster is never inherited: each environment's is its own (see _own_cluster).
        cluster = _own_cluster(data, shown)
        if data.get("namespace") is not None:
            namespace = _namespace(data["namespace"], f"{shown}: namespace")
        env_values = _mapping(data.get("values"), f"{shown}: values")
        if env_values:
            env_layers.append(
                ValuesLayer(
                    source=f"{shown} values",
                    values=env_values,
                    file=env_file,
                    shown=shown,
                    root=("values",),
                    shared=True,
                )
            )
        env_secrets.update(
            parse_secrets(data.get("secrets"), shown, "secrets", ("secrets",), env_file)
        )
        releases = _mapping(data.get("releases"), f"{shown}: releases")
        for rel_name, rel in releases.items():
            _fold_release(project, env_file, shown, drafts, str(rel_name), rel)

    _check_cluster_named(project, chain)
    env_namespace = namespace or "default"
    kubeconfig = cluster.get("kubeconfig")
    if kubeconfig is not None:
        # relative to the environment file that is loaded, like valuesFiles
        kubeconfig = str((project.environment_file(name).parent / kubeconfig).resolve())
    specs = tuple(
        ReleaseSpec(
            name=d.name,
            package=d.package or "",
            namespace=d.namespace or env_namespace,
            environment=name,
            layers=(*env_layers, *d.layers),
            source=d.source,
            secrets=_secret_sources(env_secrets, d.secrets),
        )
        for d in drafts.values()
    )
    return Environment(
        name=name,
        path=project.environment_file(name),
        cluster=ClusterRef(context=cluster.get("context"), kubeconfig=kubeconfig),
        namespace=env_namespace,
        releases=specs,
        chain=tuple(n for n, _ in chain),
    )


def _secret_sources(
    env_secrets: dict[tuple[Any, ...], SecretSource | None],
    release_secrets: dict[tuple[Any, ...], SecretSource | None],
) -> tuple[SecretSource, ...]:
    """The release's secrets in the order they apply: environment-wide first, then the release's
    own; a release entry for the same path replaces the environment's, a null one removes it."""
    merged = {**env_secrets, **release_secrets}
    return tuple(s for s in merged.values() if s is not None)


def _own_cluster(data: dict[str, Any], shown: str) -> dict[str, str]:
    """The `cluster:` an environment file itself sets (checked), never folded with its parent's."""
    cl = _mapping(data.get("cluster"), f"{shown}: cluster")
    _check_keys(cl, _CLUSTER_KEYS, f"{shown}: cluster")
    return {
        key: _string(cl[key], f"{shown}: cluster.{key}")
        for key in _CLUSTER_KEYS
        if cl.get(key) is not None
    }


def _check_cluster_named(project: Project, chain: list[tuple[str, dict[str, Any]]]) -> None:
    """Refuse an environment that extends one naming a cluster without naming its own: taking the
    parent's would send `apply -e staging` to prod, so the child must say where it deploys."""
    name, data = chain[-1]
    if data.get("cluster"):
        return
    named = [(n, d["cluster"]) for n, d in chain[:-1] if d.get("cluster")]
    if not named:
        return  # no environment of the chain names a cluster: all use the default kubeconfig
    parent, parent_cluster = named[-1]
    shown = project.display(project.environment_file(name))
    example = ", ".join(f"{k}: {v}" for k, v in parent_cluster.items() if isinstance(v, str))
    raise ProjectError(
        f"{shown}: environment {name} extends {chain[-2][0]} but names no cluster of its own; "
        f"a cluster is never inherited ({ENVIRONMENTS_DIR}/{parent}.yaml deploys to "
        f"{{{example}}})",
        hint=f"add `cluster:` to {shown} with the context (and kubeconfig) that {name} deploys "
        f"to, e.g. `cluster: {{context: {name}-cluster}}`; copy {parent}'s `cluster:` only if "
        f"{name} really deploys to the same cluster",
    )


# `${NAME}` in a namespace: a review app's `namespace: review-${CI_ENVIRONMENT_SLUG}`
_NAMESPACE_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _namespace(value: Any, where: str, environ: Mapping[str, str] | None = None) -> str:
    """A namespace name, its `${NAME}` references replaced by the variables' values (an unset or
    empty variable is an error: a review app must never land in a shared namespace)."""
    written = _string(value, where)
    env = os.environ if environ is None else environ

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if not env.get(name):
            raise ProjectError(
                f"{where}: {written!r} needs the variable {name}, which is not set",
                hint=f"set {name} (in GitLab CI, a job with an `environment:` has "
                "CI_ENVIRONMENT_SLUG), or write the namespace out",
            )
        return env[name]

    ns = _NAMESPACE_VARIABLE.sub(value_of, written)
    if not is_name(ns):
        shown = f"{ns!r} (from {written!r})" if ns != written else repr(ns)
        raise ProjectError(f"{where}: {shown} is not a valid namespace name", hint=NAME_RULE)
    return ns


def _fold_release(
    project: Project,
    env_file: Path,
    shown: str,
    drafts: dict[str, _ReleaseDraft],
    name: str,
    rel: Any,
) -> None:
    where = f"{shown}: releases.{name}"
    if rel is None:
        drafts.pop(name, None)  # a child environment removes an inherited release
        return
    if not is_name(name):
        raise ProjectError(f"{where}: {name!r} is not a valid release name", hint=NAME_RULE)
    rel = _mapping(rel, where)
    _check_keys(rel, _RELEASE_KEYS, where)
    draft = drafts.setdefault(name, _ReleaseDraft(name=name))
    draft.source = shown
    if rel.get("package") is not None:
        package = _string(rel["package"], f"{where}.package")
        if package not in project.packages:
            raise ProjectError(
                f"{where}.package: unknown package {package!r}",
                hint=_packages_hint(project, package),
            )
        draft.package = package
    if rel.get("namespace") is not None:
        draft.namespace = _namespace(rel["namespace"], f"{where}.namespace")
    files = rel.get("valuesFiles") or []
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise ProjectError(f"{where}.valuesFiles must be a list of file paths")
    for rel_path in files:
        # `..` is collapsed without following symlinks, so messages name the path as written
        path = Path(os.path.normpath(env_file.parent / rel_path))
        if not path.is_file():
            raise ProjectError(
                f"{where}.valuesFiles: {project.display(path)}: file not found",
                hint="valuesFiles are relative to the environment file's directory",
            )
        raw_layer, file_shown = _read_from_project(project, path)
        layer = _mapping(raw_layer, file_shown)
        draft.layers.append(
            ValuesLayer(
                source=file_shown,
                values=layer,
                file=path,
                shown=file_shown,
                secret=is_encrypted_name(path),
            )
        )
    values = _mapping(rel.get("values"), f"{where}.values")
    if values:
        draft.layers.append(
            ValuesLayer(
                source=f"{where}.values",
                values=values,
                file=env_file,
                shown=shown,
                root=("releases", name, "values"),
            )
        )
    draft.secrets.update(
        parse_secrets(
            rel.get("secrets"),
            shown,
            f"releases.{name}.secrets",
            ("releases", name, "secrets"),
            env_file,
        )
    )
    if draft.package is None:
        raise ProjectError(
            f"{where}: no package given",
            hint=f"add `package: NAME`; packages in this project: {_names(project.packages)}",
        )
