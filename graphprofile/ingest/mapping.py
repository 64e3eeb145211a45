"""Declarative source mappings: which file and which column means which canonical field.

A mapping is a TOML or YAML file (see ``loaders/default.toml`` and
``loaders/example_foreign.toml``)::

    version = 1
    [options]                    # defaults for every table
    delimiter = ","              # CSV only
    encoding = "utf-8"           # CSV only
    decimal = "."                # decimal separator of amounts in CSV
    thousands = ""               # thousands separator of amounts: "", ",", ".", " " or "'"
    timestamp_format = "iso"     # iso | epoch_s | epoch_ms | days | strftime pattern
    origin = "1970-01-01"        # day 0 of timestamp_format = "days" (ISO date or time)
    timezone = "UTC"             # zone of timestamps that carry no offset
    max_amount = 1e12            # larger amounts are rejected as implausible
    max_reject_share = 0.05      # a table rejecting more of its rows stops the run (exit 2)
    true_values = ["true", "1", "yes", "y", "t"]
    false_values = ["false", "0", "no", "n", "f", ""]

    [tables.transactions]
    file = "zahlungen.csv"       # file name, or a stem: <stem>.parquet or .csv (both: error)
    delimiter = ";"              # any option may be overridden per table
    [tables.transactions.columns]
    amount = "betrag"            # canonical column = source column

    [tables.customers.attributes]
    branch = "Filiale"           # extra customer property = source column

Unknown keys are errors, so a typo never silently changes meaning.
"""

from __future__ import annotations

import codecs
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from graphprofile.errors import MappingError
from graphprofile.frames import TABLES
from graphprofile.ingest.layouts import (
    STATEMENT_KEYS,
    WIDE_KEYS,
    StatementSpec,
    check_statement_columns,
    check_wide,
    inherit,
    parse_statement,
)
from graphprofile.ingest.normalise import NORMALISE_DEFAULTS
from graphprofile.paths import loaders_dir

SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class ReadOptions:
    """How the cells of a table's file are read: ``[options]`` of a mapping, per-table overrides.

    Attributes
    ----------
    delimiter : str
        CSV column separator (one character).
    encoding : str
        Text encoding of the file.
    decimal : str
        Decimal mark of amounts (``.`` or ``,``).
    thousands : str
        Thousands separator of amounts (``""``: none; see :data:`THOUSANDS`).
    timestamp_format : str
        ``iso``, ``epoch_s``, ``epoch_ms`` or a strftime pattern.
    timezone : str
        IANA zone of timestamps without an offset.
    origin : str
        ISO date or time that ``timestamp_format = "days"`` counts from.
    true_values, false_values : tuple of str
        Texts read as true / false (case-insensitive).
    max_amount : float
        Larger amounts are rejected as implausible.
    max_reject_share : float
        A run stops when a larger share of this table's rows is rejected.
    phone_country_code : str
        Country code given to national phone numbers (``docs/DATA.md``).
    national_id_format : str
        ``any`` or ``cn`` (GB 11643 check of mainland ID numbers).
    """

    delimiter: str = ","
    encoding: str = "utf-8"
    decimal: str = "."
    thousands: str = ""
    timestamp_format: str = "iso"
    timezone: str = "UTC"
    origin: str = "1970-01-01"
    true_values: tuple[str, ...] = ("true", "1", "yes", "y", "t")
    false_values: tuple[str, ...] = ("false", "0", "no", "n", "f", "")
    max_amount: float = 1e12
    max_reject_share: float = 0.05
    phone_country_code: str = NORMALISE_DEFAULTS["phone_country_code"]
    national_id_format: str = NORMALISE_DEFAULTS["national_id_format"]

    @classmethod
    def from_checked(cls, opts: dict[str, Any]) -> ReadOptions:
        """From option values already checked by the mapping parser."""
        values = dict(opts)
        for key in ("true_values", "false_values"):
            values[key] = tuple(values[key])
        values["max_amount"] = float(values["max_amount"])
        values["max_reject_share"] = float(values["max_reject_share"])
        return cls(**values)


#: Every option key and its default, as written in a mapping file.
OPTION_DEFAULTS: dict[str, Any] = {
    f.name: list(v) if isinstance(v := getattr(ReadOptions(), f.name), tuple) else v
    for f in fields(ReadOptions)
}
#: Thousands separators an amount may carry (``""``: none).
THOUSANDS = ("", ",", ".", " ", "'")
#: Named timestamp formats; anything else must be a strftime pattern.
TIMESTAMP_FORMATS = {"iso", "epoch_s", "epoch_ms", "days"}
TABLE_KEYS = {"file", "columns", "attributes", *OPTION_DEFAULTS, *WIDE_KEYS, *STATEMENT_KEYS}
TOP_KEYS = {"version", "name", "description", "options", "tables"}


