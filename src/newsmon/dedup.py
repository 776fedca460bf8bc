"""Exact deduplication: same entry (id, GUID, canonical URL) or same normalised text."""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from newsmon.extract import Article
from newsmon.feeds import Entry

log = logging.getLogger(__name__)

# Texts shorter than this (after normalisation) are too generic to call two
# different articles the same: "Live updates." must not collapse a day of news.
MIN_HASHED_CHARS = 80
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise_text(text: str) -> str:
    """Case-, accent-width- and punctuation-insensitive form of a text, words single-spaced."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


def content_hash(text: str | None) -> str | None:
    """SHA-1 of the normalised text, or None when the text is too short to compare."""
    if not text:
        return None
    normal = normalise_text(text)
    if len(normal) < MIN_HASHED_CHARS:
        return None
    return hashlib.sha1(normal.encode("utf-8")).hexdigest()


@dataclass
class Known:
    """Keys already in the warehouse that a batch is checked against."""

    article_ids: set[str] = field(default_factory=set)
    entry_hashes: dict[str, str] = field(default_factory=dict)  # article_id -> stored entry_hash
    guids: set[str] = field(default_factory=set)
    canonical_urls: set[str] = field(default_factory=set)
    hashes: dict[str, str] = field(default_factory=dict)  # content_hash -> article_id


def new_entries(entries: list[Entry], known: Known) -> tuple[list[Entry], list[Entry], Counter]:
    """Entries not yet stored, stored entries that changed, and counts of those skipped by reason.

    A stored entry re-listed with another title, summary or link is an update of the same
    article, not a new one. Skip reasons:
    'stored': the same entry is already in the warehouse (a re-listed item, not a duplicate);
    'id': the same entry came through another feed in this batch; 'guid' and 'url': another
    entry with the same GUID or canonical URL is stored or earlier in the batch.
    """
    seen_ids, seen_guids, seen_urls = set(), set(known.guids), set(known.canonical_urls)
    fresh: list[Entry] = []
    updated: list[Entry] = []
    skipped: Counter = Counter()
    # The same article listed by two feeds under two headlines is not an update: it is
    # unchanged if any listing still matches what is stored.
    unchanged = {
        e.article_id for e in entries if known.entry_hashes.get(e.article_id) == e.entry_hash
    }
    for entry in entries:
        if entry.article_id in known.article_ids:
            stored_hash = known.entry_hashes.get(entry.article_id)
            if (
                stored_hash
                and entry.entry_hash
                and entry.article_id not in unchanged
                and stored_hash != entry.entry_hash
            ):
                updated.append(entry)
                known.entry_hashes[entry.article_id] = entry.entry_hash  # once per batch
            else:
                skipped["stored"] += 1
            continue
        if entry.article_id in seen_ids:
            skipped["id"] += 1
            continue
        if entry.guid and entry.guid in seen_guids:
            skipped["guid"] += 1
            continue
        if entry.canonical_url and entry.canonical_url in seen_urls:
            skipped["url"] += 1
            continue
        seen_ids.add(entry.article_id)
        if entry.guid:
            seen_guids.add(entry.guid)
        if entry.canonical_url:
            seen_urls.add(entry.canonical_url)
        fresh.append(entry)
    return fresh, updated, skipped


def mark_exact_duplicates(articles: list[Article], known_hashes: dict[str, str]) -> list[Article]:
    """Set content_hash; an article whose text is already stored points at it and drops its copy.

    The earliest published article of a batch is canonical. The duplicate keeps its row
    (outlet, URL, headline: who carried the report) but not a second copy of the text.
    """
    canonical = dict(known_hashes)
    order = sorted(articles, key=lambda a: (a.published_at or datetime.max, a.article_id))
    for article in order:
        article.content_hash = content_hash(article.text)
        if article.content_hash is None:
            continue
        first = canonical.setdefault(article.content_hash, article.article_id)
        if first != article.article_id:
            article.duplicate_of = first
            article.dup_method = "hash"
            article.dup_score = 1.0
            article.text = None
    return articles
