"""Benchmark of the whole pipeline: end-to-end throughput beside its CPU floors, in one run.

Corpus: recorded real pages (newspaper4k test pages and the English pages of the
trafilatura evaluation set, from ../shared/data, read in place, never copied) plus the demo
corpus, all served from one loopback StaticSite with 8 RSS feeds listing them. Without the
shared data only the demo corpus is used (a note says so).

What is measured, in order:

1. trafilatura floor: `extract_page` on every page, in this process, one core, no network
   (trafilatura's defaults: htmldate's extensive date search included).
2. extraction+NER floor: the same as the flow does it (the feeds date every item, so no
   extensive date search), then `analyser_for(topics, NlpSettings()).analyse(...)`
   (spaCy NER, the parse of the sentences a development trigger could match, developments) on
   the texts, one core (model loaded beforehand). Both floors also report CPU time per page,
   which a machine shared with other work disturbs much less than wall time.
3. the same two-stage work on 2 cores: a spawn Pool(2) over two halves (alternate pages); timed with and
   without the pool's start-up (process start, imports, model load).
4. the full `poll_feeds` flow (Prefect test harness, fresh warehouse each time), runner
   kind `threads` with one worker thread (one core for the CPU stages) and `processes` with
   2 workers.
   Harness start-up is not in the timings.
   With `--dask`, also on a Dask cluster started beforehand (2 worker processes, 1 thread
   each, flows/preload.py preloaded and warmed with the configuration's analyser): the
   steady state of a deployment whose workers outlive its flow runs (runner.dask_address).
5. the same stages as plain functions without Prefect (feeds.poll, dedup selection, fetch_all,
   process_batch.fn serially, pipeline.load_or_stage, the summary queries): Prefect's own
   cost per article = (threads flow time - plain time) / articles stored.

The topics (watch lists) are those of ./sources.yaml, so the NER stage does the real matching.

    .venv/bin/python bench/bench_pipeline.py             # every available page
    .venv/bin/python bench/bench_pipeline.py --pages 200
    .venv/bin/python bench/bench_pipeline.py --smoke     # 40 pages
    .venv/bin/python bench/bench_pipeline.py --dask      # also the flow on a warm Dask cluster
"""

from __future__ import annotations

import argparse
import atexit
import gzip
import html
import json
import logging
import multiprocessing
import os
import platform
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

# Prefect reads its settings at import: isolate its home and silence telemetry first.
if "PREFECT_HOME" not in os.environ:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="newsmon-bench-prefect-")
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], True)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))  # for `flows`, which is not part of the installed package
# Spawned workers (the floor's pool, Prefect's process runner) must find `flows` too.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p
)

FEEDS = 8
EPOCH = datetime(2025, 5, 1, tzinfo=UTC)
MIN_TEXT_CHARS = 200  # the default of Settings.min_text_chars
_ENGLISH = {"the", "and", "of", "to", "in", "is", "that", "for", "with", "was", "on", "are"}


# ---------------------------------------------------------------- corpus


def _lang(page: bytes) -> str | None:
    match = re.search(rb"<html[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2})", page[:20000], re.I | re.S)
    return match.group(1).decode().lower() if match else None


def _looks_english(page: bytes) -> bool:
    """The declared language, else a cheap stop-word ratio of the visible words."""
    declared = _lang(page)
    if declared:
        return declared == "en"
    text = re.sub(rb"(?is)<(script|style)[^>]*>.*?</\1>|<[^>]+>", b" ", page).decode(
        "utf-8", "replace"
    )
    words = re.findall(r"[a-z]+", text.lower())
    return len(words) > 100 and sum(w in _ENGLISH for w in words) / len(words) > 0.06


def _title(page: bytes, fallback: str) -> str:
    match = re.search(rb"(?is)<title[^>]*>(.*?)</title>", page[:200000])
    title = match and " ".join(html.unescape(match.group(1).decode("utf-8", "replace")).split())
    return (title or fallback)[:200]


