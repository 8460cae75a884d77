"""The web run page: runs list, start a run, a run's steps, live progress, re-runs, report and drafts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader
from pydantic import BaseModel, SecretStr

from agent.web import security
from agent.web.jobs import BusyError, Event, Job, Jobs
from agent.web.security import Refused

HERE = Path(__file__).resolve().parent
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
_HEADERS = {
    # Pages load only this server's own script and style; nothing may frame them or read their address.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: under no-referrer browsers send "Origin: null" with the page's own forms
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_KEEPALIVE_S = 15.0
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class WebConfig(BaseModel):
    db_path: str | Path  # the run database: a SQLite file or a postgresql:// URL
    out_dir: Path  # where runs started here write their drafts and reports
    policies_root: Path | None = None  # the policy folders offered are its sub-folders
    token: SecretStr | None = None  # when set, every request must carry it
    # Host headers answered (DNS rebinding: a foreign site resolving to 127.0.0.1); None answers any.
    allowed_hosts: tuple[str, ...] | None = LOOPBACK_NAMES
    max_jobs: int = 2


class FormError(Exception):
    """A form field that cannot be used; the message is shown above the form."""


def create_app(config: WebConfig) -> FastAPI:
    jobs = Jobs(config.db_path, config.max_jobs)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(jobs.shutdown)

    app = FastAPI(title="Compliance agent", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.config = config
    app.state.jobs = jobs
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["folder"] = lambda path: _folder_label(path, config.policies_root)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        try:
            early = _admit(request, config)
        except Refused as exc:
            early = _error(env, exc.status, str(exc))
        response = early if early is not None else await call_next(request)
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(Refused)
    async def refused(_: Request, exc: Refused) -> Response:
        return _error(env, exc.status, str(exc))

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    ctx = _Pages(env, config, jobs)

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/", response_class=HTMLResponse)
    def runs_list(request: Request) -> Response:
        return ctx.runs_page(request)

    @app.post("/runs")
    def start_run(request: Request, query: Annotated[str, Form()] = "", policies: Annotated[str, Form()] = "",
                  profile: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "") -> Response:
        _check_post(request, csrf)
        return ctx.start(request, query, policies, profile)

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, run_id: str, version: int | None = None, job: str | None = None) -> Response:
        return ctx.run_page(request, run_id, version=version, job_id=job)

    @app.post("/runs/{run_id}/rerun")
    def rerun(request: Request, run_id: str, step: Annotated[str, Form()] = "", policies: Annotated[str, Form()] = "",
              csrf: Annotated[str, Form()] = "") -> Response:
        _check_post(request, csrf)
        return ctx.rerun(request, run_id, step, policies)

    @app.get("/runs/{run_id}/events")
    async def events(request: Request, run_id: str, job: str) -> Response:
        found = jobs.get(job)
        if found is None or found.run_id != run_id:
            raise Refused(404, "no such run in progress on this server.")
        try:
            after = int(request.headers.get("last-event-id") or 0)
        except ValueError:
            after = 0
        if not found.running and after >= len(found.events):
            return Response(status_code=204)  # nothing more will come: tells the browser not to reconnect
        return StreamingResponse(_stream(env, found, after), media_type="text/event-stream",
                                 headers={"X-Accel-Buffering": "no"})

    @app.get("/runs/{run_id}/files/{version}/{path:path}")
    def download(run_id: str, version: int, path: str) -> Response:
        from agent.runstore import RunStore
        from agent.web.views import downloadable

        with RunStore(config.db_path) as store:
            report = store.report(run_id, version)
        if report is None or path not in downloadable(report):
            raise Refused(404, "no such file for this run.")
        target = security.confined_file(Path(report.run.output_dir), path)
        media = {".md": "text/markdown; charset=utf-8", ".docx": _DOCX, ".json": "application/json"}
        return FileResponse(target, media_type=media.get(target.suffix.lower(), "application/octet-stream"),
                            filename=Path(path).name)

    return app


def _admit(request: Request, config: WebConfig) -> Response | None:
    """The checks every request passes first: a known Host, then the token (set as a cookie from ?token=)."""
    host = security.host_name(request.headers.get("host", ""))
    if config.allowed_hosts is not None and host not in config.allowed_hosts:
        raise Refused(400, "this server answers only to its own address.")
    if config.token is None:
        return None
    expected = config.token.get_secret_value()
    offered = request.query_params.get("token")
    if offered is not None and security.same_secret(offered, expected):
        # The token leaves the address bar (and history) at once; the cookie carries it from now on.
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(security.TOKEN_COOKIE, expected, httponly=True, samesite="strict", path="/")
        return response
    given = (request.headers.get(security.TOKEN_HEADER) or security.bearer(request.headers.get("authorization"))
             or request.cookies.get(security.TOKEN_COOKIE))
    if not security.same_secret(given, expected):
        raise Refused(401, "this server needs its access token: open its address once with ?token=YOUR_TOKEN "
                           "(or send the X-Agent-Token header).")
    return None


def _folder_label(path: str | None, root: Path | None) -> str:
    """A policy folder as the page shows it: its name under the policies root, else the path the run recorded."""
    if not path:
        return "none"
    if root is not None:
        try:
            return Path(path).resolve().relative_to(root.resolve()).as_posix()
        except (OSError, ValueError):
            pass
    return path


def _check_post(request: Request, csrf: str) -> None:
    security.check_form_origin(origin=request.headers.get("origin"), fetch_site=request.headers.get("sec-fetch-site"),
                               host=request.headers.get("host", ""), scheme=request.url.scheme)
    security.check_csrf(request.cookies.get(security.CSRF_COOKIE), csrf)


def _error(env: Environment, status: int, message: str) -> Response:
    html = env.get_template("error.html").render(status=status, message=message)
    return HTMLResponse(html, status_code=status)


async def _stream(env: Environment, job: Job, after: int) -> AsyncIterator[str]:
    """Server-sent events: the job's events after ``after``, then each new one, until it is done."""
    queue: asyncio.Queue[Event] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def deliver(event: Event) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    backlog = job.subscribe(deliver, after)
    try:
        for event in backlog:
            yield _sse(env, event)
            if event.kind == "done":
                return
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), _KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield _sse(env, event)
            if event.kind == "done":
                return
    finally:
        job.unsubscribe(deliver)


