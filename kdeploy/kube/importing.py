"""Import the `kubernetes` client without the parts of it kdeploy does not use.

`kubernetes/__init__.py` imports every subpackage eagerly: the dynamic client (which loads
kubernetes_validate and jsonschema), watch, stream (websocket), utils, leaderelection and informer.
kdeploy uses only `kubernetes.config` (kubeconfig, contexts, exec and auth plugins, in-cluster
config) and `kubernetes.client` (ApiClient, Configuration, the REST layer on urllib3, exceptions),
and its requests read and write plain JSON, never the generated models. Python runs a package's
`__init__` before any of its submodules, so the only way to import `kubernetes.config` without the
rest is to register the `kubernetes` package first without running its `__init__`.

`use_light_package()` does that: the package module is created from its own import spec (same
path, same submodules), with the two names its `__init__` defines (`__project__`, `__version__`)
and a module `__getattr__` that imports a subpackage the first time it is used, so
`kubernetes.watch.Watch` still works in code that only did `import kubernetes`. Nothing of the
client's behaviour changes: the same modules run, fewer of them. When `kubernetes` is already
imported (a test process, a library user), it is left as it is.

`import_config()` then imports `kubernetes.config` (kubeconfig loading, which imports
`kubernetes.client.api_client`) with stand-ins for what those two modules import at module level
but use only on paths kdeploy's reads never take: `requests_oauthlib.OAuth2Session` and
`oauthlib.oauth2` (an OIDC token refresh; they pull in `requests`), pydantic's `SecretStr` (an
`isinstance` test in the body serializer, which never sees one) and `ApiResponse` (typed responses),
and `dateutil.parser.parse` (typed date fields). Each stand-in imports the real thing the first time
it is used, so OIDC refresh, typed model calls and date parsing work as before; the stand-ins are
in `sys.modules` only while those two modules are imported, so every other `import pydantic` or
`import oauthlib` gets the real package. Together they are about half of the client's import time,
which every live command pays before its first request.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import re
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

PACKAGE = "kubernetes"
# What `kubernetes/__init__.py` imports eagerly; each is imported here on first attribute access.
SUBPACKAGES = frozenset(
    {"client", "config", "dynamic", "watch", "stream", "utils", "leaderelection", "informer"}
)
_VERSION = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.M)


def use_light_package() -> None:
    """Register the `kubernetes` package without running its `__init__` (see the module doc), unless
    it is imported already or cannot be found (then the normal import reports it)."""
    if PACKAGE in sys.modules:
        return
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None or not spec.submodule_search_locations:
        return
    try:
        source = Path(spec.origin).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return  # not a plain file (a zip import?): the normal import works everywhere
    module = importlib.util.module_from_spec(spec)
    match = _VERSION.search(source)
    module.__dict__["__project__"] = PACKAGE
    module.__dict__["__version__"] = match.group(1) if match else "unknown"
    module.__dict__["__getattr__"] = _submodule_getter(module)
    sys.modules[PACKAGE] = module


def _submodule_getter(module: types.ModuleType) -> types.FunctionType:
    def __getattr__(name: str) -> types.ModuleType:
        if name in SUBPACKAGES:
            return importlib.import_module(f"{PACKAGE}.{name}")
        raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")

    return __getattr__  # type: ignore[return-value]


def import_config() -> types.ModuleType:
    """`kubernetes.config`, imported with the stand-ins of the module doc unless it (or any module a
    stand-in replaces) is imported already; falls back to the plain import if anything about the
    installed client differs from what the stand-ins expect. Calls `use_light_package()` first."""
    use_light_package()
    if "kubernetes.config" in sys.modules:
        return sys.modules["kubernetes.config"]
    if PACKAGE not in sys.modules or "kubernetes.client.api_client" in sys.modules:
        return importlib.import_module("kubernetes.config")
    try:
        with _stand_ins():
            return importlib.import_module("kubernetes.config")
    except Exception:  # a client version the stand-ins do not fit: import it normally
        partial = ("kubernetes.config", "kubernetes.client")
        for name in [m for m in sys.modules if m.startswith(partial)]:
            del sys.modules[name]
        return importlib.import_module("kubernetes.config")


def _forward(module: str, name: str) -> Callable[..., Any]:
    """A callable that imports `module` on first call and calls its `name`."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


class _LazyPackage(types.ModuleType):
    """Stands in for a package: any attribute is the real package's (or its submodule's)."""

    def __getattr__(self, name: str) -> Any:
        real = importlib.import_module(self.__name__)
        if real is self:  # still in the import window: nothing real to hand out yet
            raise AttributeError(name)
        try:
            return getattr(real, name)
        except AttributeError:
            return importlib.import_module(f"{self.__name__}.{name}")


class _ApiResponse:
    """Stands in for `kubernetes.client.api_response.ApiResponse`: subscriptable in annotations, and
    constructing it builds the real (pydantic) model."""

    def __class_getitem__(cls, item: Any) -> Any:
        return cls

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        real = importlib.import_module("kubernetes.client.api_response").ApiResponse
        return real(*args, **kwargs)


class _SecretStr:
    """Stands in for pydantic's SecretStr in the serializer's `isinstance` test; kdeploy never passes
    one, and kdeploy's request bodies are plain JSON values."""


def _stand_in_modules() -> dict[str, types.ModuleType]:
    oauthlib = _LazyPackage("oauthlib")
    oauth2 = _LazyPackage("oauthlib.oauth2")
    oauthlib.__dict__["oauth2"] = oauth2
    requests_oauthlib = types.ModuleType("requests_oauthlib")
    requests_oauthlib.__dict__["OAuth2Session"] = _forward("requests_oauthlib", "OAuth2Session")
    pydantic = types.ModuleType("pydantic")
    pydantic.__dict__["SecretStr"] = _SecretStr
    api_response = types.ModuleType("kubernetes.client.api_response")
    api_response.__dict__.update(ApiResponse=_ApiResponse, T=Any)
    parser = types.ModuleType("dateutil.parser")
    parser.__dict__["parse"] = _forward("dateutil.parser", "parse")
    return {
        "oauthlib": oauthlib,
        "oauthlib.oauth2": oauth2,
        "requests_oauthlib": requests_oauthlib,
        "pydantic": pydantic,
        "kubernetes.client.api_response": api_response,
        "dateutil.parser": parser,
    }


@contextlib.contextmanager
def _stand_ins() -> Iterator[None]:
    """Put the stand-ins in `sys.modules` for names not imported yet; take them out again after."""
    placed = {n: m for n, m in _stand_in_modules().items() if n not in sys.modules}
    sys.modules.update(placed)
    try:
        yield
    finally:
        for name, module in placed.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
