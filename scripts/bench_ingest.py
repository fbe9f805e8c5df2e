"""The runs of scripts/bench-ingest.sh (which builds civic, makes the CSV and sets the targets).

Rounds of: civic ingest, DuckDB at its default memory limit, DuckDB at `SET memory_limit` equal to
civic's --memory-budget; the tools alternate within every round, so drift of the machine (other builds,
page cache, thermals) hits each tool alike. civic's wall time is GNU time's for the whole process;
DuckDB's is time.perf_counter() around the COPY inside its process, after `import duckdb` and the SETs
(Python start-up and import are not counted). Peak RSS is GNU time's for the whole process of either.

    python bench_ingest.py duckdb-copy CSV OUT TEMP_DIR THREADS COLUMN [MEMORY_LIMIT]   # one DuckDB run (child)
    python bench_ingest.py expand SAMPLE[.gz] OUT ROWS   # the la311real input (see expand())

The crime section (scripts/bench_ingest_crime.py) reuses `Tool` and `duckdb_run` with its own file and column.
"""

import argparse
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import LoadLog, Targets, Tool, log, print_tools, min_median, run_timed, tree_bytes  # noqa: E402


def duckdb_copy(csv, out, temp_dir, threads, column, memory_limit):
    """The child process: the tuned DuckDB COPY partitioned by `column`, timed after import; prints one
    JSON line."""
    import time

    import duckdb

    if not column.replace("_", "").isalnum():
        raise SystemExit(f"duckdb-copy: partition column {column!r} is not a plain identifier")

    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET temp_directory = '{temp_dir}'")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    start = time.perf_counter()
    con.execute(
        f"""COPY (SELECT * FROM read_csv('{csv}', header = true, all_varchar = true,
                                         ignore_errors = true))
            TO '{out}' (FORMAT parquet, PARTITION_BY ("{column}"), COMPRESSION zstd)"""
    )
    copy_s = time.perf_counter() - start
    print(json.dumps({"copy_seconds": copy_s, "memory_limit": limit, "duckdb": duckdb.__version__}))


