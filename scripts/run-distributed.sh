#!/usr/bin/env bash
# The distributed stages on one machine (make run-distributed, docs/operations.md):
# Kafka + Temporal + Redis, `tickcast topics apply`, one ingest (live Kraken, or offline a fake
# Kraken per pair replaying the last 24 h of the real Binance klines, each with its ingest),
# two candles and two features replicas (the features write Parquet and Redis), a Temporal
# worker and two API replicas (`tickcast serve`) following Redis, with the dashboard. The stages
# run bin/tickcast-connect (`tickcast connect` without DuckDB, XGBoost and Temporal: less RSS).
#
#   scripts/run-distributed.sh [start]   start everything, print the URLs, wait; Ctrl-C stops all
#   scripts/run-distributed.sh stop      stop what a start left running (from another shell)
#
# State under DATA_DIR/distributed: pids/, logs/ (one per process), kafka/ (the broker's data),
# temporal.db, redis.pid. Env (defaults): DATA_DIR (data), OFFLINE (empty: probe Kraken),
# PAIRS (BTC/USD,ETH/USD, live), SPEED (10, offline), HORIZONS (1,5), TRAIN_TRIALS (4; 0: no
# bootstrap training), KAFKA_PORT (9092), TEMPORAL_PORT (7233), TEMPORAL_UI_PORT (8233),
# REDIS_PORT (6379), API_PORT (8080: replicas on it and the next), STAGE_PORT (4195: the
# stages' HTTP /metrics from it up), FAKE_PORT (8765: fake Krakens from it up).
set -Eeuo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-bin/tickcast}
CONNECT_BIN=${CONNECT_BIN:-bin/tickcast-connect}
mkdir -p "${DATA_DIR:=data}"
DATA_DIR=$(cd "$DATA_DIR" && pwd)
STATE=$DATA_DIR/distributed
SHARED=${TICKCAST_SHARED_DATA:-../shared/data}
export KAFKA_PORT=${KAFKA_PORT:-9092} KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9192}
export TEMPORAL_PORT=${TEMPORAL_PORT:-7233} TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233} REDIS_PORT=${REDIS_PORT:-6379}
API_PORT=${API_PORT:-8080} STAGE_PORT=${STAGE_PORT:-4195} FAKE_PORT=${FAKE_PORT:-8765}
SPEED=${SPEED:-10} HORIZONS=${HORIZONS:-1,5} TRAIN_TRIALS=${TRAIN_TRIALS:-4}
BROKERS=127.0.0.1:$KAFKA_PORT
TEMPORAL=127.0.0.1:$TEMPORAL_PORT
UI=http://127.0.0.1:$TEMPORAL_UI_PORT
REDIS=127.0.0.1:$REDIS_PORT
MAKE_STATE=(DATA_DIR="$STATE" KAFKA_DIR="$STATE/kafka")

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# spawn NAME CMD... runs CMD in its own session (a Ctrl-C reaches only this script, which
# stops the processes in order), logging to logs/NAME.log, its pid in pids/NAME.pid.
spawn() {
	local name=$1
	shift
	setsid nohup "$@" >"$STATE/logs/$name.log" 2>&1 </dev/null &
	echo $! >"$STATE/pids/$name.pid"
	echo "$name" >>"$STATE/order"
}

