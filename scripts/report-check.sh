#!/usr/bin/env bash
# Opens a findings report in headless Chromium (Debian's `chromium`, installed with apt-get when missing) and
# checks that it rendered: the page's inline check script measured every `svg.chart` with a non-zero box and
# wrote `data-check="ok:N"` on <body>, and the page wrote nothing to the console (no uncaught error, no log).
#
# Usage: scripts/report-check.sh [REPORT.html] [--screenshot PNG]
#   Without REPORT, runs `civic demo --rows 50000` in a temp store and checks its report.
#   --screenshot PNG also saves a 1280x2000 screenshot of the page.
set -euo pipefail

report=""
shot=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --screenshot) shot="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) report="$1"; shift ;;
  esac
done

if ! command -v chromium >/dev/null 2>&1; then
  echo "report-check: installing Debian's chromium" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ -z "$report" ]]; then
  cd "$(dirname "$0")/.."
  out=$(${CIVIC_BIN:-cargo run -q -p civic --} demo --rows 50000 --store "$work/store" 2>/dev/null)
  report=$(printf '%s\n' "$out" | sed -n 's/^run .*; report //p' | tail -1)
fi
[[ -f "$report" ]] || { echo "report-check: no report at '$report'" >&2; exit 2; }
url="file://$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"

chrome=(chromium --headless --no-sandbox --disable-gpu --disable-background-networking
  --disable-component-update --disable-sync --no-first-run --hide-scrollbars)

timeout 120 "${chrome[@]}" --user-data-dir="$work/profile" --enable-logging=stderr --v=0 \
  --dump-dom "$url" >"$work/dom.html" 2>"$work/chromium.log"

check=$( (grep -o 'data-check="[^"]*"' "$work/dom.html" || true) | head -1 | sed 's/data-check="\(.*\)"/\1/')
charts=$( (grep -o '<svg class="chart"' "$report" || true) | wc -l)
status=0
if [[ "$check" != "ok:$charts" || "$charts" -eq 0 ]]; then
  echo "report-check: FAIL: charts measured '${check:-<script did not run>}', page has $charts chart(s)" >&2
  status=1
fi
if grep -E 'CONSOLE|Uncaught' "$work/chromium.log" >"$work/console.txt"; then
  echo "report-check: FAIL: the page wrote to the console:" >&2
  cat "$work/console.txt" >&2
  status=1
fi

if [[ -n "$shot" ]]; then
  mkdir -p "$(dirname "$shot")"
  timeout 120 "${chrome[@]}" --user-data-dir="$work/profile-shot" --window-size=1280,2000 \
    --screenshot="$(realpath -m "$shot")" "$url" >/dev/null 2>&1
  [[ -s "$shot" ]] || { echo "report-check: FAIL: no screenshot written to $shot" >&2; status=1; }
fi

if [[ $status -eq 0 ]]; then
  echo "report-check: ok: $charts chart(s) rendered with a non-zero size, no console output ($report)"
fi
exit $status