def recorded_pages() -> tuple[list[tuple[str, bytes]], str | None]:
    """(name, HTML) of the English recorded pages; a note when the shared data is absent."""
    news = SHARED / "newspaper4k_tests" / "data" / "html"
    evaluation = SHARED / "trafilatura_eval"
    if not news.is_dir() and not (evaluation / "evaldata.json").is_file():
        return [], f"{SHARED} not found: demo corpus only"
    pages = []
    for path in sorted(news.glob("*.html.gz")) if news.is_dir() else []:
        pages.append((f"newspaper4k/{path.name}", gzip.decompress(path.read_bytes())))
    if (evaluation / "evaldata.json").is_file():
        listed = json.loads((evaluation / "evaldata.json").read_text(encoding="utf-8"))
        for item in listed.values():
            for folder in ("cache", "eval"):
                path = evaluation / folder / (item["file"] + ".gz")
                if path.is_file():
                    pages.append(
                        (f"trafilatura/{item['file']}", gzip.decompress(path.read_bytes()))
                    )
                    break
    english = [(name, page) for name, page in pages if _looks_english(page)]
    return english, None


def build_corpus(base_url: str, limit: int | None) -> tuple[list[dict], Counter, str | None]:
    """Pages to serve: dicts of path, body, title, summary, source; demo and real interleaved."""
    from newsmon.demo.corpus import load_corpus, render_page

    corpus = load_corpus()
    demo = [
        (f"demo/{a.outlet}/{a.id}", render_page(corpus, a, base_url).body, a.title, a.summary)
        for a in corpus.articles
        if a.page != "missing"
    ]
    real, note = recorded_pages()
    real4 = [(n, p, _title(p, n), f"Recorded page {n}.") for n, p in real]
    # Interleave so that a capped run still mixes demo and recorded pages.
    mixed, step = [], max(1, round(len(real4) / max(1, len(demo))))
    while demo or real4:
        if demo:
            mixed.append(demo.pop(0))
        mixed += real4[:step]
        del real4[:step]
    mixed = mixed[:limit] if limit else mixed
    pages = [
        {"path": f"/p/{i:04d}.html", "body": body, "title": title, "summary": summary, "name": name}
        for i, (name, body, title, summary) in enumerate(mixed)
    ]
    return pages, Counter(p["name"].split("/")[0] for p in pages), note


def feed_routes(site, pages: list[dict]) -> dict:
    """Routes for the pages and FEEDS RSS feeds listing them round-robin."""
    from newsmon.demo.server import Response

    routes = {p["path"]: Response(p["body"], content_type="text/html") for p in pages}
    for f in range(FEEDS):
        items = "".join(
            f"<item><title>{escape(p['title'])}</title><link>{site.url(p['path'])}</link>"
            f"<guid>bench-{i}</guid><description>{escape(p['summary'])}</description>"
            f"<pubDate>{format_datetime(EPOCH + timedelta(hours=i), usegmt=True)}</pubDate></item>"
            for i, p in enumerate(pages)
            if i % FEEDS == f
        )
        xml = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Bench feed {f}</title>'
            f"<link>{site.base_url}/</link>{items}</channel></rss>"
        )
        routes[f"/feed/{f}.xml"] = Response(xml.encode(), content_type="application/rss+xml")
    return routes


def write_sources(
    path: Path, site, db: Path, kind: str, workers: int, dask_address: str | None = None
) -> None:
    original = json.loads(json.dumps(_yaml().safe_load((ROOT / "sources.yaml").read_text())))
    feeds = [
        {"id": f"bench-{f}", "name": f"Bench feed {f}", "url": site.url(f"/feed/{f}.xml")}
        for f in range(FEEDS)
    ]
    settings = {
        "warehouse": str(db),
        "allow_private_networks": True,
        "polling": {"robots_txt": False},
        "runner": {"kind": kind, "workers": workers},
    }
    if dask_address:
        settings["runner"]["dask_address"] = dask_address
    doc = {"feeds": feeds, "topics": original.get("topics", []), "settings": settings}
    path.write_text(_yaml().safe_dump(doc, allow_unicode=True), encoding="utf-8")


def _yaml():
    import yaml

    return yaml


# ---------------------------------------------------------------- floors