@dataclass(frozen=True)
class TableMapping:
    """How one canonical table is read: its file, column names and parse options."""

    table: str
    file: str
    columns: dict[str, str]
    explicit_columns: bool
    attributes: dict[str, str] = field(default_factory=dict)
    options: ReadOptions = field(default_factory=ReadOptions)
    #: Read from another table's file (see :mod:`graphprofile.ingest.wide`).
    from_table: str | None = None
    kinds: dict[str, str] = field(default_factory=dict)
    separator: str | None = None
    #: Statement-format transactions (see :mod:`graphprofile.ingest.statements`).
    statement: StatementSpec | None = None


@dataclass(frozen=True)
class Mapping:
    """A whole source mapping; ``source`` names the file it came from."""

    source: str
    tables: dict[str, TableMapping]
    is_default: bool = False


def _read_document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"cannot read mapping file {path}: {exc.strerror}") from None
    try:
        if path.suffix.lower() == ".toml":
            doc = tomllib.loads(text)
        elif path.suffix.lower() in {".yaml", ".yml"}:
            doc = yaml.safe_load(text) or {}
        else:
            raise MappingError(f"mapping file {path} must end in .toml, .yaml or .yml")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise MappingError(f"mapping file {path} is not valid: {exc}") from None
    if not isinstance(doc, dict):
        raise MappingError(f"mapping file {path} must hold a table of settings at the top")
    return doc


