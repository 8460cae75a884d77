"""Live-engine benchmark: replay the recorded `stablecoin KZ` traffic with a fixed latency per call.

Usage: python bench/live_bench.py [--latency 0.5] [--cassette live_stablecoin_kz]

The pipeline runs in process with the real clients while vcrpy replays cassettes/live/<cassette>.yaml;
every replayed response is held back for --latency seconds. Counts model calls, tokens and the
sequential model round trips on the critical path (waves of requests: a request that arrives after
the previous wave's answers starts a new wave), and compares the wall time with and without latency:
if the fan-out runs in parallel, the added time stays close to (rounds on the critical path) x latency.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def waves(arrivals: list[float], latency: float) -> int:
    times = sorted(arrivals)
    return sum(1 for a, b in zip(times, times[1:], strict=False) if b - a >= 0.8 * latency) + (1 if times else 0)


def replay(cassette: str, latency: float) -> tuple[float, Any, list[tuple[float, str]]]:
    import vcr
    import vcr.cassette

    from tests import test_live_cassettes as harness

    arrivals: list[tuple[float, str]] = []
    lock = threading.Lock()
    real_play = vcr.cassette.Cassette.play_response

    def play(self: Any, request: Any) -> Any:
        with lock:
            arrivals.append((time.monotonic(), request.uri))
        response = real_play(self, request)
        time.sleep(latency)
        return response

    vcr.cassette.Cassette.play_response = play  # type: ignore[method-assign]
    work = Path(tempfile.mkdtemp(prefix="agent-live-bench-"))
    os.environ["AGENT_STATE_DIR"] = str(work / ".agent")
    try:
        with vcr.VCR(**harness.vcr_options()).use_cassette(str(harness.CASSETTES / f"{cassette}.yaml"), record_mode="none") as cas:
            t0 = time.perf_counter()
            run = harness.live_run(cassette, "none", cas, work)
            wall = time.perf_counter() - t0
    finally:
        vcr.cassette.Cassette.play_response = real_play  # type: ignore[method-assign]
    return wall, run.report, arrivals


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--cassette", default="live_stablecoin_kz")
    args = ap.parse_args()
    os.environ.setdefault("AGENT_TODAY", "2026-11-22")
    replay(args.cassette, 0.0)  # warm-up: imports and first pack load are not part of either figure
    base, _, _ = replay(args.cassette, 0.0)
    wall, report, arrivals = replay(args.cassette, args.latency)
    chat = [t for t, uri in arrivals if uri.endswith("/chat/completions")]
    rounds_model = waves(chat, args.latency)
    rounds_all = waves([t for t, _ in arrivals], args.latency)
    searches = sum(1 for _, uri in arrivals if "tavily" in uri)
    fetches = len(arrivals) - len(chat) - searches
    by_step: dict[str, int] = {}
    for s in report.run.steps:
        by_step[s.step] = by_step.get(s.step, 0) + s.tokens_in + s.tokens_out
    ideal = rounds_all * args.latency
    print("| measure | value | target |\n| --- | --- | --- |")
    print(f"| model calls (total) | {len(chat)} | — |")
    print(f"| sequential model round trips on the critical path | {rounds_model} | <= 5 |")
    print(f"| web searches / page fetches | {searches} / {fetches} | budgets |")
    print(f"| tokens in + out | {report.run.tokens_in + report.run.tokens_out:,} | < 60,000 |")
    print(f"| tokens per step | {', '.join(f'{k} {v:,}' for k, v in by_step.items() if v)} | — |")
    print(f"| wall time, no latency (s) | {base:.2f} | — |")
    print(f"| wall time, {args.latency:.2f} s per call (s) | {wall:.2f} | — |")
    print(f"| added by latency (s) vs. critical path ({rounds_all} rounds incl. search and fetch = {ideal:.2f} s) "
          f"| {wall - base:.2f} | <= 1.5 x {ideal:.2f} = {1.5 * ideal:.2f} |")
    print(f"| sequential time if nothing ran in parallel ({len(arrivals)} calls) (s) | {len(arrivals) * args.latency:.2f} | — |")


if __name__ == "__main__":
    main()
