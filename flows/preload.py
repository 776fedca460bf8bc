"""Imported once by the forkserver that process workers fork from (flows/runners.py).

Everything here is loaded before the fork, so each worker starts with it in memory instead of
loading it itself: Prefect and its task engine, newsmon's stages, spaCy, the Prefect
collections (Dask's modules among them) that a worker's first task run would otherwise load,
one TLS context for every task's API client (`share_api_tls_context`), and the default
spaCy model with both stages run once (`warm_worker`). A configuration that
names another model only loads it in each worker, as it would without this.
"""

import os

# The process that started this forkserver: named by it (flows/runners.py), else its parent,
# read before any import that takes time. Read after them, a run killed meanwhile would have
# left the forkserver the child of another process, which it would watch instead (a soak
# run was killed 11 s into a burst while its forkserver imported Prefect, and the forkserver
# outlived it).
_OWNER = int(os.environ.get("NEWSMON_FORKSERVER_OWNER") or 0) or os.getppid()

import logging  # noqa: E402
import sys  # noqa: E402

from flows.runners import exit_with  # noqa: E402


def _imported_by_a_forkserver() -> bool:
    frame = sys._getframe()
    while frame is not None:
        if frame.f_globals.get("__name__") == "multiprocessing.forkserver":
            return True
        frame = frame.f_back
    return False


# The forkserver ends with the process that started it, even one killed with SIGKILL, which
# cannot tell it to (its workers watch that process too: flows/runners.py, exit_with).
# Dask workers preload this module too; their nannies look after them.
if _imported_by_a_forkserver():
    exit_with(_OWNER)  # already gone: exit_with ends this process at once

try:
    import spacy  # noqa: F401
    from prefect import engine, task_engine  # noqa: F401
    from prefect.plugins import load_prefect_collections

    from flows.poll import warm_worker
    from flows.runners import share_api_tls_context
    from newsmon import developments  # noqa: F401
    from newsmon.config import NlpSettings

    load_prefect_collections()
    share_api_tls_context()
    warm_worker([], NlpSettings())
except Exception:
    # Only a head start: a forkserver whose preload raised would die and leave the pool
    # broken, and one that skips a failed import says nothing. The workers then load what
    # they need themselves, and their tasks report what still fails.
    logging.getLogger(__name__).exception("preloading the process workers failed")
