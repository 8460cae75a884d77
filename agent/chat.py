"""`agent chat`: a conversation over the project's tools, persisted per thread in the run database.

The conversation is a small LangGraph graph (respond ⇄ tools) checkpointed in the same database as
the runs, so `agent chat --thread ID` resumes with the full message history. With a model configured the
respond node is a tool-calling agent whose answers stream; without one, a question is answered from the
knowledge pack by retrieval, with citations, and the reply says so. Slash commands work in both modes.
Policies are written only after the user confirms in the session.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.models import ComparisonReport, RunReport, Source
from agent.storage.db import Database, Target, is_postgres
from agent.textsafe import clean_text

HELP = """Commands:
  /run <topic> <jurisdiction>   run the full analysis (e.g. /run stablecoin KZ; several to compare: /run stablecoin EU vs AE); drafts are proposed, not written
  /gaps                         the gaps found by the last run in this thread
  /drafts                       the drafts the last run proposed, and whether they were written
  /draft <GAP-ID>               write one proposed draft to the output folder (asks you first)
  /sources                      the sources behind the last answer or run
  /profile                      the firm profile /run uses, each field with its origin
  /history                      this thread's conversation so far
  /new                          start a new thread
  /quit                         leave (Ctrl-D also works; Ctrl-C stops the current answer)
