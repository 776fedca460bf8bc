"""Poll feeds and parse their bytes with feedparser into entries with a stable identity."""

from __future__ import annotations

import calendar
import hashlib
import html
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import courlan
import feedparser
import lxml.etree
import lxml.html

from newsmon.config import Feed, Settings
from newsmon.fetch import fetch_all
from newsmon.schedule import FeedStatus  # defined there; still importable from here

log = logging.getLogger(__name__)

_HARMLESS = (
    feedparser.NonXMLContentType,
    feedparser.CharacterEncodingOverride,
    feedparser.CharacterEncodingUnknown,
)


@dataclass
class Entry:
    """One feed item, before its page is fetched."""

    article_id: str
    feed_id: str
    guid: str | None
    url: str | None
    canonical_url: str | None
    title: str | None
    summary: str | None
    author: str | None
    published_at: datetime | None
    language: str | None
    # Hash of what the feed says about the entry; a change means the entry was updated.
    entry_hash: str | None = None


@dataclass
class ParsedFeed:
    """Entries of one feed response, and the parse problem if feedparser had one."""

    title: str | None
    entries: list[Entry]
    error: str | None = None


def poll(
    feeds: list[Feed], settings: Settings, headers: dict[str, dict[str, str]] | None = None
) -> list[tuple[FeedStatus, list[Entry]]]:
    """Fetch and parse feeds concurrently; a failing feed is recorded, never raised.

    `headers` maps a feed id to its conditional-GET headers; a 304 costs no parsing.
    """
    polled_at = datetime.now(UTC).replace(tzinfo=None)
    headers = headers or {}
    results = fetch_all(
        [f.url for f in feeds],
        settings.http,
        settings.allow_private_networks,
        headers={f.url: headers[f.id] for f in feeds if headers.get(f.id)},
    )
    out = []
    for feed, result in zip(feeds, results, strict=True):
        status = FeedStatus(
            feed_id=feed.id,
            url=feed.url,
            name=feed.name,
            tags=list(feed.tags),
            language=feed.language,
            polled_at=polled_at,
            status="ok",
            http_status=result.status,
            error=result.error,
            error_kind=result.error_kind,
            elapsed_ms=round(result.elapsed * 1000, 1),
            etag=result.headers.get("etag"),
            last_modified=result.headers.get("last-modified"),
            retry_after=result.headers.get("retry-after"),
        )
        entries: list[Entry] = []
        if result.status == 304 and not result.error:
            status.status = "not_modified"
        elif result.ok:
            parsed = parse_feed(result.content or b"", feed, result.final_url)
            status.title, entries = parsed.title, parsed.entries
            if parsed.error:
                status.error, status.error_kind = parsed.error, "hard"
        elif not result.error:
            status.error, status.error_kind = f"unexpected HTTP {result.status}", "hard"
        if status.error:
            status.status = "error"
            log.warning("feed %s: %s", feed.id, status.error)
        status.entries = len(entries)
        out.append((status, entries))
    return out


def canonical_url(url: str | None) -> str | None:
    """Normalise a URL (case, default port, fragment, tracking parameters) with courlan."""
    if not url:
        return None
    try:
        return courlan.normalize_url(url.strip(), strict=True)
    except (ValueError, AttributeError):
        return url.strip()


def entry_identity(
    feed_id: str,
    guid: str | None,
    canonical: str | None,
    title: str | None,
    published: datetime | None,
) -> str:
    """The identity key of an entry: GUID, else canonical link, else title and date."""
    if guid:
        # URL- or URN-shaped GUIDs are globally unique; bare ones ("1234") only within a feed.
        if "://" in guid or guid.startswith(("urn:", "tag:")):
            return f"guid:{guid}"
        return f"guid:{feed_id}:{guid}"
    if canonical:
        return f"url:{canonical}"
    stamp = published.isoformat() if published else ""
    return f"hash:{feed_id}:{(title or '').strip().lower()}|{stamp}"


