"""Package dependencies at render time: which application dependencies a release includes, and the
values each renders with. Pure: the packages are loaded (and their versions checked) by
kdeploy.project. Docs: docs/package-format.md ("Dependencies and library packages")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kdeploy.errors import ValidationError
from kdeploy.model import Dependency, Package, Values
from kdeploy.values import merge


@dataclass(frozen=True)
class IncludedDependency:
    """An application dependency that a release renders, with the values it renders with."""

    dependency: Dependency
    values: Values
    # `web > redis` for a dependency of a dependency: how messages name it
    path: str
    # where its values are in the release's: the aliases from the release's package down
    aliases: tuple[str, ...] = ()


def _condition_holds(values: Values, condition: str) -> bool:
    """Whether the dotted `condition` path of `values` is true; a path that does not exist counts
    as true, as Helm's `condition` does (the dependency is included)."""
    current: Any = values
    for key in condition.split("."):
        if not isinstance(current, dict) or key not in current:
            return True
        current = current[key]
    return bool(current)


def dependency_values(dep: Dependency, values: Values, where: str) -> Values:
    """The values `dep` renders with: its package's defaults with the parent's `values[alias]`
    laid over them. Raises ValidationError when that subtree is not a mapping."""
    own = values.get(dep.alias)
    if own is None:
        own = {}
    if not isinstance(own, dict):
        raise ValidationError(
            f"{where}: values.{dep.alias} must be a mapping (the values of dependency "
            f"{dep.package.name}), not {type(own).__name__}",
            hint=f"set the dependency's values under `{dep.alias}:`, e.g. {dep.alias}: {{...}}",
        )
    return merge(dep.package.defaults, own)


def included_dependencies(
    package: Package, values: Values, where: str, _path: str = "", _aliases: tuple[str, ...] = ()
) -> list[IncludedDependency]:
    """The application dependencies of `package` that render with `values` (their `condition`
    true or absent), and theirs in turn, depth first; libraries are never included. The condition
    is read from the parent's values with the dependency's defaults merged under its alias, so
    `condition: redis.enabled` may take its default from the redis package. `where` names the
    release for messages."""
    result: list[IncludedDependency] = []
    path = _path or package.name
    for dep in package.dependencies:
        if dep.package.is_library:
            continue
        own = dependency_values(dep, values, where)
        if dep.condition and not _condition_holds({**values, dep.alias: own}, dep.condition):
            continue
        dep_path = f"{path} > {dep.alias}"
        aliases = (*_aliases, dep.alias)
        result.append(
            IncludedDependency(dependency=dep, values=own, path=dep_path, aliases=aliases)
        )
        result.extend(included_dependencies(dep.package, own, where, dep_path, aliases))
    return result


def import_roots(package: Package) -> dict[str, Package]:
    """alias -> package for every dependency of `package` and of its dependencies, which its
    templates may import from as `"alias:file.j2"` (the nearest declaration of an alias wins)."""
    roots: dict[str, Package] = {}
    pending = [package]
    while pending:
        current = pending.pop(0)
        for dep in current.dependencies:
            if dep.alias not in roots:
                roots[dep.alias] = dep.package
                pending.append(dep.package)
    return roots
