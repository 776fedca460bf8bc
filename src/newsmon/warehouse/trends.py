"""The trend tables: recomputing the rows of the stories a change touches, and ordering them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache

import duckdb
import pyarrow as pa

from newsmon.warehouse.db import sql_dir

log = logging.getLogger(__name__)


def _relinked_articles(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> set[str]:
    """These articles and the stored duplicates that point at them (a relink moves both)."""
    if not article_ids:
        return set()
    con.register("probe_relinks", pa.table({"article_id": list(article_ids)}))
    try:
        rows = con.execute(
            "SELECT a.article_id FROM articles AS a WHERE a.article_id IN "
            "(SELECT article_id FROM probe_relinks) OR a.duplicate_of IN "
            "(SELECT article_id FROM probe_relinks)"
        ).fetchall()
    finally:
        con.unregister("probe_relinks")
    return {r[0] for r in rows}


def _stories_of_articles(con: duckdb.DuckDBPyConnection, article_ids: set[str]) -> set[str]:
    """The stories of these stored articles as the views see them (story, else canonical, else self)."""
    if not article_ids:
        return set()
    con.register("probe_story_articles", pa.table({"article_id": sorted(article_ids)}))
    try:
        rows = con.execute(
            "SELECT DISTINCT coalesce(a.story_id, a.duplicate_of, a.article_id) FROM articles AS a "
            "WHERE a.article_id IN (SELECT article_id FROM probe_story_articles)"
        ).fetchall()
    finally:
        con.unregister("probe_story_articles")
    return {r[0] for r in rows}


def _stories_of_feeds(con: duckdb.DuckDBPyConnection, feed_ids: set[str]) -> set[str]:
    """The stories (as the views see them) holding an article of these feeds."""
    if not feed_ids:
        return set()
    rows = con.execute(
        "SELECT DISTINCT coalesce(story_id, duplicate_of, article_id) FROM articles "
        "WHERE feed_id IN (SELECT unnest(?))",
        [sorted(feed_ids)],
    ).fetchall()
    return {r[0] for r in rows}


TREND_TABLES = {
    # table: the column its rows are ordered by (the views filter on it)
    "trend_story_days": "day",
    "trend_entity_days": "day",
    "trend_story_outlets": "first_day",
}
_SCOPE_SCHEMA = pa.schema([("story_id", pa.string())])


def refresh_trends(con: duckdb.DuckDBPyConnection, story_ids: set[str]) -> None:
    """Recompute the trend tables' rows of these stories from their articles.

    Call it inside the transaction of any change to articles' story, duplicate link or
    dates, or to mentions, topics or entities, with every story the change touches (before
    and after). `load_cycle` and `store_entities` do. A story is
    coalesce(story_id, duplicate_of, article_id).
    """
    if not story_ids:
        return
    con.register("trend_scope", pa.table({"story_id": sorted(story_ids)}, schema=_SCOPE_SCHEMA))
    try:
        con.execute(_trend_refresh_sql())
    finally:
        con.unregister("trend_scope")


@cache
def _trend_refresh_sql() -> str:
    return (sql_dir() / "refresh" / "trend_tables.sql").read_text(encoding="utf-8")


def rebuild_trends(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute every story's trend rows, in one transaction (for data written in bulk)."""
    con.execute("BEGIN TRANSACTION")
    try:
        stories = con.execute(
            "SELECT DISTINCT coalesce(story_id, duplicate_of, article_id) FROM articles"
        ).fetchall()
        for table in TREND_TABLES:
            con.execute(f"DELETE FROM {table}")
        refresh_trends(con, {s for (s,) in stories})
        con.execute("COMMIT")
    except duckdb.Error:
        con.execute("ROLLBACK")
        raise


def cluster_trends(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite the trend tables in day order, in one transaction.

    Loads append the rows of the stories they touch, which are recent, so the tables stay
    in day order by themselves; a reprocess rewrites old stories in id order, after which
    the views' date filters could no longer skip row groups. About 20 s at a million
    articles and ten million mentions.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        for table, column in TREND_TABLES.items():
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE trend_sorted AS "
                f"SELECT * FROM {table} ORDER BY {column}, topic"
            )
            con.execute(f"DELETE FROM {table}")
            con.execute(f"INSERT INTO {table} SELECT * FROM trend_sorted")
            con.execute("DROP TABLE trend_sorted")
        con.execute("COMMIT")
    except duckdb.Error:
        con.execute("ROLLBACK")
        raise