# wait_for WHAT SECONDS CMD... polls CMD until it succeeds.
wait_for() {
	local what=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 4; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.25
	done
	log "$what did not come up within ${secs}s: see $STATE/logs"
	return 1
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

kraken_up() { timeout 3 bash -c '(exec 3<>/dev/tcp/ws.kraken.com/443)' 2>/dev/null; }

# stage NAME YAML PORT VAR=VALUE... runs one copy of a distributed stage.
stage() {
	local name=$1 yaml=$2 port=$3
	shift 3
	spawn "$name" env TICKCAST_KAFKA_BROKERS="$BROKERS" TICKCAST_DATA_DIR="$DATA_DIR" TICKCAST_REPLICA="$name" \
		TICKCAST_CONNECT_HTTP="127.0.0.1:$port" "$@" "$CONNECT_BIN" run "connect/pipelines/$yaml"
	METRICS+=("$name http://127.0.0.1:$port/metrics")
}

# offline_source FILE writes the file's last 24 h of candles to replay/ (the fake Kraken
# streams them as reconstructed trades) and prints the first streamed minute: the backfill
# takes the file up to it, as `tickcast run` does offline.
offline_source() {
	local out=$STATE/replay/$(basename "$1" .csv.gz)_last24h.csv
	{ zcat "$1" | sed -n 1p; zcat "$1" | tail -n 1440; } >"$out"
	date -u -d "@$(($(sed -n 2p "$out" | cut -d, -f1) / 1000))" +%Y-%m-%dT%H:%M:%SZ
}

start_ingest_offline() {
	local i=0 pair file split ws port pids=()
	declare -gA SPLIT=()
	for spec in "ETH/USDT=$SHARED/binance/klines/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz" \
		"BTC/USDT=$SHARED/binance/klines/BTCUSDT_1m_2025-05-20_2025-08-18.csv.gz"; do
		pair=${spec%%=*} file=${spec#*=}
		[ -f "$file" ] || { log "offline and no real data at $file (TICKCAST_SHARED_DATA)"; return 1; }
		split=$(offline_source "$file")
		SPLIT[$pair]=$split
		BACKFILL+=("$pair $file $split")
		PAIRS_ALL+=("$pair")
	done
	# The store up to each stream's first minute first (seconds): features start warm.
	for b in "${BACKFILL[@]}"; do
		read -r pair file split <<<"$b"
		"$BIN" backfill --source archive --files "$(cd "$(dirname "$file")" && pwd)/$(basename "$file")" --pair "$pair" \
			--to "$split" --data-dir "$DATA_DIR" --temporal-address "$TEMPORAL" --wait --worker=false >"$STATE/logs/backfill-${pair/\//-}.log" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || { log "backfill failed: see $STATE/logs/backfill-*.log"; return 1; }
	done
	log "backfilled ${PAIRS_ALL[*]} up to the streamed day (archive files)"
	for pair in "${PAIRS_ALL[@]}"; do
		i=$((i + 1)) port=$((FAKE_PORT + i - 1))
		file=$(ls "$STATE"/replay/"${pair/\//}"_1m_*_last24h.csv)
		spawn "fakekraken-$i" "$BIN" fakekraken --history-candles "$file" --pair "$pair" --speed "$SPEED" --addr "127.0.0.1:$port"
		wait_for "fakekraken-$i" 60 grep -q 'WebSocket v2 at' "$STATE/logs/fakekraken-$i.log"
		ws=$(sed -n 's/.*WebSocket v2 at \([^,]*\),.*/\1/p' "$STATE/logs/fakekraken-$i.log")
		# TICKCAST_CLOCK_SPEED=0: the trades are the clock. Before its first subscriber this fake's
		# REST Time stands at the end of the history it holds, which would reject every trade.
		stage "ingest-$i" stage-ingest.yaml $((STAGE_PORT + i - 1)) TICKCAST_PAIRS="$pair" TICKCAST_KRAKEN_WS_URL="$ws" \
			TICKCAST_KRAKEN_REST_URL="http://127.0.0.1:$port" TICKCAST_REST_RATE=-1 TICKCAST_CLOCK_SPEED=0
	done
	NEXT_PORT=$((STAGE_PORT + i))
}

# bootstrap trains each pair × horizon on Temporal, one after the other (the first registers the
# zero-return baseline as champion, so the replicas become ready); live, after a Kraken REST
# backfill of the last 7 days.
bootstrap() {
	# --worker=false: the work goes to `tickcast worker`, not to a worker in each command.
	local args=(--data-dir "$DATA_DIR" --temporal-address "$TEMPORAL")
	if [ -z "$OFFLINE_MODE" ]; then
		for p in "${PAIRS_ALL[@]}"; do
			"$BIN" backfill --source kraken --pair "$p" --from "$(date -u -d '-7 days' +%Y-%m-%dT%H:%M:00Z)" "${args[@]}" --wait --worker=false || true
		done
	fi
	for h in ${HORIZONS//,/ }; do
		for p in "${PAIRS_ALL[@]}"; do
			"$BIN" train --pair "$p" --horizon "$h" --trials "$TRAIN_TRIALS" "${args[@]}" --wait --worker=false || true
		done
	done
}

start() {
	if [ -s "$STATE/order" ]; then
		echo "a distributed run is recorded in $STATE: make run-distributed-stop first" >&2
		exit 1
	fi
	mkdir -p "$STATE/pids" "$STATE/logs" "$STATE/replay"
	: >"$STATE/order"
	trap 'echo; stop; exit 130' INT TERM
	trap 'log "start failed: stopping what started"; stop; exit 1' ERR
	local t0=$SECONDS
	make -s kafka "${MAKE_STATE[@]}"
	make -s temporal "${MAKE_STATE[@]}"
	make -s redis "${MAKE_STATE[@]}"
	"$BIN" topics apply --brokers "$BROKERS"
	log "services up in $((SECONDS - t0))s"

	METRICS=() BACKFILL=() PAIRS_ALL=()
	OFFLINE_MODE=${OFFLINE:-}
	if [ -z "$OFFLINE_MODE" ] && ! kraken_up; then OFFLINE_MODE=1; fi
	local archives=$SHARED
	[ -d "$SHARED" ] && archives=$(cd "$SHARED" && pwd)
	spawn worker "$BIN" worker --data-dir "$DATA_DIR" --archive-dirs "$archives" --temporal-address "$TEMPORAL"
	local stale=()
	if [ -n "$OFFLINE_MODE" ]; then
		log "Kraken unreachable or OFFLINE set: real Binance candles through fake Krakens at ${SPEED}x"
		start_ingest_offline
		# The replay's market clock runs in the past: the replicas' staleness budget (candles,
		# wall clock) covers that lag plus the usual 2 candles.
		local first=${SPLIT[${PAIRS_ALL[0]}]}
		stale=(--stale-after $((($(date +%s) - $(date -d "$first" +%s)) / 60 + 2)))
	else
		log "streaming live from Kraken: ${PAIRS:-BTC/USD,ETH/USD}"
		IFS=, read -ra PAIRS_ALL <<<"${PAIRS:-BTC/USD,ETH/USD}"
		stage ingest-1 stage-ingest.yaml "$STAGE_PORT" TICKCAST_PAIRS="${PAIRS:-BTC/USD,ETH/USD}"
		NEXT_PORT=$((STAGE_PORT + 1))
	fi
	for i in 1 2; do
		stage "candles-$i" stage-candles.yaml $((NEXT_PORT + i - 1))
	done
	for i in 1 2; do
		stage "features-$i" stage-features.yaml $((NEXT_PORT + 1 + i)) TICKCAST_WARM_START="$DATA_DIR" TICKCAST_REDIS_ADDR="$REDIS"
	done
	for i in 1 2; do
		spawn "api-$i" "$BIN" serve --redis "$REDIS" --data-dir "$DATA_DIR" --http "127.0.0.1:$((API_PORT + i - 1))" \
			--replica "api-$i" --ui-url "$UI" --temporal-address "$TEMPORAL" "${stale[@]}"
	done
	if [ "$TRAIN_TRIALS" -gt 0 ]; then
		export -f bootstrap
		spawn bootstrap env BIN="$BIN" DATA_DIR="$DATA_DIR" TEMPORAL="$TEMPORAL" OFFLINE_MODE="$OFFLINE_MODE" \
			HORIZONS="$HORIZONS" TRAIN_TRIALS="$TRAIN_TRIALS" PAIRS_LIST="${PAIRS_ALL[*]}" \
			bash -c 'PAIRS_ALL=($PAIRS_LIST); bootstrap'
	fi
	for i in 1 2; do
		wait_for "api-$i" 60 curl -sf "http://127.0.0.1:$((API_PORT + i - 1))/healthz"
	done
	log "started in $((SECONDS - t0))s; pairs ${PAIRS_ALL[*]}; logs in $STATE/logs"
	cat <<EOF
Dashboard + API (replica api-1)  http://127.0.0.1:$API_PORT/   (/readyz, /v1/predictions/${PAIRS_ALL[0]/\//-}, /metrics)
Dashboard + API (replica api-2)  http://127.0.0.1:$((API_PORT + 1))/
Temporal UI                      $UI   (bootstrap training: logs/bootstrap.log)
Kafka $BROKERS   Redis $REDIS
EOF
	for m in "${METRICS[@]}"; do printf 'metrics %-12s %s\n' $m; done
	trap - ERR
	echo "Ctrl-C (or make run-distributed-stop) stops everything."
	while [ -f "$STATE/order" ]; do sleep 1; done # until a stop from another shell
}

# stop stops the processes in the reverse order of their start (SIGTERM, SIGKILL after 30 s),
# then Redis, Temporal and Kafka when this run started them.
stop() {
	trap '' INT TERM
	trap - ERR
	if [ -f "$STATE/order" ]; then
		for name in $(tac "$STATE/order"); do
			local f=$STATE/pids/$name.pid pid i
			pid=$(cat "$f" 2>/dev/null) || continue
			# spawn made each a session (and group) leader: signal its group, children included.
			kill -- -"$pid" 2>/dev/null || true
			for ((i = 0; i < 120; i++)); do kill -0 -- -"$pid" 2>/dev/null || break; sleep 0.25; done
			kill -0 -- -"$pid" 2>/dev/null && kill -9 -- -"$pid" 2>/dev/null
			rm -f "$f"
			log "stopped $name"
		done
		rm -f "$STATE/order"
	fi
	make -s redis-stop "${MAKE_STATE[@]}"
	make -s temporal-stop "${MAKE_STATE[@]}"
	make -s kafka-stop "${MAKE_STATE[@]}"
}

case ${1:-start} in
start) start ;;
stop) stop ;;
*) echo "usage: $0 [start|stop]" >&2 && exit 2 ;;
esac
