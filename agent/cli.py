"""Command line: `agent run "stablecoin KZ" --policies DIR`.

Heavy modules (LangGraph, LangChain, rich) are imported inside commands so `agent --help` is instant.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

app = typer.Typer(
    name="agent",
    help="Regulatory-compliance agent for virtual-asset businesses: cited research, policy gap analysis and policy drafts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1


EXIT_INTERRUPTED = 130  # the shell's convention for a command stopped by Ctrl-C


def _fail(message: str, code: int) -> NoReturn:
    from agent.textsafe import printable

    # Messages may quote what the user typed or a file name: never let them drive the terminal.
    typer.echo("error: " + "\n".join(printable(line) for line in message.split("\n")), err=True)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        from agent import __version__

        typer.echo(f"agent {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = None,
) -> None:
    """Regulatory-compliance agent for virtual-asset businesses."""


@app.command()
def run(
    query: Annotated[str, typer.Argument(help='Topic and jurisdiction, e.g. "stablecoin KZ" or "custody AIFC"; several to compare, e.g. "stablecoin EU vs Singapore".')],
    policies: Annotated[Path | None, typer.Option("--policies", "-p", help="Your policy folder (read-only): .md, .txt, .docx, .pdf, .csv, .xlsx.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder for drafts and reports [default: policies_out, or AGENT_OUT_DIR].")] = None,
    profile: Annotated[Path | None, typer.Option("--profile", help="Firm profile (company.toml) [default: company.toml in the policy folder, else inferred from the policies].")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as one JSON document on stdout and nothing else.")] = False,
    formats: Annotated[str | None, typer.Option("--format", help="Formats to write, comma-separated: md and docx (drafts and report), json (report) [default: all, or AGENT_FORMATS].")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines on stderr.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error.")] = False,
) -> None:
    """Research a jurisdiction, assess your policies against it and draft the missing policies."""
    from agent.scope import ScopeError, parse_scopes
    from agent.textsafe import clean_text

    chosen = tuple(dict.fromkeys(f.strip().lower().lstrip(".") for f in (formats or "").split(",") if f.strip())) or None
    if formats is not None and (not chosen or any(f not in ("md", "json", "docx") for f in chosen)):
        _fail(f"--format takes md, json and docx, comma-separated; got {formats!r}.", EXIT_BAD_INPUT)

    try:
        scopes = parse_scopes(clean_text(query))
    except ScopeError as exc:
        msg = exc.message + "".join(f"\n  - {s}" for s in exc.suggestions)
        _fail(msg, EXIT_BAD_INPUT)

    from agent.progress import Progress
    from agent.runner import new_run_id, run_pipeline

    settings = _settings()
    out_dir = out or settings.out_dir
    _check_profile(profile, policies)
    db_path = _folders(settings, policies=policies, out=out_dir)
    progress = Progress(enabled=False if (json_out or quiet) else None)
    if len(scopes) > 1:
        from agent.runner import run_comparison

        compared = _guarded(lambda: run_comparison(scopes, policies=policies, out_dir=out_dir, db_path=db_path,
                                                   progress=progress, profile=profile, formats=chosen), "comparison", debug)
        if json_out:
            sys.stdout.write(compared.model_dump_json(indent=2) + "\n")
            return
        _print_comparison(compared, out_dir)
        return
    scope = scopes[0]
    run_id = new_run_id()
    report = _guarded(lambda: run_pipeline(scope, policies=policies, out_dir=out_dir, db_path=db_path, progress=progress,
                                           run_id=run_id, profile=profile, formats=chosen), run_id, debug)

    if json_out:
        from agent.report import to_json

        sys.stdout.write(to_json(report))
        return
    _print_summary(report)


def _print_comparison(compared, out_dir: Path) -> None:  # noqa: ANN001
    from rich.console import Console
    from rich.table import Table

    from agent.matrix import HEADLINE_ROWS
    from agent.textsafe import markup_safe as safe

    table = Table(title=f"Comparison {compared.run_id}", title_justify="left", show_lines=True)
    table.add_column("")
    for col in compared.columns:
        table.add_column(safe(col.label))
    for row in compared.comparison_matrix:
        if row.key in HEADLINE_ROWS:
            table.add_row(row.label, *(safe(c.text[:160]) for c in row.cells))
    console = Console(highlight=False)
    console.print(table)
    console.print(f"Comparison report: {out_dir / 'reports' / compared.run_id / 'comparison.md'} (matrix first, every cell cited)")
    for col in compared.columns:
        if col.report:
            console.print(f"  {safe(col.label)}: {out_dir / col.report}")


@app.command()
def doctor(
    offline: Annotated[bool, typer.Option("--offline", help="Only read the configuration; contact no service.")] = False,
) -> None:
    """Show which services are configured and reachable, and which engine each step would use."""
    from agent.doctor import check_openai, check_tavily, engine_plan

    settings = _settings()
    typer.echo(f"engine setting: {settings.engine}")
    from agent.storage.db import describe, is_postgres
    from agent.textsafe import redact_url

    typer.echo(f"runs database: {'PostgreSQL' if is_postgres(settings.database) else 'SQLite'} {describe(settings.database)}")

    for name, key, url in (("OPENAI_API_KEY", settings.openai_api_key, settings.openai_base_url),
                           ("TAVILY_API_KEY", settings.tavily_api_key, settings.tavily_base_url)):
        typer.echo(f"{name}: {'set' if key else 'not set'}" + (f" (base URL {redact_url(url)})" if url else ""))
    if not offline:
        for check in (check_openai(settings), check_tavily(settings)):
            mark = {True: "ok", False: "FAILED", None: "-"}[check.ok]
            typer.echo(f"[{mark}] {check.name}: {check.detail}")
    typer.echo("steps:")
    for step_name, plan in engine_plan(settings):
        typer.echo(f"  {step_name:<9} {plan}")
    typer.echo(f"budgets: {settings.max_searches} searches, {settings.max_fetches} fetches, "
               f"{settings.max_tokens} tokens, {settings.max_seconds:.0f} s")


def _folders(settings, *, policies: Path | None = None, out: Path | None = None,  # noqa: ANN001
             create_out: bool = True) -> str | Path:
    """Check every folder (and the database) a command will use before it starts; returns the run database."""
    from agent.preflight import (
        InputError,
        check_database,
        check_out,
        check_policies,
        check_separate,
        check_state_dir,
    )

    try:
        if settings.database_url is None:
            check_state_dir(settings.state_dir)
        else:
            check_database(settings.database)
        if policies is not None:
            check_policies(policies)
        if out is not None and create_out:
            check_out(out, policies)
        elif out is not None:
            check_separate(out, policies)
    except InputError as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
    return settings.database


def _check_profile(profile: Path | None, policies: Path | None) -> None:
    """A firm profile that cannot be used is bad input, found before any work (exit 2 naming the field)."""
    from agent.profile import ProfileError, profile_path, read_profile_file

    try:
        path = profile_path(profile, policies)
        if path is not None:
            read_profile_file(path)
    except ProfileError as exc:
        _fail(str(exc), EXIT_BAD_INPUT)


def _db_path() -> str | Path:
    return _folders(_settings())


def _guarded(work, run_id: str, debug: bool):  # noqa: ANN001, ANN202
    """Run the pipeline at the CLI boundary: bad input exit 2, Ctrl-C 130, anything else one line and exit 1."""
    try:
        return work()
    except KeyboardInterrupt:
        _fail(f"interrupted; run {run_id} is marked interrupted. Finish it with: agent runs rerun {run_id} --resume",
              EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 — the CLI boundary: one clear line, exit 1
        from agent.cancel import Cancelled
        from agent.profile import ProfileError
        from agent.runner import RerunError
        from tools.policies import PolicyFolderError
        from tools.writer import UnsafePathError

        if isinstance(exc, Cancelled):
            _fail(f"interrupted; finish the run with: agent runs rerun {run_id} --resume", EXIT_INTERRUPTED)
        if isinstance(exc, (PolicyFolderError, UnsafePathError, RerunError, ProfileError)):
            _fail(str(exc), EXIT_BAD_INPUT)
        if debug:
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", EXIT_INTERNAL)


def _settings():  # noqa: ANN202
    from pydantic import ValidationError

    from agent.settings import load_settings

    try:
        return load_settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
        _fail(f"invalid setting in the environment or .env: {problems}", EXIT_BAD_INPUT)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the `agent run --json` document."""
    from importlib import resources

    sys.stdout.write(resources.files("agent").joinpath("schemas", "report.schema.json").read_text(encoding="utf-8"))


