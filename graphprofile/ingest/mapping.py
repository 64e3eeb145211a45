"""Declarative source mappings: which file and which column means which canonical field.

A mapping is a TOML or YAML file (see ``loaders/default.toml`` and
``loaders/example_foreign.toml``)::

    version = 1
    [options]                    # defaults for every table
    delimiter = ","              # CSV only
    encoding = "utf-8"           # CSV only
    decimal = "."                # decimal separator of amounts in CSV
    timestamp_format = "iso"     # iso | epoch_s | epoch_ms | strftime pattern
    timezone = "UTC"             # zone of timestamps that carry no offset
    max_amount = 1e12            # larger amounts are rejected as implausible
    true_values = ["true", "1", "yes", "y", "t"]
    false_values = ["false", "0", "no", "n", "f", ""]

    [tables.transactions]
    file = "zahlungen.csv"       # file name, or a stem looked up as .parquet then .csv
    delimiter = ";"              # any option may be overridden per table
    [tables.transactions.columns]
    amount = "betrag"            # canonical column = source column

    [tables.customers.attributes]
    branch = "Filiale"           # extra customer property = source column

Unknown keys are errors, so a typo never silently changes meaning.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from graphprofile.errors import MappingError
from graphprofile.frames import TABLES
from graphprofile.paths import loaders_dir

SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

OPTION_DEFAULTS: dict[str, Any] = {
    "delimiter": ",",
    "encoding": "utf-8",
    "decimal": ".",
    "timestamp_format": "iso",
    "timezone": "UTC",
    "true_values": ["true", "1", "yes", "y", "t"],
    "false_values": ["false", "0", "no", "n", "f", ""],
    "max_amount": 1e12,
}
TABLE_KEYS = {"file", "columns", "attributes", *OPTION_DEFAULTS}
TOP_KEYS = {"version", "name", "description", "options", "tables"}


@dataclass(frozen=True)
class TableMapping:
    """How one canonical table is read: its file, column names and parse options."""

    table: str
    file: str
    columns: dict[str, str]
    explicit_columns: bool
    attributes: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def option(self, name: str) -> Any:
        return self.options[name]


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
    unknown = sorted(set(given) - allowed)
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
    for key in ("true_values", "false_values"):
        if not isinstance(opts[key], list) or not all(isinstance(v, str) for v in opts[key]):
            raise MappingError(f"{source}: {where}.{key} must be a list of strings")
    if isinstance(opts["max_amount"], bool) or not isinstance(opts["max_amount"], int | float):
        raise MappingError(f"{source}: {where}.max_amount must be a number")
    for key in ("encoding", "timestamp_format", "timezone"):
        if not isinstance(opts[key], str) or not opts[key]:
            raise MappingError(f"{source}: {where}.{key} must be a non-empty string")
    return opts


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
    base = _options("options", doc.get("options") or {}, OPTION_DEFAULTS, source)
    _check_keys("[options]", doc.get("options") or {}, set(OPTION_DEFAULTS), source)
    raw_tables = doc.get("tables") or {}
    if not isinstance(raw_tables, dict):
        raise MappingError(f"{source}: [tables] must be a table of tables")
    _check_keys("[tables]", raw_tables, set(TABLES), source)
    if "transactions" not in raw_tables:
        raise MappingError(f"{source}: [tables.transactions] is required")
    tables: dict[str, TableMapping] = {}
    for name, raw in raw_tables.items():
        where = f"tables.{name}"
        if not isinstance(raw, dict):
            raise MappingError(f"{source}: [{where}] must be a table")
        _check_keys(f"[{where}]", raw, TABLE_KEYS, source)
        file = raw.get("file", name)
        if not isinstance(file, str) or not file or "/" in file or "\\" in file:
            raise MappingError(f"{source}: {where}.file must be a file name inside the data dir")
        columns_raw = raw.get("columns")
        explicit = columns_raw is not None
        if columns_raw is None:
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
        attributes = raw.get("attributes") or {}
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
        tables[name] = TableMapping(
            table=name,
            file=file,
            columns=columns,
            explicit_columns=explicit,
            attributes=dict(attributes),
            options=_options(where, raw, base, source),
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
