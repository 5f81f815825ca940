# eventsql — `make test` runs everything CI runs; it installs what the
# tests need when it is missing (see scripts/deps.sh).
GO        ?= go
PKGS      := ./...
BIN       := bin/eventsql
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION) -X main.build=$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

.PHONY: all build test deps lint unit e2e fuzz bench bench-http bench-sse bench-import bench-sql bench-export clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/eventsql

deps:
	@bash scripts/deps.sh

## test: formatting, vet, unit and integration tests with -race, end-to-end tests.
test: deps lint unit e2e

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $$($(GO) list $(PKGS) | grep -v /internal/gmsserver)  # a copy of upstream code, kept close to it

unit:
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

e2e: build
	bash scripts/e2e.sh $(BIN)

## fuzz: run each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRecord$$' -fuzztime $(FUZZTIME) ./engine
	$(GO) test -run '^$$' -fuzz '^FuzzCheckFrame$$' -fuzztime $(FUZZTIME) ./engine
	$(GO) test -run '^$$' -fuzz '^FuzzOpenDamagedSegment$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10x ./engine
	$(GO) test -run '^$$' -fuzz '^FuzzValidJSONMatchesStd$$' -fuzztime $(FUZZTIME) ./engine
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeAppendBody$$' -fuzztime $(FUZZTIME) ./httpfront
	$(GO) test -run '^$$' -fuzz '^FuzzAppendEventJSON$$' -fuzztime $(FUZZTIME) ./httpfront
	$(GO) test -run '^$$' -fuzz '^FuzzParseLine$$' -fuzztime $(FUZZTIME) ./ndjsonimport
	$(GO) test -run '^$$' -fuzz '^FuzzScanMatchesStd$$' -fuzztime $(FUZZTIME) ./ndjsonimport
	$(GO) test -run '^$$' -fuzz '^FuzzParseArrayMatchesStd$$' -fuzztime $(FUZZTIME) ./ndjsonimport
	$(GO) test -run '^$$' -fuzz '^FuzzParseManifest$$' -fuzztime $(FUZZTIME) ./export
	$(GO) test -run '^$$' -fuzz '^FuzzObjectMatchesGJSON$$' -fuzztime $(FUZZTIME) ./internal/jsonscan
	$(GO) test -run '^$$' -fuzz '^FuzzFieldSetMatchesGJSON$$' -fuzztime $(FUZZTIME) ./sqlfront

## bench: engine benchmarks (figures for docs/performance.md).
bench:
	$(GO) run ./bench/enginebench $(BENCHFLAGS)

## bench-http: HTTP appends and bulk import side by side with MariaDB and
## DuckDB (installs mariadb-server, nodejs/npm and @duckdb/node-api when
## missing), e.g. make bench-http HTTPBENCHFLAGS="-import-size 200MB".
bench-http:
	$(GO) run ./bench/httpbench $(HTTPBENCHFLAGS)

## bench-sse: Server-Sent Events fan-out (figures for docs/performance.md).
bench-sse:
	$(GO) run ./bench/ssebench $(SSEFLAGS)

## bench-import: bulk import of a generated 1 GB NDJSON file via POST /import and --data.
bench-import:
	$(GO) run ./bench/importbench $(IMPORTFLAGS)

## bench-sql: the same SQL queries against eventsql and MariaDB on the same
## generated events (default 10M; installs mariadb-server when missing),
## e.g. make bench-sql SQLBENCHFLAGS="-events 200000".
bench-sql:
	$(GO) run ./bench/sqlbench $(SQLBENCHFLAGS)

## bench-export: Parquet export of 10M generated events (whole export and
## --datasets events), side by side with DuckDB's COPY TO parquet of the
## events columns and of the same work with typed files per event type
## (installs node/npm and @duckdb/node-api when missing), e.g.
## make bench-export EXPORTFLAGS="-events 1000000".
bench-export:
	$(GO) run ./bench/exportbench $(EXPORTFLAGS)

clean:
	rm -rf bin bench-data