def _print_summary(report) -> None:  # noqa: ANN001 — RunReport, imported lazily
    from rich.console import Console
    from rich.table import Table

    from agent.textsafe import markup_safe as safe

    console = Console(highlight=False)
    a, run = report.analysis, report.run
    console.print(f"\n[bold]{run.scope.jurisdiction_name} — {', '.join(run.scope.topics)}[/]: {safe(a.status)} (confidence {a.confidence_level})")
    if a.baseline_only:
        console.print("[yellow]Baseline only: no local law held for this jurisdiction; international standards apply.[/]")
    table = Table(title="Compliance status", show_lines=False)
    table.add_column("Domain")
    table.add_column("Status")
    for domain, status in report.compliance_status.items():
        colour = {"met": "green", "partial": "yellow", "not_met": "red"}.get(status, "dim")
        table.add_row(domain, f"[{colour}]{status}[/]")
    console.print(table)
    for g in report.gaps:
        console.print(f"  {g.id} [{'red' if g.priority == 'critical' else 'yellow'}]{g.priority:<8}[/] {g.category}: {safe(g.requirement)}")
    conflicts = [c for a in report.assessments for c in a.conflicts]
    if conflicts:
        from agent.conflicts import where

        console.print(f"\n[yellow]{len(conflicts)} policy statement(s) contradict the rules:[/]")
        for c in conflicts:
            console.print(f"  {safe(where(c))}: says {safe(c.policy_says)}; the rule requires {safe(c.rule_requires)}")
    console.print(_profile_line(report))
    files = [(d.path, d.action, d.written_as) for d in report.drafts]
    files += [(d.docx.path, d.docx.action, d.docx.written_as) for d in report.drafts if d.docx is not None]
    written = sum(1 for f in files if f[1] == "written")
    unchanged = sum(1 for f in files if f[1] == "unchanged")
    kept = [f for f in files if f[1] == "kept_human_edit"]
    console.print(f"\nFiles in {safe(run.output_dir)} (drafts and the plan): {written} written, "
                  f"{unchanged} unchanged, {len(kept)} kept (edited by you)")
    for path, _, written_as in kept:
        console.print(f"  [yellow]{safe(path)} was edited by a person: kept; new version in {safe(written_as or '')}[/]")
    if report.comparison is not None:
        from agent.runview import print_comparison

        console.print()
        print_comparison(console, report.comparison)
    if run.report_files:
        others = ", ".join(run.report_files[1:])
        console.print(f"Report: {safe(run.output_dir)}/{run.report_files[0]}" + (f" (also: {others})" if others else ""))
    console.print(f"Sources: {len(report.sources)} · Run id: {run.id}" + (f" v{run.version}" if run.version > 1 else ""))


