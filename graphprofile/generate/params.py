"""Generator knobs and the small numeric helpers every generator module shares.

All knobs live in :class:`BankParams`; they are recorded in ``truth/manifest.json`` so a
generated bank can be reproduced from its manifest alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from graphprofile.domain import PLANTED_KINDS, RING_KINDS  # noqa: F401 (re-exported)
from graphprofile.errors import ConfigError

DAY = 86_400
HOUR = 3_600

#: Ring kinds, in the order they are planted (and listed in the truth files).


@dataclass(frozen=True)
class BankParams:
    """Every knob of the synthetic bank (documented in ``docs/GENERATOR.md``).

    Rates are per customer over the whole window unless they say "monthly".
    """

    customers: int
    seed: int = 42
    start: str = "2025-01-01"  # first day of the activity window (UTC)
    months: int = 6  # length of the activity window in months of 30.4 days
    currency: str = "GBP"
    # communities
    community_median: float = 80.0
    community_sigma: float = 0.9
    community_min: int = 10
    community_max: int = 2000
    p2p_within: float = 0.88  # share of P2P contacts inside the sender's community
    influencer_share: float = 0.18  # share of in-community contacts that go to a hub
    influencer_min_community: int = 25  # communities this big get a hub ...
    influencer_per_members: int = 250  # ... plus one per this many members
    # households
    household_sizes: tuple[float, ...] = (0.82, 0.09, 0.05, 0.03, 0.01)  # P(size 1..5)
    family_phone_share: float = 0.30  # families sharing one (landline) phone
    family_device_share: float = 0.40  # families sharing a household tablet/laptop
    # accounts
    savings_share: float = 0.2
    credit_share: float = 0.08
    # activity
    p2p_amount: float = 40.0  # median P2P transfer (premium customers: twice)
    contacts_per_customer: float = 2.0  # P2P contacts: 1 + Poisson(this * activity)
    reciprocal_share: float = 0.30
    p2p_per_customer: float = 2.5
    employed_share: float = 0.56  # of retail and premium customers (students: a third)
    employer_share: float = 0.004  # business customers that run a payroll
    local_employer_share: float = 0.7
    bills_per_customer: float = 0.35  # recurring monthly billers per customer (Poisson)
    merchant_per_customer: float = 1.2
    local_merchant_share: float = 0.4
    exchange_user_share: float = 0.03
    # devices
    public_devices_per_customer: float = 1 / 2000  # kiosks / shared terminals
    public_device_users: tuple[int, int] = (150, 600)
    mobile_ip_per_customer: float = 1 / 300  # carrier-grade NAT addresses
    wifi_ip_per_customer: float = 1 / 2000  # public Wi-Fi hotspots
    # fraud rings
    ring_share: float = 0.005  # share of customers that are ring members
    ring_kind_weights: dict[str, float] = field(
        default_factory=lambda: {
            "identity": 0.2,
            "cycle": 0.2,
            "fan_in": 0.25,
            "fan_out": 0.15,
            "scatter_gather": 0.2,
            "bipartite": 0.1,
            "stack": 0.1,
        }
    )
    # at least this many rings of each kind (10 keeps per-kind recall stable at 100k),
    # lowered to max(2, customers // 2000) on small banks so they can still hold them
    min_rings_per_kind: int = 10
    # Each ring draws its own style from these ranges (uniform, or log-uniform for the
    # scale-like ones); they are the generator's choices, wide on purpose, not facts
    # about fraud.
    ring_new_account_share: tuple[float, float] = (0.0, 1.0)  # members on a fresh account
    ring_amount_scale: tuple[float, float] = (0.2, 100.0)  # x p2p_amount (log-uniform)
    ring_window_days: tuple[float, float] = (1.0, 120.0)  # whole ring activity (log-uniform)
    ring_hop_fee: tuple[float, float] = (0.0, 0.10)  # kept back per hop (max drawn per ring)
    ring_pass_share: tuple[float, float] = (0.8, 1.0)  # share of money passed on
    ring_onward_days: tuple[float, float] = (0.04, 10.0)  # delay before passing on (log-unif.)
    known_fraud_ring_share: float = 0.04
    # innocent look-alikes of the typologies (groups per 100k customers), see decoys.py
    decoys_per_100k: dict[str, float] = field(
        default_factory=lambda: {
            "bill_split": 60.0,
            "flat_share": 40.0,
            "club": 20.0,
            "treasurer": 20.0,
            "payout": 20.0,
        }
    )
    known_fraud_innocent_share: float = 0.0005

    def __post_init__(self) -> None:
        if self.customers < 1000:
            raise ConfigError(
                f"--customers must be at least 1000 (got {self.customers}): "
                "smaller banks cannot hold the planted communities and rings"
            )
        if self.customers > 50_000_000:
            raise ConfigError(f"--customers must be at most 50,000,000 (got {self.customers})")
        if not 1 <= self.months <= 24:
            raise ConfigError(f"months must be between 1 and 24 (got {self.months})")
        for name in ("ring_new_account_share", "ring_hop_fee", "ring_pass_share"):
            lo, hi = getattr(self, name)
            if not 0.0 <= lo <= hi <= 1.0:
                raise ConfigError(f"{name} must be a range inside [0, 1] (got {lo}, {hi})")
        for name in ("ring_amount_scale", "ring_window_days", "ring_onward_days"):
            lo, hi = getattr(self, name)
            if not 0.0 < lo <= hi:
                raise ConfigError(f"{name} must be a positive range (got {lo}, {hi})")
        if set(self.ring_kind_weights) != set(PLANTED_KINDS):
            raise ConfigError(f"ring_kind_weights must name exactly {', '.join(PLANTED_KINDS)}")
        try:
            np.datetime64(self.start, "D")
        except ValueError as exc:
            raise ConfigError(f"start must be a date like 2025-01-01 (got {self.start!r})") from exc

    @property
    def rings_floor(self) -> int:
        """Effective minimum rings per kind for this bank size."""
        return min(self.min_rings_per_kind, max(2, self.customers // 2000))

    @property
    def t0(self) -> int:
        """Window start in epoch seconds."""
        return int(np.datetime64(self.start, "s").astype(np.int64))

    @property
    def t1(self) -> int:
        """Window end (exclusive) in epoch seconds."""
        return self.t0 + round(self.months * 30.4) * DAY

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-able dict of every knob."""
        out = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


