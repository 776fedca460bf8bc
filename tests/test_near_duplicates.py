"""Near-duplicates: URL article ids, MinHash LSH candidates, verification, canonical choice."""

from __future__ import annotations

from datetime import datetime

import pytest
from rapidfuzz import fuzz

from bench.eval_near_duplicates import evaluate_demo, evaluate_rss_may2025
from bench.eval_url_updates import demo_sets, rss_sets
from newsmon import pipeline, warehouse
from newsmon.config import DedupSettings
from newsmon.dedup import band_keys, normalise_text, update_score, url_key
from newsmon.extract import Article

from .conftest import shared_data

WIRE = (
    "Russia and Ukraine completed the largest prisoner exchange of the war on Sunday, each side "
    "releasing a final group of 303 people on the border with Belarus. Over three days a thousand "
    "prisoners went home in each direction, the one concrete result of the talks in Istanbul. "
    "Officials on both sides said work on further exchanges would continue, while the Kremlin "
    "said it would present a memorandum setting out its conditions for a lasting settlement soon."
)
OTHER = (
    "Election officials in Warsaw confirmed that the conservative historian Karol Nawrocki won the "
    "presidential runoff with just under fifty-one percent of the vote, a narrow defeat for the "
    "liberal mayor of the capital and a setback for the governing coalition of Donald Tusk, whose "
    "reform plans now face a president able to veto legislation passed by parliament in the years ahead."
)

# Court reports of an invented local paper that numbers its pages per section, so two
# different cases end in the same number (issue 17: `…/assault-0028`, `…/threaten-0028`).
RECORDER = "https://recorder.example/courts/"
ASSAULT = (
    "Harriet Vane, 34, of Quarry Lane, admitted assaulting a doorman outside the Anchor nightclub "
    "in Millbrook High Street in March when she appeared before magistrates on Tuesday. The court "
    "heard that the doorman, who had refused her entry, was punched twice and needed stitches to a "
    "cut above his eye. Her solicitor said she had been drinking since the afternoon and was "
    "ashamed of what she had done. Magistrates adjourned the case for reports and released her on "
    "bail until sentencing next month."
)
THREATS = (
    "A retired bus driver from Elm Row denied sending threatening letters to his neighbour over a "
    "long dispute about a boundary hedge. Peter Wimsey, 67, told Millbrook magistrates on Tuesday "
    "that he had written to the family only to ask them to trim the hedge, and that the letters "
    "produced by the prosecution were not his. The neighbour's wife said she had been too "
    "frightened to leave the house after the third letter arrived. The trial was set for July and "
    "Mr Wimsey was released on unconditional bail."
)
BURGLARY = (  # a feed summary: shorter than min_chars
    "Two teenagers were cautioned after a break-in at the Millbrook allotment sheds, where tools "
    "worth 400 pounds were taken, police said on Tuesday."
)
# The assault report updated in place: new headline and opening, sentence added, same id.
SENTENCED = (
    "Harriet Vane, 34, of Quarry Lane, was given a twelve-week suspended sentence on Tuesday "
    "afternoon after admitting assaulting a doorman outside the Anchor nightclub in Millbrook High "
    "Street in March. The court heard that the doorman, who had refused her entry, was punched "
    "twice and needed stitches to a cut above his eye. Her solicitor said she had been drinking "
    "since the afternoon and was ashamed of what she had done. She must also pay the doorman 300 "
    "pounds in compensation and complete 80 hours of unpaid work, the chairman of the bench said."
)


def article(article_id, text, url, published, **kw) -> Article:
    return Article(
        article_id=article_id,
        feed_id="f",
        url=url,
        canonical_url=url,
        title=article_id,
        text=text,
        published_at=published,
        fetched_at=published,
        language="en",
        text_source="page",
        **kw,
    )


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://news.sky.com/story/at-least-82-killed-in-gaza-13368781", "news.sky.com#13368781"),
        ("https://www.example.com/world/talks-end-20250516-4471/", "example.com#4471"),
        ("https://example.com/news/world-europe-65432100.html", "example.com#65432100"),
        ("https://example.com/culture/eurovision-2025", None),  # a year
        ("https://example.com/briefing/2025-05-16", None),
        ("https://example.com/live/20250516", None),  # a date
        ("https://example.com/world/talks-end", None),
        (None, None),
    ],
)
def test_url_key(url, key):
    assert url_key(url) == key


def test_band_keys_are_stable_and_similar_texts_share_bands():
    a, b = normalise_text(WIRE), normalise_text(WIRE.replace("Sunday", "Sunday afternoon"))
    assert band_keys(a) == band_keys(a)
    assert len(set(band_keys(a)) & set(band_keys(b))) >= 8
    assert not set(band_keys(a)) & set(band_keys(normalise_text(OTHER)))
    # Stored keys are compared across runs and releases: the hashing must never change
    # (newsmon's seed, crc32 and blake2b, datasketch's permutations).
    talks = normalise_text(
        "Delegations from Russia and Ukraine met in Istanbul on Friday for their first direct"
        " talks in three years, and agreed to exchange 1,000 prisoners each."
    )
    assert band_keys(talks)[:3] == [8394350711914464285, 6096605127139804582, 8672782157867509666]


def load(con, batch, run_id):
    found = pipeline.deduplicate(con, batch, [], DedupSettings())
    warehouse.load_cycle(
        con,
        warehouse.RunRecord(run_id, datetime(2025, 6, 1)),
        [],
        batch,
        lsh=found.lsh,
        relinks=found.relinks,
    )
    return dict(con.execute("SELECT article_id, duplicate_of FROM articles").fetchall())


