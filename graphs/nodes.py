"""Pipeline nodes: small functions from state to a state update, each recording its step."""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from agent import applicability, cancel, conflicts, drafting, embedded, live, prompts
from agent import assess as coverage
from agent import gaps as gapmod
from agent import profile as profiles
from agent import report as reporting
from agent import scan as scanning
from agent.knowledge import load
from agent.knowledge.schema import PackRequirement
from agent.llm import ModelError
from agent.models import (
    Assessment,
    Citation,
    DraftOutput,
    Engine,
    PolicyInput,
    Requirement,
    Source,
    StepRecord,
    StepStatus,
)
from agent.scan import FolderScan
from graphs.context import RunContext, embedded_context
from graphs.state import AssessTask, DraftTask, FetchTask, PipelineState, SearchTask

Update = dict[str, Any]


@dataclass
class Step:
    """What a node returns: its state update, and how its step is recorded."""

    update: Update = field(default_factory=dict)
    detail: str = ""
    engine: Engine = "embedded"
    status: StepStatus = "completed"
    tokens: tuple[int, int] = (0, 0)


def step(name: str) -> Callable[[Callable[..., Step | Update]], Callable[..., Update]]:
    """Time a node and append its StepRecord; a node returning a plain update records its own step."""

    def wrap(fn: Callable[..., Step | Update]) -> Callable[..., Update]:
        @functools.wraps(fn)
        def run(state: Any, runtime: Any = None) -> Update:
            ctx = getattr(runtime, "context", None) or embedded_context()
            t0 = time.perf_counter()
            result = fn(state, ctx)
            if not isinstance(result, Step):
                return result
            record = StepRecord(
                step=name, engine=result.engine, status=result.status,
                duration_s=round(time.perf_counter() - t0, 4), tokens_in=result.tokens[0], tokens_out=result.tokens[1],
                detail=result.detail, version=ctx.version,
            )
            return {**result.update, "steps": [record]}

        # LangGraph injects `runtime` by reading the signature; without this it would read fn's.
        del run.__wrapped__
        return run

    return wrap


def fallback(done: Step, err: Exception, what: str) -> Step:
    """Mark a node as served by the embedded engine after a live failure, and say why."""
    warnings = [*done.update.get("warnings", []), f"{what}: live engine failed ({err}); the embedded engine served this step."]
    return Step({**done.update, "warnings": warnings}, f"fallback: {err}; {done.detail}", "embedded", "degraded", done.tokens)


@step("scope")
def scope_node(state: PipelineState, ctx: RunContext) -> Step:
    pack, baseline = embedded.select_pack(state["scope"])
    warnings = [f"Query: {note}" for note in state["scope"].notes]
    hint = f" ({state['scope'].regime_hint})" if state["scope"].regime_hint else ""
    if baseline:
        warnings.append(
            f"No knowledge pack for {state['scope'].jurisdiction_name}: requirements come from the "
            "international baseline (FATF, FSB, IOSCO) and are not local law."
        )
    return Step({
        "pack": pack.code, "pack_version": pack.version, "pack_as_of": pack.as_of,
        "baseline": baseline, "regimes": dict(pack.regimes), "warnings": warnings,
    }, f"{', '.join(state['scope'].topics)} — {state['scope'].jurisdiction_name}{hint}; pack {pack.code} v{pack.version}")


@step("research")
def research_node(state: PipelineState, ctx: RunContext) -> Step:
    """Pack research always; with a search key, also plan web queries for the search fan-out."""
    scope = state["scope"]
    sources, findings, requirements, elements = embedded.research(scope)
    update: Update = {"sources": sources, "findings": findings, "requirements": requirements, "elements": elements,
                      "queries": [], "warnings": []}
    if not requirements:
        update["warnings"].append("The knowledge pack holds no requirement for this scope: assessment is limited.")
    detail = f"{len(sources)} pack sources, {len(findings)} findings, {len(requirements)} requirements"
    if ctx.search is None:
        update["warnings"].append("Web research not performed: no TAVILY_API_KEY; the knowledge pack was searched instead.")
        return Step(update, detail)
    n = min(ctx.settings.max_searches, 6)
    if ctx.client is None:
        update["queries"] = [q.model_dump() for q in live.template_plan(scope, n)]
        return Step(update, f"{detail}; {n} templated web queries (no model to plan)")
    try:
        queries, usage = live.plan(ctx.client, scope, ctx.today, n)
    except ModelError as err:
        update["queries"] = [q.model_dump() for q in live.template_plan(scope, n)]
        return fallback(Step(update, f"{detail}; templated web queries"), err, "Research planning")
    update["queries"] = [q.model_dump() for q in queries]
    return Step(update, f"{detail}; {len(queries)} planned web queries", "live", tokens=(usage.tokens_in, usage.tokens_out))


