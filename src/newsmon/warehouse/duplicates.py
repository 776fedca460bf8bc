"""The deduplication stage's look-ups: stored keys, texts and near-duplicate candidates."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from newsmon.dedup import Known, NearCandidate, Prepared
from newsmon.warehouse.db import _arrow

log = logging.getLogger(__name__)

_KEYS_SCHEMA = pa.schema(
    [("article_id", pa.string()), ("guid", pa.string()), ("canonical_url", pa.string())]
)


def known_keys(con: duckdb.DuckDBPyConnection, entries: Sequence[object]) -> Known:
    """Which of these entries' ids, GUIDs and canonical URLs are already stored."""
    known = Known()
    if not entries:
        return known
    con.register("batch_keys", _arrow(entries, _KEYS_SCHEMA))
    try:
        for column, bucket in (
            ("article_id", known.article_ids),
            ("guid", known.guids),
            ("canonical_url", known.canonical_urls),
        ):
            rows = con.execute(
                f"SELECT DISTINCT a.{column} FROM articles AS a "
                f"JOIN batch_keys AS b ON a.{column} = b.{column}"
            ).fetchall()
            bucket.update(row[0] for row in rows)
        known.entry_hashes = dict(
            con.execute(
                "SELECT a.article_id, a.entry_hash FROM articles AS a "
                "JOIN batch_keys AS b USING (article_id) WHERE a.entry_hash IS NOT NULL"
            ).fetchall()
        )
    finally:
        con.unregister("batch_keys")
    return known


def near_candidates(
    con: duckdb.DuckDBPyConnection,
    prepared: dict[str, Prepared],
    published: dict[str, datetime | None],
    window: timedelta,
) -> tuple[dict[str, NearCandidate], set[tuple[str, str]]]:
    """Stored canonical articles sharing an LSH band or URL id with a new article, within the window.

    Returns the candidates by id and the (new id, stored id) pairs; a stored duplicate
    stands for its canonical article.
    """
    if not prepared:
        return {}, set()
    bands = [(i, b, k) for i, p in prepared.items() for b, k in enumerate(p.bands)]
    urls = [(i, p.url_key) for i, p in prepared.items() if p.url_key]
    con.register(
        "batch_bands",
        pa.table(
            {
                "new_id": [r[0] for r in bands],
                "band": pa.array([r[1] for r in bands], pa.int16()),
                "key": pa.array([r[2] for r in bands], pa.int64()),
            }
        ),
    )
    con.register(
        "batch_urls", pa.table({"new_id": [u[0] for u in urls], "url_key": [u[1] for u in urls]})
    )
    con.register(
        "batch_times",
        pa.table(
            {
                "new_id": list(published),
                "published": pa.array(list(published.values()), pa.timestamp("us")),
            }
        ),
    )
    try:
        pairs = con.execute(
            """
            WITH hits AS (
                SELECT b.new_id, l.article_id AS stored_id
                FROM batch_bands AS b JOIN article_lsh AS l ON l.band = b.band AND l.key = b.key
                UNION
                SELECT u.new_id, a.article_id
                FROM batch_urls AS u JOIN articles AS a ON a.url_key = u.url_key
            )
            SELECT DISTINCT h.new_id, coalesce(a.duplicate_of, a.article_id) AS stored_id
            FROM hits AS h
            JOIN articles AS a ON a.article_id = h.stored_id
            JOIN batch_times AS t ON t.new_id = h.new_id
            WHERE t.published IS NULL OR coalesce(a.published_at, a.fetched_at)
                  BETWEEN t.published - ? AND t.published + ?
            """,
            [window, window],
        ).fetchall()
        ids = sorted({p[1] for p in pairs})
        con.register("candidate_ids", pa.table({"article_id": ids}))
        rows = con.execute(
            "SELECT a.article_id, coalesce(a.published_at, a.fetched_at), a.text, a.url_key "
            "FROM articles AS a JOIN candidate_ids USING (article_id)"
        ).fetchall()
    finally:
        for name in ("batch_bands", "batch_urls", "batch_times", "candidate_ids"):
            with suppress(duckdb.Error):
                con.unregister(name)
    return {r[0]: NearCandidate(*r) for r in rows}, set(pairs)


def known_hashes(con: duckdb.DuckDBPyConnection, hashes: Sequence[str]) -> dict[str, str]:
    """content_hash -> article_id of the canonical stored article, for hashes already stored."""
    hashes = sorted({h for h in hashes if h})
    if not hashes:
        return {}
    con.register("batch_hashes", pa.table({"content_hash": hashes}))
    try:
        rows = con.execute(
            "SELECT a.content_hash, min(a.article_id) FROM articles AS a "
            "JOIN batch_hashes USING (content_hash) WHERE a.duplicate_of IS NULL GROUP BY ALL"
        ).fetchall()
    finally:
        con.unregister("batch_hashes")
    return dict(rows)
