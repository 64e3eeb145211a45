"""Every statement in cypher/ passes Neo4j's own parser (tools/cypher-lint).

Needs node and npm; installs the pinned @neo4j-cypher/language-support with ``npm ci``.
Skipped with a reason when node is missing, except under CI=true where that fails.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import missing

ROOT = Path(__file__).resolve().parents[2]
LINT = ROOT / "tools" / "cypher-lint"


@pytest.fixture(scope="module")
def linter() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing("node/npm not found: cannot lint cypher/ with Neo4j's parser")
    if not (LINT / "node_modules" / "@neo4j-cypher" / "language-support").is_dir():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=LINT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            missing(f"npm ci failed in {LINT}: {done.stderr.strip()[-500:]}")
    return LINT / "lint.mjs"


def lint(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(script), *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_every_cypher_statement_parses(linter: Path) -> None:
    done = lint(linter)
    assert done.returncode == 0, done.stdout + done.stderr
    n_files = len(list((ROOT / "cypher").rglob("*.cypher")))
    assert f"cypher-lint: {n_files} files," in done.stdout
    assert " 0 errors" in done.stdout


def test_lint_fails_on_a_syntax_error_with_file_and_line(linter: Path, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad.cypher").write_text(
        "// fine\nMATCH (n) RETURN n;\nUNWIND $rows AS row\nMATCH (n)\nRETURN n LIMT 5;\n"
        "MATCH (n) WHERE id(n) = $x RETURN n;\n"
    )
    done = lint(linter, str(tmp_path))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1 and errors[0].split(":")[1:3] == ["5", "10"]
    assert "bad.cypher" in errors[0] and "LIMT" in errors[0]
    # a deprecation is reported as a warning, and $params are not errors
    assert any(": warning: " in line and "id" in line for line in lines)
    assert not any("Parameter" in line for line in lines)
