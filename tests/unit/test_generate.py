"""The synthetic bank: deterministic, in the canonical contract, with consistent truth."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from graphprofile.cli import main
from graphprofile.errors import ConfigError
from graphprofile.frames import TABLES
from graphprofile.generate import PLANTED_KINDS, BankParams, generate_bank

N = 2000
SEED = 7
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bank")
    generate_bank(out, customers=N, seed=SEED)
    return out


@pytest.fixture(scope="module")
def frames(bank: Path) -> dict[str, pd.DataFrame]:
    t = {name: pd.read_csv(bank / f"{name}.csv", dtype=str) for name in TABLES}
    t["transactions"]["amount"] = t["transactions"]["amount"].astype(float)
    for name, col in (("transactions", "ts"), ("accounts", "opened_at"), ("devices", "seen_at")):
        t[name][col] = pd.to_datetime(t[name][col], utc=True, format="ISO8601")
    return t


@pytest.fixture(scope="module")
def truth(bank: Path) -> dict[str, object]:
    out: dict[str, object] = {
        name: pd.read_parquet(bank / "truth" / f"{name}.parquet")
        for name in ("communities", "rings", "influencers")
    }
    out["manifest"] = json.loads((bank / "truth" / "manifest.json").read_text())
    return out


def _files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_gives_byte_identical_files(tmp_path: Path, fmt: str) -> None:
    generate_bank(tmp_path / "a", customers=1500, seed=3, fmt=fmt)
    generate_bank(tmp_path / "b", customers=1500, seed=3, fmt=fmt)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert len(a) == 6 + 4
    assert a == b


def test_different_seed_gives_different_bank(tmp_path: Path) -> None:
    generate_bank(tmp_path / "a", customers=1500, seed=3)
    generate_bank(tmp_path / "b", customers=1500, seed=4)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    for name in ("transactions.csv", "customers.csv", "truth/rings.parquet"):
        assert a[name] != b[name], name


def test_csv_columns_and_formats_follow_the_contract(bank: Path) -> None:
    for name, columns in TABLES.items():
        header = (bank / f"{name}.csv").read_text().split("\n", 1)[0]
        assert header == ",".join(columns), name
        raw = pd.read_csv(bank / f"{name}.csv", dtype=str, keep_default_na=False)
        for col, (kind, _required) in columns.items():
            values = raw[col][raw[col] != ""]
            if kind == "ts":
                assert values.str.match(ISO).all(), f"{name}.{col}"
            if kind == "bool":
                assert set(values) <= {"true", "false"}, f"{name}.{col}"


def test_referential_integrity_and_time_order(frames: dict[str, pd.DataFrame]) -> None:
    tx, acc, cus = frames["transactions"], frames["accounts"], frames["customers"]
    assert len(cus) == N and cus.customer_id.is_unique
    assert acc.account_id.is_unique and tx.txn_id.is_unique
    assert set(acc.customer_id) <= set(cus.customer_id)
    assert 1.2 < len(acc) / N < 1.5
    assert 8 < len(tx) / N < 14
    assert (tx.amount > 0).all()
    assert (tx.to_account.isna() ^ tx.to_counterparty.isna()).all()  # exactly one target
    assert set(tx.from_account) | set(tx.to_account.dropna()) <= set(acc.account_id)
    assert set(tx.to_counterparty.dropna()) <= set(frames["counterparties"].counterparty_id)
    opened = acc.set_index("account_id").opened_at
    assert (tx.ts >= tx.from_account.map(opened)).all()
    to = tx.dropna(subset=["to_account"])
    assert (to.ts >= to.to_account.map(opened)).all()
    assert tx.ts.is_monotonic_increasing
    dev = frames["devices"]
    assert set(dev.customer_id) <= set(cus.customer_id)
    idf = frames["identifiers"]
    assert len(idf) == 4 * N and set(idf.kind) == {"phone", "email", "address", "national_id"}
    assert (idf.groupby(["customer_id", "kind"]).size() == 1).all()
    assert idf[idf.kind.isin(["email", "national_id"])].value.is_unique


def test_parquet_has_real_types(tmp_path: Path) -> None:
    generate_bank(tmp_path, customers=1000, seed=1, fmt="parquet")
    tx = pq.read_schema(tmp_path / "transactions.parquet")
    assert tx.names == list(TABLES["transactions"])
    assert tx.field("ts").type == pa.timestamp("us", tz="UTC")
    assert tx.field("amount").type == pa.float64()
    assert pq.read_schema(tmp_path / "customers.parquet").field("known_fraud").type == pa.bool_()
    assert not (tmp_path / "transactions.csv").exists()


def test_truth_members_exist_and_every_kind_is_planted(frames, truth) -> None:
    rings, comm = truth["rings"], truth["communities"]
    assert list(rings.columns) == ["ring_id", "kind", "customer_id", "account_id"]
    assert set(rings.kind) == set(PLANTED_KINDS)
    acc = frames["accounts"].set_index("account_id").customer_id
    assert set(rings.customer_id) <= set(frames["customers"].customer_id)
    money = rings[rings.kind != "identity"]
    assert (
        money.account_id.notna().all() and rings[rings.kind == "identity"].account_id.isna().all()
    )
    assert (money.account_id.map(acc) == money.customer_id).all()  # the member owns the account
    assert rings.customer_id.is_unique  # one ring per customer
    assert sorted(comm.customer_id) == sorted(frames["customers"].customer_id)
    assert set(truth["influencers"].customer_id) <= set(comm.customer_id)
    planted = truth["manifest"]["planted"]["rings"]
    for kind in PLANTED_KINDS:
        sub = rings[rings.kind == kind]
        assert planted[kind]["rings"] == sub.ring_id.nunique() >= 2
        assert planted[kind]["customers"] == len(sub)
    share = len(rings) / N  # tiny bank: the two-rings-per-kind floor dominates
    assert 0.003 <= share <= 0.1


def _ring_txns(tx: pd.DataFrame, accounts: list[str]) -> pd.DataFrame:
    inside = tx.from_account.isin(accounts) & tx.to_account.isin(accounts)
    return tx[inside].sort_values("ts", kind="stable")


MAX_WINDOW = pd.Timedelta(days=BankParams(customers=N).ring_window_days[1])
MAX_ONWARD = pd.Timedelta(days=BankParams(customers=N).ring_onward_days[1])


def test_cycles_are_time_ordered_and_each_hop_keeps_back_a_fee(frames, truth) -> None:
    tx, rings = frames["transactions"], truth["rings"]
    for rid, ring in rings[rings.kind == "cycle"].groupby("ring_id", sort=False):
        accs = list(ring.account_id)
        k = len(accs)
        assert 3 <= k <= 12
        hops = _ring_txns(tx, accs)
        assert len(hops) > 0 and len(hops) % k == 0, rid
        assert hops.ts.is_monotonic_increasing and hops.ts.is_unique, rid
        assert hops.ts.iloc[-1] - hops.ts.iloc[0] <= MAX_WINDOW, rid
        for r in range(0, len(hops), k):
            rnd = hops.iloc[r : r + k]
            assert list(rnd.from_account) == accs, rid
            assert list(rnd.to_account) == accs[1:] + accs[:1], rid
            ratio = rnd.amount.values[1:] / rnd.amount.values[:-1]
            assert ((ratio >= 0.9 - 2e-3) & (ratio <= 1.0 + 2e-3)).all(), rid  # fee 0-10 %


def test_fan_in_senders_pay_the_hub_over_the_window_then_it_passes_most_on(frames, truth) -> None:
    tx, rings = frames["transactions"], truth["rings"]
    for rid, ring in rings[rings.kind == "fan_in"].groupby("ring_id", sort=False):
        accs = list(ring.account_id)
        hub = accs[0]
        incoming = tx[(tx.to_account == hub) & tx.from_account.isin(accs)]
        senders = set(incoming.from_account)
        assert 5 <= len(senders) <= 30, rid
        assert senders <= set(accs[1:])
        assert incoming.ts.max() - incoming.ts.min() <= MAX_WINDOW, rid
        out = tx[(tx.from_account == hub) & (tx.ts > incoming.ts.min())]
        out = out[out.ts <= incoming.ts.max() + MAX_ONWARD]
        onward = out[out.to_counterparty.notna() | out.to_account.isin(accs)]
        total = incoming.amount.sum()
        assert 0.8 * total - 0.05 <= onward.amount.sum() <= total + 0.05, rid


def test_fan_out_and_scatter_gather_move_money_within_the_window(frames, truth) -> None:
    tx, rings = frames["transactions"], truth["rings"]
    for rid, ring in rings[rings.kind == "fan_out"].groupby("ring_id", sort=False):
        src, rest = ring.account_id.iloc[0], list(ring.account_id.iloc[1:])
        sent = tx[(tx.from_account == src) & tx.to_account.isin(rest)]
        assert set(sent.to_account) == set(rest) and 5 <= len(rest) <= 30, rid
        assert sent.ts.max() - sent.ts.min() <= MAX_WINDOW, rid
        # at least half of the recipients pass money on to a cash-out counterparty
        passed = tx[tx.from_account.isin(rest) & tx.to_counterparty.notna()]
        passed = passed[passed.ts > sent.ts.min()]
        assert passed.from_account.nunique() >= len(rest) / 2 - 1, rid
    for rid, ring in rings[rings.kind == "scatter_gather"].groupby("ring_id", sort=False):
        accs = list(ring.account_id)
        src, mid, sink = accs[0], accs[1:-1], accs[-1]
        flow = _ring_txns(tx, accs)
        first = flow[flow.from_account == src].set_index("to_account")
        second = flow[flow.to_account == sink].set_index("from_account")
        assert set(first.index) == set(mid) == set(second.index), rid
        assert (second.ts.loc[mid] > first.ts.loc[mid]).all(), rid
        kept = second.amount.loc[mid] / first.amount.loc[mid]
        assert ((kept >= 0.9 - 2e-3) & (kept <= 1.0 + 2e-3)).all(), rid
        assert flow.ts.max() - flow.ts.min() <= MAX_WINDOW, rid


def test_rings_draw_their_style_from_wide_ranges(tmp_path: Path) -> None:
    """Amounts from a fifth to a hundred times an everyday transfer, windows from a day to
    months: across many rings both ends of each range show."""
    p = BankParams(customers=4000, seed=11, ring_share=0.08)
    generate_bank(tmp_path, customers=4000, seed=11, fmt="parquet", params=p)
    tx = pd.read_parquet(tmp_path / "transactions.parquet")
    rings = pd.read_parquet(tmp_path / "truth" / "rings.parquet")
    medians, spans = [], []
    money = rings[rings.kind != "identity"]
    for _rid, ring in money.groupby("ring_id"):
        inner = _ring_txns(tx, list(ring.account_id))
        medians.append(inner.amount.median() / p.p2p_amount)
        spans.append((inner.ts.max() - inner.ts.min()) / pd.Timedelta(days=1))
    assert min(medians) < 1.0 and max(medians) > 20.0
    assert min(spans) < 3.0 and max(spans) > 40.0
    # members also transact normally: most ring accounts send or receive outside the ring
    inside = set(money.account_id)
    ring_tx = tx.from_account.isin(inside) & tx.to_account.isin(inside)
    outside = tx[~ring_tx]
    active = set(outside.from_account) | set(outside.to_account.dropna())
    assert len(inside & active) >= 0.8 * len(inside)
    assert money.ring_id.nunique() >= 20


def test_identity_rings_share_a_device_and_identifiers_and_have_new_accounts(frames, truth) -> None:
    rings, dev, idf = truth["rings"], frames["devices"], frames["identifiers"]
    acc = frames["accounts"]
    start = pd.Timestamp(BankParams(customers=N).start, tz="UTC")
    idf = idf[idf.kind.isin(["phone", "address"])]
    for rid, ring in rings[rings.kind == "identity"].groupby("ring_id", sort=False):
        members = set(ring.customer_id)
        assert 3 <= len(members) <= 8
        users = dev[dev.customer_id.isin(members)].groupby("device_id").customer_id.nunique()
        assert users.max() == len(members), rid  # one device used by every member
        shared = idf[idf.customer_id.isin(members)].groupby("value").customer_id.nunique()
        assert (shared >= 2).sum() >= 2, rid  # a shared phone and a shared address
        opened = acc[acc.customer_id.isin(members)].opened_at
        assert ((opened < start) & (opened > start - pd.Timedelta(days=121))).all(), rid


def test_known_fraud_is_a_few_ring_members_and_very_few_innocents(frames, truth) -> None:
    cus = frames["customers"]
    flagged = set(cus.customer_id[cus.known_fraud == "true"])
    members = set(truth["rings"].customer_id)
    in_rings = len(flagged & members) / len(members)
    assert 0.01 <= in_rings <= 0.1
    innocent = flagged - members
    assert 1 <= len(innocent) <= max(1, 0.002 * N)
    manifest = truth["manifest"]["planted"]["known_fraud"]
    assert manifest == {"ring_members": len(flagged & members), "innocent": len(innocent)}


def test_communities_influencers_and_noise(frames, truth) -> None:
    tx, cus = frames["transactions"], frames["customers"]
    owner = frames["accounts"].set_index("account_id").customer_id
    business = set(cus.customer_id[cus.segment == "business"])
    comm = truth["communities"].set_index("customer_id").community
    sizes = comm.value_counts()
    assert sizes.min() >= 10 and sizes.max() > 3 * sizes.median()  # skewed sizes
    # P2P between people: no payroll, no moves between one's own accounts
    s = tx.from_account.map(owner)
    d = tx.to_account.map(owner)
    p2p = tx.to_account.notna() & (s != d) & ~s.isin(business) & (tx.amount < 1000)
    s, d = s[p2p], d[p2p]
    within = (s.map(comm) == d.map(comm)).mean()
    assert 0.8 <= within <= 0.95
    indeg = pd.DataFrame({"s": s.values, "d": d.values}).drop_duplicates().groupby("d").size()
    hubs = truth["influencers"].customer_id
    assert indeg.reindex(hubs).fillna(0).median() > 5 * indeg.median()
    # noise: a public device used by >= 100 customers, families sharing an address
    assert frames["devices"].groupby("device_id").customer_id.nunique().max() >= 100
    addr = frames["identifiers"].query("kind == 'address'")
    addr = addr[~addr.customer_id.isin(truth["rings"].customer_id)]
    per_address = addr.groupby("value").customer_id.nunique()
    assert per_address.max() <= 5 and (per_address >= 2).sum() >= 0.03 * N
    # payroll fan-out: an employer account pays dozens of customers
    payroll = tx[tx.from_account.map(owner).isin(business)]
    assert payroll.groupby("from_account").to_account.nunique().max() >= 50


def test_bad_parameters_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--format must be one of csv, parquet"):
        generate_bank(tmp_path, customers=1000, fmt="xls")
    with pytest.raises(ConfigError, match="--customers must be at least 1000"):
        generate_bank(tmp_path, customers=10)


def test_cli_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", str(tmp_path / "d"), "--customers", "1000", "--seed", "5", "-q"]) == 0
    manifest = json.loads((tmp_path / "d" / "truth" / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["params"]["customers"] == 1000
    assert manifest["tables"]["customers"]["rows"] == 1000
    assert capsys.readouterr().out == ""
    assert main(["generate", str(tmp_path / "e"), "--customers", "5"]) == 2
    assert capsys.readouterr().err.startswith("Error: --customers must be at least 1000 (got 5)")


def test_bipartite_and_stacks_pay_layer_to_layer(frames, truth) -> None:
    tx, rings = frames["transactions"], truth["rings"]
    for kind in ("bipartite", "stack"):
        for rid, ring in rings[rings.kind == kind].groupby("ring_id", sort=False):
            inside = _ring_txns(tx, list(ring.account_id))
            assert (inside.groupby("from_account").to_account.nunique() >= 2).all(), rid
            # money only moves forward: nobody pays an account that paid it
            back = inside.merge(
                inside,
                left_on=["from_account", "to_account"],
                right_on=["to_account", "from_account"],
            )
            assert back.empty, rid
            # two payers share two payees: a 2x2 biclique, the layer's signature
            payees = list(inside.groupby("from_account").to_account.apply(frozenset))
            assert any(len(a & b) >= 2 for i, a in enumerate(payees) for b in payees[i + 1 :]), rid
            # a stack has middle layers that receive and pay on; a bipartite layer has none
            middle = set(inside.from_account) & set(inside.to_account)
            assert bool(middle) == (kind == "stack"), rid
