#!/usr/bin/env bash
# Measures the sequence engine (see bench/seqload): builds nurture and
# seqload, enrolls 100,000 contacts at once in a send-then-wait sequence
# and lets a worker advance them to a null SMTP sink, then times exit
# events posted at 1,000 events/s until their enrollments stop.
#   bench/sequences.sh [contacts] [exit events/s]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
rate=${2:-1000}
db=nurture_seqload
scripts/services.sh "postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" >/dev/null
go build -o bin/nurture ./cmd/nurture
go build -o bin/seqload ./bench/seqload
bin/seqload -n "$n" -exit-rate "$rate" -db "postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
