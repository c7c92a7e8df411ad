#!/usr/bin/env bash
# Steady RSS of `tickcast run` streaming 10 pairs through the in-process fake
# Kraken (one process: fake exchange + pipeline + Parquet store). Each pair
# replays the same real Kraken trade file (2019-07-01 00:00–01:00 UTC, 2,672
# trades) under its own name, at SPEED× real time, for SECONDS seconds.
# Prints VmRSS samples' median and max after a 10 s warm-up.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${SECONDS_TO_RUN:-60}
SPEED=${SPEED:-30}
FILE=${FILE:-../shared/data/kraken/trades/XBTUSD_trades_2019-07-01T00.csv}
# HTTP: empty (default) measures the pipeline alone; an address (127.0.0.1:18081)
# adds the serving side (API, scoring, stream, dashboard) as `run` has by default.
HTTP=${HTTP-}
# EXTRA: more flags for `run` (e.g. "--redis 127.0.0.1:6379").
EXTRA=${EXTRA-}
PAIRS=BTC/USD,ETH/USD,SOL/USD,XRP/USD,ADA/USD,DOGE/USD,DOT/USD,LTC/USD,LINK/USD,AVAX/USD
[ -f "$FILE" ] || { echo "real trade file $FILE not found" >&2; exit 1; }
make -s build >/dev/null
dir=$(mktemp -d)
pid=
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
TICKCAST_LOG_LEVEL=warn bin/tickcast run --replay "$FILE" --pair "$PAIRS" --speed "$SPEED" \
  --data-dir "$dir" --interval 1m --http "$HTTP" $EXTRA >"$dir/log" 2>&1 &
pid=$!
samples=()
for ((i = 0; i < SECONDS_TO_RUN; i++)); do
  sleep 1
  kill -0 "$pid" 2>/dev/null || { echo "tickcast exited early:" >&2; cat "$dir/log" >&2; exit 1; }
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  ((i >= 10)) && samples+=("$rss")
done
printf '%s\n' "${samples[@]}" | sort -n | awk -v pairs=10 -v speed="$SPEED" '
  { v[NR] = $1 } END {
    printf "rss_kib median=%d max=%d (MiB: %.1f / %.1f) over %d samples, %d pairs at %s× real time\n",
      v[int((NR + 1) / 2)], v[NR], v[int((NR + 1) / 2)] / 1024, v[NR] / 1024, NR, pairs, speed }'
