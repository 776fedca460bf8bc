"""Deduplication: exact (entry id, GUID, canonical URL, text hash), then near-duplicates."""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from rapidfuzz import fuzz

from newsmon.config import DedupSettings
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


def content_hash(text: str | None, normal: str | None = None) -> str | None:
    """SHA-1 of the normalised text, or None when the text is too short to compare."""
    if not text:
        return None
    normal = normalise_text(text) if normal is None else normal
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


def mark_exact_duplicates(
    articles: list[Article], known_hashes: dict[str, str], normal: dict[str, str] | None = None
) -> list[Article]:
    """Set content_hash; an article whose text is already stored points at it and drops its copy.

    The earliest published article of a batch is canonical. The duplicate keeps its row
    (outlet, URL, headline: who carried the report) but not a second copy of the text.
    """
    canonical = dict(known_hashes)
    order = sorted(articles, key=lambda a: (a.published_at or datetime.max, a.article_id))
    for article in order:
        article.content_hash = content_hash(article.text, (normal or {}).get(article.article_id))
        if article.content_hash is None:
            continue
        first = canonical.setdefault(article.content_hash, article.article_id)
        if first != article.article_id:
            article.duplicate_of = first
            article.dup_method = "hash"
            article.dup_score = 1.0
            article.text = None
    return articles


# --- Layer 2: near-duplicates ---------------------------------------------------------
#
# Candidates come from two blocking keys, never from all pairs:
#  * the article id in the URL: an outlet that updates a report in place keeps the
#    numeric id at the end of the path and changes the headline slug
#    (news.example/story/at-least-70-killed-13368781 -> .../at-least-82-killed-13368781);
#  * MinHash LSH over word 4-shingles: 32 bands of 4 rows, so texts with a shingle
#    Jaccard similarity above about 0.42 share a band key; the keys are stored in
#    `article_lsh` and matched with a join.
# Every candidate is then verified by its text. URL-id siblings are updates of one report
# only when their texts also resemble (`update_threshold` with update_score): some sites
# number pages per section, so `…/assault-0028` and `…/threaten-0028` are two articles.
# LSH candidates must reach `near_threshold` with rapidfuzz's ratio on the normalised text.

SHINGLE_WORDS = 4
NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
_URL_ID = re.compile(r"[-_/](\d{4,})(?:\.[a-z]{2,5})?/?$")


def url_key(url: str | None) -> str | None:
    """'<host>#<id>' when the URL's path ends in a numeric article id, else None."""
    if not url:
        return None
    parts = urlsplit(url)
    match = _URL_ID.search(parts.path)
    if not match or not parts.hostname:
        return None
    number = match[1]
    if len(number) == 4 and number[:2] in ("19", "20"):
        return None  # a year ("eurovision-2025"), not an id
    if len(number) == 8 and number[:2] in ("19", "20"):
        return None  # a date (20250516)
    return f"{parts.hostname.removeprefix('www.')}#{number}"


# Band keys are stored and compared across runs, so every hash here must be stable
# across processes (no built-in hash()). crc32 is C-fast; MinHash's permutations
# spread it, and they are computed once, not per article.
@cache
def _minhash() -> tuple[type, Any, Any]:
    """datasketch's MinHash class, and the permutations and scheme of newsmon's seed.

    Imported at first use: the datasketch package imports scipy (about 0.35 s in a one-off
    import timing), which a process that never hashes a text (`newsmon query`, `newsmon
    report`) need not pay.
    """
    from datasketch import MinHash

    seed = MinHash(num_perm=NUM_PERM, seed=20250516)
    return MinHash, seed.permutations, seed.scheme


def band_keys(normalised: str) -> list[int]:
    """The article's LSH band keys (signed 64-bit, one per band) from a MinHash of its text."""
    words = normalised.split()
    shingles = {
        " ".join(words[i : i + SHINGLE_WORDS]).encode()
        for i in range(max(1, len(words) - SHINGLE_WORDS + 1))
    }
    minhash, permutations, scheme = _minhash()
    signature = minhash(
        num_perm=NUM_PERM, hashfunc=zlib.crc32, permutations=permutations, scheme=scheme
    )
    signature.update_batch(list(shingles))
    values = signature.hashvalues
    return [
        int.from_bytes(
            hashlib.blake2b(values[b * ROWS : (b + 1) * ROWS].tobytes(), digest_size=8).digest(),
            "little",
            signed=True,
        )
        for b in range(BANDS)
    ]


@dataclass
class NearCandidate:
    """A stored article that shares a blocking key with a new one."""

    article_id: str
    published_at: datetime | None
    text: str | None
    url_key: str | None


@dataclass
class Prepared:
    """What near-duplicate detection needs of a new article."""

    normalised: str
    url_key: str | None
    bands: list[int]


