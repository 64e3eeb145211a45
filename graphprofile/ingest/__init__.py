"""Ingest stage: source files + mapping → validated, pseudonymised canonical :class:`Frames`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphprofile.errors import InputError
from graphprofile.frames import LOAD_ORDER, TABLES, Frames, TableStats
from graphprofile.ingest import statements, wide
from graphprofile.ingest.layouts import STATEMENT_REQUIRED
from graphprofile.ingest.mapping import Mapping, TableMapping, load_mapping
from graphprofile.ingest.normalise import normalise_identifiers
from graphprofile.ingest.parse import show
from graphprofile.ingest.pii import Pseudonymiser, key_from_env_or_data, pii_kind
from graphprofile.ingest.read import ROW, find_file, read_table
from graphprofile.ingest.validate import (
    RejectLog,
    dedupe,
    keep_safe_attributes,
    parse_cells,
    shape_rules,
)

__all__ = ["load_frames", "load_mapping"]

_DTYPES = {"id": "string", "str": "string", "pii": "string", "amount": "float64", "bool": "bool"}


def is_in(values: pd.Series, known: pd.Series) -> pd.Series:
    """``values.isin(known)`` for text columns, done by Arrow (pandas loops in Python here)."""
    arr = pa.array(values.astype("string"), from_pandas=True, type=pa.string())
    value_set = pa.array(known.astype("string").dropna().unique(), type=pa.string())
    found = pc.is_in(arr, value_set=value_set, skip_nulls=True).fill_null(False)
    return pd.Series(found.to_numpy(zero_copy_only=False).astype(bool), index=values.index)


def _empty(table: str) -> pd.DataFrame:
    cols = {}
    for column, (kind, _) in TABLES[table].items():
        dtype = "datetime64[ns, UTC]" if kind == "ts" else _DTYPES[kind]
        cols[column] = pd.Series(dtype=dtype)
    return pd.DataFrame(cols)


def _complete(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Add missing canonical columns (typed, null) and drop the row-number column."""
    empty = _empty(table)
    for column in empty.columns:
        if column not in df:
            if empty[column].dtype == bool:
                df[column] = False
            else:
                df[column] = pd.Series(pd.NA, index=df.index).astype(empty[column].dtype)
    ordered = list(empty.columns) + [c for c in df.columns if c not in empty and c != ROW]
    return df[ordered].reset_index(drop=True)


