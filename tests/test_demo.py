"""The bundled demo corpus and `newsmon demo` end to end."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import duckdb
import feedparser
import pytest

from newsmon.cli import main
from newsmon.demo.corpus import load_corpus, routes

REAL_OUTLETS = (
    "reuters",
    "bbc",
    "associated press",
    "al jazeera",
    "guardian",
    "new york times",
    "sky news",
    "cnn",
)


def test_corpus_meets_its_brief():
    corpus = load_corpus()
    assert len(corpus.articles) >= 30 and len(corpus.outlets) >= 4
    assert {o.feed_format for o in corpus.outlets.values()} == {"rss", "atom"}
    start, end = (
        datetime(2025, 5, 10, tzinfo=UTC),
        datetime(2025, 6, 6, tzinfo=UTC),
    )
    assert all(start <= a.published < end for a in corpus.articles)
    assert sum(a.syndicated_from is not None for a in corpus.articles) >= 3
    assert sum(a.update_of is not None for a in corpus.articles) >= 2
    for outlet in corpus.outlets.values():
        assert not any(name in outlet.name.lower() for name in REAL_OUTLETS)
    ids = [a.id for a in corpus.articles]
    assert len(ids) == len(set(ids))
    # an article its outlet updated in place: the first edition is served at the same address
    updated = [a for a in corpus.articles if a.first_edition]
    assert updated and all(a.first_edition["title"] != a.title for a in updated)
    first = {a.id: a for a in corpus.first_editions().articles}
    assert all(first[a.id].title == a.first_edition["title"] for a in updated)
    assert all(first[a.id].path == a.path for a in updated)
    with pytest.raises(ValueError, match="first_edition can set title, summary, body"):
        dataclasses.replace(updated[0], first_edition={"published": "2025-05-01"})


def test_every_outlet_serves_a_valid_feed_listing_every_article():
    corpus = load_corpus()
    site = routes(corpus, "http://127.0.0.1:1")
    for outlet in corpus.outlets.values():
        parsed = feedparser.parse(site[f"/{outlet.id}/feed.xml"].body)
        assert not parsed.bozo, outlet.id
        assert len(parsed.entries) == len(corpus.by_outlet(outlet.id))
    templates = {o.template for o in corpus.outlets.values()}
    assert len(templates) == len(corpus.outlets)  # each outlet its own template


@pytest.mark.usefixtures("prefect_harness")
def test_newsmon_demo_polls_twice_and_prints_a_summary_of_each(tmp_path, capsys):
    assert main(["demo", "--port", "0", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    first, second = out.split("after an outlet updated an article in place")
    # the second poll finds the one article its outlet updated in place, and nothing new
    assert "entries seen 45; new articles 0 " in second and "updated 1;" in second
    assert "updated 0;" in first
    out = first
    assert "ok 4 (not modified 0), failed 0; entries seen 45; new articles 45" in out
    assert "duplicates marked 8 (same text 4, near-identical text 1, same URL article id 3)" in out
    assert f"warehouse: {tmp_path / 'demo.duckdb'}" in out
    with duckdb.connect(str(tmp_path / "demo.duckdb"), read_only=True) as con:
        by_source = dict(
            con.execute("SELECT text_source, count(*) FROM articles GROUP BY ALL").fetchall()
        )
        copies = con.execute(
            "SELECT d.dup_method, d.feed_id, c.feed_id FROM articles d JOIN articles c ON d.duplicate_of = c.article_id"
        ).fetchall()
        fallbacks = con.execute(
            "SELECT fetch_error FROM articles WHERE text_source = 'feed' ORDER BY 1"
        ).fetchall()
        texts = " ".join(
            t for (t,) in con.execute("SELECT text FROM articles WHERE text IS NOT NULL").fetchall()
        )
    assert by_source == {"page": 43, "feed": 2}
    assert fallbacks == [("HTTP 404",), ("extracted text too short",)]
    assert len(copies) == 8
    # Syndicated copies come from another outlet; updates in place from the same one.
    assert all((copy == original) == (method == "url") for method, copy, original in copies)
    comments = [c["text"] for a in load_corpus().articles for c in a.comments or []]
    assert len(comments) >= 5
    assert not [c for c in comments if " ".join(c.split())[:50] in texts]  # comments excluded
    assert "newsletter" not in texts.lower()
