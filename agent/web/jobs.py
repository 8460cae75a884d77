"""Runs started from the web page: each in a worker thread of the server, its progress kept as events.

A page follows a run by subscribing to its job: it gets the events so far, then each new one as the
worker thread publishes it (server-sent events). Ctrl-C handling in agent.cancel installs a signal
handler only on the main thread, so the pipeline runs unchanged in a worker thread; stopping the
server sets the cancel flag, which ends calls waiting on a service.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from agent.progress import Progress

EventKind = Literal["start", "step", "note", "done"]
Subscriber = Callable[["Event"], None]


class Event(BaseModel):
    id: int
    kind: EventKind
    data: dict[str, Any]


class Job:
    """One run or re-run executing in this server process."""

    def __init__(self, job_id: str, run_id: str, label: str) -> None:
        self.id = job_id
        self.run_id = run_id
        self.label = label
        self.status = "running"
        self.version: int | None = None
        self.error: str | None = None
        self.events: list[Event] = []
        self.thread: threading.Thread | None = None
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self.status == "running"

    def publish(self, kind: EventKind, **data: Any) -> None:
        with self._lock:
            event = Event(id=len(self.events) + 1, kind=kind, data=data)
            self.events.append(event)
            subscribers = list(self._subscribers)
        for deliver in subscribers:
            try:
                deliver(event)
            except RuntimeError:  # the subscriber's event loop is closed: the page went away
                self.unsubscribe(deliver)

    def subscribe(self, deliver: Subscriber, after: int = 0) -> list[Event]:
        """Register ``deliver`` for new events; returns the events after ``after`` published so far."""
        with self._lock:
            self._subscribers.append(deliver)
            return self.events[after:]

    def unsubscribe(self, deliver: Subscriber) -> None:
        with self._lock:
            if deliver in self._subscribers:
                self._subscribers.remove(deliver)


class EventProgress(Progress):
    """Progress that publishes to a job's subscribers instead of printing on stderr."""

    def __init__(self, job: Job) -> None:
        super().__init__(enabled=False)
        self.job = job

    def start(self, run_id: str, scope_line: str, engine_line: str) -> None:
        self.job.publish("start", run=run_id, scope=scope_line, engine=engine_line)

    def step(self, record: Any) -> None:
        self.job.publish("step", step=record.step, status=record.status, engine=record.engine,
                         tokens_in=record.tokens_in, tokens_out=record.tokens_out,
                         duration_s=record.duration_s, detail=record.detail)

    def note(self, text: str) -> None:
        self.job.publish("note", text=text)


Work = Callable[[Progress], Any]  # returns the RunReport


class Jobs:
    """The jobs of this server process, newest last; at most ``limit`` run at once."""

    def __init__(self, db_path: str | Path, limit: int = 2) -> None:
        self.db_path = db_path
        self.limit = limit
        self._jobs: list[Job] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def running(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs if j.running]

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return next((j for j in self._jobs if j.id == job_id), None)

    def latest(self, run_id: str) -> Job | None:
        with self._lock:
            return next((j for j in reversed(self._jobs) if j.run_id == run_id), None)

    def start(self, run_id: str, label: str, work: Work) -> Job:
        """Start ``work`` in a worker thread; raises BusyError when the run or the server is busy."""
        with self._lock:
            busy = [j for j in self._jobs if j.running]
            if any(j.run_id == run_id for j in busy):
                raise BusyError(f"run {run_id} is already running here; wait for it to finish.")
            if len(busy) >= self.limit:
                raise BusyError(f"{len(busy)} runs are already running on this server; start this one when one has finished.")
            job = Job(str(next(self._ids)), run_id, label)
            self._jobs.append(job)
        job.thread = threading.Thread(target=self._execute, args=(job, work), name=f"run-{run_id}", daemon=True)
        job.thread.start()
        return job

    def _execute(self, job: Job, work: Work) -> None:
        from agent.cancel import Cancelled

        try:
            report = work(EventProgress(job))
            job.version = report.run.version
            status = self._recorded_status(job.run_id, job.version) or "completed"
        except (KeyboardInterrupt, Cancelled):
            status, job.error = "interrupted", "stopped; resume it with: agent runs rerun " + job.run_id + " --resume"
        except Exception as exc:  # noqa: BLE001 — a run's failure is shown on its page, never kills the server
            status, job.error = "failed", _message(exc)
        job.status = status
        job.publish("done", status=status, error=job.error, version=job.version)

    def _recorded_status(self, run_id: str, version: int) -> str | None:
        from agent.runstore import RunStore

        with RunStore(self.db_path) as store:
            return next((v.status for v in store.versions(run_id) if v.version == version), None)

    def shutdown(self, wait_s: float = 5.0) -> None:
        """Stop calls waiting on services and give running jobs a moment to record how they ended."""
        from agent import cancel

        running = self.running()
        if not running:
            return  # the flag is process-wide: set it only when there is work of ours to stop
        cancel.CANCEL.set()
        for job in running:
            if job.thread is not None:
                job.thread.join(wait_s)


class BusyError(Exception):
    """The run is already running here, or the server runs as many runs as it allows."""


def _message(exc: Exception) -> str:
    """One line for the page: the known input errors as they are, anything else with its type."""
    from agent.preflight import InputError
    from agent.profile import ProfileError
    from agent.runner import RerunError
    from tools.policies import PolicyFolderError
    from tools.writer import UnsafePathError

    if isinstance(exc, (InputError, PolicyFolderError, UnsafePathError, RerunError, ProfileError)):
        return str(exc)
    return f"internal error: {type(exc).__name__}: {exc}"