def _check_keys(where: str, given: dict[str, Any], allowed: set[str], source: str) -> None:
    unknown = sorted((k for k in given if k not in allowed), key=str)
    if unknown:
        raise MappingError(
            f"{source}: unknown key {', '.join(repr(k) for k in unknown)} in {where}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def _options(where: str, raw: dict[str, Any], base: dict[str, Any], source: str) -> dict[str, Any]:
    opts = dict(base)
    for key in OPTION_DEFAULTS:
        if key in raw:
            opts[key] = raw[key]
    for key in ("delimiter", "decimal"):
        if not isinstance(opts[key], str) or len(opts[key]) != 1:
            raise MappingError(f"{source}: {where}.{key} must be a single character")
    if opts["delimiter"] in {'"', "\n", "\r"}:
        raise MappingError(
            f"{source}: {where}.delimiter {opts['delimiter']!r} cannot separate columns "
            "(it is the quote or a line break)"
        )
    if opts["decimal"] not in {".", ","}:
        raise MappingError(f"{source}: {where}.decimal must be '.' or ','")
    if opts["thousands"] not in THOUSANDS:
        raise MappingError(
            f"{source}: {where}.thousands must be one of "
            f"{', '.join(repr(t) for t in THOUSANDS)}, not {opts['thousands']!r}"
        )
    if opts["thousands"] == opts["decimal"]:
        raise MappingError(
            f"{source}: {where}.thousands and {where}.decimal are both {opts['decimal']!r}"
        )
    for key in ("true_values", "false_values"):
        if not isinstance(opts[key], list) or not all(isinstance(v, str) for v in opts[key]):
            raise MappingError(f"{source}: {where}.{key} must be a list of strings")
    both = sorted(
        {v.lower() for v in opts["true_values"]} & {v.lower() for v in opts["false_values"]}
    )
    if both:
        raise MappingError(
            f"{source}: {where}: {', '.join(map(repr, both))} is in both true_values and "
            "false_values"
        )
    amount = opts["max_amount"]
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not amount > 0:
        raise MappingError(f"{source}: {where}.max_amount must be a number above 0")
    share = opts["max_reject_share"]
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise MappingError(f"{source}: {where}.max_reject_share must be a number from 0 to 1")
    for key in ("encoding", "timestamp_format", "timezone", "origin"):
        if not isinstance(opts[key], str) or not opts[key]:
            raise MappingError(f"{source}: {where}.{key} must be a non-empty string")
    try:
        codecs.lookup(opts["encoding"])
    except LookupError:
        raise MappingError(
            f"{source}: {where}.encoding {opts['encoding']!r} is not a known encoding "
            "(e.g. 'utf-8', 'latin-1', 'cp1252')"
        ) from None
    try:
        zoneinfo.ZoneInfo(opts["timezone"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise MappingError(
            f"{source}: {where}.timezone {opts['timezone']!r} is not a known time zone "
            "(use an IANA name such as 'UTC' or 'Europe/Berlin')"
        ) from None
    try:
        pd.Timestamp(opts["origin"])
    except ValueError:
        raise MappingError(
            f"{source}: {where}.origin {opts['origin']!r} is not an ISO date or time "
            "(such as '2024-01-01')"
        ) from None
    fmt = opts["timestamp_format"]
    if fmt not in TIMESTAMP_FORMATS:
        if "%" not in fmt:
            raise MappingError(
                f"{source}: {where}.timestamp_format {fmt!r} must be iso, epoch_s, epoch_ms, "
                "days or a strftime pattern such as '%d.%m.%Y %H:%M'"
            )
        try:
            pd.to_datetime(pd.Series(["x"]), format=fmt, errors="coerce")
        except ValueError as exc:
            raise MappingError(
                f"{source}: {where}.timestamp_format {fmt!r} is not a valid strftime pattern: {exc}"
            ) from None
    return opts


def _table(source: str, where: str, value: Any) -> dict[str, Any]:
    """``value`` as a table of settings (absent = empty), or a MappingError naming ``where``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MappingError(f"{source}: [{where}] must be a table of settings, not {value!r}")
    return value


def _check_shared_sources(
    source: str,
    where: str,
    columns: dict[str, str],
    attributes: dict[str, str],
    explicit: bool,
) -> None:
    """Two mapping entries may not read the same source column (one would silently win)."""
    entries = [(f"{where}.attributes.{k}", v) for k, v in attributes.items()]
    if explicit:
        entries = [(f"{where}.columns.{k}", v) for k, v in columns.items()] + entries
    else:  # implicit columns only clash with attributes that read a canonical column
        entries += [
            (f"{where}.columns.{k}", v) for k, v in columns.items() if v in attributes.values()
        ]
    sources = [v for _, v in entries]
    for _entry, src in entries:
        if sources.count(src) > 1:
            users = [e for e, v in entries if v == src]
            raise MappingError(
                f"{source}: {' and '.join(users)} all read source column {src!r}; "
                "map each canonical column or attribute to its own source column"
            )


def parse_mapping(doc: dict[str, Any], source: str) -> Mapping:
    """Validate a mapping document (already parsed from TOML/YAML) into a :class:`Mapping`.

    Raises
    ------
    MappingError
        On an unknown key, an unknown table or canonical column, or an unsafe attribute name.
    """
    _check_keys("the top level", doc, TOP_KEYS, source)
    version = doc.get("version", 1)
    if version != 1:
        raise MappingError(f"{source}: version {version!r} is not supported (use 1)")
    options = _table(source, "options", doc.get("options"))
    _check_keys("[options]", options, set(OPTION_DEFAULTS), source)
    base = _options("options", options, OPTION_DEFAULTS, source)
    raw_tables = _table(source, "tables", doc.get("tables"))
    _check_keys("[tables]", raw_tables, set(TABLES), source)
    if "transactions" not in raw_tables:
        raise MappingError(f"{source}: [tables.transactions] is required")
    tables: dict[str, TableMapping] = {}
    for name, raw in raw_tables.items():
        where = f"tables.{name}"
        if not isinstance(raw, dict):
            raise MappingError(f"{source}: [{where}] must be a table")
        _check_keys(f"[{where}]", raw, TABLE_KEYS, source)
        check_wide(source, where, name, raw, raw_tables)
        if raw.get("from_table") is not None:
            raw = inherit(name, raw, raw_tables)
        statement = parse_statement(source, where, raw)
        file = raw.get("file", name)
        if not isinstance(file, str) or file in {"", ".", ".."} or "/" in file or "\\" in file:
            raise MappingError(f"{source}: {where}.file must be a file name inside the data dir")
        columns_raw = raw.get("columns")
        explicit = columns_raw is not None
        if statement is not None:
            columns = check_statement_columns(source, where, columns_raw)
        elif columns_raw is None:
            columns = {c: c for c in TABLES[name]}
        else:
            if not isinstance(columns_raw, dict):
                raise MappingError(f"{source}: [{where}.columns] must be a table")
            _check_keys(f"[{where}.columns]", columns_raw, set(TABLES[name]), source)
            for canon, src in columns_raw.items():
                if not isinstance(src, str) or not src:
                    raise MappingError(
                        f"{source}: {where}.columns.{canon} must name a source column"
                    )
            columns = dict(columns_raw)
        attributes = _table(source, f"{where}.attributes", raw.get("attributes"))
        if attributes and name != "customers":
            raise MappingError(f"{source}: attributes are only kept for customers, not {name}")
        for prop, src in attributes.items():
            if not SAFE_NAME.match(str(prop)) or prop in TABLES[name]:
                raise MappingError(
                    f"{source}: {where}.attributes key {prop!r} is not a usable property name "
                    "(letters, digits and _, not starting with a digit, not a canonical column)"
                )
            if not isinstance(src, str) or not src:
                raise MappingError(f"{source}: {where}.attributes.{prop} must name a column")
        _check_shared_sources(source, where, columns, attributes, explicit)
        tables[name] = TableMapping(
            table=name,
            file=file,
            columns=columns,
            explicit_columns=explicit,
            attributes=dict(attributes),
            options=ReadOptions.from_checked(_options(where, raw, base, source)),
            from_table=raw.get("from_table"),
            kinds=dict(raw.get("kinds") or {}),
            separator=raw.get("separator"),
            statement=statement,
        )
    return Mapping(source=source, tables=tables)


def load_mapping(path: Path | None = None) -> Mapping:
    """Read and validate a mapping file; ``None`` gives the default mapping (our own layout)."""
    is_default = path is None
    path = Path(loaders_dir() / "default.toml" if path is None else path)
    if not path.is_file():
        raise MappingError(f"mapping file {path} does not exist")
    mapping = parse_mapping(_read_document(path), str(path))
    return Mapping(source=mapping.source, tables=mapping.tables, is_default=is_default)
