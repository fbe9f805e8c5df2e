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
#
# Then the crime section (scripts/bench_ingest_crime.py, issue 13: lookups must not dominate ingestion): a
# generated LAPD crime CSV of the same row count (BENCH_CRIME_YEARS, default 2022-2023, so rows use both the
# 2012 and the 2021 district lines), BENCH_RUNS rounds alternating civic ingest with the geo partition rule,
# civic ingest of the same file partitioned by its plain AREA column (a temporary catalog copy of
# datasets/lapd_crime/), and DuckDB's tuned COPY ... PARTITION_BY (AREA). BENCH_SECTIONS (default
# "la311 la311real crime") picks the sections; the exit code is 1 when a target of any is missed.
#
# The la311real section (issue 17): the real 2018 MyLA311 sample (testdata/la311/myla311_2018_sample.csv.gz,
# 10,000 rows, BENCH_REAL_SAMPLE overrides) expanded to BENCH_ROWS rows by `bench_ingest.py expand`: the
# sample's rows repeated in order, copy k (k = 0, 1, ...) with its SRNumber prefix "1-" replaced by
# "<k+1>-" so every SRNumber is unique (the 200 copies of 2,000,000 rows are 702 MB); built once into
# target/bench/, then the same rounds and targets as the la311 section.
#
# civic is built with `cargo build --release -p civic` into $CARGO_TARGET_DIR (default target/);
# BENCH_SKIP_BUILD=1 uses the binary already there.
set -euo pipefail

# --- targets (README, issue 16) --------------------------------------------------------------------
TARGET_WALL_RATIO="${TARGET_WALL_RATIO:-1.0}"   # civic median wall <= this x DuckDB's median COPY (tuned, default memory)
TARGET_RSS_MIB="${TARGET_RSS_MIB:-128}"          # civic peak RSS in every run, at the default --memory-budget
TARGET_BYTES_RATIO="${TARGET_BYTES_RATIO:-1.1}"  # civic raw output bytes <= this x DuckDB's (issue 17; la311 and la311real)
# crime section (issue 13): civic's median wall with the geo rule <= (1 + this %) x with the AREA column
TARGET_GEO_OVERHEAD_PCT="${TARGET_GEO_OVERHEAD_PCT:-25}"
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
CRIME_YEARS="${BENCH_CRIME_YEARS:-2022-2023}"
CRIME_CSV="$DIR/lapd_crime_${CRIME_YEARS}_${ROWS}_seed${SEED}.csv"
REAL_SAMPLE="${BENCH_REAL_SAMPLE:-$ROOT/testdata/la311/myla311_2018_sample.csv.gz}"
REAL_CSV="$DIR/la311_real2018_${ROWS}.csv"
SECTIONS="${BENCH_SECTIONS:-la311 la311real crime}"
for s in $SECTIONS; do
  case "$s" in
    la311|la311real|crime) ;;
    *) echo "bench-ingest: unknown section '$s' in BENCH_SECTIONS (known: la311 la311real crime)" >&2; exit 1 ;;
  esac
done
has() { case " $SECTIONS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
CIVIC="${CARGO_TARGET_DIR:-$ROOT/target}/release/civic"
mkdir -p "$DIR"
# GNU time and the pinned DuckDB (sets TIME and PYTHON).
. "$ROOT/scripts/bench-env.sh"

if [ "${BENCH_SKIP_BUILD:-0}" = 1 ]; then
  echo "== BENCH_SKIP_BUILD=1: using $CIVIC as built" >&2
  [ -x "$CIVIC" ] || { echo "bench-ingest: $CIVIC is not built" >&2; exit 1; }
else
  echo "== building civic (release)" >&2
  (cd "$ROOT" && cargo build --release -p civic)
fi

if has la311 && [ ! -f "$CSV" ]; then
  echo "== generating $ROWS rows into $CSV" >&2
  "$CIVIC" gen-la311 --rows "$ROWS" --seed "$SEED" --year "$YEAR" --out "$CSV.tmp"
  mv "$CSV.tmp" "$CSV"
fi
if has la311real && [ ! -f "$REAL_CSV" ]; then
  echo "== expanding $REAL_SAMPLE to $ROWS rows into $REAL_CSV" >&2
  "$PYTHON" "$ROOT/scripts/bench_ingest.py" expand "$REAL_SAMPLE" "$REAL_CSV.tmp" "$ROWS"
  mv "$REAL_CSV.tmp" "$REAL_CSV"
fi
if has crime && [ ! -f "$CRIME_CSV" ]; then
  echo "== generating $ROWS lapd_crime rows ($CRIME_YEARS) into $CRIME_CSV" >&2
  "$CIVIC" gen --dataset lapd_crime --rows "$ROWS" --seed "$SEED" --year "$CRIME_YEARS" --out "$CRIME_CSV.tmp"
  mv "$CRIME_CSV.tmp" "$CRIME_CSV"
fi

# Both tools read the CSV from the page cache: one untimed read first, so round 1's first run (civic) does not
# pay for the disk alone (a 20M-row run in between can have evicted the file).
warm() {
  echo "== warming the page cache with one untimed read of $1" >&2
  cat "$1" > /dev/null
  show_load
}

status=0
if has la311; then
  warm "$CSV"
  "$PYTHON" "$ROOT/scripts/bench_ingest.py" \
    --civic "$CIVIC" --csv "$CSV" --rows "$ROWS" --dir "$DIR" --runs "$RUNS" \
    --budget "$BUDGET" --duckdb-limit "$DUCKDB_EQUAL_LIMIT" --threads "$(nproc)" \
    --target-wall-ratio "$TARGET_WALL_RATIO" --target-rss-mib "$TARGET_RSS_MIB" \
    --target-bytes-ratio "$TARGET_BYTES_RATIO" --label la311 || status=$?
fi
if has la311real; then
  warm "$REAL_CSV"
  "$PYTHON" "$ROOT/scripts/bench_ingest.py" \
    --civic "$CIVIC" --csv "$REAL_CSV" --rows "$ROWS" --dir "$DIR" --runs "$RUNS" \
    --budget "$BUDGET" --duckdb-limit "$DUCKDB_EQUAL_LIMIT" --threads "$(nproc)" \
    --target-wall-ratio "$TARGET_WALL_RATIO" --target-rss-mib "$TARGET_RSS_MIB" \
    --target-bytes-ratio "$TARGET_BYTES_RATIO" --label la311real || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
fi
if has crime; then
  warm "$CRIME_CSV"
  "$PYTHON" "$ROOT/scripts/bench_ingest_crime.py" \
    --civic "$CIVIC" --csv "$CRIME_CSV" --rows "$ROWS" --dir "$DIR" --runs "$RUNS" \
    --datasets "$ROOT/datasets" --budget "$BUDGET" --threads "$(nproc)" \
    --target-geo-overhead-pct "$TARGET_GEO_OVERHEAD_PCT" || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
fi
exit "$status"
