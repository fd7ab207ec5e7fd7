"""Writing the files commands produce (render --out, lint --junit)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from kdeploy.errors import KdeployError


def write_text_atomic(path: Path, text: str, *, what: str, hint: str) -> None:
    """Write `text` to `path` through a temporary file in the same directory and a rename, so a
    reader never sees half a file. Raises KdeployError "cannot write <what> <path>: <reason>" with
    `hint` when it cannot be written (`what` may be empty)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as e:
        label = f"{what} {path}" if what else str(path)
        raise KdeployError(f"cannot write {label}: {e.strerror or e}", hint=hint) from e
