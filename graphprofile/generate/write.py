"""Turn the integer-coded bank into the canonical tables and write them, plus ``truth/``.

CSV timestamps are ISO-8601 UTC strings (``2025-03-04T10:22:31Z``); Parquet timestamps
are ``timestamp[us, UTC]``. Output bytes depend only on the seed and the parameters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from graphprofile.errors import OutputError
from graphprofile.frames import TABLES
from graphprofile.generate import names
from graphprofile.generate.devices import DeviceUses
from graphprofile.generate.params import DAY, BankParams, Txns
from graphprofile.generate.population import ACCOUNT_TYPES, CP_KINDS, SEGMENTS, Population
from graphprofile.generate.rings import RingPlan

TS_COLUMNS = {"ts", "opened_at", "seen_at"}
CHUNK = 1_000_000
#: Tables whose values can never hold a delimiter or quote are written unquoted.
_UNQUOTED = {"transactions", "accounts", "devices"}


def _type(table: str, column: str, fmt: str) -> pa.DataType:
    kind = TABLES[table][column][0]
    if kind == "amount":
        return pa.float64()
    if kind == "bool":
        return pa.bool_()
    if kind == "ts" and fmt == "parquet":
        return pa.timestamp("us", tz="UTC")
    return pa.string()


_TOD: pa.Array | None = None


def iso_times(ts: np.ndarray) -> pa.Array:
    """Epoch seconds → ``YYYY-MM-DDTHH:MM:SSZ`` strings, via day and second lookup tables."""
    global _TOD
    if _TOD is None:
        s = np.arange(DAY)
        _TOD = names.join(
            names.digits(s // 3600, 2), ":", names.digits(s // 60 % 60, 2), ":",
            names.digits(s % 60, 2), "Z",
        )  # fmt: skip
    if len(ts) == 0:
        return pa.array([], pa.string())
    day = ts // DAY
    d0 = int(day.min())
    dates = np.datetime_as_string(np.arange(d0, int(day.max()) + 1).astype("datetime64[D]"))
    table = pa.array([d + "T" for d in dates.tolist()], pa.string())
    return names.join(pc.take(table, pa.array(day - d0)), pc.take(_TOD, pa.array(ts - day * DAY)))


class TableWriter:
    """Writes one canonical table in batches, as CSV or Parquet, columns in contract order."""

    def __init__(self, out_dir: Path, table: str, fmt: str):
        self.table, self.fmt = table, fmt
        self.path = out_dir / f"{table}.{fmt}"
        other = out_dir / f"{table}.{'parquet' if fmt == 'csv' else 'csv'}"
        other.unlink(missing_ok=True)  # a stale file of the other format would be ambiguous
        self.schema = pa.schema([(c, _type(table, c, fmt)) for c in TABLES[table]])
        try:
            if fmt == "csv":
                # plain header line (pyarrow would quote the names), then the rows
                self.sink = open(self.path, "wb")
                self.sink.write((",".join(self.schema.names) + "\n").encode())
                style = "none" if table in _UNQUOTED else "needed"
                opts = pacsv.WriteOptions(include_header=False, quoting_style=style)
                self.writer = pacsv.CSVWriter(self.sink, self.schema, write_options=opts)
            else:
                self.writer = pq.ParquetWriter(str(self.path), self.schema, compression="zstd")
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc}") from exc
        self.rows = 0

    def write(self, cols: dict[str, pa.Array | np.ndarray]) -> None:
        """Write one batch; timestamp columns come as int64 epoch seconds."""
        arrays = []
        for name, typ in zip(self.schema.names, self.schema.types, strict=True):
            col = cols[name]
            if name in TS_COLUMNS:
                ts = np.asarray(col, np.int64)
                col = iso_times(ts) if self.fmt == "csv" else pa.array(ts * 1_000_000, typ)
            arrays.append(pc.cast(col, typ) if col.type != typ else col)
        self.writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
        self.rows += len(arrays[0])

    def close(self) -> dict[str, object]:
        self.writer.close()
        if self.fmt == "csv":
            self.sink.close()
        return {"file": self.path.name, "rows": self.rows}


def _ordered(rank: np.ndarray) -> np.ndarray:
    """External numbers 1..n from a sort order (``rank[i]`` = position of item i)."""
    out = np.empty(len(rank), np.int64)
    out[rank] = np.arange(1, len(rank) + 1)
    return out


def _width(n: int, least: int) -> int:
    return max(least, len(str(n)))


class Ids:
    """External string ids of customers, accounts, counterparties and devices."""

    def __init__(self, rng: np.random.Generator, pop: Population, n_devices: int):
        n, n_acc, n_cp = pop.n, len(pop.acc_owner), len(pop.cp_kind)
        self.cust_num = rng.permutation(n) + 1
        self.acc_num = _ordered(np.lexsort((np.arange(n_acc), pop.acc_opened)))  # by opening
        self.cp_num = rng.permutation(n_cp) + 1
        self.dev_num = rng.permutation(n_devices) + 1
        self.cw, self.aw = _width(n, 8), _width(n_acc, 9)
        self.pw, self.dw = _width(n_cp, 7), _width(n_devices, 8)

    def customer(self, i: np.ndarray) -> pa.Array:
        return names.ids("C", np.where(i < 0, -1, self.cust_num[np.maximum(i, 0)]), self.cw)

    def account(self, i: np.ndarray) -> pa.Array:
        return names.ids("A", np.where(i < 0, -1, self.acc_num[np.maximum(i, 0)]), self.aw)

    def counterparty(self, i: np.ndarray) -> pa.Array:
        return names.ids("P", np.where(i < 0, -1, self.cp_num[np.maximum(i, 0)]), self.pw)

    def device(self, i: np.ndarray) -> pa.Array:
        return names.ids("D", self.dev_num[i], self.dw)


def write_customers(
    out: Path, fmt: str, rng: np.random.Generator, pop: Population, ids: Ids, known: np.ndarray
) -> dict[str, object]:
    """customers and identifiers tables (rows ordered by customer id)."""
    order = np.argsort(ids.cust_num)
    n = pop.n
    biz = pop.segment == SEGMENTS.index("business")
    biz_pos = np.cumsum(biz) - 1
    biz_names = pc.take(
        names.business_names(rng, max(1, int(biz.sum()))), pa.array(np.maximum(biz_pos, 0))
    )
    name = pc.if_else(pa.array(biz), biz_names, names.person_names(pop.first, pop.last))
    w = TableWriter(out, "customers", fmt)
    w.write(
        {
            "customer_id": ids.customer(order),
            "name": pc.take(name, pa.array(order)),
            "segment": names.pick(SEGMENTS, pop.segment[order]),
            "known_fraud": pa.array(known[order]),
        }
    )
    info = {"customers": w.close()}

    uk, first_idx, inv = np.unique(pop.address_key, return_index=True, return_inverse=True)
    address = pc.take(names.addresses(uk, pop.comm[first_idx], rng), pa.array(inv))
    phone = names.phones(pop.phone_key, rng)
    email = names.emails(np.arange(n), pop.first, pop.last, rng)
    nid = names.national_ids(np.arange(n), rng)
    kinds = ("phone", "email", "address", "national_id")
    values = pa.concat_arrays([phone, email, address, nid])
    w = TableWriter(out, "identifiers", fmt)
    for lo in range(0, n, CHUNK):
        part = order[lo : lo + CHUNK]
        take = (np.arange(4)[None, :] * n + part[:, None]).ravel()
        w.write(
            {
                "customer_id": ids.customer(np.repeat(part, 4)),
                "kind": names.pick(kinds, np.tile(np.arange(4), len(part))),
                "value": pc.take(values, pa.array(take)),
            }
        )
    info["identifiers"] = w.close()
    return info


def write_accounts(out: Path, fmt: str, pop: Population, ids: Ids) -> dict[str, object]:
    """accounts table, ordered by account id (= by opening time)."""
    order = np.argsort(ids.acc_num)
    w = TableWriter(out, "accounts", fmt)
    w.write(
        {
            "account_id": ids.account(order),
            "customer_id": ids.customer(pop.acc_owner[order]),
            "opened_at": pop.acc_opened[order],
            "account_type": names.pick(ACCOUNT_TYPES, pop.acc_type[order]),
        }
    )
    return w.close()


def write_counterparties(
    out: Path, fmt: str, rng: np.random.Generator, pop: Population, ids: Ids
) -> dict[str, object]:
    """counterparties table: merchants, billers, exchanges."""
    kind = pop.cp_kind
    n_m, n_b = int((kind == 0).sum()), int((kind == 1).sum())
    name = pa.concat_arrays(
        [
            names.shop_names(rng, n_m),
            names.numbered(names.BILLERS, n_b),
            names.numbered(names.EXCHANGES, len(kind) - n_m - n_b),
        ]
    )
    order = np.argsort(ids.cp_num)
    w = TableWriter(out, "counterparties", fmt)
    w.write(
        {
            "counterparty_id": ids.counterparty(order),
            "name": pc.take(name, pa.array(order)),
            "kind": names.pick(CP_KINDS, kind[order]),
        }
    )
    return w.close()


def write_devices(
    out: Path, fmt: str, rng: np.random.Generator, dev: DeviceUses, ids: Ids
) -> dict[str, object]:
    """devices table: one row per use, ordered by time."""
    order = np.lexsort((dev.device, dev.ts))
    ip = names.ips(dev.ip_key, dev.ip_pool, rng)
    w = TableWriter(out, "devices", fmt)
    for lo in range(0, len(order), CHUNK):
        part = order[lo : lo + CHUNK]
        cust = dev.customer[part]
        w.write(
            {
                "device_id": ids.device(dev.device[part]),
                "customer_id": ids.customer(cust),
                "account_id": ids.account(cust),  # the primary account it logged into
                "seen_at": dev.ts[part],
                "ip": pc.take(ip, pa.array(part)),
            }
        )
    return w.close()


def write_transactions(
    out: Path, fmt: str, p: BankParams, txns: Txns, ids: Ids
) -> dict[str, object]:
    """transactions table, ordered by time; ``txn_id`` follows that order."""
    order = np.argsort(txns.ts, kind="stable")
    currency = pa.array([p.currency], pa.string())
    w = TableWriter(out, "transactions", fmt)
    for lo in range(0, len(order), CHUNK):
        part = order[lo : lo + CHUNK]
        w.write(
            {
                "txn_id": names.ids("T", np.arange(lo + 1, lo + len(part) + 1), 10),
                "from_account": ids.account(txns.src[part]),
                "to_account": ids.account(txns.dst[part]),
                "to_counterparty": ids.counterparty(txns.cp[part]),
                "amount": pa.array(txns.amount[part]),
                "currency": pc.take(currency, pa.array(np.zeros(len(part), np.int64))),
                "ts": txns.ts[part],
            }
        )
    return w.close()


def write_truth(truth: Path, pop: Population, plan: RingPlan, ids: Ids) -> dict[str, str]:
    """``communities``, ``rings`` and ``influencers`` Parquet files in ``truth/``."""
    order = np.argsort(ids.cust_num)
    files = {
        "communities": pa.table(
            {"customer_id": ids.customer(order), "community": pa.array(pop.comm[order], pa.int64())}
        ),
        "rings": pa.table(
            {
                "ring_id": pa.array(plan.ring_id, pa.string()),
                "kind": pa.array(plan.kind, pa.string()),
                "customer_id": ids.customer(np.asarray(plan.customer, np.int64)),
                "account_id": ids.account(np.asarray(plan.account, np.int64)),
            }
        ),
        "influencers": pa.table({"customer_id": ids.customer(order[pop.influencer[order]])}),
    }
    out = {}
    for name, table in files.items():
        path = truth / f"{name}.parquet"
        pq.write_table(table, path, compression="zstd")
        out[name] = path.name
    return out
