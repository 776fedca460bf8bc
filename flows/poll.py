"""The poll_feeds flow: one cycle from feeds to the warehouse."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run

from newsmon import dedup, extract, feeds, fetch, warehouse
from newsmon.batching import chunks, chunks_by_host
from newsmon.config import Feed, Settings, load_sources
from newsmon.extract import Article
from newsmon.feeds import Entry, FeedStatus

FEEDS_PER_TASK = 100
PAGES_PER_TASK = 100
ARTICLES_PER_TASK = 50


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# Only network work retries; fetch errors per URL are data, so a retry here
# means the batch itself broke (for example the event loop or DNS resolver).
@task(retries=2, retry_delay_seconds=[2, 10])
def poll_batch(batch: list[Feed], settings: Settings) -> list[tuple[FeedStatus, list[Entry]]]:
    """Fetch and parse a batch of feeds."""
    return feeds.poll(batch, settings)


@task
def select_new(db: Path, entries: list[Entry]) -> tuple[list[Entry], Counter]:
    """Drop entries already stored (by id, GUID or canonical URL)."""
    with warehouse.connect(db) as con:
        known = warehouse.known_keys(con, entries)
    return dedup.new_entries(entries, known)


@task(retries=2, retry_delay_seconds=[2, 10])
def fetch_pages(batch: list[Entry], settings: Settings) -> dict[str, fetch.FetchResult]:
    """Fetch the article pages of a batch of entries."""
    urls = list(dict.fromkeys(e.url for e in batch if e.url))
    results = fetch.fetch_all(urls, settings.http, settings.allow_private_networks)
    return dict(zip(urls, results, strict=True))


@task
def extract_batch(
    batch: list[Entry], pages: dict[str, fetch.FetchResult], min_text_chars: int
) -> list[Article]:
    """Extract text from a batch of pages, falling back to feed summaries."""
    return extract.build_articles(batch, pages, min_text_chars)


@task
def load(
    db: Path, run: warehouse.RunRecord, statuses: list[FeedStatus], articles: list[Article]
) -> warehouse.RunRecord:
    """Mark exact duplicates against the warehouse and load the cycle in one transaction."""
    with warehouse.connect(db) as con:
        hashes = [dedup.content_hash(a.text) for a in articles]
        dedup.mark_exact_duplicates(articles, warehouse.known_hashes(con, hashes))
        run.duplicates_marked = sum(a.duplicate_of is not None for a in articles)
        run.text_from_page = sum(a.text_source == "page" for a in articles)
        run.text_from_feed = len(articles) - run.text_from_page
        run.finished_at = _now()
        warehouse.load_cycle(con, run, statuses, articles)
    return run


@flow(name="poll_feeds", log_prints=True)
def poll_feeds(sources: str = "sources.yaml", db: str | None = None) -> dict:
    """Poll every feed once, fetch and extract new articles, and load them into DuckDB."""
    logger = get_run_logger()
    config = load_sources(sources)
    settings = config.settings
    db_path = Path(db) if db else settings.warehouse
    run = warehouse.RunRecord(run_id=str(flow_run.id or uuid.uuid4()), started_at=_now())

    polled = [
        future.result()
        for future in [
            poll_batch.submit(batch, settings)
            for batch in chunks_by_host(config.feeds, lambda f: f.url, FEEDS_PER_TASK)
        ]
    ]
    statuses: list[FeedStatus] = []
    entries: list[Entry] = []
    for batch in polled:
        for status, feed_entries in batch:
            statuses.append(status)
            entries.extend(feed_entries)
    run.feeds_ok = sum(s.status != "error" for s in statuses)
    run.feeds_failed = len(statuses) - run.feeds_ok
    run.entries_seen = len(entries)
    logger.info(
        "polled %d feeds (%d failed): %d entries", len(statuses), run.feeds_failed, len(entries)
    )

    fresh, skipped = select_new(db_path, entries)
    run.duplicates_skipped = sum(v for k, v in skipped.items() if k != "stored")
    new_per_feed = Counter(e.feed_id for e in fresh)
    for status in statuses:
        status.new_entries = new_per_feed[status.feed_id]
    logger.info("%d new entries, %d already stored", len(fresh), len(entries) - len(fresh))

    page_futures = [
        (batch, fetch_pages.submit(batch, settings))
        for batch in chunks_by_host(fresh, lambda e: e.url, PAGES_PER_TASK)
    ]
    extract_futures = []
    for batch, pages in page_futures:
        for part in chunks(batch, ARTICLES_PER_TASK):
            extract_futures.append(extract_batch.submit(part, pages, settings.min_text_chars))
    articles = [a for future in extract_futures for a in future.result()]

    run = load(db_path, run, statuses, articles)
    logger.info(
        "stored %d articles (%d page text, %d feed text, %d exact duplicates) in %s",
        run.articles_new,
        run.text_from_page,
        run.text_from_feed,
        run.duplicates_marked,
        db_path,
    )
    summary = asdict(run)
    summary["warehouse"] = str(db_path)
    return summary
