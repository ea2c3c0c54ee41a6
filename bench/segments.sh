#!/usr/bin/env bash
# Measures segment previews (see bench/segmentload): builds segmentload,
# fills its own database with contacts, events and a few emails (COPY),
# then times SegmentCount and SegmentSample of typical filters (p50/p95
# of 20 warm runs each) and shows the typical filter's plan.
#   bench/segments.sh [contacts] [events] [-reuse and other segmentload flags]
# The default is issue 14's size (1,000,000 contacts, 20,000,000 events:
# minutes to load on two cores); bench/segments.sh 100000 2000000 is quick.
set -euo pipefail
cd "$(dirname "$0")/.."
contacts=${1:-1000000}
events=${2:-20000000}
shift $(( $# < 2 ? $# : 2 ))
db=nurture_segmentload
scripts/services.sh "postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" >/dev/null
go build -o bin/segmentload ./bench/segmentload
bin/segmentload -contacts "$contacts" -events "$events" -db "postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" "$@"
