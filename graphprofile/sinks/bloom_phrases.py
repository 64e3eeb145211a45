"""Bloom search phrases: read from ``cypher/bloom/`` files whose header declares them.

Each file starts with ``// bloom-phrase: <text>`` and one
``// bloom-param: <name> <type> [Label.property]`` line per parameter (the suggestion
source); the Cypher below is what Bloom runs, linted in CI like every ``cypher/`` file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from graphprofile.errors import OutputError
from graphprofile.paths import cypher_dir


@dataclass(frozen=True)
class Param:
    """A search-phrase parameter and where Bloom takes its suggestions from."""

    name: str
    data_type: str = "String"
    suggestion_label: str | None = None
    suggestion_prop: str | None = None


@dataclass(frozen=True)
class Phrase:
    """A search phrase: its text, the ``cypher/bloom/`` file and its parameters."""

    text: str
    file: str
    params: tuple[Param, ...] = field(default_factory=tuple)


#: Search phrases in the order Bloom lists them; each file starts with
#: ``// bloom-phrase: <text>`` and one ``// bloom-param: <name> <type> [Label.property]``
#: per parameter (the suggestion source).
PHRASE_FILES = ("ring", "rings_risk_above", "shared_devices", "community_influencers")
PHRASE_FILES += ("money_path", "why_high_risk", "high_risk_customers")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot read search-phrase Cypher {path}: {exc.strerror}") from None


def read_phrase(file: str) -> Phrase:
    """The phrase declared in the header of ``cypher/bloom/<file>.cypher``.

    Raises
    ------
    OutputError
        The file is missing or has no ``// bloom-phrase:`` line.
    """
    path = cypher_dir() / "bloom" / f"{file}.cypher"
    text, params = None, []
    for line in _read(path).splitlines():
        if line.startswith("// bloom-phrase:"):
            text = line.split(":", 1)[1].strip()
        elif line.startswith("// bloom-param:"):
            name, dtype, *source = line.split(":", 1)[1].split()
            label, prop = source[0].split(".") if source else (None, None)
            params.append(Param(name, dtype, label, prop))
    if not text:
        raise OutputError(f"{path} has no '// bloom-phrase: <text>' header line")
    return Phrase(text, file, tuple(params))


def phrases() -> tuple[Phrase, ...]:
    """Every search phrase, read from ``cypher/bloom/``."""
    return tuple(read_phrase(f) for f in PHRASE_FILES)


_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def phrase_cypher(phrase: Phrase) -> str:
    """The Cypher of a phrase from ``cypher/bloom/<file>.cypher``, comments stripped.

    Raises
    ------
    OutputError
        The file is missing, or its parameters differ from the phrase's.
    """
    path = cypher_dir() / "bloom" / f"{phrase.file}.cypher"
    text = _read(path)
    lines = [line.rstrip() for line in text.splitlines() if not line.strip().startswith("//")]
    cypher = "\n".join(lines).strip().rstrip(";").strip()
    used = set(_PARAM.findall(cypher))
    declared = {p.name for p in phrase.params}
    if used != declared or used != set(_PARAM.findall(phrase.text)):
        raise OutputError(
            f"{path} uses parameters {sorted(used)} but phrase {phrase.text!r} declares "
            f"{sorted(declared)}; make them the same"
        )
    return cypher
