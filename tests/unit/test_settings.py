"""``--settings FILE``: analysis settings from TOML, checked like mappings, in run.json."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from graphprofile.analysis.settings import DEFAULT_LAYER_WEIGHTS, AnalysisSettings, load_settings
from graphprofile.cli import main
from graphprofile.errors import ConfigError

DATA = Path(__file__).resolve().parents[1] / "data" / "foreign"
MAPPING = Path(__file__).resolve().parents[2] / "loaders" / "example_foreign.toml"


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_settings_file_sets_what_it_names_and_keeps_the_rest(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "resolution = 1.5\nhub_threshold = 40\nrisk_high = 0.8\nring_min_risk = 0.6\n"
        "flow_window_days = 14\ninfluence_percentiles = [2, 10]\n"
        "[layer_weights]\ncounterparties = 0.5\n",
    )
    s = load_settings(path)
    assert (s.resolution, s.hub_threshold, s.risk_high, s.ring_min_risk) == (1.5, 40, 0.8, 0.6)
    assert s.flow_window_days == 14.0 and s.influence_percentiles == (2.0, 10.0)
    assert s.layer_weights == {**DEFAULT_LAYER_WEIGHTS, "counterparties": 0.5}
    assert s.fan_window_days == AnalysisSettings().fan_window_days
    assert load_settings(_file(tmp_path, "")) == AnalysisSettings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("risk_hihg = 0.9", r"unknown setting 'risk_hihg'; known: anomaly_trees, "),
        ("resolution = 'high'", r"resolution must be a number, not 'high'"),
        ("hub_threshold = 2.5", r"hub_threshold must be a whole number, not 2\.5"),
        ("multiplex = 1", r"multiplex must be true or false, not 1"),
        ("[layer_weights]\nmoney = 'x'", r"layer_weights must be a table of numbers"),
        ("risk_high = 1.5", r"risk thresholds must satisfy 0 <= risk_medium <= risk_high <= 1"),
        ("resolution = 0", r"resolution must be greater than 0"),
        ("fan_window_days = -1", r"fan_window_days must be greater than 0"),
        ("[layer_weights]\nshops = 1", r"unknown layer\(s\) in layer_weights: \['shops'\]"),
        ("resolution = ", r"is not valid TOML"),
    ],
)
def test_bad_settings_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(ConfigError, match=rf"settings file {path}.*{message}"):
        load_settings(path)


def test_cli_bad_settings_fail_before_any_work(tmp_path: Path, capsys) -> None:
    path = _file(tmp_path, "ring_min_risk = 'low'\n")
    out = tmp_path / "out"
    args = ["run", str(DATA), "--mapping", str(MAPPING), "--out", str(out), "--settings"]
    assert main([*args, str(path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"Error: settings file {path}: ring_min_risk must be a number, not 'low'"
    )
    assert main([*args, str(tmp_path / "missing.toml")]) == 2
    assert "Error: cannot read settings file" in capsys.readouterr().err
    assert not out.exists()


def test_cli_settings_change_the_tags_and_are_recorded(tmp_path: Path, capsys) -> None:
    path = _file(tmp_path, "risk_medium = 0.0\nrisk_high = 0.0\n")
    out = tmp_path / "out"
    args = ["run", str(DATA), "--mapping", str(MAPPING), "--out", str(out), "--quiet"]
    assert main([*args, "--settings", str(path)]) == 0
    summary = json.loads((out / "run.json").read_text())
    assert summary["parameters"]["settings"] == str(path)
    assert summary["analysis"]["settings"]["risk_high"] == 0.0
    tags = pd.read_parquet(out / "tags.parquet")
    features = pd.read_parquet(out / "features.parquet")
    high = set(tags.loc[tags["tag"] == "risk:high", "customer_id"])
    assert high == set(features["customer_id"])  # every score is >= 0
    assert main(args) == 0
    summary = json.loads((out / "run.json").read_text())
    assert summary["parameters"]["settings"] == "default"
    assert summary["analysis"]["settings"] == AnalysisSettings().as_dict()
