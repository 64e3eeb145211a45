"""Load Cypher statements from the ``cypher/`` directory.

Statements are plain ``.cypher`` files so that they can be linted with Neo4j's parser and
read by people. A file may hold several statements, each ending with ``;`` at the end of a
line. Names that cannot be parameters (labels, relationship types, property names) are
written as placeholders of the form ``__NAME__`` — valid identifiers, so the files still
parse — and replaced here with names that passed :func:`validate_name`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from graphprofile.errors import StoreError
from graphprofile.paths import cypher_dir
from graphprofile.store.base import validate_name

PLACEHOLDER = re.compile(r"\b__([A-Z][A-Z0-9_]*?)__\b")
_SPLIT = re.compile(r";[ \t]*(?:\r?\n|$)")


def split_statements(text: str) -> list[str]:
    """Split file text on ``;`` at line ends; drop ``//`` comment lines and empty pieces."""
    out = []
    for piece in _SPLIT.split(text):
        code = "\n".join(
            line.rstrip() for line in piece.splitlines() if not line.strip().startswith("//")
        ).strip()
        if code:
            out.append(code)
    return out


@lru_cache(maxsize=256)
def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"cannot read Cypher file {path}: {exc.strerror}") from None


def cypher_path(name: str) -> Path:
    """Path of ``cypher/<name>.cypher`` (``name`` like ``"load/nodes_customer"``)."""
    base = cypher_dir()
    path = (base / f"{name}.cypher").resolve()
    if base.resolve() not in path.parents:
        raise StoreError(f"Cypher file name {name!r} points outside {base}")
    if not path.is_file():
        raise StoreError(f"missing Cypher file {path}; is the cypher/ directory complete?")
    return path


def statements(name: str, **names: str) -> list[str]:
    """Every statement of ``cypher/<name>.cypher`` with placeholders filled in.

    Parameters
    ----------
    name : str
        File name relative to ``cypher/`` without the suffix.
    **names : str
        Placeholder values, e.g. ``LABEL="HighRisk"`` for ``__LABEL__``; each is validated.

    Returns
    -------
    list of str

    Raises
    ------
    StoreError
        Missing file, an unsafe name, a placeholder without a value or a value without
        a placeholder.
    """
    text = _read(cypher_path(name))
    wanted = set(PLACEHOLDER.findall(text))
    given = set(names)
    if wanted - given:
        raise StoreError(f"cypher/{name}.cypher needs names for {sorted(wanted - given)}")
    if given - wanted:
        raise StoreError(f"cypher/{name}.cypher has no placeholder for {sorted(given - wanted)}")
    for key, value in names.items():
        validate_name(value, key.lower())
    filled = PLACEHOLDER.sub(lambda m: names[m.group(1)], text)
    return split_statements(filled)


def statement(name: str, **names: str) -> str:
    """The single statement of ``cypher/<name>.cypher`` (see :func:`statements`).

    Raises
    ------
    StoreError
        The file holds no statement or more than one.
    """
    found = statements(name, **names)
    if len(found) != 1:
        raise StoreError(f"cypher/{name}.cypher must hold exactly one statement, has {len(found)}")
    return found[0]