@step("search")
def search_node(task: SearchTask, ctx: RunContext) -> Step:
    from tools.search import SearchError

    q = task["query"]
    try:
        results = ctx.search(q["query"], include_domains=q.get("include_domains") or None, max_results=5)  # type: ignore[misc]
    except SearchError as err:
        return Step({"search_results": [], "warnings": [f"Web search \"{q['query']}\" failed ({err.kind}): {err}"]},
                    f"failed: {err.kind}", "live", "degraded")
    if not results:
        return Step({"search_results": [], "warnings": [f"Web search \"{q['query']}\" found nothing."]}, "0 results", "live")
    return Step({"search_results": [r.model_dump() for r in results]}, f"{len(results)} results: {q['query']}", "live")


def join_node(state: PipelineState) -> Update:
    """Waits for every search branch, so the fetch fan-out is decided once, on all results."""
    return {}


@step("fetch")
def fetch_node(task: FetchTask, ctx: RunContext) -> Step:
    from tools.fetch import FetchError

    r = task["result"]
    try:
        page = ctx.fetch(r["url"])  # type: ignore[misc]
        text, retrieved = page.text, page.retrieved_at[:10]
        detail = f"fetched {r['url']}"
    except FetchError as err:
        # the search snippet is still a (weaker) source; the report says the page was not read
        text, retrieved, detail = r.get("content") or "", ctx.today, f"snippet only ({err.kind}): {r['url']}"
    source, stored = web_source(r, text, retrieved)
    return Step({"sources": [source], "texts": {source.id: stored}}, detail, "live")


MAX_SOURCE_TEXT = 20_000


def web_source(r: dict[str, Any], text: str, retrieved: str | None) -> tuple[Source, str]:
    sid = "web-" + hashlib.sha256(r["url"].encode()).hexdigest()[:10]
    source = Source(
        id=sid, title=r.get("title") or r["url"], url=r["url"], publisher=_host(r["url"]), tier=r["tier"],
        retrieved_at=date.fromisoformat(retrieved) if retrieved is not None else None, content_hash=hashlib.sha256(text.encode()).hexdigest(), origin="web",
    )
    return source, text[:MAX_SOURCE_TEXT]


def _unfetched_results(state: PipelineState) -> tuple[list[Source], dict[str, str]]:
    """Search results not fetched (fetch budget spent): their snippets are weaker sources, still cited."""
    have = {s.url for s in state["sources"]}
    out: list[Source] = []
    texts: dict[str, str] = {}
    for r in state.get("search_results", []):
        if r["url"] in have or not r.get("content"):
            continue
        have.add(r["url"])
        src, text = web_source(r, r["content"], None)
        out.append(src.model_copy(update={"title": src.title + " (search snippet; page not read)"}))
        texts[src.id] = text
    return out, texts


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or url


