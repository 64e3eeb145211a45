"""The CLI is documented: every command has help with an example and appears in the README."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
from rich.console import Console

from graphprofile.cli import app, main
from graphprofile.cli.core import RichReporter
from graphprofile.pipeline import RunConfig, run_job

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _commands() -> dict[str, Any]:
    root = typer.main.get_command(app)
    found: dict[str, Any] = {}

    def walk(group: Any, prefix: str) -> None:
        for name, cmd in group.commands.items():
            full = f"{prefix} {name}".strip()
            if hasattr(cmd, "commands"):
                walk(cmd, full)
            else:
                found[full] = cmd

    walk(root, "")
    return found


def test_core_commands_exist() -> None:
    assert {"run", "demo"} <= set(_commands())


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_has_help_example_and_readme_entry(name: str) -> None:
    cmd = _commands()[name]
    assert cmd.help and cmd.help.strip().splitlines()[0], f"{name} has no summary line"
    assert f"graphprofile {name}" in cmd.help, f"{name} help lacks an example invocation"
    assert f"`graphprofile {name}" in README, f"{name} is not documented in the README"


@pytest.mark.parametrize("name", sorted(_commands()))
def test_help_exits_zero(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*name.split(), "--help"]) == 0
    assert "Usage" in capsys.readouterr().out


def test_missing_data_dir_is_a_clear_error(tmp_path: Path, capsys) -> None:
    rc = main(["run", str(tmp_path / "nope"), "--out", str(tmp_path / "out")])
    assert rc == 2
    assert (
        capsys.readouterr().err.strip()
        == f"Error: data directory {tmp_path / 'nope'} does not exist"
    )


def test_run_json_summary_reconciles(tmp_path: Path, capsys) -> None:
    data = Path(__file__).resolve().parents[1] / "data" / "foreign"
    mapping = Path(__file__).resolve().parents[2] / "loaders" / "example_foreign.toml"
    args = ["--mapping", str(mapping), "--out", str(tmp_path), "--json", "--workers", "1"]
    assert main(["run", str(data), *args]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["parameters"]["workers"] == 1
    assert summary["analysis"]["graph_jobs"] == {"where": "this process"}
    steps = summary["ingest_steps"]
    assert list(steps) == [
        "read",
        "parse cells",
        "row rules, identifiers, duplicates",
        "references",
        "pseudonymise",
    ]
    for step in ("read", "parse cells", "row rules, identifiers, duplicates"):
        assert steps[step]["rows"] == summary["rows"]["read"]
    assert all(s["seconds"] >= 0 for s in steps.values())
    assert summary == json.loads((tmp_path / "run.json").read_text())
    for stats in summary["tables"].values():
        assert stats["read"] == stats["accepted"] + stats["rejected"]
    assert summary["tables"]["transactions"] == {
        "source_file": str(data / "zahlungen.csv"),
        "read": 7,
        "accepted": 4,
        "rejected": 3,
        "duplicates_merged": 0,
        "merged": 0,
    }
    assert summary["graph"]["nodes"]["customer"] == 4
    assert summary["graph"]["edges"]["TRANSFER"] == 3
    assert summary["status"] == "complete"


def test_console_summary_shows_results_rejects_and_skipped(tmp_path: Path, capsys) -> None:
    data = Path(__file__).resolve().parents[1] / "data" / "foreign"
    mapping = Path(__file__).resolve().parents[2] / "loaders" / "example_foreign.toml"
    assert main(["run", str(data), "--mapping", str(mapping), "--out", str(tmp_path)]) == 0
    text = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    summary = json.loads((tmp_path / "run.json").read_text())
    res = summary["results"]
    com = res["communities"]
    assert f"Communities: {com['count']} ({com['singletons']} singletons" in text
    assert "Rings: none found" in text and res["rings_total"] == 0
    assert f"Customers tagged risk:high: {res['risk_high']}" in text
    assert "Rejected rows of transactions: 3 of 7 (42.9%)" in text
    assert "1 × unparsable amount (e.g. rows 7; the values are in rejects/ and run.json)" in text
    assert f"Report: {tmp_path / 'report.html'}" in text


def test_skipped_analyses_are_on_the_console(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "transactions.csv").write_text(
        "txn_id,from_account,to_account,amount,ts\nt1,a,b,5,2024-01-01\nt2,b,c,7,2024-01-02\n"
    )
    assert main(["run", str(data), "--out", str(tmp_path / "out")]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Skipped: identity rings (no devices or identifiers table)" in text
    assert "Skipped: fraud proximity (no customer is flagged known_fraud)" in text


def test_version_and_one_error_style(capsys) -> None:
    from graphprofile import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"graphprofile {__version__}"
    assert main(["run"]) == 2  # a usage error: the same "Error: …" line, no box
    err = capsys.readouterr().err
    assert "Error: Missing argument" in err and "╭" not in err and "│" not in err


@pytest.mark.parametrize("name", sorted(_commands()))
def test_help_has_no_placeholders_or_boxes(name: str, capsys) -> None:
    assert main([*name.split(), "--help"]) == 0
    out = capsys.readouterr().out
    assert "<bool>" not in out and "╭" not in out


def test_run_directory_and_output_files_are_the_same_kind_everywhere() -> None:
    commands = _commands()
    for name in ("explain", "report", "export-subgraph", "evaluate"):
        first = commands[name].params[0]
        assert first.param_type_name == "argument" and first.name == "out_dir", name
    for name in ("export-subgraph", "bloom perspective"):
        opts = {o for p in commands[name].params for o in getattr(p, "opts", [])}
        assert "--output" in opts and "--out" not in opts, name
    for name in ("generate", "demo"):
        opts = {o for p in commands[name].params for o in getattr(p, "opts", [])}
        assert {"-n", "--customers"} <= opts, name


def test_run_without_report(tmp_path: Path) -> None:
    data = Path(__file__).resolve().parents[1] / "data" / "foreign"
    mapping = Path(__file__).resolve().parents[2] / "loaders" / "example_foreign.toml"
    args = ["run", str(data), "--mapping", str(mapping), "--out", str(tmp_path), "-q"]
    assert main([*args, "--no-report"]) == 0
    assert not (tmp_path / "report.html").exists()
    assert "report" not in json.loads((tmp_path / "run.json").read_text())["outputs"]


def _run_with(console: Console, tmp_path: Path) -> str:
    root = Path(__file__).resolve().parents[2]
    config = RunConfig(
        data_dir=root / "tests" / "data" / "foreign",
        out_dir=tmp_path / "out",
        mapping=root / "loaders" / "example_foreign.toml",
        report=False,
    )
    run_job(config, RichReporter(False, console))
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", console.file.getvalue())


def test_progress_bars_with_counts_on_a_terminal_only(tmp_path: Path) -> None:
    shown = _run_with(Console(file=io.StringIO(), force_terminal=True, width=120), tmp_path)
    assert {"0/6", "3/6", "5/6"} <= set(re.findall(r"\d/\d", shown))  # tables, analysis jobs
    assert "━" in shown  # a bar, not a spinner
    logged = _run_with(Console(file=io.StringIO(), force_terminal=False), tmp_path)
    assert re.findall(r"\d/\d", logged) == [] and "━" not in logged
    assert "✓ analysis (" in logged  # one line per finished stage
    quiet = Console(file=io.StringIO(), force_terminal=True)
    root = Path(__file__).resolve().parents[2]
    config = RunConfig(
        data_dir=root / "tests" / "data" / "foreign",
        out_dir=tmp_path / "o2",
        mapping=root / "loaders" / "example_foreign.toml",
        report=False,
    )
    run_job(config, RichReporter(True, quiet))
    assert quiet.file.getvalue() == ""  # --quiet: nothing at all
