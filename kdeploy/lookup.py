"""`lookup(apiVersion, kind, namespace, name)` in templates: read a live object while rendering
(Helm's `lookup`). Opt-in per package (`lookup: true` in package.yaml), and live only on diff and
apply; an offline render (render, lint) gets None, as Helm's `helm template` gets nothing. The
values of a Secret read this way are secret strings of the release: redacted wherever it shows.
Docs: docs/package-format.md ("lookup").
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Callable
from typing import Any

from kdeploy.errors import ClusterError

# (apiVersion, kind, namespace, name) -> the object, None when it does not exist; name "" -> the
# list of objects of that kind (in that namespace; "" for every namespace)
Reader = Callable[[str, str, str, str], Any]


class LookupFailure(Exception):
    """A lookup the template may not make, or that the cluster refused; the renderer reports it
    at the template's file and line."""


class Lookup:
    """The `lookup` function of one release's render."""

    def __init__(self, read: Reader | None, package: str, allowed: bool) -> None:
        self._read = read
        self._package = package
        self._allowed = allowed
        self.secret_strings: set[str] = set()

    def __call__(self, api_version: str, kind: str, namespace: str = "", name: str = "") -> Any:
        call = f"lookup({api_version!r}, {kind!r}, {namespace!r}, {name!r})"
        if not self._allowed:
            raise LookupFailure(
                f"{call}: package {self._package} does not allow lookup; add `lookup: true` to "
                f"packages/{self._package}/package.yaml (it reads live objects on diff and apply)"
            )
        if self._read is None:
            return None if name else []
        try:
            found = self._read(str(api_version), str(kind), str(namespace or ""), str(name or ""))
        except ClusterError as e:
            raise LookupFailure(f"{call}: {e.message}") from None
        for obj in found if isinstance(found, list) else [found]:
            self._remember_secret(obj)
        return copy.deepcopy(found)

    def _remember_secret(self, obj: Any) -> None:
        if not isinstance(obj, dict) or obj.get("kind") != "Secret":
            return
        for value in (obj.get("data") or {}).values():
            if not isinstance(value, str):
                continue
            self.secret_strings.add(value)
            try:
                self.secret_strings.add(base64.b64decode(value, validate=True).decode("utf-8"))
            except (binascii.Error, UnicodeDecodeError, ValueError):
                pass
        for value in (obj.get("stringData") or {}).values():
            if isinstance(value, str):
                self.secret_strings.add(value)
