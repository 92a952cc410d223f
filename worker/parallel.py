"""Independent jobs side by side, for work that mostly waits on HubSpot's answers."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")


def run_together(jobs: Sequence[Callable[[], T]]) -> list[T]:
    """Run each job in its own thread and wait for all of them; results in job order.

    Every job runs to its end (each commits page by page, so a job stopped by another's error
    would gain nothing), then the first error in job order is raised. Structured-log context
    (the run id) travels to each thread.
    """
    if len(jobs) < 2:
        return [job() for job in jobs]
    with ThreadPoolExecutor(len(jobs), thread_name_prefix="sync") as pool:
        futures = [pool.submit(contextvars.copy_context().run, job) for job in jobs]
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
    return [future.result() for future in futures]
