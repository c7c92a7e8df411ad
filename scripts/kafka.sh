#!/usr/bin/env bash
# Apache Kafka in KRaft mode from Maven Central jars (no tarball, no Docker).
#
#   scripts/kafka.sh classpath                      print the broker classpath (first use resolves
#                                                   scripts/kafka/pom.xml with Maven; then cached)
#   scripts/kafka.sh node DIR ID PORT CPORT VOTERS  format DIR if new, then run one combined
#                                                   broker+controller in the foreground (exec java)
#   scripts/kafka.sh start DIR N PORT CPORT         start N nodes in the background: node i (1..N)
#                                                   serves 127.0.0.1:PORT+i-1, its controller
#                                                   CPORT+i-1; returns when all N are brokers
#   scripts/kafka.sh stop DIR                       stop the nodes `start` left in DIR
#   scripts/kafka.sh ready HOST:PORT [N]            succeed when a Metadata request lists N brokers
#
# The classpath is cached in ${XDG_CACHE_HOME:-~/.cache}/tickcast/kafka-<version>/ (the jars stay in
# ~/.m2), keyed by the pom's hash: later runs, fresh clones included, start offline.
# Java 17+ is required (Kafka 4 brokers). Env: KAFKA_HEAP (default 512m), KAFKA_OPTS (more JVM
# flags; kafkatest sets -XX:TieredStopAtLevel=1, which starts test brokers ~0.5 s sooner).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
pom=$here/kafka/pom.xml
log4j=$here/kafka/log4j2.properties
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
cache=${XDG_CACHE_HOME:-$HOME/.cache}/tickcast/kafka-$version

die() { echo "kafka.sh: $*" >&2; exit 1; }

check_java() {
	command -v java >/dev/null || die "java not found: install Java 17+ (make kafka-jars)"
	local v
	v=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
	[ "${v%%.*}" -ge 17 ] 2>/dev/null || die "java $v is too old: Kafka $version needs 17+"
}

# classpath prints the cached classpath, resolving it when the pom changed or a jar is gone.
classpath() {
	local key cp
	key=$(sha256sum "$pom" | cut -c1-16)
	if [ -f "$cache/classpath" ] && [ "$(cat "$cache/pom.sha256" 2>/dev/null)" = "$key" ]; then
		cp=$(cat "$cache/classpath")
		if jars_exist "$cp"; then echo "$cp"; return; fi
	fi
	command -v mvn >/dev/null || die "mvn not found: install Maven (make kafka-jars)"
	mkdir -p "$cache"
	local out=$cache/classpath.$$
	# offline first (the jars may already be in ~/.m2), then from Maven Central
	mvn -q -B -o -f "$pom" dependency:build-classpath -Dmdep.outputFile="$out" >/dev/null 2>&1 ||
		mvn -q -B -f "$pom" dependency:build-classpath -Dmdep.outputFile="$out" >&2 ||
		die "could not resolve the Kafka $version jars with Maven"
	mv "$out" "$cache/classpath"
	echo "$key" >"$cache/pom.sha256"
	cat "$cache/classpath"
}

jars_exist() {
	local IFS=: jar
	for jar in $1; do [ -f "$jar" ] || return 1; done
}

# node formats DIR for node ID (once) and execs the broker, so the caller's pid is the JVM's.
node() {
	local dir=$1 id=$2 port=$3 cport=$4 voters=$5 cp
	check_java
	cp=$(classpath)
	mkdir -p "$dir"
	cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.num.partitions=1
offsets.topic.replication.factor=$(rf "$voters")
transaction.state.log.num.partitions=1
transaction.state.log.replication.factor=$(rf "$voters")
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=$(rf "$voters")
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
	local jvm=(-Xms128m "-Xmx${KAFKA_HEAP:-512m}" -XX:+UseSerialGC -XX:-UsePerfData -Djava.awt.headless=true
		"-Dlog4j2.configurationFile=$log4j" -cp "$cp")
	if [ ! -f "$dir/data/meta.properties" ]; then
		# one fixed cluster id (base64url of "tickcast-kafka-1"): a cluster's nodes must share it;
		# C1 only: the tool runs for a second, the full JIT would not pay
		java -XX:TieredStopAtLevel=1 "${jvm[@]}" kafka.tools.StorageTool format --ignore-formatted \
			-t dGlja2Nhc3Qta2Fma2EtMQ -c "$dir/server.properties" >/dev/null
	fi
	# shellcheck disable=SC2086 # KAFKA_OPTS holds several JVM flags
	exec java ${KAFKA_OPTS:-} "${jvm[@]}" kafka.Kafka "$dir/server.properties"
}

