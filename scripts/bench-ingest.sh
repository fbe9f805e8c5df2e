#!/usr/bin/env bash
# Benchmark of `civic ingest` (release build) on generated MyLA311-shaped CSV, partitioned by CD
# into zstd Parquet; prints rows/s, MB/s, peak RSS and output bytes, and the same for DuckDB's
# COPY ... (FORMAT parquet, PARTITION_BY (CD), COMPRESSION zstd) when `import duckdb` works.
#
# Environment: BENCH_ROWS (default 2000000), BENCH_SEED (1), BENCH_YEAR (2023),
# BENCH_BUDGET (128MiB), PYTHON (default: .venv-bench with duckdb + pyarrow, created here). The CSV is generated once into target/bench/.
# A 20M-row run (memory stays flat): BENCH_ROWS=20000000 scripts/bench-ingest.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROWS="${BENCH_ROWS:-2000000}"
SEED="${BENCH_SEED:-1}"
YEAR="${BENCH_YEAR:-2023}"
BUDGET="${BENCH_BUDGET:-128MiB}"
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

# DuckDB and pyarrow for the side-by-side run, in a project-local virtualenv (PYTHON overrides).
if [ -z "$PYTHON" ]; then
  BENCH_VENV="$ROOT/.venv-bench"
  if [ ! -x "$BENCH_VENV/bin/python" ] || ! "$BENCH_VENV/bin/python" -c 'import duckdb, pyarrow' 2>/dev/null; then
    echo "== installing duckdb and pyarrow into $BENCH_VENV" >&2
    { python3 -m venv "$BENCH_VENV" && "$BENCH_VENV/bin/pip" install --quiet duckdb pyarrow; } ||
      echo "bench-ingest: could not install duckdb into $BENCH_VENV; the comparison will be skipped" >&2
  fi
  PYTHON="$BENCH_VENV/bin/python"
fi

echo "== building civic (release)" >&2
(cd "$ROOT" && cargo build --release -p civic)

if [ ! -f "$CSV" ]; then
  echo "== generating $ROWS rows into $CSV" >&2
  "$CIVIC" gen-la311 --rows "$ROWS" --seed "$SEED" --year "$YEAR" --out "$CSV.tmp"
  mv "$CSV.tmp" "$CSV"
fi
CSV_BYTES=$(stat -c %s "$CSV")

# Seconds from GNU time's "Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02.34".
wall_seconds() {
  grep 'Elapsed (wall clock)' "$1" | awk -F': ' '{print $2}' |
    awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }'
}
rss_kib() { grep 'Maximum resident set size' "$1" | awk -F': ' '{print $2}'; }

report() { # name wall rss_kib out_bytes
  awk -v n="$1" -v w="$2" -v r="$3" -v o="$4" -v rows="$ROWS" -v b="$CSV_BYTES" 'BEGIN {
    printf "%-8s %9.2f s %12.0f rows/s %8.1f MB/s %9.1f MiB peak RSS %12d output bytes\n",
      n, w, rows / w, b / w / 1e6, r / 1024, o }'
}

echo "== civic ingest ($ROWS rows, $(awk -v b="$CSV_BYTES" 'BEGIN{printf "%.0f", b/1e6}') MB, budget $BUDGET)" >&2
STORE="$DIR/store-civic"
rm -rf "$STORE"
"$TIME" -v -o "$DIR/time-civic.txt" "$CIVIC" ingest --dataset la311 --input "$CSV" \
  --store "$STORE" --run-id bench --memory-budget "$BUDGET" > "$DIR/civic.out" 2> "$DIR/civic.err"
tail -n 1 "$DIR/civic.err" >&2
MANIFEST="$(tail -n 1 "$DIR/civic.out")"
CIVIC_WALL=$(wall_seconds "$DIR/time-civic.txt")
CIVIC_RSS=$(rss_kib "$DIR/time-civic.txt")
CIVIC_OUT=$(find "$STORE/data/raw" -name '*.parquet' -printf '%s\n' | awk '{s += $1} END {print s + 0}')

DUCK=""
if "$PYTHON" -c 'import duckdb' 2>/dev/null; then
  echo "== duckdb COPY ... PARTITION_BY (CD)" >&2
  DUCK_OUT_DIR="$DIR/duckdb-out"
  rm -rf "$DUCK_OUT_DIR"
  "$TIME" -v -o "$DIR/time-duckdb.txt" "$PYTHON" - "$CSV" "$DUCK_OUT_DIR" <<'PY'
import sys, duckdb
csv, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute(f"""COPY (SELECT * FROM read_csv('{csv}', header = true, all_varchar = true,
                 ignore_errors = true))
               TO '{out}' (FORMAT parquet, PARTITION_BY (CD), COMPRESSION zstd)""")
PY
  DUCK_WALL=$(wall_seconds "$DIR/time-duckdb.txt")
  DUCK_RSS=$(rss_kib "$DIR/time-duckdb.txt")
  DUCK_OUT=$(find "$DUCK_OUT_DIR" -name '*.parquet' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  DUCK=1
  echo "== read-back of civic's output with DuckDB (hive partitions) vs the manifest" >&2
  "$PYTHON" - "$STORE/data/raw/la311/run=bench" "$MANIFEST" <<'PY'
import json, sys, duckdb
root, manifest = sys.argv[1], json.load(open(sys.argv[2]))
got = dict(duckdb.sql(f"SELECT cd, count(*) FROM read_parquet('{root}/*/*.parquet', hive_partitioning = true) GROUP BY cd").fetchall())
want = {p["value"]: p["rows"] for p in manifest["partitions"]}
got = {str(k): v for k, v in got.items()}
print("per-partition counts match the manifest" if got == want else f"MISMATCH: {got} vs {want}", file=sys.stderr)
sys.exit(0 if got == want else 1)
PY
else
  echo "== duckdb not importable with $PYTHON: skipping the DuckDB comparison" >&2
fi

echo
echo "input: $CSV ($ROWS rows, $CSV_BYTES bytes)"
report civic "$CIVIC_WALL" "$CIVIC_RSS" "$CIVIC_OUT"
if [ -n "$DUCK" ]; then
  report duckdb "$DUCK_WALL" "$DUCK_RSS" "$DUCK_OUT"
  awk -v cw="$CIVIC_WALL" -v dw="$DUCK_WALL" -v co="$CIVIC_OUT" -v dko="$DUCK_OUT" \
      -v cr="$CIVIC_RSS" -v dr="$DUCK_RSS" 'BEGIN {
    printf "civic/duckdb: wall %.2fx, peak RSS %.2fx, output bytes %.2fx\n", cw / dw, cr / dr, co / dko }'
fi
