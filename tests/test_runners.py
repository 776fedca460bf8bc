"""Scale-out: the CPU stages on local processes or a Dask cluster give the same rows as threads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import yaml
from dask import config as dask_config
from distributed import Client
from distributed.utils import json_load_robust

from flows import runners
from flows.poll import poll_feeds, process_batch, warm_worker
from newsmon.batching import Batcher
from newsmon.config import NlpSettings, RunnerSettings
from newsmon.demo import serve_corpus, write_sources
from newsmon.feeds import Entry

from .conftest import ROOT

ROWS = """
SELECT a.article_id, a.text_source, a.content_hash, a.duplicate_of, a.dup_method, a.story_id,
       (SELECT list(entity_id ORDER BY entity_id) FROM mentions m WHERE m.article_id = a.article_id)
FROM articles a ORDER BY a.article_id
"""


def cycle(site, corpus, tmp_path, name: str, runner: dict) -> list[tuple]:
    topics = yaml.safe_load((ROOT / "sources.yaml").read_text())["topics"]
    db = tmp_path / f"{name}.duckdb"
    sources = write_sources(tmp_path / f"{name}.yaml", site, corpus, db, topics)
    data = yaml.safe_load(sources.read_text())
    data["settings"]["runner"] = runner
    sources.write_text(yaml.safe_dump(data, allow_unicode=True))
    result = poll_feeds(sources=str(sources))
    assert result["articles_new"] == len(corpus.articles)
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(ROWS).fetchall()


@contextmanager
def dask_cluster_as_deployed(folder: Path) -> Iterator[str]:
    """`dask scheduler` and one `dask worker` started as deploy/README.md says (step 3):
    configured by deploy/dask, flows/preload.py preloaded, one thread; the scheduler's
    address."""
    env = {**os.environ, "DASK_CONFIG": str(ROOT / "deploy" / "dask"), "PYTHONPATH": str(ROOT)}
    env.pop("MALLOC_TRIM_THRESHOLD_", None)  # as a fresh shell has it
    scheduler_file = folder / "scheduler.json"
    dask = str(Path(sys.executable).with_name("dask"))  # the venv's `dask` command
    commands = {
        "scheduler": [dask, "scheduler", "--port", "0"],
        "worker": [dask, "worker", "--nthreads", "1", "--preload", "flows.preload"],
    }
    with ExitStack() as stack:
        started: list[subprocess.Popen] = []
        stack.callback(_stop, started)  # whatever was started, however this ends
        for name, command in commands.items():
            log = stack.enter_context((folder / f"dask-{name}.log").open("wb"))
            command += ["--dashboard-address", ":0", "--scheduler-file", str(scheduler_file)]
            popen = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log
            )
            started.append(popen)
        # waits for the file and for its JSON to be whole (the scheduler writes it in place)
        address = json_load_robust(str(scheduler_file), timeout=60)["address"]
        with Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=60)
        yield address


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in reversed(processes):  # the worker first, then the scheduler
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(autouse=True)
def _environment_restored():
    """Dask's nannies set their workers' variables (OMP_NUM_THREADS=1, ...) in this very
    process before they start them: no test may leave them to the ones after it."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _worker_state() -> dict:
    import sys

    return {
        "malloc_trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "preload": "flows.preload" in sys.modules,
    }


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_processes_and_dask_clusters_give_the_same_rows_as_threads(tmp_path, monkeypatch):
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    # One site for every run: article ids derive from the URLs, port included.
    with serve_corpus(0) as (site, corpus):
        threads = cycle(site, corpus, tmp_path, "threads", {"kind": "threads"})
        assert len(threads) == 45 and all(row[6] for row in threads if row[1] == "page")
        assert (
            cycle(site, corpus, tmp_path, "processes", {"kind": "processes", "workers": 2})
            == threads
        )
        assert cycle(site, corpus, tmp_path, "dask", {"kind": "dask", "workers": 2}) == threads
        with dask_cluster_as_deployed(tmp_path) as address:
            remote = {"kind": "dask", "dask_address": address}
            assert cycle(site, corpus, tmp_path, "remote", remote) == threads
            with Client(address) as client:
                states = list(client.run(_worker_state).values())
    # Dask's own default would be "65536" (flows/runners.py, DASK_WORKER_CONFIG).
    assert states == [{"malloc_trim": None, "blas_threads": "1", "preload": True}]


