# Run `make` (or `make help`) to list the targets.

GOLANGCI_LINT := github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
# The commands the targets run; scripts/services_test.go replaces them to see
# what make run and make test would pass.
GO ?= go
SERVICES ?= bash scripts/services.sh
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

# The database the tests use; override it to test elsewhere. Each test starts
# a redis-server of its own, so no Redis of yours is touched.
export NURTURE_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/nurture_test?sslmode=disable

# What `make run` uses. Override any of them, in the environment or on the
# command line (make run MAILPIT_SMTP=127.0.0.1:2025): scripts/services.sh
# then checks, starts or creates what they name, and nothing else.
NURTURE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/nurture?sslmode=disable
NURTURE_REDIS_URL ?= redis://127.0.0.1:6379/0
MAILPIT_SMTP ?= 127.0.0.1:1025
MAILPIT_UI ?= 127.0.0.1:8025
NURTURE_SMTP_URL ?= smtp://$(MAILPIT_SMTP)

.DEFAULT_GOAL := help
.PHONY: help build run test test-pgbouncer lint bench bench-ingest bench-send bench-sequences bench-enrich bench-fanout bench-segments bench-erasure bench-console faults fmt vet

help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  %-16s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: ## build bin/nurture
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o bin/nurture ./cmd/nurture

run: export NURTURE_DATABASE_URL := $(NURTURE_DATABASE_URL)
run: export NURTURE_REDIS_URL := $(NURTURE_REDIS_URL)
run: export NURTURE_SMTP_URL := $(NURTURE_SMTP_URL)
run: ## run the API and the worker in one process (--dev) against Postgres, Redis and SMTP (local ones unless NURTURE_*_URL say)
	@$(SERVICES) --mailpit-ui "$(MAILPIT_UI)" "$$NURTURE_DATABASE_URL" "$$NURTURE_REDIS_URL" "$$NURTURE_SMTP_URL"
	$(GO) run ./cmd/nurture all --dev

test: ## run every test, starting PostgreSQL when it is not running
	@$(SERVICES) "$$NURTURE_TEST_DATABASE_URL"
	$(GO) test -race -count=1 ./...

test-pgbouncer: ## run every test through a pgbouncer of its own in transaction pooling mode (PKGS=./postgres/ fewer packages; see docs/scaling.md)
	@$(SERVICES) "$$NURTURE_TEST_DATABASE_URL"
	GO=$(GO) scripts/pgbouncer-test.sh $(or $(PKGS),./...)

lint: ## run golangci-lint (built from source the first time: a few minutes)
	$(GO) run $(GOLANGCI_LINT) run

bench: ## run the benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./...

bench-ingest: ## load /v1/batch of a local API with bench/ingestload (see docs/benchmarks.md)
	bench/ingest.sh

bench-send: ## send 100,000 emails through the whole path to a null SMTP sink (see docs/benchmarks.md)
	bench/send.sh

bench-sequences: ## advance 100,000 enrollments through a send and a wait, then time exit events at 1,000 events/s (see docs/benchmarks.md)
	bench/sequences.sh

bench-enrich: ## enrich 10,000 sign-ups from 1,000 companies served on loopback, at 1 request/s per domain (see docs/benchmarks.md)
	bench/enrich.sh

bench-fanout: ## fan a campaign out to 1,000,000 contacts: every message row created and handed to delivery (see docs/benchmarks.md)
	scripts/services.sh "postgres://postgres@127.0.0.1:5432/nurture_fanoutload?sslmode=disable" >/dev/null
	go build -o bin/fanoutload ./bench/fanoutload && bin/fanoutload -n 1000000

bench-segments: ## time segment previews (count and sample) of typical filters on 1,000,000 contacts and 20,000,000 events (see docs/benchmarks.md)
	bench/segments.sh

bench-erasure: ## erase 100,000 contacts (one DELETE each, ten at a time) while a campaign sends; N=10000 erases fewer (see docs/benchmarks.md)
	bench/erasure.sh $(or $(N),100000) $(or $(CAMPAIGN),200000)

bench-console: ## time every console page on 1,000,000 contacts (seeded once; see docs/benchmarks.md)
	bench/console.sh -n 30

faults: ## run the fault suite (issue 11; hours; FAULTS_EMAILS=1000 quicker, RUN=kill9/batch one scenario) and write docs/reliability.md
	NURTURE_FAULTS=1 go test ./faults -count=1 -v -timeout 0 $(if $(RUN),-run 'TestFaults/$(RUN)')

fmt: ## format the Go code
	$(GO) fmt ./...

vet: ## run go vet
	$(GO) vet ./...
