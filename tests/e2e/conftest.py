"""Fixtures shared by the end-to-end tests.

- `ns` is a fresh namespace on the test cluster, named `<NS_PREFIX>-<n>` after the test module's
  `NS_PREFIX` (so a leftover namespace tells which module made it); it is not deleted afterwards.
- `live` reads that namespace through the real client (tests.helpers.LiveCluster).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import LiveCluster


@pytest.fixture(scope="session")
def _ns_numbers() -> Iterator[int]:
    return itertools.count()


@pytest.fixture
def ns(request: pytest.FixtureRequest, emulator: Any, _ns_numbers: Iterator[int]) -> str:
    name = f"{getattr(request.module, 'NS_PREFIX', 'e2e')}-{next(_ns_numbers)}"
    LiveCluster(str(emulator.kubeconfig_path), "default").create_namespace(name)
    return name


@pytest.fixture
def live(emulator: Any, ns: str) -> LiveCluster:
    return LiveCluster(str(emulator.kubeconfig_path), ns)
