"""Time per transaction of a larger bank against a smaller one, the run's beside the floor's.

Usage::

    python benchmarks/per_transaction.py SMALL.json LARGE.json

``SMALL.json`` and ``LARGE.json`` are ``floor.py --json`` results of two banks (#16's
goal: a 3M-customer run at most 1.2x the 1M run's time per transaction). The floor's own
growth is printed beside the run's: the floor's five steps contain nothing of ours, so where
the floor's time per transaction grows as much as the run's, the growth is the machine's
(memory, caches), not the code's. Older results without the per-transaction fields are
computed from their seconds and transaction counts.

Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def per_transaction(result: dict[str, Any]) -> tuple[float, float]:
    """Microseconds per transaction of the run and of the floor in one ``floor.py`` result.

    Parameters
    ----------
    result : dict
        A ``floor.py`` result (``run_seconds``, ``floor_seconds`` and ``transactions``;
        ``run_us_per_transaction`` and ``floor_us_per_transaction`` where written).

    Returns
    -------
    (float, float)
        Run and floor microseconds per transaction.
    """
    n = max(int(result["transactions"]), 1)
    run = result.get("run_us_per_transaction", 1e6 * result["run_seconds"] / n)
    floor = result.get("floor_us_per_transaction", 1e6 * result["floor_seconds"] / n)
    return float(run), float(floor)


def growth(small: dict[str, Any], large: dict[str, Any]) -> dict[str, float]:
    """How much the time per transaction grows from ``small`` to ``large``.

    Parameters
    ----------
    small, large : dict
        ``floor.py`` results of the smaller and the larger bank.

    Returns
    -------
    dict
        ``run`` and ``floor``: the larger bank's microseconds per transaction over the
        smaller's (1.0: the same per transaction), and ``run_over_floor``: the run's
        growth over the floor's (below 1: the run grew less than the floor did).
    """
    run_s, floor_s = per_transaction(small)
    run_l, floor_l = per_transaction(large)
    run, floor = run_l / run_s, floor_l / floor_s
    return {"run": round(run, 3), "floor": round(floor, 3), "run_over_floor": round(run / floor, 3)}


def main(argv: list[str]) -> None:
    small, large = (json.loads(Path(a).read_text()) for a in argv[:2])
    for name, result in (("smaller", small), ("larger", large)):
        run, floor = per_transaction(result)
        print(
            f"{name}: {result['transactions']:,} transactions, run {run:.2f} µs, "
            f"floor {floor:.2f} µs per transaction"
        )
    g = growth(small, large)
    print(
        f"per transaction, larger over smaller: run {g['run']:.2f}x, floor {g['floor']:.2f}x "
        f"(run over floor {g['run_over_floor']:.2f})"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
