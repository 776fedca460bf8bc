"""Turn fetched pages into articles with trafilatura, falling back to the feed summary."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

import trafilatura
from trafilatura.settings import set_date_params
from trafilatura.utils import load_html

from newsmon.feeds import Entry
from newsmon.fetch import FetchResult

log = logging.getLogger(__name__)


@dataclass
class Article:
    """One article as it is loaded into the warehouse (see warehouse/README.md)."""

    article_id: str
    feed_id: str
    url: str | None
    fetched_at: datetime
    text_source: str  # 'page' or 'feed'
    canonical_url: str | None = None
    guid: str | None = None
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    site_name: str | None = None
    http_status: int | None = None
    fetch_error: str | None = None
    fetch_error_kind: str | None = None  # newsmon.fetch's kinds: 'temporary', 'soft', 'hard'
    fetch_attempts: int = 0  # page fetches made so far
    fetch_retry_at: datetime | None = None  # when to fetch the page again (schedule.page_retry_at)
    content_hash: str | None = None
    duplicate_of: str | None = None
    dup_method: str | None = None
    dup_score: float | None = None
    entry_hash: str | None = None
    url_key: str | None = None
    story_id: str | None = None
    story_score: float | None = None
    # Story features (newsmon.stories.features), computed with the other per-article
    # text work so the load step only compares; not a column of `articles`.
    story_features: dict[str, float] | None = None
    # The text's LSH band keys (newsmon.dedup.band_keys), computed the same way; not a column.
    lsh_bands: list[int] | None = None


@dataclass
class Extracted:
    """What trafilatura found on a page."""

    text: str
    title: str | None
    author: str | None
    date: date | None
    site_name: str | None
    language: str | None


def extract_page(
    content: bytes, url: str | None = None, date_search: bool = True
) -> Extracted | None:
    """Main text and metadata of an HTML page, comments excluded; None if nothing found.

    `date_search=False` runs htmldate without its extensive search: the page's declared dates
    (meta tags, structured data, the URL, time elements) and its quick patterns still count,
    but no line of text goes to dateparser, whose first use in a process compiles patterns for
    every locale (seconds); a feed that dates its entries makes the page's date unneeded.
    """
    tree = load_html(content)
    if tree is None:
        return None
    # trafilatura leaves language empty without a detector; the page's own
    # declaration is the next best thing. Read it before extraction prunes the tree.
    declared = (tree.get("lang") or tree.get("xml:lang") or "").strip().lower()
    try:
        doc = trafilatura.bare_extraction(
            tree,
            url=url,
            include_comments=False,
            include_tables=True,
            # Precision mode: on a stub page the recall fallback returns the whole page
            # (navigation and all), which must not pass for article text.
            favor_precision=True,
            with_metadata=True,
            date_extraction_params=set_date_params(extensive=date_search),
        )
    except (ValueError, TypeError, AttributeError) as exc:  # trafilatura on pathological markup
        log.warning("extraction failed for %s: %s", url, exc)
        return None
    if doc is None or not doc.text:
        return None
    return Extracted(
        text=_without_headline(doc.text.strip(), doc.title),
        title=doc.title or None,
        author=doc.author or None,
        date=_date(doc.date),
        site_name=doc.sitename or None,
        language=(doc.language or declared.split("-")[0] or None),
    )


def _without_headline(text: str, title: str | None) -> str:
    """Drop a first line that repeats the headline: the body is what syndicated copies share."""
    first, _, rest = text.partition("\n")
    if title and rest and " ".join(first.split()).casefold() == " ".join(title.split()).casefold():
        return rest.lstrip()
    return text


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def build_article(
    entry: Entry, page: FetchResult | None, min_text_chars: int, fetched_at: datetime | None = None
) -> Article:
    """Combine a feed entry with its fetched page; keep the feed summary when the page fails."""
    fetched_at = fetched_at or datetime.now(UTC).replace(tzinfo=None)
    extracted = None
    if page is not None and page.ok and page.content:
        # The page's date is only used when the entry has none.
        extracted = extract_page(
            page.content, page.final_url or entry.url, date_search=entry.published_at is None
        )
    use_page = extracted is not None and len(extracted.text) >= min_text_chars
    published = entry.published_at
    if published is None and extracted and extracted.date:
        published = datetime(extracted.date.year, extracted.date.month, extracted.date.day)
    error = page.error if page is not None else None
    if page is not None and page.ok and not use_page:
        error = "extracted text too short" if extracted else "no text extracted"
    return Article(
        article_id=entry.article_id,
        feed_id=entry.feed_id,
        url=entry.url,
        canonical_url=entry.canonical_url,
        guid=entry.guid,
        title=entry.title or (extracted.title if extracted else None),
        summary=entry.summary,
        text=extracted.text if use_page else entry.summary,
        author=entry.author or (extracted.author if extracted else None),
        published_at=published,
        fetched_at=fetched_at,
        language=(extracted.language if extracted else None) or entry.language,
        site_name=extracted.site_name if extracted else None,
        text_source="page" if use_page else "feed",
        http_status=page.status if page is not None else None,
        fetch_error=error,
        fetch_error_kind=page.error_kind if page is not None and not page.ok else None,
        fetch_attempts=1 if page is not None else 0,
        entry_hash=entry.entry_hash,
    )


def build_articles(
    entries: list[Entry], pages: dict[str, FetchResult], min_text_chars: int
) -> list[Article]:
    """build_article for a batch; `pages` maps entry URL to its fetch result."""
    fetched_at = datetime.now(UTC).replace(tzinfo=None)
    return [
        build_article(e, pages.get(e.url) if e.url else None, min_text_chars, fetched_at)
        for e in entries
    ]