@dataclass
class Txns:
    """Integer-coded transactions: account indices, counterparty indices (``-1``: none)."""

    src: np.ndarray
    dst: np.ndarray
    cp: np.ndarray
    amount: np.ndarray
    ts: np.ndarray

    @classmethod
    def make(
        cls,
        src: np.ndarray,
        amount: np.ndarray,
        ts: np.ndarray,
        *,
        dst: np.ndarray | None = None,
        cp: np.ndarray | None = None,
    ) -> Txns:
        """Transfers to accounts (``dst``) or payments to counterparties (``cp``)."""
        n = len(src)
        none = np.full(n, -1, np.int64)
        return cls(
            np.asarray(src, np.int64),
            none if dst is None else np.asarray(dst, np.int64),
            none if cp is None else np.asarray(cp, np.int64),
            np.asarray(amount, np.float64),
            np.asarray(ts, np.int64),
        )

    @classmethod
    def concat(cls, parts: list[Txns]) -> Txns:
        """One block from many."""
        return cls(*(np.concatenate([getattr(t, f) for t in parts]) for f in cls.FIELDS))

    FIELDS = ("src", "dst", "cp", "amount", "ts")

    def __len__(self) -> int:
        return len(self.src)

    def where(self, mask: np.ndarray) -> Txns:
        """Rows where ``mask`` holds."""
        return Txns(*(getattr(self, f)[mask] for f in self.FIELDS))


def pick_in_group(
    rng: np.random.Generator,
    groups: np.ndarray,
    start: np.ndarray,
    count: np.ndarray,
    items: np.ndarray,
) -> np.ndarray:
    """Pick one item uniformly from the group of each query; ``-1`` where the group is empty.

    ``items`` is sorted by group; group ``g`` holds ``items[start[g]:start[g] + count[g]]``.
    """
    c = count[groups]
    off = (rng.random(len(groups)) * c).astype(np.int64)
    out = np.full(len(groups), -1, dtype=np.int64)
    ok = c > 0
    out[ok] = items[start[groups[ok]] + off[ok]]
    return out


def group_index(groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort positions by group: returns ``(items, start, count)`` for :func:`pick_in_group`."""
    items = np.argsort(groups, kind="stable")
    count = np.bincount(groups, minlength=n_groups)
    start = np.concatenate(([0], np.cumsum(count)[:-1]))
    return items, start, count


def zipf_weights(rng: np.random.Generator, n: int, s: float = 1.1) -> np.ndarray:
    """Cumulative popularity of ``n`` items: Zipf over a random ranking (for searchsorted)."""
    w = 1.0 / np.arange(1, n + 1) ** s
    w = w[rng.permutation(n)]
    cum = np.cumsum(w)
    return cum / cum[-1]


def pick_weighted(rng: np.random.Generator, cum: np.ndarray, size: int) -> np.ndarray:
    """Draw ``size`` indices from cumulative weights ``cum`` (ends at 1)."""
    idx = np.searchsorted(cum, rng.random(size), side="right")
    return np.minimum(idx, len(cum) - 1)


def log_uniform(rng: np.random.Generator, lo: float, hi: float, size: int | None = None):
    """Draws spread evenly on a log scale between ``lo`` and ``hi``."""
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size))


def money(rng: np.random.Generator, median: float, sigma: float, size: int) -> np.ndarray:
    """Lognormal amounts rounded to cents, at least 1.00."""
    return np.maximum(np.round(rng.lognormal(np.log(median), sigma, size), 2), 1.0)


def time_of_day(rng: np.random.Generator, size: int, mean_h: float = 14.0, sd_h: float = 4.0):
    """Seconds into the day, concentrated around ``mean_h`` (people sleep at night)."""
    sod = rng.normal(mean_h * HOUR, sd_h * HOUR, size).astype(np.int64)
    return np.mod(sod, DAY)


def random_times(rng: np.random.Generator, params: BankParams, size: int) -> np.ndarray:
    """Epoch seconds spread over the window with a day-time profile."""
    days = (params.t1 - params.t0) // DAY
    return params.t0 + rng.integers(0, days, size) * DAY + time_of_day(rng, size)
