"""The ``tag_vocabulary`` table: each tag key's display name and description, per language.

Tags keep stable English keys (``risk:high``, ``ring_member:cycle``,
``influencer:top1pct``); a profile store shows people a name from this table instead.
Columns: ``tag``, then ``name_<lang>`` and ``description_<lang>`` for every language of
:data:`graphprofile.i18n.LANGS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from graphprofile.domain import RING_KINDS
from graphprofile.i18n import LANGS, Messages

#: Tag key patterns → message key under ``tag.`` (first match wins).
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), key)
    for p, key in (
        (r"^community$", "community"),
        (r"^influencer:top(?P<p>[0-9.]+)pct$", "influencer"),
        (r"^community_influencer:top(?P<p>[0-9.]+)pct$", "community_influencer"),
        (r"^bridge:top(?P<p>[0-9.]+)pct$", "bridge"),
        (r"^money_hub:top(?P<p>[0-9.]+)pct$", "money_hub"),
        (r"^ring_member$", "ring_member"),
        (r"^ring_member:(?P<kind>[a-z_]+)$", "ring_member_kind"),
        (r"^near_known_fraud$", "near_known_fraud"),
        (r"^risk:(?P<level>high|medium)$", "risk"),
    )
)
#: Tags every run can write (with default settings), listed even when a run has none.
BASE_TAGS = (
    "community",
    "influencer:top1pct",
    "community_influencer:top1pct",
    "bridge:top1pct",
    "money_hub:top1pct",
    "ring_member",
    *(f"ring_member:{k}" for k in RING_KINDS),
    "near_known_fraud",
    "risk:high",
    "risk:medium",
)
VOCABULARY_COLUMNS = ["tag"] + [f"{f}_{lang}" for lang in LANGS for f in ("name", "description")]


def describe_tag(tag: str, msgs: Messages) -> tuple[str, str]:
    """``(display name, description)`` of one tag key in the language of ``msgs``."""
    for pattern, key in PATTERNS:
        found = pattern.match(tag)
        if not found:
            continue
        fields = dict(found.groupdict())
        if "kind" in fields:
            fields["kind"] = msgs.get(f"ring_kind.{fields['kind']}", fields["kind"]) or ""
        if "level" in fields:
            fields["level"] = msgs(f"risk_level.{fields['level']}")
        if key == "near_known_fraud":
            fields["hops"] = "2"
        return msgs(f"tag.{key}.name", **fields), msgs(f"tag.{key}.description", **fields)
    return msgs("tag.unknown.name", tag=tag), msgs("tag.unknown.description")


def tag_vocabulary(tags: Iterable[str] = ()) -> pd.DataFrame:
    """The vocabulary of :data:`BASE_TAGS` and ``tags`` (e.g. a run's ``tags.tag``), sorted.

    Parameters
    ----------
    tags : iterable of str, optional
        Tag keys to describe besides the base ones.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`VOCABULARY_COLUMNS`, one row per distinct tag key.
    """
    keys = sorted({*BASE_TAGS, *(str(t) for t in tags)})
    rows: dict[str, list[str]] = {c: [] for c in VOCABULARY_COLUMNS}
    rows["tag"] = keys
    for lang in LANGS:
        msgs = Messages(lang)
        for name, description in (describe_tag(t, msgs) for t in keys):
            rows[f"name_{lang}"].append(name)
            rows[f"description_{lang}"].append(description)
    return pd.DataFrame(rows).astype("string")


__all__ = ["BASE_TAGS", "VOCABULARY_COLUMNS", "describe_tag", "tag_vocabulary"]