# rf is the replication factor of the internal topics: the node count, at most 3.
rf() {
	local n
	n=$(tr , '\n' <<<"$1" | wc -l)
	echo $((n < 3 ? n : 3))
}

voters() {
	local n=$1 cport=$2 i out=
	for ((i = 1; i <= n; i++)); do out+="${out:+,}$i@127.0.0.1:$((cport + i - 1))"; done
	echo "$out"
}

# ready sends a Metadata v4 request (all topics) and checks the broker count in the answer.
ready() {
	local host=${1%:*} port=${1##*:} want=${2:-1} got
	{ exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null || return 1
	# size 17: api key 3, version 4, correlation id 1, client id "tc", topics null, no auto-create
	printf '\x00\x00\x00\x11\x00\x03\x00\x04\x00\x00\x00\x01\x00\x02tc\xff\xff\xff\xff\x00' >&3
	# answer: size, correlation id, throttle ms, broker count (int32 each)
	got=$(timeout 2 head -c 16 <&3 | od -An -tu1 -j12 | awk '{print $1*16777216+$2*65536+$3*256+$4}')
	exec 3>&-
	[ -n "$got" ] && [ "$got" -ge "$want" ]
}

start() {
	local dir=$1 n=$2 port=$3 cport=$4 v i
	v=$(voters "$n" "$cport")
	check_java
	classpath >/dev/null
	for ((i = 1; i <= n; i++)); do
		local nd=$dir/node$i
		mkdir -p "$nd"
		if [ -f "$nd/kafka.pid" ] && kill -0 "$(cat "$nd/kafka.pid")" 2>/dev/null; then continue; fi
		setsid nohup "$0" node "$nd" "$i" $((port + i - 1)) $((cport + i - 1)) "$v" \
			>>"$nd/kafka.log" 2>&1 </dev/null &
		echo $! >"$nd/kafka.pid"
	done
	for ((i = 0; i < 240; i++)); do
		ready "127.0.0.1:$port" "$n" && return 0
		for ((j = 1; j <= n; j++)); do
			kill -0 "$(cat "$dir/node$j/kafka.pid")" 2>/dev/null ||
				die "node $j exited: see $dir/node$j/kafka.log"
		done
		sleep 0.25
	done
	die "no $n-broker metadata on 127.0.0.1:$port within 60 s: see $dir/node*/kafka.log"
}

# stop sends SIGTERM (a controlled shutdown) to every node at once, SIGKILL after 30 s.
stop() {
	local dir=$1 pids=() f pid
	for f in "$dir"/node*/kafka.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		if kill -0 "$pid" 2>/dev/null; then kill "$pid" && pids+=("$pid"); fi
		rm -f "$f"
	done
	[ ${#pids[@]} -gt 0 ] || { echo "no Kafka node started in $dir is running"; return; }
	for ((i = 0; i < 150; i++)); do
		local alive=0
		for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && { echo "Kafka stopped (${#pids[@]} node(s))"; return; }
		sleep 0.2
	done
	kill -9 "${pids[@]}" 2>/dev/null || true
	echo "Kafka killed after 30 s (${#pids[@]} node(s))"
}

cmd=${1:-}
shift || true
case $cmd in
classpath) classpath ;;
node) [ $# = 5 ] || die "usage: node DIR ID PORT CPORT VOTERS" && node "$@" ;;
start) [ $# = 4 ] || die "usage: start DIR N PORT CPORT" && start "$@" ;;
stop) [ $# = 1 ] || die "usage: stop DIR" && stop "$@" ;;
ready) ready "$@" ;;
*) die "usage: $0 classpath|node|start|stop|ready (see the header)" ;;
esac
