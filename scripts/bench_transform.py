"""The runs of scripts/bench-transform.sh (which builds civic, ingests the run and sets the targets).

Rounds of: `civic transform` of the ingested run, then DuckDB's equivalent SELECT over the same raw
Parquet; the tools alternate within every round, so drift of the machine (other builds, page cache)
hits each tool alike. Before each civic run the pristine ingested store is copied (untimed) to a scratch
store, so every run transforms the same run from scratch (a completed layer would be reused).

civic's wall time is GNU time's for the whole `civic transform` process (catalog, worklist, fan-in and
roll-up included). DuckDB's is time.perf_counter() around the COPY inside its process, after
`import duckdb` and the SETs (Python start-up and import are not counted). Peak RSS is GNU time's for
the whole process of either. Output bytes are the `.parquet` files each tool wrote.

DuckDB's SELECT is the typing civic's transform does, without its normalization tables, quarantine,
coordinate checks and district lookup: `try_strptime` on the four timestamp columns, numeric casts
(CD and NC to SMALLINT, Latitude/Longitude to DOUBLE), and `COPY ... PARTITION_BY (year, CD)` as zstd
Parquet, with threads = cores and preserve_insertion_order = false.

    python bench_transform.py duckdb-select RAW_GLOB OUT TEMP_DIR THREADS   # one DuckDB run (child)
"""

import argparse
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import LoadLog, Targets, Tool, log, print_tools, min_median, run_timed, tree_bytes  # noqa: E402

# The raw columns DuckDB types (MyLA311 era B, as `civic gen-la311` writes them).
TIMESTAMPS = ("CreatedDate", "UpdatedDate", "ClosedDate", "ServiceDate")
TS_FORMAT = "%m/%d/%Y %I:%M:%S %p"
CASTS = {"CD": "SMALLINT", "NC": "SMALLINT", "Latitude": "DOUBLE", "Longitude": "DOUBLE"}


def duckdb_select(raw_glob, out, temp_dir, threads):
    """The child process: the typed COPY partitioned by year and district, timed after import; prints one
    JSON line."""
    import time

    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET temp_directory = '{temp_dir}'")
    limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    replace = [f"try_strptime(\"{c}\", '{TS_FORMAT}') AS \"{c}\"" for c in TIMESTAMPS]
    replace += [f"TRY_CAST(\"{c}\" AS {t}) AS \"{c}\"" for c, t in CASTS.items()]
    sql = f"""COPY (SELECT * REPLACE ({', '.join(replace)}),
                          year(try_strptime("CreatedDate", '{TS_FORMAT}')) AS year
                   FROM read_parquet('{raw_glob}', hive_partitioning = false))
              TO '{out}' (FORMAT parquet, PARTITION_BY (year, "CD"), COMPRESSION zstd)"""
    start = time.perf_counter()
    con.execute(sql).fetchall()
    copy_s = time.perf_counter() - start
    rows = con.execute(
        f"SELECT count(*) FROM read_parquet('{out}/*/*/*.parquet', hive_partitioning = false)"
    ).fetchall()[0][0]
    print(json.dumps({"copy_seconds": copy_s, "memory_limit": limit, "rows": rows,
                      "duckdb": duckdb.__version__}))


def civic_run(args, i, tool):
    """One `civic transform` of the run in a fresh copy of the ingested store; returns its summary line."""
    store = os.path.join(args.dir, "store-transform-civic")
    shutil.rmtree(store, ignore_errors=True)
    shutil.copytree(args.store, store)
    t = run_timed(
        [args.civic, "transform", "--run", args.run, "--store", store, "--dataset", "la311"],
        os.path.join(args.dir, f"time-transform-civic-{i}.txt"),
        cwd=args.root,
    )
    if t.returncode != 0:
        log(t.stderr[-4000:])
        tool.failures.append(f"run {i}: exit {t.returncode}")
        return None
    out = tree_bytes(os.path.join(store, "data", "canonical"), ".parquet")
    tool.add(t.wall_s, t.rss_mib, out)
    last = t.stdout.strip().splitlines()[-1] if t.stdout.strip() else ""
    log(f"   civic  run {i}: {t.wall_s:7.2f} s wall, {t.rss_mib:7.1f} MiB peak RSS, {out:,} bytes | {last}")
    return last


