"""Storing the developments read from articles (`developments`)."""

from __future__ import annotations

import hashlib
import logging

import duckdb
import pyarrow as pa

from newsmon.entities import ArticleEntities, EntityRef

log = logging.getLogger(__name__)

_DEVELOPMENT_SCHEMA = pa.schema(
    [
        ("development_id", pa.string()),
        ("article_id", pa.string()),
        ("kind", pa.string()),
        ("plover_category", pa.string()),
        ("plover_mode", pa.string()),
        ("stance", pa.string()),
        ("actor_ids", pa.list_(pa.string())),
        ("recipient_ids", pa.list_(pa.string())),
        ("quantity", pa.float64()),
        ("unit", pa.string()),
        ("place", pa.string()),
        ("occurred_on", pa.date32()),
        ("scheduled_for", pa.date32()),
        ("sentence", pa.string()),
        ("start_offset", pa.int32()),
        ("end_offset", pa.int32()),
        ("confidence", pa.float64()),
        ("trigger", pa.string()),
    ]
)


def _names(developments: str) -> str:
    """A query of the names of the actors and recipients of these developments, in order."""
    return f"""
        SELECT
            r.development_id,
            list(e.name ORDER BY r.position) FILTER (WHERE r.role = 'actor') AS actors,
            list(e.name ORDER BY r.position) FILTER (WHERE r.role = 'recipient') AS recipients
        FROM (
            SELECT development_id, 'actor' AS role, unnest(actor_ids) AS entity_id,
                   generate_subscripts(actor_ids, 1) AS position
            FROM {developments}
            UNION ALL
            SELECT development_id, 'recipient', unnest(recipient_ids),
                   generate_subscripts(recipient_ids, 1)
            FROM {developments}
        ) AS r
        JOIN entities AS e USING (entity_id)
        GROUP BY r.development_id
    """


def name_actors(con: duckdb.DuckDBPyConnection) -> int:
    """Store the names of the actors and recipients of developments written without them
    (rows inserted by other means than the loader, such as a benchmark's); returns how many."""
    missing = "(SELECT * FROM developments WHERE actor_names IS NULL OR recipient_names IS NULL)"
    return con.execute(
        f"""
        UPDATE developments AS d SET
            actor_names = coalesce(n.actors, []), recipient_names = coalesce(n.recipients, [])
        FROM {missing} AS m LEFT JOIN ({_names(missing)}) AS n USING (development_id)
        WHERE m.development_id = d.development_id
        """
    ).fetchone()[0]


def _store_developments(
    con: duckdb.DuckDBPyConnection,
    found: dict[str, ArticleEntities],
    resolved: dict[EntityRef, str],
) -> None:
    """Insert the developments of these articles (their old ones are already deleted)."""
    rows = []
    for article_id, result in found.items():
        for d in result.developments:
            key = f"{article_id}:{d.kind}:{d.stance}:{d.start_offset}"
            rows.append(
                {
                    "development_id": hashlib.sha256(key.encode()).hexdigest()[:16],
                    "article_id": article_id,
                    "kind": d.kind,
                    "plover_category": d.plover_category,
                    "plover_mode": d.plover_mode,
                    "stance": d.stance,
                    "actor_ids": [resolved.get(r, r.id) for r in d.actors],
                    "recipient_ids": [resolved.get(r, r.id) for r in d.recipients],
                    "quantity": d.quantity,
                    "unit": d.unit,
                    "place": d.place,
                    "occurred_on": d.occurred_on,
                    "scheduled_for": d.scheduled_for,
                    "sentence": d.sentence,
                    "start_offset": d.start_offset,
                    "end_offset": d.end_offset,
                    "confidence": d.confidence,
                    "trigger": d.trigger,
                }
            )
    if not rows:
        return
    con.register("new_developments", pa.Table.from_pylist(rows, schema=_DEVELOPMENT_SCHEMA))
    try:
        # with the names of their actors and recipients (migration 0018), which never change
        con.execute(
            f"""
            INSERT OR IGNORE INTO developments BY NAME
            SELECT d.*, coalesce(n.actors, []) AS actor_names,
                   coalesce(n.recipients, []) AS recipient_names
            FROM new_developments AS d LEFT JOIN ({_names("new_developments")}) AS n
            USING (development_id)
            """
        )
    finally:
        con.unregister("new_developments")


def revisions_for_reprocessing(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Every replaced version of an article: (article_id, revision, title, text, day)."""
    return con.execute(
        """
        SELECT r.article_id, r.revision, r.title, r.text,
               CAST(coalesce(a.published_at, a.fetched_at) AS DATE)
        FROM article_revisions AS r JOIN articles AS a USING (article_id)
        ORDER BY r.article_id, r.revision
        """
    ).fetchall()


def store_revision_developments(
    con: duckdb.DuckDBPyConnection, rows: list[tuple[str, int, list[dict]]]
) -> None:
    """Set the developments read from replaced versions: (article_id, revision, developments)
    with each development a {kind, stance, sentence} dict, in the order of the sentence."""
    if not rows:
        return
    con.executemany(
        "UPDATE article_revisions SET developments = ? WHERE article_id = ? AND revision = ?",
        [(devs, article_id, revision) for article_id, revision, devs in rows],
    )
