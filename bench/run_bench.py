"""Benchmarks: CLI start-up, the full embedded run, and assessment scaling with folder size.

Usage: python bench/run_bench.py [--repeat N] [--sizes 100,250,500,1000]
Prints a Markdown table; bench/README.md records the latest figures.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGENT = shutil.which("agent") or str(Path(sys.executable).with_name("agent"))

PARAGRAPHS = [
    "## Customer due diligence\n\nWe verify the identity of every customer before onboarding and refresh\nhigh-risk customer files annually.",
    "## Reporting\n\nThe MLRO reports suspicious transactions to the Financial Monitoring Agency\nwithout delay.",
    "## Custody\n\nClient digital assets are held in wallets kept separate from the company's\nown holdings, and balances are reconciled daily against the client ledger.",
    "## Reserves\n\nEach token is backed 1:1 by fiat held at partner banks.",
    "## IT assets\n\nIT renews software licences and licence keys for office tools every year.",
    "## People\n\nStaff report to their line manager weekly on progress.",
    "## Keys\n\nPrivate keys are generated in hardware security modules and most client\nassets are held in cold storage.",
    "## Complaints\n\nClients may raise complaints by email; we respond within 15 business days.",
    "## Travel\n\nEmployees book travel through the approved agency and keep receipts.",
    "## Sanctions\n\nAll customers and transactions are screened against UN and national\nsanctions lists.",
]


def generate(folder: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        body = [f"# Policy {i:04d}", "", "Owner: Compliance. Version 1.0.", ""]
        for p in rng.sample(PARAGRAPHS, k=6):
            body += [p, ""]
        (folder / f"policy_{i:04d}.md").write_text("\n".join(body), encoding="utf-8")


def wall(cmd: list[str], repeat: int, cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def assess_folder(folder: Path) -> tuple[float, float, int]:
    """Read + assess a folder against the KZ stablecoin requirements, in-process."""
    from agent.assess import assess_all, prepare
    from agent.embedded import pack_requirements, select_pack
    from agent.scope import parse_scope
    from tools.policies import read_policies

    scope = parse_scope("stablecoin KZ")
    pack, baseline = select_pack(scope)
    reqs = [r for r, _ in pack_requirements(pack, scope, baseline)]
    t0 = time.perf_counter()
    pf = read_policies(folder)
    t1 = time.perf_counter()
    docs = [prepare(d.path, d.lines) for d in pf.documents]
    assess_all(reqs, docs)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, len(reqs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sizes", default="100,250,500,1000")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="agent-bench-"))
    env = {**os.environ, "AGENT_STATE_DIR": str(work / "state")}
    try:
        med, best = wall([AGENT, "--help"], args.repeat, work, env)
        print("| measure | median (s) | best (s) | target |\n| --- | --- | --- | --- |")
        print(f"| `agent --help` | {med:.3f} | {best:.3f} | < 0.3 |")
        run = [AGENT, "run", "stablecoin KZ", "--policies", str(ROOT / "examples/policies"), "--out", str(work / "out"), "--quiet"]
        med, best = wall(run, args.repeat, work, env)
        print(f"| `agent run \"stablecoin KZ\"` on examples/policies (embedded) | {med:.3f} | {best:.3f} | < 3 |")
        print("\n| policy files | read (s) | assess (s) | total (s) | per file (ms) | requirements |\n| --- | --- | --- | --- | --- | --- |")
        for n in (int(s) for s in args.sizes.split(",")):
            folder = work / f"policies_{n}"
            generate(folder, n)
            read_s, assess_s, nreq = assess_folder(folder)
            total = read_s + assess_s
            print(f"| {n} | {read_s:.3f} | {assess_s:.3f} | {total:.3f} | {1000 * total / n:.2f} | {nreq} |")
        big = max(int(s) for s in args.sizes.split(","))
        run_big = [AGENT, "run", "stablecoin KZ", "--policies", str(work / f"policies_{big}"), "--out", str(work / "out_big"), "--quiet"]
        med, best = wall(run_big, 1, work, env)
        print(f"\n| whole `agent run \"stablecoin KZ\"` on {big} generated files | {med:.3f} s |\n| --- | --- |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
