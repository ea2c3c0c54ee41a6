#!/usr/bin/env bash
# Measures the console's pages on 1,000,000 contacts (see bench/consoleload):
# seeds its own database once (minutes on two cores; later runs reuse it),
# then prints the median and p95 of each page as a markdown table.
#   bench/console.sh [consoleload flags: -n 30 -pages suppressions,audit -redis redis://127.0.0.1:6379/0 -reseed]
# It runs under the benchmarks' lock, one benchmark at a time on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
db=nurture_console_1m
scripts/services.sh "postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" >/dev/null
go build -o bin/consoleload ./bench/consoleload
exec flock /tmp/nurture-bench.lock bin/consoleload -db "postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" "$@"
