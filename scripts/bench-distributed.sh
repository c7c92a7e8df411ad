#!/usr/bin/env bash
# Issue #14's goals for the distributed stages, measured on a real Kafka broker (never asserted):
# connect/stage_bench_test.go, gated by TICKCAST_BENCH_DISTRIBUTED=1 so CI and `make bench`
# never run it. Each benchmark starts its own single KRaft broker (internal/kafkatest, the
# defaults of scripts/kafka.sh) and runs stage-candles.yaml + stage-features.yaml, one replica
# each, as in-process streams.
#   BenchmarkStagesThroughput  ~1.2 M real trades (TICKCAST_BENCH_PAIRS=8 pair names ×
#                              TICKCAST_BENCH_HOURS=56 hour-shifted copies of the real Kraken
#                              hour) produced to `trades` first, then drained: trades/s
#   BenchmarkStagesLatency     speed 1 for TICKCAST_BENCH_SECONDS=180 s, TICKCAST_BENCH_PAIRS=20
#                              pairs × TICKCAST_BENCH_COPIES=12 offset copies (178 trades/s)
#                              with a tick per pair per second: window end + grace → row on
#                              `features`, p50/p99/max
#   BenchmarkStagesRSS         tickcast-connect processes of both stages drain 10 pairs × 24 hours:
#                              peak and final RSS of each (TICKCAST_BENCH_GOMEMLIMIT, _PPROF)
# RUNS (default 1) repeats the throughput run; ONLY=throughput|latency|rss runs one of them.
# Figures and commands: docs/benchmarks.md, "Distributed stages on Kafka".
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-1}
ONLY=${ONLY:-}
export TICKCAST_BENCH_DISTRIBUTED=1
filter() { grep -vE 'level=(warning|info)' || true; }
echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD) $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -z "$ONLY" ] || [ "$ONLY" = throughput ]; then
  go test -run '^$' -bench StagesThroughput -benchtime 1x -count "$RUNS" -timeout 30m ./connect/ 2>&1 | filter
fi
if [ -z "$ONLY" ] || [ "$ONLY" = latency ]; then
  go test -run '^$' -bench StagesLatency -benchtime 1x -timeout 30m ./connect/ 2>&1 | filter
fi
if [ -z "$ONLY" ] || [ "$ONLY" = rss ]; then
  go test -run '^$' -bench StagesRSS -benchtime 1x -timeout 30m ./connect/ 2>&1 | filter
fi
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
