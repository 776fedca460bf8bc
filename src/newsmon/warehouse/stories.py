"""The story stage's rows: article features, story centroids, candidates and `stories`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from newsmon.stories import FEATURES_VERSION, StoredStory, central_title

log = logging.getLogger(__name__)

_FEATURE_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("version", pa.int32()),
        ("terms", pa.list_(pa.string())),
        ("weights", pa.list_(pa.float64())),
    ]
)


def _store_features(con: duckdb.DuckDBPyConnection, rows: Sequence[tuple]) -> None:
    table = pa.Table.from_pylist(
        [dict(zip(_FEATURE_SCHEMA.names, row, strict=True)) for row in rows], schema=_FEATURE_SCHEMA
    )
    con.register("new_features", table)
    try:
        con.execute("INSERT OR REPLACE INTO article_features BY NAME SELECT * FROM new_features")
    finally:
        con.unregister("new_features")


def _refresh_stories(con: duckdb.DuckDBPyConnection, story_ids: set[str]) -> None:
    """Recompute the `stories` rows of these stories from their articles."""
    if not story_ids:
        return
    con.register("touched_stories", pa.table({"story_id": sorted(story_ids)}))
    try:
        con.execute(
            """
            INSERT OR REPLACE INTO stories
                (story_id, title, first_seen_at, last_seen_at, article_count, outlet_count,
                 storyline_id)
            SELECT
                a.story_id,
                arg_min(a.title, coalesce(a.published_at, a.fetched_at)) AS title,
                min(coalesce(a.published_at, a.fetched_at)) AS first_seen_at,
                max(coalesce(a.published_at, a.fetched_at)) AS last_seen_at,
                count(*) AS article_count,
                -- an outlet is the feed's publisher (feeds.outlet; the feed when unknown)
                count(DISTINCT coalesce(f.outlet, a.feed_id)) AS outlet_count,
                any_value(l.storyline_id) AS storyline_id
            FROM articles AS a JOIN touched_stories USING (story_id)
            LEFT JOIN feeds AS f ON f.feed_id = a.feed_id
            LEFT JOIN storyline_links AS l ON l.story_id = a.story_id
            GROUP BY a.story_id
            """
        )
        # The title: the most central headline of its members (stories.central_title),
        # never a newsletter or live-blog headline when a better one exists.
        members: dict[str, list[tuple[str | None, dict[str, float]]]] = {}
        for story_id, title, terms, weights in con.execute(
            """
            SELECT a.story_id, a.title, f.terms, f.weights
            FROM articles AS a JOIN touched_stories USING (story_id)
            LEFT JOIN article_features AS f USING (article_id)
            ORDER BY a.story_id, coalesce(a.published_at, a.fetched_at), a.article_id
            """
        ).fetchall():
            feats = dict(zip(terms, weights, strict=True)) if terms else {}
            members.setdefault(story_id, []).append((title, feats))
        titles = [(central_title(m), story_id) for story_id, m in members.items()]
        changed = [(title, story_id, title) for title, story_id in titles if title]
        if changed:  # none when the batch's articles were all stored already (executemany raises)
            con.executemany(
                "UPDATE stories SET title = ? WHERE story_id = ? AND title IS DISTINCT FROM ?",
                changed,
            )
    finally:
        con.unregister("touched_stories")


def story_warm_start(
    con: duckdb.DuckDBPyConnection, since: datetime, version: int
) -> list[tuple[str, str, datetime, int, list[str], list[float], str | None, str | None]]:
    """Stored canonical articles published since `since`, in published order: (article_id,
    story_id, published, features version, terms, weights, title, text); title and text only
    for features of another version than `version`, which must be computed again."""
    return con.execute(
        """
        SELECT a.article_id, coalesce(a.story_id, a.article_id),
               coalesce(a.published_at, a.fetched_at), f.version, f.terms, f.weights,
               CASE WHEN f.version <> $version THEN a.title END,
               CASE WHEN f.version <> $version THEN a.text END
        FROM article_features AS f JOIN articles AS a USING (article_id)
        WHERE a.duplicate_of IS NULL AND coalesce(a.published_at, a.fetched_at) >= $since
        ORDER BY 3, 1
        """,
        {"since": since, "version": version},
    ).fetchall()


def stale_open_stories(con: duckdb.DuckDBPyConnection, since: datetime, version: int) -> int:
    """Stories with an article since `since` but no stored centroid of features `version`
    (stored before centroids or seeds were kept), or with an article whose features are of
    another version (stored before the feature function changed)."""
    return con.execute(
        """
        SELECT count(DISTINCT coalesce(a.story_id, a.article_id))
        FROM article_features AS f JOIN articles AS a USING (article_id)
        WHERE a.duplicate_of IS NULL AND coalesce(a.published_at, a.fetched_at) >= $since
          AND (f.version <> $version OR coalesce(a.story_id, a.article_id) NOT IN (
              SELECT story_id FROM story_vectors
              WHERE version = $version AND seed_terms IS NOT NULL))
        """,
        {"since": since, "version": version},
    ).fetchall()[0][0]


def term_statistics(
    con: duckdb.DuckDBPyConnection, since: datetime, version: int, terms: Iterable[str]
) -> tuple[int, dict[str, int]]:
    """Canonical articles stored since `since`, and how many of them hold each of `terms`."""
    con.register("batch_terms", pa.table({"term": sorted(set(terms))}, schema=_TERM_SCHEMA))
    try:
        where = """
            FROM article_features AS f JOIN articles AS a USING (article_id)
            WHERE f.version = $version AND a.duplicate_of IS NULL
              AND coalesce(a.published_at, a.fetched_at) >= $since
        """
        params = {"since": since, "version": version}
        docs = con.execute(f"SELECT count(*) {where}", params).fetchall()[0][0]
        df = con.execute(
            f"""
            SELECT term, count(*)
            FROM (SELECT unnest(f.terms) AS term {where}) JOIN batch_terms USING (term)
            GROUP BY term
            """,
            params,
        ).fetchall()
    finally:
        con.unregister("batch_terms")
    return docs, dict(df)


def story_candidates(
    con: duckdb.DuckDBPyConnection,
    version: int,
    window: timedelta,
    articles: Sequence[tuple[str, datetime, dict[str, float], set[str]]],
    per_article: int,
    floor: float,
) -> dict[str, list[StoredStory]]:
    """Stored stories worth scoring for each article of a batch.

    `articles` are (article_id, published, unit vector, probe terms). As in
    `StoryIndex.best`, an article's candidates are the open stories its probe terms rank
    highest (at most `per_article`); of those, only the ones whose centroid is within
    cosine `floor` of the article are returned. Both steps run for the whole batch in two
    joins, so Python reads only the few stories that may win.
    """
    rows = [
        (article_id, published - window, term, value, term in probes)
        for article_id, published, vec, probes in articles
        for term, value in vec.items()
    ]
    if not rows:
        return {}
    columns = (list(col) for col in zip(*rows, strict=True))
    con.register(
        "batch_vectors",
        pa.table(
            dict(zip(_BATCH_VECTOR_SCHEMA.names, columns, strict=True)), schema=_BATCH_VECTOR_SCHEMA
        ),
    )
    try:
        pairs = con.execute(
            """
            WITH open_stories AS (
                SELECT * FROM story_vectors
                WHERE version = $version AND norm > 0 AND seed_terms IS NOT NULL
                  AND last_at >= (SELECT min(open_since) FROM batch_vectors)
            ),
            postings AS (  -- the index's postings: a story under its indexed terms
                SELECT story_id, last_at, norm,
                       unnest(terms[:indexed]) AS term, unnest(weights[:indexed]) AS weight
                FROM open_stories
            ),
            ranked AS (
                SELECT b.article_id, s.story_id, sum(b.value * s.weight) / any_value(s.norm) AS score
                FROM batch_vectors AS b JOIN postings AS s USING (term)
                WHERE b.probe AND s.last_at >= b.open_since
                GROUP BY b.article_id, s.story_id
                QUALIFY row_number() OVER (PARTITION BY article_id ORDER BY score DESC) <= $k
            )
            , centroids AS (
                SELECT story_id, norm, unnest(terms) AS term, unnest(weights) AS weight
                FROM open_stories SEMI JOIN ranked USING (story_id)
            )
            SELECT r.article_id, r.story_id
            FROM ranked AS r
            JOIN batch_vectors AS b USING (article_id)
            JOIN centroids AS s ON s.story_id = r.story_id AND s.term = b.term
            GROUP BY ALL
            HAVING sum(b.value * s.weight) / any_value(s.norm) >= $floor
            """,
            {"version": version, "k": per_article, "floor": floor},
        ).fetchall()
    finally:
        con.unregister("batch_vectors")
    if not pairs:
        return {}
    con.register("wanted_stories", pa.table({"story_id": sorted({s for _, s in pairs})}))
    try:
        stored = {
            row[0]: StoredStory(*row)
            for row in con.execute(
                "SELECT story_id, last_at, size, terms, weights, indexed, norm, "
                "seed_terms, seed_weights FROM story_vectors JOIN wanted_stories USING (story_id)"
            ).fetchall()
        }
    finally:
        con.unregister("wanted_stories")
    found: dict[str, list[StoredStory]] = {}
    for article_id, story_id in pairs:
        found.setdefault(article_id, []).append(stored[story_id])
    return found


_BATCH_VECTOR_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("open_since", pa.timestamp("us")),
        ("term", pa.string()),
        ("value", pa.float64()),
        ("probe", pa.bool_()),
    ]
)
_TERM_SCHEMA = pa.schema([("term", pa.string())])

_VECTOR_SCHEMA = pa.schema(
    [
        ("story_id", pa.string()),
        ("version", pa.int32()),
        ("last_at", pa.timestamp("us")),
        ("size", pa.int32()),
        ("terms", pa.list_(pa.string())),
        ("weights", pa.list_(pa.float64())),
        ("indexed", pa.int32()),
        ("norm", pa.float64()),
        ("seed_terms", pa.list_(pa.string())),
        ("seed_weights", pa.list_(pa.float64())),
    ]
)


def _store_story_vectors(con: duckdb.DuckDBPyConnection, vectors: Sequence[StoredStory]) -> None:
    table = pa.Table.from_pylist(
        [
            {
                "story_id": v.story_id,
                "version": FEATURES_VERSION,
                "last_at": v.last,
                "size": v.size,
                "terms": v.terms,
                "weights": v.weights,
                "indexed": v.indexed,
                "norm": v.norm,
                "seed_terms": v.seed_terms,
                "seed_weights": v.seed_weights,
            }
            for v in vectors
        ],
        schema=_VECTOR_SCHEMA,
    )
    con.register("new_story_vectors", table)
    try:
        con.execute("INSERT OR REPLACE INTO story_vectors BY NAME SELECT * FROM new_story_vectors")
    finally:
        con.unregister("new_story_vectors")


def stories_of(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> dict[str, str]:
    """article_id -> story_id for stored articles."""
    if not article_ids:
        return {}
    con.register("probe_articles", pa.table({"article_id": list(article_ids)}))
    try:
        return dict(
            con.execute(
                "SELECT a.article_id, a.story_id FROM articles AS a "
                "JOIN probe_articles USING (article_id) WHERE a.story_id IS NOT NULL"
            ).fetchall()
        )
    finally:
        con.unregister("probe_articles")
