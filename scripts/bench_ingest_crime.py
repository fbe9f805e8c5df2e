"""The crime section of scripts/bench-ingest.sh (which builds civic, makes the CSV and sets the targets):
what the geo partition rule's lookups cost in `civic ingest`.

The generated LAPD crime CSV has no district column. BENCH_RUNS rounds, each alternating:
  (a) civic ingest of the real `lapd_crime` dataset: each row's council district from its LAT/LON on its
      DATE OCC (an R-tree point-in-polygon lookup in the boundary lines in force on that date);
  (b) civic ingest of the same file with a temporary catalog (`--catalog`) holding a copy of
      datasets/lapd_crime/ whose dataset.yaml partitions by the plain `AREA` column (integer 1..21): the
      same reading, routing and writing, without the lookups;
  (c) DuckDB's tuned COPY ... PARTITION_BY (AREA) of the same file (the la311 section's settings).
Prints min and median of wall time, rows/s and peak RSS of each, the lookup overhead (a over b, median
walls and per round; CPU seconds too), reads (a)'s output back with DuckDB (row count = the manifest's rows_written,
per-partition counts = the manifest's) and exits 1 naming every missed target.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import LoadLog, Targets, Tool, log, min_median, run_timed, tree_bytes  # noqa: E402
from bench_ingest import duckdb_run  # noqa: E402

DATASET = "lapd_crime"
PLAIN_PARTITION = """\
# Benchmark copy (scripts/bench_ingest_crime.py): partitioned by the plain AREA column (LAPD's 21 areas)
# instead of the geo rule, to time the same ingestion without district lookups.
partition:
  column: AREA
  values:
    kind: integer_range
    min: 1
    max: 21
  missing: __missing__
"""


def plain_partition_yaml(text, path):
    """`text` (a dataset.yaml) with its top-level `partition:` block replaced by PLAIN_PARTITION."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip() == "partition:"]
    if len(starts) != 1:
        raise SystemExit(f"bench-ingest: {path}: expected one top-level 'partition:' line, found {len(starts)}")
    start = end = starts[0]
    end += 1
    # The block runs to the next top-level key; comments or blank lines just before that key stay with it.
    while end < len(lines) and (lines[end].startswith((" ", "\t", "#")) or not lines[end].strip()):
        end += 1
    while end - 1 > start and (lines[end - 1].startswith("#") or not lines[end - 1].strip()):
        end -= 1
    return "".join(lines[:start]) + PLAIN_PARTITION + "".join(lines[end:])


def make_plain_catalog(datasets_dir, parent):
    """A temporary catalog dir holding a copy of datasets/lapd_crime/ partitioned by AREA."""
    src = os.path.join(datasets_dir, DATASET)
    catalog = tempfile.mkdtemp(prefix="catalog-area-", dir=parent)
    shutil.copytree(src, os.path.join(catalog, DATASET))
    yaml_path = os.path.join(catalog, DATASET, "dataset.yaml")
    with open(yaml_path) as f:
        text = plain_partition_yaml(f.read(), os.path.join(src, "dataset.yaml"))
    with open(yaml_path, "w") as f:
        f.write(text)
    return catalog


class CivicTool(Tool):
    """A civic variant: also the CPU seconds (user + system) of each run, less sensitive to other load."""

    def __init__(self, name):
        super().__init__(name)
        self.cpu = []


