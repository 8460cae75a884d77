"""Live-engine benchmark against the loopback stand-in with a fixed latency per request.

Usage: python bench/live_bench.py [--latency 0.5] [--query "stablecoin KZ"]
Counts model calls, sequential model round trips on the critical path and tokens, and compares wall
time with and without latency: if the fan-out really runs in parallel, the added time stays close to
(critical-path round trips + 1 search round) x latency.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.fake_services import FakeServices  # noqa: E402

AGENT = shutil.which("agent") or str(Path(sys.executable).with_name("agent"))


def sequential_rounds(times: list[float], latency: float) -> int:
    """Waves of requests: a request arriving after the previous one's answer starts a new wave."""
    times = sorted(times)
    return sum(1 for a, b in zip(times, times[1:]) if b - a >= 0.8 * latency) + (1 if times else 0)


def run(query: str, latency: float, work: Path) -> tuple[float, dict, FakeServices]:
    with FakeServices("ok", latency_s=latency) as services:
        env = {**os.environ, "AGENT_ENGINE": "auto", "AGENT_STATE_DIR": str(work / "state"), "AGENT_TODAY": "2026-11-22",
               "OPENAI_API_KEY": "bench", "OPENAI_BASE_URL": services.url + "/v1", "AGENT_MODEL": "fake-model",
               "TAVILY_API_KEY": "bench", "TAVILY_BASE_URL": services.url, "AGENT_MAX_FETCHES": "0"}
        t0 = time.perf_counter()
        res = subprocess.run([AGENT, "run", query, "--policies", str(ROOT / "examples/policies"), "--out", str(work / "out"), "--json"],
                             env=env, capture_output=True, text=True, check=True)
        return time.perf_counter() - t0, json.loads(res.stdout), services


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--query", default="stablecoin KZ")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="agent-live-bench-"))
    try:
        base, _, _ = run(args.query, 0.0, work)
        wall, doc, services = run(args.query, args.latency, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    chat = [b for p, b in services.requests if p.endswith("/chat/completions")]
    searches = [b for p, b in services.requests if p.endswith("/search")]
    rounds = sequential_rounds([t for t, p in services.arrivals if p.endswith("/chat/completions")], args.latency)
    ideal = (rounds + 1) * args.latency
    print("| measure | value | target |\n| --- | --- | --- |")
    print(f"| model calls (total) | {len(chat)} | — |")
    print(f"| sequential model round trips on the critical path | {rounds} | <= 5 |")
    print(f"| web searches | {len(searches)} | <= AGENT_MAX_SEARCHES |")
    print(f"| tokens in + out (stand-in counts ~4 chars/token) | {doc['run']['tokens_in'] + doc['run']['tokens_out']} | < 60,000 |")
    print(f"| wall time, no latency (s) | {base:.2f} | — |")
    print(f"| wall time, {args.latency:.2f} s per request (s) | {wall:.2f} | — |")
    print(f"| added by latency (s) vs. critical path ({rounds} model + 1 search rounds = {ideal:.2f} s) | {wall - base:.2f} | <= 1.5 x {ideal:.2f} |")


if __name__ == "__main__":
    main()
