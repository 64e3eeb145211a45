"""Statement-format transactions: one line per account, with a debit/credit flag.

Many banks export transactions as account statements: the account, the other side
(``counterparty_account``, or only a ``counterparty`` name), an amount and a direction
(借/贷, D/C, -/+, or the amount's sign). A mapping says so with ``format = "statement"``::

    [tables.transactions]
    file = "交易流水.csv"
    format = "statement"
    debit_values = ["借"]          # money leaves `account`
    credit_values = ["贷"]         # money arrives in `account`
    match_window_s = 300           # mirror lines without a reference: time tolerance
    [tables.transactions.columns]
    txn_id = "流水号"              # the line's id
    reference = "交易参考号"        # optional: the id both statements share
    account = "账号"
    counterparty_account = "对方账号"
    counterparty = "对方户名"
    amount = "金额"
    direction = "借贷标志"          # optional: without it, the amount's sign (- = debit)
    ts = "交易时间"

A debit becomes ``account → counterparty_account`` (or ``→ to_counterparty`` = the
counterparty name when there is no account); a credit becomes
``counterparty_account → account``. A transfer between two of the bank's accounts is in
both statements; its credit line is merged into the debit line (the payer's) when both
carry the same ``reference``, or, without one, the same two accounts and amount within
``match_window_s`` seconds (nearest first, each line merged at most once). Merged lines are
counted in ``TableStats.merged``: ``read = accepted + rejected + merged``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphprofile.ingest.layouts import StatementSpec
from graphprofile.ingest.parse import as_text, show
from graphprofile.ingest.read import ROW

#: Hidden columns carried from conversion to mirror matching.
_SIDE, _REF = "_side", "_reference"


def to_transfers(
    frame: pd.DataFrame, spec: StatementSpec
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Statement lines → canonical transaction columns (still text), reasons and columns.

    Returns the frame with ``txn_id``, ``from_account``, ``to_account``, ``to_counterparty``,
    ``amount`` (without sign), ``currency``, ``ts``, ``_row`` and two hidden columns for
    :func:`mirror_mask`, the reject reason of each row (null: fine) and the column at fault.
    """
    index = frame.index
    reason = pd.Series(pd.NA, index=index, dtype="string")
    column = pd.Series(pd.NA, index=index, dtype="string")
    amount = frame["amount"]
    if pd.api.types.is_numeric_dtype(amount) and not pd.api.types.is_bool_dtype(amount):
        negative = (amount < 0).fillna(False).to_numpy(dtype=bool)
        amount = amount.abs()
    else:
        text = as_text(amount)
        negative = text.str.startswith("-").fillna(False).to_numpy(dtype=bool)
        amount = text.str.replace(r"^[+-]\s*", "", regex=True)
    if "direction" in frame:
        flag = as_text(frame["direction"])
        folded = flag.str.casefold()
        debit = folded.isin([v.casefold() for v in spec.debit_values]).to_numpy(bool)
        credit = folded.isin([v.casefold() for v in spec.credit_values]).to_numpy(bool)
        missing = flag.isna().to_numpy(dtype=bool)
        bad = ~debit & ~credit & ~missing
        reason[missing] = "missing direction"
        if bad.any():
            reason[bad] = (
                "unparsable direction "
                + show(flag[bad])
                + f" (debit_values {list(spec.debit_values)}, "
                + f"credit_values {list(spec.credit_values)})"
            )
        column[missing | bad] = "direction"
    else:
        debit = negative
    own = as_text(frame["account"])
    other = (
        as_text(frame["counterparty_account"])
        if "counterparty_account" in frame
        else pd.Series(pd.NA, index=index, dtype="string")
    )
    name = (
        as_text(frame["counterparty"])
        if "counterparty" in frame
        else pd.Series(pd.NA, index=index, dtype="string")
    )
    debit_s = pd.Series(debit, index=index)
    nobody = other.isna() & name.isna() & reason.isna()
    reason[nobody] = "missing counterparty_account and counterparty (one is required)"
    column[nobody] = "(row)"
    from_outside = ~debit_s & other.isna() & name.notna() & reason.isna()
    if from_outside.any():
        reason[from_outside] = (
            "credit from counterparty "
            + show(name[from_outside])
            + " without an account: the canonical model has no payments from counterparties"
        )
        column[from_outside] = "counterparty"
    ref = (
        as_text(frame["reference"])
        if "reference" in frame
        else pd.Series(pd.NA, index=index, dtype="string")
    )
    line_id = (
        as_text(frame["txn_id"])
        if "txn_id" in frame
        else pd.Series(pd.NA, index=index, dtype="string")
    )
    out = pd.DataFrame(
        {
            "txn_id": ref.fillna(line_id),
            "from_account": own.where(debit_s, other),
            "to_account": other.where(debit_s, own),
            "to_counterparty": name.where(debit_s & other.isna()),
            "amount": amount,
        },
        index=index,
    )
    for col in ("currency", "ts"):
        if col in frame:
            out[col] = frame[col]
    out[ROW] = frame[ROW]
    out[_SIDE] = np.where(debit, "D", "C")
    out[_REF] = ref
    return out, reason, column


