"""A wheel carries every subpackage and the Cypher and mapping files the code loads."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_subpackage_and_resource_dir_is_packaged() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "graphprofile").rglob("__init__.py")
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
    assert setuptools["package-data"]["graphprofile.sinks"] == ["vendor/*.js", "vendor/*.LICENSE"]
    vendor = ROOT / "graphprofile" / "sinks" / "vendor"
    assert (vendor / "cytoscape.min.js").stat().st_size > 100_000
    assert "Permission is hereby granted" in (vendor / "cytoscape.LICENSE").read_text()
