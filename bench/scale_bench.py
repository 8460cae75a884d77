"""Benchmark: the whole embedded `agent run "stablecoin KZ"` on 10 and on 10,000 generated policy files.

Usage: python bench/scale_bench.py [--files 10000] [--repeat 3] [--workers 0]

Both folders come from the generator of bench/run_bench.py (each file a random mix of six paragraphs,
~40 lines). Each run is a child process; reported are its wall time, the peak resident memory of the
largest process (the agent or one of its scan workers: ru_maxrss) and the peak of their sum (sampled
every 20 ms), and the machine's load average before and after, since other work skews the figures.
Prints Markdown tables; bench/README.md ("Assessment at scale") records the latest figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_bench import AGENT, generate  # noqa: E402


def run_once(folder: Path, work: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, peak RSS of the largest process (MB), peak RSS of the agent and its workers together (MB)."""
    cmd = [AGENT, "run", "stablecoin KZ", "--policies", str(folder), "--out", str(work / "out"), "--quiet"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        try:
            root = psutil.Process(proc.pid)
            while not stop.wait(0.02):
                tree = [root, *root.children(recursive=True)]
                total = 0
                for p in tree:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                peak[0] = max(peak[0], total)
        except psutil.Error:
            pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"agent run failed ({proc.returncode}): {err.decode()[-2000:]}")
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest ever seen: it only tells something when it grew
    return wall, max(largest, before) / 1024, peak[0] / 2**20


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_ticks() -> tuple[int, int]:
    """(all, stolen) CPU ticks since boot: on a virtual machine the host may run other guests on our cores."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=0, help="AGENT_SCAN_WORKERS for the runs (0: one per core)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="agent-scale-"))
    env = {**os.environ, "AGENT_STATE_DIR": str(work / "state"), "AGENT_SCAN_WORKERS": str(args.workers)}
    try:
        small, large = work / "policies_10", work / f"policies_{args.files}"
        generate(small, 10)
        generate(large, args.files)
        print(f"cores: {os.cpu_count()}; load average before: {load()}\n")
        print("| folder | runs | wall median (s) | wall best (s) | peak RSS, largest process (MB) | peak RSS, all processes (MB) |")
        print("| --- | --- | --- | --- | --- | --- |")
        results = {}
        total0, stolen0 = cpu_ticks()
        for name, folder in (("10 files", small), (f"{args.files:,} files", large)):
            runs = [run_once(folder, work, env) for _ in range(args.repeat)]
            walls = [r[0] for r in runs]
            results[name] = statistics.median(walls)
            print(f"| {name} | {len(runs)} | {statistics.median(walls):.2f} | {min(walls):.2f} | "
                  f"{max(r[1] for r in runs):.0f} | {max(r[2] for r in runs):.0f} |")
        total1, stolen1 = cpu_ticks()
        small_t, large_t = results.values()
        steal = 100 * (stolen1 - stolen0) / max(total1 - total0, 1)
        print(f"\n{args.files:,} files / 10 files (medians): {large_t / small_t:.2f}x; load average after: {load()}; "
              f"CPU time stolen by the host during the runs: {steal:.1f}%")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
