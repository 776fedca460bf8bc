"""The poll_feeds flow: one cycle from feeds to the warehouse."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.runtime import flow_run
from prefect.states import Failed, State
from prefect.utilities.annotations import quote

from flows import runners
from newsmon import (
    alerts,
    analysis,
    dedup,
    entities,
    extract,
    feeds,
    fetch,
    pipeline,
    schedule,
    staging,
    stories,
    summary,
    warehouse,
)
from newsmon.batching import Batcher, chunks_by_host
from newsmon.config import Feed, NlpSettings, Settings, Sources, Topic, load_sources
from newsmon.extract import Article
from newsmon.feeds import Entry, FeedStatus

# Every task reads the network or the warehouse, so none is cached; NO_CACHE also spares
# Prefect hashing each task's inputs for a cache key. Large inputs (entries, pages, articles)
# are passed in `quote`, which keeps Prefect from walking every object inside them looking
# for futures (seconds for a few hundred articles with their entities).
FEEDS_PER_TASK = 100
PAGES_PER_TASK = 100


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@task(cache_policy=NO_CACHE)
def read_states(db: Path) -> dict[str, schedule.PollState]:
    """The polling state of every feed the warehouse knows."""
    with pipeline.reading(db) as con:
        return warehouse.poll_states(con) if con is not None else {}


# Only network work retries; fetch errors per URL are data, so a retry here
# means the batch itself broke (for example the event loop or DNS resolver).
@task(retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def poll_batch(
    batch: list[Feed], settings: Settings, headers: dict[str, dict[str, str]]
) -> list[tuple[FeedStatus, list[Entry]]]:
    """Fetch and parse a batch of feeds (conditional GET where validators are known)."""
    return feeds.poll(batch, settings, headers)


@task(cache_policy=NO_CACHE)
def read_page_retries(db: Path, now: datetime, limit: int) -> list[tuple[Entry, int]]:
    """Stored articles whose failed page is due to be fetched again, with the fetches made."""
    with pipeline.reading(db) as con:
        return warehouse.due_page_retries(con, now, limit) if con is not None else []


@task(cache_policy=NO_CACHE)
def select_new(db: Path, entries: list[Entry]) -> tuple[list[Entry], list[Entry], Counter]:
    """Split entries into new, updated (stored but changed) and skipped."""
    with pipeline.reading(db) as con:
        # Read from the snapshot when the file is busy: an entry it misses is loaded
        # once anyway (the load ignores ids already stored).
        known = warehouse.known_keys(con, entries) if con is not None else dedup.Known()
    return dedup.new_entries(entries, known)


@task(retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def fetch_pages(batch: list[Entry], settings: Settings) -> dict[str, fetch.FetchResult]:
    """Fetch the article pages of a batch of entries (robots.txt honoured when set)."""
    urls = list(dict.fromkeys(e.url for e in batch if e.url))
    results = fetch.fetch_all(
        urls,
        settings.http,
        settings.allow_private_networks,
        robots_txt=settings.polling.robots_txt,
    )
    return dict(zip(urls, results, strict=True))


@task(cache_policy=NO_CACHE)
def process_batch(
    batch: list[Entry],
    pages: dict[str, fetch.FetchResult],
    min_text_chars: int,
    topics: list[Topic],
    nlp: NlpSettings,
) -> tuple[list[Article], dict[str, entities.ArticleEntities]]:
    """The CPU work of a batch: text (trafilatura); entities, topics, developments (spaCy);
    story features and LSH band keys."""
    articles = extract.build_articles(batch, pages, min_text_chars)
    analyser = analysis.analyser_for(topics, nlp)
    texts = [entities.article_text(a.title, a.text) for a in articles]
    days = [(a.published_at or a.fetched_at).date() for a in articles]
    found = dict(zip((a.article_id for a in articles), analyser.analyse(texts, days), strict=True))
    for article in articles:  # what the load step would otherwise compute serially
        article.story_features = stories.features(article.title, article.text)
        article.lsh_bands = dedup.band_keys(dedup.normalise_text(article.text or ""))
    return articles, found


# Reaches the paths a real article does: names, places and countries (pycountry's tables),
# development triggers (the parse), quantities and dates.
_WARM_UP_PAGE = (
    b"<html lang='en'><body><article><h1>Talks open in Istanbul</h1>"
    + b"<p>Delegations from Russia and Ukraine met in Istanbul on Friday, 16 May 2025, for"
    b" their first direct talks in three years. Turkish Foreign Minister Hakan Fidan opened"
    b" the meeting at the Dolmabahce Palace.</p><p>The two sides agreed to exchange 1,000"
    b" prisoners each but reached no ceasefire. Moscow demanded that Kyiv withdraw its troops"
    b" from four regions, and Ukraine refused. The European Union announced new sanctions"
    b" against Russia.</p>" * 3 + b"</article></body></html>"
)


def warm_worker(topics: list[Topic], nlp: NlpSettings) -> None:
    """Ready a starting process worker: the spaCy analyser loaded, both stages run once.

    A first call pays for lazy imports and caches (trafilatura's, the model's); the
    worker pays it here, while the flow is still fetching pages. flows/preload.py runs it
    once more in the forkserver, before the workers fork from it, with the default model:
    then the workers find the model loaded and most caches filled. (Unpickling this function
    has imported this module, which the worker's first task would import anyway: Prefect's
    run context names the flow.)
    """
    try:
        extracted = extract.extract_page(_WARM_UP_PAGE, "https://warm-up.invalid/talks")
        text = entities.article_text("Talks open in Istanbul", extracted and extracted.text)
        list(analysis.analyser_for(topics, nlp).analyse([text], [_now().date()]))
        dedup.band_keys(dedup.normalise_text(text))  # imports datasketch
    except Exception as exc:
        # Only a head start: the worker must survive to take its batches, whose task then
        # fails with the same error in the run's log (a failing initializer would instead
        # break the whole pool with a bare BrokenProcessPool).
        logging.getLogger(__name__).warning("worker warm-up failed: %s", exc)


def fetch_and_process(
    wanted: list[Entry],
    no_pages: list[Entry],
    settings: Settings,
    topics: list[Topic],
    retrying: dict[str, int] | None = None,
) -> tuple[
    list[Article], dict[str, entities.ArticleEntities], list[schedule.PageRetry], runners.Leaving
]:
    """Fetch the pages of `wanted` and run the CPU stages on every entry as pages arrive.

    `retrying` maps the ids of stored articles among `wanted` whose failed page is fetched
    again to the fetches made so far: only those whose page arrives are processed (as
    updates); the others come back as PageRetry rows (when to try next, or never).

    The CPU runner (threads, processes or Dask) is entered before the first page is fetched,
    so process workers start and load their model during the fetch, and the pages of each
    fetch batch go to the CPU stage as soon as that batch is fetched. (A fetch batch holds
    whole hosts, so it reads each robots.txt once and keeps each host's connection limit.)
    The runner is entered here rather than as a subflow's: a subflow's parameters go
    through the API (512 KB at most), while page bodies must not.

    Returns the articles, their entities, the failed retries, and the runner's shutdown,
    under way: `wait()` on it once the load is done.
    """
    retrying = retrying or {}
    total = len(wanted) + len(no_pages)
    if not total:  # no worker to start (a run that finds nothing new is the usual one)
        return [], {}, [], runners.Leaving(None)
    batcher = Batcher(total, runners.resolve(settings.runner, total)[1])
    batches = batcher.count()
    runner = runners.task_runner(
        settings.runner,
        total,
        batches=batches,
        warm_up=warm_worker,
        warm_up_args=(topics, settings.nlp),
    )
    logger = get_run_logger()
    logger.info("processing %d entries in %d batches on %s", total, batches, type(runner).__name__)

    def submit(part: list[Entry], pages: dict[str, fetch.FetchResult]):
        parameters = {
            "batch": runners.large(runner, part),
            "pages": runners.large(runner, {e.url: pages[e.url] for e in part if e.url in pages}),
            "min_text_chars": settings.min_text_chars,
            "topics": topics,
            "nlp": settings.nlp,
        }
        return runner.submit(process_batch, parameters=parameters)

    articles: list[Article] = []
    found: dict[str, entities.ArticleEntities] = {}
    failed: list[schedule.PageRetry] = []
    with runners.leaving_in_background(runner) as leaving:
        work = [submit(part, {}) for part in batcher.cut(no_pages)]
        fetching = {
            fetch_pages.submit(quote(group), settings): group
            for group in chunks_by_host(wanted, lambda e: e.url, PAGES_PER_TASK)
        }
        for done in as_completed(list(fetching)):
            pages = done.result()
            group = []
            for entry in fetching[done]:
                page = pages.get(entry.url)
                if entry.article_id in retrying and (page is None or not page.ok):
                    failed.append(
                        schedule.failed_again(
                            entry.article_id,
                            page,
                            retrying[entry.article_id],
                            _now(),
                            settings.polling,
                        )
                    )
                else:
                    group.append(entry)
            work += [submit(part, pages) for part in batcher.cut(group)]
        for future in work:
            batch_articles, batch_found = future.result()
            articles += batch_articles
            found.update(batch_found)
    schedule.plan_page_retries(articles, retrying, settings.polling)
    return articles, found, failed, leaving


@task(cache_policy=NO_CACHE)
def load(
    db: Path,
    run: warehouse.RunRecord,
    statuses: list[FeedStatus],
    articles: list[Article],
    updates: list[Article],
    found_entities: dict[str, entities.ArticleEntities],
    config: Sources,
    retries: list[schedule.PageRetry],
) -> tuple[str, warehouse.RunRecord, dict[str, int]]:
    """Load staged batches and this one in one transaction each; stage it if the file stays busy."""
    run.finished_at = _now()
    batch = staging.Batch(run, statuses, articles, updates, found_entities, retries)
    outcome, by_method = pipeline.load_or_stage(db, batch, config, config.settings.lock_wait)
    return outcome, batch.run, dict(by_method)


@task(cache_policy=NO_CACHE)
def send_alerts(db: Path, config: Sources) -> alerts.CycleAlerts | None:
    """Fire the alert rules on what the loads brought and send what is due (after the load
    committed). Never fails the cycle: a failed delivery is retried on a later one, and an
    evaluation that breaks is logged and tried again, whole, by the next cycle."""
    try:
        return alerts.cycle(db, config.alerts, wait=min(config.settings.lock_wait, 5.0))
    except Exception as exc:
        get_run_logger().error("alert step failed (the next cycle does it again): %s", exc)
        return None


@task(cache_policy=NO_CACHE)
def publish_summary(db: Path, run_id: str) -> None:
    """Markdown and table artifacts of the run, for the Prefect UI."""
    # The snapshot was refreshed by the load: reading it needs no lock.
    with warehouse.connect(warehouse.snapshot_path(db), read_only=True) as con:
        markdown = summary.run_markdown(con, run_id)
        table = summary.new_articles_table(con, run_id)
        developments = summary.new_developments_table(con, run_id)
    create_markdown_artifact(markdown, key="poll-summary", description="What this poll run did")
    if table:
        create_table_artifact(
            table, key="poll-new-articles", description="New articles of this run"
        )
    if developments:
        create_table_artifact(
            developments, key="poll-new-developments", description="New developments of this run"
        )


@flow(name="poll_feeds", log_prints=True)
def poll_feeds(
    sources: str = "sources.yaml", db: str | None = None, force: bool = False
) -> dict | State:
    """Poll the feeds that are due, fetch and extract new articles, and load them into DuckDB.

    `force` polls every enabled feed now, whatever its schedule says. A cycle in which
    feeds were due and none could be polled ends Failed (the feeds' errors in its message),
    after storing what it learnt.
    """
    logger = get_run_logger()
    config = load_sources(sources)
    settings = config.settings
    db_path = Path(db) if db else settings.warehouse
    now = _now()
    run = warehouse.RunRecord(run_id=str(flow_run.id or uuid.uuid4()), started_at=now)

    states = read_states(db_path)
    due, waiting, disabled = schedule.plan(config.feeds, states, now, force)
    run.feeds_polled, run.feeds_not_due, run.feeds_disabled = len(due), len(waiting), len(disabled)
    logger.info("%d feeds due, %d not due yet, %d disabled", len(due), len(waiting), len(disabled))
    headers = {
        f.id: schedule.request_headers(states.get(f.id), now, settings.polling.refetch_after)
        for f in due
    }
    batches = [
        poll_batch.submit(batch, settings, headers)
        for batch in chunks_by_host(due, lambda f: f.url, FEEDS_PER_TASK)
    ]
    statuses: list[FeedStatus] = []
    entries: list[Entry] = []
    for future in batches:
        for status, feed_entries in future.result():
            statuses.append(status)
            entries.extend(feed_entries)
    run.feeds_failed = sum(s.status == "error" for s in statuses)
    run.feeds_not_modified = sum(s.status == "not_modified" for s in statuses)
    run.feeds_ok = len(statuses) - run.feeds_failed
    run.entries_seen = len(entries)
    logger.info(
        "polled %d feeds (%d not modified, %d failed): %d entries",
        len(statuses),
        run.feeds_not_modified,
        run.feeds_failed,
        len(entries),
    )

    fresh, updated, skipped = select_new(db_path, quote(entries))
    run.duplicates_skipped = sum(v for k, v in skipped.items() if k != "stored")
    new_per_feed = Counter(e.feed_id for e in fresh)
    for status in statuses:
        status.new_entries = new_per_feed[status.feed_id]
        status.state = schedule.advance(
            states.get(status.feed_id), config.feed(status.feed_id), status, settings.polling, now
        )
    logger.info(
        "%d new entries, %d updated, %d already stored", len(fresh), len(updated), skipped["stored"]
    )

    wanted = [e for e in fresh + updated if config.feed(e.feed_id).fetch_pages]
    no_pages = [e for e in fresh + updated if not config.feed(e.feed_id).fetch_pages]
    # Stored articles whose page failed for a temporary reason: their page again, if due
    # (and their feed is still configured to fetch pages).
    taken = {e.article_id for e in fresh + updated}
    feeds_by_id = {f.id: f for f in config.feeds}
    retrying: dict[str, int] = {}
    for entry, attempts in read_page_retries(db_path, now, settings.polling.page_retries_per_cycle):
        feed = feeds_by_id.get(entry.feed_id)
        if entry.article_id not in taken and feed is not None and feed.fetch_pages:
            wanted.append(entry)
            retrying[entry.article_id] = attempts
    built_list, found_entities, failed_again, leaving = fetch_and_process(
        wanted, no_pages, settings, config.topics, retrying
    )
    built = {a.article_id: a for a in built_list}
    articles = [built[e.article_id] for e in fresh]
    recovered = [built[i] for i in retrying if i in built]
    updates = [built[e.article_id] for e in updated] + recovered
    run.pages_retried = len(retrying)
    run.pages_recovered = sum(a.text_source == "page" for a in recovered)
    if retrying:
        logger.info(
            "fetched %d failed pages again: %d recovered", len(retrying), run.pages_recovered
        )

    try:
        outcome, run, by_method = load(
            db_path,
            run,
            statuses,
            quote(articles),
            quote(updates),
            quote(found_entities),
            config,
            quote(failed_again),
        )
    finally:
        leaving.wait()
    logger.info(
        "stored %d articles (%d page text, %d feed text, %d duplicates), updated %d, in %s",
        run.articles_new,
        run.text_from_page,
        run.text_from_feed,
        run.duplicates_marked,
        run.articles_updated,
        db_path,
    )
    if outcome == "loaded":
        sent = send_alerts(db_path, config)
        if sent and (sent.fired or sent.updated or sent.delivered or sent.failed):
            logger.info(
                "alerts: %d fired, %d updated; messages %d delivered, %d failed",
                sent.fired,
                sent.updated,
                sent.delivered,
                sent.failed,
            )
        publish_summary(db_path, run.run_id)
    else:
        logger.warning("the warehouse stayed busy: this run's batch is staged for the next run")
    result = asdict(run)
    result["warehouse"] = str(db_path)
    result["duplicates_by_method"] = by_method
    result["outcome"] = outcome
    result["entries_stored"] = skipped["stored"]  # listed again, unchanged
    result["failed"] = summary.total_failure(statuses)
    result["feed_errors"] = {s.feed_id: s.error for s in statuses if s.status == "error"}
    if result["failed"]:
        # What the run learnt (every feed's error and backoff) is stored; the run itself
        # failed, and says so in the UI and in `newsmon run`'s exit code.
        logger.error(result["failed"])
        return Failed(message=result["failed"], data=result)
    return result
