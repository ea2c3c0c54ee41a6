#!/usr/bin/env bash
# Measures the recipient endpoints (/o/ pixel, /c/ click): starts `nurture
# api` on a fresh database, prepares signed links with bench/hitload and
# loads them with wrk (bench/hitload when wrk is missing), 50 connections.
# Run it under the shared lock so that two load benchmarks never overlap:
#   flock /tmp/nurture-bench.lock bench/hits.sh [duration]
# NURTURE_BIN_DIR=dir uses the nurture and hitload binaries found there
# instead of building them (for measuring a build made elsewhere); BENCH_DB
# names the database (default nurture_bench), BENCH_REDIS_URL the Redis;
# HITS_PERF=dir records a system-wide perf profile of each run there (the
# duration must then be in seconds, like 10s).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-15s}
db=${BENCH_DB:-nurture_bench}
scripts/services.sh "$db" >/dev/null
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
bin=${NURTURE_BIN_DIR:-bin}
if [ -z "${NURTURE_BIN_DIR:-}" ]; then
  go build -o "$bin"/nurture ./cmd/nurture
  go build -o "$bin"/hitload ./bench/hitload
fi
export NURTURE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable${PGPARAMS:-}"
export NURTURE_REDIS_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379/15}"
export NURTURE_LISTEN=127.0.0.1:18081 NURTURE_SECRET=$(head -c 24 /dev/urandom | base64) NURTURE_LOG_LEVEL=warn
export NURTURE_ERASURE_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$bin"/nurture migrate >/dev/null 2>&1
"$bin"/nurture api 2>/tmp/nurture-bench-hits.log &
api=$!
trap 'kill $api 2>/dev/null; wait $api 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs http://127.0.0.1:18081/readyz >/dev/null && break; sleep 0.2; done
# CPU time (µs) used so far by the API process, and by all PostgreSQL
# processes: per request it is a steadier figure than requests/s on a
# shared machine.
tick=$(( 1000000 / $(getconf CLK_TCK) ))
cpu() { awk -v tick=$tick '{ print ($14 + $15) * tick }' "/proc/$1/stat"; }
pgcpu() { cat /proc/[0-9]*/stat 2>/dev/null | awk -v tick=$tick '$2 == "(postgres)" { t += $14 + $15 } END { print t * tick }'; }
commits() { psql -h 127.0.0.1 -U postgres -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = '$db'"; }
count() { psql -h 127.0.0.1 -U postgres -d "$db" -Atc "SELECT count(*) FROM email_events"; }
for path in o c; do
  if command -v wrk >/dev/null; then
    # wrk (C) leaves the two cores to the server; bench/hitload is the fallback.
    "$bin"/hitload -db "$NURTURE_DATABASE_URL" -secret "$NURTURE_SECRET" -path $path -paths /tmp/nurture-paths.txt
    before=$(count) api0=$(cpu $api) pg0=$(pgcpu) commits0=$(commits)
    echo "/$path/ with wrk:"
    if [ -n "${HITS_PERF:-}" ]; then
      mkdir -p "$HITS_PERF"
      perf record -q -F 999 -g -a -o "$HITS_PERF/$path.data" -- sleep "${duration%s}" 2>/dev/null &
    fi
    out=$(/usr/bin/time -f "wrk CPU %U+%S s" wrk -t 2 -c 50 -d "$duration" --latency -s bench/paths.lua http://127.0.0.1:18081 -- /tmp/nurture-paths.txt 2>&1)
    api1=$(cpu $api) pg1=$(pgcpu)
    grep -E "Requests/sec|Latency|99%|50%|requests in|Non-2xx|wrk CPU" <<<"$out"
    reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
    n=$(( $(count) - before ))
    echo "hits recorded in the database: $n, in $(( $(commits) - commits0 )) commits"
    echo "CPU per request: API $(( (api1 - api0) / reqs )) µs + PostgreSQL $(( (pg1 - pg0) / reqs )) µs = $(( (api1 - api0 + pg1 - pg0) / reqs )) µs"
  else
    "$bin"/hitload -url http://127.0.0.1:18081 -db "$NURTURE_DATABASE_URL" -secret "$NURTURE_SECRET" -path $path -c 50 -duration "$duration"
  fi
done
