"""Synthetic bank generator: a seeded synthetic bank with planted ground truth.

See ``docs/GENERATOR.md`` for the knobs and the ``truth/`` format.
"""

from __future__ import annotations

from graphprofile.generate.bank import generate_bank
from graphprofile.generate.params import RING_KINDS, BankParams

__all__ = ["RING_KINDS", "BankParams", "generate_bank"]