Anything else is a question, e.g. "what capital does a custodian need in the AIFC?"."""


def new_thread_id() -> str:
    return f"chat-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


@dataclass
class ChatEnv:
    """What the tools may touch: the read-only policy folder, the output folder, the run database."""

    settings: Any
    db_path: Target  # the SQLite file or a postgresql:// URL
    out_dir: Path
    policies: Path | None
    confirm: Callable[[str], bool]
    progress: Any = None
    profile: Path | None = None  # --profile FILE; else company.toml in the policy folder, else inferred
    last_run_id: str | None = None
    sources: list[str] = field(default_factory=list)


# --- threads ------------------------------------------------------------------------------------

_THREADS = """CREATE TABLE IF NOT EXISTS agent_chats (
    thread_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, title TEXT, turns INTEGER NOT NULL DEFAULT 0)"""


def _db(db_path: Target) -> Database:
    db = Database(db_path)
    db.ensure(_THREADS)
    return db


def touch_thread(db_path: Target, thread_id: str, first_words: str) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with _db(db_path) as db:
        db.execute("INSERT INTO agent_chats (thread_id, created_at, updated_at, title, turns) VALUES (?, ?, ?, ?, 1) "
                   "ON CONFLICT (thread_id) DO UPDATE SET updated_at = excluded.updated_at, turns = agent_chats.turns + 1",
                   (thread_id, now, now, first_words[:60]))


def list_threads(db_path: Target) -> list[tuple[str, str, str, int]]:
    """(thread id, updated, title, turns), most recent first."""
    if not is_postgres(db_path) and not Path(db_path).exists():
        return []
    with _db(db_path) as db:
        return [tuple(r) for r in db.execute(
            "SELECT thread_id, updated_at, title, turns FROM agent_chats ORDER BY updated_at DESC, thread_id DESC")]


def thread_exists(db_path: Target, thread_id: str) -> bool:
    return any(t[0] == thread_id for t in list_threads(db_path))


# --- tools ----------------------------------------------------------------------------------------


def make_tools(env: ChatEnv) -> list[Any]:
    """The project's own tools, bound to this session. Results are text the model reads as data."""
    from langchain_core.tools import tool

    @tool
    def lookup_pack(question: str, jurisdiction: str = "") -> str:
        """Search the built-in knowledge pack (facts and requirements with their sources). jurisdiction: ISO code such as KZ, or empty."""
        from agent.retrieval import retrieve

        items = retrieve(question, [jurisdiction.upper()] if jurisdiction else [])
        env.sources += [sid for it in items for sid, _ in it.citations]
        from agent.retrieval import describe

        return "\n".join(f"{it.id}: {it.text}\n  sources: " + "; ".join(f"[{sid}] {loc} {describe(sid)}" for sid, loc in it.citations)
                         for it in items) or "no match"

    @tool
    def search_web(query: str) -> str:
        """Search the web (Tavily). Results are untrusted text; cite their URLs."""
        from agent.prompts import fence
        from tools.search import SearchError, tavily_search

        key = env.settings.tavily_api_key
        if key is None:
            return "web search is not configured (no TAVILY_API_KEY)"
        try:
            results = tavily_search(query, api_key=key.get_secret_value(), base_url=env.settings.tavily_base_url or None)
        except SearchError as err:
            return f"web search failed ({err.kind})"
        env.sources += [r.url for r in results]
        return "\n".join(fence(f"{r.url} ({r.tier})", r.content) for r in results) or "no results"

    @tool
    def fetch_page(url: str) -> str:
        """Read a public web page (http/https only; private addresses refused). The text is untrusted data."""
        from agent.prompts import fence
        from tools.fetch import FetchError, fetch

        try:
            page = fetch(url)
        except FetchError as err:
            return f"could not fetch: {err}"
        env.sources.append(url)
        return fence(url, page.text[:6000])

    @tool
    def list_policies() -> str:
        """List the documents in the company's policy folder (read-only)."""
        if env.policies is None:
            return "no policy folder was given (agent chat --policies DIR)"
        from tools.policies import read_policies

        folder = read_policies(env.policies)
        return "\n".join(f"{d.path} ({len(d.lines)} lines)" for d in folder.documents) or "the folder holds no readable policy"

    @tool
    def read_policy(name: str) -> str:
        """Read one document of the company's policy folder by its file name (read-only)."""
        if env.policies is None:
            return "no policy folder was given"
        from agent.prompts import fence
        from tools.policies import read_policies

        doc = next((d for d in read_policies(env.policies).documents if d.path == name), None)
        if doc is None:
            return f"no document named {name!r}; use list_policies"
        return fence(name, "\n".join(f"{i}: {t}" for i, t in enumerate(doc.lines, start=1))[:8000])

    @tool
    def show_profile() -> str:
        """The firm profile runs use (company.toml, else inferred from the policies): each field, its value and origin."""
        return profile_text(env)

    @tool
    def run_analysis(query: str) -> str:
        """Run the full research, gap analysis and drafting pipeline, e.g. query="stablecoin KZ". Drafts are proposed, not written."""
        return run_text(env, query)

    @tool
    def show_gaps() -> str:
        """The gaps found by the last run in this conversation."""
        return gaps_text(env)

    @tool
    def show_drafts() -> str:
        """The drafts proposed by the last run, and whether each was written."""
        return drafts_text(env)

    @tool
    def draft_policy(gap_id: str) -> str:
        """Write the proposed draft for one gap (e.g. GAP-003) to the output folder. The user is asked to confirm first."""
        return write_draft(env, gap_id)

    return [lookup_pack, search_web, fetch_page, list_policies, read_policy, show_profile, run_analysis, show_gaps,
            show_drafts, draft_policy]


# --- run-backed helpers (used by tools and slash commands) --------------------------------------


def run_in_chat(env: ChatEnv, query: str) -> RunReport:
    from agent.runner import run_pipeline
    from agent.scope import parse_scope

    scope = parse_scope(query)  # ScopeError is shown to the user by the caller
    report = run_pipeline(scope, policies=env.policies, out_dir=env.out_dir, db_path=env.db_path,
                          progress=env.progress, write_drafts=False, profile=env.profile)
    env.last_run_id = report.run.id
    env.sources = [s.id for s in report.sources]
    return report


def run_text(env: ChatEnv, query: str) -> str:
    """Run one jurisdiction (summary of its run) or several ("stablecoin EU vs Singapore": the comparison)."""
    from agent.scope import parse_scopes

    scopes = parse_scopes(query)  # ScopeError is shown to the user by the caller
    if len(scopes) == 1:
        return summarize_run(run_in_chat(env, query))
    from agent.runner import run_comparison

    compared = run_comparison(scopes, policies=env.policies, out_dir=env.out_dir, db_path=env.db_path,
                              progress=env.progress, write_drafts=False, profile=env.profile)
    return summarize_comparison(compared, env.out_dir)


