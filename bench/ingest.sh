#!/usr/bin/env bash
# Measures /v1/batch on this machine: builds nurture, starts its API against
# a fresh database on the local PostgreSQL and Redis, and loads it with
# bench/ingestload. Every event is committed to PostgreSQL before its 200.
#   bench/ingest.sh [duration] [connections]
# NURTURE_BIN_DIR=dir uses the nurture and ingestload binaries found there
# instead of building them; BENCH_DB names the database (default
# nurture_bench); BENCH_REDIS_URL a Redis of the run's own (else db 15 of
# the local one, emptied first).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20s}
conns=${2:-16}
db=${BENCH_DB:-nurture_bench}
scripts/services.sh "$db" >/dev/null
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
if [ -z "${BENCH_REDIS_URL:-}" ]; then
  redis-cli -h 127.0.0.1 -n 15 flushdb >/dev/null
fi

bin=${NURTURE_BIN_DIR:-bin}
if [ -z "${NURTURE_BIN_DIR:-}" ]; then
  go build -o "$bin"/nurture ./cmd/nurture
  go build -o "$bin"/ingestload ./bench/ingestload
fi
export NURTURE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable${PGPARAMS:-}"
export NURTURE_REDIS_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379/15}"
export NURTURE_LISTEN=127.0.0.1:18080 NURTURE_DEV=true NURTURE_LOG_LEVEL=warn
export NURTURE_INGEST_RATE=100000 NURTURE_INGEST_BURST=100000
"$bin"/nurture migrate >/dev/null 2>&1
key=$("$bin"/nurture apikey create --name bench --scopes ingest 2>/dev/null)
"$bin"/nurture api 2>/tmp/nurture-bench-api.log &
api=$!
trap 'kill $api 2>/dev/null; wait $api 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs http://127.0.0.1:18080/readyz >/dev/null && break; sleep 0.2; done

"$bin"/ingestload -url http://127.0.0.1:18080 -key "$key" -duration "$duration" -c "$conns" -users "${3:-5000}"
psql -h 127.0.0.1 -U postgres -d "$db" -Atc "SELECT 'stored events: ' || count(*) FROM events"
