"""What was rejected, per table: counts, shares and the top reasons with examples.

The summary goes to the console, ``run.json`` (``rejects``) and the report. A table whose
rejected share is above its ``max_reject_share`` (mapping option, or ``--max-reject-share``)
stops the run: :func:`over_limit` names those tables.
"""

from __future__ import annotations

import re
from typing import Any

from graphprofile.frames import Frames

#: Reasons and examples listed per table.
TOP_REASONS = 3
EXAMPLES = 3

_QUOTED = re.compile(r" ?'[^']*'")


def reason_kind(reason: str) -> str:
    """A reason without the offending value: ``unparsable amount '1,184.66'`` → ``unparsable
    amount``, so that rows rejected for the same cause are counted together."""
    return _QUOTED.sub("", str(reason)).strip() or str(reason)


def reject_summary(frames: Frames, *, top: int = TOP_REASONS) -> dict[str, dict[str, Any]]:
    """Per table: ``read``, ``rejected``, ``share`` and ``top_reasons``.

    Each of the ``top`` reasons has ``reason`` (without the offending values), ``count``
    and ``examples`` (up to three ``{"row", "reason"}`` with the values, as in
    ``rejects/<table>.csv``). Tables are those read; a table with no rejects has
    ``top_reasons == []``.
    """
    out: dict[str, dict[str, Any]] = {}
    rejects = frames.rejects
    for table, stats in sorted(frames.stats.items()):
        mine = rejects[rejects["table"] == table] if len(rejects) else rejects
        reasons: list[dict[str, Any]] = []
        if len(mine):
            kinds = mine["reason"].astype(str).map(reason_kind)
            counts = kinds.value_counts(sort=False)
            order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
            for kind, count in order:
                rows = mine[(kinds == kind).to_numpy()].head(EXAMPLES)
                reasons.append(
                    {
                        "reason": kind,
                        "count": int(count),
                        "examples": [
                            {"row": int(r), "reason": str(w)}
                            for r, w in zip(rows["source_row"], rows["reason"], strict=True)
                        ],
                    }
                )
        read = int(stats.read)
        out[table] = {
            "source_file": stats.source_file,
            "read": read,
            "rejected": int(stats.rejected),
            "share": round(stats.rejected / read, 6) if read else 0.0,
            "top_reasons": reasons,
        }
    return out


def over_limit(
    summary: dict[str, dict[str, Any]], limits: dict[str, float]
) -> dict[str, dict[str, Any]]:
    """Tables whose rejected share is above their limit (``limits``: table → share)."""
    return {
        table: {**info, "max_reject_share": limits[table]}
        for table, info in summary.items()
        if table in limits and info["read"] and info["rejected"] / info["read"] > limits[table]
    }


def describe(failed: dict[str, dict[str, Any]]) -> str:
    """The message for tables that rejected too much: share, limit, top reasons, what to do."""
    lines = ["too many rows rejected; the run stopped after reading the input:"]
    for info in failed.values():
        lines.append(
            f"  {info['source_file']}: {info['rejected']:,} of {info['read']:,} rows rejected "
            f"({info['share']:.1%}, above max_reject_share {info['max_reject_share']:g})"
        )
        for r in info["top_reasons"]:
            example = r["examples"][0]
            lines.append(
                f"    {r['count']:,} × {r['reason']} (e.g. row {example['row']}: "
                f"{example['reason']})"
            )
    lines.append(
        "Fix the mapping (decimal, thousands, timestamp_format, encoding …) or the data, or "
        "raise --max-reject-share; every rejected row is listed in rejects/<table>.csv"
    )
    return "\n".join(lines)
