#!/usr/bin/env bash
# Measures delivery through the whole path (see bench/sendload): builds
# nurture, sendload and the sink (bench/sink, which sendload starts as a
# process of its own), and sends a batch of each template given (default:
# the small check-in note and the newsletter) to the sink, then the same
# emails pre-rendered with bare go-mail clients, the limit. Run it under the
# shared lock so that two load benchmarks never overlap:
#   flock /tmp/nurture-bench.lock bench/send.sh [recipients] [template...]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
shift || true
db=nurture_sendload
scripts/services.sh "$db" >/dev/null
go build -o bin/nurture ./cmd/nurture
go build -o bin/sendload ./bench/sendload
go build -o bin/sink ./bench/sink
templates=("$@")
[ ${#templates[@]} -gt 0 ] || templates=(check-in newsletter)
for t in "${templates[@]}"; do
	bin/sendload -n "$n" -template "$t" -db "postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
	echo
done
