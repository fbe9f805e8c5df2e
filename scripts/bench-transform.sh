#!/usr/bin/env bash
# Benchmark of `civic transform` (release build: raw -> canonical of one ingested MyLA311 run, every partition
# through the `process` function's entry point) side by side with DuckDB's equivalent SELECT over the same raw
# Parquet: `try_strptime` on the four timestamp columns, numeric casts, `COPY ... PARTITION_BY (year, CD)` as
# zstd Parquet (threads = cores, preserve_insertion_order = false).
#
# The run is generated and ingested once (`civic gen-la311`, `civic ingest --memory-budget 128MiB`, as
# `make bench-ingest` does) into target/bench/transform-src-<rows>/; then BENCH_RUNS rounds (default 3) of
# civic transform (in a fresh copy of that store) and DuckDB, alternating. Prints min and median of wall time,
# peak RSS and output bytes per tool, checks civic's accounting (rows in = raw rows = out + quarantined, rows
# out = canonical rows read back), and exits 1 naming every target below that is missed.
#   civic's wall: GNU time, whole process. DuckDB's: time.perf_counter() around the COPY inside its
#   process, after `import duckdb` (Python start-up excluded). Peak RSS: GNU time, whole process, both.
#
# Environment: BENCH_ROWS (default 2000000), BENCH_SEED (1), BENCH_YEAR (2023), BENCH_RUNS (3),
# PYTHON (default: .venv-bench with the pinned duckdb, created here).
set -euo pipefail

# --- targets (README, issue 17) --------------------------------------------------------------------
TARGET_WALL_RATIO="${TARGET_WALL_RATIO:-1.0}"   # civic median wall <= this x DuckDB's median COPY
TARGET_RSS_MIB="${TARGET_RSS_MIB:-256}"          # civic peak RSS in every run
# (and, always: civic's counts add up and match the raw and canonical rows read back)
# ----------------------------------------------------------------------------------------------------
DUCKDB_PIN="duckdb==2.0.1"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROWS="${BENCH_ROWS:-2000000}"
SEED="${BENCH_SEED:-1}"
YEAR="${BENCH_YEAR:-2023}"
RUNS="${BENCH_RUNS:-3}"
PYTHON="${PYTHON:-}"
DIR="$ROOT/target/bench"
CSV="$DIR/la311_${YEAR}_${ROWS}_seed${SEED}.csv"
SRC="$DIR/transform-src-${YEAR}_${ROWS}_seed${SEED}"
CIVIC="${CARGO_TARGET_DIR:-$ROOT/target}/release/civic"
mkdir -p "$DIR"
# GNU time and the pinned DuckDB (sets TIME and PYTHON).
. "$ROOT/scripts/bench-env.sh"

echo "== building civic (release)" >&2
(cd "$ROOT" && nice -n "${BENCH_NICE:-0}" cargo build --release -p civic)

if [ ! -f "$CSV" ]; then
  echo "== generating $ROWS rows into $CSV" >&2
  "$CIVIC" gen-la311 --rows "$ROWS" --seed "$SEED" --year "$YEAR" --out "$CSV.tmp"
  mv "$CSV.tmp" "$CSV"
fi
if [ ! -f "$SRC/.ingested" ]; then
  echo "== ingesting $CSV into $SRC (run id bench)" >&2
  rm -rf "$SRC"
  (cd "$ROOT" && "$CIVIC" ingest --dataset la311 --input "$CSV" --store "$SRC" --run-id bench \
     --memory-budget 128MiB >/dev/null)
  touch "$SRC/.ingested"
fi

echo "== warming the page cache with one untimed read of the raw Parquet" >&2
find "$SRC/data/raw" -name '*.parquet' -exec cat {} + > /dev/null
show_load

exec "$PYTHON" "$ROOT/scripts/bench_transform.py" \
  --civic "$CIVIC" --root "$ROOT" --store "$SRC" --run bench --rows "$ROWS" --dir "$DIR" --runs "$RUNS" \
  --threads "$(nproc)" --target-wall-ratio "$TARGET_WALL_RATIO" --target-rss-mib "$TARGET_RSS_MIB"