def _profile_line(report) -> str:  # noqa: ANN001
    """One line: where the firm profile came from and how many requirements it put out of scope."""
    from agent.textsafe import markup_safe as safe

    p = report.profile
    if not p.restricts:
        what = "none (no company.toml, nothing inferred)" if p.is_empty else "nothing about regime, activities or clients"
        return f"\nFirm profile: {what} — every requirement applies; see `agent profile init`"
    origins = [f.origin for f in p.facts().values()]
    where = (f"{safe(p.file)}, " if p.file else "") + f"{origins.count('inferred')} field(s) inferred from the policies"
    return (f"\nFirm profile: {safe(p.legal_name.value or 'unnamed firm')} ({where}); "
            f"{len(report.not_applicable)} requirement(s) not applicable (listed in the report)")


@app.command()
def chat(
    thread: Annotated[str | None, typer.Option("--thread", "-t", help="Resume a thread by id (see --list).")] = None,
    list_threads: Annotated[bool, typer.Option("--list", help="List chat threads and exit.")] = False,
    policies: Annotated[Path | None, typer.Option("--policies", "-p", help="Your policy folder (read-only), for /run and the policy tools.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Where confirmed drafts are written [default: policies_out, or AGENT_OUT_DIR].")] = None,
    profile: Annotated[Path | None, typer.Option("--profile", help="Firm profile (company.toml) for /run and the tools [default: company.toml in the policy folder, else inferred].")] = None,
) -> None:
    """Interactive session: ask questions, /run analyses, review gaps and write drafts after confirming."""
    from agent import chat as chatmod

    settings = _settings()
    out_dir = out or settings.out_dir
    # An output folder given with --out is checked now; the default one only when a draft is written.
    _check_profile(profile, policies)
    _folders(settings, policies=policies, out=out_dir, create_out=out is not None)
    if list_threads:
        rows = chatmod.list_threads(settings.database)
        if not rows:
            typer.echo("No chat threads yet. Start one with: agent chat")
        for tid, updated, title, turns in rows:
            typer.echo(f"{tid}  {updated.replace('T', ' ')[:16]}  {turns:>3} turns  {title}")
        return
    if thread is not None and not chatmod.thread_exists(settings.database, thread):
        _fail(f"no chat thread {thread!r}; `agent chat --list` shows the threads.", EXIT_BAD_INPUT)
    try:
        import readline  # noqa: F401 — line editing and history for input()
    except ImportError:
        pass
    model = None
    if settings.has_openai:
        from agent.llm import default_factory

        model = default_factory(settings)("analyst")
    session = chatmod.Session(settings, db_path=settings.database, out_dir=out_dir, policies=policies, thread_id=thread, model=model,
                              profile=profile)
    raise typer.Exit(session.run())


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind; anything but loopback requires --token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: any free port, printed at start).")] = 8765,
    policies_root: Annotated[Path | None, typer.Option("--policies-root", help="Folder whose sub-folders the page offers as policy folders (read-only).")] = None,
    token: Annotated[str | None, typer.Option("--token", help="Access token checked on every request [default: AGENT_SERVE_TOKEN]; required off loopback.")] = None,
) -> None:
    """The web run page: runs list, start and re-run runs, live progress, reports and drafts."""
    from agent.preflight import InputError, check_policies

    settings = _settings()
    db_path = _folders(settings)
    if policies_root is not None:
        try:
            check_policies(policies_root)
        except InputError as exc:
            _fail(str(exc).replace("policy folder", "policies root", 1), EXIT_BAD_INPUT)
    from agent.web.server import ServeError, serve, web_config

    given = token if token is not None else (settings.serve_token.get_secret_value() if settings.serve_token else None)
    try:
        config = web_config(host=host, db_path=db_path, out_dir=settings.out_dir, policies_root=policies_root, token=given)
    except ServeError as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
    from agent.storage.db import describe

    typer.echo(f"Web run page for the runs in {describe(db_path)}" + (" (access token required)" if config.token else ""), err=True)
    serve(config, host, port)


