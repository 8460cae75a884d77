"""Element-level recall and precision on real published policies must not regress (bench/eval/)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Figures measured when the rules were last changed (bench/README.md), less a small margin.
FLOOR = {"tuning": (0.85, 0.93), "held_out": (0.39, 0.58)}


def _evaluate():
    spec = importlib.util.spec_from_file_location("eval_coverage", ROOT / "bench" / "eval_coverage.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("eval_coverage", module)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.evaluate


@pytest.mark.parametrize("split", sorted(FLOOR))
def test_coverage_quality_does_not_regress(split: str) -> None:
    # Only the totals are compared: a failure must not print the held-out misses (nobody tunes on them).
    total = _evaluate()(split).total
    recall, precision = FLOOR[split]
    assert total.stated > 0
    assert total.recall >= recall, f"{split} recall {total.recall:.3f} < {recall}"
    assert total.precision >= precision, f"{split} precision {total.precision:.3f} < {precision}"
