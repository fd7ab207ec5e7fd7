"""kdeploy.kube.importing: the `kubernetes` package without its eager `__init__`."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return proc.stdout.strip()


def test_light_package_imports_only_what_is_used_and_keeps_its_version() -> None:
    out = _run(
        "import sys\n"
        "from kdeploy.kube.importing import use_light_package\n"
        "use_light_package()\n"
        "from kubernetes import config\n"
        "import kubernetes\n"
        "print(kubernetes.__version__, 'kubernetes.dynamic' in sys.modules,"
        " 'kubernetes.watch' in sys.modules)\n"
    )
    from importlib.metadata import version

    assert out == f"{version('kubernetes')} False False"


def test_light_package_still_reaches_every_subpackage() -> None:
    out = _run(
        "from kdeploy.kube.importing import use_light_package\n"
        "use_light_package()\n"
        "import kubernetes\n"
        "print(kubernetes.watch.Watch.__name__, kubernetes.dynamic.DynamicClient.__name__,"
        " kubernetes.client.ApiClient.__name__)\n"
    )
    assert out == "Watch DynamicClient ApiClient"


def test_an_already_imported_package_is_left_alone() -> None:
    out = _run(
        "import sys, kubernetes\n"
        "before = sys.modules['kubernetes']\n"
        "from kdeploy.kube.importing import use_light_package\n"
        "use_light_package()\n"
        "print(sys.modules['kubernetes'] is before, 'kubernetes.dynamic' in sys.modules)\n"
    )
    assert out == "True True"
