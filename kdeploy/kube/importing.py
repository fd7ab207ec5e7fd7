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
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types
from pathlib import Path

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
