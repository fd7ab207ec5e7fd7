"""kdeploy.gcpolicy: fewer collections while building, the previous schedule restored after."""

from __future__ import annotations

import gc

import pytest

from kdeploy.gcpolicy import BUILDING_THRESHOLDS, building


def test_building_raises_the_thresholds_and_restores_them_even_on_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), building():
        assert gc.get_threshold() == BUILDING_THRESHOLDS
        assert gc.isenabled()  # young objects are still collected
        raise RuntimeError("boom")
    assert gc.get_threshold() == before


def test_nested_building_restores_the_outer_schedule() -> None:
    before = gc.get_threshold()
    with building():
        with building():
            pass
        assert gc.get_threshold() == BUILDING_THRESHOLDS
    assert gc.get_threshold() == before
