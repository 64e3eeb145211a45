"""No import cycle among graphprofile's modules (built from the source with ``ast``)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[2] / "graphprofile"


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package_dir: Path = PACKAGE) -> nx.DiGraph:
    """Every ``import``/``from … import`` between graphprofile modules, lazy ones included."""
    files = {module_name(p, package_dir): p for p in package_dir.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # ``from pkg import module`` imports that module; ``from mod import name`` mod
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base
                    for alias in node.names
                ]
            for target in targets:
                if target in files and target != name:
                    graph.add_edge(name, target)
    return graph


def test_the_import_graph_sees_the_package() -> None:
    graph = import_graph()
    assert graph.has_edge("graphprofile.pipeline", "graphprofile.outputs")
    assert graph.has_edge("graphprofile.analysis", "graphprofile.analysis.job")
    assert graph.number_of_nodes() > 60


def test_no_import_cycles() -> None:
    cycles = sorted(" -> ".join([*c, c[0]]) for c in nx.simple_cycles(import_graph()))
    assert cycles == [], "import cycles:\n" + "\n".join(cycles)


def test_a_cycle_is_caught(tmp_path: Path) -> None:
    package = tmp_path / "graphprofile"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from graphprofile.b import x\n")
    (package / "b.py").write_text("def f():\n    from . import a\n")
    cycles = [sorted(c) for c in nx.simple_cycles(import_graph(package))]
    assert cycles == [["graphprofile.a", "graphprofile.b"]]