runs_app = typer.Typer(
    help="Past runs: list them, show a run's steps and changes, its history through the steps, re-run from a step.",
    no_args_is_help=True, rich_markup_mode=None,
)
app.add_typer(runs_app, name="runs")


def _run_id(store, given: str) -> str:  # noqa: ANN001
    found = store.resolve(given)
    if found is None:
        _fail(f"no run matches {given!r} (or the prefix is ambiguous); see `agent runs list`.", EXIT_BAD_INPUT)
    return found


@runs_app.command("list")
def runs_list(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many runs to show.")] = 20,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
) -> None:
    """Runs, newest first: id, version, query, started, status, engine."""
    from agent.runstore import RunStore

    with RunStore(_db_path()) as store:
        rows = store.rows(limit)
    if json_out:
        for r in rows:
            typer.echo(r.model_dump_json())
        return
    if not rows:
        typer.echo('No runs yet. Start one with: agent run "stablecoin KZ"')
        return
    from agent.runview import print_list

    print_list(rows)


@runs_app.command("prune")
def runs_prune(
    keep: Annotated[int | None, typer.Option("--keep", min=0, help="Keep the N most recent runs, delete the rest.")] = None,
    older_than: Annotated[float | None, typer.Option("--older-than", min=0, help="Delete runs started more than DAYS days ago.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be deleted; delete nothing.")] = False,
) -> None:
    """Delete old runs (index rows and checkpoints) and give the space back; running runs are never deleted."""
    from agent.runstore import RunStore

    if keep is None and older_than is None:
        _fail("say what to prune: --keep N (keep the N most recent runs) and/or --older-than DAYS.", EXIT_BAD_INPUT)
    with RunStore(_db_path()) as store:
        doomed = store.prunable(keep, older_than)
        if dry_run or not doomed:
            typer.echo(f"{len(doomed)} run(s) would be deleted" + (": " + ", ".join(doomed) if doomed else "") if dry_run
                       else "Nothing to prune.")
            return
        freed = store.prune(doomed)
    typer.echo(f"Deleted {len(doomed)} run(s); " + (f"{freed / 1e6:.1f} MB freed." if freed is not None
                                                     else "PostgreSQL reuses the space (VACUUM)."))


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="Run id (or an unambiguous prefix).")],
    version: Annotated[int | None, typer.Option("--version", "-v", min=1, help="Version to show [default: the latest].")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the run's report JSON.")] = False,
) -> None:
    """A run's step table (status, engine, tokens, duration), warnings and the changes since the previous run."""
    from agent.runstore import RunStore

    with RunStore(_db_path()) as store:
        rid = _run_id(store, run_id)
        report = store.report(rid, version)
        versions = store.versions(rid)
    if report is None:
        state = next((v.status for v in versions if version in (None, v.version)), "unknown")
        hint = f"; finish it with: agent runs rerun {rid} --resume" if state == "interrupted" else ""
        _fail(f"run {rid} has no finished report{f' for v{version}' if version else ''} (status: {state}){hint}.", EXIT_BAD_INPUT)
    if json_out:
        from agent.report import to_json

        sys.stdout.write(to_json(report))
        return
    from agent.runview import print_show

    print_show(report, versions)


