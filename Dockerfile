# syntax=docker/dockerfile:1
#
# The tickcast image (tickcast:local) of temporal-compose.yml:
#   docker compose -f temporal-compose.yml up -d --build
# or alone: docker build -t tickcast:local . && docker run --rm tickcast:local help
#
# tickcast, one binary for every role (run, serve, connect, worker, topics, the
# CLI), built with cgo against DuckDB (static, from duckdb-go-bindings) and
# libxgboost (Debian's 1.7.4, linked dynamically); and tickcast-connect, the
# same pipelines CLI as `tickcast connect` without DuckDB, XGBoost or Temporal,
# which the stages run (entrypoint tickcast-connect, command run <stage>.yaml):
# half the resident memory of each stage process. Both stages are Debian 12
# (bookworm), so the binaries' glibc and libxgboost match at run time.
# internal/compose's TestDockerfile checks this file against go.mod, the
# Makefile's build recipe, .dockerignore and the checkout.

# ---- build ------------------------------------------------------------------
# The Go version is go.mod's `go` line (the image sets GOTOOLCHAIN=local).
FROM golang:1.26.8-bookworm AS build

# The image already has gcc, g++, libc6-dev, make and pkg-config (no
# build-essential needed); the XGBoost C API headers and libxgboost.so come
# from libxgboost-dev.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libxgboost-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
ENV CGO_ENABLED=1

# Modules first: this step reruns only when go.mod or go.sum change. The module
# and build caches are BuildKit cache mounts, kept across builds and out of the
# layers.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

# The Makefile's `build` recipe, output outside the source tree.
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -o /out/ ./cmd/tickcast ./cmd/tickcast-connect

# ---- runtime ----------------------------------------------------------------
FROM debian:bookworm-slim

LABEL org.opencontainers.image.title="tickcast" \
      org.opencontainers.image.description="Real-time crypto forecasting: pipelines, Temporal worker, prediction API"

# libxgboost0 brings libxgboost.so.0 and what it needs (libdmlc0, libgomp1,
# libstdc++6, libgcc-s1); CA certificates for wss://ws.kraken.com and Kraken's
# REST API; tzdata for time zones.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates libxgboost0 tzdata \
    && rm -rf /var/lib/apt/lists/*

# A fixed, non-root uid/gid (10001), so volume ownership is stable across rebuilds.
RUN groupadd --system --gid 10001 tickcast \
    && useradd --system --uid 10001 --gid tickcast --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin tickcast

# The working directory mirrors a checkout, so the binary's relative defaults
# resolve as they do in a clone: --data-dir ./data and the pipelines'
# ${TICKCAST_DATA_DIR:./data} are the /data volume (through the symlink), and
# `run --pipeline connect/pipelines/live.yaml` is the file copied below.
# It is writable by tickcast for DuckDB's spill directory (.tmp), per container
# rather than on the shared volume. A new named volume at /data takes the
# ownership of the image's /data, so tickcast can write to it.
RUN mkdir -p /data /opt/tickcast \
    && chown tickcast:tickcast /data /opt/tickcast \
    && ln -s /data /opt/tickcast/data
WORKDIR /opt/tickcast

# Pipelines (temporal-compose.yml mounts the checkout's copy over them, so edited
# YAML needs no rebuild) and the Prometheus configuration and alert rules, for
# a Prometheus container to use (tickcast itself does not read monitor/).
COPY connect/pipelines/ connect/pipelines/
COPY monitor/ monitor/

COPY --from=build /out/tickcast /out/tickcast-connect /usr/local/bin/
# Fails the build if a shared library is missing, or a pipeline does not lint.
RUN tickcast help >/dev/null && tickcast-connect lint connect/pipelines/*.yaml

USER 10001:10001
VOLUME ["/data"]
# API and dashboard (run, serve --http), and a stage's HTTP server (/ready,
# /metrics at $TICKCAST_CONNECT_HTTP).
EXPOSE 8080 4195

# No HEALTHCHECK: the image serves roles with different probes (serve: GET
# /healthz on its --http port; a stage: GET /ready on $TICKCAST_CONNECT_HTTP)
# and roles with none (worker, the one-shot `topics apply`), so one image-level
# check would mark the latter unhealthy; and debian:bookworm-slim has no curl or
# wget, and tickcast has no probe subcommand to call instead. Probe from the
# orchestrator (Compose healthcheck, Kubernetes httpGet) per service.
ENTRYPOINT ["tickcast"]