def prepare(article: Article, settings: DedupSettings, normal: str | None = None) -> Prepared:
    """Normalise the text, find the URL id and (for long enough texts) the LSH band keys."""
    normal = normalise_text(article.text or "") if normal is None else normal
    if len(normal) < settings.min_chars:
        bands = []
    else:  # computed with the article's other text work when it went through a CPU worker
        bands = article.lsh_bands if article.lsh_bands is not None else band_keys(normal)
    return Prepared(normal, url_key(article.canonical_url or article.url), bands)


@dataclass
class Link:
    """`article_id` is a near-duplicate of `canonical` (found by `method`, with `score`)."""

    article_id: str
    canonical: str
    method: str
    score: float


def link_near_duplicates(
    articles: list[Article],
    prepared: dict[str, Prepared],
    stored: dict[str, NearCandidate],
    stored_pairs: set[tuple[str, str]],
    settings: DedupSettings,
) -> list[Link]:
    """Verify candidate pairs, group them, and point every member at its group's earliest article.

    `prepared` covers the new articles that are not exact duplicates; `stored` holds the
    canonical stored articles that share a blocking key with one of them, and
    `stored_pairs` the (new id, stored id) pairs. Returns a link for each new article that
    is a near-duplicate, and for each stored canonical article that an earlier new article
    displaces.
    """
    published = {a.article_id: a.published_at or a.fetched_at for a in articles}
    published.update({i: c.published_at for i, c in stored.items()})
    normal = {i: p.normalised for i, p in prepared.items()}
    url_keys = {i: p.url_key for i, p in prepared.items()}
    url_keys.update({i: c.url_key for i, c in stored.items()})

    pairs = set(stored_pairs)
    by_key: dict[tuple, list[str]] = {}
    for article_id, prep in prepared.items():
        if prep.url_key:
            by_key.setdefault(("url", prep.url_key), []).append(article_id)
        for band, key in enumerate(prep.bands):
            by_key.setdefault((band, key), []).append(article_id)
    for members in by_key.values():
        pairs.update((a, b) for i, a in enumerate(members) for b in members[i + 1 :])

    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    evidence: dict[str, tuple[str, float]] = {}
    for a, b in sorted(pairs):
        if a == b:  # an updated article and its own stored row
            continue
        if not _within(published.get(a), published.get(b), settings.window):
            continue
        if b not in normal:
            normal[b] = normalise_text(stored[b].text or "")
        verdict = _verify(normal[a], normal[b], url_keys.get(a), url_keys.get(b), settings)
        if verdict is None:
            continue
        parent[root(a)] = root(b)
        for member in (a, b):
            if member not in evidence or verdict[1] > evidence[member][1]:
                evidence[member] = verdict

    groups: dict[str, set[str]] = {}
    for member in evidence:
        groups.setdefault(root(member), set()).add(member)
    links = []
    for members in groups.values():
        ordered = sorted(members, key=lambda i: (published.get(i) or datetime.max, i))
        canonical = ordered[0]
        for member in ordered[1:]:
            method, score = evidence[member]
            links.append(Link(member, canonical, method, round(score, 1)))
    return links


def _within(a: datetime | None, b: datetime | None, window: timedelta) -> bool:
    return a is None or b is None or abs(a - b) <= window


def update_score(text_a: str, text_b: str) -> float:
    """How alike two versions of an article are: rapidfuzz's ratio (0-100) over the word
    sequences of their normalised texts; 0 when either is empty.

    Words, not characters: two different articles share letters (character ratio median
    39-45, up to 58) far more than word sequences (median 7-15, up to 38), so an update that
    kept about half its text (49) still stands clear of them (bench/eval_url_updates.py).
    """
    if not text_a or not text_b:
        return 0.0
    return fuzz.ratio(text_a.split(), text_b.split())


def _verify(
    text_a: str, text_b: str, key_a: str | None, key_b: str | None, settings: DedupSettings
) -> tuple[str, float] | None:
    if key_a and key_a == key_b:
        # The same outlet's article id is an update in place only if the text agrees: the
        # URL alone is never enough (issue 17: per-section numbering collapsed 274 of 322).
        score = update_score(text_a, text_b)
        if score >= settings.update_threshold:
            return "url", score
    if min(len(text_a), len(text_b)) < settings.min_chars:
        return None
    score = fuzz.ratio(text_a, text_b)
    if score >= settings.near_threshold:
        return "near", score
    return None


def apply_links(articles: list[Article], links: list[Link]) -> list[Link]:
    """Mark new articles as near-duplicates; return the links that concern stored articles.

    Exact duplicates of an article that turned out to be a near-duplicate follow it to
    the group's canonical article, so `duplicate_of` never points at a duplicate.
    """
    by_id = {a.article_id: a for a in articles}
    stored_links = []
    target = {link.article_id: link.canonical for link in links}
    for link in links:
        article = by_id.get(link.article_id)
        if article is None:
            stored_links.append(link)
            continue
        article.duplicate_of, article.dup_method, article.dup_score = (
            link.canonical,
            link.method,
            link.score,
        )
    for article in articles:
        if article.dup_method == "hash" and article.duplicate_of in target:
            article.duplicate_of = target[article.duplicate_of]
    return stored_links