def expand(sample, out, rows):
    """The la311real input: the rows of a real MyLA311 sample (plain or gzip) repeated in order until `rows`
    rows; copy k (k = 0, 1, ...) has its SRNumber's "1-" prefix replaced by "<k+1>-", so every SRNumber is
    unique and everything else is as published. The header is the sample's."""
    import csv
    import gzip

    opener = gzip.open if sample.endswith(".gz") else open
    with opener(sample, "rt", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        records = list(reader)
    sr = header.index("SRNumber")
    written = 0
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        copy = 0
        while written < rows:
            for rec in records:
                if written == rows:
                    break
                rec = list(rec)
                number = rec[sr].split("-", 1)[1] if "-" in rec[sr] else rec[sr]
                rec[sr] = f"{copy + 1}-{number}"
                w.writerow(rec)
                written += 1
            copy += 1
    log(f"   {written:,} rows ({copy} copies of {len(records):,}) into {out}")


def civic_run(args, i, tool):
    store = os.path.join(args.dir, "store-civic")
    shutil.rmtree(store, ignore_errors=True)
    t = run_timed(
        [args.civic, "ingest", "--dataset", "la311", "--input", args.csv, "--store", store,
         "--run-id", "bench", "--memory-budget", args.budget],
        os.path.join(args.dir, f"time-civic-{i}.txt"),
    )
    if t.returncode != 0:
        log(t.stderr)
        tool.failures.append(f"run {i}: exit {t.returncode}")
        return None
    out = tree_bytes(os.path.join(store, "data", "raw"), ".parquet")
    tool.add(t.wall_s, t.rss_mib, out)
    last = t.stderr.strip().splitlines()[-1] if t.stderr.strip() else ""
    log(f"   civic  run {i}: {t.wall_s:7.2f} s wall, {t.rss_mib:7.1f} MiB peak RSS, {out:,} bytes | {last}")
    return t.stdout.strip().splitlines()[-1]  # the manifest's path


def duckdb_run(args, i, tool, memory_limit, column="CD", tag=None):
    """One DuckDB COPY of args.csv partitioned by `column` (outputs under args.dir, named by `tag`)."""
    tag = tag or ("limited" if memory_limit else "default")
    out_dir = os.path.join(args.dir, f"duckdb-out-{tag}")
    temp_dir = os.path.join(args.dir, f"duckdb-tmp-{tag}")
    for d in (out_dir, temp_dir):
        shutil.rmtree(d, ignore_errors=True)
    os.makedirs(temp_dir)
    cmd = [sys.executable, os.path.abspath(__file__), "duckdb-copy", args.csv, out_dir, temp_dir,
           str(args.threads), column]
    if memory_limit:
        cmd.append(memory_limit)
    t = run_timed(cmd, os.path.join(args.dir, f"time-duckdb-{tag}-{i}.txt"))
    shutil.rmtree(temp_dir, ignore_errors=True)
    if t.returncode != 0:
        err = [line.strip() for line in t.stderr.strip().splitlines()]
        errors = [line for line in err if "Error" in line or "Exception" in line]
        reason = (errors or err or [f"exit {t.returncode}"])[-1]
        tool.failures.append(f"run {i}: {reason[:300]}")
        log(f"   duckdb ({tag}) run {i}: FAILED after {t.wall_s:.2f} s, {t.rss_mib:.1f} MiB: {reason[:300]}")
        return
    info = json.loads(t.stdout.strip().splitlines()[-1])
    out = tree_bytes(out_dir, ".parquet")
    tool.add(info["copy_seconds"], t.rss_mib, out, t.wall_s)
    tool.note = f"duckdb {info['duckdb']}, memory_limit {info['memory_limit']}, threads {args.threads}"
    log(f"   duckdb ({tag}) run {i}: {info['copy_seconds']:7.2f} s COPY ({t.wall_s:.2f} s process), "
        f"{t.rss_mib:7.1f} MiB peak RSS, {out:,} bytes ({tool.note})")


def read_back(args, manifest_path):
    """civic's output read by DuckDB as a hive-partitioned dataset: per-partition counts = the manifest's."""
    import duckdb

    root = os.path.join(args.dir, "store-civic", "data", "raw", "la311", "run=bench")
    with open(manifest_path) as f:
        manifest = json.load(f)
    got = dict(duckdb.sql(
        f"SELECT cd, count(*) FROM read_parquet('{root}/*/*.parquet', hive_partitioning = true) GROUP BY cd"
    ).fetchall())
    got = {str(k): v for k, v in got.items()}
    want = {p["value"]: p["rows"] for p in manifest["partitions"]}
    return got == want, got, want


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "duckdb-copy":
        csv, out, temp_dir, threads, column, *limit = sys.argv[2:]
        duckdb_copy(csv, out, temp_dir, threads, column, limit[0] if limit else None)
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "expand":
        sample, out, rows = sys.argv[2:]
        expand(sample, out, int(rows))
        return 0
    p = argparse.ArgumentParser()
    p.add_argument("--civic", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--budget", required=True)
    p.add_argument("--duckdb-limit", required=True, help="memory_limit of the equal-memory DuckDB run")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--target-wall-ratio", type=float, required=True)
    p.add_argument("--target-rss-mib", type=float, required=True)
    p.add_argument("--target-bytes-ratio", type=float, required=True)
    p.add_argument("--label", default="la311", help="section name in the targets' heading")
    args = p.parse_args()

    csv_bytes = os.path.getsize(args.csv)
    civic = Tool(f"civic ingest (--memory-budget {args.budget})")
    duck = Tool("duckdb COPY (default memory_limit)")
    duck_eq = Tool(f"duckdb COPY (memory_limit {args.duckdb_limit})")
    manifest = None
    load = LoadLog()
    for i in range(1, args.runs + 1):
        log(f"== round {i}/{args.runs}: civic, duckdb (default memory), duckdb (memory_limit {args.duckdb_limit})")
        m = civic_run(args, i, civic)
        manifest = m or manifest
        duckdb_run(args, i, duck, None)
        duckdb_run(args, i, duck_eq, args.duckdb_limit)

    load_text = load.summary()

    ok_back = None
    if manifest:
        log("== read-back of civic's output (last run) with DuckDB as hive partitions vs the manifest")
        ok_back, got, want = read_back(args, manifest)
        log("   per-partition counts match the manifest" if ok_back else f"   MISMATCH: {got} vs {want}")

    print()
    print(f"section {args.label}; input: {args.csv} ({args.rows:,} rows, {csv_bytes:,} bytes); {args.runs} alternating rounds; "
          f"{os.cpu_count()} cores")
    print(load_text)
    print("civic: GNU time wall of the whole process; duckdb: perf_counter around the COPY after import "
          "(process wall in brackets); peak RSS: GNU time, whole process")
    print_tools((civic, duck, duck_eq), args.rows, args.runs)

    t = Targets()
    if civic.walls and duck.walls:
        cw, dw = min_median(civic.walls)[1], min_median(duck.walls)[1]
        t.check(cw <= args.target_wall_ratio * dw,
                f"wall: civic median {cw:.2f} s <= {args.target_wall_ratio:g} x DuckDB's median COPY "
                f"{dw:.2f} s (tuned, default memory) = {args.target_wall_ratio * dw:.2f} s "
                f"[{cw / dw:.2f}x]")
    else:
        t.not_measured("wall: civic <= DuckDB (tuned, default memory)")
    if civic.rss and not civic.failures:
        peak = max(civic.rss)
        t.check(peak <= args.target_rss_mib,
                f"memory: civic peak RSS {peak:.1f} MiB (highest of {len(civic.rss)} runs) <= "
                f"{args.target_rss_mib:g} MiB at --memory-budget {args.budget}")
    else:
        t.not_measured(f"memory: civic peak RSS <= {args.target_rss_mib:g} MiB (a civic run failed)")
    if civic.bytes and duck.bytes:
        cb, db = min_median(civic.bytes)[1], min_median(duck.bytes)[1]
        t.check(cb <= args.target_bytes_ratio * db,
                f"bytes: civic raw output {cb:,.0f} <= {args.target_bytes_ratio:g} x DuckDB's {db:,.0f} "
                f"[{cb / db:.2f}x]")
    else:
        t.not_measured(f"bytes: civic raw output <= {args.target_bytes_ratio:g} x DuckDB's")
    if ok_back is not None:
        t.check(ok_back, "read-back: DuckDB reads civic's partitions with the manifest's per-partition counts")
    t.print(f"bench-ingest {args.label}")
    return t.exit_code()


if __name__ == "__main__":
    sys.exit(main())
