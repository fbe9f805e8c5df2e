#!/usr/bin/env bash
# Benchmark of `civic demo` (release build) at the default 1,500,000 generated rows, in a fresh temporary
# store: the whole pipeline (generate, ingest, transform, analyze, ledger, report). Prints the demo's summary,
# then wall time and peak RSS (GNU time when present; otherwise the demo's own VmHWM line).
#
# Environment: BENCH_ROWS (default 1500000), ARGS (more `civic demo` arguments), KEEP=1 keeps the store.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROWS="${BENCH_ROWS:-1500000}"
CIVIC="$ROOT/target/release/civic"
STORE="$(mktemp -d "${TMPDIR:-/tmp}/civic-bench-demo.XXXXXX")/store"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$(dirname "$STORE")"' EXIT

echo "== building civic (release)" >&2
(cd "$ROOT" && cargo build --release -p civic)

echo "== civic demo --rows $ROWS --fresh --store $STORE (2 runs would reuse the generated input; this is one cold run)" >&2
cd "$ROOT"
if [ -x /usr/bin/time ]; then
  # shellcheck disable=SC2086
  /usr/bin/time -v "$CIVIC" demo --rows "$ROWS" --fresh --store "$STORE" ${ARGS:-} 2> >(tee "$STORE.time" >&2)
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$STORE.time")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$STORE.time")
  echo "bench-demo: $ROWS rows, wall $wall, peak RSS $((rss / 1024)) MiB ($(nproc) cores)"
else
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$CIVIC" demo --rows "$ROWS" --fresh --store "$STORE" ${ARGS:-}
  end=$(date +%s.%N)
  echo "bench-demo: $ROWS rows, wall $(echo "$end - $start" | bc) s, peak RSS: see the demo's 'peak memory' line ($(nproc) cores)"
fi
