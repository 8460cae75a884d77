"""Benchmark: long policy documents (paragraphs without blank lines) through reading, preparation and assessment.

Usage: python bench/parse_bench.py [--lines 5000,10000,20000] [--formats md,docx] [--repeat N] [--no-run]
Prints Markdown tables; bench/README.md records the latest figures.

Each generated policy is one long run of lines with no blank line between them (the shape that used to
make sentence-to-line mapping quadratic). For .md every line is a source line; for .docx every line is
a Word paragraph. The in-process table times read_policies, prepare and assess_all (the 38 requirements
of "stablecoin KZ"); the last table times the whole `agent run` as a child process on a folder holding
the 10-line policy versus one holding the largest policy, in each format.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
AGENT = shutil.which("agent") or str(Path(sys.executable).with_name("agent"))

SENTENCES = [
    "We verify the identity of every customer before onboarding and refresh high-risk customer files annually.",
    "The MLRO reports suspicious transactions to the Financial Monitoring Agency without delay.",
    "Client digital assets are held in wallets kept separate from the company's own holdings.",
    "Balances are reconciled daily against the client ledger.",
    "Each token is backed 1:1 by fiat held at partner banks.",
    "IT renews software licences and licence keys for office tools every year.",
    "Staff report to their line manager weekly on progress",
    "Private keys are generated in hardware security modules and most client assets are held in cold storage.",
    "Clients may raise complaints by email; we respond within 15 business days.",
    "Employees book travel through the approved agency and keep receipts",
    "All customers and transactions are screened against UN and national sanctions lists.",
]


def policy_lines(n: int) -> list[str]:
    lines = ["# Long policy"] if n > 1 else []
    i = 0
    while len(lines) < n:
        lines.append(f"{SENTENCES[i % len(SENTENCES)]} Ref {i}.")
        i += 1
    return lines


def docx_bytes(lines: list[str]) -> bytes:
    """A real python-docx package whose body is replaced by one paragraph per line (fast for 20k lines)."""
    import docx

    template = io.BytesIO()
    docx.Document().save(template)
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "".join(f'<w:p><w:r><w:t xml:space="preserve">{escape(line)}</w:t></w:r></w:p>' for line in lines)
    xml = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{w}"><w:body>{body}<w:sectPr/></w:body></w:document>'
    out = io.BytesIO()
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = xml.encode() if info.filename == "word/document.xml" else src.read(info.filename)
            dst.writestr(info.filename, data)
    return out.getvalue()


def write_policy(folder: Path, n: int, fmt: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = policy_lines(n)
    path = folder / f"policy_{n}.{fmt}"
    if fmt == "md":
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        path.write_bytes(docx_bytes(lines))
    return path


def in_process(folder: Path) -> tuple[float, float, float, int, int]:
    """(read, prepare, assess) seconds, lines and sentences for one folder."""
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
    t2 = time.perf_counter()
    assess_all(reqs, docs)
    t3 = time.perf_counter()
    assert pf.documents, pf.warnings
    return t1 - t0, t2 - t1, t3 - t2, sum(len(d.lines) for d in pf.documents), sum(len(d.sentences) for d in docs)


def wall(cmd: list[str], repeat: int, cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", default="5000,10000,20000")
    ap.add_argument("--formats", default="md,docx")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the whole `agent run` per folder")
    ap.add_argument("--no-run", action="store_true", help="skip the whole `agent run` comparison")
    args = ap.parse_args()
    sizes = [10, *(int(s) for s in args.lines.split(","))]
    work = Path(tempfile.mkdtemp(prefix="agent-parse-bench-"))
    env = {**os.environ, "AGENT_STATE_DIR": str(work / "state")}
    try:
        print("| format | lines | sentences | read (s) | prepare (s) | assess (s) | total (s) |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for fmt in args.formats.split(","):
            for n in sizes:
                folder = work / f"{fmt}_{n}"
                write_policy(folder, n, fmt)
                read_s, prep_s, assess_s, nlines, nsent = in_process(folder)
                total = read_s + prep_s + assess_s
                print(f"| {fmt} | {nlines} | {nsent} | {read_s:.3f} | {prep_s:.3f} | {assess_s:.3f} | {total:.3f} |", flush=True)
        if args.no_run:
            return
        big = max(sizes)
        print(f"\n| whole `agent run \"stablecoin KZ\"` (embedded, --repeat {args.repeat}) | median (s) | best (s) | vs 10 lines |")
        print("| --- | --- | --- | --- |")
        baseline = None
        for fmt, n in [(args.formats.split(",")[0], 10), *((fmt, big) for fmt in args.formats.split(","))]:
            folder = work / f"{fmt}_{n}"
            cmd = [AGENT, "run", "stablecoin KZ", "--policies", str(folder), "--out", str(work / f"out_{fmt}_{n}"), "--quiet"]
            med, best = wall(cmd, args.repeat, work, env)
            baseline = baseline or med
            print(f"| one {n}-line .{fmt} policy | {med:.3f} | {best:.3f} | {med / baseline:.2f}x |", flush=True)
        print(f"\nacceptance: the {big}-line runs within 5x of the 10-line run")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
