"""Trend tables (migration 0007): exact after loads, relinks, updates, reprocess and backfill.

Two checks after every step, both on real warehouses filled by the real load path:
- each trend table holds the rows a recomputation from the base tables gives
  (`warehouse.rebuild_trends`, the loader's own refresh over every story);
- each trend view answers exactly what its definition before the trend tables answered
  (tests/fixtures/views_before_trend_tables.sql, which reads only the base tables).
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from newsmon import analysis, entities, pipeline, staging, warehouse
from newsmon.config import DedupSettings, parse_sources
from newsmon.extract import Article

from .test_near_duplicates import OTHER, WIRE

REFERENCE = Path(__file__).parent / "fixtures" / "views_before_trend_tables.sql"
VIEWS = ("entity_daily", "stories_daily", "story_timeline", "actor_pairs", "entity_trending")

SOURCES = """\
feeds:
  - {id: f1, name: F1, url: "https://f1.example/rss"}
topics:
  - id: talks
    keywords: [ceasefire, prisoner exchange, memorandum]
    threshold: 3
    entities:
      - {name: Russia, kind: country}
      - {name: Ukraine, kind: country}
      - {name: Belarus, kind: country}
      - {name: Rustem Umerov, kind: person}
      - {name: Vladimir Medinsky, kind: person, aliases: [Medinsky]}
"""

TALKS = (
    "Rustem Umerov and Vladimir Medinsky met in Istanbul on Monday for a second round of talks. "
    "Ukraine asked for an unconditional ceasefire of thirty days; Russia handed over a memorandum "
    "and proposed a prisoner exchange of all wounded soldiers. Medinsky said the exchange could "
    "start within a week, and Umerov said Ukraine would study the memorandum."
)


def differences(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows each trend view and its former definition do not share, by view."""
    con.execute(REFERENCE.read_text(encoding="utf-8"))
    return {
        view: con.execute(
            f"SELECT count(*) FROM ((SELECT * FROM {view} EXCEPT ALL SELECT * FROM ref_{view}) "
            f"UNION ALL (SELECT * FROM ref_{view} EXCEPT ALL SELECT * FROM {view}))"
        ).fetchall()[0][0]
        for view in VIEWS
    }


def trend_rows(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall()) for t in warehouse.TREND_TABLES}


