"""Ring evidence built on request: reason objects only for the rings that are reported.

Candidate rings far outnumber reported ones (the 1M-customer bank's ``run.json``: 9,654 fan
candidates and 259 reported, 202 unusual-transfer groups and 16 reported), and only
reported rings get reasons. A loop that built every candidate's reason objects cost seconds
there (#16); :class:`LazyEvidence` builds each ring's on its first lookup, with the same
code, so the reasons are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from graphprofile.analysis._util import run_starts

#: Reason objects of one ring.
Objects = list[dict[str, Any]]


class LazyEvidence(Mapping[int, Objects]):
    """A read-only ``{ring: reason objects}`` whose values are built on first lookup.

    Parameters
    ----------
    rings : iterable of int
        The rings that have evidence (the keys, in this order).
    build : callable
        ``build(ring)`` returns the reason objects of one of ``rings``; it is called at
        most once per ring.
    """

    def __init__(self, rings: Iterable[int], build: Callable[[int], Objects]) -> None:
        self._rings = [int(r) for r in rings]
        self._known = set(self._rings)
        self._build = build
        self._built: dict[int, Objects] = {}

    def __getitem__(self, ring: int) -> Objects:
        ring = int(ring)
        if ring not in self._known:
            raise KeyError(ring)
        if ring not in self._built:
            self._built[ring] = self._build(ring)
        return self._built[ring]

    def __contains__(self, ring: object) -> bool:
        try:
            return int(ring) in self._known  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return False

    def __iter__(self) -> Iterator[int]:
        return iter(self._rings)

    def __len__(self) -> int:
        return len(self._rings)


class RingRows:
    """The rows of each ring in a ``ring`` column, in their original order.

    The rows ``DataFrame.groupby("ring")`` gives each group, found by one stable argsort
    instead of a pandas group per ring.

    Parameters
    ----------
    ring : numpy.ndarray
        Integer ring of every row.
    """

    def __init__(self, ring: np.ndarray) -> None:
        ring = np.asarray(ring, dtype=np.int64)
        self._order = np.argsort(ring, kind="stable")
        in_order = ring[self._order]
        start = run_starts(in_order)
        end = np.empty_like(start)  # each run ends where the next starts, the last at the end
        end[:-1] = start[1:]
        end[-1:] = len(in_order)
        self.rings = in_order[start]
        spans = zip(start.tolist(), end.tolist(), strict=True)
        self._span = dict(zip(self.rings.tolist(), spans, strict=True))

    def __call__(self, ring: int) -> np.ndarray:
        """Positions of ``ring``'s rows (none for a ring without rows), ascending."""
        a, b = self._span.get(int(ring), (0, 0))
        return self._order[a:b]