def civic_run(args, i, tool, tag, catalog=None):
    """One `civic ingest` of the crime CSV into a fresh store; returns (manifest path, manifest) or None."""
    store = os.path.join(args.dir, f"store-crime-{tag}")
    shutil.rmtree(store, ignore_errors=True)
    cmd = [args.civic, "ingest", "--dataset", DATASET, "--input", args.csv, "--store", store,
           "--run-id", "bench", "--memory-budget", args.budget]
    if catalog:
        cmd += ["--catalog", catalog]
    t = run_timed(cmd, os.path.join(args.dir, f"time-crime-{tag}-{i}.txt"))
    if t.returncode != 0:
        err = t.stderr.strip().splitlines()
        reason = err[-1] if err else f"exit {t.returncode}"
        log(t.stderr)
        tool.failures.append(f"run {i}: exit {t.returncode}: {reason[:300]}")
        return None
    path = t.stdout.strip().splitlines()[-1]
    with open(path) as f:
        manifest = json.load(f)
    out = tree_bytes(os.path.join(store, "data", "raw"), ".parquet")
    tool.add(t.wall_s, t.rss_mib, out)
    tool.cpu.append(t.cpu_s)
    log(f"   civic ({tag}) run {i}: {t.wall_s:7.2f} s wall, {t.cpu_s:7.2f} s CPU, {t.rss_mib:7.1f} MiB peak RSS, "
        f"{out:,} bytes, "
        f"{manifest['rows_written']:,} rows written, {manifest['rows_quarantined']:,} quarantined, "
        f"{len(manifest['partitions'])} partitions")
    return path, manifest


def read_back(args, manifest):
    """(a)'s output read by DuckDB as hive partitions: total = rows_written, per-partition = the manifest's."""
    import duckdb

    root = os.path.join(args.dir, "store-crime-geo", "data", "raw", DATASET, "run=bench")
    got = dict(duckdb.sql(
        f"SELECT cd, count(*) FROM read_parquet('{root}/*/*.parquet', hive_partitioning = true, "
        f"hive_types_autocast = false) GROUP BY cd"
    ).fetchall())
    got = {str(k): v for k, v in got.items()}
    want = {p["value"]: p["rows"] for p in manifest["partitions"]}
    total = sum(got.values())
    return total, got == want and total == manifest["rows_written"], got, want


