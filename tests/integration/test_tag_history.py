"""``run --previous`` writes ``changes.*``, counts them in run.json and shows them in the report."""

from __future__ import annotations

import json

import pandas as pd

from graphprofile.changes import summarise_changes, tag_changes


def test_changes_table_summary_and_report(profile_runs) -> None:
    week1, week2 = profile_runs
    changes = pd.read_parquet(week2 / "changes.parquet")
    summary = json.loads((week2 / "run.json").read_text())
    expected = tag_changes(
        pd.read_parquet(week1 / "tags.parquet"),
        pd.read_parquet(week2 / "tags.parquet"),
        previous_run_id=json.loads((week1 / "run.json").read_text())["run_id"],
        run_id=summary["run_id"],
        computed_at=pd.Timestamp(summary["started_at"]),
    )
    pd.testing.assert_frame_equal(changes, expected, check_dtype=False)
    assert summary["outputs"]["changes"] == "changes.parquet"
    assert summary["analysis"]["tag_changes"] == summarise_changes(changes)
    gained = changes[(changes["tag"] == "risk:high") & (changes["change"] == "gained")]
    assert len(gained) > 0

    report = (week2 / "report.html").read_text()
    assert "Tag changes since the previous run" in report
    top = gained.sort_values("new_score", ascending=False)["customer_id"].iloc[0]
    assert top in report
    assert not (week1 / "changes.parquet").exists()


def test_a_rerun_without_previous_does_not_report_stale_changes(profile_runs, tmp_path) -> None:
    import shutil

    from graphprofile.sinks.report import write_report_for

    _, week2 = profile_runs
    out = tmp_path / "out"
    shutil.copytree(week2, out)
    summary = json.loads((out / "run.json").read_text())
    del summary["outputs"]["changes"]  # as a later run without --previous writes it
    (out / "run.json").write_text(json.dumps(summary))
    assert "Tag changes since the previous run" not in write_report_for(out).read_text()
