#!/usr/bin/env bash
# Measures the recipient endpoints (/o/ pixel, /c/ click): starts `nurture
# api` on a fresh database and loads it with bench/hitload, 50 connections.
#   bench/hits.sh [duration]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-15s}
db=nurture_bench
scripts/services.sh "$db" >/dev/null
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
go build -o bin/nurture ./cmd/nurture
go build -o bin/hitload ./bench/hitload
export NURTURE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable${PGPARAMS:-}"
export NURTURE_REDIS_URL="redis://127.0.0.1:6379/15"
export NURTURE_LISTEN=127.0.0.1:18081 NURTURE_SECRET=$(head -c 24 /dev/urandom | base64) NURTURE_LOG_LEVEL=warn
bin/nurture migrate >/dev/null 2>&1
bin/nurture api 2>/tmp/nurture-bench-hits.log &
api=$!
trap 'kill $api 2>/dev/null; wait $api 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs http://127.0.0.1:18081/readyz >/dev/null && break; sleep 0.2; done
count() { psql -h 127.0.0.1 -U postgres -d "$db" -Atc "SELECT count(*) FROM email_events"; }
for path in o c; do
  if command -v wrk >/dev/null; then
    # wrk (C) leaves the two cores to the server; bench/hitload is the fallback.
    bin/hitload -db "$NURTURE_DATABASE_URL" -secret "$NURTURE_SECRET" -path $path -paths /tmp/nurture-paths.txt
    before=$(count)
    echo "/$path/ with wrk:"
    wrk -t 2 -c 50 -d "$duration" --latency -s bench/paths.lua http://127.0.0.1:18081 -- /tmp/nurture-paths.txt | grep -E "Requests/sec|Latency|99%|50%|requests in|Non-2xx"
    echo "hits recorded in the database: $(( $(count) - before ))"
  else
    bin/hitload -url http://127.0.0.1:18081 -db "$NURTURE_DATABASE_URL" -secret "$NURTURE_SECRET" -path $path -c 50 -duration "$duration"
  fi
done
