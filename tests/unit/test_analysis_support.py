"""Hand-built banks for the analysis tests (canonical frames -> CanonicalGraph); no tests here."""

from __future__ import annotations

import pandas as pd

from graphprofile.frames import REJECT_COLUMNS, CanonicalGraph, Frames
from graphprofile.graph import build_graph

T0 = pd.Timestamp("2025-03-01", tz="UTC")
OLD = pd.Timestamp("2015-01-01", tz="UTC")


def _ts(hours: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=hours)


def small_bank(
    *, known: tuple[str, ...] = ("D1",), payroll: tuple[str, ...] = ()
) -> CanonicalGraph:
    """40 background customers plus a 3-cycle, a 12-sender fan-in and a 4-customer device ring.

    - background ``B00..B39``: a payment chain ``B_i -> B_{i+1}`` with unrelated amounts,
      each link paid in two parts (a chain of accounts each receiving one payment and making
      one would be a chain of relays, ``flows.find_relays``);
      ``B00..B29`` also share a public terminal ``dev-public`` (a hub: 30 > K = 10);
      ``B00``/``B01`` share an address (a household, not a ring);
    - cycle: ``X1 -> X2 -> X3 -> X1``, 1000.00, 980.00, 960.40, a few hours apart;
    - fan-in: ``S01..S12`` pay ``F`` within a day; ``F`` sends 95 % to exchange ``P-EX``;
    - device ring: ``D1..D4`` share ``dev-ring`` and a phone, accounts opened a month ago,
      each cashes out to ``P-EX``;
    - ``payroll`` (optional): employer ``E`` pays a monthly salary to each of these customers.
    """
    customers, accounts, txns, devices, idents = [], [], [], [], []

    def customer(cid: str, opened: pd.Timestamp = OLD) -> None:
        customers.append((cid, None, "retail", cid in known))
        accounts.append((f"A-{cid}", cid, opened, "checking"))

    def pay(src: str, dst: str | None, amount: float, hours: float, cp: str | None = None):
        txns.append(
            (f"T{len(txns):05d}", f"A-{src}", f"A-{dst}" if dst else None, cp, amount, "GBP",
             _ts(hours))
        )  # fmt: skip

    for i in range(40):
        customer(f"B{i:02d}")
        idents.append((f"B{i:02d}", "email", f"b{i}@example.org"))
        devices.append((f"dev-B{i:02d}", f"B{i:02d}", None, _ts(1), None))
    for i in range(39):
        pay(f"B{i:02d}", f"B{i + 1:02d}", 37.0 * (i + 1) ** 1.3, 24.0 * i)
    for i in range(39):  # and settles a small balance: no background account is a relay
        pay(f"B{i:02d}", f"B{i + 1:02d}", 29.0 * (i + 1) ** 1.3, 24.0 * i + 80)
    for i in range(30):
        devices.append(("dev-public", f"B{i:02d}", None, _ts(2 + i), None))
    idents += [("B00", "address", "1 High St"), ("B01", "address", "1 High St")]

    for c in ("X1", "X2", "X3"):
        customer(c)
    pay("X1", "X2", 1000.0, 100)
    pay("X2", "X3", 980.0, 104)
    pay("X3", "X1", 960.4, 109)

    customer("F")
    total = 0.0
    for k in range(1, 13):
        customer(f"S{k:02d}")
        amount = 500.0 + 25.0 * k
        total += amount
        pay(f"S{k:02d}", "F", amount, 200 + 2 * k)
    pay("F", None, round(total * 0.95, 2), 230, cp="P-EX")

    for k in range(1, 5):
        cid = f"D{k}"
        customer(cid, opened=T0 - pd.Timedelta(days=30))
        devices.append(("dev-ring", cid, None, _ts(300 + k), None))
        idents.append((cid, "phone", "+44700900123"))
        pay(cid, None, 1500.0 + k, 320 + k, cp="P-EX")

    if payroll:
        customer("E")
        for month in range(3):
            for k, cid in enumerate(payroll):
                pay("E", cid, 2100.0 + 10 * k, 24.0 * 30 * month + k)

    def frame(rows, columns, dtypes):
        df = pd.DataFrame(rows, columns=columns)
        return df.astype(dtypes)

    s = "string"
    frames = Frames(
        transactions=frame(
            txns,
            ["txn_id", "from_account", "to_account", "to_counterparty", "amount", "currency", "ts"],
            {
                "txn_id": s,
                "from_account": s,
                "to_account": s,
                "to_counterparty": s,
                "amount": "float64",
                "currency": s,
            },
        ),
        accounts=frame(
            accounts,
            ["account_id", "customer_id", "opened_at", "account_type"],
            {"account_id": s, "customer_id": s, "account_type": s},
        ),
        customers=frame(
            customers,
            ["customer_id", "name", "segment", "known_fraud"],
            {"customer_id": s, "name": s, "segment": s, "known_fraud": "bool"},
        ),
        devices=frame(
            devices,
            ["device_id", "customer_id", "account_id", "seen_at", "ip"],
            {"device_id": s, "customer_id": s, "account_id": s, "ip": s},
        ),
        identifiers=frame(
            idents, ["customer_id", "kind", "value"], {"customer_id": s, "kind": s, "value": s}
        ),
        counterparties=frame(
            [("P-EX", "CoinSwap", "exchange"), ("P-SHOP", "Corner shop", "merchant")],
            ["counterparty_id", "name", "kind"],
            {"counterparty_id": s, "name": s, "kind": s},
        ),
        rejects=pd.DataFrame({c: pd.Series(dtype="string") for c in REJECT_COLUMNS}),
        present={
            "transactions",
            "accounts",
            "customers",
            "devices",
            "identifiers",
            "counterparties",
        },
    )
    return build_graph(frames)
