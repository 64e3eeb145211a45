#!/usr/bin/env bash
# A real Neo4j 5.26 (community, APOC core, open-source GDS) for tests and trials, in-process
# from Maven Central artefacts (tools/neo4j-test-server). Needs Java 17+ and Maven.
#
# Usage: scripts/neo4j-test-server.sh start|stop|status|kill|build|admin ARGS...
#   start   build the launcher once (Maven caches the artefacts in ~/.m2), start the server in
#           the background on a free 127.0.0.1 port, wait until Bolt answers, and write
#           NEO4J_URI, NEO4J_USER and NEO4J_PASSWORD to $NEO4J_TEST_DIR/env (source it).
#           A second start while the server runs prints the same and changes nothing.
#   stop    shut the server down cleanly (SIGTERM); the data stay for the next start.
#   status  say whether it runs (exit 0) or not (exit 3).
#   kill    kill -9 the server JVM, as a crash would (the fault tests use it); start again
#           recovers what was committed.
#   build   only build the launcher (scripts/test.sh does this before the tests).
#   admin   run neo4j-admin from the same artefacts on the server's data (stop it first), e.g.
#           admin database import full neo4j --nodes=... (what graphprofile export-import
#           writes; run it from the folder holding the CSV files).
# Environment: NEO4J_TEST_DIR (default .neo4j-test at the repository root: env, data, log),
# NEO4J_TEST_PORT (default: the previous port if free, else a free one), NEO4J_TEST_HEAP
# (default 1g), NEO4J_TEST_PAGECACHE (bytes, default 268435456), NEO4J_TEST_TIMEOUT (seconds
# to wait for Bolt, default 240), NEO4J_PASSWORD (default: a random one, kept in env).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOL="$ROOT/tools/neo4j-test-server"
STATE="${NEO4J_TEST_DIR:-$ROOT/.neo4j-test}"
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"
MAIN=org.graphprofile.neo4jtestserver.Neo4jTestServer

die() {
  echo "neo4j-test-server: $*" >&2
  exit 1
}

