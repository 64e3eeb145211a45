"""A digest of everything ``graphprofile run`` writes, to tell whether outputs changed.

Used by ``test_output_digest.py`` against the digest stored in
``tests/data/output_digest_20k.json``. To store a new digest, deliberately, after a change
that is meant to change outputs (a generator or analysis change), run from the repository
root::

    .venv/bin/python tests/unit/output_digest.py --update

and commit the JSON file with the change, saying in the commit message why outputs changed.
A speed change must leave the digest as it is.

What is covered: every table file of the run directory (``graph/nodes``, ``graph/edges``,
the result tables, ``rejects/``) column by column (name, Arrow type, every value in row
order) and ``run.json`` without what differs between runs by design: the run id, times and
timings (``run_id``, ``computed_at``, ``started_at``, ``finished_at``, ``seconds``,
``stages``, ``ingest_steps``, ``peak_rss_mb``), where the graph jobs ran (``graph_jobs``:
in this process or a worker; the results are the same), paths (``parameters``,
``outputs``, input files, the report) and package versions. Floating-point values are
compared to 10 significant digits, so that a change of summation order in a speed fix does
not count as an output change while any difference visible in a score, tag or reason does.
The report (HTML) is not run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
DIGEST_FILE = ROOT / "tests" / "data" / "output_digest_20k.json"
#: The bank and the run the stored digest is of.
BANK = {"customers": 20_000, "seed": 1, "run_seed": 1, "pii_key": "output-digest-key"}
#: Columns and run.json keys that differ between two runs of the same input by design.
RUN_KEYS = {"run_id", "computed_at", "started_at", "finished_at", "seconds", "stages"}
RUN_KEYS |= {"peak_rss_mb", "parameters", "packages", "outputs", "report", "source_file"}
RUN_KEYS |= {"graph_jobs", "ingest_steps"}
PACKAGES = ("pandas", "pyarrow", "numpy", "python-igraph", "leidenalg", "scikit-learn")


def _normal(value: Any) -> Any:
    """``value`` with floats to 10 significant digits, recursively; other scalars as text."""
    if isinstance(value, float):
        return value if math.isnan(value) or math.isinf(value) else float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if k not in RUN_KEYS}
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def table_digest(table: pa.Table) -> dict[str, Any]:
    """Rows and, per column (run columns left out), a hash of its type and values."""
    columns = {
        name: _hash([str(column.type), _normal(column.to_pylist())])
        for name, column in zip(table.column_names, table.columns, strict=True)
        if name not in RUN_KEYS
    }
    return {"rows": table.num_rows, "columns": columns}


def _read(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        return pq.read_table(path)
    with path.open("rb") as fh:
        header = fh.readline().decode("utf-8-sig").strip().split(",")
    text = pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()))
    return pacsv.read_csv(path, convert_options=text)


def output_digest(out_dir: Path) -> dict[str, Any]:
    """The digest of the run directory ``out_dir`` (see the module docstring)."""
    tables = {
        str(path.relative_to(out_dir)): table_digest(_read(path))
        for path in sorted(out_dir.rglob("*"))
        if path.suffix in (".parquet", ".csv")
    }
    summary = json.loads((out_dir / "run.json").read_text())
    run = {key: _hash(_normal(value)) for key, value in sorted(summary.items())}
    return {"tables": tables, "run.json": {k: v for k, v in run.items() if k not in RUN_KEYS}}


def package_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in PACKAGES}


def digest_of_bank(work: Path) -> dict[str, Any]:
    """Generate the 20k bank of :data:`BANK` under ``work``, run it, and digest the run."""
    from graphprofile.generate import generate_bank
    from graphprofile.pipeline import RunConfig, run_job

    data, out = work / "bank", work / "out"
    generate_bank(data, customers=BANK["customers"], seed=BANK["seed"])
    previous = os.environ.get("GRAPHPROFILE_PII_KEY")
    os.environ["GRAPHPROFILE_PII_KEY"] = BANK["pii_key"]
    try:
        run_job(RunConfig(data_dir=data, out_dir=out, seed=BANK["run_seed"], report=False))
    finally:
        if previous is None:
            del os.environ["GRAPHPROFILE_PII_KEY"]
        else:
            os.environ["GRAPHPROFILE_PII_KEY"] = previous
    return output_digest(out)


def differences(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Plain-word list of what differs between two digests (empty when they are equal)."""
    lines = []
    old_t, new_t = stored["tables"], current["tables"]
    for name in sorted(set(old_t) | set(new_t)):
        if name not in new_t or name not in old_t:
            lines.append(f"{name}: {'no longer written' if name not in new_t else 'new file'}")
            continue
        old, new = old_t[name], new_t[name]
        if old["rows"] != new["rows"]:
            lines.append(f"{name}: {old['rows']} rows before, {new['rows']} now")
        cols = sorted(set(old["columns"]) | set(new["columns"]))
        changed = [c for c in cols if old["columns"].get(c) != new["columns"].get(c)]
        if changed:
            lines.append(f"{name}: columns changed: {', '.join(changed)}")
    old_r, new_r = stored["run.json"], current["run.json"]
    changed = [k for k in sorted(set(old_r) | set(new_r)) if old_r.get(k) != new_r.get(k)]
    if changed:
        lines.append(f"run.json: {', '.join(changed)} changed")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description="Compute (and with --update store) the digest.")
    ap.add_argument("--update", action="store_true", help=f"write {DIGEST_FILE.name}")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="gp-digest-") as tmp:
        current = digest_of_bank(Path(tmp))
    document = {"bank": BANK, "packages": package_versions(), **current}
    if DIGEST_FILE.is_file():
        found = differences(json.loads(DIGEST_FILE.read_text()), document)
        print("\n".join(found) if found else "outputs identical to the stored digest")
    if args.update:
        DIGEST_FILE.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
        print(f"digest written to {DIGEST_FILE}")


if __name__ == "__main__":
    main()
