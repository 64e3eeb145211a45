"""Synthetic bank generator: a seeded synthetic bank with planted ground truth.

See ``docs/GENERATOR.md`` for the knobs and the ``truth/`` format.
"""

from __future__ import annotations

from graphprofile.generate.bank import generate_bank
from graphprofile.generate.params import PLANTED_KINDS, RING_KINDS, BankParams

__all__ = ["PLANTED_KINDS", "RING_KINDS", "BankParams", "generate_bank"]
