"""Comparing jurisdictions: one branch per jurisdiction in one graph, the matrix first, every cell cited."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import docx
import pytest

from agent.matrix import ROWS, build_matrix
from agent.progress import Progress
from agent.runner import run_comparison
from agent.scope import ScopeError, parse_scope, parse_scopes
from tests.conftest import EXAMPLES


@pytest.mark.parametrize(("query", "places"), [
    ("stablecoin KZ and EU", [("KZ", None), ("EU", None)]),
    ("custody in the AIFC vs DIFC", [("KZ", "AIFC"), ("AE", "DIFC")]),
    ("stablecoin EU vs Singapore vs Hong Kong", [("EU", None), ("SG", None), ("HK", None)]),
    ("exchange UK, US and SG", [("GB", None), ("US", None), ("SG", None)]),
    ("custody Dubai compared with ADGM", [("AE", "VARA"), ("AE", "ADGM")]),
])
def test_comparison_queries_name_each_jurisdiction_once(query: str, places: list[tuple[str, str | None]]) -> None:
    scopes = parse_scopes(query)
    assert [(s.jurisdiction, s.regime_hint) for s in scopes] == places
    assert all(s.topics == scopes[0].topics for s in scopes)


def test_one_jurisdiction_is_still_one_scope_and_single_scope_parsing_still_refuses_two() -> None:
    assert len(parse_scopes("Abu Dhabi ADGM custody")) == 1
    assert len(parse_scopes("AML IN EU")) == 1  # a capital IN is not India unless the query lists places
    with pytest.raises(ScopeError, match="run one jurisdiction at a time"):
        parse_scope("stablecoin KZ and EU")


def test_every_matrix_cell_is_cited_or_says_nothing_is_held() -> None:
    cols, rows = build_matrix(parse_scopes("stablecoin KZ vs EU vs UAE"))
    assert [r.key for r in rows] == [k for k, _ in ROWS] and len(cols) == 3
    for row in rows:
        for cell in row.cells:
            assert cell.text == "—" or cell.citations, (row.key, cell.text)
            assert all(c.verified for c in cell.citations if c.quote), (row.key, cell.text)
    by_key = {r.key: r for r in rows}
    assert "Astana Financial Services Authority" in by_key["regulators"].cells[0].text
    assert "European Banking Authority" in by_key["regulators"].cells[1].text
    assert "Central Bank of the UAE" in by_key["regulators"].cells[2].text
    assert "EUR 350,000" in by_key["capital"].cells[1].text
    assert "threshold AED 3,500" in by_key["travel_rule"].cells[2].text


def test_a_regime_column_keeps_to_its_regime() -> None:
    _, rows = build_matrix(parse_scopes("custody in the AIFC vs DIFC"))
    regulators = next(r for r in rows if r.key == "regulators").cells
    assert regulators[0].text == "Astana Financial Services Authority (AFSA)"
    assert regulators[1].text == "Dubai Financial Services Authority (DFSA)"


def test_comparison_run_writes_the_matrix_first_and_each_jurisdictions_own_run(isolated: Path) -> None:
    tmp_path = isolated
    out = tmp_path / "out"
    report = run_comparison(parse_scopes("stablecoin KZ and EU"), policies=EXAMPLES, out_dir=out,
                            db_path=tmp_path / "runs.sqlite", progress=Progress(enabled=False), formats=("md", "json", "docx"))
    folder = out / "reports" / report.run_id
    md = (folder / "comparison.md").read_text(encoding="utf-8")
    first_table = md.index("| **Status** |")
    assert first_table < md.index("## Kazakhstan") < md.index("## European Union")
    assert md.index("| **Regulator(s)** |") < md.index("| **Licence(s)** |") < md.index("| **Minimum capital** |")
    data = json.loads((folder / "comparison.json").read_text(encoding="utf-8"))
    assert [c["label"] for c in data["columns"]] == ["Kazakhstan", "European Union"]
    assert {row["key"] for row in data["comparison_matrix"]} == {k for k, _ in ROWS}
    # each branch ran the whole pipeline into its own folder: report and drafts
    for col in report.columns:
        assert col.report and (out / col.report).is_file()
    assert list((out / "kz").glob("*_GAP-*.md")), "drafts of the Kazakhstan branch"
    # with a policy folder, shared controls name gaps of both jurisdictions, or there is no such section
    for sc in report.shared_controls:
        assert len({g.split(":")[0] for g in sc.gaps}) >= 2
    heads = [p.text for p in docx.Document(str(folder / "comparison.docx")).paragraphs if p.style.name.startswith("Heading")]
    assert heads[0].startswith("stablecoin: Kazakhstan vs European Union")


def test_cli_compares_and_prints_json(agent_exe: str, isolated: Path) -> None:
    tmp_path = isolated
    done = subprocess.run([agent_exe, "run", "custody AIFC vs DIFC", "--json", "--out", str(tmp_path / "o"), "--format", "md,json"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [c["label"] for c in data["columns"]] == ["AIFC (Kazakhstan)", "DIFC (United Arab Emirates)"]
    assert data["comparison_matrix"][0]["key"] == "status"


def test_chat_run_compares_and_proposes_no_drafts(isolated: Path) -> None:
    from agent.chat import ChatEnv, run_text
    from agent.settings import load_settings

    env = ChatEnv(settings=load_settings(), db_path=isolated / "runs.sqlite", out_dir=isolated / "out", policies=None,
                  confirm=lambda _: False, progress=Progress(enabled=False))
    text = run_text(env, "custody AIFC vs DIFC")
    assert text.startswith("Comparison ") and "AIFC (Kazakhstan) vs DIFC (United Arab Emirates)" in text
    assert "Regulator(s): AIFC (Kazakhstan): Astana Financial Services Authority (AFSA)" in text
    assert not list((isolated / "out").rglob("*_GAP-*.md")), "chat proposes drafts; it writes none"