def article_id(identity: str) -> str:
    """A stable 16-hex-digit id derived from the identity key."""
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]


def entry_hash(title: str | None, summary: str | None, canonical: str | None) -> str:
    """A short hash over the entry's title, summary and link."""
    joined = "\x1f".join(part or "" for part in (title, summary, canonical))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()[:16]


def html_to_text(fragment: str | None) -> str | None:
    """Plain text of an HTML fragment such as a feed summary."""
    if not fragment or not fragment.strip():
        return None
    if "<" not in fragment:
        return " ".join(html.unescape(fragment).split()) or None
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return " ".join(html.unescape(fragment).split()) or None
    for element in root.iter("p", "br", "li", "div"):
        element.tail = "\n" + (element.tail or "")
    lines = (" ".join(line.split()) for line in root.text_content().splitlines())
    return "\n".join(line for line in lines if line) or None


def _timestamp(parsed) -> datetime | None:
    if not parsed:
        return None
    try:
        # feedparser normalises to UTC struct_time; timegm keeps it UTC.
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC).replace(tzinfo=None)
    except (OverflowError, ValueError, TypeError):
        return None


def parse_feed(content: bytes, feed: Feed, base_url: str | None = None) -> ParsedFeed:
    """Parse feed bytes; a feed that yields no entries and is malformed gets an error."""
    parsed = feedparser.parse(
        content,
        response_headers={"content-location": base_url or feed.url},
        sanitize_html=True,
        resolve_relative_uris=True,
    )
    problem = None
    # feedparser also flags harmless things (a text/plain content type, a charset it
    # had to guess); only a broken document counts as a problem.
    if parsed.bozo and not isinstance(parsed.bozo_exception, _HARMLESS):
        problem = f"{type(parsed.bozo_exception).__name__}: {parsed.bozo_exception}"
    entries = []
    for item in parsed.entries:
        guid = (item.get("id") or "").strip() or None
        link = (item.get("link") or "").strip() or None
        canonical = canonical_url(link)
        title = html_to_text(item.get("title"))
        # dict.get: FeedParserDict maps a missing updated_parsed to published_parsed with a warning.
        published = _timestamp(
            dict.get(item, "published_parsed") or dict.get(item, "updated_parsed")
        )
        summary_html = item.get("summary")
        if not summary_html and item.get("content"):
            summary_html = item["content"][0].get("value")
        summary = html_to_text(summary_html)
        if not (guid or link or title or summary):
            continue  # nothing to identify or show
        # RSS lets an item be just a description; then the description names it.
        identity = entry_identity(feed.id, guid, canonical, title or summary, published)
        entries.append(
            Entry(
                article_id=article_id(identity),
                feed_id=feed.id,
                guid=guid,
                url=link,
                canonical_url=canonical,
                title=title,
                summary=summary,
                author=(item.get("author") or "").strip() or None,
                published_at=published,
                language=feed.language or _language(parsed.feed.get("language")),
                entry_hash=entry_hash(title, summary, canonical),
            )
        )
    if not entries and (problem or not parsed.get("version")):
        why = problem or ("empty response" if not content.strip() else "no RSS, Atom or RDF found")
        return ParsedFeed(title=None, entries=[], error=f"not a feed ({why})")
    if problem:
        log.info("feed %s parsed with a problem: %s", feed.id, problem)
    return ParsedFeed(title=parsed.feed.get("title"), entries=_unique(entries))


def _language(value: str | None) -> str | None:
    if not value:
        return None
    return value.strip().lower().split("-")[0][:3] or None


def _unique(entries: list[Entry]) -> list[Entry]:
    """Keep the first of entries that share an identity within one feed response."""
    seen: set[str] = set()
    out = []
    for entry in entries:
        if entry.article_id not in seen:
            seen.add(entry.article_id)
            out.append(entry)
    return out