def mirror_mask(df: pd.DataFrame, spec: StatementSpec) -> pd.Series:
    """Credit lines that are the mirror of a debit line of the same transfer (to merge).

    ``df`` holds parsed, valid rows from :func:`to_transfers`. A credit line pairs with a
    debit line of the same ``reference``, accounts and amount (k-th with k-th); lines without
    a reference pair on the two accounts and the amount with the nearest debit line within
    ``spec.match_window_s`` seconds, each debit line used once.
    """
    merged = pd.Series(False, index=df.index)
    internal = df["to_account"].notna() & df["from_account"].notna()
    if not internal.any():
        return merged
    key = ["from_account", "to_account", "amount"]
    rows = df.loc[internal, [*key, "ts", _SIDE, _REF]].assign(_i=df.index[internal])
    is_debit = rows[_SIDE] == "D"
    with_ref = rows[_REF].notna()
    # 1. Shared reference: the k-th credit pairs with the k-th debit of the same key.
    ref_key = [_REF, *key]
    deb = rows[is_debit & with_ref]
    cre = rows[~is_debit & with_ref]
    if len(deb) and len(cre):
        deb = deb.assign(_k=deb.groupby(ref_key, sort=False).cumcount())
        cre = cre.assign(_k=cre.groupby(ref_key, sort=False).cumcount())
        pairs = cre.merge(deb[[*ref_key, "_k"]], on=[*ref_key, "_k"], how="inner")
        merged[pairs["_i"].to_numpy()] = True
    # 2. No reference: same accounts and amount, nearest debit within the window, once each.
    deb = rows[is_debit & ~with_ref].sort_values("ts", kind="stable")
    cre = rows[~is_debit & ~with_ref].sort_values("ts", kind="stable")
    if len(deb) and len(cre):
        found = pd.merge_asof(
            cre[[*key, "ts", "_i"]],
            deb[[*key, "ts", "_i"]]
            .rename(columns={"_i": "_d", "ts": "_dts"})
            .assign(ts=lambda d: d["_dts"]),
            on="ts",
            by=key,
            direction="nearest",
            tolerance=pd.Timedelta(seconds=spec.match_window_s),
        ).dropna(subset=["_d"])
        if len(found):
            found = found.assign(_gap=(found["ts"] - found["_dts"]).abs())
            found = found.sort_values(["_gap", "ts", "_i"], kind="stable")
            found = found.drop_duplicates("_d", keep="first")
            merged[found["_i"].to_numpy()] = True
    return merged


def drop_hidden(df: pd.DataFrame) -> pd.DataFrame:
    """The frame without the columns only :func:`mirror_mask` needs."""
    return df.drop(columns=[c for c in (_SIDE, _REF) if c in df])


__all__ = ["drop_hidden", "mirror_mask", "to_transfers"]