@step("analyze")
def analyze_node(state: PipelineState, ctx: RunContext) -> Step:
    scope = state["scope"]
    update: Update = {}
    done: Step | None = None
    snippets, snippet_texts = _unfetched_results(state)
    if snippets:
        update = {"sources": snippets, "texts": snippet_texts}
    web = [s for s in [*state["sources"], *snippets] if s.origin == "web"]
    if ctx.search is not None and not web:
        update["warnings"] = ["Web research found no usable source: conclusions rest on the knowledge pack only."]
    if ctx.client is not None and web:
        texts = {**embedded.source_texts(scope.jurisdiction), **state.get("texts", {}), **snippet_texts}
        try:
            analysis, web_reqs, warnings, usage = live.analyze(ctx.client, scope, ctx.today, [*state["sources"], *snippets], texts)
        except ModelError as err:
            done = fallback(Step(update), err, "Analysis")
        else:
            kept = [r for r in state["requirements"] if "-WEB-" not in r.id]  # a re-run replaces earlier web requirements
            return Step({**update, "analysis": analysis, "requirements": [*kept, *web_reqs],
                         "warnings": [*update.get("warnings", []), *warnings]},
                        f"status {analysis.status}; {len(web_reqs)} requirements from web sources", "live",
                        tokens=(usage.tokens_in, usage.tokens_out))
    done = done or Step(update)
    analysis = embedded.analyze(scope, state["findings"], state["requirements"], state["sources"])
    return replace(done, update={**done.update, "analysis": analysis},
                   detail=done.detail + f"status {analysis.status}; confidence {analysis.confidence_level}")


@step("verify")
def verify_node(state: PipelineState, ctx: RunContext) -> Step:
    """Mark each quote verified only if it appears in the stored text of its source."""
    texts = {**embedded.source_texts(state["scope"].jurisdiction), **state.get("texts", {})}
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
    return Step({
        "requirements": requirements, "analysis": analysis,
        "warnings": [f"{len(set(unverified))} quote(s) could not be verified against source text."] if unverified else [],
    }, f"{total - len(unverified)}/{total} quotes verified")


# --- policies and assessment ----------------------------------------------------

# Folder scans of this process by (folder, digest, what was scanned for): the assessment branches judge
# from the scan read_policies made; a branch that finds none (a resumed run in a new process) scans the
# folder again, once for all branches. Only findings are held, never the documents' text.
_SCANS: OrderedDict[tuple[str, str, str], tuple[FolderScan, list[str]]] = OrderedDict()
_SCANS_LOCK = threading.Lock()
_SCANS_KEPT = 4


def scan_spec(requirements: Sequence[Requirement], jurisdiction: str, live: bool) -> dict[str, Any]:
    """What the folder is scanned for: the requirements with coverage rules, and each domain's words (for the model)."""
    ids = [r.id for r in requirements if pack_requirement(r.id, jurisdiction) is not None]
    by_domain: dict[str, list[Requirement]] = {}
    for r in requirements:
        by_domain.setdefault(r.domain, []).append(r)
    topics = {d: sorted(scanning.topic_words(f"{r.title} {r.obligation}" for r in reqs)) for d, reqs in by_domain.items()}
    return {"requirement_ids": ids, "jurisdiction": jurisdiction, "topics": topics, "live": live}


def _scan(policies_dir: str, spec: dict[str, Any], ctx: RunContext) -> FolderScan:
    reqs = [r for rid in spec["requirement_ids"] if (r := pack_requirement(rid, spec["jurisdiction"]))]
    topics = {d: frozenset(words) for d, words in spec["topics"].items()} if spec.get("live") else None
    return scanning.scan_folder(policies_dir, reqs, topics=topics, workers=ctx.settings.scan_workers,
                                cancelled=cancel.CANCEL)


def _remember(key: tuple[str, str, str], value: tuple[FolderScan, list[str]]) -> None:
    _SCANS[key] = value
    _SCANS.move_to_end(key)
    while len(_SCANS) > _SCANS_KEPT:
        _SCANS.popitem(last=False)


