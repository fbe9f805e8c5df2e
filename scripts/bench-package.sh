#!/usr/bin/env bash
# Size of the Lambda packages as deployed: every function crate (functions/*) built by cargo-lambda in one
# invocation with the `lambda` profile (Cargo.toml), exactly as `infra-gen deploy --artifacts` builds them (infra-gen/src/deploy/artifacts.rs),
# then each `bootstrap.zip`'s size and its unzipped `bootstrap`'s. Exits 1 naming every zip above the target.
#
# cargo-lambda and zig (its cross linker) come from the project-local .venv-lambda (`make bench-package`
# installs them from requirements/lambda.txt and puts the venv on PATH).
# Environment: TARGET_ZIP_BYTES (default 6000000), BENCH_ARCH (arm64, the architecture the manifests declare;
# x86_64 to measure the host's), SKIP_BUILD=1 measures the zips already built.
set -euo pipefail

# --- target (issue 15) -----------------------------------------------------------------------------
TARGET_ZIP_BYTES="${TARGET_ZIP_BYTES:-6000000}"   # every function's bootstrap.zip at most this many bytes
# ----------------------------------------------------------------------------------------------------

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ARCH="${BENCH_ARCH:-arm64}"
cd "$ROOT"

crates=()
for manifest in functions/*/Cargo.toml; do
  crates+=("$(sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest" | head -1)")
done
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"

cmd=(cargo lambda build --profile lambda "--$ARCH" --output-format zip)
for c in "${crates[@]}"; do cmd+=(-p "$c"); done

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  if [ "$ARCH" = arm64 ] && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    echo "== rustup target add aarch64-unknown-linux-gnu" >&2
    rustup target add aarch64-unknown-linux-gnu
  fi
  command -v cargo-lambda >/dev/null || {
    echo "bench-package: cargo-lambda is not on PATH: run 'make bench-package' (installs it into .venv-lambda)" >&2
    exit 1
  }
  echo "== ${cmd[*]}" >&2
  start=$(date +%s)
  "${cmd[@]}"
  echo "== built in $(( $(date +%s) - start )) s" >&2
fi

echo "bench-package: $(uname -m) host, $(nproc) cores, $(rustc --version | cut -d' ' -f1-2), $(cargo lambda --version 2>/dev/null || echo cargo-lambda), --$ARCH"
echo "command: ${cmd[*]}"
printf '%-12s %12s %9s %14s  %s\n' function zip_bytes zip_MB bootstrap_MB ""
failed=()
for c in "${crates[@]}"; do
  zip="$target_dir/lambda/$c/bootstrap.zip"
  if [ ! -f "$zip" ]; then
    echo "bench-package: $zip is missing (build it without SKIP_BUILD=1)" >&2
    failed+=("$c (missing)")
    continue
  fi
  bytes=$(stat -c %s "$zip")
  unzipped=$(python3 -c 'import sys,zipfile; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist()))' "$zip")
  verdict=ok
  if [ "$bytes" -gt "$TARGET_ZIP_BYTES" ]; then
    verdict="OVER the $TARGET_ZIP_BYTES-byte target"
    failed+=("$c ($bytes bytes)")
  fi
  awk -v c="$c" -v b="$bytes" -v u="$unzipped" -v v="$verdict" \
    'BEGIN { printf "%-12s %12d %9.2f %14.2f  %s\n", c, b, b / 1e6, u / 1e6, v }'
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "bench-package: FAILED: above $TARGET_ZIP_BYTES bytes: ${failed[*]}" >&2
  exit 1
fi
echo "bench-package: every zip at most $TARGET_ZIP_BYTES bytes"
