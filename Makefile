# Run `make` (or `make help`) to list the targets.

GOLANGCI_LINT := github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

# The database the tests use; override it to test elsewhere. Each test starts
# a redis-server of its own, so no Redis of yours is touched.
export NURTURE_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/nurture_test?sslmode=disable

.DEFAULT_GOAL := help
.PHONY: help build run test lint bench bench-ingest bench-send faults fmt vet

help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  %-13s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: ## build bin/nurture
	CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=$(VERSION)" -o bin/nurture ./cmd/nurture

run: ## run the API and the worker in one process (--dev) against local Postgres, Redis and SMTP
	@bash scripts/services.sh --smtp nurture
	go run ./cmd/nurture all --dev

test: ## run every test, starting Postgres and Redis when they are not running
	@bash scripts/services.sh nurture_test
	go test -race -count=1 ./...

lint: ## run golangci-lint (built from source the first time: a few minutes)
	go run $(GOLANGCI_LINT) run

bench: ## run the benchmarks
	go test -run '^$$' -bench . -benchmem ./...

bench-ingest: ## load /v1/batch of a local API with bench/ingestload (see docs/benchmarks.md)
	bench/ingest.sh

bench-send: ## send 100,000 emails through the whole path to a null SMTP sink (see docs/benchmarks.md)
	bench/send.sh

faults: ## run the fault suite (issue 11; hours; FAULTS_EMAILS=1000 quicker, RUN=kill9/batch one scenario) and write docs/reliability.md
	NURTURE_FAULTS=1 go test ./faults -count=1 -v -timeout 0 $(if $(RUN),-run 'TestFaults/$(RUN)')

fmt: ## format the Go code
	go fmt ./...

vet: ## run go vet
	go vet ./...
