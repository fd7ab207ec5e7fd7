"""The one rule for every file kdeploy reads from a project: after symlinks are followed, it must
lie inside the directory it belongs to. Files of a package (package.yaml, values.yaml,
values.schema.yaml, templates) stay inside the package directory, `files.get` inside files/, and
environment files and their valuesFiles inside the project directory; a package directory must
itself be inside the project. A package's dependencies are named, never given as paths, so the
templates one imports come from another package directory under packages/, under the same rule. A link pointing elsewhere (say to ~/.kube/config) is refused, so a
project checked out from someone else cannot make kdeploy read and deploy files from the machine
it runs on. Files named on the command line (`-f`) are the user's own choice and are not confined.
Docs: docs/values.md ("Files kdeploy reads")."""

from __future__ import annotations

from pathlib import Path


def escape_target(path: Path, root: Path) -> Path | None:
    """Where `path` really is, when that is outside `root` (both with symlinks followed); None when
    it is inside, or is `root` itself."""
    target = path.resolve()
    return None if target.is_relative_to(root.resolve()) else target
