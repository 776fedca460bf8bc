"""The task runner of the CPU stages (extraction, NER): threads, local processes or Dask."""

from __future__ import annotations

import logging
import multiprocessing
import os
import select
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Self

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from newsmon.config import RunnerSettings

log = logging.getLogger(__name__)

FORKSERVER_OWNER = "NEWSMON_FORKSERVER_OWNER"  # read by flows/preload.py before its imports

# Dask's nannies start their workers with MALLOC_TRIM_THRESHOLD_=65536, so that glibc hands
# freed memory back to the system at once; with glibc's own adaptive threshold (what every
# other Python process runs with) the CPU stages ran about 7 % faster on a 2-worker cluster
# (a one-off timing of bench_pipeline's 263 pages, the 2-core floor's work in two halves:
# 16.1-17.0 s against 17.7-17.9 s, three runs each).
# deploy/dask/newsmon.yaml says the same to `dask worker`.
DASK_WORKER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


class WarmProcessPoolTaskRunner(ProcessPoolTaskRunner):
    """A process pool whose workers fork, already loaded, from a forkserver started on entry.

    Prefect's own pool spawns each worker as a fresh interpreter that imports Prefect, newsmon
    and spaCy and loads the model, a few seconds each, all at its first task. Here the workers
    fork from a forkserver that has imported flows/preload.py (those imports, the default
    model, both stages run once) and share those pages; the forkserver and the workers start
    in a thread on entry, while the flow still fetches pages, and every worker runs the
    initializer (the configured analyser, ready) before it takes work. The forkserver is
    started once per process and kept; later pools fork from it at once.
    """

    def __enter__(self) -> Self:
        super().__enter__()
        spawning = self._executor  # Prefect's pool: no process started yet
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["flows.preload"])
        # The forkserver ends with this process (flows/preload.py): it is told which one.
        os.environ[FORKSERVER_OWNER] = str(os.getpid())
        self._executor = ProcessPoolExecutor(
            max_workers=self._max_workers,
            mp_context=context,
            initializer=spawning._initializer,  # Prefect's (log and event forwarding), then ours
            initargs=spawning._initargs,
        )
        spawning.shutdown(wait=False)
        threading.Thread(
            target=self._start_workers,
            args=(self._executor, self._max_workers),
            name="newsmon-pool-start",
            daemon=True,
        ).start()
        return self

    @staticmethod
    def _start_workers(executor: ProcessPoolExecutor, workers: int) -> None:
        # ProcessPoolExecutor starts a process per submission while none is idle, up
        # to max_workers: one trivial call per worker starts them all now.
        try:
            for _ in range(workers):
                executor.submit(os.getpid)
        except RuntimeError:  # the runner was left before its workers started
            pass
        except Exception:  # a forkserver that cannot start: the batches' tasks will say why
            log.exception("starting the process workers failed")


class _SharedVerifiedContexts:
    """Prefect's client module's view of `ssl`: one verified context per CA file, reused.

    Prefect builds a new API client for every task a process worker runs, and each client
    loads the CA bundle into a new SSLContext (about half of what a task costs a worker
    besides its own work, in a trace; upstream: PrefectHQ/prefect#19106). A verified context
    is safe to share between clients and Prefect does not change the one it asks for; any
    other call (the insecure branch, which changes its context) gets a new context as before.
    httpcore sets the ALPN protocols on the context for each connection, from the client's
    HTTP/2 setting: the same for every API client of a process (PREFECT_API_ENABLE_HTTP2).
    """

    def __init__(self) -> None:
        self._verified: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(ssl, name)

    def create_default_context(self, *args: Any, **kwargs: Any) -> ssl.SSLContext:
        cafile = kwargs.get("cafile")
        if args or set(kwargs) != {"cafile"} or not cafile:
            return ssl.create_default_context(*args, **kwargs)
        with self._lock:
            if cafile not in self._verified:
                self._verified[cafile] = ssl.create_default_context(cafile=cafile)
            return self._verified[cafile]


def share_api_tls_context() -> None:
    """Make Prefect's API clients in this process share their verified TLS context."""
    import prefect.client.orchestration as orchestration

    if not isinstance(orchestration.ssl, _SharedVerifiedContexts):
        orchestration.ssl = _SharedVerifiedContexts()


class Leaving:
    """A runner being left: in a thread for a process pool (its workers take most of a second
    to shut down, time the flow can spend loading), at once for the other runners."""

    def __init__(self, runner: TaskRunner | None):
        self.runner = runner  # None: there was no runner to leave
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.runner is None:
            return
        if not isinstance(self.runner, ProcessPoolTaskRunner):
            self.runner.__exit__(None, None, None)
            return
        self._thread = threading.Thread(target=self._leave, name="newsmon-runner-exit")
        self._thread.start()

    def _leave(self) -> None:
        try:
            self.runner.__exit__(None, None, None)
        except Exception:  # the results are in hand: a failed shutdown only gets logged
            log.exception("shutting down the %s failed", type(self.runner).__name__)

    def wait(self) -> None:
        """Return once the runner is shut down."""
        if self._thread is not None:
            self._thread.join()


