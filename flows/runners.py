"""The task runner of the CPU stages (extraction, NER): threads, local processes or Dask."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, Self

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from newsmon.config import RunnerSettings

log = logging.getLogger(__name__)


class WarmProcessPoolTaskRunner(ProcessPoolTaskRunner):
    """A process pool that starts all its workers on entry rather than at the first tasks.

    Each worker imports Prefect and runs the initializer (the spaCy model load) a few seconds
    before it can take work; started on entry, that happens while the flow still fetches pages.
    """

    def __enter__(self) -> Self:
        super().__enter__()
        # ProcessPoolExecutor (spawn) starts a process per submission while none is idle, up
        # to max_workers: one trivial call per worker starts them all now.
        for _ in range(self._max_workers):
            self._executor.submit(os.getpid)
        return self


def task_runner(
    settings: RunnerSettings,
    articles: int,
    warm_up: Callable[..., None] | None = None,
    warm_up_args: tuple[Any, ...] = (),
) -> TaskRunner:
    """The runner for `articles` articles of CPU work under these settings.

    'auto' uses a process per core when there is enough work to pay for starting the
    processes (each imports Prefect and loads the spaCy model, a few seconds), else threads.
    Process workers run `warm_up(*warm_up_args)` as they start (it must be picklable).
    """
    workers = worker_count(settings)
    kind = settings.kind
    if kind == "auto":
        kind = "processes" if workers > 1 and articles >= settings.auto_min_articles else "threads"
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "processes":
        return WarmProcessPoolTaskRunner(
            max_workers=workers, initializer=warm_up, initargs=warm_up_args
        )
    from prefect_dask import DaskTaskRunner  # only installs that use Dask need it

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True}
    )


def worker_count(settings: RunnerSettings) -> int:
    """How many CPU tasks run at once under these settings (for Dask, the local guess)."""
    return settings.workers or os.cpu_count() or 1
