"""The cyclic garbage collector's schedule while kdeploy builds large trees of plain objects.

Rendering an environment creates millions of dicts, lists and strings that all survive until the
command ends (the values, the parsed manifests, the output text). With Python's default thresholds
(700, 10, 10) the collector keeps walking that growing heap, looking for cycles that plain YAML
data never forms: at 1,000 realistic apps a quarter of `kdeploy render`'s CPU time went to it
(docs/performance.md). `building()` raises the thresholds for the span of such work, so young
objects are still collected regularly and nothing is disabled, then restores the previous
schedule.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# A young collection per 10,000 net allocations instead of 700; the oldest generation after
# 50 x 100 of those. Measured in benchmarks/render.py; lower values give back most of the cost.
BUILDING_THRESHOLDS = (10_000, 50, 100)


@contextmanager
def building() -> Iterator[None]:
    """Collect less often inside the `with` block (see the module doc); nests and restores."""
    previous = gc.get_threshold()
    gc.set_threshold(*BUILDING_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