def test_newsmons_local_dask_cluster_keeps_glibcs_malloc_trimming(monkeypatch):
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with (
        runners.local_dask_cluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        states = list(client.run(_worker_state).values())
    assert [(s["malloc_trim"], s["blas_threads"]) for s in states] == [(None, "1")]
    # what Dask's own configuration would have set
    assert dask_config.get("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_") == 65536


def _started(folder: str) -> None:
    """A worker initializer that leaves a file named after its process."""
    (Path(folder) / str(os.getpid())).touch()


def test_process_workers_start_and_run_their_initializer_on_entry(tmp_path):
    # No task is submitted: the workers must start (and load the model, in the flow) while
    # the flow is still fetching pages.
    settings = RunnerSettings(kind="processes", workers=2)
    with runners.task_runner(settings, 1, warm_up=_started, warm_up_args=(str(tmp_path),)):
        deadline = time.monotonic() + 30
        while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(list(tmp_path.iterdir())) == 2


def _what_the_worker_has(folder: str) -> None:
    """A worker initializer that records what the worker found loaded when it started."""
    import sys

    import prefect.client.orchestration as orchestration

    from newsmon import entities

    loaded = {
        "model": bool(entities._MODELS),
        "task_engine": "prefect.task_engine" in sys.modules,
        "preload": "flows.preload" in sys.modules,
        "shared_tls": type(orchestration.ssl).__name__ == "_SharedVerifiedContexts",
        "minhash": "datasketch" in sys.modules,  # imported at first use (newsmon.dedup)
    }
    (Path(folder) / f"{os.getpid()}.json").write_text(json.dumps(loaded))


def test_process_workers_fork_with_the_model_and_prefects_task_engine_loaded(tmp_path):
    settings = RunnerSettings(kind="processes", workers=2)
    with runners.task_runner(
        settings, 2, warm_up=_what_the_worker_has, warm_up_args=(str(tmp_path),)
    ):
        deadline = time.monotonic() + 60
        while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    found = [json.loads(p.read_text()) for p in tmp_path.iterdir()]
    loaded = {"model": True, "task_engine": True, "preload": True, "shared_tls": True}
    assert found == [{**loaded, "minhash": True}] * 2


def test_prefects_clients_share_one_verified_tls_context_and_nothing_else(monkeypatch):
    import ssl

    import certifi
    import prefect.client.orchestration as orchestration

    monkeypatch.setattr(orchestration, "ssl", orchestration.ssl)  # restored after the test
    runners.share_api_tls_context()
    runners.share_api_tls_context()  # twice: still one layer
    shared = orchestration.ssl
    assert isinstance(shared, runners._SharedVerifiedContexts)
    verified = shared.create_default_context(cafile=certifi.where())
    assert shared.create_default_context(cafile=certifi.where()) is verified
    assert verified.verify_mode == ssl.CERT_REQUIRED and verified.check_hostname
    # The insecure branch changes the context it gets: it must get its own every time.
    insecure = shared.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    assert shared.create_default_context() is not insecure
    assert verified.verify_mode == ssl.CERT_REQUIRED
    assert shared.SSLContext is ssl.SSLContext and shared.CERT_NONE == ssl.CERT_NONE
    # Prefect's own clients, as a worker's tasks build them, get that one context.
    contexts = [
        orchestration.SyncPrefectClient(
            "http://127.0.0.1:9/api"
        )._client._transport._pool._ssl_context
        for _ in range(2)
    ]
    assert contexts[0] is contexts[1]


def test_batches_shrink_with_the_work_left_within_bounds():
    sizes = [len(part) for part in Batcher(263, 2).cut(list(range(263)))]
    assert sizes == [50, 50, 41, 31, 23, 17, 13, 10, 10, 10, 8]
    assert Batcher(263, 2).count() == len(sizes)
    # Pages that arrive in parts (one fetch task each) are sized by what is left overall.
    batcher = Batcher(263, 2)
    parts = batcher.cut(list(range(100))) + batcher.cut(list(range(163)))
    assert [len(p) for p in parts] == [50, 50, 41, 31, 23, 17, 13, 10, 10, 10, 8]
    assert [len(p) for p in Batcher(45, 2).cut(list(range(45)))] == [12, 10, 10, 10, 3]
    # One worker waits for no one: the largest batches.
    assert [len(p) for p in Batcher(120, 1).cut(list(range(120)))] == [50, 50, 20]
    assert Batcher(0, 2).cut([]) == [] and Batcher(0, 2).count() == 0


def test_threads_default_to_one_and_processes_to_one_per_core():
    cores = os.cpu_count() or 1
    assert runners.resolve(RunnerSettings(kind="threads"), 500) == ("threads", 1)
    assert runners.resolve(RunnerSettings(kind="threads", workers=3), 500) == ("threads", 3)
    assert runners.resolve(RunnerSettings(kind="processes"), 5) == ("processes", cores)
    auto = RunnerSettings(kind="auto", auto_min_articles=100)
    assert runners.resolve(auto, 99) == ("threads", 1)
    assert runners.resolve(auto, 100) == (
        "processes" if cores > 1 else "threads",
        1 if cores == 1 else cores,
    )


def _feed_only_entry(summary: str) -> Entry:
    """An entry with no page to fetch: its text is the feed's summary."""
    return Entry(
        article_id="a1",
        feed_id="f",
        guid=None,
        url=None,
        canonical_url=None,
        title="Talks open",
        summary=summary,
        author=None,
        published_at=datetime(2025, 5, 16),
        language="en",
    )


@pytest.mark.usefixtures("prefect_harness")
def test_a_failing_warm_up_leaves_the_error_to_the_task():
    # No model under this name: the warm-up fails in each worker, and the batch's task
    # reports why instead of the pool breaking.
    nlp = NlpSettings(models=["no_such_spacy_model"])
    entry = _feed_only_entry("Delegations met in Istanbul. " * 20)
    settings = RunnerSettings(kind="processes", workers=2)
    with runners.task_runner(settings, 1, warm_up=warm_worker, warm_up_args=([], nlp)) as runner:
        future = runner.submit(
            process_batch,
            parameters={
                "batch": [entry],
                "pages": {},
                "min_text_chars": 200,
                "topics": [],
                "nlp": nlp,
            },
        )
        with pytest.raises(RuntimeError, match="no spaCy model installed"):
            future.result()


def test_no_more_workers_than_batches():
    settings = RunnerSettings(kind="processes", workers=4)
    assert runners.resolve(settings, 30, batches=1) == ("processes", 1)
    assert runners.resolve(settings, 300, batches=8) == ("processes", 4)
    assert runners.resolve(RunnerSettings(kind="threads", workers=3), 30, batches=2) == (
        "threads",
        2,
    )


def test_the_cpu_task_gives_the_loader_the_band_keys_it_would_compute(tmp_path):
    from newsmon import dedup, staging, warehouse
    from newsmon.config import DedupSettings

    entry = _feed_only_entry("Delegations from Kyiv and Moscow met in Istanbul on Friday. " * 10)
    (article,), _ = process_batch.fn([entry], {}, 200, [], NlpSettings())
    normal = dedup.normalise_text(article.text)
    assert article.lsh_bands == dedup.band_keys(normal)
    computed = article.lsh_bands
    article.lsh_bands = [1, 2, 3]  # the loader takes them as they come, computing nothing
    assert dedup.prepare(article, DedupSettings(), normal).bands == [1, 2, 3]
    # A staged batch's articles come back without them, and the loader computes them.
    run = warehouse.RunRecord(run_id="r1", started_at=datetime(2025, 5, 16))
    folder = staging.write(tmp_path / "w.duckdb", staging.Batch(run, [], [article], [], {}))
    (staged,) = staging.read(folder).articles
    assert staged.lsh_bands is None and staged.text == article.text
    assert dedup.prepare(staged, DedupSettings(), normal).bands == computed