def _spec_key(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def folder_scan(policies_dir: str | None, digest: str, spec: dict[str, Any], ctx: RunContext) -> tuple[FolderScan | None, list[str]]:
    """The scan read_policies made of the folder (scanned again if this process has not seen it)."""
    if not policies_dir:
        return None, []
    key = (policies_dir, digest, _spec_key(spec))
    with _SCANS_LOCK:  # branches arriving together wait for one scan instead of each making one
        found = _SCANS.get(key)
        if found is None:
            scan = _scan(policies_dir, spec, ctx)
            changed = scan.digest != digest
            found = scan, ["The policy folder changed while the run was in progress; the newer contents were assessed."] if changed else []
            _remember(key, found)
        return found


@step("read_policies")
def read_policies_node(state: PipelineState, ctx: RunContext) -> Step:
    folder_path = state.get("policies_dir")
    if not folder_path:
        return Step({
            "policy_input": PolicyInput(folder=None), "policy_digest": "", "policy_scan": {}, "assessments": None,
            "warnings": ["No policy folder given (--policies): every requirement is insufficient_evidence and drafts are full starter policies."],
        }, "no policy folder given", status="skipped")
    spec = scan_spec(state["requirements"], state["scope"].jurisdiction, live=ctx.client is not None)
    scan = _scan(folder_path, spec, ctx)
    with _SCANS_LOCK:
        _remember((folder_path, scan.digest, _spec_key(spec)), (scan, []))
    how = ("in this process" if scan.workers == 1 else f"by {scan.workers} processes") + (f" ({scan.fallback})" if scan.fallback else "")
    return Step({
        "policy_input": PolicyInput(folder=folder_path, documents=tuple(d.path for d in scan.documents), warnings=scan.warnings),
        "policy_digest": scan.digest, "policy_scan": spec, "assessments": None,
        "warnings": [f"Policy folder: {w}" for w in scan.warnings],
    }, f"{len(scan.documents)} documents from {scan.files_read} of {len(scan.files)} files, scanned {how} "
       f"for {len(spec['requirement_ids'])} requirements; {len(scan.warnings)} warnings")


@step("profile")
def profile_node(state: PipelineState, ctx: RunContext) -> Step:
    """Who the firm is (company.toml, then what its policies state) and which requirements bind it."""
    from pathlib import Path

    scope = state["scope"]
    spec = state.get("policy_scan") or scan_spec(state["requirements"], scope.jurisdiction, live=ctx.client is not None)
    scan, warnings = folder_scan(state.get("policies_dir"), state.get("policy_digest", ""), spec, ctx)
    explicit, folder = state.get("profile_path"), state.get("policies_dir")
    profile, notes = profiles.effective(Path(explicit) if explicit else None, Path(folder) if folder else None,
                                        list(scan.said) if scan is not None else [], state.get("profile_fields"))
    pack_reqs = {r.id: pr for r in state["requirements"] if (pr := pack_requirement(r.id, scope.jurisdiction))}
    result = applicability.split(state["requirements"], pack_reqs, profile, scope.topics)
    warnings += [*notes, *result.notes]
    if not profile.restricts:
        warnings.append(("No firm profile: no company.toml was given and the policies state" if profile.is_empty else
                         "The firm profile states") + " nothing about the firm's regime, activities, clients or custodians, "
                        "so every requirement selected for the query applies. Describe the firm in company.toml "
                        "(agent profile init) to exclude what does not apply to it.")
    if profile.jurisdictions.value and scope.jurisdiction not in profile.jurisdictions.value:
        warnings.append(f"The firm's profile names {', '.join(profile.jurisdictions.value)}; the query asks about "
                        f"{scope.jurisdiction_name}.")
    origins = [f.origin for f in profile.facts().values()]
    source = (f"{origins.count('file')} fields from {Path(profile.file).name}, " if profile.file else "") + \
        f"{origins.count('inferred')} inferred"
    return Step({
        "profile": profile, "not_applicable": result.not_applicable, "requirements": result.applicable,
        "warnings": warnings,
    }, f"{source}; {len(result.applicable)} requirements apply, {len(result.not_applicable)} not applicable")


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
def assess_node(task: AssessTask, ctx: RunContext) -> Step:
    """Embedded rules for pack requirements; the model, when configured, judges every requirement."""
    spec = task.get("scan") or scan_spec(task["requirements"], task["jurisdiction"], live=ctx.client is not None)
    if ctx.client is not None and not spec.get("live"):
        spec = {**spec, "live": True}  # resumed with a model configured: the model needs passages
    scan, warnings = folder_scan(task["policies_dir"], task["policy_digest"], spec, ctx)
    findings = scan.findings if scan is not None else ()
    pack_reqs = [r for rid in task["requirement_ids"] if (r := pack_requirement(rid, task["jurisdiction"]))]
    results = {r.id: coverage.assess_requirement(r, findings) for r in pack_reqs}
    if scan is not None:
        results = {a.requirement_id: a for a in conflicts.merge_all(list(results.values()), scan.conflicts)}
    web_reqs = [r for r in task["requirements"] if r.id not in results]
    done = Step({"warnings": warnings})
    if ctx.client is not None and scan is not None and scan.documents:
        try:
            judged, usage = live.assess(ctx.client, task["requirements"], list(scan.passages.get(task["domain"], ())),
                                        scan.docs())
        except ModelError as err:
            done = fallback(done, err, f"Assessment of {task['domain']}")
        else:
            # A model verdict replaces the rules' one when it brings evidence found in the policy text, or
            # when the rules found none; it never erases quoted evidence the rules did find.
            # Nor does it erase a statement the rules found contradicting the rule's figures.
            for rid, a in judged.items():
                rule = results.get(rid)
                if rule is None or a.evidence or (a.status == "not_met" and not rule.evidence):
                    results[rid] = conflicts.merge(a, rule.conflicts) if rule is not None else a
            done = replace(done, engine="live", tokens=(usage.tokens_in, usage.tokens_out))
    for web_req in web_reqs:
        results.setdefault(web_req.id, Assessment(
            requirement_id=web_req.id, status="insufficient_evidence",
            rationale="No coverage rule exists for this web-sourced requirement and no model verdict was available.",
        ))
    counts: dict[str, int] = {}
    for a in results.values():
        counts[a.status] = counts.get(a.status, 0) + 1
    return replace(done, update={**done.update, "assessments": list(results.values())},
                   detail=done.detail + f"{task['domain']}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))


def passages_for(requirements, docs, limit: int = scanning.PASSAGES) -> list[tuple[str, int, int, str]]:  # noqa: ANN001
    """Policy sentences most related to the requirements (word overlap), for the model to judge.

    The scan computes the same passages while it reads the folder (FolderScan.passages); this is for
    documents already in memory.
    """
    return scanning.passages(docs, scanning.topic_words(f"{r.title} {r.obligation}" for r in requirements), limit)


@step("gaps")
def gaps_node(state: PipelineState, ctx: RunContext) -> Step:
    domain_of = {r.id: r.domain for r in state["requirements"]}
    status = coverage.compliance_status(domain_of, state.get("assessments", []))
    titles = {s.id: s.title for s in state.get("sources", [])}
    found = gapmod.build_gaps(state["requirements"], state.get("assessments", []), status, titles)
    return Step({"compliance_status": status, "gaps": found, "drafts": None},
                f"{len(found)} gaps: " + ", ".join(f"{g.id} {g.priority}" for g in found))


@step("draft")
def draft_node(task: DraftTask, ctx: RunContext) -> Step:
    st = task["state"]
    gap = task["gap"]
    args = (gap, st["requirements"], {a.requirement_id: a for a in st.get("assessments", [])},
            st["elements"], {s.id: s for s in st["sources"]}, st["scope"], st["regimes"], str(st["pack_as_of"]))
    firm = st.get("profile")
    draft = drafting.draft_for_gap(*args, profile=firm)
    if ctx.client is None:
        return Step({"drafts": [draft]}, f"{draft.file_name} ({draft.kind})")
    evidence = [e for a in st.get("assessments", []) if a.requirement_id in gap.requirement_ids for e in a.evidence]
    context = "\n".join(prompts.fence(f"{e.file} L{e.line_start}-{e.line_end}", e.quote) for e in evidence[:12]) or "(no existing policy text)"
    gap_text = f"{gap.id} ({gap.priority}): {gap.requirement}. {gap.gap}"
    open_reqs = [r for r in st["requirements"] if r.id in gap.requirement_ids]
    generic = {r.id: drafting.statement(r.obligation) for r in open_reqs}
    try:
        tailored, usage = live.draft(ctx.client, gap_text, context, open_reqs, st["elements"], generic)
    except ModelError as err:
        return fallback(Step({"drafts": [draft]}, draft.file_name), err, f"Drafting {gap.id}")
    tokens = (usage.tokens_in, usage.tokens_out)
    if not tailored:
        return Step({"drafts": [draft], "warnings": [
            f"Drafting {gap.id}: the model returned no section for the gap's requirement ids; the embedded draft was kept."]},
            f"{draft.file_name} (model draft rejected)", "embedded", "degraded", tokens)
    detail = f"{draft.file_name} ({draft.kind}); {len(tailored)}/{len(open_reqs)} sections tailored"
    return Step({"drafts": [drafting.draft_for_gap(*args, tailored=tailored, profile=firm)]}, detail, "live", tokens=tokens)


@step("write_outputs")
def write_node(state: PipelineState, ctx: RunContext) -> Step:
    from agent.render.docx import draft_docx
    from tools.writer import SafeWriter

    order = {g.id: i for i, g in enumerate(state.get("gaps", []))}
    drafts = sorted(state.get("drafts", []), key=lambda d: order.get(d.gap_ids[0], 99))
    outputs: list[DraftOutput] = []
    if state.get("write_drafts") is False:
        outputs = [DraftOutput(gap_ids=d.gap_ids, title=d.title, category=d.category, kind=d.kind, modifies=d.modifies,
                               path=d.file_name, action="proposed") for d in drafts]
        return Step({"outputs": outputs}, f"{len(outputs)} drafts proposed, none written (awaiting confirmation)")
    with SafeWriter(state["out_dir"]) as writer:
        for d in drafts:
            res = writer.write(d.file_name, d.body)
            word = (writer.write_bytes(d.docx_name, draft_docx(d.document))
                    if d.document is not None and "docx" in (state.get("report_formats") or reporting.FORMATS) else None)
            outputs.append(DraftOutput(
                gap_ids=d.gap_ids, title=d.title, category=d.category, kind=d.kind, modifies=d.modifies,
                path=res.path, action=res.action, written_as=res.written_as, docx=word,
            ))
        if drafts:
            summary = drafting.implementation_summary(state["gaps"], drafts, state["scope"], state.get("profile"))
            res = writer.write("IMPLEMENTATION_SUMMARY.md", summary)
            outputs.append(DraftOutput(
                gap_ids=tuple(g.id for g in state["gaps"]), title="Implementation Summary", category="Summary",
                kind="new", path=res.path, action=res.action, written_as=res.written_as,
            ))
    kept = [(o.path, o.written_as) for o in outputs if o.action == "kept_human_edit"]
    kept += [(o.docx.path, o.docx.written_as) for o in outputs if o.docx is not None and o.docx.action == "kept_human_edit"]
    warnings = [
        f"{path} was edited by a person since the agent wrote it; it was kept and the new version was written to {written_as}."
        for path, written_as in kept
    ]
    counts = {a: sum(1 for o in outputs if o.action == a) for a in ("written", "unchanged", "kept_human_edit")}
    return Step({"outputs": outputs, "warnings": warnings},
                ", ".join(f"{n} {a.replace('_', ' ')}" for a, n in counts.items() if n) or "nothing to write")


@step("report")
def report_node(state: PipelineState, ctx: RunContext) -> Update:
    """Write the report; it records its own step so the report lists every step, itself included."""
    t0 = time.perf_counter()
    finished = datetime.now(UTC).isoformat(timespec="seconds")
    files = reporting.report_files(state["run_id"], state.get("version", 1), state.get("report_formats") or reporting.FORMATS)
    record = StepRecord(
        step="report", engine="embedded", status="completed",
        duration_s=round(time.perf_counter() - t0, 4), detail=", ".join(files), version=ctx.version,
    )
    prices = (ctx.settings.price_in_per_mtok, ctx.settings.price_out_per_mtok)
    # Runs checkpointed before the previous report moved to the context still carry it in their state.
    previous = ctx.previous if ctx.previous is not None else state.get("previous")
    report = reporting.write_report({**state, "previous": previous, "steps": [*state.get("steps", []), record]},
                                    finished, prices)
    return {"report": report, "steps": [record]}
