"""Firm profile and applicability: company.toml, inference from the policies, and what applies to whom."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path

import jsonschema
import pytest

from agent.knowledge import load
from agent.models import RunReport
from agent.progress import Progress
from agent.report import render_markdown
from agent.runner import run_pipeline
from agent.scope import parse_scope
from tests.conftest import EXAMPLES, ROOT
from tests.firmgen import firm_folder

EXCHANGE = ROOT / "examples" / "exchange"
SCHEMA = json.loads((ROOT / "agent" / "schemas" / "report.schema.json").read_text(encoding="utf-8"))
PACK = {r.id: r for code in ("KZ", "INTL") for r in load(code).requirements}
ISSUER_ONLY = {rid for rid, r in PACK.items() if r.applies_to.activities == ("stablecoin_issuer",)}
NATIONAL_ONLY = {rid for rid, r in PACK.items() if r.applies_to.regimes == ("national",)}
AIFC_ONLY = {rid for rid, r in PACK.items() if r.applies_to.regimes == ("AIFC",)}
VENUE = {rid for rid, r in PACK.items() if "trading_venue" in r.applies_to.activities}


def run(query: str, tmp: Path, policies: Path | None, profile: Path | None = None, out: str = "out") -> RunReport:
    return run_pipeline(parse_scope(query), policies=policies, out_dir=tmp / out, db_path=tmp / ".agent" / "runs.sqlite",
                        progress=Progress(enabled=False), profile=profile)


def cli(agent_exe: str, *args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENT_STATE_DIR": str(cwd / ".agent")}
    return subprocess.run([agent_exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, input=stdin)


def assessed(report: RunReport) -> set[str]:
    return {a.requirement_id for a in report.assessments}


def not_applicable(report: RunReport) -> dict[str, str]:
    return {n.requirement_id: n.reason for n in report.not_applicable}


def assert_not_applicable_stays_out(report: RunReport, out: Path) -> None:
    """A requirement that does not apply is never assessed, gapped or drafted, and never dropped silently."""
    na = set(not_applicable(report))
    assert not na & assessed(report)
    assert not na & {r.id for r in report.requirements}
    assert not na & {rid for g in report.gaps for rid in g.requirement_ids}
    for d in report.drafts:
        if (out / d.path).is_file():
            body = (out / d.path).read_text(encoding="utf-8")
            assert not [rid for rid in na if rid in body], d.path
    md = render_markdown(report)
    assert all(rid in md.split("## Not Applicable", 1)[1] for rid in na)


# --- what applies to whom (generated folders) ------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_custodian_asking_about_custody_gets_no_stablecoin_issuer_obligations(isolated: Path, seed: int) -> None:
    statements = ["aifc", "custodian"] + (["not_issuer"] if seed == 2 else [])
    folder = firm_folder(isolated / "pol", statements, seed=seed)
    report = run("custody AIFC", isolated, folder.path)
    assert not ISSUER_ONLY & assessed(report)
    excluded = ISSUER_ONLY & set(not_applicable(report))
    assert excluded, "the issuer obligations the custody topic selects are listed, not dropped"
    assert all("stablecoin issuer" in not_applicable(report)[rid] for rid in excluded)
    assert {"KZ-AIFC-CUST-001", "KZ-AIFC-CUST-002"} <= assessed(report)
    assert_not_applicable_stays_out(report, isolated / "out")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exchange_that_does_not_issue_gets_exchange_obligations_not_issuer_ones(isolated: Path, seed: int) -> None:
    folder = firm_folder(isolated / "pol", ["aifc", "exchange", "not_issuer"], seed=seed)
    report = run("stablecoin KZ", isolated, folder.path)
    ids = assessed(report)
    for prefix in ("KZ-AIFC-RES-", "KZ-AIFC-REP-002", "KZ-AIFC-REP-003", "KZ-AIFC-GOV-002"):
        assert not [i for i in ids if i.startswith(prefix)], prefix
    assert {"KZ-AIFC-LIC-003", "KZ-AIFC-MKT-001", "KZ-AIFC-MKT-003"} <= ids, "trading-venue rules for listing stablecoins"
    assert not {g.domain for g in report.gaps} & {"reserve_requirements"}
    file, line, text = folder.where["not_issuer"]
    for rid in ("KZ-AIFC-RES-001", "KZ-AIFC-RES-004", "KZ-AIFC-REP-003", "KZ-AIFC-GOV-002"):
        na = next(n for n in report.not_applicable if n.requirement_id == rid)
        assert (na.evidence[0].file, na.evidence[0].line_start) == (file, line), "the statement is quoted where it is"
        assert na.evidence[0].quote == text
    for d in report.drafts:
        body = (isolated / "out" / d.path).read_text(encoding="utf-8")
        assert "issuing, redeeming and managing stablecoins" not in body
    assert_not_applicable_stays_out(report, isolated / "out")


def test_example_exchange_with_company_toml(isolated: Path) -> None:
    report = run("stablecoin KZ", isolated, EXCHANGE)
    assert report.profile.file and report.profile.file.endswith("company.toml")
    assert report.profile.activities["trading_venue"].origin == "file"
    assert not ISSUER_ONLY & assessed(report) and not NATIONAL_ONLY & assessed(report)
    assert {"KZ-AIFC-LIC-003", "KZ-AIFC-MKT-001"} <= assessed(report)
    assert "company.toml" in not_applicable(report)["KZ-AIFC-CUST-003"]
    drafts = "".join((isolated / "out" / d.path).read_text(encoding="utf-8") for d in report.drafts)
    assert "Irbis Digital Exchange Ltd" in drafts and "[Company legal name]" not in drafts
    assert_not_applicable_stays_out(report, isolated / "out")


def test_example_exchange_shortfalls_are_each_flagged_as_a_conflict(isolated: Path) -> None:
    """The seven figures the example folder gets wrong on purpose (examples/README.md), each named with its file."""
    report = run("exchange KZ", isolated, EXCHANGE)
    found = {(a.requirement_id, c.file, c.policy_says) for a in report.assessments for c in a.conflicts}
    assert found == {
        ("KZ-AIFC-AML-006", "AML_CFT_Manual.md", "USD 3,000 or more"),
        ("KZ-AIFC-AML-008", "AML_CFT_Manual.md", "five years"),
        ("KZ-AIFC-AML-009", "AML_CFT_Manual.md", "based in our Dubai office (United Arab Emirates)"),
        ("KZ-AIFC-CYB-004", "Cyber_Incident_Response_Plan.md", "within 72 hours"),
        ("KZ-AIFC-LIC-003", "Trading_Rules_and_Market_Surveillance.md", "at least 5 days"),
        ("KZ-AIFC-MKT-001", "Trading_Rules_and_Market_Surveillance.md", "within five business days"),
        ("KZ-AIFC-CON-001", "Client_Categorisation_and_Retail_Limits.md", "up to USD 5,000 per calendar month"),
        ("KZ-AIFC-CON-002", "Client_Categorisation_and_Retail_Limits.md", "up to USD 5,000 per calendar month"),
    }
    assert all(a.status != "met" for a in report.assessments if a.conflicts)


@pytest.mark.parametrize("query", ["licensing KZ", "exchange KZ", "stablecoin KZ"])
def test_aifc_firm_gets_no_national_regime_licensing_or_capital(isolated: Path, query: str) -> None:
    folder = firm_folder(isolated / "pol", ["aifc", "exchange"], seed=3)
    report = run(query, isolated, folder.path)
    assert not NATIONAL_ONLY & assessed(report)
    na = not_applicable(report)
    national = {r.id for r in report.requirements} | set(na)
    assert {rid for rid in national if rid in NATIONAL_ONLY} == {rid for rid in na if rid in NATIONAL_ONLY}
    assert any(rid.startswith("KZ-NAT-LIC") for rid in na), "National Bank licensing is listed as not applicable"
    assert all("AIFC participant" in na[rid] for rid in na if rid in NATIONAL_ONLY)
    capital = [g for g in report.gaps if "KZT" in g.gap or "charter capital" in g.gap.lower()]
    assert not capital, "no KZT charter-capital gap for an AIFC firm"


def test_national_firm_gets_no_aifc_only_obligations(isolated: Path) -> None:
    folder = firm_folder(isolated / "pol", ["national", "exchange"], seed=4)
    report = run("exchange KZ", isolated, folder.path)
    assert report.profile.regime.value == "national"
    assert not AIFC_ONLY & assessed(report)
    assert "KZ-NAT-LIC-002" in assessed(report)
    assert all("national regime" in r for rid, r in not_applicable(report).items() if rid in AIFC_ONLY)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_third_party_custodians_makes_that_requirement_not_applicable_with_the_quote(isolated: Path, seed: int) -> None:
    folder = firm_folder(isolated / "pol", ["aifc", "custodian", "no_third_party"], seed=seed)
    report = run("custody AIFC", isolated, folder.path)
    na = next(n for n in report.not_applicable if n.requirement_id == "KZ-AIFC-CUST-003")
    file, line, text = folder.where["no_third_party"]
    assert "third-party custodian" in na.reason
    assert [(e.file, e.line_start, e.line_end, e.quote) for e in na.evidence] == [(file, line, line, text)]
    assert not any("KZ-AIFC-CUST-003" in g.requirement_ids for g in report.gaps)


def test_the_same_folder_using_third_party_custodians_keeps_the_requirement(isolated: Path) -> None:
    folder = firm_folder(isolated / "pol", ["aifc", "custodian"], seed=1)
    with (folder.path / "Operations_Manual.md").open("a", encoding="utf-8") as fh:
        fh.write("\nThe Company uses a third-party custodian for cold storage of client assets.\n")
    report = run("custody AIFC", isolated, folder.path)
    assert report.profile.third_party_custodians.value is True
    assert "KZ-AIFC-CUST-003" in assessed(report)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_firm_without_retail_clients_gets_no_retail_limits(isolated: Path, seed: int) -> None:
    folder = firm_folder(isolated / "pol", ["aifc", "exchange", "no_retail"], seed=seed)
    report = run("retail trading KZ", isolated, folder.path)
    retail_only = {rid for rid, r in PACK.items() if r.applies_to.clients == ("retail",)}
    assert retail_only & set(not_applicable(report))
    assert not retail_only & assessed(report)


def test_no_profile_and_nothing_inferable_keeps_every_requirement_and_says_so(isolated: Path) -> None:
    (isolated / "pol").mkdir()
    (isolated / "pol" / "Office.md").write_text(
        "# Office rules\n\nThe office opens at nine.\n\nVisitors sign in at reception.\n", encoding="utf-8")
    for policies in (isolated / "pol", None):
        report = run("stablecoin KZ", isolated, policies)
        from agent import embedded

        selected = {r.id for r in embedded.research(parse_scope("stablecoin KZ"))[2]}
        assert report.profile.is_empty and not report.not_applicable
        assert assessed(report) == selected
        md = render_markdown(report)
        assert "No firm profile" in md and "every requirement selected for the query applies" in md
        assert any("No firm profile" in w for w in report.run.warnings)


def test_conflicting_statements_leave_the_fact_unknown(isolated: Path) -> None:
    folder = firm_folder(isolated / "pol", ["aifc", "exchange", "not_issuer"], seed=5)
    with (folder.path / "Operations_Manual.md").open("a", encoding="utf-8") as fh:
        fh.write("\nThe Company issues a fiat-referenced stablecoin backed by US dollar deposits.\n")
    report = run("stablecoin KZ", isolated, folder.path)
    assert report.profile.activities["stablecoin_issuer"].value is None
    assert "KZ-AIFC-RES-001" in assessed(report), "an unsettled activity the query asks about still applies"
    assert any("disagree" in w and "stablecoin issuer" in w for w in report.run.warnings)


# --- inference ------------------------------------------------------------------------------------


def test_inferred_fields_quote_the_right_file_and_lines(isolated: Path) -> None:
    folder = firm_folder(isolated / "pol", ["aifc", "exchange", "custodian", "not_issuer", "no_third_party"], seed=7)
    report = run("exchange KZ", isolated, folder.path)
    p = report.profile
    expect = {"regime": p.regime, "activities.trading_venue": p.activities["trading_venue"],
              "activities.custodian": p.activities["custodian"], "activities.stablecoin_issuer": p.activities["stablecoin_issuer"],
              "third_party_custodians": p.third_party_custodians}
    keys = {"regime": "aifc", "activities.trading_venue": "exchange", "activities.custodian": "custodian",
            "activities.stablecoin_issuer": "not_issuer", "third_party_custodians": "no_third_party"}
    for name, fact in expect.items():
        file, line, text = folder.where[keys[name]]
        assert fact.origin == "inferred", name
        assert (fact.evidence[0].file, fact.evidence[0].line_start, fact.evidence[0].line_end) == (file, line, line), name
        assert fact.evidence[0].quote == text
        lines = (folder.path / file).read_text(encoding="utf-8").splitlines()
        assert lines[line - 1] == text
    assert (p.activities["stablecoin_issuer"].value, p.third_party_custodians.value) == (False, False)
    md = render_markdown(report)
    assert "were inferred from the policies" in md and "agent profile init" in md


def test_example_issuer_folder_is_inferred_as_an_aifc_issuer_and_custodian(isolated: Path) -> None:
    from agent import profile as profiles

    said, _ = profiles.read_folder_sentences(EXAMPLES)
    p = profiles.infer(said).profile
    assert p.legal_name.value == "Steppe Stable Ltd"
    assert p.regime.value == "AIFC"
    assert (p.activities["stablecoin_issuer"].value, p.activities["custodian"].value) == (True, True)
    assert p.activities["trading_venue"].value is None, "nothing is said about it: left unknown"
    assert p.roles["mlro"].value and "Omarov" in p.roles["mlro"].value


@pytest.mark.parametrize(("sentence", "fact", "value"), [
    ("The Company does not issue stablecoins.", "activities.stablecoin_issuer", False),
    ("The Company issues a stablecoin referenced to the US dollar.", "activities.stablecoin_issuer", True),
    ("If the Company issues a stablecoin, the Board approves the reserve policy first.", "activities.stablecoin_issuer", None),
    ("The Company may in future issue its own tokens.", "activities.stablecoin_issuer", None),
    ("We raised an issue about the tokens with the auditor.", "activities.stablecoin_issuer", None),
    ("Tokens issued by other firms may be admitted.", "activities.stablecoin_issuer", None),
    ("We do not use third-party custodians.", "third_party_custodians", False),
    ("Client assets are never held with a third-party custodian.", "third_party_custodians", False),
    ("The Company appoints a sub-custodian for cold storage.", "third_party_custodians", True),
    ("Services are not offered to retail clients.", "clients.retail", False),
    ("This section applies only to professional clients.", "clients.retail", None),
    ("The Company is non-custodial.", "activities.custodian", False),
    ("We do not offer staking or lending.", "activities.staking_lending", False),
    ("The Company does not operate an exchange.", "activities.trading_venue", False),
    ("The Company has applied for a licence from the AFSA.", "regime", None),
])
def test_inference_reads_statements_and_their_negations(sentence: str, fact: str, value: object) -> None:
    from agent import profile as profiles

    p = profiles.infer([profiles.Said("p.md", 3, 3, sentence)]).profile
    assert p.facts()[fact].value == value


# --- company.toml and the CLI ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "field"), [
    ("activities = [\"exchange\", \"teleportation\"]\n", "activities[1]"),
    ("regime = \"offshore\"\n", "regime"),
    ("third_party_custodians = \"no\"\n", "third_party_custodians"),
    ("licenses = [\"AFSA\"]\n", "licenses"),
    ("legal_name = \"Acme\nregime = 1\n", "not valid TOML"),
    ("clients = [\"everyone\"]\n", "clients[0]"),
    ("jurisdictions = [\"Atlantis\"]\n", "jurisdictions[0]"),
])
def test_invalid_company_toml_exits_2_naming_the_field(agent_exe: str, isolated: Path, text: str, field: str) -> None:
    folder = firm_folder(isolated / "pol", ["aifc"], seed=0)
    (folder.path / "company.toml").write_text(text, encoding="utf-8")
    res = cli(agent_exe, "run", "stablecoin KZ", "--policies", str(folder.path), "--out", "out", cwd=isolated)
    assert res.returncode == 2, res.stderr
    assert field in res.stderr and "company.toml" in res.stderr and "Traceback" not in res.stderr
    assert not (isolated / "out").exists(), "no work starts on a bad profile"
    res = cli(agent_exe, "run", "stablecoin KZ", "--profile", str(folder.path / "company.toml"), cwd=isolated)
    assert res.returncode == 2 and field in res.stderr


def test_missing_profile_file_exits_2(agent_exe: str, isolated: Path) -> None:
    res = cli(agent_exe, "run", "stablecoin KZ", "--profile", "nope.toml", cwd=isolated)
    assert res.returncode == 2 and "nope.toml" in res.stderr


def test_explicit_profile_wins_and_the_file_closes_the_activity_list(isolated: Path) -> None:
    folder = firm_folder(isolated / "pol", ["exchange", "issuer"], seed=2)
    toml = isolated / "firm.toml"
    toml.write_text('regime = "AIFC"\nactivities = ["custodian"]\n', encoding="utf-8")
    report = run("stablecoin KZ", isolated, folder.path, profile=toml)
    p = report.profile
    assert p.file == str(toml) and p.regime.origin == "file"
    assert p.activities["stablecoin_issuer"].value is False and p.activities["stablecoin_issuer"].origin == "file"
    assert p.legal_name.origin == "inferred", "what the file leaves out is still inferred"
    assert "KZ-AIFC-RES-001" in not_applicable(report) and "firm.toml" in not_applicable(report)["KZ-AIFC-RES-001"]
    assert VENUE & set(not_applicable(report))


def test_json_with_profile_and_not_applicable_validates(agent_exe: str, isolated: Path) -> None:
    res = cli(agent_exe, "run", "stablecoin KZ", "--policies", str(EXCHANGE), "--out", "out", "--json", cwd=isolated)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["profile"]["regime"] == {"value": "AIFC", "origin": "file", "evidence": []}
    assert doc["profile"]["activities"]["stablecoin_issuer"]["value"] is False
    na = {n["requirement_id"]: n for n in doc["not_applicable"]}
    assert "KZ-AIFC-RES-001" in na and na["KZ-AIFC-RES-001"]["reason"]
    assert not set(na) & {a["requirement_id"] for a in doc["assessments"]}


def test_profile_show_prints_each_field_with_its_origin(agent_exe: str, isolated: Path) -> None:
    folder = firm_folder(isolated / "pol", ["aifc", "custodian", "no_third_party"], seed=1)
    res = cli(agent_exe, "profile", "show", "--policies", str(folder.path), cwd=isolated)
    assert res.returncode == 0, res.stderr
    file, line, _ = folder.where["no_third_party"]
    row = next(x for x in res.stdout.splitlines() if x.strip().startswith("third_party_custodians"))
    assert "no" in row and f"inferred from {file} L{line}-{line}" in row
    assert any(x.strip().startswith("activities.mining") and "[default]" in x for x in res.stdout.splitlines())
    res = cli(agent_exe, "profile", "show", "--policies", str(EXCHANGE), "--json", cwd=isolated)
    assert json.loads(res.stdout)["activities"]["custodian"] == {"value": True, "origin": "file", "evidence": []}


def test_profile_init_from_flags_writes_a_profile_the_run_reads_back(agent_exe: str, isolated: Path) -> None:
    res = cli(agent_exe, "profile", "init", "--name", "Kestrel Vault Ltd", "--jurisdiction", "Kazakhstan", "--regime", "aifc",
              "--activity", "custodian", "--activity", "exchange", "--client", "professional",
              "--no-third-party-custodians", "--role", "mlro=Head of Financial Crime", "--licence", "AFSA licence: Providing Custody",
              cwd=isolated)
    assert res.returncode == 0, res.stderr
    data = tomllib.loads((isolated / "company.toml").read_text(encoding="utf-8"))
    assert data == {"legal_name": "Kestrel Vault Ltd", "jurisdictions": ["KZ"], "regime": "AIFC",
                    "licences": ["AFSA licence: Providing Custody"], "activities": ["trading_venue", "custodian"],
                    "clients": ["professional"], "third_party_custodians": False, "roles": {"mlro": "Head of Financial Crime"}}
    again = cli(agent_exe, "profile", "init", "--name", "Other Ltd", cwd=isolated)
    assert again.returncode == 2 and "--force" in again.stderr
    assert "Kestrel" in (isolated / "company.toml").read_text(encoding="utf-8")
    forced = cli(agent_exe, "profile", "init", "--name", "Other Ltd", "--force", cwd=isolated)
    assert forced.returncode == 0 and "Other Ltd" in (isolated / "company.toml").read_text(encoding="utf-8")
    bad = cli(agent_exe, "profile", "init", "--activity", "teleportation", "--out", "x.toml", cwd=isolated)
    assert bad.returncode == 2 and "activities[0]" in bad.stderr and not (isolated / "x.toml").exists()


def test_profile_init_never_writes_into_the_policy_folder(agent_exe: str, isolated: Path) -> None:
    folder = firm_folder(isolated / "pol", ["aifc", "custodian"], seed=1)
    before = sorted(p.name for p in folder.path.iterdir())
    for out in (folder.path / "company.toml", folder.path / "sub" / "company.toml"):
        res = cli(agent_exe, "profile", "init", "--from-policies", str(folder.path), "--out", str(out), cwd=isolated)
        assert res.returncode == 2 and "policy folder" in res.stderr
    res = cli(agent_exe, "profile", "init", "--from-policies", ".", cwd=isolated / "pol")
    assert res.returncode == 2
    assert sorted(p.name for p in folder.path.iterdir()) == before


def test_profile_init_prefilled_from_a_folder_marks_what_was_inferred(agent_exe: str, isolated: Path) -> None:
    folder = firm_folder(isolated / "pol", ["aifc", "custodian", "not_issuer", "no_third_party"], seed=6)
    res = cli(agent_exe, "profile", "init", "--from-policies", str(folder.path), "--out", "firm.toml", cwd=isolated)
    assert res.returncode == 0, res.stderr
    text = (isolated / "firm.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert data["regime"] == "AIFC" and data["activities"] == ["custodian"] and data["third_party_custodians"] is False
    assert data["legal_name"] == folder.name
    file, line, _ = folder.where["no_third_party"]
    assert f"# inferred from {file} L{line}-{line}" in text
    report = run("custody AIFC", isolated, folder.path, profile=isolated / "firm.toml")
    assert report.profile.regime.origin == "file" and "KZ-AIFC-CUST-003" in not_applicable(report)


def test_profile_init_asks_on_a_terminal(isolated: Path, agent_exe: str) -> None:
    """Interactive: prompts for what flags leave out, defaults taken from the folder; run under a real pty."""
    import pty
    import select
    import time

    folder = firm_folder(isolated / "pol", ["aifc", "custodian"], seed=1)
    pid, fd = pty.fork()
    if pid == 0:  # child: the installed command, on the pty
        os.chdir(isolated)
        os.execv(agent_exe, [agent_exe, "profile", "init", "--from-policies", str(folder.path), "--name", "Kestrel Vault Ltd"])
    answers = iter([
        "",                      # jurisdictions: accept KZ (inferred)
        "",                      # regime: accept AIFC (inferred)
        "AFSA licence: Providing Custody",
        "custodian, teleport",   # invalid: asked again
        "custodian",
        "professional",
        "n",
        "mlro=Head of Financial Crime",
    ])
    out, deadline = b"", time.monotonic() + 60
    asked = 0
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        while out.count(b": ") > asked and out.rstrip().endswith((b":", b"]:")):
            asked = out.count(b": ")
            os.write(fd, (next(answers, "") + "\n").encode())
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out.decode(errors="replace")
    assert b"teleport" in out and b"not an activity" in out, "an invalid answer is explained and asked again"
    data = tomllib.loads((isolated / "company.toml").read_text(encoding="utf-8"))
    assert data["legal_name"] == "Kestrel Vault Ltd"
    assert data["regime"] == "AIFC" and data["jurisdictions"] == ["KZ"]
    assert data["activities"] == ["custodian"] and data["clients"] == ["professional"]
    assert data["third_party_custodians"] is False and data["roles"] == {"mlro": "Head of Financial Crime"}
    assert data["licences"] == ["AFSA licence: Providing Custody"]


def test_rerun_with_a_profile_changes_what_applies(agent_exe: str, isolated: Path) -> None:
    folder = firm_folder(isolated / "pol", ["exchange"], seed=0)
    first = cli(agent_exe, "run", "stablecoin KZ", "--policies", str(folder.path), "--out", "out", "--json", cwd=isolated)
    doc = json.loads(first.stdout)
    assert "KZ-AIFC-RES-001" in {a["requirement_id"] for a in doc["assessments"]}
    (isolated / "firm.toml").write_text('regime = "AIFC"\nactivities = ["trading_venue"]\n', encoding="utf-8")
    rid = doc["run"]["id"]
    res = cli(agent_exe, "runs", "rerun", rid, "--from", "gaps", "--profile", "firm.toml", "--json", cwd=isolated)
    assert res.returncode == 0, res.stderr
    second = json.loads(res.stdout)
    assert second["run"]["version"] == 2
    assert "KZ-AIFC-RES-001" in {n["requirement_id"] for n in second["not_applicable"]}
    assert "KZ-AIFC-RES-001" in second["comparison"]["requirements_removed"]
    res = cli(agent_exe, "runs", "rerun", rid, "--from", "drafts", "--profile", "firm.toml", cwd=isolated)
    assert res.returncode == 2 and "gaps" in res.stderr


def test_chat_run_and_profile_command_use_the_same_profile(isolated: Path) -> None:
    from agent.chat import Session
    from agent.settings import Settings

    printed: list[str] = []
    s = Session(Settings(_env_file=None, AGENT_ENGINE="embedded"), db_path=isolated / ".agent" / "runs.sqlite",
                out_dir=isolated / "out", policies=EXCHANGE, read=lambda _: "n")
    s.out = lambda text, style=None: printed.append(text)  # type: ignore[method-assign]
    s.command("/profile")
    assert "Irbis Digital Exchange Ltd" in printed[-1] and "file" in printed[-1]
    s.command("/run stablecoin KZ")
    assert "do not apply to this firm" in printed[-1] and "KZ-AIFC-RES-001" in printed[-1]
    s.saver.conn.close()


def test_a_pack_requirement_without_applies_to_is_refused() -> None:
    from agent.knowledge.schema import Pack

    data = json.loads((ROOT / "agent" / "knowledge" / "data" / "kz.json").read_text(encoding="utf-8"))
    del data["requirements"][3]["applies_to"]
    with pytest.raises(ValueError, match="applies_to is required"):
        Pack.model_validate(data)
    data = json.loads((ROOT / "agent" / "knowledge" / "data" / "kz.json").read_text(encoding="utf-8"))
    data["requirements"][0]["unless"] = [{"fact": "favourite_colour", "equals": True, "statement": "x"}]
    with pytest.raises(ValueError, match="unknown profile fact"):
        Pack.model_validate(data)


def test_inference_on_a_huge_single_sentence_finishes(isolated: Path) -> None:
    """A 2 MB sentence full of statements and passing mentions: inference stays linear (generous hang guard)."""
    import threading

    from agent import profile as profiles

    chunk = ("the Company does not use third-party custodians and we hold client assets, retail clients are "
             "not accepted, Acme Holdings Ltd (\"the Exchange\") issues tokens; ")
    said = [profiles.Said("big.md", 1, 1, chunk * (2_000_000 // len(chunk)))]
    box: list = []
    t = threading.Thread(target=lambda: box.append(profiles.infer(said)), daemon=True)
    t.start()
    t.join(120)
    assert box, "inference did not finish"
    p = box[0].profile
    assert p.third_party_custodians.value is False and p.clients["retail"].value is False


def test_chat_with_an_invalid_profile_exits_2(agent_exe: str, isolated: Path) -> None:
    (isolated / "bad.toml").write_text("regime = 3\n", encoding="utf-8")
    res = cli(agent_exe, "chat", "--profile", "bad.toml", "--list", cwd=isolated)
    assert res.returncode == 2 and "bad.toml: regime" in res.stderr


def test_query_outside_the_firms_jurisdictions_is_flagged(isolated: Path) -> None:
    report = run("stablecoin Germany", isolated, EXCHANGE)
    assert any("names KZ" in w and "Germany" in w for w in report.run.warnings)
    assert all(r.baseline for r in report.requirements)
    assert {"INTL-FSB-RES-001", "INTL-FSB-RED-001"} <= set(not_applicable(report)), "issuer baseline rules too"


@pytest.mark.parametrize("seed", range(6))
def test_a_scan_keeps_every_sentence_inference_reads(tmp_path: Path, seed: int) -> None:
    """A large folder sends only the sentences that can describe the firm; the profile must not change."""
    from agent import profile as profiles
    from agent.assess import prepare
    from tests.firmgen import PHRASES
    from tools.policies import read_policies

    keys = sorted(PHRASES)
    folders = {3: EXAMPLES, 4: ROOT / "examples" / "exchange"}
    folder = folders.get(seed) or firm_folder(tmp_path / "pol", keys if seed == 5 else keys[seed::3], seed=seed).path
    said = profiles.sentences_of(prepare(d.path, d.lines) for d in read_policies(folder).documents)
    kept = [s for s in said if profiles.relevant(s.text)]
    assert len(kept) < len(said)
    assert profiles.infer(kept) == profiles.infer(said)
