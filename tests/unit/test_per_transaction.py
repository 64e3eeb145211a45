"""benchmarks/per_transaction.py: a larger bank's time per transaction against a smaller's."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "per_transaction.py"


def _module():
    spec = importlib.util.spec_from_file_location("per_transaction", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SMALL = {"run_seconds": 50.0, "floor_seconds": 20.0, "transactions": 10_000_000}
LARGE = {"run_seconds": 180.0, "floor_seconds": 90.0, "transactions": 30_000_000}


def test_growth_of_run_and_floor_known_answer() -> None:
    m = _module()
    # run: 5.0 -> 6.0 µs (1.2x); floor: 2.0 -> 3.0 µs (1.5x); run over floor 0.8
    assert m.per_transaction(SMALL) == pytest.approx((5.0, 2.0))
    assert m.growth(SMALL, LARGE) == {"run": 1.2, "floor": 1.5, "run_over_floor": 0.8}


def test_written_fields_are_preferred_to_seconds() -> None:
    m = _module()
    written = dict(SMALL, run_us_per_transaction=4.0, floor_us_per_transaction=1.0)
    assert m.per_transaction(written) == (4.0, 1.0)


def test_command_prints_both_growths(tmp_path: Path) -> None:
    small, large = tmp_path / "small.json", tmp_path / "large.json"
    small.write_text(json.dumps(SMALL))
    large.write_text(json.dumps(LARGE))
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(small), str(large)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "run 1.20x, floor 1.50x (run over floor 0.80)" in out
    assert "10,000,000 transactions, run 5.00 µs, floor 2.00 µs" in out
