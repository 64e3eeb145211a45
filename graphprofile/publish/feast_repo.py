"""A Feast feature repository over a finished run's ``features.parquet``.

Writes text only (``feature_store.yaml`` and ``graphprofile_features.py``); nothing here
imports ``feast``, which is an optional extra (``pip install 'graphprofile[feast]'``).

- ``feature_store.yaml``: project ``graphprofile``, provider ``local``, a file registry and
  the SQLite online store under ``data/``; ``redis="host:port"`` selects Feast's Redis
  online store instead (``pip install 'feast[redis]'``).
- ``data/features.parquet``: the run's features, text typed as Arrow ``string`` (Feast
  reads ``large_string``, which pandas 3 writes, as JSON);
- ``graphprofile_features.py``: Entity ``customer`` (join key ``customer_id``), a
  ``FileSource`` over that ``features.parquet`` with ``computed_at`` as the timestamp field,
  and FeatureView ``customer_graph_features`` with one typed Field per feature.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from graphprofile.errors import InputError, OutputError
from graphprofile.publish.source import read_finished_run

PROJECT = "graphprofile"
ENTITY = "customer"
JOIN_KEY = "customer_id"
TIMESTAMP_FIELD = "computed_at"
FEATURE_VIEW = "customer_graph_features"
DEFINITIONS = "graphprofile_features.py"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.\-]+:[0-9]{1,5}$")


def feast_type(dtype: object) -> str:
    """The ``feast.types`` name for a pandas dtype: Bool, Int64, Float64, UnixTimestamp, String."""
    if pd.api.types.is_bool_dtype(dtype):
        return "Bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "Int64"
    if pd.api.types.is_float_dtype(dtype):
        return "Float64"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "UnixTimestamp"
    return "String"


def _store_yaml(redis: str | None) -> str:
    if redis:
        online = f'online_store:\n  type: redis\n  connection_string: "{redis}"\n'
    else:
        online = "online_store:\n  type: sqlite\n  path: data/online_store.db\n"
    return (
        "# Written by graphprofile feast-repo. Online store: SQLite by default; for Redis,\n"
        "# run `graphprofile feast-repo RUN --out DIR --redis host:port` (feast[redis]).\n"
        f"project: {PROJECT}\n"
        "registry: data/registry.db\n"
        "provider: local\n"
        f"{online}"
        "entity_key_serialization_version: 3\n"
    )


def _definitions(source: Path, fields: list[tuple[str, str]]) -> str:
    types = sorted({kind for _, kind in fields})
    schema = "\n".join(f'        Field(name="{name}", dtype={kind}),' for name, kind in fields)
    return f'''"""Feast definitions for graphprofile's customer graph features (generated)."""

from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource
from feast.types import {", ".join(types)}

{ENTITY} = Entity(name="{ENTITY}", join_keys=["{JOIN_KEY}"])

features_source = FileSource(
    name="graphprofile_features",
    path={str(source)!r},
    timestamp_field="{TIMESTAMP_FIELD}",
)

{FEATURE_VIEW} = FeatureView(
    name="{FEATURE_VIEW}",
    entities=[{ENTITY}],
    ttl=timedelta(days=3650),
    schema=[
{schema}
    ],
    source=features_source,
    online=True,
)
'''


def _write_source(features: pd.DataFrame, path: Path) -> None:
    """The run's features as Parquet that Feast reads as typed: text as ``string``.

    Feast takes Arrow ``large_string`` (what pandas 3 writes) for JSON; the run's CSV or
    JSONL timestamps are parsed back to UTC timestamps.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = features.assign(
        **{TIMESTAMP_FIELD: pd.to_datetime(features[TIMESTAMP_FIELD], utc=True)}
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    schema = pa.schema(
        [
            pa.field(f.name, pa.string()) if pa.types.is_large_string(f.type) else f
            for f in table.schema
        ]
    )
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table.cast(schema), tmp)
    tmp.replace(path)


def write_feast_repo(run_dir: Path, out_dir: Path, *, redis: str | None = None) -> list[Path]:
    """Write a Feast repository for the finished run in ``run_dir``.

    Parameters
    ----------
    run_dir : Path
        A completed run's output directory.
    out_dir : Path
        Where ``feature_store.yaml`` and the definitions go (created; ``data/`` inside holds
        the registry and the SQLite online store once ``feast apply`` runs).
    redis : str, optional
        ``host:port`` of a Redis server to use as the online store instead of SQLite.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    InputError
        The run is not complete, or a feature column name is not a Python identifier.
    OutputError
        ``out_dir`` cannot be written.
    ConfigError
        ``redis`` is not ``host:port``.
    """
    from graphprofile.errors import ConfigError

    if redis is not None and not _HOST_PORT.match(redis):
        raise ConfigError(f"--redis must be host:port, got {redis!r}")
    run = read_finished_run(run_dir)
    features = run.features
    fields = []
    for name in features.columns:
        if name in (JOIN_KEY, TIMESTAMP_FIELD):
            continue
        if not _NAME.match(str(name)):
            raise InputError(f"feature column {name!r} is not a valid Feast field name")
        fields.append((str(name), feast_type(features[name].dtype)))
    out_dir = Path(out_dir)
    source = (out_dir / "data" / "features.parquet").resolve()
    try:
        (out_dir / "data").mkdir(parents=True, exist_ok=True)
        _write_source(features, source)
        yaml_path = out_dir / "feature_store.yaml"
        yaml_path.write_text(_store_yaml(redis))
        defs_path = out_dir / DEFINITIONS
        defs_path.write_text(_definitions(source, fields))
    except OSError as exc:
        raise OutputError(
            f"cannot write the Feast repo in {out_dir}: {exc.strerror or exc}"
        ) from None
    return [yaml_path, defs_path, source]


__all__ = ["FEATURE_VIEW", "feast_type", "write_feast_repo"]
