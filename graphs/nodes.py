"""Pipeline nodes: small functions from state to a state update, each recording its step."""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from agent import assess as coverage
from agent import drafting, embedded, gaps as gapmod, report as reporting
from agent.knowledge import load
from agent.knowledge.schema import PackRequirement
from agent.models import Citation, DraftOutput, PolicyInput, StepRecord
from graphs.state import AssessTask, DraftTask, PipelineState

Update = dict[str, Any]


def step(name: str) -> Callable[[Callable[..., Update]], Callable[..., Update]]:
    """Time a node and append its StepRecord (engine and detail come from the node's update)."""

    def wrap(fn: Callable[..., Update]) -> Callable[..., Update]:
        @functools.wraps(fn)
        def run(state: Any) -> Update:
            t0 = time.perf_counter()
            update = fn(state)
            detail = update.pop("_detail", "")
            engine = update.pop("_engine", "embedded")
            status = update.pop("_status", "completed")
            record = StepRecord(
                step=name, engine=engine, status=status,
                duration_s=round(time.perf_counter() - t0, 4), detail=detail,
            )
            update.setdefault("steps", [record])
            return update

        return run

    return wrap


@step("scope")
def scope_node(state: PipelineState) -> Update:
    pack, baseline = embedded.select_pack(state["scope"])
    warnings = []
    if baseline:
        warnings.append(
            f"No knowledge pack for {state['scope'].jurisdiction_name}: requirements come from the "
            "international baseline (FATF, FSB, IOSCO) and are not local law."
        )
    return {
        "pack": pack.code, "pack_version": pack.version, "pack_as_of": pack.as_of,
        "baseline": baseline, "regimes": dict(pack.regimes), "warnings": warnings,
        "_detail": f"{', '.join(state['scope'].topics)} — {state['scope'].jurisdiction_name}; pack {pack.code} v{pack.version}",
    }


@step("research")
def research_node(state: PipelineState) -> Update:
    sources, findings, requirements, elements = embedded.research(state["scope"])
    warnings = ["Web research not performed: the embedded knowledge pack served research (no live engine configured)."]
    if not requirements:
        warnings.append("The knowledge pack holds no requirement for this scope: assessment is limited.")
    return {
        "sources": sources, "findings": findings, "requirements": requirements, "elements": elements,
        "warnings": warnings,
        "_detail": f"{len(sources)} sources, {len(findings)} findings, {len(requirements)} requirements",
    }


@step("analyze")
def analyze_node(state: PipelineState) -> Update:
    analysis = embedded.analyze(state["scope"], state["findings"], state["requirements"], state["sources"])
    return {"analysis": analysis, "_detail": f"status {analysis.status}; confidence {analysis.confidence_level}"}


@step("verify")
def verify_node(state: PipelineState) -> Update:
    """Mark each quote verified only if it appears in the stored text of its source."""
    texts = embedded.source_texts(state["scope"].jurisdiction)
    known = {s.id for s in state["sources"]}
    unverified: list[str] = []

    def check(c: Citation) -> Citation:
        if c.source_id not in known:
            unverified.append(f"citation to unknown source {c.source_id}")
            return c.model_copy(update={"verified": False})
        if not c.quote:
            return c
        ok = embedded.quote_in(c.quote, texts.get(c.source_id, ""))
        if not ok:
            unverified.append(f"[{c.source_id}] \"{c.quote}\"")
        return c.model_copy(update={"verified": ok})

    requirements = [r.model_copy(update={"citations": tuple(check(c) for c in r.citations)}) for r in state["requirements"]]
    a = state["analysis"]
    fix = lambda claims: tuple(cl.model_copy(update={"citations": tuple(check(c) for c in cl.citations)}) for cl in claims)  # noqa: E731
    analysis = a.model_copy(update={
        "detailed_analysis": fix(a.detailed_analysis),
        "key_regulatory_pillars": fix(a.key_regulatory_pillars),
        "important_considerations": fix(a.important_considerations),
        "awaiting_verification": tuple(dict.fromkeys(unverified)),
    })
    total = sum(1 for r in requirements for c in r.citations if c.quote) + sum(
        1 for cl in (*analysis.detailed_analysis, *analysis.key_regulatory_pillars, *analysis.important_considerations)
        for c in cl.citations if c.quote
    )
    return {
        "requirements": requirements, "analysis": analysis,
        "warnings": [f"{len(set(unverified))} quote(s) could not be verified against source text."] if unverified else [],
        "_detail": f"{total - len(unverified)}/{total} quotes verified",
    }


# --- policies and assessment ----------------------------------------------------

_PREPARED: dict[tuple[str, str], list[coverage.Doc]] = {}


def _digest(folder) -> str:
    h = hashlib.sha256()
    for d in folder.documents:
        h.update(f"{d.path}\0{d.sha256}\n".encode())
    return h.hexdigest()


def _read(policies_dir: str) -> tuple[Any, str, list[coverage.Doc]]:
    from tools.policies import read_policies

    folder = read_policies(policies_dir)
    digest = _digest(folder)
    docs = [coverage.prepare(d.path, d.lines) for d in folder.documents]
    _PREPARED[(policies_dir, digest)] = docs
    return folder, digest, docs


