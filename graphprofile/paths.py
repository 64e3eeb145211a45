"""Where graphprofile finds the files it ships beside the package (cypher/, loaders/)."""

from __future__ import annotations

import os
from pathlib import Path

from graphprofile.errors import ConfigError

_ROOT = Path(__file__).resolve().parent.parent


def _resource_dir(name: str, env: str) -> Path:
    override = os.environ.get(env)
    candidates = [Path(override)] if override else []
    candidates += [_ROOT / name, Path(__file__).resolve().parent / f"_{name}"]
    for path in candidates:
        if path.is_dir():
            return path
    raise ConfigError(
        f"cannot find the {name}/ directory (looked in {', '.join(map(str, candidates))}); "
        f"install graphprofile from a clone with `pip install -e .` or set {env}"
    )


def cypher_dir() -> Path:
    """Directory holding every Cypher statement graphprofile sends."""
    return _resource_dir("cypher", "GRAPHPROFILE_CYPHER_DIR")


def loaders_dir() -> Path:
    """Directory holding the shipped source mappings."""
    return _resource_dir("loaders", "GRAPHPROFILE_LOADERS_DIR")
