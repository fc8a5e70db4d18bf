"""Running one function over several tasks at once, each in a process of its own.

Processes are spawned, not forked, so none inherits the parent's threads or locks.
The parent hears of progress as the workers report it, raises a worker's error as
its own, and stops every worker at once when it is interrupted (Ctrl-C or SIGTERM)
or when a worker fails. A worker whose parent is gone ends itself.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing import get_context
from typing import Any

from credwatch.errors import CredwatchError

Progress = Callable[[int], Any]

# How often the parent looks at the workers' progress and health, and a worker at
# whether its parent is still there.
_PARENT_POLL_S = 0.25
_WORKER_POLL_S = 1.0


class ProcessFailed(CredwatchError):
    """A worker process raised an error or was killed before finishing."""


def run_in_processes(
    function: Callable[..., Any],
    tasks: Sequence[tuple],
    *,
    what: str,
    on_progress: Progress | None = None,
) -> list[Any]:
    """`function(*task)` for every task, each in its own process; results in task
    order. `what` names a task in errors ("learning share 2 of 4 failed: ...").
    Workers call `report_progress`; the counts reach `on_progress`."""
    context = get_context("spawn")
    progress = context.Value("q", 0)
    outcomes = context.Queue()
    processes = [
        context.Process(
            target=_worker_main, args=(function, index, task, progress, outcomes)
        )
        for index, task in enumerate(tasks)
    ]
    try:
        with _termination_raises():
            for process in processes:
                process.start()
            return _collect(processes, outcomes, progress, what, on_progress)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()


def report_progress(count: int) -> None:
    """Add `count` to the progress the parent reports (in a worker; else nothing)."""
    if _progress is not None and count:
        with _progress.get_lock():
            _progress.value += count


@contextmanager
def _termination_raises() -> Iterator[None]:
    """While workers run, SIGTERM ends the parent as Ctrl-C does: by an exception, so
    that the workers are stopped and temporary files removed, not left behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    before = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def _collect(
    processes: list[Any],
    outcomes: Any,
    progress: Any,
    what: str,
    on_progress: Progress | None,
) -> list[Any]:
    results: dict[int, Any] = {}
    told = 0
    while len(results) < len(processes):
        try:
            index, failure, result = outcomes.get(timeout=_PARENT_POLL_S)
        except queue.Empty:
            _check_alive(processes, results, what)
        else:
            if failure is not None:
                raise ProcessFailed(
                    f"{what} {index + 1} of {len(processes)} failed: {failure}"
                )
            results[index] = result

        done = progress.value
        if on_progress is not None and done > told:
            on_progress(done - told)
            told = done
    return [results[index] for index in range(len(processes))]


def _check_alive(processes: list[Any], results: dict[int, Any], what: str) -> None:
    for index, process in enumerate(processes):
        if index not in results and process.exitcode is not None:
            # Killed from outside (the kernel's out-of-memory killer, say).
            raise ProcessFailed(
                f"{what} {index + 1} of {len(processes)} ended with exit code "
                f"{process.exitcode} before finishing"
            )


# The worker's side.

_progress: Any = None


def _worker_main(
    function: Callable[..., Any], index: int, task: tuple, progress: Any, outcomes: Any
) -> None:
    global _progress
    _progress = progress
    _leave_with_parent()
    try:
        result = function(*task)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        outcomes.put((index, f"{type(exc).__name__}: {exc}", None))
        return
    outcomes.put((index, None, result))


def _leave_with_parent() -> None:
    """End this process when its parent is gone (killed, say): nothing would read
    its result, and it would hold its memory until it finished."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_WORKER_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
