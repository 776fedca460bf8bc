"""Benchmark the trend views on a warehouse of 1,000,000 articles and 10,000,000 mentions.

A generator fills a real warehouse (the project's migrations and views) with synthetic rows
in SQL: articles over 365 days from 200 feeds, grouped into stories of about four, 10 %
exact duplicates, 30 % in the topic `talks`; 50,000 entities; ten mentions per article on
average. The trend tables are then derived by the loader's own refresh over every story.
Each view is asked what an analyst asks: one topic and the last 14 days (entity_trending:
the whole view, it looks back 17 days by itself). Goal: every view answers in 300 ms or
less on 2 cores. Times are the median of 5 runs after one warm-up. Last, the cost the
loader pays per cycle for the trend tables: recomputing the stories of 300 articles.

Full-text search (issue 20): the index `article_terms` gets about 150 distinct terms per
article from a Zipf-like vocabulary of 50,000 words (plus "ceasefire" in 2 % of the articles
and "prisoner" in 1 %), and `search_articles` is asked a rare pair, a common pair and a rare
pair with `match_all`; goal 1 s. The loader's cost for the index: indexing the headline and
text (about 300 words) of 300 new articles, in the warehouse's transaction.

Analyst views (issue 21), goal 300 ms each: `first_reported` (one story), `developments_named`
(one topic, 14 days), `disputed_quantities` and `article_changes`, each as an analyst lists the
newest and as the report asks for the 20 stories it shows. For them every prisoner exchange
states a number of prisoners (some stories disputed) and 1 % of the articles were updated in
place once, with a text of 40 sentences (`generate_disputes_and_revisions`).

Alerts (issue 21): 30 % of the articles carry one or two developments (kinds and stances
of the README's rules, on the article's day, the article's first entities as actors);
stories belong to storylines of about 20 stories over a month; one run a day, every one
already evaluated. The alert evaluation of a new 1,000-article cycle (copies of the newest
articles a day later: half their stories new, some storylines new, 20 new people named, a
feed disabled) with the README's rule set, one rule for each `when`, is timed in a
transaction rolled back, and compared with the cost of a cycle of as many articles by the
latest bench_pipeline result; goal at most 5 %.

    .venv/bin/python bench/bench_views.py              # 1,000,000 articles, 10,000,000 mentions
    .venv/bin/python bench/bench_views.py --smoke      # 20,000 articles, 200,000 mentions
    .venv/bin/python bench/bench_views.py --hex-ids    # ids like the stored ones (see generate)
    .venv/bin/python bench/bench_views.py --keep /tmp/views.duckdb   # generate once, then reuse
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

from newsmon import warehouse
from newsmon.alerts import store
from newsmon.warehouse import search
from newsmon.warehouse.developments import name_actors

ROOT = Path(__file__).resolve().parents[1]

QUERIES = {
    "entity_daily": "SELECT * FROM entity_daily WHERE topic = 'talks' AND day > DATE '2025-12-31' - 14 ORDER BY stories DESC LIMIT 200",
    "entity_trending": "SELECT * FROM entity_trending WHERE topic = 'talks' ORDER BY lift DESC LIMIT 50",
    "stories_daily": "SELECT * FROM stories_daily WHERE topic = 'talks' AND day > DATE '2025-12-31' - 14 ORDER BY day",
    "story_timeline": "SELECT * FROM story_timeline WHERE topic = 'talks' AND first_day > DATE '2025-12-31' - 14 LIMIT 500",
    "actor_pairs": "SELECT * FROM actor_pairs WHERE topic = 'talks' AND week > DATE '2025-12-31' - 14 ORDER BY stories DESC LIMIT 100",
    "feed_health": "SELECT * FROM feed_health",
}

SEARCHES = {
    "rare pair": "SELECT * FROM search_articles('ceasefire prisoners') LIMIT 20",
    "common pair": "SELECT * FROM search_articles('w1 w2') LIMIT 20",
    "rare, match_all": "SELECT * FROM search_articles('ceasefire prisoner', match_all := true) LIMIT 20",
}

ANALYST_VIEWS = {
    "first_reported (1 story)": "SELECT * FROM first_reported WHERE story_id = '{story}'",
    "developments_named": "SELECT * FROM developments_named WHERE topic = 'talks' AND day > DATE '2025-12-31' - 14",
    "disputed_quantities (newest 100)": "SELECT * FROM disputed_quantities ORDER BY first_stated DESC LIMIT 100",
    # as the report asks: the figures and the changes of the stories it shows
    "disputed_quantities (20 stories)": "SELECT * FROM disputed_quantities WHERE story_id IN (SELECT unnest({disputed}))",
    "article_changes (newest 50)": "SELECT * FROM article_changes ORDER BY changed_at DESC LIMIT 50",
    "article_changes (20 stories)": "SELECT * FROM article_changes WHERE story_id IN (SELECT unnest({revised}))",
}
# The stories the report would show: the newest 20 with a dispute, and with a change.
REPORT_STORIES = {
    "disputed": "SELECT story_id FROM developments JOIN articles USING (article_id) "
    "WHERE quantity IS NOT NULL AND quantity <> 1000 GROUP BY story_id ORDER BY max(published_at) DESC LIMIT 20",
    "revised": "SELECT story_id FROM article_revisions JOIN articles USING (article_id) "
    "GROUP BY story_id ORDER BY max(published_at) DESC LIMIT 20",
}


def generate(con, articles: int, mentions_per_article: int, hex_ids: bool = False) -> None:
    """Fill the warehouse with synthetic rows, entirely in SQL.

    Ids are sequential ('a0000000042') unless `hex_ids`: then 16 hex digits of a hash, like
    the ids newsmon stores. Sequential ids sort in time order, so DuckDB can skip row groups
    by id range (in joins and in the loader's refresh), which real ids never allow.
    """

    def aid(x: str) -> str:
        return f"left(md5('a' || ({x})), 16)" if hex_ids else f"printf('a%010d', {x})"

    def eid(x: str) -> str:
        return f"left(md5('e' || ({x})), 16)" if hex_ids else f"printf('e%06d', {x})"

    con.execute("SELECT setseed(0.42)")
    con.execute(
        f"""
        INSERT INTO articles (article_id, feed_id, url, canonical_url, title, text, published_at,
                              fetched_at, text_source, duplicate_of, story_id, site_name, run_id,
                              storyline_id)
        SELECT {aid("i")}, printf('feed%03d', i % 200), printf('https://o%03d.example/%d', i % 200, i),
               printf('https://o%03d.example/%d', i % 200, i), printf('Title %d', i), NULL,
               TIMESTAMP '2025-01-01' + to_seconds(CAST(i AS DOUBLE) / {articles} * 365 * 86400),
               TIMESTAMP '2025-01-01' + to_seconds(CAST(i AS DOUBLE) / {articles} * 365 * 86400),
               'page',
               CASE WHEN i % 10 = 9 THEN {aid("i - 1")} END,
               {aid("i - i % 4")},
               printf('Outlet %d', i % 200),
               printf('run%03d', i * 365 // {articles}),
               {aid(STORYLINE_OF.format(j="i // 4"))}
        FROM range({articles}) AS t(i)
        """
    )
    con.execute(
        """
        INSERT INTO stories (story_id, title, first_seen_at, last_seen_at, article_count, outlet_count,
                             storyline_id)
        SELECT story_id, min(title), min(published_at), max(published_at), count(*), count(DISTINCT feed_id),
               any_value(storyline_id)
        FROM articles GROUP BY story_id
        """
    )
    con.execute(
        """
        INSERT INTO storylines (storyline_id, title, first_seen_at, last_seen_at, event_count,
                                article_count, outlet_count)
        SELECT storyline_id, min(title), min(published_at), max(published_at), count(DISTINCT story_id),
               count(*), count(DISTINCT feed_id)
        FROM articles GROUP BY storyline_id
        """
    )
    # One run a day, every one evaluated by the alert rules already: only a new cycle is pending.
    con.execute(
        """
        INSERT INTO runs (run_id, started_at, finished_at, status, feeds_polled, feeds_ok, articles_new)
        SELECT run_id, min(fetched_at), max(fetched_at), 'completed', 200, 200, count(*)
        FROM articles GROUP BY run_id
        """
    )
    con.execute("INSERT INTO alert_runs SELECT run_id, finished_at FROM runs")
    con.execute(
        "INSERT INTO entities (entity_id, name, kind, source, role, first_seen_at) "
        f"SELECT {eid('i')}, printf('Entity %d', i), "
        "['person','organisation','country','place'][1 + i % 4], 'ner', NULL, TIMESTAMP '2025-01-01' "
        "FROM range(50000) AS t(i)"
    )
    # Zipf-like entity popularity: a few entities are in many articles.
    con.execute(
        f"""
        INSERT INTO mentions
        SELECT DISTINCT ON (article_id, entity_id) article_id, entity_id, 1 + (h % 3), (h % 2000)::INTEGER
        FROM (
            SELECT {aid(f"i // {mentions_per_article}")} AS article_id,
                   {eid("CAST(floor(pow(random(), 3) * 50000) AS INTEGER)")} AS entity_id,
                   hash(i) AS h
            FROM range({articles * mentions_per_article}) AS t(i)
        )
        """
    )
    con.execute(
        "INSERT INTO article_topics SELECT article_id, 'talks', 4 FROM articles WHERE hash(article_id) % 10 < 3"
    )
    # Developments in 30 % of the articles, one or two each, on the article's day, their actors
    # the article's first two entities. Kinds and stances are those the alert rules name;
    # ceasefires and talks are the commonest, as in a topic about talks.
    con.execute(
        f"""
        INSERT INTO developments (development_id, article_id, kind, stance, actor_ids, occurred_on,
                                  sentence, start_offset, end_offset, confidence, trigger)
        WITH dev AS (
            SELECT article_id, CAST(published_at AS DATE) AS day, n, CAST(hash(article_id || '#' || n) % 1000000 AS BIGINT) AS h
            FROM articles, range(2) AS r(n)
            WHERE hash(article_id || 'd') % 10 < 3 AND (n = 0 OR hash(article_id || 'd') % 2 = 0)
        ),
        actors AS (
            SELECT article_id, list(entity_id ORDER BY first_offset, entity_id)[1:2] AS actor_ids
            FROM mentions WHERE article_id IN (SELECT article_id FROM dev) GROUP BY article_id
        )
        SELECT left(md5(article_id || '#' || n), 16), article_id,
               {DEVELOPMENT_KINDS}[1 + h % {len(DEVELOPMENT_KINDS)}],
               {DEVELOPMENT_STANCES}[1 + (h // 100) % {len(DEVELOPMENT_STANCES)}],
               actor_ids, day, printf('Sentence %d of article %s.', n, article_id),
               100 * n, 100 * n + 60, 0.5 + (h // 10000) % 50 / 100, 'trigger'
        FROM dev LEFT JOIN actors USING (article_id)
        """
    )
    name_actors(con)  # as the loader stores them
    con.execute(
        "INSERT INTO feeds (feed_id, url, name) SELECT printf('feed%03d', i), printf('https://o%03d.example/rss', i), "
        "printf('Feed %d', i) FROM range(200) AS t(i)"
    )
    con.execute(
        "INSERT INTO feed_polls (run_id, feed_id, polled_at, status, entries, new_entries, elapsed_ms) "
        "SELECT printf('r%d', r), printf('feed%03d', f), TIMESTAMP '2025-12-01' + INTERVAL (r) MINUTE, "
        "CASE WHEN (r + f) % 17 = 0 THEN 'error' ELSE 'ok' END, 20, 2, 120 FROM range(500) a(r), range(200) b(f)"
    )
    # The search index as the loader would have built it from ~300-word texts: about 150
    # distinct terms an article, Zipf-like, in term order as the backfill writes it.
    con.execute(
        f"""
        INSERT INTO article_terms
        SELECT article_id, term, count(*) AS tf FROM (
            SELECT {aid(f"i // {SEARCH_TERMS}")} AS article_id,
                   'w' || CAST(floor(pow(random(), 2.5) * 50000) AS INTEGER) AS term
            FROM range({articles * SEARCH_TERMS}) AS t(i)
            UNION ALL
            SELECT article_id, 'ceasefire' FROM articles WHERE hash(article_id) % 50 = 0
            UNION ALL
            SELECT article_id, 'prisoner' FROM articles WHERE hash(article_id || 'p') % 100 = 7
        )
        GROUP BY ALL
        ORDER BY term
        """
    )
    con.execute(
        "INSERT INTO search_documents SELECT article_id, sum(tf) FROM article_terms GROUP BY ALL"
    )
    # The rows above bypass the loader, so the trend tables are derived here with the
    # loader's own refresh, for every story at once.
    warehouse.rebuild_trends(con)
    con.execute("CHECKPOINT")


def generate_disputes_and_revisions(con, revised: int) -> None:
    """Quantities and in-place updates, on a warehouse `generate` filled (issue 21's views).

    Every prisoner exchange states a number of prisoners: 1,000 mostly, and in one story in
    three a different figure at one outlet in two (390, 307, 1,200), so that some stories are
    disputed. `revised` articles spread over the year (1 % of them by default), each given a text of 40 sentences, were
    updated in place once: the replaced version (in `article_revisions`) had another headline,
    4 sentences the update removed and the developments the article had then, less one.
    """
    con.execute(
        """
        UPDATE developments AS d SET unit = 'prisoners', quantity = CASE
            WHEN hash(a.story_id) % 3 = 0 AND hash(d.article_id) % 2 = 0
                THEN [390, 307, 1200][CAST(1 + hash(d.article_id || 'q') % 3 AS BIGINT)]
            ELSE 1000 END
        FROM articles AS a
        WHERE a.article_id = d.article_id AND d.kind = 'prisoner_exchange'
        """
    )
    step = max(1, con.execute("SELECT count(*) FROM articles").fetchone()[0] // revised)
    con.execute(
        """
        CREATE TEMP TABLE bench_revised AS
        SELECT article_id, title, row_number() OVER (ORDER BY article_id) AS k
        FROM (SELECT article_id, title, row_number() OVER (ORDER BY published_at, article_id) AS i
              FROM articles)
        WHERE i % ? = 0
        """,
        [step],
    )
    sentences = "list_transform(range(40), lambda s: printf('Sentence %d of %d says w%d.', s, k, s * k % 997))"
    con.execute(
        f"""
        INSERT INTO article_revisions (article_id, revision, title, summary, url, text,
                                       text_source, replaced_at, developments)
        SELECT r.article_id, 1, 'First edition: ' || r.title, NULL, a.url,
               array_to_string(list_filter({sentences}, lambda s, n: n % 10 <> 3) || [
                   'An earlier sentence one.', 'An earlier sentence two.',
                   'An earlier sentence three.', 'An earlier sentence four.'], ' '),
               'page', a.fetched_at + INTERVAL 2 HOUR,
               coalesce((SELECT list({{'kind': d.kind, 'stance': d.stance, 'sentence': d.sentence}}
                                    ORDER BY d.start_offset)[2:]
                         FROM developments AS d WHERE d.article_id = r.article_id), [])
        FROM bench_revised AS r JOIN articles AS a USING (article_id)
        """
    )
    con.execute(
        f"""
        UPDATE articles AS a SET revision = 2, updated_at = a.fetched_at + INTERVAL 2 HOUR,
            text = array_to_string({sentences}, ' ')
        FROM bench_revised AS r WHERE a.article_id = r.article_id
        """
    )
    con.execute("DROP TABLE bench_revised")
    # the diff the loader stores with each replaced version (migration 0017's macros)
    con.execute(
        """
        UPDATE article_revisions AS r SET
            sentences_added = sentences_not_in(article_sentences(a.text), article_sentences(r.text)),
            sentences_removed = sentences_not_in(article_sentences(r.text), article_sentences(a.text))
        FROM articles AS a WHERE a.article_id = r.article_id
        """
    )
    con.execute("CHECKPOINT")


SEARCH_TERMS = 150  # term draws an article (about 150 distinct)
# Storylines of about 20 stories over a month: of each 20,000 consecutive stories (j), those
# equal modulo 1,000 share a storyline, whose id is its first story's (an article id).
STORYLINE_OF = "4 * (({j}) // 20000 * 20000 + ({j}) % 1000)"
DEVELOPMENT_KINDS = [
    "talks", "talks", "ceasefire", "ceasefire", "prisoner_exchange", "attack", "sanctions", "aid",
    "statement", "threat",
]  # fmt: skip
DEVELOPMENT_STANCES = ["occurred", "agreed", "rejected", "proposed", "proposed", "called_for"]


def index_cost(con, articles: int = 300, words: int = 300, runs: int = 5) -> float:
    """Median ms the loader spends indexing a cycle's new articles for full-text search.

    `articles` new articles of `words` words each are stored and indexed in a transaction
    that is rolled back, so the warehouse is left as it was; only the indexing is timed.
    """
    rng = random.Random(5)
    vocabulary = [f"w{i}" for i in range(50_000)]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    rows = [
        (
            f"bench-new-{i}",
            "feed000",
            f"Title {i}",
            " ".join(rng.choices(vocabulary, weights, k=words)),
        )
        for i in range(articles)
    ]
    times = []
    for _ in range(runs):
        con.execute("BEGIN TRANSACTION")
        con.executemany(
            "INSERT INTO articles (article_id, feed_id, title, text, fetched_at, text_source) "
            "VALUES (?, ?, ?, ?, TIMESTAMP '2026-01-01', 'page')",
            rows,
        )
        t = time.perf_counter()
        search.index_articles(con, [r[0] for r in rows])
        times.append(time.perf_counter() - t)
        con.execute("ROLLBACK")
    return round(statistics.median(times) * 1000, 1)


def timed(con, queries: dict[str, str]) -> dict[str, dict]:
    """Median ms and rows of each query over 5 runs after one warm-up."""
    timings = {}
    for name, sql in queries.items():
        con.execute(sql).fetchall()  # warm-up
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            rows = con.execute(sql).fetchall()
            runs.append(time.perf_counter() - t)
        timings[name] = {"median_ms": round(statistics.median(runs) * 1000, 1), "rows": len(rows)}
    return timings


def refresh_cost(con, articles: int = 300, runs: int = 5) -> float:
    """Median ms the loader spends recomputing the trend rows of a cycle's stories.

    The stories of the newest `articles` articles stand for a cycle's; each run is rolled
    back, so the warehouse is left as it was.
    """
    stories = {
        s
        for (s,) in con.execute(
            "SELECT DISTINCT story_id FROM (SELECT coalesce(story_id, duplicate_of, article_id) "
            "AS story_id FROM articles ORDER BY coalesce(published_at, fetched_at) DESC LIMIT ?)",
            [articles],
        ).fetchall()
    }
    times = []
    for _ in range(runs):
        con.execute("BEGIN TRANSACTION")
        t = time.perf_counter()
        warehouse.refresh_trends(con, stories)
        times.append(time.perf_counter() - t)
        con.execute("ROLLBACK")
    return round(statistics.median(times) * 1000, 1)


# The README's example rule set (every `when`), on the synthetic topic. Evaluation only
# stores alerts; nothing is delivered (the targets are closed local ports anyway).
ALERT_RULES = [
    {
        "id": "istanbul-turns",
        "when": "development",
        "topic": "talks",
        "kinds": ["ceasefire", "prisoner_exchange"],
        "stances": ["agreed", "rejected", "occurred"],
        "window": "1d",
        "group_by": "storyline",
        "min_outlets": 1,
        "targets": [
            "json://127.0.0.1:9/x",
            "mailtos://user:password@localhost:9?to=desk@example.org",
        ],
    },
    {
        "id": "ceasefire-turns",
        "when": "stance_change",
        "topic": "talks",
        "kinds": ["ceasefire"],
        "from": ["proposed"],
        "to": ["rejected"],
        "targets": ["json://127.0.0.1:9/x"],
    },
    {
        "id": "new-storylines",
        "when": "storyline",
        "topic": "talks",
        "min_outlets": 2,
        "targets": ["json://127.0.0.1:9/x"],
    },
    {
        "id": "new-people",
        "when": "entity",
        "topic": "talks",
        "entity_kinds": ["person"],
        "targets": ["json://127.0.0.1:9/x"],
    },
    {"id": "feeds-disabled", "when": "feed_disabled", "targets": ["json://127.0.0.1:9/x"]},
    {"id": "cycles-failed", "when": "cycle_failed", "targets": ["json://127.0.0.1:9/x"]},
]


class _Nested:
    """The connection, with evaluate's BEGIN/COMMIT/ROLLBACK made no-ops: DuckDB nests no
    transactions, and the bench's own transaction (rolled back) must hold the whole cycle."""

    def __init__(self, con):
        self._con = con

    def execute(self, sql, *args):
        if sql.strip().upper() in ("BEGIN TRANSACTION", "COMMIT", "ROLLBACK"):
            return self._con
        return self._con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


def _store_cycle(con, run_id: str, started: datetime, size: int) -> None:
    """Store a cycle as the loader would: `size` new articles (copies of the newest, a day
    later, with new ids) with their topics, mentions and developments; half of their stories
    new, a quarter of those in new storylines; 20 new people named; one feed disabled."""
    p = f"{run_id}-"
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE bench_cycle AS
        SELECT article_id AS src, ? || article_id AS article_id, story_id, storyline_id,
               row_number() OVER (ORDER BY article_id) - 1 AS j,
               hash(story_id) % 2 = 1 AS new_story,
               hash(story_id) % 2 = 1 AND hash(storyline_id) % 4 = 0 AS new_storyline
        FROM articles WHERE run_id IS NOT NULL
        ORDER BY coalesce(published_at, fetched_at) DESC, article_id LIMIT ?
        """,
        [p, size],
    )
    con.execute(
        "INSERT INTO runs (run_id, started_at, finished_at, status, feeds_polled, feeds_ok, "
        "feeds_failed, articles_new) VALUES (?, ?, ?, 'completed', 200, 199, 1, ?)",
        [run_id, started, started + timedelta(minutes=5), size],
    )
    con.execute(
        "INSERT INTO feed_polls (run_id, feed_id, polled_at, status, error, entries, new_entries) "
        "SELECT ?, feed_id, ?, CASE WHEN feed_id = 'feed007' THEN 'error' ELSE 'ok' END, "
        "CASE WHEN feed_id = 'feed007' THEN 'HTTP 410' END, 20, 5 FROM feeds",
        [run_id, started],
    )
    con.execute(
        "UPDATE feeds SET disabled_at = ?, disabled_reason = 'HTTP 410 (gone)' "
        "WHERE feed_id = 'feed007'",
        [started],
    )
    con.execute(
        """
        INSERT INTO articles (article_id, feed_id, url, canonical_url, title, text, published_at,
                              fetched_at, text_source, duplicate_of, story_id, storyline_id,
                              site_name, run_id)
        SELECT c.article_id, a.feed_id, a.url || '/' || $1, a.canonical_url || '/' || $1, a.title,
               a.text, a.published_at + INTERVAL 1 DAY, a.fetched_at + INTERVAL 1 DAY,
               a.text_source, a.duplicate_of,
               CASE WHEN c.new_story THEN $1 || c.story_id ELSE c.story_id END,
               CASE WHEN c.new_storyline THEN $1 || c.storyline_id ELSE c.storyline_id END,
               a.site_name, $2
        FROM bench_cycle AS c JOIN articles AS a ON a.article_id = c.src
        """,
        [p, run_id],
    )
    con.execute(
        """
        INSERT INTO stories (story_id, title, first_seen_at, last_seen_at, article_count,
                             outlet_count, storyline_id)
        SELECT story_id, min(title), min(published_at), max(published_at), count(*),
               count(DISTINCT feed_id), any_value(storyline_id)
        FROM articles WHERE run_id = ? AND starts_with(story_id, ?) GROUP BY story_id
        """,
        [run_id, p],
    )
    con.execute(
        """
        INSERT INTO storylines (storyline_id, title, first_seen_at, last_seen_at, event_count,
                                article_count, outlet_count)
        SELECT storyline_id, min(title), min(published_at), max(published_at),
               count(DISTINCT story_id), count(*), count(DISTINCT feed_id)
        FROM articles WHERE run_id = ? AND starts_with(storyline_id, ?) GROUP BY storyline_id
        """,
        [run_id, p],
    )
    con.execute(
        "INSERT INTO article_topics SELECT c.article_id, t.topic, t.score "
        "FROM bench_cycle AS c JOIN article_topics AS t ON t.article_id = c.src"
    )
    con.execute(
        "INSERT INTO mentions SELECT c.article_id, m.entity_id, m.count, m.first_offset "
        "FROM bench_cycle AS c JOIN mentions AS m ON m.article_id = c.src"
    )
    con.execute(
        "INSERT INTO entities (entity_id, name, kind, source, first_seen_at) "
        "SELECT $1 || 'e' || k, printf('New Person %d', k), 'person', 'ner', $2 FROM range(20) t(k)",
        [p, started],
    )
    con.execute(
        "INSERT INTO mentions SELECT c.article_id, ? || 'e' || (c.j % 50), 1, 0 "
        "FROM bench_cycle AS c WHERE c.j % 50 < 20",
        [p],
    )
    con.execute(
        """
        INSERT INTO developments (development_id, article_id, kind, stance, actor_ids,
                                  actor_names, recipient_names, occurred_on, sentence,
                                  start_offset, end_offset, confidence, trigger)
        SELECT ? || d.development_id, c.article_id, d.kind, d.stance, d.actor_ids,
               d.actor_names, d.recipient_names,
               d.occurred_on + 1, d.sentence, d.start_offset, d.end_offset, d.confidence,
               d.trigger
        FROM bench_cycle AS c JOIN developments AS d ON d.article_id = c.src
        """,
        [p],
    )
    con.execute("DROP TABLE bench_cycle")


def alert_cost(con, runs: int = 5, size: int = 1000, budget_s: float = 60) -> dict:
    """Median ms of the alert evaluation of a cycle of `size` new articles.

    Each run stores a cycle (`_store_cycle`) and evaluates the README's rules on it, in a
    transaction that is rolled back, so the warehouse is left as it was. Only
    `evaluate.evaluate` is timed (its own COMMIT, of a few dozen alert rows, is not: it
    runs inside the bench's transaction). Nothing may be delivered: Apprise's notify
    raises if called. No run starts once `budget_s` are spent (at least one runs).
    """
    from newsmon.alerts import Alerts, evaluate

    config = Alerts(rules=ALERT_RULES)
    latest = con.execute("SELECT max(started_at) FROM runs").fetchone()[0]
    times, fired = [], []
    for k in range(runs):
        if sum(times) > budget_s:
            break
        run_id = f"bench-cycle-{k}"
        started = latest + timedelta(days=1)
        con.execute("BEGIN TRANSACTION")
        try:
            _store_cycle(con, run_id, started, size)
            pending = con.execute(f"SELECT count(*) FROM ({store.PENDING_RUNS})").fetchone()[0]
            assert pending == 1, f"{pending} runs pending, expected only the new cycle"
            with mock.patch("apprise.Apprise.notify", side_effect=AssertionError("delivered")):
                t = time.perf_counter()
                alerts = evaluate.evaluate(_Nested(con), config, started + timedelta(minutes=6))
                times.append(time.perf_counter() - t)
            sent = con.execute(
                "SELECT count(*) FROM alerts WHERE delivered_at IS NOT NULL OR attempts > 0"
            ).fetchone()[0]
            assert sent == 0, f"evaluation delivered {sent} messages"
            rows = con.execute("SELECT count(*) FROM alerts").fetchone()[0]
            fired.append((Counter(a.rule_when for a in alerts), rows))
        finally:
            con.execute("ROLLBACK")
    whens, rows = fired[-1]
    return {
        "median_ms": round(statistics.median(times) * 1000, 1),
        "runs_ms": [round(t * 1000, 1) for t in times],
        "cycle_articles": size,
        "fired": sum(whens.values()),
        "fired_by_when": {w: whens.get(w, 0) for w in evaluate._EVALUATORS},
        "alert_rows": rows,
    }


def cycle_share(alert_ms: float, size: int = 1000) -> dict | None:
    """The alert evaluation's share of a cycle of `size` articles, the cycle's cost taken from
    the latest bench_pipeline result: wall time of the full poll_feeds flow per article
    stored (2 worker processes; 1 thread beside it), times `size`."""
    files = sorted((ROOT / "bench" / "results").glob("pipeline*.json"), key=os.path.getmtime)
    if not files:
        return None
    data = json.loads(files[-1].read_text())
    out = {"file": files[-1].name, "run_at": data.get("run_at"), "pages": data.get("pages")}
    for kind in ("processes", "threads"):
        flow = data["flows"][kind]
        per_article = flow["seconds"] / flow["articles_new"] * 1000
        out[kind] = {
            "ms_per_article": round(per_article, 1),
            "cycle_ms": round(per_article * size),
            "alert_share_pct": round(alert_ms / (per_article * size) * 100, 3),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--mentions-per-article", type=int, default=10)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument(
        "--hex-ids", action="store_true", help="ids of 16 hex digits, as stored (not sequential)"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the warehouse in this file; a file that exists already is reused as it is",
    )
    args = parser.parse_args()
    if args.smoke:
        args.articles = 20_000
    with tempfile.TemporaryDirectory() as tmp:
        db = args.keep or Path(tmp) / "views.duckdb"
        started = time.perf_counter()
        with warehouse.connect(db) as con:
            reused = con.execute("SELECT count(*) FROM articles").fetchone()[0] > 0
            if not reused:
                generate(con, args.articles, args.mentions_per_article, args.hex_ids)
            if not con.execute("SELECT count(*) FROM article_revisions").fetchone()[0]:
                # also on a warehouse kept before they were generated
                generate_disputes_and_revisions(con, max(1000, args.articles // 100))
            counts = {
                t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("articles", "mentions", "stories", "article_terms", "article_revisions")
            }
            counts["quantities"] = con.execute(
                "SELECT count(*) FROM developments WHERE quantity IS NOT NULL"
            ).fetchone()[0]
            ready_s = time.perf_counter() - started  # the costs timed below take long
            refresh_ms = refresh_cost(con)
            index_ms = index_cost(con)
            alerting = alert_cost(con)
        how = "reused" if reused else "generated"
        print(f"{how} {counts} in {ready_s:.0f} s")
        with warehouse.connect(db, read_only=True) as con:
            timings = timed(con, QUERIES)
            searches = timed(con, SEARCHES)
            story = con.execute("SELECT max(story_id) FROM stories").fetchall()[0][0]
            shown = {
                k: "[" + ", ".join(f"'{s}'" for (s,) in con.execute(sql).fetchall()) + "]"
                for k, sql in REPORT_STORIES.items()
            }
            analyst = timed(
                con, {k: v.format(story=story, **shown) for k, v in ANALYST_VIEWS.items()}
            )
    print(f"\n{'view':18} {'median ms':>10} {'rows':>6}")
    for name, t in timings.items():
        print(f"{name:18} {t['median_ms']:10.1f} {t['rows']:6}")
    worst = max(t["median_ms"] for t in timings.values())
    print(
        f"goal every view <= 300 ms: {'PASS' if worst <= 300 else 'FAIL'} (slowest {worst:.0f} ms)"
    )
    print(f"loader's trend refresh for the stories of a 300-article cycle: {refresh_ms:.0f} ms")
    print(f"\n{'search_articles':26} {'median ms':>10} {'rows':>6}")
    for name, t in searches.items():
        print(f"{name:26} {t['median_ms']:10.1f} {t['rows']:6}")
    slowest = max(t["median_ms"] for t in searches.values())
    print(
        f"goal search <= 1000 ms: {'PASS' if slowest <= 1000 else 'FAIL'} (slowest {slowest:.0f} ms)"
    )
    print(f"loader's search indexing of a 300-article cycle (300 words each): {index_ms:.0f} ms")
    print(f"\n{'analyst view':34} {'median ms':>10} {'rows':>6}")
    for name, t in analyst.items():
        print(f"{name:34} {t['median_ms']:10.1f} {t['rows']:6}")
    worst = max(analyst, key=lambda k: analyst[k]["median_ms"])
    print(
        f"goal every analyst view <= 300 ms: "
        f"{'PASS' if analyst[worst]['median_ms'] <= 300 else 'FAIL'} "
        f"(slowest {worst}, {analyst[worst]['median_ms']:.0f} ms)"
    )
    n = counts["articles"]
    print(
        f"\nalert evaluation of a {alerting['cycle_articles']:,}-article cycle at {n:,} stored: "
        f"{alerting['median_ms']:.0f} ms (median of {len(alerting['runs_ms'])}: "
        f"{', '.join(f'{t:.0f}' for t in alerting['runs_ms'])})"
    )
    print(
        f"  fired {alerting['fired']} alerts ("
        + ", ".join(f"{w} {c}" for w, c in alerting["fired_by_when"].items())
        + f"), {alerting['alert_rows']} rows (one per target), none delivered"
    )
    share = cycle_share(alerting["median_ms"], alerting["cycle_articles"])
    alerting["cycle"] = share
    if share is None:
        print("  no bench_pipeline result (bench/results/pipeline*.json): no cycle to compare with")
    else:
        proc, thr = share["processes"], share["threads"]
        print(
            f"  cycle per bench_pipeline ({share['file']}, {share['pages']} pages, "
            f"{share['run_at']}): full flow {proc['ms_per_article']:.0f} ms/article "
            f"(processes x2; threads {thr['ms_per_article']:.0f}), "
            f"{alerting['cycle_articles']:,} articles {proc['cycle_ms'] / 1000:.0f} s"
        )
        print(
            f"  alert evaluation's share of the cycle: {proc['alert_share_pct']:.2f} % "
            f"(threads {thr['alert_share_pct']:.2f} %); goal <= 5 %: "
            f"{'PASS' if proc['alert_share_pct'] <= 5 else 'FAIL'}"
        )
    out = ROOT / "bench" / "results" / ("views-smoke.json" if args.smoke else "views.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "counts": counts,
                "timings": timings,
                "trend_refresh_ms": refresh_ms,
                "search": searches,
                "search_index_ms": index_ms,
                "analyst_views": analyst,
                "alert_evaluation": alerting,
                "machine": {
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                    "python": sys.version.split()[0],
                },
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
