"""The result files a run lists are known before they are written (the run writes them in
a thread beside its report) and are the files written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from graphprofile.errors import OutputError
from graphprofile.outputs import read_table, result_files, write_results


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_result_files_are_the_files_written(tmp_path: Path, fmt: str) -> None:
    features = pd.DataFrame({"customer_id": ["C1", "C2"], "risk_score": [0.1, 0.9]})
    tables = {"features": features, "rings": None}
    listed = result_files(tables, fmt)
    assert listed == {"features": f"features.{fmt}"}  # no file for a missing table
    assert write_results(tables, tmp_path, fmt) == listed
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"features.{fmt}"]
    back = read_table(tmp_path / listed["features"])
    assert back["customer_id"].tolist() == ["C1", "C2"]


def test_result_files_refuse_what_write_results_refuses(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="not a result table"):
        result_files({"secrets": pd.DataFrame()}, "parquet")
    with pytest.raises(OutputError, match="unknown output format"):
        result_files({"features": pd.DataFrame()}, "xlsx")
    with pytest.raises(OutputError, match="not a result table"):
        write_results({"secrets": pd.DataFrame()}, tmp_path, "parquet")
    assert list(tmp_path.iterdir()) == []
