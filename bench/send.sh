#!/usr/bin/env bash
# Measures delivery through the whole path (see bench/sendload): builds
# nurture and sendload, and sends a batch of each template given (default:
# the small check-in note and the newsletter) to a null SMTP sink, then the
# same emails pre-rendered with bare go-mail clients, the limit.
#   bench/send.sh [recipients] [template...]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
shift || true
db=nurture_sendload
scripts/services.sh "$db" >/dev/null
go build -o bin/nurture ./cmd/nurture
go build -o bin/sendload ./bench/sendload
templates=("$@")
[ ${#templates[@]} -gt 0 ] || templates=(check-in newsletter)
for t in "${templates[@]}"; do
	bin/sendload -n "$n" -template "$t" -db "postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
	echo
done
