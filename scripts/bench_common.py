"""Shared parts of the benchmark scripts (stdlib only): running a command under GNU time,
min/median over repeated runs, and the target check that decides the exit code.

Used by scripts/bench_ingest.py and scripts/bench_demo.py; not a benchmark on its own.
"""

import os
import statistics
import subprocess
import sys

GNU_TIME = "/usr/bin/time"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Timed:
    """One process run under `GNU time -v`: wall seconds, CPU seconds (user + system) and peak RSS of the
    whole process."""

    def __init__(self, returncode, wall_s, rss_kib, stdout, stderr, cpu_s=None):
        self.returncode = returncode
        self.wall_s = wall_s
        self.cpu_s = cpu_s
        self.rss_kib = rss_kib
        self.stdout = stdout
        self.stderr = stderr

    @property
    def rss_mib(self):
        return self.rss_kib / 1024.0


def _wall_seconds(text):
    # "Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02.34"
    value = text.rsplit(": ", 1)[1].strip()
    parts = [float(p) for p in value.split(":")]
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + p
    return seconds


def run_timed(cmd, time_file, cwd=None, env=None):
    """Runs `cmd` under GNU time; returns a Timed (stdout and stderr captured as text)."""
    proc = subprocess.run(
        [GNU_TIME, "-v", "-o", time_file, *cmd],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall, rss, cpu = None, None, 0.0
    with open(time_file) as f:
        for line in f:
            if "Elapsed (wall clock)" in line:
                wall = _wall_seconds(line)
            elif "Maximum resident set size" in line:
                rss = int(line.rsplit(": ", 1)[1])
            elif "User time (seconds)" in line or "System time (seconds)" in line:
                cpu += float(line.rsplit(": ", 1)[1])
    if wall is None or rss is None:
        raise RuntimeError(f"no GNU time figures in {time_file}")
    return Timed(proc.returncode, wall, rss, proc.stdout, proc.stderr, cpu)


BUILD_TOOLS = {"cargo", "rustc", "cc", "cc1", "cc1plus", "ld", "ld.lld", "collect2", "clang", "as"}


def builds_running():
    """Names of compiler/build processes running now (other engineers' builds share the cores)."""
    names = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm in BUILD_TOOLS:
            names.append(comm)
    return sorted(names)


class LoadLog:
    """Samples, every `every` seconds on a thread, the load average and whether compilers are running."""

    def __init__(self, every=2.0):
        import threading

        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every):
        while not self._stop.is_set():
            with open("/proc/loadavg") as f:
                load1 = float(f.read().split()[0])
            self.samples.append((load1, builds_running()))
            self._stop.wait(every)

    def summary(self):
        self._stop.set()
        self._thread.join()
        busy = [s for s in self.samples if s[1]]
        loads = [s[0] for s in self.samples] or [0.0]
        text = (f"load: 1-min load average {min(loads):.2f}..{max(loads):.2f}; compiler processes running "
                f"in {len(busy)} of {len(self.samples)} samples (every 2 s)")
        if busy:
            seen = sorted({n for s in busy for n in s[1]})
            text += f" ({', '.join(seen)}): other builds shared the cores"
        else:
            text += ": no other build ran"
        return text


def tree_bytes(root, suffix=None, skip_dirs=()):
    """Sum of file sizes under root (only names ending in `suffix` when given)."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip_dirs]
        for name in filenames:
            if suffix is None or name.endswith(suffix):
                total += os.path.getsize(os.path.join(dirpath, name))
    return total


def min_median(values):
    return min(values), statistics.median(values)


# One tool's samples over the rounds of a side-by-side benchmark (wall, peak RSS, output bytes, and the time the
# tool reports for its own work where it has one), with what failed.
class Tool:
    def __init__(self, name):
        self.name = name
        self.walls, self.rss, self.bytes, self.process_walls = [], [], [], []
        self.failures = []
        self.note = ""

    def add(self, wall, rss_mib, out_bytes, process_wall=None):
        self.walls.append(wall)
        self.rss.append(rss_mib)
        self.bytes.append(out_bytes)
        if process_wall is not None:
            self.process_walls.append(process_wall)


def print_tools(tools, rows, runs):
    """The side-by-side table: per tool, rounds that succeeded, min/median wall, rows/s at the median, peak RSS,
    output bytes; the tool's own time in brackets where it reports one; each failure."""
    print(f"{'tool':<44} {'ok':>4} {'wall min':>9} {'wall med':>9} {'rows/s med':>11} "
          f"{'RSS min':>9} {'RSS med':>9} {'bytes min':>14} {'bytes med':>14}")
    for tool in tools:
        ok = f"{len(tool.walls)}/{runs}"
        if not tool.walls:
            print(f"{tool.name:<44} {ok:>4}  failed: {'; '.join(tool.failures)}")
            continue
        wmin, wmed = min_median(tool.walls)
        rmin, rmed = min_median(tool.rss)
        bmin, bmed = min_median(tool.bytes)
        print(f"{tool.name:<44} {ok:>4} {wmin:8.2f}s {wmed:8.2f}s {rows / wmed:11,.0f} "
              f"{rmin:6.1f}MiB {rmed:6.1f}MiB {bmin:14,.0f} {bmed:14,.0f}")
        if tool.process_walls:
            pmin, pmed = min_median(tool.process_walls)
            print(f"{'':<44} {'':>4} [{pmin:7.2f}s] [{pmed:7.2f}s] process wall  ({tool.note})")
        for f in tool.failures:
            print(f"{'':<44} failed {f}")


class Targets:
    """Collects target checks; `exit_code()` is 1 when any was missed."""

    def __init__(self):
        self.missed = []
        self.lines = []

    def check(self, ok, text):
        self.lines.append(("met   " if ok else "MISSED") + "  " + text)
        if not ok:
            self.missed.append(text)

    def not_measured(self, text):
        self.lines.append("MISSED  " + text + " (not measured)")
        self.missed.append(text + " (not measured)")

    def print(self, name):
        print()
        print(f"targets ({name}):")
        for line in self.lines:
            print("  " + line)
        if self.missed:
            print(f"{name}: {len(self.missed)} target(s) missed:")
            for m in self.missed:
                print(f"  - {m}")
        else:
            print(f"{name}: every target met")

    def exit_code(self):
        return 1 if self.missed else 0
