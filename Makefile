# MinIODB build, run and test entry points. `make test` is what CI runs.
SHELL       := /bin/bash
export GOFLAGS := -tags=duckdb_arrow
GO          ?= go
VENV        ?= .venv
PYTHON      := $(CURDIR)/$(VENV)/bin/python
SF          ?= 0.01
BIN         := bin/miniodb
TEST_TIMEOUT ?= 25m

.PHONY: build run test soak bench lint tpch-data clean

build:
	$(GO) build -o $(BIN) ./cmd/miniodb

# A single node on the embedded default: local folder + bbolt under ./data.
run: build
	./$(BIN) serve

# Python packages the tests use (TPC-H generation), pinned.
$(VENV)/.stamp: bench/tpch/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r bench/tpch/requirements.txt
	touch $@

test: $(VENV)/.stamp
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	MINIODB_PYTHON=$(PYTHON) $(GO) test -timeout $(TEST_TIMEOUT) -count=1 ./...

# The crash test with 200 SIGKILLs instead of the default 20.
soak: $(VENV)/.stamp
	MINIODB_CRASH_KILLS=200 $(GO) test -timeout 120m -count=1 -run TestCrashRecovery -v ./cmd/miniodb

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

tpch-data: $(VENV)/.stamp
	$(PYTHON) bench/tpch/gen.py --sf $(SF) --out bench/tpch/data/sf$(SF)

clean:
	rm -rf bin
