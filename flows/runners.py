"""The task runner of the CPU stages (extraction, NER): threads, local processes or Dask."""

from __future__ import annotations

import logging
import os

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from newsmon.config import RunnerSettings

log = logging.getLogger(__name__)


def task_runner(settings: RunnerSettings, articles: int) -> TaskRunner:
    """The runner for `articles` articles of CPU work under these settings.

    'auto' uses a process per core when there is enough work to pay for starting the
    processes (each imports Prefect and loads the spaCy model, a few seconds), else threads.
    """
    workers = settings.workers or os.cpu_count() or 1
    kind = settings.kind
    if kind == "auto":
        kind = "processes" if workers > 1 and articles >= settings.auto_min_articles else "threads"
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "processes":
        return ProcessPoolTaskRunner(max_workers=workers)
    from prefect_dask import DaskTaskRunner  # only installs that use Dask need it

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True}
    )
