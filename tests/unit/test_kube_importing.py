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


def test_config_import_leaves_out_oidc_pydantic_and_dateutil_until_used() -> None:
    out = _run(
        "import sys\n"
        "from kdeploy.kube.importing import import_config\n"
        "import_config()\n"
        "from kubernetes.config import kube_config\n"
        "from kubernetes.client import api_client\n"
        "late = ('pydantic', 'requests', 'requests_oauthlib', 'oauthlib', 'dateutil.parser')\n"
        "print(sorted(m for m in late if m in sys.modules))\n"
    )
    assert out == "[]"


def test_stand_ins_hand_out_the_real_thing_when_used() -> None:
    out = _run(
        "from kdeploy.kube.importing import import_config\n"
        "import_config()\n"
        "from kubernetes.config import kube_config\n"
        "from kubernetes.client import api_client\n"
        "import requests_oauthlib, oauthlib.oauth2, pydantic\n"
        "from kubernetes.client.api_response import ApiResponse\n"
        "session = kube_config.OAuth2Session(token={'refresh_token': 'x'})\n"
        "errors = kube_config.oauthlib.oauth2.rfc6749.errors\n"
        "response = api_client.ApiResponse(status_code=200, data=None, headers={}, raw_data=b'')\n"
        "print(isinstance(session, requests_oauthlib.OAuth2Session),\n"
        "      errors.InvalidClientIdError is oauthlib.oauth2.rfc6749.errors.InvalidClientIdError,\n"
        "      type(response) is ApiResponse, api_client.parse('2026-12-03T10:00:00Z').year,\n"
        "      pydantic.SecretStr.__module__.startswith('pydantic'))\n"
    )
    assert out == "True True True 2026 True"


def test_typed_calls_still_deserialize_models_and_dates() -> None:
    out = _run(
        "import json\n"
        "from kdeploy.kube.importing import import_config\n"
        "import_config()\n"
        "from kubernetes import client\n"
        "from kubernetes.client import rest\n"
        "class Raw:\n"
        "    status = 200\n"
        "    reason = 'OK'\n"
        "    headers = {'content-type': 'application/json'}\n"
        "    data = json.dumps({'metadata': {'name': 'l'}, 'spec': {'holderIdentity': 'me',\n"
        "        'renewTime': '2026-12-03T10:00:00.000000Z'}}).encode()\n"
        "    def getheaders(self): return self.headers\n"
        "    def getheader(self, name, default=None): return self.headers.get(name, default)\n"
        "response = rest.RESTResponse(Raw())\n"
        "response.read()\n"
        "api = client.ApiClient()\n"
        "lease = api.response_deserialize(response, {'200': 'V1Lease'}).data\n"
        "print(type(lease).__name__, lease.spec.holder_identity, lease.spec.renew_time.year)\n"
    )
    assert out == "V1Lease me 2026"


def test_a_client_the_stand_ins_do_not_fit_is_imported_normally() -> None:
    out = _run(
        "import sys, types\n"
        "from kdeploy.kube import importing\n"
        "real = importing._stand_in_modules\n"
        "def unfit():\n"
        "    modules = real()\n"
        "    modules['pydantic'] = types.ModuleType('pydantic')  # no SecretStr: api_client fails\n"
        "    return modules\n"
        "importing._stand_in_modules = unfit\n"
        "config = importing.import_config()\n"
        "from kubernetes.client import api_client\n"
        "print(config.load_kube_config.__name__, api_client.SecretStr.__module__.split('.')[0],\n"
        "      'oauthlib' in sys.modules)\n"
    )
    assert out == "load_kube_config pydantic True"
