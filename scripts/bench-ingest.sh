#!/usr/bin/env bash
# Benchmark of `civic ingest` (release build) on generated MyLA311-shaped CSV, partitioned by CD into
# zstd Parquet, side by side with DuckDB's tuned COPY ... (FORMAT parquet, PARTITION_BY (CD),
# COMPRESSION zstd) on the same file (threads = cores, preserve_insertion_order = false).
#
# BENCH_RUNS rounds (default 3), each: civic, DuckDB at its default memory_limit, DuckDB at
# memory_limit = civic's --memory-budget (DUCKDB_EQUAL_LIMIT), so the tools alternate. Prints min and
# median of wall time, peak RSS and output bytes per tool, reads civic's output back with DuckDB, and
# exits 1 naming every target below that is missed.
#   civic's wall: GNU time, whole process. DuckDB's: time.perf_counter() around the COPY inside its
#   process, after `import duckdb` (Python start-up excluded). Peak RSS: GNU time, whole process, both.
#
# Environment: BENCH_ROWS (default 2000000), BENCH_SEED (1), BENCH_YEAR (2023), BENCH_BUDGET (128MiB),
# BENCH_RUNS (3), PYTHON (default: .venv-bench with the pinned duckdb, created here).
# The CSV is generated once into target/bench/. `make bench-ingest-20m` = BENCH_ROWS=20000000.
set -euo pipefail

# --- targets (README, issue 16) --------------------------------------------------------------------
TARGET_WALL_RATIO="${TARGET_WALL_RATIO:-1.0}"   # civic median wall <= this x DuckDB's median COPY (tuned, default memory)
TARGET_RSS_MIB="${TARGET_RSS_MIB:-128}"          # civic peak RSS in every run, at the default --memory-budget
TARGET_BYTES_RATIO="${TARGET_BYTES_RATIO:-1.2}"  # civic raw output bytes <= this x DuckDB's
# ----------------------------------------------------------------------------------------------------
DUCKDB_PIN="duckdb==2.0.1"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROWS="${BENCH_ROWS:-2000000}"
SEED="${BENCH_SEED:-1}"
YEAR="${BENCH_YEAR:-2023}"
BUDGET="${BENCH_BUDGET:-128MiB}"
DUCKDB_EQUAL_LIMIT="${DUCKDB_EQUAL_LIMIT:-$BUDGET}"   # DuckDB's memory_limit in the equal-memory run
RUNS="${BENCH_RUNS:-3}"
PYTHON="${PYTHON:-}"
DIR="$ROOT/target/bench"
CSV="$DIR/la311_${YEAR}_${ROWS}_seed${SEED}.csv"
CIVIC="$ROOT/target/release/civic"
TIME=/usr/bin/time
mkdir -p "$DIR"

if [ ! -x "$TIME" ] && command -v apt-get >/dev/null; then
  echo "== installing GNU time (peak RSS) with apt-get" >&2
  { apt-get install -y -qq time || { apt-get update -qq && apt-get install -y -qq time; }; } >/dev/null
fi
[ -x "$TIME" ] || { echo "bench-ingest: $TIME is needed (apt-get install time)" >&2; exit 1; }

# DuckDB for the side-by-side runs, pinned, in a project-local virtualenv (PYTHON overrides).
if [ -z "$PYTHON" ]; then
  BENCH_VENV="$ROOT/.venv-bench"
  want="${DUCKDB_PIN#duckdb==}"
  if [ ! -x "$BENCH_VENV/bin/python" ] ||
     [ "$("$BENCH_VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)' 2>/dev/null)" != "$want" ]; then
    echo "== installing $DUCKDB_PIN into $BENCH_VENV" >&2
    python3 -m venv "$BENCH_VENV"
    "$BENCH_VENV/bin/pip" install --quiet "$DUCKDB_PIN"
  fi
  PYTHON="$BENCH_VENV/bin/python"
fi
"$PYTHON" -c 'import duckdb' || { echo "bench-ingest: duckdb is not importable with $PYTHON" >&2; exit 1; }

echo "== building civic (release)" >&2
(cd "$ROOT" && cargo build --release -p civic)

if [ ! -f "$CSV" ]; then
  echo "== generating $ROWS rows into $CSV" >&2
  "$CIVIC" gen-la311 --rows "$ROWS" --seed "$SEED" --year "$YEAR" --out "$CSV.tmp"
  mv "$CSV.tmp" "$CSV"
fi

# Both tools read the CSV from the page cache: one untimed read first, so round 1's first run (civic) does not
# pay for the disk alone (a 20M-row run in between can have evicted the file).
echo "== warming the page cache with one untimed read of $CSV" >&2
cat "$CSV" > /dev/null

echo "== load while benchmarking (other compilers/builds share the cores when listed):" >&2
uptime >&2
ps -eo pid,pcpu,comm --sort=-pcpu | awk 'NR == 1 || $3 ~ /^(cargo|rustc|cc|cc1|ld|clang)$/' | head -8 >&2

exec "$PYTHON" "$ROOT/scripts/bench_ingest.py" \
  --civic "$CIVIC" --csv "$CSV" --rows "$ROWS" --dir "$DIR" --runs "$RUNS" \
  --budget "$BUDGET" --duckdb-limit "$DUCKDB_EQUAL_LIMIT" --threads "$(nproc)" \
  --target-wall-ratio "$TARGET_WALL_RATIO" --target-rss-mib "$TARGET_RSS_MIB" \
  --target-bytes-ratio "$TARGET_BYTES_RATIO"
