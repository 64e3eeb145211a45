"""A generated 20k bank's outputs match the digest stored in the repository.

The stored digest (``tests/data/output_digest_20k.json``) is updated only deliberately, with
one command from the repository root::

    .venv/bin/python tests/unit/output_digest.py --update

Speed changes (#16) must leave it as it is: same input and seed, identical outputs. A change
that is meant to change outputs updates it in the same commit and says why: that includes
generator changes (#11, the helper widening ``graphprofile generate``), since this bank is
generated; whoever lands a generator or analysis change after the digest runs the command
above. What the digest covers and leaves out (run ids, times, paths) is described in
``output_digest.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from output_digest import DIGEST_FILE, differences, digest_of_bank, package_versions


def test_outputs_of_the_20k_bank_match_the_stored_digest(tmp_path: Path) -> None:
    stored = json.loads(DIGEST_FILE.read_text())
    current = digest_of_bank(tmp_path)
    assert len(current["tables"]) >= 15 and current["tables"]["features.parquet"]["rows"] == 20_000
    found = differences(stored, current)
    versions = package_versions()
    moved = {
        k: f"{v} (digest: {stored['packages'].get(k)})"
        for k, v in versions.items()
        if stored["packages"].get(k) != v
    }
    assert not found, (
        "outputs differ from the stored digest:\n  "
        + "\n  ".join(found)
        + (f"\npackages differ from the digest's: {moved}" if moved else "")
        + "\nIf the change is meant to change outputs, update the digest: "
        ".venv/bin/python tests/unit/output_digest.py --update"
    )


def test_the_digest_sees_a_changed_value(tmp_path: Path) -> None:
    stored = json.loads(DIGEST_FILE.read_text())
    changed = json.loads(json.dumps(stored))
    changed["tables"]["tags.parquet"]["columns"]["score"] = "0" * 16
    changed["run.json"]["results"] = "1" * 16
    assert differences(stored, changed) == [
        "tags.parquet: columns changed: score",
        "run.json: results changed",
    ]