def summarize_comparison(c: ComparisonReport, out_dir: Path) -> str:
    from agent.matrix import HEADLINE_ROWS

    lines = [f"Comparison {c.run_id}: {' vs '.join(col.label for col in c.columns)}"]
    for row in c.comparison_matrix:
        if row.key in HEADLINE_ROWS:
            lines.append(f"{row.label}: " + " | ".join(f"{col.label}: {cell.text[:120]}"
                                                        for col, cell in zip(c.columns, row.cells, strict=True)))
    lines.append(f"The full matrix, every cell cited: {out_dir / 'reports' / c.run_id / 'comparison.md'}")
    return "\n".join(lines)


def profile_text(env: ChatEnv) -> str:
    """The effective firm profile for this session's policy folder and --profile."""
    from agent.profile import effective, read_folder_sentences, rows

    said = read_folder_sentences(env.policies)[0] if env.policies is not None else []
    firm, notes = effective(env.profile, env.policies, said)
    if firm.is_empty:
        return ("No firm profile: no company.toml and nothing the policies state about the firm, so every requirement "
                "applies. `agent profile init` writes one.")
    lines = [f"Firm profile{' from ' + firm.file if firm.file else ''}:"]
    lines += [f"  {name}: {value} [{origin}]" for name, value, origin in rows(firm) if origin != "default"]
    return "\n".join([*lines, *notes])


def summarize_run(r: RunReport) -> str:
    a = r.analysis
    lines = [f"Run {r.run.id}: {r.run.scope.jurisdiction_name} — {', '.join(r.run.scope.topics)}: {a.status} (confidence {a.confidence_level}).",
             f"{len(r.requirements)} requirements, {len(r.gaps)} gaps, {len(r.sources)} sources; "
             f"{len(r.drafts)} drafts proposed (/drafts, /draft GAP-ID to write one)."]
    if r.not_applicable:
        lines.append(f"{len(r.not_applicable)} requirement(s) do not apply to this firm: "
                     + "; ".join(f"{n.requirement_id} ({n.reason})" for n in r.not_applicable[:6])
                     + (" …" if len(r.not_applicable) > 6 else ""))
    if r.comparison is not None:
        from agent.compare import summary_lines

        c = r.comparison
        lines += summary_lines(c) if c.unchanged else [f"Since run {c.previous_run_id}: " + "; ".join(summary_lines(c))]
    return "\n".join(lines)


def _last_report(env: ChatEnv) -> RunReport | None:
    if env.last_run_id is None:
        return None
    from agent.runstore import RunStore

    with RunStore(env.db_path) as store:
        return store.report(env.last_run_id)


def gaps_text(env: ChatEnv) -> str:
    r = _last_report(env)
    if r is None:
        return "No run in this thread yet: /run <topic> <jurisdiction>, e.g. /run stablecoin KZ."
    if not r.gaps:
        return f"Run {r.run.id} found no gaps."
    out = [f"Gaps of run {r.run.id} ({r.run.query}):"]
    for g in r.gaps:
        out.append(f"  {g.id} {g.priority:<8} {g.category}: {g.requirement}")
        out.append(f"      now: {g.current_status}")
    return "\n".join(out)


def drafts_text(env: ChatEnv) -> str:
    r = _last_report(env)
    if r is None:
        return "No run in this thread yet: /run <topic> <jurisdiction>."
    if not r.drafts:
        return "The last run proposed no drafts."
    written = _written_files(env.out_dir)
    out = [f"Drafts proposed by run {r.run.id} (output folder {env.out_dir}):"]
    for d in r.drafts:
        state = "written" if d.path in written else "not written"
        out.append(f"  {', '.join(d.gap_ids)}  {d.path}  ({d.kind}; {state})")
    out.append("Write one with /draft GAP-ID (you will be asked to confirm).")
    return "\n".join(out)