def _texts(pages: list[dict], extracted: list) -> tuple[list[str], list[date]]:
    """What the NER stage reads, as in the flow (feed summary when the page gives no text)."""
    from newsmon.entities import article_text

    texts, days = [], []
    for i, (page, found) in enumerate(zip(pages, extracted, strict=True)):
        use = found is not None and len(found.text) >= MIN_TEXT_CHARS
        texts.append(article_text(page["title"], found.text if use else page["summary"]))
        days.append((EPOCH + timedelta(hours=i)).date())
    return texts, days


def two_stage(pages: list[dict]) -> int:
    """extract_page on each page, then the spaCy analysis of the texts: the floor's work."""
    from newsmon.analysis import analyser_for
    from newsmon.config import NlpSettings
    from newsmon.extract import extract_page

    # As the flow extracts them: the feeds date every item, so no extensive date search (the
    # trafilatura floor keeps trafilatura's default, which runs it).
    extracted = [
        extract_page(p["body"], "http://bench.invalid" + p["path"], date_search=False)
        for p in pages
    ]
    texts, days = _texts(pages, extracted)
    return len(list(analyser_for(_TOPICS, NlpSettings()).analyse(texts, days)))


_TOPICS: list = []


def _worker_init(topics: list, barrier) -> None:
    global _TOPICS
    from newsmon.analysis import analyser_for
    from newsmon.config import NlpSettings

    _TOPICS = topics
    list(analyser_for(topics, NlpSettings()).analyse(["Warm-up text in London."], [date.today()]))
    barrier.wait()


def _noop(_: int) -> int:
    return os.getpid()


def _half(pages: list[dict]) -> tuple[int, int]:
    return os.getpid(), two_stage(pages)


def floors(pages: list[dict], topics: list) -> dict:
    global _TOPICS
    from newsmon.analysis import analyser_for
    from newsmon.config import NlpSettings
    from newsmon.extract import extract_page

    _TOPICS = topics
    t0 = time.perf_counter()
    analyser_for(topics, NlpSettings())
    model_s = time.perf_counter() - t0
    # Warm both stages once so that the first call's imports are not counted.
    two_stage(pages[:1])

    # CPU seconds beside wall seconds: on a shared machine they move much less.
    t0, c0 = time.perf_counter(), time.process_time()
    for p in pages:
        extract_page(p["body"], "http://bench.invalid" + p["path"])
    extract_s, extract_cpu = time.perf_counter() - t0, time.process_time() - c0

    t0, c0 = time.perf_counter(), time.process_time()
    two_stage(pages)
    one_core_s, one_core_cpu = time.perf_counter() - t0, time.process_time() - c0

    ctx = multiprocessing.get_context("spawn")
    t0 = time.perf_counter()
    barrier = ctx.Barrier(2)
    with ctx.Pool(2, initializer=_worker_init, initargs=(topics, barrier)) as pool:
        pool.map(_noop, range(2), chunksize=1)  # returns once both workers are loaded
        startup_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        done = pool.map(_half, [pages[0::2], pages[1::2]], chunksize=1)
        warm_s = time.perf_counter() - t1
    return {
        "model_load_s": model_s,
        "trafilatura_s": extract_s,
        "trafilatura_cpu_s": extract_cpu,
        "extract_ner_1core_s": one_core_s,
        "extract_ner_1core_cpu_s": one_core_cpu,
        "extract_ner_2core_warm_s": warm_s,
        "extract_ner_2core_with_startup_s": startup_s + warm_s,
        "pool_startup_s": startup_s,
        "pool_distinct_workers": len({pid for pid, _ in done}),
    }


# ---------------------------------------------------------------- flow and plain run