def assert_exact(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """The trend tables equal their recomputation, and every view its former definition."""
    maintained = trend_rows(con)
    warehouse.rebuild_trends(con)
    assert trend_rows(con) == maintained
    assert differences(con) == dict.fromkeys(VIEWS, 0)
    return maintained


def stored(article_id, text, published, feed, **kw) -> Article:
    return Article(
        article_id=article_id,
        feed_id=feed,
        url=f"https://{feed}.example/{article_id}",
        canonical_url=f"https://{feed}.example/{article_id}",
        title=article_id,
        text=text,
        published_at=published,
        fetched_at=published + timedelta(hours=1),
        language="en",
        text_source="page",
        **kw,
    )


@pytest.fixture(scope="module")
def sources():
    return parse_sources(SOURCES)


def analysed(sources, articles: list[Article]) -> dict:
    """The entity stage's results for these articles (the real analyser, as the flow runs it)."""
    analyser = analysis.analyser_for(sources.topics, sources.settings.nlp)
    texts = [entities.article_text(a.title, a.text) for a in articles]
    days = [(a.published_at or a.fetched_at).date() for a in articles]
    return dict(zip((a.article_id for a in articles), analyser.analyse(texts, days), strict=True))


def load(con, sources, run_id: str, articles: list[Article], updates=()) -> None:
    """One cycle through the pipeline's load step: deduplication, stories, one transaction."""
    run = warehouse.RunRecord(run_id, datetime(2025, 6, 1))
    batch = staging.Batch(
        run, [], articles, list(updates), analysed(sources, [*articles, *updates])
    )
    pipeline.load_batch(con, batch, sources)


@pytest.mark.slow
def test_loads_an_earlier_report_an_update_and_reprocess_keep_the_trend_tables_exact(
    tmp_path, sources
):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        load(
            con,
            sources,
            "r1",
            [
                stored("wire", WIRE, datetime(2025, 5, 25, 14), "f1"),
                stored("other", OTHER, datetime(2025, 5, 25, 15), "f2"),
            ],
        )
        first = assert_exact(con)
        assert first["trend_entity_days"] and {r[0] for r in first["trend_story_days"]} == {
            "*",
            "talks",
        }

        # An earlier report of the wire story arrives: the wire article becomes its
        # duplicate, and the story's first day moves back to 24 May.
        load(
            con,
            sources,
            "r2",
            [
                stored("early", WIRE[:-40], datetime(2025, 5, 24, 22), "f4"),
                stored("talks", TALKS, datetime(2025, 5, 26, 9), "f1"),
            ],
        )
        assert con.execute(
            "SELECT duplicate_of, story_id FROM articles WHERE article_id = 'wire'"
        ).fetchall()[0] == ("early", "wire")
        assert con.execute(
            "SELECT day, new_stories FROM stories_daily WHERE topic = '*' ORDER BY day"
        ).fetchall() == [
            (date(2025, 5, 24), 1),
            (date(2025, 5, 25), 1),
            (date(2025, 5, 26), 1),
        ]
        assert_exact(con)

        # The other story is revised and now belongs to the topic.
        revised = stored("other", OTHER + " " + TALKS, datetime(2025, 5, 25, 15), "f2")
        load(con, sources, "r3", [], updates=[revised])
        assert con.execute(
            "SELECT count(*) FROM article_topics WHERE article_id = 'other'"
        ).fetchall()[0] == (1,)
        after_update = assert_exact(con)
        assert after_update != first

        # A new topic and a reprocess rewrite the mentions and topics of every article...
        changed = parse_sources(
            SOURCES
            + "  - id: poland\n    keywords: [runoff, election]\n    threshold: 2\n"
            + "    entities:\n      - {name: Donald Tusk, kind: person}\n"
        )
        pipeline.reprocess(con, changed, batch_size=2)
        # ... leave the tables in day order, which the views' date filters rely on ...
        for table, column in warehouse.TREND_TABLES.items():
            days = [d for (d,) in con.execute(f"SELECT {column} FROM {table}").fetchall()]
            assert days == sorted(days), table
        # ... and the trend rows follow.
        poland = "SELECT count(*) FROM entity_daily WHERE topic = 'poland' AND name = 'Donald Tusk'"
        assert con.execute(poland).fetchall()[0][0] == 1
        assert_exact(con)


@pytest.mark.slow
def test_a_relink_moves_articles_without_a_story_and_their_trend_rows(tmp_path, sources):
    # Articles stored before stories existed have no story_id: the views count them under
    # their canonical article, so a relink moves them to another story.
    def cycle(con, run_id, articles):
        found = pipeline.deduplicate(con, articles, [], DedupSettings())
        warehouse.load_cycle(
            con,
            warehouse.RunRecord(run_id, datetime(2025, 6, 1)),
            [],
            articles,
            lsh=found.lsh,
            relinks=found.relinks,
            entities=analysed(sources, articles),
        )

    with warehouse.connect(tmp_path / "w.duckdb") as con:
        cycle(
            con,
            "r1",
            [
                stored("wire", WIRE, datetime(2025, 5, 25, 14), "f1"),
                stored("copy", WIRE, datetime(2025, 5, 25, 16), "f2"),
                stored("other", OTHER, datetime(2025, 5, 25, 15), "f1"),
            ],
        )
        assert con.execute(
            "SELECT article_id, duplicate_of FROM articles ORDER BY 1"
        ).fetchall() == [("copy", "wire"), ("other", None), ("wire", None)]
        assert_exact(con)
        cycle(con, "r2", [stored("early", WIRE[:-40], datetime(2025, 5, 24, 22), "f3")])
        assert con.execute(
            "SELECT article_id, duplicate_of FROM articles ORDER BY 1"
        ).fetchall() == [("copy", "early"), ("early", None), ("other", None), ("wire", "early")]
        rows = assert_exact(con)
        stories = {r[2] for r in rows["trend_story_days"]}
        assert stories == {"early", "other"}  # nothing is left under the old story


@pytest.mark.slow
def test_the_demo_warehouse_and_the_backfill_of_migration_0007(demo_db, tmp_path):
    db = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    with warehouse.connect(db) as con:
        loaded = assert_exact(con)
        assert all(loaded.values())
        assert con.execute(
            "SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL"
        ).fetchall()[0][0]
        # The same warehouse as it was before 0007, then migrated: the backfill gives the
        # rows the loader maintained (entity numbers aside, which the backfill assigns anew).
        by_name = "SELECT e.entity_id, t.* EXCLUDE (entity_no) FROM trend_entity_days t JOIN entities e USING (entity_no)"
        before = sorted(con.execute(by_name).fetchall())
        for table in warehouse.TREND_TABLES:
            con.execute(f"DROP TABLE {table}")
        con.execute("ALTER TABLE entities DROP COLUMN entity_no")
        con.execute("DROP SEQUENCE entity_no_seq")
        con.execute("DELETE FROM schema_migrations WHERE version = 7")
        assert warehouse.migrate(con) == ["0007_trend_tables.sql"]
        assert sorted(con.execute(by_name).fetchall()) == before
        backfilled = trend_rows(con)
        for table in ("trend_story_days", "trend_story_outlets"):
            assert backfilled[table] == loaded[table], table
        assert_exact(con)
