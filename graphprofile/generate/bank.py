"""Orchestrates the synthetic bank: population → rings → activity → devices → files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from graphprofile import __version__
from graphprofile._pages import small_pages_for_arrays
from graphprofile.errors import ConfigError, OutputError
from graphprofile.generate import write
from graphprofile.generate.activity import normal_activity
from graphprofile.generate.decoys import plant_decoys
from graphprofile.generate.devices import device_uses
from graphprofile.generate.params import PLANTED_KINDS, BankParams, Txns
from graphprofile.generate.population import Population, build_population
from graphprofile.generate.rings import known_fraud, plan_rings

FORMATS = ("csv", "parquet")
#: Independent random streams, so a change in one stage leaves the others' draws alone.
_STREAMS = ("population", "rings", "activity", "devices", "fraud", "write", "decoys")


@small_pages_for_arrays()  # 1M customers: 39.8 -> 26.4 s, system time 19.3 -> 5.2 s (#16)
def generate_bank(
    out_dir: Path,
    *,
    customers: int,
    seed: int = 42,
    fmt: str = "csv",
    progress: Callable[[str], None] | None = None,
    params: BankParams | None = None,
) -> dict:
    """Write a synthetic bank in the canonical contract plus its planted ground truth.

    Parameters
    ----------
    out_dir : Path
        Data directory to (over)write: one file per canonical table and ``truth/``.
    customers : int
        Number of customers (at least 1,000); ~1.3 accounts and ~10 transactions each.
    seed : int, default 42
        Seed of the only random generator used (``numpy.random.Generator``): the same
        seed and parameters give byte-identical files.
    fmt : {"csv", "parquet"}, default "csv"
        File format of the tables (truth files are always Parquet).
    progress : callable, optional
        Called with a short message as each stage starts.
    params : BankParams, optional
        Every other knob (see ``docs/GENERATOR.md``); ``customers`` and ``seed`` override
        the fields of the same name.

    Returns
    -------
    dict
        The manifest also written to ``out_dir/truth/manifest.json``: generator version,
        seed, parameters, rows per table, counts per planted kind.

    Raises
    ------
    ConfigError
        Unknown format or out-of-range parameters.
    OutputError
        The output directory cannot be written.

    References
    ----------
    Altman et al., "Realistic Synthetic Financial Transactions for Anti-Money Laundering
    Models" (2023); IBM AMLSim typologies (fan-in, fan-out, cycle, scatter-gather).
    """
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    base = params or BankParams(customers=customers, seed=seed)
    p = BankParams(**{**base.__dict__, "customers": customers, "seed": seed})
    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir)
    truth = out_dir / "truth"
    try:
        truth.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {truth}: {exc}") from exc

    rng = dict(
        zip(
            _STREAMS,
            (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(_STREAMS))),
            strict=True,
        )
    )
    say(f"population: {customers:,} customers, communities, households, accounts")
    pop = build_population(rng["population"], p)
    say("fraud rings")
    plan = plan_rings(rng["rings"], p, pop)
    ring_of = plan.ring_of(pop.n)
    say("transactions")
    normal, activity_counts = normal_activity(rng["activity"], p, pop, ring_of)
    ring_txns = plan.all_txns()
    say("decoys")
    decoy_txns, decoys = plant_decoys(rng["decoys"], p, pop, ring_of)
    txns = Txns.concat([normal, ring_txns, decoy_txns])
    within = _p2p_within_share(pop, normal, activity_counts["p2p"])
    del normal
    say("devices")
    dev = device_uses(rng["devices"], p, pop, plan)
    known, known_ring, known_innocent = known_fraud(rng["fraud"], p, pop, plan)

    ids = write.Ids(rng["write"], pop, dev.n_devices)
    tables: dict[str, object] = {}
    say("writing customers and identifiers")
    tables.update(write.write_customers(out_dir, fmt, rng["write"], pop, ids, known))
    say("writing accounts, counterparties and devices")
    tables["accounts"] = write.write_accounts(out_dir, fmt, pop, ids)
    tables["counterparties"] = write.write_counterparties(out_dir, fmt, rng["write"], pop, ids)
    tables["devices"] = write.write_devices(out_dir, fmt, rng["write"], dev, ids)
    say(f"writing {len(txns):,} transactions")
    tables["transactions"] = write.write_transactions(out_dir, fmt, p, txns, ids)
    say("writing truth")
    truth_files = write.write_truth(truth, pop, plan, ids)

    kinds = np.asarray(plan.kind)
    members = np.asarray(plan.customer)
    accounts = np.asarray(plan.account)
    rings = {
        k: {
            "rings": plan.rings[k],
            "customers": len(np.unique(members[kinds == k])),
            "accounts": int(((kinds == k) & (accounts >= 0)).sum()),
        }
        for k in PLANTED_KINDS
    }
    manifest = {
        "generator": "graphprofile.generate",
        "version": __version__,
        "seed": seed,
        "format": fmt,
        "params": p.as_dict(),
        "window": {"start": _iso(p.t0), "end": _iso(p.t1)},
        "tables": {
            k: tables[k]
            for k in (
                "transactions",
                "accounts",
                "customers",
                "devices",
                "identifiers",
                "counterparties",
            )
        },
        "truth": truth_files,
        "planted": {
            "communities": pop.n_comm,
            "community_size": {
                "min": int(pop.comm_size.min()),
                "median": float(np.median(pop.comm_size)),
                "max": int(pop.comm_size.max()),
            },
            "influencers": int(pop.influencer.sum()),
            "employers": len(pop.employers),
            "families": len(np.unique(pop.household[pop.hh_size >= 2])),
            "family_members": int((pop.hh_size >= 2).sum()),
            "household_devices": dev.n_household,
            "public_devices": dev.n_public,
            "rings": rings,
            "ring_customers": len(np.unique(members)),
            "ring_transactions": len(ring_txns),
            "known_fraud": {"ring_members": known_ring, "innocent": known_innocent},
            "decoys": decoys,
        },
        "transactions_by_kind": {
            **activity_counts,
            "ring": len(ring_txns),
            "decoy": len(decoy_txns),
        },
        "p2p_within_community_share": round(within, 4),
    }
    (truth / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _iso(t: int) -> str:
    return str(np.datetime64(t, "s")) + "Z"


def _p2p_within_share(pop: Population, normal: Txns, n_p2p: int) -> float:
    """Share of P2P transfers whose two customers are in the same planted community."""
    p2p = normal.where(np.arange(len(normal)) < n_p2p)  # p2p comes first
    if len(p2p) == 0:
        return 0.0
    owner = pop.acc_owner
    return float((pop.comm[owner[p2p.src]] == pop.comm[owner[p2p.dst]]).mean())
