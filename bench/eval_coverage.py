"""Element-level recall and precision of the embedded coverage rules on real published policies.

    .venv/bin/python bench/eval_coverage.py                 # tuning and held-out figures, misses on tuning
    .venv/bin/python bench/eval_coverage.py --json          # the figures as JSON
    .venv/bin/python bench/eval_coverage.py --split tuning  # one split only

Documents, split and labels: bench/eval/ (README there has the labelling criteria). Each document
is read with the product's own reader and scanned with `scan_document`; an element counts as found
when the coverage rules quote a sentence of that document for it, and the quote is correct when its
lines overlap a labelled range. The held-out part is reported as totals and per domain only: its
misses are not listed, so that tuning cannot look at them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EVAL = ROOT / "bench" / "eval"
SPLITS = ("tuning", "held_out")


@dataclass
class Score:
    stated: int = 0
    predicted: int = 0
    correct: int = 0

    def add(self, other: Score) -> None:
        self.stated += other.stated
        self.predicted += other.predicted
        self.correct += other.correct

    @property
    def recall(self) -> float:
        return self.correct / self.stated if self.stated else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    def as_dict(self) -> dict[str, float | int]:
        return {"stated": self.stated, "predicted": self.predicted, "correct": self.correct,
                "recall": round(self.recall, 3), "precision": round(self.precision, 3)}


@dataclass
class Result:
    total: Score = field(default_factory=Score)
    domains: dict[str, Score] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)  # stated, not found (or found elsewhere)
    wrong: list[str] = field(default_factory=list)  # found where the labels say it is not stated


def _overlaps(line_start: int, line_end: int, ranges: Iterable[list[int]]) -> bool:
    return any(line_start <= b and a <= line_end for a, b in ranges)


def evaluate(split: str) -> Result:
    from agent.assess import prepare, scan_document
    from agent.knowledge import load
    from tools.policies import read_policies

    reqs = {r.id: r for code in ("KZ", "INTL") for r in load(code).requirements}
    corpus = json.loads((EVAL / "corpus.json").read_text(encoding="utf-8"))
    labels = {d["file"]: d for d in json.loads((EVAL / "labels.json").read_text(encoding="utf-8"))["documents"]}
    files = [d["file"] for d in corpus["documents"] if d["split"] == split]
    folder = read_policies(EVAL / "corpus")
    by_path = {d.path: d for d in folder.documents}
    result = Result()
    for file in files:
        doc = prepare(file, by_path[file].lines)
        entry = labels[file]
        rids = sorted({e["requirement"] for e in entry["elements"]})
        findings = scan_document(doc, [reqs[r] for r in rids])
        score = Score()
        for e in entry["elements"]:
            index = next(k for k, el in enumerate(reqs[e["requirement"]].elements) if el.name == e["element"])
            found = findings[e["requirement"]][index]
            where = f"{file} | {e['requirement']} | {e['element']}"
            score.stated += e["stated"]
            if found is not None:
                score.predicted += 1
                if e["stated"] and _overlaps(found.line_start, found.line_end, e["lines"]):
                    score.correct += 1
                else:
                    result.wrong.append(f"{where}\n      quoted L{found.line_start}-{found.line_end}: {found.text[:160]!r}")
            if e["stated"] and (found is None or not _overlaps(found.line_start, found.line_end, e["lines"])):
                result.misses.append(f"{where} (labelled {e['lines']})")
        result.total.add(score)
        result.domains.setdefault(entry["domain"], Score()).add(score)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=SPLITS, action="append")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    splits = args.split or list(SPLITS)
    results = {s: evaluate(s) for s in splits}
    if args.json:
        print(json.dumps({s: {"total": r.total.as_dict(), "domains": {d: v.as_dict() for d, v in sorted(r.domains.items())}}
                          for s, r in results.items()}, indent=2))
        return 0
    for s, r in results.items():
        t = r.total
        print(f"{s}: recall {t.recall:.3f} ({t.correct}/{t.stated})  precision {t.precision:.3f} ({t.correct}/{t.predicted})")
        for d, v in sorted(r.domains.items()):
            print(f"  {d:<22} recall {v.recall:.3f} ({v.correct}/{v.stated})  precision {v.precision:.3f} ({v.correct}/{v.predicted})")
        if s == "tuning":
            print(f"  misses ({len(r.misses)}):")
            print("".join(f"    {m}\n" for m in r.misses), end="")
            print(f"  wrong ({len(r.wrong)}):")
            print("".join(f"    {m}\n" for m in r.wrong), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
