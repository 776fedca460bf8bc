"""Exact duplicates: same entry by id, GUID or canonical URL; same normalised text."""

from __future__ import annotations

from datetime import datetime

from newsmon.dedup import Known, content_hash, mark_exact_duplicates, new_entries, normalise_text
from newsmon.extract import Article
from newsmon.feeds import Entry

BODY = (
    "Delegations from Russia and Ukraine met in Istanbul for the first direct talks in three years. "
    * 2
)


def entry(article_id, guid=None, url=None, entry_hash=None) -> Entry:
    return Entry(article_id, "f", guid, url, url, "t", None, None, None, None, entry_hash)


def article(article_id, text, published) -> Article:
    return Article(
        article_id=article_id,
        feed_id="f",
        url=None,
        title="t",
        text=text,
        published_at=published,
        fetched_at=datetime(2025, 6, 1),
        language="en",
        text_source="page",
    )


def test_normalised_text_ignores_case_punctuation_and_spacing():
    assert normalise_text("Talks  END — without\nTRUCE!") == "talks end without truce"
    assert content_hash(BODY) == content_hash(BODY.upper().replace(".", " ."))
    assert content_hash("Live updates.") is None  # too short to call two articles the same


def test_new_entries_skips_what_is_stored_or_repeated():
    known = Known(article_ids={"old"}, guids={"g-old"}, canonical_urls={"https://x/old"})
    batch = [
        entry("old"),
        entry("a", guid="g-old"),
        entry("b", url="https://x/old"),
        entry("c", url="https://x/c"),
        entry("d", url="https://x/c"),  # same link in another feed, same batch
        entry("e", guid="g-e"),
        entry("e", guid="g-e"),  # the same entry through a second feed
    ]
    fresh, updated, skipped = new_entries(batch, known)
    assert [e.article_id for e in fresh] == ["c", "e"] and updated == []
    assert skipped == {"stored": 1, "guid": 1, "url": 2, "id": 1}


def test_a_stored_entry_that_changed_is_an_update_not_a_new_entry():
    known = Known(article_ids={"a", "b"}, entry_hashes={"a": "h1", "b": "h1"})
    batch = [entry("a", entry_hash="h1"), entry("b", entry_hash="h2"), entry("b", entry_hash="h2")]
    fresh, updated, skipped = new_entries(batch, known)
    assert fresh == [] and [e.article_id for e in updated] == ["b"]
    assert skipped == {"stored": 2}


def test_earliest_article_is_canonical_and_copies_keep_their_row_not_their_text():
    late = article("late", BODY, datetime(2025, 5, 16, 18))
    early = article("early", BODY.replace("Istanbul", "ISTANBUL"), datetime(2025, 5, 16, 12))
    other = article("other", BODY.replace("Istanbul", "Ankara"), datetime(2025, 5, 16, 13))
    mark_exact_duplicates([late, early, other], {})
    assert early.duplicate_of is None and other.duplicate_of is None
    assert (late.duplicate_of, late.dup_method, late.dup_score, late.text) == (
        "early",
        "hash",
        1.0,
        None,
    )
    assert late.content_hash == early.content_hash


def test_text_already_stored_wins_over_the_batch():
    new = article("new", BODY, datetime(2025, 5, 16, 9))
    mark_exact_duplicates([new], {content_hash(BODY): "stored"})
    assert new.duplicate_of == "stored"