def test_copies_are_found_against_the_warehouse_and_the_earliest_is_canonical(tmp_path):
    edited = (
        WIRE.replace("Officials on both sides said", "Officials in Kyiv and Moscow said")
        + " (Desk note.)"
    )
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        first = [
            article("wire", WIRE, "https://wire.example/a-1", datetime(2025, 5, 25, 14)),
            article("other", OTHER, "https://wire.example/b-2", datetime(2025, 5, 25, 15)),
        ]
        assert load(con, first, "r1") == {"wire": None, "other": None}
        # A later run brings an edited copy, and an even earlier version of the wire story.
        second = [
            article("copy", edited, "https://herald.example/copy", datetime(2025, 5, 25, 18)),
            article("early", WIRE[:-40], "https://gazette.example/x", datetime(2025, 5, 25, 9)),
        ]
        links = load(con, second, "r2")
        methods = dict(con.execute("SELECT article_id, dup_method FROM articles").fetchall())
    assert links == {"early": None, "wire": "early", "copy": "early", "other": None}
    assert methods["copy"] == "near" and methods["wire"] == "near"


def test_outside_the_window_nothing_is_linked(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        load(con, [article("a", WIRE, "https://x.example/a", datetime(2025, 5, 1))], "r1")
        links = load(
            con, [article("b", WIRE + " More.", "https://y.example/b", datetime(2025, 5, 20))], "r2"
        )
    assert links == {"a": None, "b": None}


def test_short_texts_only_match_by_url_id(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        links = load(
            con,
            [
                article(
                    "v1",
                    "At least 70 killed in northern Gaza.",
                    "https://news.example/story/seventy-13368781",
                    datetime(2025, 5, 16, 8),
                ),
                article(
                    "v2",
                    "At least 82 killed in Gaza.",
                    "https://news.example/story/eighty-two-13368781",
                    datetime(2025, 5, 16, 11),
                ),
                article(
                    "x",
                    "At least 70 killed in northern Gaza.",
                    "https://other.example/story/x-555555",
                    datetime(2025, 5, 16, 12),
                ),
            ],
            "r1",
        )
    assert links["v2"] == "v1" and links["x"] is None


def test_different_articles_under_one_url_number_both_stay(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        first = [
            article("assault", ASSAULT, RECORDER + "assault-0028", datetime(2025, 5, 20, 9)),
        ]
        assert load(con, first, "r1") == {"assault": None}
        # A later run: two more cases under the same number, one of them a short summary.
        second = [
            article("threats", THREATS, RECORDER + "threaten-0028", datetime(2025, 5, 20, 15)),
            article("burglary", BURGLARY, RECORDER + "burglary-0028", datetime(2025, 5, 20, 16)),
        ]
        links = load(con, second, "r2")
        keys = con.execute("SELECT DISTINCT url_key FROM articles").fetchall()
        methods = con.execute("SELECT dup_method FROM articles WHERE dup_method IS NOT NULL")
        assert methods.fetchall() == []
    assert keys == [("recorder.example#0028",)]  # the URL alone would have joined all three
    assert links == {"assault": None, "threats": None, "burglary": None}


def test_an_update_in_place_is_still_linked_by_url(tmp_path):
    # Not a near-duplicate (character ratio under 80): only the URL id and the text together
    # make it one article.
    assert fuzz.ratio(normalise_text(ASSAULT), normalise_text(SENTENCED)) < 80
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        first = [
            article("assault", ASSAULT, RECORDER + "assault-0028", datetime(2025, 5, 20, 9)),
        ]
        load(con, first, "r1")
        second = [
            article("sentenced", SENTENCED, RECORDER + "suspended-0028", datetime(2025, 5, 20, 17)),
            article("threats", THREATS, RECORDER + "threaten-0028", datetime(2025, 5, 20, 15)),
        ]
        links = load(con, second, "r2")
        method, score = con.execute(
            "SELECT dup_method, dup_score FROM articles WHERE article_id = 'sentenced'"
        ).fetchone()
    assert links == {"assault": None, "sentenced": "assault", "threats": None}
    assert method == "url"
    assert score == round(update_score(normalise_text(ASSAULT), normalise_text(SENTENCED)), 1)
    assert score >= DedupSettings().update_threshold


def test_update_score_reads_words_and_needs_both_texts():
    assert update_score("", "at least 70 killed") == 0.0
    assert update_score("at least 70 killed", "at least 70 killed") == 100.0
    # Unrelated texts share letters, not word sequences.
    assert update_score(normalise_text(ASSAULT), normalise_text(THREATS)) < 30


def test_update_threshold_keeps_the_demo_updates_apart_from_other_articles():
    threshold = DedupSettings().update_threshold
    updates, others = demo_sets()
    assert len(updates) == 4 and len(others) > 200
    assert min(update_score(a, b) for a, b, _ in updates) >= threshold
    assert max(update_score(a, b) for a, b, _ in others) < threshold


@pytest.mark.shared_data
def test_update_threshold_keeps_the_sky_updates_apart_from_other_entries():
    shared_data("rss_may2025")
    threshold = DedupSettings().update_threshold
    updates, others = rss_sets()
    assert len(updates) == 2 and len(others) > 3000
    assert min(update_score(a, b) for a, b, _ in updates) >= threshold
    assert max(update_score(a, b) for a, b, _ in others) < threshold


@pytest.mark.parametrize("colliding", [False, True])
def test_demo_corpus_floor(colliding):
    result = evaluate_demo(colliding=colliding)
    assert result["precision"] == 1.0 and result["recall"] >= 0.95, result


@pytest.mark.shared_data
@pytest.mark.parametrize("colliding", [False, True])
def test_rss_may2025_floor(colliding):
    shared_data("rss_may2025")
    result = evaluate_rss_may2025(colliding=colliding)
    assert result["precision"] == 1.0 and result["recall"] >= 0.95, result
