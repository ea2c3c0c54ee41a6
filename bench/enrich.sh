#!/usr/bin/env bash
# Measures lead enrichment (see bench/enrichload): 10,000 sign-ups from
# 1,000 companies whose sites and DNS are served on loopback, through
# ingestion, the enrichment poller, a worker on the enrich queue and the
# Enricher paced at one request per second per domain; fails unless every
# contact is enriched once and every domain researched once.
#   bench/enrich.sh [sign-ups] [companies] [concurrency]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
domains=${2:-1000}
concurrency=${3:-16}
db=nurture_enrichload
scripts/services.sh "postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" >/dev/null
go build -o bin/enrichload ./bench/enrichload
bin/enrichload -n "$n" -domains "$domains" -concurrency "$concurrency" -db "postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
