"""A wheel carries every subpackage and the Cypher and mapping files the code loads."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_subpackage_and_resource_dir_is_packaged() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    # every folder of graphprofile/ with files in it, data-only folders too (setuptools
    # warns that a data folder missing from ``packages`` will be left out of future wheels)
    found = {
        ".".join(d.relative_to(ROOT).parts)
        for d in [ROOT / "graphprofile", *(ROOT / "graphprofile").rglob("*")]
        if d.is_dir()
        and "__pycache__" not in d.parts
        and any(f.is_file() and f.suffix != ".pyc" for f in d.iterdir())
    }
    found |= {
        "graphprofile._cypher." + ".".join(d.relative_to(ROOT / "cypher").parts)
        for d in (ROOT / "cypher").rglob("*")
        if d.is_dir()
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert setuptools["package-dir"] == {
        "graphprofile._cypher": "cypher",
        "graphprofile._loaders": "loaders",
    }
    assert (
        any((ROOT / "cypher").rglob("*.cypher")) and (ROOT / "loaders" / "default.toml").is_file()
    )


def test_vendored_javascript_is_packaged_with_its_licence() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "graphprofile.sinks.vendor" in setuptools["packages"]
    assert setuptools["package-data"]["graphprofile.sinks.vendor"] == ["*.js", "*.LICENSE"]
    vendor = ROOT / "graphprofile" / "sinks" / "vendor"
    assert (vendor / "cytoscape.min.js").stat().st_size > 100_000
    assert "Permission is hereby granted" in (vendor / "cytoscape.LICENSE").read_text()
