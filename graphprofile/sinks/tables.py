"""Write result tables as Parquet, CSV or JSON Lines, atomically (temp file + rename)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from graphprofile.errors import OutputError

FORMATS = ("parquet", "csv", "jsonl")


def _flatten(df: pd.DataFrame) -> pd.DataFrame:
    """Lists and dicts become JSON text for the text formats."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            sample = out[col].dropna()
            if len(sample) and isinstance(sample.iloc[0], list | tuple | dict | np.ndarray):
                out[col] = out[col].map(
                    lambda v: (
                        None
                        if v is None
                        else json.dumps(v.tolist() if isinstance(v, np.ndarray) else v)
                    )
                )
    return out


def write_table(df: pd.DataFrame, out_dir: Path, name: str, fmt: str = "parquet") -> Path:
    """Write ``df`` to ``out_dir/name.<fmt>`` via a temporary file, so readers never see half.

    Raises
    ------
    OutputError
        When the directory cannot be written (permissions, disk full).
    """
    if fmt not in FORMATS:
        raise OutputError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")
    path = Path(out_dir) / f"{name}.{fmt}"
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            df.to_parquet(tmp, index=False)
        elif fmt == "csv":
            _flatten(df).to_csv(tmp, index=False)
        else:
            _flatten(df).to_json(tmp, orient="records", lines=True, date_format="iso")
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        raise OutputError(_cannot_write(path, exc)) from None
    return path


def _discard(tmp: Path) -> None:
    """Remove a half-written temporary file; a failure here must not hide the first error."""
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)


def _cannot_write(path: Path, exc: OSError) -> str:
    hint = "free some disk space" if exc.errno == errno.ENOSPC else "check the output directory"
    return f"cannot write {path}: {exc.strerror or exc}; {hint} and run again"


def write_json(data: dict, path: Path) -> Path:
    """Write a JSON document atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        raise OutputError(_cannot_write(path, exc)) from None
    return path


def read_table(out_dir: Path, name: str) -> pd.DataFrame | None:
    """Read a result table written in any format, or ``None`` when there is none."""
    for fmt in FORMATS:
        path = Path(out_dir) / f"{name}.{fmt}"
        if path.is_file():
            if fmt == "parquet":
                return pd.read_parquet(path)
            if fmt == "csv":
                return pd.read_csv(path)
            return pd.read_json(path, lines=True)
    return None
