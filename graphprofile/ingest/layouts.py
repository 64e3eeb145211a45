"""Mapping entries for layouts other than one canonical table per file.

Validated here, when the mapping is read; applied by :mod:`graphprofile.ingest.wide`
(identifiers and devices from another table's columns) and
:mod:`graphprofile.ingest.statements` (statement-format transactions).
"""

from __future__ import annotations

from dataclasses import dataclass

from graphprofile.errors import MappingError

#: Tables that may be read from another table's file, and the tables they may read.
FROM_TABLES = {
    "identifiers": ("customers", "accounts"),
    "devices": ("customers", "accounts", "transactions"),
}
WIDE_KEYS = {"from_table", "kinds", "separator"}


def check_wide(source: str, where: str, table: str, raw: dict, tables: dict) -> None:
    """Validate ``from_table``, ``kinds`` and ``separator`` of one mapping table entry."""
    from_table = raw.get("from_table")
    kinds = raw.get("kinds")
    separator = raw.get("separator")
    if from_table is None:
        if kinds is not None:
            raise MappingError(f"{source}: {where}.kinds needs {where}.from_table")
        if separator is not None and table != "devices":
            raise MappingError(f"{source}: {where}.separator needs {where}.from_table")
    else:
        allowed = FROM_TABLES.get(table)
        if allowed is None:
            raise MappingError(
                f"{source}: {where}.from_table is only for identifiers and devices, not {table}"
            )
        if from_table not in allowed or from_table not in tables:
            raise MappingError(
                f"{source}: {where}.from_table {from_table!r} must name another table of this "
                f"mapping ({', '.join(t for t in allowed if t in tables) or 'none mapped'})"
            )
        if table == "identifiers":
            if not isinstance(kinds, dict) or not kinds:
                raise MappingError(
                    f"{source}: {where}.kinds must map identifier kinds to source columns, "
                    'e.g. kinds = { phone = "mobile" }'
                )
            for kind, col in kinds.items():
                if not str(kind).strip() or not isinstance(col, str) or not col:
                    raise MappingError(f"{source}: {where}.kinds.{kind} must name a source column")
            cols = list(kinds.values())
            dupes = sorted({c for c in cols if cols.count(c) > 1})
            if dupes:
                raise MappingError(
                    f"{source}: {where}.kinds reads column {dupes[0]!r} for two kinds"
                )
        elif kinds is not None:
            raise MappingError(f"{source}: {where}.kinds is only for identifiers")
    if separator is not None and (not isinstance(separator, str) or not separator):
        raise MappingError(f"{source}: {where}.separator must be a non-empty string")


def inherit(table: str, raw: dict, raw_tables: dict) -> dict:
    """``raw`` completed from its ``from_table``: file, options and the customer id column."""
    src = raw_tables[raw["from_table"]] or {}
    dropped = {"columns", "attributes", *WIDE_KEYS, *STATEMENT_KEYS}
    out = {k: v for k, v in src.items() if k not in dropped}
    out["file"] = src.get("file", raw["from_table"])
    out.update(raw)
    if table == "identifiers" and "columns" not in raw:
        src_cols = src.get("columns") or {}
        out["columns"] = {"customer_id": src_cols.get("customer_id", "customer_id")}
    return out


#: Source columns a statement mapping may name (``account``, ``amount``, ``ts`` required).
STATEMENT_COLUMNS = (
    "txn_id",
    "reference",
    "account",
    "counterparty_account",
    "counterparty",
    "amount",
    "direction",
    "currency",
    "ts",
)
STATEMENT_REQUIRED = {"account", "amount", "ts"}
STATEMENT_KEYS = {"format", "debit_values", "credit_values", "match_window_s"}
DEFAULT_DEBIT = ("借", "D", "DR", "debit", "-")
DEFAULT_CREDIT = ("贷", "C", "CR", "credit", "+")


@dataclass(frozen=True)
class StatementSpec:
    """How statement lines are read: direction values and the mirror-matching window."""

    debit_values: tuple[str, ...] = DEFAULT_DEBIT
    credit_values: tuple[str, ...] = DEFAULT_CREDIT
    match_window_s: float = 300.0

    def __post_init__(self) -> None:
        debit = {v.casefold() for v in self.debit_values}
        both = sorted(debit & {v.casefold() for v in self.credit_values})
        if both:
            raise ValueError(f"{', '.join(map(repr, both))} is both a debit and a credit value")
        if not self.match_window_s >= 0:
            raise ValueError("match_window_s must be a number of seconds >= 0")


def parse_statement(source: str, where: str, raw: dict) -> StatementSpec | None:
    """The :class:`StatementSpec` of a mapping table entry, ``None`` for a plain table."""
    fmt = raw.get("format", "table")
    if fmt not in {"table", "statement"}:
        raise MappingError(f"{source}: {where}.format must be 'table' or 'statement'")
    given = sorted(k for k in STATEMENT_KEYS - {"format"} if k in raw)
    if fmt == "table":
        if given:
            raise MappingError(f"{source}: {where}.{given[0]} needs format = 'statement'")
        return None
    if not where.endswith(".transactions"):
        raise MappingError(f"{source}: format = 'statement' is only for tables.transactions")
    kwargs: dict = {}
    for key in ("debit_values", "credit_values"):
        if key in raw:
            value = raw[key]
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(v, str) and v.strip() for v in value)
            ):
                raise MappingError(f"{source}: {where}.{key} must be a list of non-empty strings")
            kwargs[key] = tuple(v.strip() for v in value)
    if "match_window_s" in raw:
        window = raw["match_window_s"]
        if isinstance(window, bool) or not isinstance(window, int | float):
            raise MappingError(f"{source}: {where}.match_window_s must be a number of seconds")
        kwargs["match_window_s"] = float(window)
    try:
        return StatementSpec(**kwargs)
    except ValueError as exc:
        raise MappingError(f"{source}: {where}: {exc}") from None


def check_statement_columns(source: str, where: str, columns: object) -> dict[str, str]:
    """The ``columns`` of a statement mapping, validated (they are required)."""
    if not isinstance(columns, dict):
        raise MappingError(f"{source}: [{where}.columns] is required with format = 'statement'")
    unknown = sorted(set(columns) - set(STATEMENT_COLUMNS))
    if unknown:
        raise MappingError(
            f"{source}: unknown key {unknown[0]!r} in [{where}.columns]; allowed with "
            f"format = 'statement': {', '.join(STATEMENT_COLUMNS)}"
        )
    missing = sorted(STATEMENT_REQUIRED - set(columns))
    if missing:
        raise MappingError(f"{source}: {where}.columns.{missing[0]} is required for statements")
    if not {"counterparty_account", "counterparty"} & set(columns):
        raise MappingError(f"{source}: {where}.columns needs counterparty_account or counterparty")
    for canon, src in columns.items():
        if not isinstance(src, str) or not src:
            raise MappingError(f"{source}: {where}.columns.{canon} must name a source column")
    return dict(columns)


__all__ = [
    "STATEMENT_COLUMNS",
    "StatementSpec",
    "check_statement_columns",
    "check_wide",
    "inherit",
    "parse_statement",
]
