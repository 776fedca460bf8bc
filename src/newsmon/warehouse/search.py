"""Full-text search over articles: the term index the loader keeps, and BM25 queries on it.

The `fts` extension is not published for every DuckDB release the project meets (none for
duckdb 2.0.0), so the index is two plain tables (`article_terms`, `search_documents`, from
migration 0012) and the query is the table macro `search_articles` (views/40_search.sql):
any DuckDB client, the registry's 1.5 CLI included, can search the snapshot.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cache

import duckdb
import pyarrow as pa

from newsmon.warehouse.db import sql_dir

log = logging.getLogger(__name__)

_SCOPE_SCHEMA = pa.schema([("article_id", pa.string())])


def index_articles(con: duckdb.DuckDBPyConnection, article_ids: Iterable[str]) -> None:
    """Replace the search index rows of these stored articles (new or revised).

    Runs in the caller's transaction; `load_cycle` calls it for every new and updated article.
    """
    ids = sorted(set(article_ids))
    if not ids:
        return
    con.register("search_scope", pa.table({"article_id": ids}, schema=_SCOPE_SCHEMA))
    try:
        # Only revised articles have rows to replace: new ones skip a scan of every term row.
        indexed = con.execute(
            "SELECT count(*) FROM search_documents WHERE article_id IN "
            "(SELECT article_id FROM search_scope)"
        ).fetchall()[0][0]
        if indexed:
            for table in ("article_terms", "search_documents"):
                con.execute(
                    f"DELETE FROM {table} WHERE article_id IN (SELECT article_id FROM search_scope)"
                )
        con.execute(_refresh_sql())
    finally:
        con.unregister("search_scope")


def search(
    con: duckdb.DuckDBPyConnection, query: str, limit: int = 20, match_all: bool = False
) -> list[dict]:
    """The `limit` best articles for `query` by BM25 (0: all), as dicts of the columns of
    the table macro `search_articles`."""
    cursor = con.execute(
        "SELECT * FROM search_articles(?, match_all := ?, max_results := ?)",
        [query, match_all, limit],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def terms(con: duckdb.DuckDBPyConnection, text: str) -> list[str]:
    """The terms the index keeps of a text (the tokeniser `search_terms` of migration 0012)."""
    return con.execute("SELECT search_terms(?)", [text]).fetchall()[0][0]


@cache
def _refresh_sql() -> str:
    return (sql_dir() / "refresh" / "search_terms.sql").read_text(encoding="utf-8")