def plain_cycle(sources: Path, db: Path) -> tuple[dict, int]:
    """The flow's stages as plain function calls (no Prefect); seconds per stage."""
    from flows.poll import process_batch
    from newsmon import dedup, feeds, fetch, pipeline, schedule, staging, summary, warehouse
    from newsmon.batching import Batcher
    from newsmon.config import load_sources

    times: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now_t = time.perf_counter()
        times[name] = now_t - t
        t = now_t

    config = load_sources(sources)
    settings = config.settings
    now = datetime.now(UTC).replace(tzinfo=None)
    run = warehouse.RunRecord(run_id="plain", started_at=now)
    with pipeline.reading(db) as con:
        states = warehouse.poll_states(con) if con is not None else {}
    due, _, _ = schedule.plan(config.feeds, states, now, True)
    headers = {
        f.id: schedule.request_headers(states.get(f.id), now, settings.polling.refetch_after)
        for f in due
    }
    polled = feeds.poll(due, settings, headers)
    statuses = [s for s, _ in polled]
    entries = [e for _, es in polled for e in es]
    run.feeds_polled = len(due)
    run.feeds_ok = len(statuses)
    run.entries_seen = len(entries)
    lap("poll")
    with pipeline.reading(db) as con:
        known = warehouse.known_keys(con, entries) if con is not None else dedup.Known()
    fresh, updated, _ = dedup.new_entries(entries, known)
    per_feed = Counter(e.feed_id for e in fresh)
    for status in statuses:
        status.new_entries = per_feed[status.feed_id]
        status.state = schedule.advance(
            states.get(status.feed_id), config.feed(status.feed_id), status, settings.polling, now
        )
    lap("select")
    wanted = fresh + updated
    urls = list(dict.fromkeys(e.url for e in wanted if e.url))
    results = fetch.fetch_all(
        urls, settings.http, settings.allow_private_networks, robots_txt=False
    )
    pages = dict(zip(urls, results, strict=True))
    lap("fetch")
    built, found = [], {}
    for part in Batcher(len(wanted), 1).cut(wanted):
        part_pages = {e.url: pages[e.url] for e in part if e.url in pages}
        articles, part_found = process_batch.fn(
            part, part_pages, settings.min_text_chars, config.topics, settings.nlp
        )
        built += articles
        found.update(part_found)
    lap("process")
    by_id = {a.article_id: a for a in built}
    run.finished_at = datetime.now(UTC).replace(tzinfo=None)
    batch = staging.Batch(
        run,
        statuses,
        [by_id[e.article_id] for e in fresh],
        [by_id[e.article_id] for e in updated],
        found,
    )
    outcome, _ = pipeline.load_or_stage(db, batch, config, settings.lock_wait)
    lap("load")
    if outcome == "loaded":
        with warehouse.connect(warehouse.snapshot_path(db), read_only=True) as con:
            summary.run_markdown(con, run.run_id)
            summary.new_articles_table(con, run.run_id)
            summary.new_developments_table(con, run.run_id)
    lap("summary")
    return times, batch.run.articles_new


# Task names of poll_feeds, in the order of the phases they make.
PHASES = {
    "poll": ("read_states", "poll_batch", "select_new"),
    "fetch": ("fetch_pages",),
    "cpu": ("process_batch",),
    "load": ("load", "publish_summary"),
}


def phases(run_id: str, called_at: datetime) -> tuple[dict, list[tuple[float, float]]]:
    """(first start, last end) of each phase's task runs, in seconds from the flow call.

    Read from the Prefect API after the run; 'flow' spans the flow run itself. Also every
    process_batch run's (start, end), in start order.
    """
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(UUID(run_id))
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id)])), limit=200
        )

    def since(moment) -> float:
        return round((moment - called_at).total_seconds(), 2)

    out: dict = {"flow": (since(flow_run.start_time), since(flow_run.end_time))}
    ended = [(t.name.rsplit("-", 1)[0], t) for t in tasks if t.start_time and t.end_time]
    cpu_tasks = sorted(
        (since(t.start_time), since(t.end_time)) for name, t in ended if name == "process_batch"
    )
    for phase, names in PHASES.items():
        runs = [t for name, t in ended if name in names]
        if runs:
            out[phase] = (
                since(min(t.start_time for t in runs)),
                since(max(t.end_time for t in runs)),
            )
    return out, cpu_tasks


