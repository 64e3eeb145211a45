"""Tag changes between two runs: who gained, lost or changed which tag, and why.

A pure function over two ``tags`` tables (the long format of
:mod:`graphprofile.analysis.tags`). ``graphprofile run --previous OLD_OUT`` writes its result
as ``changes.*``; the report shows it; ``graphprofile publish`` keeps the same facts in
PostgreSQL as a type 2 slowly changing dimension (``gp_tag_history``).
"""

from __future__ import annotations

import pandas as pd

#: Columns of ``changes.*``, in order.
CHANGE_COLUMNS = [
    "customer_id",
    "tag",
    "change",
    "old_value",
    "new_value",
    "old_score",
    "new_score",
    "reasons",
    "previous_run_id",
    "run_id",
    "computed_at",
]
#: The values of ``change``.
CHANGE_KINDS = ("gained", "lost", "changed")

_KEY = ["customer_id", "tag"]


def _side(tags: pd.DataFrame) -> pd.DataFrame:
    """Tag rows keyed by customer, tag and the rank of the value within that pair."""
    side = tags[["customer_id", "tag", "value", "score", "reasons"]].copy()
    for col in ("customer_id", "tag", "value"):
        side[col] = side[col].astype("string")
    side["reasons"] = side["reasons"].astype("string").fillna("[]")
    side["score"] = pd.to_numeric(side["score"], errors="coerce").astype("float64")
    return side.drop_duplicates(["customer_id", "tag", "value"])


def _ranked(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.sort_values(["customer_id", "tag", "value"], kind="stable")
    return rows.assign(_rank=rows.groupby(_KEY, sort=False).cumcount())


def tag_changes(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    *,
    previous_run_id: str | None = None,
    run_id: str | None = None,
    computed_at: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Per customer and tag, what changed from ``previous`` to ``current``.

    A tag is identified by ``(customer_id, tag)``; its ``value`` is what may change (a ring
    or community id, a hop count). Values present in both runs are unchanged, whatever
    their score (scores move a little every run). For each ``(customer_id, tag)`` the
    values only in the previous run and those only in the current run are paired in sorted
    order; each pair is ``changed``, an unpaired current value is ``gained`` and an
    unpaired previous value is ``lost``. A tag with one value per customer (``risk:high``,
    ``community``) therefore gives at most one row per customer.

    Parameters
    ----------
    previous, current : pandas.DataFrame
        Tags of the previous and the current run: ``customer_id, tag, value, score,
        reasons`` (``run_id`` and ``computed_at`` are not read).
    previous_run_id, run_id : str, optional
        Recorded in every row.
    computed_at : pandas.Timestamp, optional
        Event time of the current run, recorded in every row.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CHANGE_COLUMNS`, sorted by customer, tag, change, values. ``reasons``
        are the current run's for ``gained`` and ``changed``, the previous run's for
        ``lost`` (why the customer had the tag).
    """
    old = _side(previous)
    new = _side(current)
    both = old.merge(new[["customer_id", "tag", "value"]], on=["customer_id", "tag", "value"])
    key3 = ["customer_id", "tag", "value"]
    old_only = _ranked(old[~_isin(old, both, key3)])
    new_only = _ranked(new[~_isin(new, both, key3)])
    paired = old_only.merge(
        new_only, on=[*_KEY, "_rank"], how="outer", suffixes=("_old", "_new"), sort=False
    )
    has_old = paired["value_old"].notna()
    has_new = paired["value_new"].notna()
    change = pd.Series("changed", index=paired.index, dtype="string")
    change[~has_old] = "gained"
    change[~has_new] = "lost"
    reasons = paired["reasons_new"].where(has_new, paired["reasons_old"])
    out = pd.DataFrame(
        {
            "customer_id": paired["customer_id"],
            "tag": paired["tag"],
            "change": change,
            "old_value": paired["value_old"].astype("string"),
            "new_value": paired["value_new"].astype("string"),
            "old_score": paired["score_old"].astype("float64"),
            "new_score": paired["score_new"].astype("float64"),
            "reasons": reasons.astype("string"),
        }
    )
    out["previous_run_id"] = pd.Series(previous_run_id, index=out.index, dtype="string")
    out["run_id"] = pd.Series(run_id, index=out.index, dtype="string")
    stamp = pd.Timestamp(computed_at) if computed_at is not None else pd.NaT
    if stamp is not pd.NaT and stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    out["computed_at"] = pd.Series(stamp, index=out.index, dtype="datetime64[us, UTC]")
    out = out.sort_values(
        ["customer_id", "tag", "change", "old_value", "new_value"],
        kind="stable",
        na_position="first",
    )
    return out[CHANGE_COLUMNS].reset_index(drop=True)


def _isin(rows: pd.DataFrame, keys: pd.DataFrame, cols: list[str]) -> pd.Series:
    """Whether each row's ``cols`` appear in ``keys`` (a vectorised multi-column isin)."""
    index = pd.MultiIndex.from_frame(keys[cols])
    return pd.Series(pd.MultiIndex.from_frame(rows[cols]).isin(index), index=rows.index)


def summarise_changes(changes: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Counts per tag family and change kind, e.g. ``{"risk:high": {"gained": 3, ...}}``."""
    if changes.empty:
        return {}
    counts = changes.groupby(["tag", "change"], observed=True).size()
    summary: dict[str, dict[str, int]] = {}
    for (tag, kind), n in counts.items():
        summary.setdefault(str(tag), {k: 0 for k in CHANGE_KINDS})[str(kind)] = int(n)
    return dict(sorted(summary.items()))


__all__ = ["CHANGE_COLUMNS", "CHANGE_KINDS", "summarise_changes", "tag_changes"]
