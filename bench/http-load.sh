#!/usr/bin/env bash
# The API's hot routes side by side in one run (issue 16), on the release server
# over HTTP with authentication, rate limiting and the request log as deployed.
#
# Usage: bash bench/http-load.sh [sqlite|postgres|postgres://URL]
#   sqlite (default): a temp SQLite file; postgres: a throwaway local cluster
#   (initdb/pg_ctl, run as the postgres user when root, fsync off as in tests);
#   a postgres:// URL: an existing empty database.
# Environment: DURATION (per route and round, default 6s), ROUNDS (2),
#   CONNECTIONS (32), THREADS (1), PROSPECTS (10000), MESSAGES (100000),
#   CAMPAIGNS (100), NO_BUILD=1 (use the binaries as they are), PROFILE
#   (release; debug only to try the script itself),
#   CARGO_TARGET_DIR (where the binaries are built and found; target),
#   RUST_LOG (the server's log filter; its default when unset), PERF=DIR
#   (after the rounds, profile the server with `perf record` during one more
#   DURATION of each of five routes; flat profiles land in DIR/<route>.txt).
#
# Data: PROSPECTS prospects in CAMPAIGNS audiences, MESSAGES messages in 1,000
# conversations of one sandbox account, CAMPAIGNS draft campaigns, loaded by
# `sonarly-bench generate-dataset` (in-database, seconds). Routes, each for
# DURATION per round with wrk (THREADS threads, CONNECTIONS connections):
#   /healthz, GET /v1/accounts, an audiences page (limit 20), the messages
#   first page and a deep page (limit 50; page ~1,000 via an opaque cursor),
#   a prospect lookup by provider id, and POST …/messages/responses with a
#   distinct Idempotency-Key per request (bench/http-load-write.lua).
# Prints requests/s, p50 and p99 per route and round, each route's share of
# /healthz in the same round, non-2xx answers, and the server's RSS idle and
# after the load. Results go in docs/performance.md. Not a test: nothing here
# asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  echo "http-load: wrk is needed (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk)" >&2
  exit 1
fi
DURATION=${DURATION:-6s}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
PROSPECTS=${PROSPECTS:-10000}
MESSAGES=${MESSAGES:-100000}
CAMPAIGNS=${CAMPAIGNS:-100}
PROFILE=${PROFILE:-release}
if [ "${NO_BUILD:-}" != 1 ]; then
  if [ "$PROFILE" = release ]; then flag=--release; else flag=""; fi
  cargo build $flag -q -p sonarly-cli -p sonarly-bench
fi
TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$TARGET_DIR/$PROFILE/sonarly
GEN=$TARGET_DIR/$PROFILE/sonarly-bench
DIR=$(mktemp -d /tmp/sonarly-http-load.XXXXXX)
SERVER=""
PGDATA_DIR=""
PG_BIN=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  if [ -n "$PGDATA_DIR" ]; then
    runas "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT
runas() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

TARGET=${1:-sqlite}
case "$TARGET" in
  sqlite) DB="sqlite://$DIR/bench.db" ;;
  postgres)
    for d in /usr/lib/postgresql/17/bin /usr/lib/postgresql/16/bin /usr/lib/postgresql/15/bin; do
      [ -x "$d/initdb" ] && PG_BIN=$d && break
    done
    [ -n "$PG_BIN" ] || PG_BIN=$(dirname "$(command -v pg_ctl)")
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    PGDATA_DIR=$DIR/pg
    runas "$PG_BIN/initdb" -A trust -U postgres --no-sync -E UTF8 -D "$PGDATA_DIR" >/dev/null
    PG_PORT=$(free_port)
    runas "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$DIR/pg.log" -w start \
      -o "-p $PG_PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -q -c "CREATE DATABASE bench" postgres
    DB="postgres://postgres@127.0.0.1:$PG_PORT/bench"
    ;;
  postgres://*|postgresql://*) DB=$TARGET ;;
  *) echo "usage: bash bench/http-load.sh [sqlite|postgres|postgres://URL]" >&2; exit 2 ;;
esac

export RUST_LOG=${RUST_LOG:-}
[ -n "$RUST_LOG" ] || unset RUST_LOG
cli() { "$BIN" --database "$DB" "$@" 2>>"$DIR/cli.log" | tail -n1; }
GROUP=$(cli groups create Bench)
KEY=$(cli keys create --group "$GROUP" --rate-limit 1000000000 --name bench)
ACCOUNT=$(cli linkedin connect --group "$GROUP" --provider sandbox --name Bench)
"$GEN" generate-dataset "$DB" "$GROUP" "$ACCOUNT" "$PROSPECTS" "$MESSAGES" "$CAMPAIGNS"