class _Loader:
    def __init__(self, data_dir: Path, mapping: Mapping, now: pd.Timestamp) -> None:
        self.data_dir = data_dir
        self.mapping = mapping
        self.now = now
        self.rejects = RejectLog()
        self.stats: dict[str, TableStats] = {}
        self.notices: list[str] = []
        self.files: dict[str, str] = {}

    def reject(
        self,
        table: str,
        df: pd.DataFrame,
        mask: pd.Series,
        reason: pd.Series | str,
        column: str | pd.Series | None,
    ) -> pd.DataFrame:
        """Log ``df[mask]`` as rejected and return the rows that remain."""
        mask = mask.reindex(df.index).fillna(False).astype(bool)
        if mask.any():
            bad = df[mask]
            reasons = (
                reason[mask]
                if isinstance(reason, pd.Series)
                else pd.Series(reason, index=bad.index)
            )
            col = column[mask] if isinstance(column, pd.Series) else column
            key = df[TABLE_KEY[table]][mask] if TABLE_KEY[table] in df else None
            self.rejects.add(table, self.files[table], bad[ROW], reasons, key, col)
            self.stats[table].rejected += int(mask.sum())
            return df[~mask]
        return df

    def read_rows(self, table: str) -> pd.DataFrame | None:
        tm = self.mapping.tables.get(table)
        if tm is None:
            return None
        path = find_file(self.data_dir, tm)
        if path is None:
            if table == "transactions" or tm.explicit_columns or not self.mapping.is_default:
                raise InputError(
                    f"{self.data_dir}: no file for table '{table}' (mapping entry "
                    f"tables.{table}.file = {tm.file!r}; looked for "
                    f"{tm.file if '.' in tm.file else tm.file + '.parquet or .csv'})"
                )
            return None
        required = {c for c, (_, req) in TABLES[table].items() if req}
        if tm.kinds:
            raw = wide.read_wide_identifiers(path, tm)
        elif table == "devices" and (tm.from_table or tm.separator):
            raw = wide.read_devices(path, tm, required)
        elif tm.statement is not None:
            raw = read_table(path, tm, set(STATEMENT_REQUIRED))
        else:
            raw = read_table(path, tm, required)
        pre_reason = pre_column = None
        if tm.statement is not None:
            raw.frame, pre_reason, pre_column = statements.to_transfers(raw.frame, tm.statement)
        if table == "transactions" and not {"to_account", "to_counterparty"} & set(raw.frame):
            raise InputError(
                f"{path}: needs a to_account or a to_counterparty column (mapping entries "
                "tables.transactions.columns.to_account / .to_counterparty)"
            )
        # columns that identifiers or devices read from this file (from_table) belong to them:
        # neither ignored nor kept as customer attributes
        used = wide.read_by_others(self.mapping, table)
        own = {*TABLES[table], *tm.attributes}
        raw.frame = raw.frame.drop(columns=[c for c in used if c in raw.frame and c not in own])
        ignored = [c for c in raw.ignored_columns if c not in used]
        if ignored:
            self.notices.append(f"{path.name}: unmapped column(s) ignored: {', '.join(ignored)}")
        self.files[table] = str(path)
        self.stats[table] = TableStats(table=table, source_file=str(path), read=raw.read)
        if raw.invalid:
            rows = pd.Series([r for r, _ in raw.invalid])
            self.rejects.add(
                table, str(path), rows, pd.Series([w for _, w in raw.invalid]), None, "(row)"
            )
            self.stats[table].rejected += len(raw.invalid)
        df, reason, column = parse_cells(raw, tm, self.now)
        if pre_reason is not None:
            column = pre_column.where(pre_reason.notna(), column)
            reason = pre_reason.fillna(reason)
        reason = shape_rules(table, df, reason)
        column = column.fillna(pd.Series("(row)", index=df.index).where(reason.notna()))
        df = self.reject(table, df, reason.notna(), reason, column)
        if tm.statement is not None:
            mirrors = statements.mirror_mask(df, tm.statement)
            self.stats[table].merged = int(mirrors.sum())
            df = statements.drop_hidden(df[~mirrors])
        if table == "identifiers":
            df = self.normalise_identifiers(df, tm)
        merged, conflict, why = dedupe(table, df)
        df = self.reject(table, df, conflict, why, KEY_COLUMN.get(table))
        self.stats[table].duplicates_merged = int(merged.sum())
        df = df[~merged.reindex(df.index).fillna(False).astype(bool)]
        if table == "customers":
            df = keep_safe_attributes(df, self.notices, path.name)
        return df

    def normalise_identifiers(self, df: pd.DataFrame, tm: TableMapping) -> pd.DataFrame:
        """Normalise identifier values (:mod:`~graphprofile.ingest.normalise`); reject bad IDs."""
        values, reason = normalise_identifiers(
            df["kind"],
            df["value"],
            phone_country_code=tm.option("phone_country_code"),
            national_id_format=tm.option("national_id_format"),
        )
        df = df.assign(value=values)
        return self.reject("identifiers", df, reason.notna(), reason, "value")

    def dangling(
        self, table: str, df: pd.DataFrame, column: str, known: pd.Series, what: str
    ) -> pd.DataFrame:
        if column not in df:
            return df
        values = df[column]
        bad = values.notna() & ~is_in(values, known)
        if not bad.any():
            return df
        reason = pd.Series(pd.NA, index=df.index, dtype="string")
        reason[bad] = f"dangling reference: {column} " + show(values[bad]) + f" is not in {what}"
        return self.reject(table, df, bad, reason, column)


TABLE_KEY = {
    t: (k or "customer_id")
    for t, k in {
        "transactions": "txn_id",
        "accounts": "account_id",
        "customers": "customer_id",
        "devices": "device_id",
        "identifiers": "customer_id",
        "counterparties": "counterparty_id",
    }.items()
}
KEY_COLUMN = {
    "transactions": "txn_id",
    "accounts": "account_id",
    "customers": "customer_id",
    "counterparties": "counterparty_id",
}