def warm_dask_cluster(topics: list):
    """A local Dask cluster of 2 worker processes (1 thread each) that have preloaded
    flows/preload.py and analysed a page with the configuration's analyser, as the workers
    of a long-lived cluster are after their first flow run; and its start-up seconds.
    Its workers are configured as deploy/dask/newsmon.yaml configures `dask worker`."""
    from distributed import Client

    from flows.poll import warm_worker
    from flows.runners import local_dask_cluster
    from newsmon.config import NlpSettings

    # Each batch's pages travel inside its task, as they must to reach another machine;
    # Dask warns about every such graph.
    warnings.filterwarnings("ignore", message="Sending large graph")
    logging.getLogger("distributed").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    cluster = local_dask_cluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        preload=["flows.preload"],
        dashboard_address=":0",
        silence_logs=logging.WARNING,
    )
    with Client(cluster) as client:
        client.run(warm_worker, topics, NlpSettings())
    return cluster, time.perf_counter() - t0


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=None, help="cap (default: all available)")
    parser.add_argument("--smoke", action="store_true", help="40 pages")
    parser.add_argument(
        "--dask", action="store_true", help="also time the flow on a warm 2-worker Dask cluster"
    )
    args = parser.parse_args()
    if args.smoke:
        args.pages = 40

    from newsmon.batching import Batcher
    from newsmon.demo.server import StaticSite

    site = StaticSite()
    site.__enter__()
    atexit.register(site.__exit__, None, None, None)
    pages, by_source, note = build_corpus(site.base_url, args.pages)
    site.routes.update(feed_routes(site, pages))
    n = len(pages)
    print(f"{n} pages: " + ", ".join(f"{k} {v}" for k, v in sorted(by_source.items())))
    if note:
        print("NOTE:", note)

    work = Path(tempfile.mkdtemp(prefix="newsmon-bench-pipeline-"))
    atexit.register(shutil.rmtree, work, True)
    topics = _load_topics()

    print("floors ...", flush=True)
    fl = floors(pages, topics)

    from prefect.testing.utilities import prefect_test_harness

    from flows.poll import poll_feeds

    flows_out = {}
    kinds = ["threads", "processes"] + (["dask"] if args.dask else [])
    cluster_s = None
    t0 = time.perf_counter()
    with prefect_test_harness(server_startup_timeout=120):
        harness_s = time.perf_counter() - t0
        for kind in kinds:
            print(f"flow ({kind}) ...", flush=True)
            db, sources = work / f"{kind}.duckdb", work / f"{kind}.yaml"
            cluster = None
            if kind == "dask":  # started for this run only: idle, it would slow the others
                cluster, cluster_s = warm_dask_cluster(topics)
            address = cluster.scheduler_address if cluster else None
            write_sources(sources, site, db, kind, 1 if kind == "threads" else 2, address)
            t0, t0_wall = time.perf_counter(), datetime.now(UTC)
            try:
                result = poll_feeds(sources=str(sources), db=str(db), force=True)
                seconds = time.perf_counter() - t0
            finally:
                if cluster is not None:
                    cluster.close()
            phase_s, cpu_tasks_s = phases(result["run_id"], t0_wall)
            flows_out[kind] = {
                "seconds": seconds,
                "articles_new": result["articles_new"],
                "text_from_page": result["text_from_page"],
                "text_from_feed": result["text_from_feed"],
                "duplicates_marked": result["duplicates_marked"],
                "outcome": result["outcome"],
                "phases_s": phase_s,
                "cpu_tasks_s": cpu_tasks_s,
            }

    print("plain stages (no Prefect) ...", flush=True)
    db, sources = work / "plain.duckdb", work / "plain.yaml"
    write_sources(sources, site, db, "threads", 2)
    t0 = time.perf_counter()
    stages, plain_articles = plain_cycle(sources, db)
    plain_s = time.perf_counter() - t0

    thr, proc = flows_out["threads"], flows_out["processes"]
    traf_rate = rate(n, fl["trafilatura_s"])
    floor1 = rate(n, fl["extract_ner_1core_s"])
    floor2 = rate(n, fl["extract_ner_2core_warm_s"])
    floor2_cold = rate(n, fl["extract_ner_2core_with_startup_s"])
    cycle1 = rate(thr["articles_new"], thr["seconds"])
    cycle2 = rate(proc["articles_new"], proc["seconds"])
    overhead = (floor2 / cycle2 - 1) * 100
    overhead_cold = (floor2_cold / cycle2 - 1) * 100
    speedup_floor = fl["extract_ner_1core_s"] / fl["extract_ner_2core_warm_s"]
    speedup_floor_cold = fl["extract_ner_1core_s"] / fl["extract_ner_2core_with_startup_s"]
    speedup_cycle = cycle2 / cycle1
    prefect_ms = (thr["seconds"] - plain_s) / max(1, thr["articles_new"]) * 1000
    goals = {
        "cycle_2core_ge_1.6x_trafilatura": cycle2 >= 1.6 * traf_rate,
        "overhead_over_floor_le_25pct": overhead <= 25,
        "prefect_cost_le_5ms_per_article": prefect_ms <= 5,
    }

    def pf(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    traf_cpu_ms = 1000 * fl["trafilatura_cpu_s"] / n
    floor1_cpu_ms = 1000 * fl["extract_ner_1core_cpu_s"] / n
    lines = [
        ("pages", f"{n}"),
        ("trafilatura floor, 1 core", f"{traf_rate:8.1f} pages/s"),
        ("extraction+NER floor, 1 core", f"{floor1:8.1f} articles/s"),
        ("CPU per page: trafilatura", f"{traf_cpu_ms:8.1f} ms"),
        ("CPU per article: extraction+NER floor", f"{floor1_cpu_ms:8.1f} ms"),
        ("CPU per article: NER/parse/developments alone", f"{floor1_cpu_ms - traf_cpu_ms:8.1f} ms"),
        ("extraction+NER floor, 2 cores (warm)", f"{floor2:8.1f} articles/s"),
        ("extraction+NER floor, 2 cores (+pool start-up)", f"{floor2_cold:8.1f} articles/s"),
        ("full cycle, 1 thread (1 core)", f"{cycle1:8.1f} articles/s"),
        ("full cycle, processes x2", f"{cycle2:8.1f} articles/s"),
        ("plain stages, no Prefect (1 core)", f"{rate(plain_articles, plain_s):8.1f} articles/s"),
        ("overhead, 2-core cycle vs warm 2-core floor", f"{overhead:8.1f} %"),
        ("overhead, 2-core cycle vs 2-core floor + start-up", f"{overhead_cold:8.1f} %"),
        ("speed-up 1->2 cores, floor (warm)", f"{speedup_floor:8.2f} x"),
        ("speed-up 1->2 cores, floor (+start-up)", f"{speedup_floor_cold:8.2f} x"),
        ("speed-up 1->2 cores, full cycle", f"{speedup_cycle:8.2f} x"),
        ("Prefect cost (threads flow - plain)", f"{prefect_ms:8.1f} ms/article"),
    ]
    if "dask" in flows_out:
        dask = flows_out["dask"]
        cycle_dask = rate(dask["articles_new"], dask["seconds"])
        lines[10:10] = [
            ("full cycle, warm Dask cluster x2", f"{cycle_dask:8.1f} articles/s"),
            (
                "overhead, warm Dask cycle vs warm 2-core floor",
                f"{(floor2 / cycle_dask - 1) * 100:8.1f} %",
            ),
        ]
    width = max(len(k) for k, _ in lines) + 2
    print()
    for k, v in lines:
        print(f"{k:<{width}}{v}")
    print("-" * (width + 22))
    print(
        f"articles stored: threads {thr['articles_new']} ({thr['text_from_page']} page text),"
        f" processes {proc['articles_new']},"
        + (f" dask {flows_out['dask']['articles_new']}," if "dask" in flows_out else "")
        + f" plain {plain_articles};"
        f" flow seconds: threads {thr['seconds']:.2f}, processes {proc['seconds']:.2f},"
        + (f" dask {flows_out['dask']['seconds']:.2f}," if "dask" in flows_out else "")
        + f" plain {plain_s:.2f}"
    )
    print(
        "plain stages (s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
        + f"; spaCy model load {fl['model_load_s']:.1f} s (before timings),"
        + (f" Dask cluster start-up {cluster_s:.1f} s (not timed)," if cluster_s else "")
        + f" pool start-up {fl['pool_startup_s']:.1f} s, harness start-up {harness_s:.1f} s"
        " (not timed)"
    )
    for kind, out in flows_out.items():
        print(
            f"flow phases, {kind} (s from the call, first start-last end): "
            + ", ".join(f"{k} {a:.1f}-{b:.1f}" for k, (a, b) in out["phases_s"].items())
        )
        print(
            f"  CPU tasks, {kind}: " + ", ".join(f"{a:.1f}-{b:.1f}" for a, b in out["cpu_tasks_s"])
        )
    if fl["pool_distinct_workers"] != 2:
        print("NOTE: both halves of the 2-core floor ran in one worker")
    if Batcher(n, 2).count() < 2:
        print(f"NOTE: {n} articles make one process_batch task: processes x2 cannot use 2 cores")
    print(
        f"goal full cycle (processes x2) >= 1.6 x trafilatura 1-core ({1.6 * traf_rate:.1f}):"
        f" {pf(goals['cycle_2core_ge_1.6x_trafilatura'])}"
    )
    print(
        f"goal overhead over the warm 2-core floor <= 25 %: {pf(goals['overhead_over_floor_le_25pct'])}"
    )
    print(f"goal Prefect cost <= 5 ms/article: {pf(goals['prefect_cost_le_5ms_per_article'])}")

    machine = {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
    }
    figures = {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "pages": n,
        "pages_by_source": dict(by_source),
        "note": note,
        "feeds": FEEDS,
        "rates": {
            "trafilatura_1core_pages_per_s": round(traf_rate, 2),
            "extract_ner_1core_per_s": round(floor1, 2),
            "extract_ner_2core_warm_per_s": round(floor2, 2),
            "extract_ner_2core_with_startup_per_s": round(floor2_cold, 2),
            "cycle_threads_per_s": round(cycle1, 2),
            "cycle_processes_2_per_s": round(cycle2, 2),
            "plain_per_s": round(rate(plain_articles, plain_s), 2),
            **(
                {"cycle_dask_warm_2_per_s": round(rate(n_dask, flows_out["dask"]["seconds"]), 2)}
                if (n_dask := flows_out.get("dask", {}).get("articles_new"))
                else {}
            ),
        },
        "cpu_ms": {
            "trafilatura_per_page": round(traf_cpu_ms, 1),
            "extract_ner_per_article": round(floor1_cpu_ms, 1),
            "nlp_per_article": round(floor1_cpu_ms - traf_cpu_ms, 1),
        },
        "overhead_pct": {
            "vs_warm_floor": round(overhead, 1),
            "vs_floor_with_startup": round(overhead_cold, 1),
        },
        "speedup_1_to_2": {
            "floor_warm": round(speedup_floor, 2),
            "floor_with_startup": round(speedup_floor_cold, 2),
            "cycle": round(speedup_cycle, 2),
        },
        "prefect_ms_per_article": round(prefect_ms, 2),
        "prefect_cost_method": "(threads flow seconds - plain stages seconds) / articles stored",
        "floors_s": {k: round(v, 3) if isinstance(v, float) else v for k, v in fl.items()},
        "flows": {
            k: {kk: round(vv, 3) if isinstance(vv, float) else vv for kk, vv in v.items()}
            for k, v in flows_out.items()
        },
        "plain": {
            "seconds": round(plain_s, 3),
            "articles_new": plain_articles,
            "stages_s": {k: round(v, 3) for k, v in stages.items()},
        },
        "harness_startup_s": round(harness_s, 2),
        "goals": goals,
        "machine": machine,
    }
    out = ROOT / "bench" / "results" / ("pipeline-smoke.json" if args.smoke else "pipeline.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {out}")


def _load_topics() -> list:
    from newsmon.config import load_sources

    return load_sources(ROOT / "sources.yaml").topics


if __name__ == "__main__":
    main()