def duckdb_run(args, i, tool):
    out_dir = os.path.join(args.dir, "duckdb-transform-out")
    temp_dir = os.path.join(args.dir, "duckdb-transform-tmp")
    for d in (out_dir, temp_dir):
        shutil.rmtree(d, ignore_errors=True)
    os.makedirs(temp_dir)
    raw_glob = os.path.join(args.store, "data", "raw", "la311", f"run={args.run}", "*", "*.parquet")
    cmd = [sys.executable, os.path.abspath(__file__), "duckdb-select", raw_glob, out_dir, temp_dir,
           str(args.threads)]
    t = run_timed(cmd, os.path.join(args.dir, f"time-transform-duckdb-{i}.txt"))
    shutil.rmtree(temp_dir, ignore_errors=True)
    if t.returncode != 0:
        err = [line.strip() for line in t.stderr.strip().splitlines()]
        errors = [line for line in err if "Error" in line or "Exception" in line]
        reason = (errors or err or [f"exit {t.returncode}"])[-1]
        tool.failures.append(f"run {i}: {reason[:300]}")
        log(f"   duckdb run {i}: FAILED after {t.wall_s:.2f} s, {t.rss_mib:.1f} MiB: {reason[:300]}")
        return None
    info = json.loads(t.stdout.strip().splitlines()[-1])
    out = tree_bytes(out_dir, ".parquet")
    tool.add(info["copy_seconds"], t.rss_mib, out, t.wall_s)
    tool.note = f"duckdb {info['duckdb']}, memory_limit {info['memory_limit']}, threads {args.threads}"
    log(f"   duckdb run {i}: {info['copy_seconds']:7.2f} s COPY ({t.wall_s:.2f} s process), "
        f"{t.rss_mib:7.1f} MiB peak RSS, {out:,} bytes, {info['rows']:,} rows ({tool.note})")
    return info["rows"]


def accounting(args):
    """The last civic run's report: rows in = raw rows, rows out = canonical rows read back with DuckDB."""
    import duckdb

    store = os.path.join(args.dir, "store-transform-civic")
    report = os.path.join(store, "data", "runs", "la311", f"run={args.run}", "transform-report.json")
    with open(report) as f:
        r = json.load(f)
    raw = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{args.store}/data/raw/la311/run={args.run}/*/*.parquet', "
        "hive_partitioning = false)").fetchall()[0][0]
    canonical = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{store}/data/canonical/**/*.parquet', "
        "hive_partitioning = false)").fetchall()[0][0]
    ok = (r["rows_in"] == raw and r["rows_out"] == canonical
          and r["rows_in"] == r["rows_out"] + r["rows_quarantined"])
    text = (f"accounting: {raw:,} raw rows; civic's report {r['rows_in']:,} in = {r['rows_out']:,} out + "
            f"{r['rows_quarantined']:,} quarantined; {canonical:,} canonical rows read back")
    return ok, text


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "duckdb-select":
        raw_glob, out, temp_dir, threads = sys.argv[2:]
        duckdb_select(raw_glob, out, temp_dir, threads)
        return 0
    p = argparse.ArgumentParser()
    p.add_argument("--civic", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--store", required=True, help="the ingested store (copied for every civic run)")
    p.add_argument("--run", required=True)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--target-wall-ratio", type=float, required=True)
    p.add_argument("--target-rss-mib", type=float, required=True)
    args = p.parse_args()

    raw_bytes = tree_bytes(os.path.join(args.store, "data", "raw"), ".parquet")
    civic = Tool("civic transform")
    duck = Tool("duckdb COPY (SELECT typed) (default memory)")
    load = LoadLog()
    for i in range(1, args.runs + 1):
        log(f"== round {i}/{args.runs}: civic transform, duckdb")
        civic_run(args, i, civic)
        duckdb_run(args, i, duck)
    load_text = load.summary()

    ok_acc = None
    if civic.walls:
        ok_acc, acc_text = accounting(args)
        log(("   " if ok_acc else "   MISMATCH: ") + acc_text)

    print()
    print(f"input: raw run {args.run} ({args.rows:,} generated rows, {raw_bytes:,} bytes of raw Parquet); "
          f"{args.runs} alternating rounds; {os.cpu_count()} cores")
    print(load_text)
    print("civic: GNU time wall of the whole `civic transform` process; duckdb: perf_counter around the COPY "
          "after import (process wall in brackets); peak RSS: GNU time, whole process")
    print_tools((civic, duck), args.rows, args.runs)

    t = Targets()
    if civic.walls and duck.walls and not civic.failures:
        cw, dw = min_median(civic.walls)[1], min_median(duck.walls)[1]
        t.check(cw <= args.target_wall_ratio * dw,
                f"wall: civic transform median {cw:.2f} s <= {args.target_wall_ratio:g} x DuckDB's median "
                f"COPY {dw:.2f} s = {args.target_wall_ratio * dw:.2f} s [{cw / dw:.2f}x]")
    else:
        t.not_measured("wall: civic transform <= DuckDB's typed COPY")
    if civic.rss and not civic.failures:
        peak = max(civic.rss)
        t.check(peak <= args.target_rss_mib,
                f"memory: civic transform peak RSS {peak:.1f} MiB (highest of {len(civic.rss)} runs) <= "
                f"{args.target_rss_mib:g} MiB")
    else:
        t.not_measured(f"memory: civic transform peak RSS <= {args.target_rss_mib:g} MiB (a civic run failed)")
    if ok_acc is not None:
        t.check(ok_acc, acc_text)
    t.print("bench-transform")
    return t.exit_code()


if __name__ == "__main__":
    sys.exit(main())
