#!/usr/bin/env bash
# The founding promise, tested end to end: in a copy of the project, rename the `raw` and `canonical` key
# templates in prefixes.yaml and run `infra-gen codegen` -- nothing else. A pipeline built from that copy must
# then write every object under the new names, and every object must be a declared object of prefixes.yaml.
#
# The copy builds in its own target dir, seeded from this checkout's debug build, so only the project's own
# crates recompile (a few minutes), and this checkout's binaries are left alone.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work="$top/target/rename-check"
src="$work/src"
target_dir="${CARGO_TARGET_DIR:-$top/target}"
infra_gen="$target_dir/debug/infra-gen"
[ -x "$infra_gen" ] || { echo "rename-check: $infra_gen is missing; run 'cargo build --workspace' first" >&2; exit 2; }

rm -rf "$work"
mkdir -p "$src"
# Tracked and new (not ignored) files: what a clone of this working tree would hold.
(cd "$top" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done) | (cd "$top" && xargs -0 cp --parents -t "$src")

old_raw='key: "raw/{dataset}/run={run_id}/cd={partition}/"'
new_raw='key: "landing/{dataset}/run={run_id}/cd={partition}/"'
old_canonical='key: "canonical/{dataset}/year={year:u16}/cd={partition}/"'
new_canonical='key: "typed/{dataset}/year={year:u16}/cd={partition}/"'
for t in "$old_raw" "$old_canonical"; do
  grep -qF "$t" "$src/prefixes.yaml" || { echo "rename-check: prefixes.yaml has no line '$t'; update this script" >&2; exit 2; }
done
sed -i "s|$old_raw|$new_raw|; s|$old_canonical|$new_canonical|" "$src/prefixes.yaml"

# The one step a user takes after editing the manifest.
"$infra_gen" --root "$src" codegen

if [ -d "$target_dir/debug" ]; then
  mkdir -p "$work/target"
  cp -a "$target_dir/debug" "$work/target/debug"
fi
echo "rename-check: building the renamed copy"
(cd "$src" && CARGO_TARGET_DIR="$work/target" cargo build --workspace --quiet)

store="$work/store"
(cd "$src" && "$work/target/debug/civic" demo --rows 20000 --seed 5 --store "$store" >"$work/demo.log" 2>&1) || {
  echo "rename-check: civic demo failed in the renamed copy:" >&2; tail -40 "$work/demo.log" >&2; exit 1; }
"$work/target/debug/infra-gen" --root "$src" conform --store "$store" | tail -1

fail=0
for old in raw canonical; do
  if [ -e "$store/data/$old" ]; then
    echo "rename-check: objects still written under the old '$old/' prefix:" >&2
    find "$store/data/$old" -type f | head -5 >&2
    fail=1
  fi
done
for new in landing typed; do
  n=$(find "$store/data/$new" -type f 2>/dev/null | wc -l)
  if [ "$n" -eq 0 ]; then
    echo "rename-check: nothing written under the new '$new/' prefix" >&2
    fail=1
  fi
  echo "rename-check: $n object(s) under $new/"
done
[ "$fail" -eq 0 ] || exit 1
rm -rf "$work/target"
echo "rename-check: renaming raw/ and canonical/ in prefixes.yaml + infra-gen codegen moved every object"
