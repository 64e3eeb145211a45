"""Canonical frames: the validated tables every later stage reads.

The loader (``graphprofile.ingest``) turns source files into these frames; the graph
builder (``graphprofile.graph``) turns them into a :class:`CanonicalGraph`. Nothing
after this stage looks at source files or mappings again.

All ids are strings. Timestamps are ``datetime64[ns, UTC]``. PII columns hold keyed
hashes, never raw values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Canonical tables, their columns and whether each column is required in the source.
#: ``kind`` is the parse applied: ``id``/``str`` (text), ``amount`` (float > 0),
#: ``ts`` (timestamp), ``bool``, ``pii`` (text pseudonymised by keyed hash).
TABLES: dict[str, dict[str, tuple[str, bool]]] = {
    "transactions": {
        "txn_id": ("id", False),
        "from_account": ("id", True),
        "to_account": ("id", False),
        "to_counterparty": ("id", False),
        "amount": ("amount", True),
        "currency": ("str", False),
        "ts": ("ts", True),
    },
    "accounts": {
        "account_id": ("id", True),
        "customer_id": ("id", True),
        "opened_at": ("ts", False),
        "account_type": ("str", False),
    },
    "customers": {
        "customer_id": ("id", True),
        "name": ("pii", False),
        "segment": ("str", False),
        "known_fraud": ("bool", False),
    },
    "devices": {
        "device_id": ("id", True),
        "customer_id": ("id", False),
        "account_id": ("id", False),
        "seen_at": ("ts", False),
        "ip": ("pii", False),
    },
    "identifiers": {
        "customer_id": ("id", True),
        "kind": ("str", True),
        "value": ("pii", True),
    },
    "counterparties": {
        "counterparty_id": ("id", True),
        "name": ("str", False),
        "kind": ("str", False),
    },
}

#: Primary key of each table (``None``: rows are events, duplicates allowed).
KEYS: dict[str, str | None] = {
    "transactions": "txn_id",
    "accounts": "account_id",
    "customers": "customer_id",
    "devices": None,
    "identifiers": None,
    "counterparties": "counterparty_id",
}

#: Order in which tables are validated (references point to earlier tables).
LOAD_ORDER = ["customers", "accounts", "counterparties", "devices", "identifiers", "transactions"]

#: Node tables of the canonical graph and their key column.
NODE_KEYS = {
    "customer": "customer_id",
    "account": "account_id",
    "device": "device_id",
    "identifier": "identifier_id",
    "counterparty": "counterparty_id",
}

#: Edge tables of the canonical graph: (source node, source column, target node, target column).
EDGE_ENDS = {
    "OWNS": ("customer", "customer_id", "account", "account_id"),
    "USES_DEVICE": ("customer", "customer_id", "device", "device_id"),
    "HAS_IDENTIFIER": ("customer", "customer_id", "identifier", "identifier_id"),
    "TRANSFER": ("account", "from_account", "account", "to_account"),
    "PAYS": ("account", "from_account", "counterparty", "counterparty_id"),
}

REJECT_COLUMNS = ["table", "source_file", "source_row", "column", "reason", "key"]


@dataclass
class TableStats:
    """Row accounting for one table: ``read == accepted + rejected + merged`` always holds.

    ``merged`` counts statement lines merged into the other account's line of the same
    transfer (statement-format transactions only; 0 elsewhere).
    """

    table: str
    source_file: str
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates_merged: int = 0
    merged: int = 0

    def as_dict(self) -> dict[str, int | str]:
        return {
            "source_file": self.source_file,
            "read": self.read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "duplicates_merged": self.duplicates_merged,
            "merged": self.merged,
        }


@dataclass
class Frames:
    """Validated canonical tables plus the rejects and row accounting of the load.

    ``present`` names the tables that came from the input; tables that were derived
    (e.g. one customer per account when no accounts/customers were given) are not in it.
    Duplicate rows that are identical to an accepted row are merged, counted in
    ``TableStats.duplicates_merged`` and accepted (they carry no new information).
    """

    transactions: pd.DataFrame
    accounts: pd.DataFrame
    customers: pd.DataFrame
    devices: pd.DataFrame
    identifiers: pd.DataFrame
    counterparties: pd.DataFrame
    rejects: pd.DataFrame
    stats: dict[str, TableStats] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)
    notices: list[str] = field(default_factory=list)
    #: Position of each transaction's ``from_account`` and ``to_account`` among the rows
    #: of ``accounts`` (-1: none), as the reference check found them; ``None`` if unknown.
    transaction_accounts: tuple[np.ndarray, np.ndarray] | None = None
    #: Position of each ``devices`` and ``identifiers`` row's ``customer_id`` among the
    #: rows of ``customers`` (-1: null), as the reference check found them (by table).
    customer_positions: dict[str, np.ndarray] = field(default_factory=dict)
    #: Seconds and rows of each ingest step (``LoadLog.steps``), for ``run.json``.
    steps: dict[str, dict[str, float]] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    def accounting_only(self, keep: pd.DataFrame | None = None) -> Frames:
        """These frames with every table emptied but the rejects and the row accounting.

        Once the graph is built and the rejects are written, a run needs only ``stats``,
        ``present`` and ``notices``: dropping the tables frees their memory for the
        analysis (at 1M customers the device and identifier rows alone are hundreds of MB).

        Parameters
        ----------
        keep : pandas.DataFrame, optional
            A table that stays (the transactions, which the graph shares): every table
            that *is* ``keep`` is kept as it is.

        Returns
        -------
        Frames
            New frames: each table has its columns and dtypes and no rows (unless it is
            ``keep``); ``rejects``, ``stats``, ``present`` and ``notices`` are these.
        """

        def emptied(df: pd.DataFrame) -> pd.DataFrame:
            if keep is not None and df is keep:
                return df
            return pd.DataFrame({c: pd.Series(dtype=df[c].dtype) for c in df.columns})

        return Frames(
            transactions=emptied(self.transactions),
            accounts=emptied(self.accounts),
            customers=emptied(self.customers),
            devices=emptied(self.devices),
            identifiers=emptied(self.identifiers),
            counterparties=emptied(self.counterparties),
            rejects=self.rejects,
            stats=self.stats,
            present=self.present,
            notices=self.notices,
            steps=self.steps,
        )


@dataclass(frozen=True)
class EdgeEnds:
    """Positions of an edge table's two ends in their node tables, found by the builder.

    ``source[i]`` and ``target[i]`` are the positions of row ``i``'s two end ids
    (:data:`EDGE_ENDS`) among the sorted, unique ids of the two node tables, so that the
    analysis need not look the text columns up again (issue #16: encode ids once).
    ``edges`` is the table they belong to: they hold only for that very frame. ``nodes``,
    where the builder set it: the two node tables (source, target) it built in that sorted
    id order, in which a position is also a row; they hold for those very frames.
    """

    edges: pd.DataFrame
    source: np.ndarray
    target: np.ndarray
    nodes: tuple[pd.DataFrame, pd.DataFrame] | None = None

    def hold_for(self, frame: pd.DataFrame) -> bool:
        """Whether these positions belong to ``frame``: that very table, one per row."""
        return self.edges is frame and len(self.source) == len(frame)


@dataclass
class CanonicalGraph:
    """The canonical property graph as node and edge tables.

    ``nodes[label]`` has the key column named in :data:`NODE_KEYS` plus properties.
    ``edges[type]`` has the two end columns named in :data:`EDGE_ENDS` plus properties:

    - ``OWNS``: customer_id, account_id
    - ``USES_DEVICE``: customer_id, device_id, n_uses, first_seen, last_seen
    - ``HAS_IDENTIFIER``: customer_id, identifier_id, kind
    - ``TRANSFER``: from_account, to_account, n_txns, total_amount, first_ts, last_ts
    - ``PAYS``: from_account, counterparty_id, n_txns, total_amount, first_ts, last_ts

    ``transactions`` keeps the individual canonical transactions for time-aware jobs.
    ``transaction_accounts``, when the graph builder set it: the position of each
    transaction's ``from_account`` and ``to_account`` in ``nodes["account"]`` (sorted,
    unique ids; -1 where there is none), so that the analysis need not look the 10M-row
    text columns up again. ``edge_ends``, likewise, per edge type: the positions of each
    edge's two ends in the node tables (:class:`EdgeEnds`), for the edge tables whose
    ends the builder found among the nodes.
    """

    nodes: dict[str, pd.DataFrame]
    edges: dict[str, pd.DataFrame]
    transactions: pd.DataFrame
    present: set[str] = field(default_factory=set)
    transaction_accounts: tuple[np.ndarray, np.ndarray] | None = None
    edge_ends: dict[str, EdgeEnds] = field(default_factory=dict)

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            "nodes": {k: len(v) for k, v in self.nodes.items()},
            "edges": {k: len(v) for k, v in self.edges.items()},
        }