def prepared_docs(policies_dir: str | None, digest: str) -> tuple[list[coverage.Doc], list[str]]:
    """Documents read by read_policies (re-read if this process has not seen them)."""
    if not policies_dir:
        return [], []
    docs = _PREPARED.get((policies_dir, digest))
    if docs is not None:
        return docs, []
    _, new_digest, docs = _read(policies_dir)
    if new_digest != digest:
        return docs, ["The policy folder changed while the run was in progress; the newer contents were assessed."]
    return docs, []


@step("read_policies")
def read_policies_node(state: PipelineState) -> Update:
    folder_path = state.get("policies_dir")
    if not folder_path:
        return {
            "policy_input": PolicyInput(folder=None), "policy_digest": "", "assessments": None,
            "warnings": ["No policy folder given (--policies): every requirement is insufficient_evidence and drafts are full starter policies."],
            "_detail": "no policy folder given", "_status": "skipped",
        }
    folder, digest, _ = _read(folder_path)
    return {
        "policy_input": PolicyInput(folder=folder_path, documents=tuple(d.path for d in folder.documents), warnings=folder.warnings),
        "policy_digest": digest, "assessments": None,
        "warnings": [f"Policy folder: {w}" for w in folder.warnings],
        "_detail": f"{len(folder.documents)} documents, {len(folder.warnings)} skipped or warned",
    }


def pack_requirement(req_id: str, jurisdiction: str) -> PackRequirement | None:
    for code in (jurisdiction, "INTL"):
        try:
            pack = load(code)
        except Exception:  # noqa: BLE001 — a jurisdiction without a pack simply has none
            continue
        for r in pack.requirements:
            if r.id == req_id:
                return r
    return None


@step("assess")
def assess_node(task: AssessTask) -> Update:
    docs, warnings = prepared_docs(task["policies_dir"], task["policy_digest"])
    reqs = [r for rid in task["requirement_ids"] if (r := pack_requirement(rid, task["jurisdiction"]))]
    results = coverage.assess_all(reqs, docs)
    counts: dict[str, int] = {}
    for a in results:
        counts[a.status] = counts.get(a.status, 0) + 1
    return {
        "assessments": results, "warnings": warnings,
        "_detail": f"{task['domain']}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())),
    }


@step("gaps")
def gaps_node(state: PipelineState) -> Update:
    domain_of = {r.id: r.domain for r in state["requirements"]}
    status = coverage.compliance_status(domain_of, state.get("assessments", []))
    found = gapmod.build_gaps(state["requirements"], state.get("assessments", []), status)
    return {
        "compliance_status": status, "gaps": found, "drafts": None,
        "_detail": f"{len(found)} gaps: " + ", ".join(f"{g.id} {g.priority}" for g in found),
    }


@step("draft")
def draft_node(task: DraftTask) -> Update:
    st = task["state"]
    draft = drafting.draft_for_gap(
        task["gap"], st["requirements"], {a.requirement_id: a for a in st.get("assessments", [])},
        st["elements"], {s.id: s for s in st["sources"]}, st["scope"], st["regimes"], str(st["pack_as_of"]),
    )
    return {"drafts": [draft], "_detail": f"{draft.file_name} ({draft.kind})"}


@step("write_outputs")
def write_node(state: PipelineState) -> Update:
    from tools.writer import SafeWriter

    order = {g.id: i for i, g in enumerate(state.get("gaps", []))}
    drafts = sorted(state.get("drafts", []), key=lambda d: order.get(d.gap_ids[0], 99))
    outputs: list[DraftOutput] = []
    with SafeWriter(state["out_dir"]) as writer:
        for d in drafts:
            res = writer.write(d.file_name, d.body)
            outputs.append(DraftOutput(
                gap_ids=d.gap_ids, title=d.title, category=d.category, kind=d.kind, modifies=d.modifies,
                path=res.path, action=res.action, written_as=res.written_as,
            ))
        if drafts:
            summary = drafting.implementation_summary(state["gaps"], drafts, state["scope"])
            res = writer.write("IMPLEMENTATION_SUMMARY.md", summary)
            outputs.append(DraftOutput(
                gap_ids=tuple(g.id for g in state["gaps"]), title="Implementation Summary", category="Summary",
                kind="new", path=res.path, action=res.action, written_as=res.written_as,
            ))
    kept = [o for o in outputs if o.action == "kept_human_edit"]
    warnings = [
        f"{o.path} was edited by a person since the agent wrote it; it was kept and the new version was written to {o.written_as}."
        for o in kept
    ]
    counts = {a: sum(1 for o in outputs if o.action == a) for a in ("written", "unchanged", "kept_human_edit")}
    return {
        "outputs": outputs, "warnings": warnings,
        "_detail": ", ".join(f"{n} {a.replace('_', ' ')}" for a, n in counts.items() if n) or "nothing to write",
    }


@step("report")
def report_node(state: PipelineState) -> Update:
    """Write the report; it records its own step so the report lists every step, itself included."""
    t0 = time.perf_counter()
    finished = datetime.now(timezone.utc).isoformat(timespec="seconds")
    files = reporting.report_files(state["run_id"])
    record = StepRecord(
        step="report", engine="embedded", status="completed",
        duration_s=round(time.perf_counter() - t0, 4), detail=", ".join(files),
    )
    report = reporting.write_report({**state, "steps": [*state.get("steps", []), record]}, finished)
    return {"report": report, "steps": [record]}