def load_frames(
    data_dir: Path,
    mapping: Path | Mapping | None = None,
    *,
    now: pd.Timestamp | None = None,
    progress: Callable[[str], None] | None = None,
) -> Frames:
    """Read, validate and pseudonymise every table of ``data_dir`` into canonical frames.

    Parameters
    ----------
    data_dir : Path
        Directory with one ``.csv`` or ``.parquet`` file per table.
    mapping : Path or Mapping, optional
        Source mapping; default is ``loaders/default.toml`` (our own layout).
    now : pandas.Timestamp, optional
        Reference time for "timestamp in the future" (default: the current time).
    progress : callable, optional
        Called with the name of each table as it is read.

    Returns
    -------
    Frames
        Accepted rows of every table, the rejects, and per-table row accounting in which
        ``read == accepted + rejected`` holds.

    Raises
    ------
    InputError
        Missing data directory or required file, unreadable file, missing mapped column.
    MappingError
        Invalid mapping file.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"data directory {data_dir} does not exist")
    mapping = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    ld = _Loader(data_dir, mapping, now)
    tables: dict[str, pd.DataFrame | None] = {}
    for table in LOAD_ORDER:
        if progress:
            progress(table)
        tables[table] = ld.read_rows(table)
    present = {t for t, df in tables.items() if df is not None}
    txns = tables["transactions"]
    assert txns is not None

    customers, accounts = tables["customers"], tables["accounts"]
    n_derived = 0
    if accounts is None:
        ids = pd.concat([txns["from_account"], txns.get("to_account", pd.Series(dtype="string"))])
        ids = pd.Series(pd.unique(ids.dropna()), dtype="string")
        accounts = pd.DataFrame({"account_id": ids, "customer_id": ids})
        ld.notices.append("no accounts table: each account stands for its own customer")
    if customers is None:
        customers = pd.DataFrame(
            {"customer_id": pd.Series(pd.unique(accounts["customer_id"].dropna()), dtype="string")}
        )
        if "accounts" in present:
            ld.notices.append("no customers table: customers derived from accounts.customer_id")
    else:
        if "accounts" in present:
            accounts = ld.dangling(
                "accounts", accounts, "customer_id", customers["customer_id"], "customers"
            )
        else:
            extra = accounts.loc[
                ~is_in(accounts["customer_id"], customers["customer_id"]), ["customer_id"]
            ]
            n_derived = len(extra)
            customers = pd.concat([customers, extra], ignore_index=True)

    counterparties = tables["counterparties"]
    if "to_counterparty" in txns:
        if counterparties is not None:
            txns = ld.dangling(
                "transactions",
                txns,
                "to_counterparty",
                counterparties["counterparty_id"],
                "counterparties",
            )
        else:
            ids = pd.unique(txns["to_counterparty"].dropna())
            counterparties = pd.DataFrame({"counterparty_id": pd.Series(ids, dtype="string")})
    if counterparties is None:
        counterparties = _empty("counterparties")

    devices = tables["devices"]
    if devices is not None:
        devices = ld.dangling("devices", devices, "account_id", accounts["account_id"], "accounts")
        if "account_id" in devices:
            owner = devices["account_id"].map(accounts.set_index("account_id")["customer_id"])
            if "customer_id" in devices:
                clash = (
                    devices["customer_id"].notna()
                    & owner.notna()
                    & (devices["customer_id"] != owner)
                )
                devices = ld.reject(
                    "devices",
                    devices,
                    clash,
                    "customer_id differs from the owner of account_id",
                    "customer_id",
                )
                owner = owner[devices.index]
                devices = devices.assign(customer_id=devices["customer_id"].fillna(owner))
            else:
                devices = devices.assign(customer_id=owner)
        devices = ld.dangling(
            "devices", devices, "customer_id", customers["customer_id"], "customers"
        )
    identifiers = tables["identifiers"]
    if identifiers is not None:
        identifiers = ld.dangling(
            "identifiers", identifiers, "customer_id", customers["customer_id"], "customers"
        )
    txns = ld.dangling("transactions", txns, "from_account", accounts["account_id"], "accounts")
    txns = ld.dangling("transactions", txns, "to_account", accounts["account_id"], "accounts")

    # Pseudonymise PII before the frames leave the loader: names, IPs, identifier values and
    # customer attributes whose names say they are PII (email, phone_number, address…).
    pii_attributes = {
        c: kind
        for c in customers.columns
        if c not in TABLES["customers"] and c != ROW and (kind := pii_kind(c))
    }
    if pii_attributes:
        ld.notices.append(
            "customers: attribute(s) "
            + ", ".join(sorted(pii_attributes))
            + " look like PII and are pseudonymised like names"
        )
    samples = [
        s
        for s in (
            customers.get("name"),
            *(customers[c] for c in sorted(pii_attributes)),
            devices.get("ip") if devices is not None else None,
            identifiers.get("value") if identifiers is not None else None,
        )
        if s is not None
    ]
    key, notice = key_from_env_or_data(samples)
    ld.notices.append(notice)
    pseud = Pseudonymiser(key)
    del key
    if "name" in customers:
        customers = customers.assign(name=pseud.hash_series(customers["name"]))
    for column, kind in pii_attributes.items():
        customers[column] = pseud.hash_series(customers[column], kind)
    if devices is not None and "ip" in devices:
        devices = devices.assign(ip=pseud.hash_series(devices["ip"], "ip"))
    if identifiers is not None:
        kind = identifiers["kind"].str.lower()
        hashed = pd.Series(pd.NA, index=identifiers.index, dtype="string")
        for k in sorted(pd.unique(kind.dropna())):
            sel = kind == k
            hashed[sel] = pseud.hash_series(identifiers.loc[sel, "value"], k)
        identifiers = identifiers.assign(kind=kind, value=hashed)

    for stat in ld.stats.values():
        stat.accepted = stat.read - stat.rejected - stat.merged
    frames = Frames(
        transactions=_complete("transactions", txns),
        accounts=_complete("accounts", accounts),
        customers=_complete("customers", customers),
        devices=_complete("devices", devices if devices is not None else _empty("devices")),
        identifiers=_complete(
            "identifiers", identifiers if identifiers is not None else _empty("identifiers")
        ),
        counterparties=_complete("counterparties", counterparties),
        rejects=ld.rejects.frame(),
        stats=ld.stats,
        present=present,
        notices=ld.notices,
    )
    for table, stat in ld.stats.items():
        kept = len(frames.table(table)) - (n_derived if table == "customers" else 0)
        assert kept + stat.duplicates_merged == stat.accepted, (table, kept, stat)
    return frames