@contextmanager
def leaving_in_background(runner: TaskRunner) -> Iterator[Leaving]:
    """Enter `runner`; leave it at once on an error, else start leaving it (`Leaving`)."""
    runner.__enter__()
    leaving = Leaving(runner)
    try:
        yield leaving
    except BaseException:
        runner.__exit__(*sys.exc_info())
        raise
    leaving.start()


def large(runner: TaskRunner, value: Any) -> Any:
    """A large task input for `runner`: in `quote` for Prefect's own runners, which then do
    not walk every object inside it; as is for Dask, which hands the task the quote's tuple
    unopened."""
    if isinstance(runner, ProcessPoolTaskRunner | ThreadPoolTaskRunner):
        return quote(value)
    return value


def task_runner(
    settings: RunnerSettings,
    articles: int,
    batches: int | None = None,
    warm_up: Callable[..., None] | None = None,
    warm_up_args: tuple[Any, ...] = (),
) -> TaskRunner:
    """The runner for `articles` articles of CPU work in `batches` tasks under these settings.

    Process workers run `warm_up(*warm_up_args)` as they start (it must be picklable).
    """
    kind, workers = resolve(settings, articles, batches)
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "processes":
        return WarmProcessPoolTaskRunner(
            max_workers=workers,
            initializer=start_worker,
            initargs=(os.getpid(), warm_up, warm_up_args),
        )
    from prefect_dask import DaskTaskRunner  # only installs that use Dask need it

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_class=local_dask_cluster,
        cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True},
    )


def stop_process_helpers() -> None:
    """Stop this process's forkserver and resource tracker, if it started them.

    Both are kept for the process's life (later pools fork at once), and both end by
    themselves when it exits, but only after a second or so of interpreter teardown, holding
    the caller's stdout and stderr meanwhile. A one-run process (`newsmon run`) stops them
    before it exits, so that its pipes close with it.
    """
    from multiprocessing import forkserver, resource_tracker

    for helper in (forkserver._forkserver, resource_tracker._resource_tracker):
        try:
            helper._stop()
        except Exception as exc:  # already gone, or a Python without the method
            log.debug("stopping %s: %s", type(helper).__name__, exc)


def start_worker(
    owner: int, warm_up: Callable[..., None] | None, warm_up_args: tuple[Any, ...]
) -> None:
    """A process worker's start: end with the run's process `owner` (`exit_with`), then
    `warm_up(*warm_up_args)`."""
    exit_with(owner)
    if warm_up is not None:
        warm_up(*warm_up_args)


def exit_with(owner: int) -> None:
    """End this process as soon as process `owner` ends, however it ends.

    A worker forks from the forkserver, not from the run's process, and holds the
    forkserver's "alive" pipe open (that is how a forkserver outlives its workers): when
    the run's process is killed with SIGKILL, nothing tells the worker, and worker and
    forkserver would wait for each other for ever. A thread waits on a pidfd of the run's
    process (Linux 5.3+; elsewhere it checks once a second) and ends the worker when it ends.
    """

    def watch() -> None:
        try:
            handle = os.pidfd_open(owner)
        except ProcessLookupError:
            os._exit(1)
        except (OSError, AttributeError):  # no pidfd here: poll
            while _alive(owner):
                time.sleep(1.0)
            os._exit(1)
        select.select([handle], [], [])
        os._exit(1)

    threading.Thread(target=watch, name="newsmon-exit-with-run", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def local_dask_cluster(**kwargs: Any) -> Any:
    """A `distributed.LocalCluster(**kwargs)` whose workers keep glibc's own malloc trimming
    (`DASK_WORKER_CONFIG`)."""
    import dask
    from distributed import LocalCluster

    with dask.config.set(DASK_WORKER_CONFIG):
        return LocalCluster(**kwargs)


def resolve(settings: RunnerSettings, articles: int, batches: int | None = None) -> tuple[str, int]:
    """The runner kind and how many CPU tasks run at once, for `articles` articles of work.

    No more workers than `batches` (when given): a worker with no batch to take would
    only be started, and loaded with the model, for nothing.

    'auto' uses a process per core when there is enough work to pay for starting the
    processes (a forkserver that imports Prefect and loads the spaCy model, a few seconds),
    else threads.
    Threads default to one: the CPU stages hold the GIL, and a second thread only adds
    contention (it was slower on bench_pipeline's pages).
    """
    cores = os.cpu_count() or 1
    kind = settings.kind
    if kind == "auto":
        many = (settings.workers or cores) > 1 and articles >= settings.auto_min_articles
        kind = "processes" if many else "threads"
    workers = settings.workers or (1 if kind == "threads" else cores)
    return kind, max(1, min(workers, batches)) if batches is not None else workers
