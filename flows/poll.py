"""The poll_feeds flow: one cycle from feeds to the warehouse."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from newsmon import (
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
from newsmon.batching import chunks, chunks_by_host
from newsmon.config import Feed, NlpSettings, Settings, Sources, Topic, load_sources
from newsmon.extract import Article
from newsmon.feeds import Entry, FeedStatus

FEEDS_PER_TASK = 100
PAGES_PER_TASK = 100
ARTICLES_PER_TASK = 50


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@task
def read_states(db: Path) -> dict[str, schedule.PollState]:
    """The polling state of every feed the warehouse knows."""
    with pipeline.reading(db) as con:
        return warehouse.poll_states(con) if con is not None else {}


# Only network work retries; fetch errors per URL are data, so a retry here
# means the batch itself broke (for example the event loop or DNS resolver).
@task(retries=2, retry_delay_seconds=[2, 10])
def poll_batch(
    batch: list[Feed], settings: Settings, headers: dict[str, dict[str, str]]
) -> list[tuple[FeedStatus, list[Entry]]]:
    """Fetch and parse a batch of feeds (conditional GET where validators are known)."""
    return feeds.poll(batch, settings, headers)


@task
def select_new(db: Path, entries: list[Entry]) -> tuple[list[Entry], list[Entry], Counter]:
    """Split entries into new, updated (stored but changed) and skipped."""
    with pipeline.reading(db) as con:
        # Read from the snapshot when the file is busy: an entry it misses is loaded
        # once anyway (the load ignores ids already stored).
        known = warehouse.known_keys(con, entries) if con is not None else dedup.Known()
    return dedup.new_entries(entries, known)


@task(retries=2, retry_delay_seconds=[2, 10])
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


@task
def extract_batch(
    batch: list[Entry], pages: dict[str, fetch.FetchResult], min_text_chars: int
) -> list[Article]:
    """Extract text from a batch of pages, falling back to feed summaries."""
    return extract.build_articles(batch, pages, min_text_chars)


@task
def analyse_batch(
    batch: list[Article], topics: list[Topic], settings: NlpSettings
) -> dict[str, tuple[entities.ArticleEntities, dict[str, float]]]:
    """Per-article text work: entities and topics (spaCy + watch lists), story features."""
    extractor = entities.extractor_for(topics, settings)
    texts = [entities.article_text(a.title, a.text) for a in batch]
    return {
        a.article_id: (found, stories.features(a.title, a.text))
        for a, found in zip(batch, extractor.extract(texts), strict=True)
    }


@task
def load(
    db: Path,
    run: warehouse.RunRecord,
    statuses: list[FeedStatus],
    articles: list[Article],
    updates: list[Article],
    found_entities: dict[str, entities.ArticleEntities],
    config: Sources,
) -> tuple[str, warehouse.RunRecord, dict[str, int]]:
    """Load staged batches and this one in one transaction each; stage it if the file stays busy."""
    run.finished_at = _now()
    batch = staging.Batch(run, statuses, articles, updates, found_entities)
    outcome, by_method = pipeline.load_or_stage(db, batch, config, config.settings.lock_wait)
    return outcome, batch.run, dict(by_method)


@task
def publish_summary(db: Path, run_id: str) -> None:
    """Markdown and table artifacts of the run, for the Prefect UI."""
    # The snapshot was refreshed by the load: reading it needs no lock.
    with warehouse.connect(warehouse.snapshot_path(db), read_only=True) as con:
        markdown = summary.run_markdown(con, run_id)
        table = summary.new_articles_table(con, run_id)
    create_markdown_artifact(markdown, key="poll-summary", description="What this poll run did")
    if table:
        create_table_artifact(
            table, key="poll-new-articles", description="New articles of this run"
        )


@flow(name="poll_feeds", log_prints=True)
def poll_feeds(sources: str = "sources.yaml", db: str | None = None, force: bool = False) -> dict:
    """Poll the feeds that are due, fetch and extract new articles, and load them into DuckDB.

    `force` polls every enabled feed now, whatever its schedule says.
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

    fresh, updated, skipped = select_new(db_path, entries)
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
    page_batches = [
        (batch, fetch_pages.submit(batch, settings))
        for batch in chunks_by_host(wanted, lambda e: e.url, PAGES_PER_TASK)
    ]
    extract_futures = [
        extract_batch.submit(part, pages, settings.min_text_chars)
        for batch, pages in page_batches
        for part in chunks(batch, ARTICLES_PER_TASK)
    ]
    no_pages = [e for e in fresh + updated if not config.feed(e.feed_id).fetch_pages]
    if no_pages:
        extract_futures.append(extract_batch.submit(no_pages, {}, settings.min_text_chars))
    built = {a.article_id: a for future in extract_futures for a in future.result()}
    articles = [built[e.article_id] for e in fresh]
    updates = [built[e.article_id] for e in updated]
    analysis_futures = [
        analyse_batch.submit(part, config.topics, settings.nlp)
        for part in chunks(articles + updates, ARTICLES_PER_TASK)
    ]
    analysis = {k: v for future in analysis_futures for k, v in future.result().items()}
    found_entities = {k: found for k, (found, _) in analysis.items()}
    for article in articles:
        article.story_features = analysis[article.article_id][1]

    outcome, run, by_method = load(
        db_path, run, statuses, articles, updates, found_entities, config
    )
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
        publish_summary(db_path, run.run_id)
    else:
        logger.warning("the warehouse stayed busy: this run's batch is staged for the next run")
    result = asdict(run)
    result["warehouse"] = str(db_path)
    result["duplicates_by_method"] = by_method
    result["outcome"] = outcome
    return result
