#!/usr/bin/env bash
# Load figures of the prediction API (docs/benchmarks.md). One process runs
# the whole system offline (`tickcast run`: the real Binance ETH/USDT and
# BTC/USDT files, the last day streamed through the fake Kraken, the rest
# backfilled and trained on the first start); loadgen, a second process,
# drives it on loopback:
#   1. cached:   GET /v1/predictions/ETH-USDT at RATE req/s (hits of the
#                in-process near cache in front of Redis)
#   2. uncached: the same with Cache-Control: no-cache (the model on every
#                request, and a Redis SET)
#   3. cached, Redis only (--near-cache=false): every hit is a Redis GET
#   4. stream:   WS_CLIENTS WebSocket clients on /v1/stream; delivery latency
#                = receive time − the hub's published_at (after candle close)
# Each phase starts WARMUP after /readyz.
# Needs Temporal (make temporal) and Redis (make redis) for the first start;
# DATA_DIR is kept between runs so later runs skip backfill and training.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${DATA_DIR:-/tmp/tickcast-bench-api}
PORT=${PORT:-18080}
REDIS=${REDIS-127.0.0.1:6379}
RATE=${RATE:-5000}
DURATION=${DURATION:-30s}
CONNS=${CONNS:-32}
WS_CLIENTS=${WS_CLIENTS:-1000} # 0: no stream phase
WS_DURATION=${WS_DURATION:-60s}
WS_SPEED=${WS_SPEED:-60}
WARMUP=${WARMUP:-10}
make -s build >/dev/null
go build -o bin/loadgen ./cmd/loadgen
mkdir -p "$DATA_DIR"

pid=
stop() { if [ -n "$pid" ]; then kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap stop EXIT

# start SPEED [FLAGS]: the system on loopback, replaying at SPEED× real time.
start() {
  local speed=$1
  shift
  TICKCAST_LOG_LEVEL=warn bin/tickcast run --offline --data-dir "$DATA_DIR" --http "127.0.0.1:$PORT" \
    --redis "$REDIS" --speed "$speed" --horizons 1 "$@" >>"$DATA_DIR/bench.log" 2>&1 &
  pid=$!
  for ((i = 0; i < 600; i++)); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && { sleep "$WARMUP"; return 0; }
    kill -0 "$pid" 2>/dev/null || { echo "tickcast exited: see $DATA_DIR/bench.log" >&2; exit 1; }
    sleep 1
  done
  echo "not ready after 10 minutes: see $DATA_DIR/bench.log" >&2
  exit 1
}

url="http://127.0.0.1:$PORT/v1/predictions/ETH-USDT?horizon=1"
start 1 # real time: a candle a minute keeps the features fresh and the cache warm
echo "== cached: $RATE req/s for $DURATION, $CONNS connections, cache ${REDIS:-in-memory}"
bin/loadgen http --url "$url" --rate "$RATE" --duration "$DURATION" --conns "$CONNS"
echo "== uncached (Cache-Control: no-cache): $RATE req/s for $DURATION"
bin/loadgen http --url "$url" --rate "$RATE" --duration "$DURATION" --conns "$CONNS" --header "Cache-Control:no-cache"
stop

if [ -n "$REDIS" ]; then
  start 1 --near-cache=false
  echo "== cached, Redis only (--near-cache=false): $RATE req/s for $DURATION"
  bin/loadgen http --url "$url" --rate "$RATE" --duration "$DURATION" --conns "$CONNS"
  stop
fi

[ "$WS_CLIENTS" -gt 0 ] || exit 0
start "$WS_SPEED" # a candle close per second per pair
echo "== stream: $WS_CLIENTS clients for $WS_DURATION, replay at ${WS_SPEED}× (2 pairs)"
bin/loadgen ws --url "ws://127.0.0.1:$PORT/v1/stream" --clients "$WS_CLIENTS" --duration "$WS_DURATION"
