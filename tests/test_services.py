"""Process start-up: what a long-lived rex process does once everything is loaded."""

from __future__ import annotations

import gc

from rex.services import settle_heap


def test_settling_the_heap_hides_everything_loaded_from_the_collector():
    gc.unfreeze()
    try:
        settle_heap()
        assert gc.get_freeze_count() > 50_000  # modules, models, app: all of start-up
        assert gc.get_count()[0] < 100  # and the young generation starts empty
    finally:
        gc.unfreeze()  # tests are not a long-lived process
