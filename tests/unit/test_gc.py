"""Objects alive when a run starts are left out of the collector's passes, then given back."""

from __future__ import annotations

import gc
import weakref

from graphprofile._gc import frozen_startup_objects


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_startup_objects_are_frozen_during_the_block_and_collected_after() -> None:
    assert gc.get_freeze_count() == 0
    garbage = Cycle()
    old = weakref.ref(garbage)
    with frozen_startup_objects():
        assert gc.get_freeze_count() > 0
        del garbage
        gc.collect()
        assert old() is not None  # frozen: no pass visits it
        with frozen_startup_objects():  # nested: still frozen when the inner block ends
            pass
        assert gc.get_freeze_count() > 0
        made = Cycle()  # created during the block: collected as usual
        new = weakref.ref(made)
        del made
        gc.collect()
        assert new() is None
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert old() is None  # given back: collected once the block has ended
