#!/usr/bin/env bash
# Property-based fuzzing of the ledger HTTP API: starts `civic serve` on a free loopback port over a
# throw-away store and runs schemathesis (from a project-local venv) against its /openapi.json.
# Fails on any 5xx, on responses that do not match the documented status codes, content types and schemas.
#
#   scripts/api-fuzz.sh                  # default budget
#   FUZZ_MAX_EXAMPLES=200 scripts/api-fuzz.sh
#   CIVIC_BIN=path/to/civic scripts/api-fuzz.sh   # use a prebuilt binary
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${FUZZ_VENV:-$ROOT/.venv-fuzz}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-60}"
PYTHON="${PYTHON:-python3}"

# The tools are required: when one is missing and cannot be installed, the run fails (exit 2) saying so.
REQUIREMENTS="$ROOT/requirements/fuzz.txt"
missing() {
  echo "api-fuzz: FAIL: $1" >&2
  exit 2
}
command -v "$PYTHON" >/dev/null 2>&1 || missing "$PYTHON not found: Python 3 (with venv and pip) is required to run schemathesis"
# The stamp is a copy of the pins it installed: changed pins re-install.
if [[ ! -x "$VENV/bin/schemathesis" ]] || ! cmp -s "$REQUIREMENTS" "$VENV/.installed"; then
  echo "api-fuzz: installing $(grep -v '^#' "$REQUIREMENTS" | xargs) into $VENV" >&2
  if ! { "$PYTHON" -m venv "$VENV" && "$VENV/bin/pip" install --quiet --upgrade pip &&
    "$VENV/bin/pip" install --quiet -r "$REQUIREMENTS"; }; then
    missing "could not install schemathesis (requirements/fuzz.txt) into $VENV: see pip's output above; 'pip install -r requirements/fuzz.txt' in a venv, then FUZZ_VENV=that venv"
  fi
  cp "$REQUIREMENTS" "$VENV/.installed"
fi
[[ -x "$VENV/bin/schemathesis" ]] || missing "$VENV/bin/schemathesis is missing after installing requirements/fuzz.txt"

if [[ -z "${CIVIC_BIN:-}" ]]; then
  (cd "$ROOT" && cargo build -q -p civic)
  CIVIC_BIN="$ROOT/target/debug/civic"
fi

PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# A store that already holds events (a small demo run: ingest, transform, analyze, ledger), so listings and
# lookups return data and the response schemas are checked against real findings, not empty pages.
SEED_ROWS="${FUZZ_SEED_ROWS:-20000}"
if ! "$CIVIC_BIN" demo --rows "$SEED_ROWS" --store "$WORK/store" >"$WORK/seed.log" 2>&1; then
  cat "$WORK/seed.log" >&2
  echo "api-fuzz: seeding the store with \`civic demo --rows $SEED_ROWS\` failed" >&2
  exit 1
fi
grep -E '^ledger: ' "$WORK/seed.log" >&2 || true

TOKEN="fuzz-$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')"
export CIVIC_LEDGER_TOKEN="$TOKEN"
SERVE_ARGS=(serve --store "$WORK/store" --addr "127.0.0.1:$PORT" --stakeholders "$ROOT/datasets/la311/stakeholders.yaml")
# The real 2018 sample travels with the repository (testdata/README.md); serve reads plain CSV.
SAMPLE="$WORK/myla311_2018_sample.csv"
gzip -dc "$ROOT/testdata/la311/myla311_2018_sample.csv.gz" >"$SAMPLE"
SERVE_ARGS+=(--derive-stakeholders "$SAMPLE")

"$CIVIC_BIN" "${SERVE_ARGS[@]}" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
  if "$PYTHON" -c "import urllib.request; urllib.request.urlopen('$BASE/openapi.json', timeout=1)" 2>/dev/null; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$WORK/server.log" >&2; echo "civic serve exited" >&2; exit 1; fi
  sleep 0.1
done

# The hooks put generated POST /events bodies in the order the server checks between fields (window_end after
# window_start; no event_id, which must equal a hash of the other fields), which JSON Schema cannot state.
status=0
SCHEMATHESIS_HOOKS="$ROOT/scripts/api_fuzz_hooks.py" "$VENV/bin/schemathesis" run "$BASE/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --header "Authorization: Bearer $TOKEN" \
  --max-examples "$MAX_EXAMPLES" \
  --workers 1 \
  --seed "${FUZZ_SEED:-1}" || status=$?

if grep -q "panicked" "$WORK/server.log"; then
  echo "server log shows a panic:" >&2
  cat "$WORK/server.log" >&2
  exit 1
fi
exit "$status"
