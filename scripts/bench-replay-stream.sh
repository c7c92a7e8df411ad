#!/usr/bin/env bash
# Whole-process throughput and peak RSS of a long replay through the shipped replay pipeline:
#   TICKCAST_REPLAY_FILE=FILE TICKCAST_PAIR=BTC/USD TICKCAST_DATA_DIR=DIR \
#     bin/tickcast connect run connect/pipelines/replay.yaml
# FILE defaults to the real Kraken XBT/USD 1-minute candles of 2023-03-01..21 (30,180 bars),
# which trade_replay rebuilds, row by row, into 1,122,869 trades (placeholders for the unknown
# trades, labelled "reconstructed"; archive.ReconstructedTrades). Each run starts on an empty
# data directory. RUNS runs (default 3) after one warm-up; prints each run and the medians.
# For another FILE set TRADES to its trade count.
# BIN (default bin/tickcast, built first) runs another build, e.g. for an A/B of two commits.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DEFAULT_FILE=../shared/data/kraken/ohlcvt/XBTUSD_1.2023-03-01_2023-03-21.csv
FILE=${FILE:-$DEFAULT_FILE}
TRADES=${TRADES:-1122869}
[ -f "$FILE" ] || { echo "real data file $FILE not found" >&2; exit 1; }
if [ "$FILE" != "$DEFAULT_FILE" ] && [ "$TRADES" = 1122869 ]; then
  echo "set TRADES to the trade count of $FILE" >&2; exit 1
fi
BIN=${BIN:-}
[ -n "$BIN" ] || { make -s build >/dev/null; BIN=bin/tickcast; }
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for ((i = 0; i <= RUNS; i++)); do
  dir=$(mktemp -d)
  TICKCAST_REPLAY_FILE="$FILE" TICKCAST_PAIR=BTC/USD TICKCAST_DATA_DIR="$dir" \
    /usr/bin/time -f '%e %U %S %M' -o "$dir/time" \
    "$BIN" connect run connect/pipelines/replay.yaml >"$dir/log" 2>&1 ||
    { echo "run failed:" >&2; tail -20 "$dir/log" >&2; rm -rf "$dir"; exit 1; }
  read -r wall user sys rss <"$dir/time"
  rm -rf "$dir"
  ((i == 0)) && continue # warm-up
  awk -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v n="$TRADES" 'BEGIN {
    printf "run: wall %.2f s, cpu %.2f s, %.0f k trades/s, %.2f µs cpu/trade, peak RSS %.1f MiB\n",
      w, u + s, n / w / 1000, (u + s) / n * 1e6, r / 1024 }'
  echo "$wall $user $sys $rss" >>"$results"
done
med() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
wall=$(awk '{ print $1 }' "$results" | med)
cpu=$(awk '{ print $2 + $3 }' "$results" | med)
rss=$(awk '{ print $4 }' "$results" | med)
awk -v w="$wall" -v c="$cpu" -v r="$rss" -v n="$TRADES" -v runs="$RUNS" 'BEGIN {
  printf "replay-stream: %d trades, median of %d runs: wall %.2f s = %.0f k trades/s whole process, cpu %.2f s, peak RSS %.1f MiB\n",
    n, runs, w, n / w / 1000, c, r / 1024 }'
