# The two commands a newcomer runs are in README.md: the main job, and `make test`.
# `make test` installs what it needs (Python tools into project-local virtualenvs) and starts what it
# needs (moto_server on a free loopback port, started by the test harness itself).

SHELL := /bin/bash
PYTHON ?= python3
VENV := $(CURDIR)/.venv
CHECKOV_VENV := $(CURDIR)/.venv-checkov
LAMBDA_VENV := $(CURDIR)/.venv-lambda
CARGO ?= cargo
STAGE ?= ci
OUT := $(CURDIR)/target/infra-test
# Built once by `cargo build --workspace` (running `cargo run -p X` would re-resolve features for X alone
# and rebuild part of the dependency tree).
INFRA_GEN := $(CURDIR)/target/debug/infra-gen
CIVIC := $(CURDIR)/target/debug/civic

export PATH := $(VENV)/bin:$(PATH)

.PHONY: test e2e-aws handler-permissions rename-check demo report-check tools nextest lint-templates lint-workflows api-fuzz synth codegen-check fmt-check clippy bench-synth bench-ingest bench-ingest-20m bench-demo bench-package bench-transform

## test: everything CI runs (installs the tools it needs first).
# CIVIC_REQUIRE_MOTO=1 and MOTO_SERVER: a moto test fails (never skips) when moto_server is missing.
# CIVIC_PYTHON: the virtualenv's python (duckdb, pyarrow), with which the demo test reads the feature table.
test: tools
	$(CARGO) build --workspace --all-targets
	$(INFRA_GEN) codegen --check
	CIVIC_REQUIRE_MOTO=1 MOTO_SERVER=$(VENV)/bin/moto_server CIVIC_PYTHON=$(VENV)/bin/python $(CARGO) nextest run --workspace --no-fail-fast
	$(CARGO) test --workspace --doc
	$(MAKE) --no-print-directory lint-templates lint-workflows api-fuzz report-check rename-check e2e-aws

## tools: cargo-nextest, and the Python tools pinned in requirements/ in project-local virtualenvs (checkov
## pins an old boto3 that breaks moto: own venv). A stamp is remade, so the venv re-installed, when its pins change.
tools: nextest $(VENV)/.installed $(CHECKOV_VENV)/.installed

## nextest: cargo-nextest, built from crates.io (a few minutes) when `cargo nextest` does not run.
NEXTEST_VERSION := 0.9.143
nextest:
	@$(CARGO) nextest --version >/dev/null 2>&1 || $(CARGO) install --locked cargo-nextest --version $(NEXTEST_VERSION)
	@$(CARGO) nextest --version >/dev/null 2>&1 || { echo "cargo-nextest is not installed: run 'cargo install --locked cargo-nextest'" >&2; exit 1; }

$(VENV)/.installed: requirements/test.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements/test.txt
	touch $@

$(LAMBDA_VENV)/.installed: requirements/lambda.txt
	$(PYTHON) -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/pip install --quiet --upgrade pip
	$(LAMBDA_VENV)/bin/pip install --quiet -r requirements/lambda.txt
	touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements/checkov.txt
	touch $@

## e2e-aws: the shipped artifacts on a local AWS endpoint, no Docker (crates/e2e-aws): moto_server (from .venv) on a
## free loopback port, `infra-gen bootstrap` and `deploy --artifacts` with packages of the host's debug binaries, each
## function's deployed bootstrap run under a Lambda Runtime API emulator with its deployed environment, one run
## driven as AWS would (schedule event, continuation, SQS events through every layer, function URL requests).
## The last line is the summary; scratch and one log per function in target/e2e-aws/. ARGS="--rows 50000".
E2E_BIN_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/debug
e2e-aws: $(VENV)/.installed
	$(CARGO) build --workspace --all-targets
	CIVIC_REQUIRE_MOTO=1 MOTO_SERVER=$(VENV)/bin/moto_server $(E2E_BIN_DIR)/e2e-aws --bin-dir $(E2E_BIN_DIR) $(ARGS)