def _written_files(out_dir: Path) -> set[str]:
    from tools.writer import written_names

    return written_names(out_dir)


def write_draft(env: ChatEnv, gap_id: str) -> str:
    """Write one proposed draft, only after the user says yes."""
    if env.last_run_id is None:
        return "No run in this thread yet: /run <topic> <jurisdiction> first."
    from agent.storage import checkpointed
    from tools.writer import SafeWriter

    with checkpointed(env.db_path) as graph:
        values = graph.get_state({"configurable": {"thread_id": env.last_run_id}}).values
    gap_id = gap_id.strip().upper()
    draft = next((d for d in values.get("drafts", []) if gap_id in d.gap_ids), None)
    if draft is None:
        return f"No proposed draft for {gap_id}; /drafts lists them."
    target = env.out_dir / draft.file_name
    if not env.confirm(f"Write {draft.title} ({gap_id}) to {target}?"):
        return f"Not written: {draft.file_name} (you declined)."
    from agent.render.docx import draft_docx

    with SafeWriter(env.out_dir) as writer:
        res = writer.write(draft.file_name, draft.body)
        word = writer.write_bytes(draft.docx_name, draft_docx(draft.document)) if draft.document is not None else None
    said = []
    for r in (res, word):
        if r is None:
            continue
        if r.action == "kept_human_edit":
            said.append(f"{r.path} was edited by a person and was kept; the new version was written to {r.written_as}.")
        else:
            said.append(f"{r.action.replace('_', ' ').capitalize()}: {env.out_dir / r.path}")
    return "\n".join(said)


# --- the conversation graph -----------------------------------------------------------------------


def build_chat_graph(env: ChatEnv, model: Any | None, checkpointer: Any) -> Any:
    from langchain_core.messages import AIMessage, SystemMessage
    from langgraph.graph import END, START, StateGraph
    from langgraph.prebuilt import ToolNode, tools_condition

    from agent.prompts import CHAT_SYSTEM
    from graphs.chat_state import ChatState

    g = StateGraph(ChatState)
    if model is None:
        def respond(state: ChatState) -> dict:
            from agent.retrieval import answer
            from agent.scope import places_in

            question = state["messages"][-1].content
            places = [code for code, _ in places_in(question)]
            if not places and env.last_run_id:
                r = _last_report(env)
                places = [r.run.scope.jurisdiction] if r else []
            text, sources = answer(question, places)
            env.sources = sources
            return {"messages": [AIMessage(content=text)], "last_sources": sources}

        g.add_node("respond", respond)
        g.add_edge(START, "respond")
        g.add_edge("respond", END)
        return g.compile(checkpointer=checkpointer)

    tools = make_tools(env)
    bound = model.bind_tools(tools)

    def agent_node(state: ChatState) -> dict:
        from agent.cancel import call_bounded

        # Bounded and cancellable: Ctrl-C must not wait for a hanging server to answer.
        messages = [SystemMessage(content=CHAT_SYSTEM), *state["messages"][-40:]]
        reply = call_bounded(lambda: bound.invoke(messages), timeout=env.settings.model_timeout_s)
        return {"messages": [reply], "last_sources": list(dict.fromkeys(env.sources))}

    g.add_node("respond", agent_node)
    g.add_node("tools", ToolNode(tools, handle_tool_errors=True))
    g.add_edge(START, "respond")
    g.add_conditional_edges("respond", tools_condition, ["tools", END])
    g.add_edge("tools", "respond")
    return g.compile(checkpointer=checkpointer)


# --- the interactive session ----------------------------------------------------------------------


