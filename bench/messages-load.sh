#!/usr/bin/env bash
# Messages list under load: 1,000,000 stored messages, 64 connections (wrk).
# Usage: bash bench/messages-load.sh [sqlite|postgres-url] [messages]
# Needs wrk (Debian: apt-get install wrk). Results go in docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${2:-1000000}
cargo build --release -q -p sonarly-cli -p sonarly-bench
BIN=target/release/sonarly
DIR=$(mktemp -d)
DB=${1:-sqlite}
[ "$DB" = sqlite ] && DB="sqlite://$DIR/load.db"
GROUP=$($BIN --database "$DB" groups create Load | tail -n1)
KEY=$($BIN --database "$DB" keys create --group "$GROUP" --rate-limit 100000000 | tail -n1)
ACCOUNT=$($BIN --database "$DB" linkedin connect --group "$GROUP" --provider sandbox | tail -n1)
target/release/sonarly-bench generate-messages "$DB" "$GROUP" "$ACCOUNT" "$COUNT"
PORT=18555
RUST_LOG=warn $BIN --database "$DB" serve --no-demo --listen 127.0.0.1:$PORT &
SERVER=$!
trap 'kill $SERVER; rm -rf "$DIR"' EXIT
sleep 2
URL="http://127.0.0.1:$PORT/v1/accounts/$GROUP/messages?limit=100"
echo "== first page, 64 connections"
wrk -t2 -c64 -d20s --latency -H "Authorization: Bearer $KEY" "$URL"
# A deep cursor: follow 100 pages of 100, then load-test the page after.
CURSOR=""
for _ in $(seq 1 100); do
  CURSOR=$(curl -s "$URL${CURSOR:+&cursor=$CURSOR}" -H "Authorization: Bearer $KEY" | python3 -c 'import json,sys;print(json.load(sys.stdin)["data"]["nextCursor"])')
done
echo "== page 101, 64 connections"
wrk -t2 -c64 -d20s --latency -H "Authorization: Bearer $KEY" "$URL&cursor=$CURSOR"
