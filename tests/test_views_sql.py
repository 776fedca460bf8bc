"""Outlets, full-text search and the analyst's views, on real DuckDB files loaded by the
real loader (and, for the views, by the real pipeline through `newsmon demo`)."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta

import pytest

from newsmon import warehouse
from newsmon.config import default_outlet, load_sources
from newsmon.stories import StoredStory
from newsmon.warehouse import search

from .conftest import ROOT
from .test_warehouse import article, status


def run(run_id: str, day: int = 16) -> warehouse.RunRecord:
    return warehouse.RunRecord(run_id, datetime(2025, 5, day, 2))


def test_the_default_outlet_is_the_registered_domain_else_the_feed():
    assert default_outlet("https://feeds.bbci.co.uk/news/world/rss.xml", "bbc") == "bbci.co.uk"
    assert default_outlet("https://www.theguardian.com/world/rss", "g") == "theguardian.com"
    assert default_outlet("https://rss.example.co.uk/feed", "x") == "example.co.uk"
    # loopback and private hosts have no registered domain: each feed is its own outlet
    assert default_outlet("http://127.0.0.1:8080/a/feed.xml", "a") == "a"
    assert default_outlet("http://localhost/feed", "b") == "b"


def test_the_shipped_sources_make_one_outlet_of_each_publishers_feeds():
    sources = load_sources(ROOT / "sources.yaml")
    outlets = {f.id: f.outlet_name for f in sources.feeds}
    assert outlets["bbc-world"] == outlets["bbc-europe"] == "BBC"
    assert outlets["guardian-world"] == outlets["guardian-ukraine"] == "The Guardian"
    assert outlets["dw-world"] == "dw.com"  # not configured: its registered domain
    assert len(set(outlets.values())) == len(outlets) - 2


def _outlet_counts(con, story: str) -> tuple:
    return (
        con.execute("SELECT outlet_count FROM stories WHERE story_id = ?", [story]).fetchall()[0][
            0
        ],
        con.execute(
            "SELECT DISTINCT outlets FROM story_timeline WHERE story_id = ? AND topic = '*'",
            [story],
        ).fetchall(),
        con.execute(
            "SELECT outlet_count FROM storylines WHERE storyline_id = "
            "(SELECT storyline_id FROM stories WHERE story_id = ?)",
            [story],
        ).fetchall()[0][0],
    )


def test_feeds_of_one_outlet_count_once_everywhere(tmp_path):
    feeds = [status("world"), status("europe"), status("other")]
    feeds[2].url = "https://feeds.other-news.org/rss"
    articles = [
        article(f"a{i}", feed_id=feed, story_id="a0", url=f"https://{host}/{i}", site_name=host)
        for i, (feed, host) in enumerate(
            [("world", "one.example"), ("europe", "two.example"), ("other", "three.example")]
        )
    ]
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        centroid = StoredStory("a0", datetime(2025, 5, 16), 3, ["t"], [1.0], 1, 1.0, ["t"], [1.0])
        warehouse.load_cycle(
            con,
            run("r1"),
            feeds,
            articles,
            story_vectors=[centroid],
            outlets={"world": "Big", "europe": "Big"},
        )
        assert con.execute("SELECT feed_id, outlet FROM feeds ORDER BY 1").fetchall() == [
            ("europe", "Big"),
            ("other", "other-news.org"),  # no outlet given: the registered domain of its URL
            ("world", "Big"),
        ]
        # three feeds, three site names and hosts, two outlets
        assert _outlet_counts(con, "a0") == (2, [(2,)], 2)
        # A feed moved to the other outlet: the counts of its stories are recounted.
        warehouse.load_cycle(
            con, run("r2"), feeds, [], outlets={"world": "Big", "europe": "other-news.org"}
        )
        assert _outlet_counts(con, "a0") == (2, [(2,)], 2)
        warehouse.load_cycle(
            con, run("r3"), feeds, [], outlets={"world": "Big", "europe": "Big", "other": "Big"}
        )
        assert _outlet_counts(con, "a0") == (1, [(1,)], 1)


def test_search_articles_ranks_by_bm25_and_follows_revisions(tmp_path):
    texts = {
        "talks": ("Ceasefire talks", "The ceasefire talks ended with a prisoner exchange agreed."),
        "swap": ("Prisoners come home", "Hundreds of prisoners crossed the border in a swap."),
        "weather": ("Storm warning", "A storm is expected to reach the coast tonight."),
    }
    articles = [article(k, title=t, text=x) for k, (t, x) in texts.items()]
    # an exact duplicate stores no text: it is found through the text it copies
    articles.append(article("copy", title="Truce talks", text=None, duplicate_of="talks"))
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.load_cycle(con, run("r1"), [status()], articles)
        assert search.terms(con, "Ceasefires, PARTIES and the crisis!") == [
            "ceasefire",
            "party",
            "crisis",
        ]
        found = search.search(con, "ceasefire prisoner")
        assert [r["article_id"] for r in found][:2] == ["talks", "copy"]
        assert {r["article_id"] for r in found} == {"talks", "copy", "swap"}
        assert found[0]["matched"] == 2 and found[0]["outlet"] == "f"  # host x: no domain
        assert found[0]["score"] > found[-1]["score"] > 0
        both = search.search(con, "ceasefire prisoners", match_all=True)
        assert {r["article_id"] for r in both} == {"talks", "copy"}
        assert search.search(con, "volcano") == []
        assert [r["article_id"] for r in search.search(con, "ceasefire prisoner", limit=1)] == [
            "talks"
        ]
        assert con.execute(
            "SELECT count(*) FROM search_articles('ceasefire prisoner', max_results := 0)"
        ).fetchall() == [(3,)]
        # Updated in place: the index follows the new text.
        revised = article("weather", title="Storm passes", text="Volcano ash closes airports.")
        warehouse.load_cycle(con, run("r2", 17), [status()], [], updates=[revised])
        assert [r["article_id"] for r in search.search(con, "volcano")] == ["weather"]
        assert search.search(con, "coast") == []
        assert con.execute("SELECT count(*) FROM search_documents").fetchone()[0] == 4


@pytest.fixture(scope="module")
def demo(demo_db, tmp_path_factory):
    """A writable copy of the demo warehouse (built by the real pipeline)."""
    db = tmp_path_factory.mktemp("views") / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    with warehouse.connect(db) as con:
        yield con


@pytest.mark.slow
def test_search_articles_on_the_demo_finds_what_a_regex_finds(demo):
    ids = {r["article_id"] for r in search.search(demo, "ceasefire", limit=1000)}
    regex = {
        r[0]
        for r in demo.execute(
            "SELECT a.article_id FROM articles AS a LEFT JOIN articles AS c "
            "ON c.article_id = a.duplicate_of WHERE regexp_matches(lower(coalesce(a.title, '') "
            "|| ' ' || coalesce(a.text, c.text, a.summary, '')), '\\bceasefires?\\b')"
        ).fetchall()
    }
    assert ids == regex and len(ids) >= 5


@pytest.mark.slow
def test_developments_named_gives_names_story_and_outlet_without_joins(demo):
    rows = demo.execute(
        "SELECT development_id, story_id, story_title, actors, recipients, actor_ids, "
        "recipient_ids, outlet, url, kind FROM developments_named WHERE topic = '*'"
    ).fetchall()
    assert len(rows) == demo.execute("SELECT count(*) FROM developments").fetchone()[0]
    names = dict(demo.execute("SELECT entity_id, name FROM entities").fetchall())
    for _, story, title, actors, recipients, actor_ids, recipient_ids, outlet, url, _ in rows:
        assert actors == [names[i] for i in actor_ids]
        assert recipients == [names[i] for i in recipient_ids]
        assert title and story and outlet and url.startswith("http")
    topical = demo.execute(
        "SELECT count(*) FROM developments_named WHERE topic = 'russia-ukraine-talks' "
        "AND list_contains(actors, 'Russia') AND kind = 'prisoner_exchange'"
    ).fetchone()[0]
    assert topical > 0


@pytest.mark.slow
def test_developments_stored_before_0018_get_their_names_from_the_migration(demo_db, tmp_path):
    db = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    named = "SELECT development_id, actors, recipients FROM developments_named WHERE topic = '*'"
    with warehouse.connect(db) as con:
        loaded = sorted(con.execute(named).fetchall())
        con.execute("ALTER TABLE developments DROP COLUMN actor_names")
        con.execute("ALTER TABLE developments DROP COLUMN recipient_names")
        con.execute("DELETE FROM schema_migrations WHERE version = 18")
        assert warehouse.migrate(con) == ["0018_development_names.sql"]
        migrated = sorted(con.execute(named).fetchall())
    assert sum(1 for _, actors, _ in loaded if actors) >= 10
    assert migrated == loaded


@pytest.mark.slow
def test_first_reported_orders_outlets_and_marks_copies(demo):
    rows = demo.execute(
        "SELECT level, story_id, kind, stance, rank, outlet, first_report, first_outlet, behind, "
        "outlets, is_copy, copy_method FROM first_reported ORDER BY level, story_id, kind, stance, rank"
    ).fetchall()
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault(row[:4], []).append(row)
    for group in groups.values():
        assert [r[4] for r in group] == list(range(1, len(group) + 1))
        assert group[0][8] == timedelta(0) and all(r[7] == group[0][5] for r in group)
        assert all(r[8] == r[6] - group[0][6] >= timedelta(0) for r in group)
        assert len({r[5] for r in group}) == len(group) == group[0][9]  # one row per outlet
    # a story's first outlet really carried its earliest article
    story, first, when = demo.execute(
        "SELECT story_id, outlet, first_report FROM first_reported "
        "WHERE level = 'story' AND rank = 1 AND outlets > 1 ORDER BY outlets DESC, story_id LIMIT 1"
    ).fetchone()
    earliest = demo.execute(
        "SELECT f.name, min(coalesce(a.published_at, a.fetched_at)) FROM articles AS a "
        "JOIN feeds AS f USING (feed_id) "
        "WHERE coalesce(a.story_id, a.duplicate_of, a.article_id) = ? GROUP BY ALL "
        "ORDER BY 2, 1 LIMIT 1",
        [story],
    ).fetchone()
    # demo feeds are loopback: each feed is its own outlet, named by the feed's name
    assert (first, when) == earliest
    # wire copies: an outlet whose first article carries another's text is marked
    copies = demo.execute(
        "SELECT count(*) FROM first_reported WHERE is_copy AND copy_of_outlet IS NOT NULL"
    ).fetchone()[0]
    near = demo.execute(
        "SELECT count(*) FROM articles WHERE dup_method IN ('hash', 'near')"
    ).fetchone()[0]
    assert (copies > 0) == (near > 0)


def test_article_changes_gives_headlines_and_sentences_before_and_after(tmp_path):
    first = article(
        "a",
        title="Talks begin",
        text="Delegates met in Istanbul. No deal yet. Talks go on.",
        entry_hash="e1",
    )
    second = article(
        "a",
        title="Talks end with a swap",
        text="Delegates met in Istanbul. They agreed a swap of 1,000 prisoners. Talks go on.",
        entry_hash="e2",
    )
    third = article(
        "a", title="Talks end with a swap", text=second.text + " Both sides confirmed it."
    )
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.load_cycle(con, run("r1"), [status()], [first])
        warehouse.load_cycle(con, run("r2", 17), [status()], [], updates=[second])
        warehouse.load_cycle(con, run("r3", 18), [status()], [], updates=[third])
        rows = con.execute(
            "SELECT from_revision, to_revision, changed_at, title_before, title_after, "
            "title_changed, sentences_added, sentences_removed, outlet "
            "FROM article_changes ORDER BY from_revision"
        ).fetchall()
        flags = con.execute(
            "SELECT developments_added, developments_removed FROM article_changes "
            "ORDER BY from_revision"
        ).fetchall()
        # a version replaced before migration 0016 has no developments on record: not known
        con.execute("UPDATE article_revisions SET developments = NULL WHERE revision = 1")
        unknown = con.execute(
            "SELECT developments_added, developments_removed FROM article_changes "
            "ORDER BY from_revision"
        ).fetchall()
    assert flags == [([], []), ([], [])]  # no developments read in any version
    assert unknown == [(None, None), ([], [])]
    assert rows == [
        (
            1,
            2,
            datetime(2025, 5, 17, 2),
            "Talks begin",
            "Talks end with a swap",
            True,
            ["They agreed a swap of 1,000 prisoners."],
            ["No deal yet."],
            "f",
        ),
        (
            2,
            3,
            datetime(2025, 5, 18, 2),
            "Talks end with a swap",
            "Talks end with a swap",
            False,
            ["Both sides confirmed it."],
            [],
            "f",
        ),
    ]


def test_revisions_stored_before_0017_get_their_diff_from_the_migration(tmp_path):
    texts = [
        "Delegates met. No deal yet. Talks go on.",
        "Delegates  met. A swap was agreed. Talks go on.",
        "Delegates met. A swap was agreed. Talks go on. Both sides confirmed it.",
    ]
    versions = [article("a", text=t, entry_hash=f"e{k}") for k, t in enumerate(texts)]
    diff = (
        "SELECT from_revision, sentences_added, sentences_removed FROM article_changes ORDER BY 1"
    )
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.load_cycle(con, run("r1"), [status()], versions[:1])
        warehouse.load_cycle(con, run("r2", 17), [status()], [], updates=versions[1:2])
        warehouse.load_cycle(con, run("r3", 18), [status()], [], updates=versions[2:])
        loaded = con.execute(diff).fetchall()
        # the warehouse as it was before 0017: the diff was not stored
        con.execute("ALTER TABLE article_revisions DROP COLUMN sentences_added")
        con.execute("ALTER TABLE article_revisions DROP COLUMN sentences_removed")
        con.execute("DROP MACRO sentences_not_in")
        con.execute("DROP MACRO article_sentences")
        con.execute("DELETE FROM schema_migrations WHERE version = 17")
        assert warehouse.migrate(con) == ["0017_revision_sentences.sql"]
        migrated = con.execute(diff).fetchall()
    assert loaded == [
        (1, ["A swap was agreed."], ["No deal yet."]),  # white space aside, "Delegates met."
        (2, ["Both sides confirmed it."], []),
    ]
    assert migrated == loaded


@pytest.mark.slow
def test_the_demos_article_updated_in_place_shows_its_diff_and_flags_its_developments(demo):
    rows = demo.execute(
        "SELECT outlet, from_revision, to_revision, title_before, title_after, title_changed, "
        "sentences_added, sentences_removed, developments_added, developments_removed "
        "FROM article_changes"
    ).fetchall()
    assert len(rows) == 1  # `newsmon demo` polls twice; one article changes in between
    outlet, old, new, before, after, changed, added, removed, appeared, gone = rows[0]
    assert (outlet, old, new, changed) == ("The Lanternport Ledger", 1, 2, True)
    assert before == "Prisoner exchange expected to start at the Belarus border"
    assert after == "Hundreds come home as the great prisoner exchange begins"
    assert "The handover took place at the border with Belarus." in added
    assert "This story is being updated." in removed
    # sentences both versions hold are neither added nor removed, white space aside
    assert not any(s.startswith("Prisoner exchanges have been one") for s in added + removed)
    assert all(s == " ".join(s.split()) for s in added + removed)
    # the exchange had not happened in the first version: it appears with the update
    occurred = [
        d for d in appeared if (d["kind"], d["stance"]) == ("prisoner_exchange", "occurred")
    ]
    assert any(d["sentence"].startswith("On Friday 390 Ukrainians") for d in occurred)
    assert not any((d["kind"], d["stance"]) == ("prisoner_exchange", "occurred") for d in gone)
    revision = demo.execute("SELECT developments FROM article_revisions").fetchall()
    assert revision and all(
        (d["kind"], d["stance"]) != ("prisoner_exchange", "occurred") for d in revision[0][0]
    )


def test_disputed_quantities_sets_outlets_figures_side_by_side(demo):
    rows = demo.execute(
        "SELECT story_id, kind, unit, quantities, lowest, highest, quantity, outlet, sentence "
        "FROM disputed_quantities"
    ).fetchall()
    assert rows  # the demo's prisoner swaps are reported with several figures
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault(row[:3], []).append(row)
    for group in groups.values():
        figures = {r[6] for r in group}
        assert len(figures) == group[0][3] > 1 and len({r[7] for r in group}) > 1
        assert (min(figures), max(figures)) == group[0][4:6]
        assert all(r[8] for r in group)


def test_migration_0012_indexes_and_counts_what_was_stored_before_it(tmp_path):
    articles = [
        article("a", title="Ceasefire talks", text="Prisoners and a ceasefire.", story_id="a"),
        article("b", title="Copy", text=None, duplicate_of="a", story_id="a", feed_id="g"),
    ]
    feeds = [status("f"), status("g")]
    feeds[0].url, feeds[1].url = "https://news.one-outlet.org/a", "https://www.one-outlet.org/b"
    centroid = StoredStory("a", datetime(2025, 5, 16), 2, ["t"], [1.0], 1, 1.0, ["t"], [1.0])
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.load_cycle(con, run("r1"), feeds, articles, story_vectors=[centroid])
        index = sorted(con.execute("SELECT * FROM article_terms").fetchall())
        assert _outlet_counts(con, "a") == (1, [(1,)], 1)  # one registered domain
        # The warehouse as it was before 0012, with the old counts (one per host), migrated:
        con.execute("DROP TABLE article_terms")
        con.execute("DROP TABLE search_documents")
        con.execute("DROP MACRO TABLE search_articles")
        con.execute("DROP MACRO search_terms")
        con.execute("DROP MACRO search_stem")
        con.execute("ALTER TABLE feeds DROP COLUMN outlet")
        con.execute("UPDATE stories SET outlet_count = 2")
        con.execute("UPDATE storylines SET outlet_count = 2")
        con.execute("UPDATE trend_story_outlets SET outlets = 2")
        con.execute("DELETE FROM schema_migrations WHERE version = 12")
        assert warehouse.migrate(con) == ["0012_outlets_search.sql"]
        assert sorted(con.execute("SELECT * FROM article_terms").fetchall()) == index
        assert {r["article_id"] for r in search.search(con, "prisoner")} == {"a", "b"}
        # hosts without "www." until the next poll writes the registered domain
        assert con.execute("SELECT outlet FROM feeds ORDER BY feed_id").fetchall() == [
            ("news.one-outlet.org",),
            ("one-outlet.org",),
        ]
        assert _outlet_counts(con, "a") == (2, [(2,)], 2)
        warehouse.load_cycle(con, run("r2", 17), feeds, [])
        assert _outlet_counts(con, "a") == (1, [(1,)], 1)
