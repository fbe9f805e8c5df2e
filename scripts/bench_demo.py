"""The runs of scripts/bench-demo.sh (which builds civic and sets the targets).

`runs` cold runs of `civic demo --rows N --fresh`, each in a new temporary store (generation of the input
included), then one more run in the last run's store: it reuses the input, finds the manifest and the
layers done and appends no event. Wall time and peak RSS from GNU time for the whole process; output
bytes are the store's size without the generated input (inputs/).
"""

import argparse
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import LoadLog, Targets, log, min_median, run_timed, tree_bytes  # noqa: E402

# Rows of the demo's stage table (wall time of each stage) and of its layer table (the layer's summed job time).
STAGE = re.compile(r"^(generate|ingest|process|correlate|report)\s.*?\s(\d+\.\d)s\s")
LAYER = re.compile(r"^(transform|analyze)\s+\d+\s+\d+\s+\d+\s.*?\s(\d+\.\d)s\s")
NEW_EVENTS = re.compile(r"^ledger: (\d+) event\(s\) for \S+ \((\d+) new in this run\)")


def demo(args, store, fresh, label):
    cmd = [args.civic, "demo", "--rows", str(args.rows), "--store", store, *args.extra]
    if fresh:
        cmd.append("--fresh")
    t = run_timed(cmd, os.path.join(os.path.dirname(store), f"time-{label}.txt"), cwd=args.root)
    # One stage and layer table per dataset: times are summed over the datasets, events too.
    stages = {}
    for m in filter(None, map(STAGE.match, t.stdout.splitlines())):
        stages[m.group(1)] = round(stages.get(m.group(1), 0.0) + float(m.group(2)), 1)
    for m in filter(None, map(LAYER.match, t.stdout.splitlines())):
        key = m.group(1) + " jobs"
        stages[key] = round(stages.get(key, 0.0) + float(m.group(2)), 1)
    found = [m for m in map(NEW_EVENTS.match, t.stdout.splitlines()) if m]
    events = (sum(int(m.group(1)) for m in found), sum(int(m.group(2)) for m in found)) if found else None
    out = tree_bytes(store, skip_dirs=("inputs",)) if os.path.isdir(store) else 0
    ok = t.returncode == 0 and "accounting: every layer adds up" in t.stdout
    log(f"   {label}: exit {t.returncode}, {t.wall_s:6.2f} s wall, {t.rss_mib:6.1f} MiB peak RSS, "
        f"{out:,} bytes in the store; stages {stages}"
        + (f"; ledger {events[0]} events, {events[1]} new" if events else ""))
    if t.returncode != 0:
        log(t.stderr[-4000:])
    return t, stages, events, out, ok


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--civic", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--keep", action="store_true")
    p.add_argument("--target-wall-s", type=float, required=True)
    p.add_argument("--target-correlate-share", type=float, default=0.10)
    p.add_argument("extra", nargs="*", help="more `civic demo` arguments")
    args = p.parse_args()

    work = tempfile.mkdtemp(prefix="civic-bench-demo.")
    load = LoadLog()
    cold = []
    store = None
    try:
        for i in range(1, args.runs + 1):
            store = os.path.join(work, f"store-{i}")
            log(f"== cold run {i}/{args.runs}: civic demo --rows {args.rows} --fresh --store {store}")
            cold.append(demo(args, store, True, f"cold-{i}"))
        log(f"== same-store rerun in {store} (no --fresh): nothing new to do")
        rerun = demo(args, store, False, "rerun")
        load_text = load.summary()

        ok_runs = [r for r in cold if r[4]]
        print()
        print(f"civic demo, {args.rows:,} rows: {args.runs} cold runs (fresh store each) and 1 same-store rerun; "
              f"{os.cpu_count()} cores")
        print(load_text)
        print(f"{'run':<28} {'ok':>4} {'wall min':>9} {'wall med':>9} {'RSS min':>9} {'RSS med':>9} "
              f"{'bytes min':>13} {'bytes med':>13}")
        if ok_runs:
            wmin, wmed = min_median([r[0].wall_s for r in ok_runs])
            rmin, rmed = min_median([r[0].rss_mib for r in ok_runs])
            bmin, bmed = min_median([r[3] for r in ok_runs])
            print(f"{'civic demo (cold)':<28} {len(ok_runs)}/{args.runs} {wmin:8.2f}s {wmed:8.2f}s "
                  f"{rmin:6.1f}MiB {rmed:6.1f}MiB {bmin:13,} {bmed:13,.0f}")
            for name in ["generate", "ingest", "process", "transform jobs", "analyze jobs", "correlate"]:
                vals = [r[1][name] for r in ok_runs if name in r[1]]
                if vals:
                    smin, smed = min_median(vals)
                    print(f"{'  ' + name:<28} {'':>4} {smin:8.2f}s {smed:8.2f}s")
            print("  (stage wall times from the demo's stage table; `jobs`: the layer's job times added up)")
        r = rerun
        new = r[2][1] if r[2] else "?"  # (events, new events) summed over the datasets
        print(f"{'civic demo (same-store rerun)':<28} {'1/1' if r[4] else '0/1':>4} {r[0].wall_s:8.2f}s "
              f"{'':>9} {r[0].rss_mib:6.1f}MiB {'':>9} {r[3]:13,}  {new} new event(s)")

        # The summary of the median cold run, for the per-layer, accounting and ledger numbers.
        if ok_runs:
            median_run = sorted(ok_runs, key=lambda x: x[0].wall_s)[len(ok_runs) // 2]
            print()
            print(f"summary printed by the median cold run ({median_run[0].wall_s:.2f} s):")
            print(median_run[0].stdout.rstrip())
            print()
            print("summary printed by the same-store rerun:")
            print(r[0].stdout.rstrip())

        t = Targets()
        if ok_runs and len(ok_runs) == args.runs:
            worst = max(x[0].wall_s for x in ok_runs)
            t.check(worst < args.target_wall_s,
                    f"wall: every cold demo run at {args.rows:,} rows under {args.target_wall_s:g} s "
                    f"(slowest {worst:.2f} s)")
        else:
            t.not_measured(f"wall: cold demo under {args.target_wall_s:g} s ({args.runs - len(ok_runs)} run(s) failed)")
        if ok_runs and all("correlate" in x[1] for x in ok_runs):
            share = max(x[1]["correlate"] / x[0].wall_s for x in ok_runs)
            t.check(share < args.target_correlate_share,
                    f"correlate: the correlate stage under {args.target_correlate_share:.0%} of the demo's wall time "
                    f"in every cold run (largest share {share:.1%})")
        else:
            t.not_measured("correlate: no correlate stage in the cold runs (fewer than two datasets?)")
        t.check(r[4] and r[2] is not None and r[2][1] == 0,
                f"rerun: the same-store rerun succeeds and appends no event ({new} new)")
        t.print("bench-demo")
        return t.exit_code()
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