class Session:
    """One terminal session: reads lines, runs slash commands, answers questions, keeps the thread."""

    def __init__(self, settings: Any, *, db_path: Target, out_dir: Path, policies: Path | None,
                 thread_id: str | None = None, model: Any | None = None,
                 read: Callable[[str], str] = input, console: Any = None, profile: Path | None = None) -> None:
        from rich.console import Console

        from agent.progress import Progress
        from graphs.pipeline import open_checkpointer

        self.console = console or Console(highlight=False)
        self.read = read
        self.saver = open_checkpointer(db_path)
        self.model = model
        self.env = ChatEnv(settings=settings, db_path=db_path, out_dir=out_dir, policies=policies,
                           confirm=self.confirm, progress=Progress(enabled=None), profile=profile)
        self.graph = build_chat_graph(self.env, model, self.saver)
        self.resumed = thread_id is not None
        self.thread = thread_id or new_thread_id()

    # output helpers
    def out(self, text: str, style: str | None = None) -> None:
        # Model output and stored text may carry terminal escapes (from a fetched page, a file name).
        self.console.print(clean_text(text), style=style, markup=False, highlight=False)

    def confirm(self, question: str) -> bool:
        try:
            return clean_text(self.read(f"{question} [y/N] ")).strip().lower() in ("y", "yes")
        except (EOFError, KeyboardInterrupt):
            return False

    @property
    def config(self) -> dict:
        return {"configurable": {"thread_id": self.thread}, "recursion_limit": 24}

    def values(self) -> dict:
        return self.graph.get_state(self.config).values or {}

    def record(self, said: str, reply: str) -> None:
        """Slash commands and their results join the thread, so a resumed session sees them."""
        from langchain_core.messages import AIMessage, HumanMessage

        self.graph.update_state(self.config, {"messages": [HumanMessage(content=said), AIMessage(content=reply)],
                                              "last_run_id": self.env.last_run_id, "last_sources": self.env.sources},
                                as_node="respond")
        touch_thread(self.env.db_path, self.thread, said)

    # the loop
    def run(self) -> int:
        import sys

        from agent import cancel

        # Undecodable bytes typed or piped in become U+FFFD instead of crashing when the thread is saved.
        if hasattr(sys.stdin, "reconfigure"):
            sys.stdin.reconfigure(errors="replace")
        # The session owns Ctrl-C (also when its parent ignored SIGINT) and it stops calls in flight.
        with cancel.sigint_cancels():
            return self._loop()

    def _loop(self) -> int:
        from agent import cancel

        try:
            self.start()
            while True:
                cancel.reset()
                try:
                    line = clean_text(self.read("you> ")).strip()
                except EOFError:
                    self.out("\nBye.")
                    return 0
                except KeyboardInterrupt:
                    self.out("\n(Ctrl-D or /quit to leave)")
                    continue
                if not line:
                    continue
                try:
                    if line.startswith("/"):
                        if self.command(line) == "quit":
                            self.out("Bye.")
                            return 0
                    else:
                        self.ask(line)
                except (KeyboardInterrupt, cancel.Cancelled):
                    self.out("\n[stopped]")
                except Exception as exc:  # noqa: BLE001 — one turn failing must not end the session
                    self.out(f"error: {_explain(exc)}", style="red")
        finally:
            self.saver.conn.close()

    def start(self) -> None:
        mode = (f"model {self.env.settings.model_for('analyst')}" if self.model is not None else
                "no model configured (OPENAI_API_KEY): questions are answered from the knowledge pack by retrieval, with citations")
        if self.resumed:
            vals = self.values()
            self.env.last_run_id = vals.get("last_run_id")
            self.env.sources = list(vals.get("last_sources") or [])
            msgs = [m for m in vals.get("messages", []) if m.type in ("human", "ai") and m.content]
            self.out(f"Resuming thread {self.thread} ({len(msgs)} messages). Earlier in this thread:", style="bold")
            for m in msgs[-6:]:
                self.out(f"  {'you' if m.type == 'human' else 'agent'}: {_short(str(m.content))}", style="dim")
        else:
            self.out(f"Compliance agent chat — thread {self.thread}", style="bold")
        self.out(f"Engine: {mode}. Type /help for commands.")

    def ask(self, question: str) -> None:
        from langchain_core.messages import AIMessageChunk, HumanMessage

        touch_thread(self.env.db_path, self.thread, question)
        self.env.sources = []
        inputs = {"messages": [HumanMessage(content=question)], "last_run_id": self.env.last_run_id}
        if self.model is None:
            result = self.graph.invoke(inputs, self.config)
            self.out(result["messages"][-1].content)
            return
        streamed = False
        for chunk, meta in self.graph.stream(inputs, self.config, stream_mode="messages"):
            if meta.get("langgraph_node") != "respond" or not isinstance(chunk, AIMessageChunk):
                continue
            for call in chunk.tool_call_chunks or []:
                if call.get("name"):
                    self.out(f"  · {call['name']}", style="dim")
            if chunk.content:
                self.console.print(clean_text(str(chunk.content)), end="", markup=False, highlight=False, soft_wrap=True)
                streamed = True
        if streamed:
            self.console.print()
        if self.env.sources:
            self.out("Sources: " + ", ".join(dict.fromkeys(self.env.sources)), style="dim")

    def command(self, line: str) -> str | None:
        from agent.scope import ScopeError

        name, _, arg = line.partition(" ")
        name, arg = name.lower(), arg.strip()
        if name in ("/quit", "/exit", "/q"):
            return "quit"
        if name == "/help":
            self.out(HELP)
        elif name == "/run":
            if not arg:
                self.out("Usage: /run <topic> <jurisdiction>, e.g. /run stablecoin KZ")
                return None
            try:
                text = run_text(self.env, arg)
            except ScopeError as exc:
                self.out(exc.message + "".join(f"\n  - {s}" for s in exc.suggestions))
                return None
            self.out(text)
            self.record(line, text)
        elif name == "/gaps":
            self.show(line, gaps_text(self.env))
        elif name == "/drafts":
            self.show(line, drafts_text(self.env))
        elif name == "/draft":
            if not arg:
                self.out("Usage: /draft GAP-ID (see /drafts)")
                return None
            self.show(line, write_draft(self.env, arg))
        elif name == "/sources":
            self.out(sources_text(self.env))
        elif name == "/profile":
            self.out(profile_text(self.env))
        elif name == "/history":
            msgs = [m for m in self.values().get("messages", []) if m.type in ("human", "ai") and m.content]
            if not msgs:
                self.out("Nothing said in this thread yet.")
            for m in msgs:
                self.out(f"{'you' if m.type == 'human' else 'agent'}: {m.content}")
        elif name == "/new":
            self.thread = new_thread_id()
            self.env.last_run_id, self.env.sources = None, []
            self.out(f"New thread {self.thread}.")
        else:
            self.out(f"Unknown command {name}. /help lists the commands.")
        return None

    def show(self, line: str, text: str) -> None:
        self.out(text)
        self.record(line, text)


