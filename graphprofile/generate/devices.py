"""Device uses: personal phones and laptops, household devices, public terminals, ring devices.

One row per use, with the IP address seen: the household's broadband, a mobile carrier's
shared (carrier-grade NAT) address or a public Wi-Fi hotspot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphprofile.generate.params import BankParams, random_times
from graphprofile.generate.population import Population
from graphprofile.generate.rings import RingPlan

HOME, MOBILE, WIFI = 0, 1, 2


@dataclass
class DeviceUses:
    """Integer-coded device-use rows; ``ip_pool``/``ip_key`` identify the address."""

    device: np.ndarray
    customer: np.ndarray
    ts: np.ndarray
    ip_pool: np.ndarray
    ip_key: np.ndarray
    n_devices: int
    n_public: int
    n_household: int


def device_uses(
    rng: np.random.Generator, p: BankParams, pop: Population, plan: RingPlan
) -> DeviceUses:
    """Draw every device use of the window (see the module docstring)."""
    n = pop.n
    n_mobile = max(20, round(n * p.mobile_ip_per_customer))
    n_wifi = max(5, round(n * p.wifi_ip_per_customer))

    # personal devices: 1-3 per customer (synthetic identities use only the ring's)
    n_dev = (1 + rng.binomial(2, 0.25, n)) * ~pop.quiet
    owner = np.repeat(np.arange(n), n_dev)
    n_personal = len(owner)
    uses = 1 + rng.poisson(1.5, n_personal)
    dev_a = np.repeat(np.arange(n_personal), uses)
    cust_a = owner[dev_a]
    u = rng.random(len(dev_a))
    pool_a = np.where(u < 0.7, HOME, np.where(u < 0.95, MOBILE, WIFI))
    key_a = np.where(
        pool_a == HOME,
        pop.household[cust_a],
        np.where(
            pool_a == MOBILE,
            rng.integers(0, n_mobile, len(dev_a)),
            rng.integers(0, n_wifi, len(dev_a)),
        ),
    )

    # household devices: a shared tablet/laptop in some families
    fam_hh = np.unique(pop.household[pop.hh_size >= 2])
    shared_hh = fam_hh[rng.random(len(fam_hh)) < p.family_device_share]
    hh_dev = np.full(int(pop.household.max()) + 1, -1, np.int64)
    hh_dev[shared_hh] = n_personal + np.arange(len(shared_hh))
    fam = np.flatnonzero(hh_dev[pop.household] >= 0)
    cust_b = np.repeat(fam, 1 + rng.poisson(1.0, len(fam)))
    dev_b = hh_dev[pop.household[cust_b]]
    base = n_personal + len(shared_hh)

    # public terminals (library, kiosk): hundreds of random customers each, public Wi-Fi IP
    n_pub = max(2, round(n * p.public_devices_per_customer))
    lo, hi = p.public_device_users
    k = rng.integers(min(lo, n // 4), min(hi, n // 2) + 1, n_pub)
    dev_c = base + np.repeat(np.arange(n_pub), k)
    cust_c = rng.integers(0, n, len(dev_c))
    keep = ~pop.quiet[cust_c]
    cust_c, dev_c = cust_c[keep], dev_c[keep]
    base += n_pub

    # ring devices: shared by every member of a synthetic-identity ring, one IP per ring
    if plan.dev_customer:
        cust_d = np.concatenate(plan.dev_customer)
        dev_d = base + np.concatenate(plan.dev_local)
        ts_d = np.concatenate(plan.dev_ts)
        key_d = n + np.concatenate(plan.dev_ip)  # home pool keys above every household
    else:
        cust_d = dev_d = ts_d = key_d = np.zeros(0, np.int64)

    return DeviceUses(
        device=np.concatenate([dev_a, dev_b, dev_c, dev_d]),
        customer=np.concatenate([cust_a, cust_b, cust_c, cust_d]),
        ts=np.concatenate(
            [
                random_times(rng, p, len(dev_a) + len(dev_b) + len(dev_c)),
                ts_d,
            ]
        ),
        ip_pool=np.concatenate(
            [
                pool_a,
                np.full(len(dev_b), HOME),
                np.full(len(dev_c), WIFI),
                np.full(len(dev_d), HOME),
            ]
        ),
        ip_key=np.concatenate(
            [key_a, pop.household[cust_b], n_wifi + (dev_c - (base - n_pub)), key_d]
        ),
        n_devices=base + plan.n_devices,
        n_public=n_pub,
        n_household=len(shared_hh),
    )