def overhead_pct(geo, plain):
    return (geo / plain - 1.0) * 100.0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--civic", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--datasets", required=True, help="the repository's datasets/ (the copy for (b) comes from it)")
    p.add_argument("--budget", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--target-geo-overhead-pct", type=float, required=True)
    args = p.parse_args()

    csv_bytes = os.path.getsize(args.csv)
    catalog = make_plain_catalog(args.datasets, args.dir)
    geo = CivicTool(f"civic ingest, geo rule (--memory-budget {args.budget})")
    plain = CivicTool("civic ingest, AREA column (same budget)")
    duck = Tool("duckdb COPY PARTITION_BY (AREA)")
    rounds = []  # (geo wall, plain wall) of rounds where both ran
    geo_manifest = plain_manifest = None
    load = LoadLog()
    try:
        for i in range(1, args.runs + 1):
            log(f"== crime round {i}/{args.runs}: civic (geo rule), civic (AREA column), duckdb (AREA)")
            g = civic_run(args, i, geo, "geo")
            c = civic_run(args, i, plain, "area", catalog)
            if g and c:
                rounds.append((geo.walls[-1], plain.walls[-1]))
            # The read-back is of the last geo run's store: a failed last run leaves none to read.
            geo_manifest = g[1] if g else None
            plain_manifest = c[1] if c else plain_manifest
            duckdb_run(args, i, duck, None, column="AREA", tag="crime")
    finally:
        shutil.rmtree(catalog, ignore_errors=True)
    load_text = load.summary()

    back = None
    if geo_manifest:
        log("== read-back of civic's geo output (last run) with DuckDB as hive partitions vs the manifest")
        total, ok, got, want = read_back(args, geo_manifest)
        back = (total, ok)
        log(f"   {total:,} rows read back, per-partition counts match the manifest" if ok
            else f"   MISMATCH: {total:,} rows read back vs {geo_manifest['rows_written']:,} written; "
                 f"{got} vs {want}")

    print()
    print(f"crime input: {args.csv} ({args.rows:,} rows, {csv_bytes:,} bytes); {args.runs} alternating rounds; "
          f"{os.cpu_count()} cores")
    print(load_text)
    print("civic: GNU time wall of the whole process; duckdb: perf_counter around the COPY after import "
          "(process wall in brackets); peak RSS: GNU time, whole process; rows/s = input rows / median wall")
    print(f"{'tool':<46} {'ok':>4} {'wall min':>9} {'wall med':>9} {'rows/s med':>11} "
          f"{'RSS min':>9} {'RSS med':>9} {'bytes med':>14}")
    for tool in (geo, plain, duck):
        ok = f"{len(tool.walls)}/{args.runs}"
        if not tool.walls:
            print(f"{tool.name:<46} {ok:>4}  failed: {'; '.join(tool.failures)}")
            continue
        wmin, wmed = min_median(tool.walls)
        rmin, rmed = min_median(tool.rss)
        print(f"{tool.name:<46} {ok:>4} {wmin:8.2f}s {wmed:8.2f}s {args.rows / wmed:11,.0f} "
              f"{rmin:6.1f}MiB {rmed:6.1f}MiB {min_median(tool.bytes)[1]:14,.0f}")
        if tool.process_walls:
            pmin, pmed = min_median(tool.process_walls)
            print(f"{'':<46} {'':>4} [{pmin:7.2f}s] [{pmed:7.2f}s] process wall  ({tool.note})")
        for f in tool.failures:
            print(f"{'':<46} failed {f}")
    for name, m in (("geo rule", geo_manifest), ("AREA column", plain_manifest)):
        if m:
            print(f"civic, {name}: {m['rows_read']:,} rows read = {m['rows_written']:,} written + "
                  f"{m['rows_quarantined']:,} quarantined, {len(m['partitions'])} partitions")

    t = Targets()
    if geo.walls and plain.walls:
        gw, pw = min_median(geo.walls)[1], min_median(plain.walls)[1]
        per_round = ", ".join(f"{overhead_pct(g, c):+.1f} %" for g, c in rounds)
        print(f"lookup overhead (geo rule over AREA column): {overhead_pct(gw, pw):+.1f} % of median wall "
              f"({gw:.2f} s vs {pw:.2f} s); per round: {per_round}")
        if duck.walls:
            dw = min_median(duck.walls)[1]
            print(f"civic with the geo rule vs DuckDB's plain AREA partitioning: {gw / dw:.2f}x DuckDB's median "
                  f"COPY ({gw:.2f} s vs {dw:.2f} s)")
        gc, pc = min_median(geo.cpu)[1], min_median(plain.cpu)[1]
        print(f"lookup overhead in CPU time (user + system, less sensitive to other load): "
              f"{overhead_pct(gc, pc):+.1f} % of median CPU ({gc:.2f} s vs {pc:.2f} s)")
        t.check(overhead_pct(gw, pw) <= args.target_geo_overhead_pct,
                f"lookups: civic's median wall with the geo rule {gw:.2f} s <= "
                f"(1 + {args.target_geo_overhead_pct:g} %) x with the AREA column {pw:.2f} s "
                f"[{overhead_pct(gw, pw):+.1f} %]")
    else:
        t.not_measured(f"lookups: geo rule <= +{args.target_geo_overhead_pct:g} % wall over the AREA column")
    if geo_manifest:
        m = geo_manifest
        t.check(m["rows_read"] == m["rows_written"] + m["rows_quarantined"],
                f"accounting: geo rule rows_read {m['rows_read']:,} = written {m['rows_written']:,} + "
                f"quarantined {m['rows_quarantined']:,}")
    if back is not None:
        t.check(back[1], f"read-back: DuckDB reads {back[0]:,} rows of civic's geo partitions = rows_written "
                         f"{geo_manifest['rows_written']:,}, per-partition counts = the manifest's")
    else:
        t.not_measured("read-back of civic's geo output (the last geo run failed)")
    t.print("bench-ingest crime")
    return t.exit_code()


if __name__ == "__main__":
    sys.exit(main())