PORT=$(free_port)
"$BIN" --database "$DB" serve --no-demo --listen "127.0.0.1:$PORT" 2>"$DIR/server.log" &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT"
AUTH="Authorization: Bearer $KEY"
V1="$BASE/v1/accounts/$GROUP"
rss() { awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$SERVER/status"; }
RSS_IDLE=$(rss)

# A deep page: the page after message 50,000 of the newest-first list (an item
# id is a cursor too), then its opaque nextCursor: page ~1,000 of 50.
DEEP_ID=$(printf 'm%023x' $((MESSAGES / 2)))
CURSOR=$(curl -sf -H "$AUTH" "$V1/messages?limit=50&cursor=$DEEP_ID" \
  | python3 -c 'import json,sys;print(json.load(sys.stdin)["data"]["nextCursor"])')
LOOKUP_ID=$(printf 'ACoAAbench%029d' 500)
PROSPECT_COUNT=$((PROSPECTS < 1000 ? PROSPECTS : 1000))

run_route() { # name, then wrk arguments; prints "name rps p50 p99 non2xx"
  local name=$1; shift
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@")
  python3 - "$name" "$out" <<'PY'
import re, sys
name, out = sys.argv[1], sys.argv[2]
def ms(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s|m)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
p50 = ms(re.search(r"\s50%\s+(\S+)", out).group(1))
p99 = ms(re.search(r"\s99%\s+(\S+)", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
errors = re.search(r"Socket errors: (.*)", out)
print(name, rps, p50, p99, bad.group(1) if bad else 0, "errors:" + errors.group(1).replace(" ", "") if errors else "")
PY
}

echo "http-load: $TARGET, $PROSPECTS prospects, $MESSAGES messages, $CAMPAIGNS campaigns;" \
  "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "$BASE/healthz" >/dev/null # warm-up
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "$AUTH" "$V1/messages?limit=50" >/dev/null
RESULTS=$DIR/results
for round in $(seq 1 "$ROUNDS"); do
  {
    run_route healthz "$BASE/healthz"
    run_route accounts -H "$AUTH" "$BASE/v1/accounts"
    run_route audiences -H "$AUTH" "$V1/audiences?limit=20"
    run_route messages-first -H "$AUTH" "$V1/messages?limit=50"
    run_route messages-deep -H "$AUTH" "$V1/messages?limit=50&cursor=$CURSOR"
    run_route prospect-lookup -H "$AUTH" "$V1/prospects/by-provider-id/$LOOKUP_ID"
    run_route responses-write -H "$AUTH" -s bench/http-load-write.lua "$V1/messages/responses" -- \
      "$round" "$PROSPECT_COUNT"
  } | sed "s/^/$round /" >>"$RESULTS"
done
if [ -n "${PERF:-}" ]; then
  mkdir -p "$PERF"
  profile() { # name, then wrk arguments
    local name=$1; shift
    perf record -q -F 499 -g -p "$SERVER" -o "$DIR/$name.perf" -- sleep "${DURATION%s}" >/dev/null 2>&1 &
    local recorder=$!
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$@" >/dev/null
    wait "$recorder" || true
    perf report -q -g none -i "$DIR/$name.perf" --no-children --sort dso,symbol --percent-limit 0.7 2>/dev/null >"$PERF/$name.txt" || true
  }
  profile healthz "$BASE/healthz"
  profile accounts -H "$AUTH" "$BASE/v1/accounts"
  profile messages-first -H "$AUTH" "$V1/messages?limit=50"
  profile prospect-lookup -H "$AUTH" "$V1/prospects/by-provider-id/$LOOKUP_ID"
  profile responses-write -H "$AUTH" -s bench/http-load-write.lua "$V1/messages/responses" -- perf "$PROSPECT_COUNT"
  echo "profiles: $PERF"
fi
RSS_LOADED=$(rss)
HWM=$(awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/$SERVER/status")
python3 - "$RESULTS" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
health = {r[0]: float(r[2]) for r in rows if r[1] == "healthz"}
print(f"{'round':>5} {'route':<16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'share':>7} {'non-2xx':>8}")
for r in rows:
    rnd, name, rps, p50, p99, bad = r[0], r[1], float(r[2]), float(r[3]), float(r[4]), r[5]
    extra = " " + r[6] if len(r) > 6 else ""
    print(f"{rnd:>5} {name:<16} {rps:>9.0f} {p50:>8.2f} {p99:>8.2f} {100 * rps / health[rnd]:>6.1f}% {bad:>8}{extra}")
PY
echo "RSS: idle $RSS_IDLE, after the load $RSS_LOADED (peak $HWM)"
echo "server log: $(grep -ci 'database is locked\|SQLITE_BUSY' "$DIR/server.log" || true) 'database is locked' lines," \
  "$(grep -c 'status=5' "$DIR/server.log" || true) 5xx answers"
