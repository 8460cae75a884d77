"""Progress on stderr: one line per finished step, silent when not wanted."""

from __future__ import annotations

import sys
from typing import Any

_ICON = {"completed": "[green]✓[/]", "degraded": "[yellow]![/]", "skipped": "[dim]–[/]", "failed": "[red]✗[/]"}


class Progress:
    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._console: Any = None

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False)
        return self._console

    def start(self, run_id: str, scope_line: str, engine_line: str) -> None:
        if self.enabled:
            from agent.textsafe import markup_safe as safe

            self.console.print(f"[bold]Run {run_id}[/] · {safe(scope_line)} · {safe(engine_line)}")

    def step(self, record: Any) -> None:
        if self.enabled:
            from agent.textsafe import markup_safe as safe

            icon = _ICON.get(record.status, "·")
            self.console.print(
                f" {icon} {record.step:<13} [dim]{record.engine:<8} {record.duration_s:6.2f}s[/]  {safe(record.detail)}",
                markup=True,
            )

    def note(self, text: str) -> None:
        if self.enabled:
            from agent.textsafe import markup_safe as safe

            self.console.print(f"[yellow]{safe(text)}[/]")
