# Sourced by the bench-*.sh scripts (not run on its own): GNU time for peak RSS, and the pinned DuckDB in
# a project-local virtualenv. Expects ROOT, DUCKDB_PIN and PYTHON (empty: use .venv-bench) to be set, and
# sets TIME and PYTHON.
TIME=/usr/bin/time
if [ ! -x "$TIME" ] && command -v apt-get >/dev/null; then
  echo "== installing GNU time (peak RSS) with apt-get" >&2
  { apt-get install -y -qq time || { apt-get update -qq && apt-get install -y -qq time; }; } >/dev/null
fi
[ -x "$TIME" ] || { echo "$(basename "$0"): $TIME is needed (apt-get install time)" >&2; exit 1; }

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
"$PYTHON" -c 'import duckdb' || { echo "$(basename "$0"): duckdb is not importable with $PYTHON" >&2; exit 1; }

# Prints the load and any compiler running now (other builds share the cores).
show_load() {
  echo "== load while benchmarking (other compilers/builds share the cores when listed):" >&2
  uptime >&2
  ps -eo pid,pcpu,comm --sort=-pcpu | awk 'NR == 1 || $3 ~ /^(cargo|rustc|cc|cc1|ld|clang)$/' | head -8 >&2
}
