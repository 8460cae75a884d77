"""What the run page shows, computed from a RunReport: step rows, downloads, the rendered report."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent.models import RunReport

RERUN_CHOICES = ("research", "analysis", "gaps", "drafts")


class StepRow(BaseModel):
    step: str
    status: str
    engine: str
    tokens_in: int
    tokens_out: int
    duration: str
    ran_in: str  # "this version" or "reused from version N"
    reused: bool
    detail: str


class Download(BaseModel):
    title: str
    kind: str  # "Markdown" or "Word"
    path: str  # relative to the run's output folder
    note: str = ""


def step_rows(report: RunReport) -> list[StepRow]:
    """The step table of `agent runs show`: a re-run's earlier steps say which version ran them."""
    run = report.run
    return [StepRow(step=s.step, status=s.status, engine=s.engine, tokens_in=s.tokens_in, tokens_out=s.tokens_out,
                    duration=f"{s.duration_s:.2f}", reused=s.version < run.version,
                    ran_in=f"reused from version {s.version}" if s.version < run.version else f"version {s.version}",
                    detail=s.detail) for s in run.steps]


def downloads(report: RunReport) -> list[Download]:
    """The drafts this version wrote, Markdown and Word; a kept human edit offers the agent's new version."""
    out: list[Download] = []
    for d in report.drafts:
        if d.action == "proposed":
            continue
        note = "your edited file was kept; this is the agent's new version" if d.action == "kept_human_edit" else ""
        out.append(Download(title=d.title, kind="Markdown", path=d.written_as or d.path, note=note))
        if d.docx is not None and d.docx.action != "proposed":
            out.append(Download(title=d.title, kind="Word", path=d.docx.written_as or d.docx.path, note=note))
    return out


def downloadable(report: RunReport) -> set[str]:
    """Every path of the run's output folder a download link may name: its drafts and its report files."""
    return {d.path for d in downloads(report)} | set(report.run.report_files)


def comparison_lines(report: RunReport) -> list[str]:
    if report.comparison is None:
        return []
    from agent.compare import summary_lines

    return summary_lines(report.comparison)


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # Raw HTML in a report is shown as text, never passed through; images would load from elsewhere.
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    md.disable("image")

    def link_open(renderer, tokens, idx, options, env):  # noqa: ANN001, ANN202
        tokens[idx].attrSet("rel", "noopener noreferrer")
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


def render_markdown(text: str) -> str:
    """HTML for a report: every character of the text is escaped; links keep no referrer."""
    return str(_markdown().render(text))


def report_markdown(report: RunReport) -> tuple[str | None, str | None]:
    """(The report's Markdown text, why it is missing) from the run's output folder, confined to it."""
    from agent.web.security import Refused, confined_file

    name = next((f for f in report.run.report_files if f.endswith(".md")), None)
    if name is None:
        return None, "this version wrote no Markdown report."
    try:
        path = confined_file(Path(report.run.output_dir), name)
    except Refused as exc:
        return None, str(exc)
    if path.stat().st_size > 5_000_000:
        return None, "the report is too large to show here; download it instead."
    return path.read_text(encoding="utf-8", errors="replace"), None