def _sse(env: Environment, event: Event) -> str:
    html = env.get_template("_event.html").render(event=event)
    name = "done" if event.kind == "done" else "row"
    data = "".join(f"data: {line}\n" for line in html.strip().splitlines()) or "data: \n"
    return f"id: {event.id}\nevent: {name}\n{data}\n"


class _Pages:
    """The pages and form actions (plain functions: FastAPI runs them in its thread pool)."""

    def __init__(self, env: Environment, config: WebConfig, jobs: Jobs) -> None:
        self.env = env
        self.config = config
        self.jobs = jobs

    # --- rendering ---------------------------------------------------------------------------------------

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> Response:
        token = request.cookies.get(security.CSRF_COOKIE) or security.new_csrf()
        html = self.env.get_template(template).render(csrf=token, **context)
        response = HTMLResponse(html, status_code=status)
        if request.cookies.get(security.CSRF_COOKIE) != token:
            response.set_cookie(security.CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    def folders(self) -> list[str]:
        root = self.config.policies_root
        return security.subfolders(root) if root is not None else []

    def profiles(self) -> list[str]:
        root = self.config.policies_root
        return security.profile_files(root) if root is not None else []

    def policy_folder(self, name: str) -> Path | None:
        return self._chosen(name, self.folders, "policy folder", "policy folders")

    def profile_file(self, name: str) -> Path | None:
        return self._chosen(name, self.profiles, "profile", "profile files")

    def _chosen(self, name: str, offered: Callable[[], list[str]], what: str, whats: str) -> Path | None:
        """One of the entries the form offered, resolved inside the policies root; "" is none chosen."""
        if not name:
            return None
        root = self.config.policies_root
        if root is None:
            raise FormError(f"this server was started without --policies-root, so it offers no {whats}.")
        try:
            return security.confined(root, name, offered())
        except Refused as exc:
            raise FormError(f"{what}: {exc}") from None

    # --- runs list and new runs -------------------------------------------------------------------------------

    def runs_page(self, request: Request, status: int = 200, error: str | None = None, form: dict[str, str] | None = None,
                  ) -> Response:
        from agent.runstore import RunStore

        with RunStore(self.config.db_path) as store:
            rows = store.rows(100)
        return self.render(request, "runs.html", status, rows=rows, folders=self.folders(), profiles=self.profiles(),
                           has_root=self.config.policies_root is not None, error=error, form=form or {})

    def start(self, request: Request, query: str, policies: str, profile: str) -> Response:
        from agent.preflight import InputError, check_out
        from agent.profile import ProfileError, profile_path, read_profile_file
        from agent.runner import new_run_id, run_pipeline

        form = {"query": query, "policies": policies, "profile": profile}
        try:
            scope = _one_scope(query)
            folder = self.policy_folder(policies)
            chosen = self.profile_file(profile)
            found = profile_path(chosen, folder)
            if found is not None:
                read_profile_file(found)
            out_dir = self.config.out_dir  # recorded as configured, as `agent run` records --out
            check_out(out_dir, folder)
        except (FormError, InputError, ProfileError) as exc:
            return self.runs_page(request, 400, str(exc), form)
        run_id = new_run_id()
        db_path = self.config.db_path
        try:
            job = self.jobs.start(run_id, scope.query, lambda progress: run_pipeline(
                scope, policies=folder, out_dir=out_dir, db_path=db_path, progress=progress, run_id=run_id, profile=chosen))
        except BusyError as exc:
            return self.runs_page(request, 409, str(exc), form)
        return RedirectResponse(f"/runs/{run_id}?job={job.id}", status_code=303)

    # --- one run ---------------------------------------------------------------------------------------------

    def run_page(self, request: Request, run_id: str, *, version: int | None = None, job_id: str | None = None,
                 status: int = 200, error: str | None = None, form: dict[str, str] | None = None) -> Response:
        from agent.runstore import RunStore
        from agent.web import views

        with RunStore(self.config.db_path) as store:
            versions = store.versions(run_id)
            report = store.report(run_id, version) if versions else None
        job = self.jobs.latest(run_id)
        if not versions and job is None:
            raise Refused(404, f"no run {run_id!r}; the runs list shows every run.")
        live = job if job is not None and (job.running or job.id == job_id) else None
        shown = version or (report.run.version if report is not None else None)
        report_text, report_missing = views.report_markdown(report) if report is not None else (None, None)
        return self.render(
            request, "run.html", status, run_id=run_id, versions=versions, latest=versions[-1] if versions else None,
            report=report, shown=shown, requested=version, live=live, job=job, error=error, form=form or {},
            steps=views.step_rows(report) if report else [], downloads=views.downloads(report) if report else [],
            changes=views.comparison_lines(report) if report else [],
            report_html=views.render_markdown(report_text) if report_text is not None else None,
            report_missing=report_missing, rerun_steps=views.RERUN_CHOICES, folders=self.folders(),
        )

    def rerun(self, request: Request, run_id: str, step: str, policies: str) -> Response:
        from agent.preflight import InputError, check_out
        from agent.runner import rerun_pipeline
        from agent.runstore import RunStore
        from agent.web.views import RERUN_CHOICES

        with RunStore(self.config.db_path) as store:
            versions = store.versions(run_id)
        if not versions:
            raise Refused(404, f"no run {run_id!r}; the runs list shows every run.")
        form = {"step": step, "policies": policies}
        latest = versions[-1]
        try:
            if step not in RERUN_CHOICES:
                raise FormError(f"choose the step to re-run from: {', '.join(RERUN_CHOICES)}.")
            folder = self.policy_folder(policies)
            out_dir = Path(latest.out_dir) if latest.out_dir else self.config.out_dir
            check_out(out_dir, folder)
        except (FormError, InputError) as exc:
            return self.run_page(request, run_id, status=400, error=str(exc), form=form)
        db_path = self.config.db_path
        try:
            job = self.jobs.start(run_id, f"re-run from {step}", lambda progress: rerun_pipeline(
                run_id, step, db_path=db_path, progress=progress, policies=folder))
        except BusyError as exc:
            return self.run_page(request, run_id, status=409, error=str(exc), form=form)
        return RedirectResponse(f"/runs/{run_id}?job={job.id}", status_code=303)


def _one_scope(query: str) -> Any:
    from agent.scope import ScopeError, parse_scopes
    from agent.textsafe import clean_text

    if len(query) > 500:
        raise FormError("the query is longer than 500 characters; name a topic and a jurisdiction.")
    try:
        scopes = parse_scopes(clean_text(query))
    except ScopeError as exc:
        raise FormError(exc.message + "".join(f" — {s}" for s in exc.suggestions)) from None
    if len(scopes) > 1:
        raise FormError("this page runs one jurisdiction at a time; compare jurisdictions with "
                        '`agent run "stablecoin EU vs Singapore"`.')
    return scopes[0]
