"""Stopping work that is waiting on a service: Ctrl-C and time budgets bound calls already in flight.

An HTTP client's timeout bounds each read, not the call (a server trickling bytes never trips it), and
a thread blocked in a socket cannot be interrupted. So a bounded call runs in a daemon thread and the
caller waits in short slices: it returns at the deadline or within ~50 ms of Ctrl-C, and the abandoned
request finishes (or times out) on its own without touching the run's state.
"""

from __future__ import annotations

import contextlib
import contextvars
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

# Set by the SIGINT handler below; every bounded call in the process gives up when it is set.
CANCEL = threading.Event()
_SLICE_S = 0.05
# Calls given up on that are still running somewhere (an HTTP client's own worker pool, say).
_abandoned = 0
_lock = threading.Lock()
# SIGINTs the main thread's handler ran for, and those the wakeup-fd watcher read (while it runs).
_handled = 0
_watched: int | None = None


class Cancelled(Exception):
    """The user pressed Ctrl-C while a call was in flight."""


class DeadlineExceeded(Exception):
    """The call did not return within the time it was given."""


def call_bounded(fn: Callable[[], T], timeout: float | None, cancel: threading.Event = CANCEL) -> T:
    """fn() in a daemon thread; DeadlineExceeded after ``timeout`` s, Cancelled when ``cancel`` is set."""
    if cancel.is_set():
        raise Cancelled("stopped by the user")
    if timeout is not None and timeout <= 0:
        raise DeadlineExceeded("no time left for the call")
    box: dict[str, Any] = {}
    done = threading.Event()
    # LangChain passes callbacks and run config through context variables (streamed tokens need them).
    ctx = contextvars.copy_context()

    def target() -> None:
        global _abandoned
        try:
            box["value"] = ctx.run(fn)
        except BaseException as exc:  # noqa: BLE001 — handed to the caller's thread
            box["error"] = exc
        finally:
            with _lock:
                box["finished"] = True
                if box.get("abandoned"):
                    _abandoned -= 1
            done.set()

    def give_up(error: Exception) -> Exception:
        global _abandoned
        with _lock:
            if not box.get("finished"):
                box["abandoned"] = True
                _abandoned += 1
        return error

    threading.Thread(target=target, name="bounded-call", daemon=True).start()
    deadline = None if timeout is None else time.monotonic() + timeout
    while not done.wait(_SLICE_S):
        if cancel.is_set():
            raise give_up(Cancelled("stopped by the user"))
        if deadline is not None and time.monotonic() >= deadline:
            raise give_up(DeadlineExceeded(f"no answer within {timeout:.1f} s"))
    if "error" in box:
        raise box["error"]
    return box["value"]


def pause(seconds: float, cancel: threading.Event = CANCEL) -> None:
    """time.sleep that Ctrl-C ends at once (a retry wait must not outlive the user's patience)."""
    if cancel.wait(seconds):
        raise Cancelled("stopped by the user")


def _on_sigint(signum: int, frame: Any) -> None:
    import logging

    global _handled
    with _lock:
        _handled += 1
    CANCEL.set()
    # On an interrupted step LangGraph's executor can shut down while a cancelled branch is still in its
    # done-callback; concurrent.futures then logs a traceback for the write it could not schedule. The
    # branch's writes are simply not recorded (a resumed run re-runs it), so the traceback is noise.
    logging.getLogger("concurrent.futures").disabled = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigint_cancels() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt here and also stops calls running in worker threads.

    Installed even when the parent ignored SIGINT (ignored signals are inherited across exec).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        with _cancel_from_any_thread():
            yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _cancel_from_any_thread() -> Iterator[None]:
    """Set CANCEL as soon as SIGINT arrives, even while the main thread cannot run its handler.

    The kernel may deliver SIGINT to any thread. Python runs the handler only in the main thread, and a
    main thread blocked in an untimed lock wait (LangGraph waiting on its branches) is then not woken: the
    handler would run only when a branch ends, which for a call waiting on a slow model is minutes. The C
    handler also writes the signal number to the wakeup fd; a watcher thread reading it sets CANCEL, the
    branches give up within a slice, and the main thread wakes and raises KeyboardInterrupt.
    """
    import os

    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    try:
        previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except ValueError:  # not the main thread of the main interpreter
        os.close(read_fd)
        os.close(write_fd)
        yield
        return

    global _watched

    def watch() -> None:
        global _watched
        while True:
            try:
                data = os.read(read_fd, 64)
            except OSError:
                return
            if not data:
                return
            seen = data.count(signal.SIGINT)
            if seen:
                with _lock:
                    _watched = (_watched or 0) + seen
                CANCEL.set()

    with _lock:
        _watched = _handled  # the watcher starts level with the handler
    watcher = threading.Thread(target=watch, name="sigint-watcher", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous_fd)
        os.close(write_fd)  # the watcher reads end-of-file and returns
        watcher.join(timeout=1)
        os.close(read_fd)
        with _lock:
            _watched = None


def reset() -> None:
    """A new unit of work (a run, a chat turn) starts uncancelled.

    A Ctrl-C the main thread has already handled (at a chat prompt, say) may not yet have been read by the
    watcher; wait for it briefly, so its late CANCEL cannot stop the next unit of work.
    """
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        with _lock:
            if _watched is None or _watched >= _handled:
                break
        time.sleep(0.005)
    CANCEL.clear()


def abandoned() -> int:
    """How many given-up calls are still running; the process should not wait for them at exit."""
    with _lock:
        return _abandoned
