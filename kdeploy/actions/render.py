"""The render action: load a project, merge each release's values, render and check the releases.

Render, lint, diff and apply all start here, so they see the same manifests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kdeploy.errors import KdeployError, ProjectError
from kdeploy.model import Environment, Package, ReleaseSpec, RenderedRelease, Values, ValuesLayer
from kdeploy.project import (
    SCHEMA_FILE,
    Project,
    load_environment,
    load_package,
    load_project,
)
from kdeploy.values import merge_layers, parse_set_path, set_path
from kdeploy.yamlio import load_user_file


@dataclass(frozen=True)
class ReleaseInput:
    """What one release renders from: its spec, its package and the merged values."""

    spec: ReleaseSpec
    package: Package
    values: Values


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


def _command_line_layers(project_dir: Path, value_files: Sequence[Path]) -> list[ValuesLayer]:
    layers = []
    for path in value_files:
        # relative to the project directory, as if kdeploy had been started there (like git -C)
        full = path if path.is_absolute() else project_dir / path
        data = load_user_file(full, str(path))
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ProjectError(f"{path}: a values file must hold a mapping at the top")
        layers.append(ValuesLayer(source=f"-f {path}", values=data))
    return layers


def prepare_releases(
    project_dir: Path,
    env: str | None,
    releases: Sequence[str],
    value_files: Sequence[Path],
    sets: Sequence[str],
    set_strings: Sequence[str],
) -> tuple[Project, Environment, list[ReleaseInput]]:
    """Load the project and the environment and merge each selected release's values, lowest
    precedence first: package defaults, environment layers (ReleaseSpec.layers), `-f` files in
    order, `--set` in order, `--set-string` in order. Raises KdeployError (ProjectError for files)
    for anything wrong in the project or the command-line values."""
    project = load_project(project_dir)
    environment = load_environment(project, pick_environment(project, env))
    selected = select_releases(environment, releases)
    extra = _command_line_layers(project.root, value_files)
    # parsed once, before any release, so a malformed one fails fast whatever is selected
    assignments = [parse_set_path(e) for e in sets]
    assignments += [parse_set_path(e, as_string=True) for e in set_strings]
    inputs = []
    for spec in selected:
        package = load_package(project, spec.package)
        values = merge_layers(
            [
                package.defaults,
                *(layer.values for layer in spec.layers),
                *(layer.values for layer in extra),
            ]
        )
        for path, value in assignments:
            values = set_path(values, path, value)
        inputs.append(ReleaseInput(spec=spec, package=package, values=values))
    return project, environment, inputs


def render_environment(
    project_dir: Path,
    env: str | None,
    releases: Sequence[str],
    value_files: Sequence[Path],
    sets: Sequence[str],
    set_strings: Sequence[str],
    *,
    validate_values: bool = True,
) -> list[RenderedRelease]:
    """Render the selected releases of `env` (None: the only environment; empty `releases`: all):
    values merged (see prepare_releases), checked against each package's values.schema.yaml
    (unless `validate_values` is False, for lint which reports them itself), rendered, and checked
    for objects declared twice among the rendered releases. Returns releases in environment file
    order, objects in install order. Raises KdeployError subclasses: ProjectError, ValidationError,
    RenderError."""
    from kdeploy.render import (
        PackageTemplates,
        apply_crd_scopes,
        default_cache_dir,
        make_bytecode_cache,
        render_release,
    )
    from kdeploy.resources import crd_scopes
    from kdeploy.validate import ValuesValidator, check_duplicates

    project, _environment, inputs = prepare_releases(
        project_dir, env, releases, value_files, sets, set_strings
    )
    cache = make_bytecode_cache(default_cache_dir())
    templates: dict[str, PackageTemplates] = {}
    validators: dict[str, ValuesValidator] = {}
    rendered = []
    for item in inputs:
        pkg = item.package
        if validate_values and pkg.schema is not None:
            validator = validators.get(pkg.name)
            if validator is None:
                source = project.display(pkg.path / SCHEMA_FILE)
                validator = validators[pkg.name] = ValuesValidator(pkg.schema, source)
            validator.check(item.values, item.spec.name)
        tset = templates.get(pkg.name)
        if tset is None:
            tset = templates[pkg.name] = PackageTemplates(pkg, cache)
        rendered.append(render_release(pkg, item.spec, item.values, templates=tset))
    # A custom resource whose CRD another release renders was scoped without knowing it.
    rendered = apply_crd_scopes(
        rendered, crd_scopes(o.manifest for r in rendered for o in r.objects)
    )
    # With a release filter only the selected releases are compared: rendering the others just
    # for this check would make `render web` fail on a broken, unrelated release.
    check_duplicates(rendered)
    return rendered
