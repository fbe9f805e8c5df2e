#!/usr/bin/env bash
# Opens a findings report in headless Chromium (Debian's `chromium`, installed with apt-get when missing; the
# check fails when it cannot be had) and
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

# Chromium is required: when it is missing and cannot be installed, the check fails (exit 2) saying so;
# it never passes without having rendered the page.
missing() {
  echo "report-check: FAIL: headless Chromium is required and $1." >&2
  echo "report-check: install it (Debian: 'apt-get install chromium', which puts 'chromium' on PATH) and rerun." >&2
  exit 2
}
if ! command -v chromium >/dev/null 2>&1; then
  echo "report-check: chromium not found on PATH; installing Debian's chromium with apt-get" >&2
  command -v apt-get >/dev/null 2>&1 || missing "is not on PATH, and there is no apt-get to install it"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || missing "is not on PATH, and installing it needs root (no sudo here)"
    sudo="sudo"
  fi
  apt_log=$(mktemp)
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium; } >"$apt_log" 2>&1; then
    tail -20 "$apt_log" >&2
    missing "'apt-get install chromium' failed (its last lines are above)"
  fi
  rm -f "$apt_log"
  command -v chromium >/dev/null 2>&1 || missing "is still not on PATH after 'apt-get install chromium'"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ -z "$report" ]]; then
  cd "$(dirname "$0")/.."
  out=$(${CIVIC_BIN:-cargo run -q -p civic --} demo --rows 50000 --store "$work/store" 2>/dev/null)
  report=$(printf '%s\n' "$out" | sed -n 's/^.*; report //p' | tail -1)
fi
[[ -f "$report" ]] || { echo "report-check: no report at '$report'" >&2; exit 2; }
url="file://$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"

chrome=(chromium --headless --no-sandbox --disable-gpu --disable-background-networking
  --disable-component-update --disable-sync --no-first-run --hide-scrollbars)

if ! timeout 120 "${chrome[@]}" --user-data-dir="$work/profile" --enable-logging=stderr --v=0 \
  --dump-dom "$url" >"$work/dom.html" 2>"$work/chromium.log"; then
  tail -20 "$work/chromium.log" >&2
  echo "report-check: FAIL: chromium did not render $url (its last log lines are above)" >&2
  exit 1
fi

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