## lint-templates: synth every stage-independent template set and run cfn-lint and checkov on it.
lint-templates: tools
	test -x $(INFRA_GEN) || $(CARGO) build --workspace
	rm -rf $(OUT)
	$(INFRA_GEN) synth --stage $(STAGE) --out $(OUT)
	$(VENV)/bin/cfn-lint $(OUT)/$(STAGE)/*.template.json
	$(CHECKOV_VENV)/bin/checkov -d $(OUT)/$(STAGE) --framework cloudformation --compact --quiet --skip-download
	$(VENV)/bin/python scripts/handler-permissions.py --check $(OUT)/$(STAGE)/*.template.json
	@echo "templates: cfn-lint and checkov clean, handler permissions current"

## handler-permissions: refresh infra-gen/tests/data/handler-permissions.json (what each resource type's
## CloudFormation handlers need, from cfn-lint's provider schemas) from the synthesized templates.
## lint-templates runs it with --check.
handler-permissions: tools
	test -x $(INFRA_GEN) || $(CARGO) build --workspace
	rm -rf $(OUT)
	$(INFRA_GEN) synth --stage $(STAGE) --out $(OUT)
	$(VENV)/bin/python scripts/handler-permissions.py $(CHECK) $(OUT)/$(STAGE)/*.template.json

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

## bench-demo: release build, 3 cold `civic demo` runs at 1,500,000 rows (fresh store each) and a same-store
## rerun; min/median wall, peak RSS, bytes; exits 1 when a target (top of the script) is missed.
bench-demo:
	scripts/bench-demo.sh

## rename-check: in a copy of the project, rename the raw and canonical key templates, run `infra-gen codegen`,
## build and run the demo: every object must land under the new names (scripts/rename-check.sh).
rename-check:
	scripts/rename-check.sh

## report-check: a small demo, then the report opened in headless Chromium (installed with apt-get when missing).
report-check:
	CIVIC_BIN=$(CIVIC) scripts/report-check.sh

## api-fuzz: schemathesis (own venv) against `civic serve`'s OpenAPI document; fails on any 5xx.
api-fuzz:
	CIVIC_BIN=$(CIVIC) scripts/api-fuzz.sh

## bench-ingest: 2,000,000 generated rows through a release build, 3 rounds alternating civic, DuckDB
## (pinned, in .venv-bench) at its default memory limit and DuckDB at civic's --memory-budget; min/median
## wall, peak RSS, output bytes; then the crime section: the same row count of generated LAPD crime CSV,
## civic with the geo partition rule vs civic by the plain AREA column vs DuckDB by AREA (lookup overhead);
## exits 1 when a target (top of the script) is missed. BENCH_SECTIONS=crime runs one section.
bench-ingest:
	scripts/bench-ingest.sh

## bench-ingest-20m: the same with 20,000,000 rows (7.2 GB of CSV in target/bench): memory stays flat.
## BENCH_RUNS=1 for a single round.
bench-ingest-20m:
	BENCH_ROWS=20000000 scripts/bench-ingest.sh

## bench-transform: one generated 2,000,000-row run (BENCH_ROWS), ingested once, then 3 rounds alternating
## `civic transform` (release, a fresh copy of the ingested store each) and DuckDB's equivalent typed SELECT
## (pinned, in .venv-bench: try_strptime, casts, COPY ... PARTITION_BY (year, CD) zstd) over the same raw
## Parquet; min/median wall, peak RSS, output bytes, civic's accounting; exits 1 when a target (top of the
## script) is missed.
bench-transform:
	scripts/bench-transform.sh

## bench-package: the Lambda zips as deployed (`cargo lambda build --profile lambda --arm64 --output-format zip`, every
## function crate in one invocation, cargo-lambda and zig from .venv-lambda); prints each zip's size and exits 1
## when one is above 6 MB (TARGET_ZIP_BYTES). BENCH_ARCH=x86_64 for the host's architecture.
bench-package: $(LAMBDA_VENV)/.installed
	PATH=$(LAMBDA_VENV)/bin:$$PATH scripts/bench-package.sh
