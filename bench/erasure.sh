#!/usr/bin/env bash
# Measures erasure while a campaign sends (see bench/erasureload): builds
# nurture and erasureload, then erases N contacts (default 100,000), one
# DELETE /v1/contacts/{id} each, ten at a time, while a campaign sends to
# other contacts through a null SMTP sink.
#   bench/erasure.sh [contacts to erase] [campaign recipients]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
campaign=${2:-200000}
db=nurture_erasureload
scripts/services.sh "$db" >/dev/null
go build -o bin/nurture ./cmd/nurture
go build -o bin/erasureload ./bench/erasureload
bin/erasureload -n "$n" -campaign "$campaign" -db "postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