running_pid() {
  local pid
  [ -f "$STATE/pid" ] || return 1
  pid="$(cat "$STATE/pid")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

build() {
  command -v java >/dev/null 2>&1 || die "java not found: install a Java 17 JDK (e.g. apt-get install openjdk-17-jdk-headless)"
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [ "${major%%.*}" -ge 17 ] 2>/dev/null || die "Java 17 or later is needed, found ${major:-unknown} ($(command -v java))"
  local jar="$TOOL/target/neo4j-test-server.jar" stamp
  if [ -f "$jar" ] && [ -f "$TOOL/target/classpath.txt" ] && [ -d "$TOOL/target/plugins" ]; then
    stamp="$(find "$TOOL/pom.xml" "$TOOL/src" -newer "$jar" -type f | head -n 1)"
    [ -z "$stamp" ] && return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found: install Maven (e.g. apt-get install maven)"
  mkdir -p "$STATE"
  echo "neo4j-test-server: building the launcher with Maven (first time: downloads Neo4j, APOC and GDS to ~/.m2)" >&2
  if ! mvn -B -q -f "$TOOL/pom.xml" package >"$STATE/build.log" 2>&1; then
    tail -n 30 "$STATE/build.log" >&2
    die "Maven build failed (whole log: $STATE/build.log)"
  fi
}

write_env() {
  local port="$1" password="$2"
  umask 077
  printf 'NEO4J_URI=bolt://127.0.0.1:%s\nNEO4J_USER=neo4j\nNEO4J_PASSWORD=%s\n' "$port" "$password" >"$STATE/env.tmp"
  mv "$STATE/env.tmp" "$STATE/env"
}

start() {
  local pid
  if pid="$(running_pid)"; then
    echo "neo4j-test-server: already running (pid $pid); source $STATE/env"
    return 0
  fi
  build
  mkdir -p "$STATE"
  local port password previous=""
  [ -f "$STATE/port" ] && previous="$(cat "$STATE/port")"
  if [ -n "${NEO4J_TEST_PORT:-}" ]; then
    port="$NEO4J_TEST_PORT"
  elif [ -n "$previous" ] && port_free "$previous"; then
    port="$previous"
  else
    port="$(free_port)"
  fi
  port_free "$port" || die "port $port on 127.0.0.1 is in use"
  password="${NEO4J_PASSWORD:-}"
  if [ -z "$password" ] && [ -f "$STATE/env" ]; then
    password="$(sed -n 's/^NEO4J_PASSWORD=//p' "$STATE/env")"
  fi
  if [ -z "$password" ]; then
    password="gp-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  fi
  local classpath log="$STATE/neo4j.log"
  classpath="$TOOL/target/neo4j-test-server.jar:$(cat "$TOOL/target/classpath.txt")"
  echo "$port" >"$STATE/port"
  rm -rf "$STATE/data-harness" # the harness's scratch folders (logs) of earlier starts
  echo "--- start $(date -u +%FT%TZ) port $port" >>"$log"
  # JVM flags: Neo4j's own (netty, nio) and those GDS needs on JDK 17 (its build files).
  NEO4J_PASSWORD="$password" nohup java \
    -Xms256m "-Xmx${NEO4J_TEST_HEAP:-1g}" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
    -Dio.netty.tryReflectionSetAccessible=true -Djdk.nio.maxCachedBufferSize=1024 \
    --add-opens=java.base/java.lang=ALL-UNNAMED \
    --add-opens=java.base/java.lang.invoke=ALL-UNNAMED \
    --add-opens=java.base/java.nio=ALL-UNNAMED \
    --add-opens=java.base/java.io=ALL-UNNAMED \
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
    --add-opens=java.base/java.util.stream=ALL-UNNAMED \
    --add-opens=java.base/sun.net.www.protocol.http=ALL-UNNAMED \
    --add-opens=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED \
    --add-opens=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED \
    --add-opens=jdk.compiler/com.sun.tools.javac.main=ALL-UNNAMED \
    -cp "$classpath" "$MAIN" \
    --port "$port" --data "$STATE/data" --plugins "$TOOL/target/plugins" \
    --pagecache "${NEO4J_TEST_PAGECACHE:-268435456}" \
    >>"$log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$STATE/pid"
  local timeout="${NEO4J_TEST_TIMEOUT:-240}" waited=0 lines
  lines="$(wc -l <"$log")"
  while [ "$waited" -lt "$timeout" ]; do
    if tail -n "+$lines" "$log" | grep -q '^neo4j-test-server ready:'; then
      write_env "$port" "$password"
      tail -n "+$lines" "$log" | grep '^neo4j-test-server ready:'
      echo "neo4j-test-server: pid $pid; source $STATE/env"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$STATE/pid"
      tail -n 40 "$log" >&2
      die "the server exited before Bolt answered (log: $log)"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$STATE/pid"
  tail -n 40 "$log" >&2
  die "Bolt did not answer on 127.0.0.1:$port within ${timeout}s (log: $log)"
}

stop() {
  local pid waited=0
  if ! pid="$(running_pid)"; then
    rm -f "$STATE/pid"
    echo "neo4j-test-server: not running"
    return 0
  fi
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 120 ]; do
    sleep 0.5
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null || true
    echo "neo4j-test-server: did not stop within 60 s; killed pid $pid" >&2
  fi
  rm -f "$STATE/pid" # env stays: the next start keeps the password
  echo "neo4j-test-server: stopped"
}

crash() {
  local pid
  pid="$(running_pid)" || die "not running"
  kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$STATE/pid"
  echo "neo4j-test-server: killed pid $pid (kill -9)"
}

admin() {
  local pid
  if pid="$(running_pid)"; then
    die "the server is running (pid $pid); stop it before neo4j-admin works on its data"
  fi
  build
  mkdir -p "$STATE/conf"
  NEO4J_HOME="$STATE" NEO4J_CONF="$STATE/conf" java "-Xmx${NEO4J_TEST_HEAP:-1g}" \
    -cp "$TOOL/target/neo4j-test-server.jar:$(cat "$TOOL/target/classpath.txt")" \
    org.neo4j.cli.AdminTool "$@"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    echo "neo4j-test-server: running (pid $pid), $(sed -n 's/^NEO4J_URI=//p' "$STATE/env" 2>/dev/null)"
    return 0
  fi
  echo "neo4j-test-server: not running"
  return 3
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  kill) crash ;;
  build) build ;;
  admin)
    shift
    admin "$@"
    ;;
  *)
    echo "usage: $0 start|stop|status|kill|build|admin ARGS..." >&2
    exit 2
    ;;
esac
