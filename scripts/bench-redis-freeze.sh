#!/usr/bin/env bash
# The prediction API while its Redis hangs (docs/benchmarks.md, "Redis
# frozen"). One process runs the whole system offline (`tickcast run`, as
# scripts/bench-api.sh) with the Redis cache alone (--near-cache=false: every
# request GETs, every miss SETs) on a redis-server of its own, which this
# script freezes; loadgen, a second process, drives it on loopback:
#   0. floor:    GET /healthz (a constant body) at RATE req/s for DURATION:
#                what the machine allows today (BASELINE=0 skips it)
#   1. healthy:  RATE req/s for DURATION, Redis answering (BASELINE=0 skips it)
#   2. frozen:   the redis-server gets SIGSTOP (its sockets stay open, nothing
#                answers), then RATE req/s for FREEZE over CONNS connections;
#                SIGCONT when the load ends. The latency covers the whole
#                frozen window: the requests that met the hang before the
#                circuit breaker opened, the misses computed and the cache
#                writes dropped after.
#   3. recovery: after SIGCONT, how long until a request is answered from
#                Redis again ("cached":true).
# Needs Temporal for the first start (training; without it the champion is
# the zero-return baseline); DATA_DIR is kept between runs, and may be
# bench-api's.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${DATA_DIR:-/tmp/tickcast-bench-api}
PORT=${PORT:-18081}
REDIS_PORT=${REDIS_PORT:-16380}
RATE=${RATE:-5000}
DURATION=${DURATION:-30s}
FREEZE=${FREEZE:-60s}
CONNS=${CONNS:-32}
WARMUP=${WARMUP:-10}
BASELINE=${BASELINE:-1}
make -s build >/dev/null
go build -o bin/loadgen ./cmd/loadgen
mkdir -p "$DATA_DIR"
redis_dir=$(mktemp -d)

pid= redis_pid=
stop() {
  if [ -n "$redis_pid" ]; then kill -CONT "$redis_pid" 2>/dev/null || true; fi
  if [ -n "$pid" ]; then kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  rm -rf "$redis_dir"
}
trap stop EXIT

redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$redis_dir" \
  --logfile "$redis_dir/redis.log" &
redis_pid=$!
for ((i = 0; i < 40; i++)); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.25; done

TICKCAST_LOG_LEVEL=warn bin/tickcast run --offline --data-dir "$DATA_DIR" --http "127.0.0.1:$PORT" \
  --redis "127.0.0.1:$REDIS_PORT" --near-cache=false --speed 1 --horizons 1 >>"$DATA_DIR/bench-freeze.log" 2>&1 &
pid=$!
for ((i = 0; ; i++)); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { echo "tickcast exited: see $DATA_DIR/bench-freeze.log" >&2; exit 1; }
  [ "$i" -lt 600 ] || { echo "not ready after 10 minutes: see $DATA_DIR/bench-freeze.log" >&2; exit 1; }
  sleep 1
done
sleep "$WARMUP"

url="http://127.0.0.1:$PORT/v1/predictions/ETH-USDT?horizon=1"
load() { echo "load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"; }
# server: the API's own request durations of the phase (its histogram's
# buckets, less the previous phase's): how much of the latency is the server.
prev=
server() {
  local now
  now=$(curl -fs "http://127.0.0.1:$PORT/metrics" |
    grep -E '^tickcast_http_request_duration_seconds_bucket\{code="200",method="GET",route="/v1/predictions/:pair"' |
    grep -E 'le="(0.001|0.005|0.01|0.025|0.1|\+Inf)"' | sed -E 's/.*le="([^"]+)"\} /\1 /' || true)
  echo "$now" | PREV="$prev" awk 'BEGIN { n = split(ENVIRON["PREV"], p, "\n"); for (i = 1; i <= n; i++) { split(p[i], f, " "); was[f[1]] = f[2] } }
    { c[NR] = $1; v[NR] = $2 - was[$1] } END { printf "server side:"
      for (i = 1; i <= NR; i++) printf(c[i] == "+Inf" ? " of %d requests" : " %d ≤ %gs,", v[i], c[i]); print "" }'
  prev=$now
}
metrics() { curl -fs "http://127.0.0.1:$PORT/metrics" | grep -E '^(tickcast_(prediction_cache|redis_)|go_gc_duration_seconds\{quantile="1"\})' || true; }
server >/dev/null
curl -fs "$url" | grep -o '"model":{[^}]*}' || true
if [ "$BASELINE" = 1 ]; then
  echo "== floor: GET /healthz, $RATE req/s for $DURATION, $CONNS connections"
  bin/loadgen http --url "http://127.0.0.1:$PORT/healthz" --rate "$RATE" --duration "$DURATION" --conns "$CONNS"
  load
  echo "== healthy, Redis only (--near-cache=false): $RATE req/s for $DURATION, $CONNS connections"
  bin/loadgen http --url "$url" --rate "$RATE" --duration "$DURATION" --conns "$CONNS"
  load
  server
  metrics
fi

# The freeze must meet a closed breaker (a loaded machine can open it).
for ((i = 0; i < 100; i++)); do
  metrics | grep -q '^tickcast_redis_breaker_state 0' && break
  sleep 0.1
done
echo "== frozen: SIGSTOP to redis-server, $RATE req/s for $FREEZE, $CONNS connections ($(metrics | grep breaker_state))"
kill -STOP "$redis_pid"
bin/loadgen http --url "$url" --rate "$RATE" --duration "$FREEZE" --conns "$CONNS"
load
server
metrics
kill -CONT "$redis_pid"
resumed=$(date +%s%N)

echo "== recovery: SIGCONT, polling until a prediction comes from Redis"
for ((i = 0; i < 1000; i++)); do
  if curl -fs "$url" | grep -q '"cached":true'; then
    echo "cached again after $((($(date +%s%N) - resumed) / 1000000)) ms"
    metrics
    exit 0
  fi
  sleep 0.01
done
echo "not cached 10 s after SIGCONT" >&2
exit 1