@runs_app.command("history")
def runs_history(run_id: Annotated[str, typer.Argument(help="Run id (or an unambiguous prefix).")]) -> None:
    """How the analysis evolved through the steps of the run's latest version, from the checkpoints."""
    from agent.runstore import RunStore
    from agent.runview import history, print_history

    db_path = _db_path()
    with RunStore(db_path) as store:
        rid = _run_id(store, run_id)
    rows = history(db_path, rid)
    if not rows:
        _fail(f"no checkpoints for run {rid}.", EXIT_BAD_INPUT)
    print_history(rid, rows)


@runs_app.command("rerun")
def runs_rerun(
    run_id: Annotated[str, typer.Argument(help="Run id (or an unambiguous prefix).")],
    from_step: Annotated[str | None, typer.Option("--from", help="Step to start from, as a new version: research, analysis, gaps (re-reads the policies and re-assesses) or drafts.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Finish an interrupted or failed run from its last checkpoint (same version).")] = False,
    policies: Annotated[Path | None, typer.Option("--policies", "-p", help="A different policy folder for the re-run (read-only).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="A different output folder [default: the run's].")] = None,
    profile: Annotated[Path | None, typer.Option("--profile", help="A firm profile (company.toml) for the re-run (with --from research, analysis or gaps).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the new version's report as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines on stderr.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error.")] = False,
) -> None:
    """Re-run from a step with changed inputs as a new version (earlier steps reused), or --resume an interrupted run."""
    from agent.progress import Progress
    from agent.runner import rerun_pipeline, resume_pipeline
    from agent.runstore import RunStore

    if (from_step is None) == (not resume):
        _fail("give either --from STEP (re-run from a step as a new version) or --resume (finish an interrupted run).", EXIT_BAD_INPUT)
    if resume and (policies is not None or out is not None or profile is not None):
        _fail("--resume finishes the run with the folders it started with; use --from STEP to change them.", EXIT_BAD_INPUT)
    settings = _settings()
    db_path = _db_path()
    with RunStore(db_path) as store:
        rid = _run_id(store, run_id)
        latest = max(store.versions(rid), key=lambda v: v.version)
    # The run's own policy folder is checked by the step that reads it (a re-run from drafts never does).
    _folders(settings, policies=policies, out=out or (Path(latest.out_dir) if latest.out_dir else None))
    if profile is not None or policies is not None:
        _check_profile(profile, policies)
    progress = Progress(enabled=False if (json_out or quiet) else None)

    def work():  # noqa: ANN202
        if resume:
            return resume_pipeline(rid, db_path=db_path, progress=progress)
        return rerun_pipeline(rid, from_step or "", db_path=db_path, progress=progress, policies=policies, out_dir=out,
                              profile=profile)

    report = _guarded(work, rid, debug)
    if json_out:
        from agent.report import to_json

        sys.stdout.write(to_json(report))
        return
    _print_summary(report)


pack_app = typer.Typer(
    help="The embedded knowledge packs: list them, verify every quote against its stored excerpt.",
    no_args_is_help=True, rich_markup_mode=None,
)
app.add_typer(pack_app, name="pack")


@pack_app.command("list")
def pack_list(
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
) -> None:
    """Shipped packs: jurisdiction, version, as-of date, regimes and counts."""
    from agent.knowledge.listing import pack_rows, print_rows

    rows = pack_rows()
    if json_out:
        import json

        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    print_rows(rows)


@pack_app.command("verify")
def pack_verify(
    codes: Annotated[list[str] | None, typer.Argument(help="Pack codes (KZ, EU, AE, INTL) [default: all].")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on stale items too (passed effective dates, amendments not incorporated).")] = False,
) -> None:
    """Re-find every quote in its stored excerpt, check hashes, hosts and citations; list stale items."""
    from agent.knowledge import available
    from agent.knowledge.verify import verify, verify_all

    if codes:
        unknown = [c for c in codes if c.upper() not in available()]
        if unknown:
            _fail(f"no knowledge pack for {', '.join(unknown)}; shipped packs: {', '.join(available())}", EXIT_BAD_INPUT)
        checks = [verify(c, strict=strict) for c in codes]
    else:
        checks = verify_all(strict=strict)
    for check in checks:
        typer.echo(check.render())
    failed = [c.code for c in checks if not c.ok]
    if failed:
        _fail(f"pack verification failed: {', '.join(failed)}", EXIT_INTERNAL)


profile_app = typer.Typer(
    help="The firm profile (company.toml): who the firm is, which decides which requirements apply to it.",
    no_args_is_help=True, rich_markup_mode=None,
)
app.add_typer(profile_app, name="profile")


@profile_app.command("show")
def profile_show(
    policies: Annotated[Path | None, typer.Option("--policies", "-p", help="Policy folder: its company.toml, and what its policies state.")] = None,
    profile: Annotated[Path | None, typer.Option("--profile", help="A company.toml to use instead of the policy folder's.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the profile as JSON.")] = False,
) -> None:
    """The profile a run would use, each field with its origin: file, inferred (with the quote) or default."""
    from agent.profile import ProfileError, effective, rows
    from agent.textsafe import printable

    said, notes = _folder_sentences(policies)
    try:
        firm, more = effective(profile, policies, said)
    except ProfileError as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
    if json_out:
        sys.stdout.write(firm.model_dump_json(indent=2) + "\n")
        return
    sources = ([printable(firm.file)] if firm.file else []) + ([f"the policies in {printable(str(policies))}"] if policies else [])
    typer.echo(f"Firm profile from {' and '.join(sources) or 'nothing (no company.toml, no policy folder)'}:")
    width = max(len(name) for name, _, _ in rows(firm))
    for name, value, origin in rows(firm):
        typer.echo(f"  {name:<{width}}  {printable(value)}  [{printable(origin)}]")
    for note in (*notes, *more):
        typer.echo(f"note: {printable(note)}")
    if firm.is_empty:
        typer.echo("Nothing is known about the firm, so every requirement applies. Write a profile with: agent profile init")


def _folder_sentences(policies: Path | None):  # noqa: ANN202
    """Sentences of a policy folder (checked first, like a run's), and the reader's warnings."""
    if policies is None:
        return [], []
    from agent.preflight import InputError, check_policies
    from agent.profile import read_folder_sentences
    from tools.policies import PolicyFolderError

    try:
        check_policies(policies)
        said, warnings = read_folder_sentences(policies)
    except (InputError, PolicyFolderError) as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
    return said, [f"policy folder: {w}" for w in warnings]


@profile_app.command("init")
def profile_init(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the profile.")] = Path("company.toml"),
    from_policies: Annotated[Path | None, typer.Option("--from-policies", help="Pre-fill from what this policy folder states (it is only read).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Legal name.")] = None,
    jurisdiction: Annotated[list[str] | None, typer.Option("--jurisdiction", help="Jurisdiction (ISO code or name); repeat for several.")] = None,
    regime: Annotated[str | None, typer.Option("--regime", help='"AIFC" (AIFC participant) or "national" (Kazakhstan outside the AIFC).')] = None,
    licence: Annotated[list[str] | None, typer.Option("--licence", help="A licence or authorisation held; repeat for several.")] = None,
    activity: Annotated[list[str] | None, typer.Option("--activity", help="An activity carried on (stablecoin_issuer, trading_venue, broker_dealer, custodian, money_services, advisory, staking_lending, mining); repeat for several.")] = None,
    client: Annotated[list[str] | None, typer.Option("--client", help="A client type served (retail, professional); repeat for several.")] = None,
    third_party_custodians: Annotated[bool | None, typer.Option("--third-party-custodians/--no-third-party-custodians", help="Whether client assets are placed with third-party custodians.")] = None,
    role: Annotated[list[str] | None, typer.Option("--role", help="KEY=TITLE, e.g. mlro='Head of Financial Crime'; repeat for several.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    no_input: Annotated[bool, typer.Option("--no-input", help="Never prompt, even on a terminal.")] = False,
) -> None:
    """Write a company.toml: from flags, from prompts (on a terminal, for what flags leave out), pre-filled from a folder."""
    from agent.profile import ProfileError, effective, profile_init_text

    if from_policies is not None:
        from agent.preflight import _within

        if _within(out.parent if out.name else out, from_policies):
            _fail(f"{out} is inside the policy folder {from_policies}, which is only ever read; write the profile "
                  "elsewhere (--out) and copy it into the folder yourself.", EXIT_BAD_INPUT)
    if out.exists() and not force:
        _fail(f"{out} already exists; use --force to overwrite it.", EXIT_BAD_INPUT)
    if out.exists() and not out.is_file():
        _fail(f"{out} is not a file.", EXIT_BAD_INPUT)
    said, notes = _folder_sentences(from_policies)
    given = {"legal_name": name, "jurisdictions": jurisdiction or None, "regime": regime, "licences": licence or None,
             "activities": activity or None, "clients": client or None, "third_party_custodians": third_party_custodians,
             "roles": _roles_flag(role)}
    ask = None if no_input or not sys.stdin.isatty() else _prompt
    try:
        # pre-filled with what a run on the folder would use: its company.toml, then what its policies state
        base = effective(None, from_policies, said)[0] if from_policies is not None else None
        text = profile_init_text(given, said, ask, base=base)
    except ProfileError as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
    except (EOFError, KeyboardInterrupt):
        _fail("stopped; nothing was written.", EXIT_INTERRUPTED)
    tmp = out.with_name(f".{out.name}.tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"Wrote {out}. Check it, then put it in the root of your policy folder or pass it with --profile.")


def _roles_flag(values: list[str] | None) -> dict[str, str] | None:
    if not values:
        return None
    out = {}
    for item in values:
        key, sep, title = item.partition("=")
        if not sep:
            _fail(f"--role {item!r}: write it as KEY=TITLE, e.g. mlro='Head of Financial Crime'.", EXIT_BAD_INPUT)
        out[key.strip()] = title.strip()
    return out


def _prompt(question: str, default: str) -> str:
    from agent.textsafe import clean_text

    return clean_text(typer.prompt(question, default=default, show_default=bool(default)))


def main() -> None:
    try:
        app()
    except SystemExit as exc:
        _exit_without_waiting(exc.code)
        raise


def _exit_without_waiting(code: object) -> None:
    """Leave at once when calls given up on (Ctrl-C, time budget) still hold worker threads.

    Python joins every thread-pool worker at exit, so a request abandoned inside the HTTP client's pool
    would keep the finished command alive until the server answers.
    """
    from agent.cancel import abandoned

    if abandoned():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else (0 if code is None else 1))


if __name__ == "__main__":
    main()