def _explain(exc: Exception) -> str:
    """One line for a failed turn: the message of errors meant for users, the type of anything else."""
    from agent.profile import ProfileError
    from tools.policies import PolicyFolderError
    from tools.writer import UnsafePathError

    if isinstance(exc, (PolicyFolderError, UnsafePathError, ProfileError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc} (the session goes on)"


def _short(text: str, n: int = 160) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[: n - 1] + "…"


def sources_text(env: ChatEnv) -> str:
    """The sources behind the last answer (or the last run), with title, URL and as-of date."""
    from agent.knowledge import available, load
    from agent.knowledge.schema import PackSource

    ids = list(dict.fromkeys(env.sources))
    if not ids:
        return "No sources yet: ask a question or /run an analysis."
    known: dict[str, PackSource | Source] = {s.id: s for code in available() for s in load(code).sources}
    r = _last_report(env)
    if r is not None:
        known.update({s.id: s for s in r.sources})
    lines = ["Sources:"]
    for sid in ids:
        s = known.get(sid)
        if s is None:
            lines.append(f"  {sid}")
        else:
            lines.append(f"  [{s.id}] {s.title} — {s.url or s.legal_id or ''} (as of {getattr(s, 'as_of', None) or getattr(s, 'retrieved_at', '')})")
    return "\n".join(lines)
