"""The entity stage's rows: entities, aliases, mentions and topics, and name resolution."""

from __future__ import annotations

import logging
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa
from rapidfuzz import fuzz, process

from newsmon.entities import ArticleEntities, EntityRef
from newsmon.warehouse.developments import _store_developments
from newsmon.warehouse.trends import _stories_of_articles, refresh_trends

log = logging.getLogger(__name__)


def store_entities(
    con: duckdb.DuckDBPyConnection,
    found: dict[str, ArticleEntities],
    seen_at: datetime,
    roles: dict[str, str] | None = None,
    merge_threshold: float = 92.0,
    update_trends: bool = True,
) -> int:
    """Replace the mentions and topics of these articles; add new entities and aliases.

    A discovered name that is a close spelling of a stored entity of the same kind
    (rapidfuzz ratio >= merge_threshold) is that entity. Returns the number of new entities.
    Runs inside the caller's transaction, and recomputes the trend rows of the articles'
    stories unless the caller does that itself (`update_trends=False`).
    """
    refs = {m.entity for result in found.values() for m in result.mentions}
    # Actors of developments are entities too, though usually already mentioned.
    refs |= {
        r
        for result in found.values()
        for d in result.developments
        for r in (*d.actors, *d.recipients)
    }
    resolved = _resolve_entities(con, refs, merge_threshold)
    roles = roles or {}
    new_entities = {
        ref.id: (ref.name, ref.kind, ref.source, roles.get(ref.name))
        for ref in refs
        if resolved[ref] == ref.id
    }
    entity_rows = [
        {"entity_id": i, "name": n, "kind": k, "source": s, "role": r, "first_seen_at": seen_at}
        for i, (n, k, s, r) in new_entities.items()
    ]
    aliases = {
        (surface, resolved[m.entity])
        for result in found.values()
        for m in result.mentions
        for surface in m.surfaces | {m.entity.name}
    }
    mention_rows = [
        {
            "article_id": a,
            "entity_id": resolved[m.entity],
            "count": m.count,
            "first_offset": m.first_offset,
        }
        for a, result in found.items()
        for m in result.mentions
    ]
    merged: dict[tuple[str, str], dict] = {}
    for row in mention_rows:  # two names of one entity in one article: add them up
        key = (row["article_id"], row["entity_id"])
        if key in merged:
            merged[key]["count"] += row["count"]
            merged[key]["first_offset"] = min(merged[key]["first_offset"], row["first_offset"])
        else:
            merged[key] = dict(row)
    topic_rows = [
        {"article_id": a, "topic": t, "score": s}
        for a, result in found.items()
        for t, s in result.topics.items()
    ]
    tables = {
        "new_entities": pa.Table.from_pylist(entity_rows, schema=_ENTITY_SCHEMA),
        "new_aliases": pa.table(
            {"alias": [a for a, _ in aliases], "entity_id": [e for _, e in aliases]},
            schema=pa.schema([("alias", pa.string()), ("entity_id", pa.string())]),
        ),
        "new_mentions": pa.Table.from_pylist(list(merged.values()), schema=_MENTION_SCHEMA),
        "new_topics": pa.Table.from_pylist(topic_rows, schema=_TOPIC_SCHEMA),
        "entity_articles": pa.table(
            {"article_id": list(found)}, schema=pa.schema([("article_id", pa.string())])
        ),
    }
    for name, table in tables.items():
        con.register(name, table)
    try:
        before = con.execute("SELECT count(*) FROM entities").fetchone()[0]
        # A discovered name later put on a watch list becomes a watch-list entity.
        con.execute(
            """
            INSERT INTO entities AS e BY NAME SELECT * FROM new_entities
            ON CONFLICT (entity_id) DO UPDATE SET
                source = CASE WHEN excluded.source = 'watchlist' THEN 'watchlist' ELSE e.source END,
                role = coalesce(excluded.role, e.role)
            """
        )
        con.execute(
            "INSERT OR IGNORE INTO entity_aliases SELECT DISTINCT alias, entity_id FROM new_aliases"
        )
        con.execute(
            "DELETE FROM mentions WHERE article_id IN (SELECT article_id FROM entity_articles)"
        )
        con.execute(
            "DELETE FROM article_topics WHERE article_id IN (SELECT article_id FROM entity_articles)"
        )
        con.execute("INSERT INTO mentions BY NAME SELECT * FROM new_mentions")
        con.execute("INSERT INTO article_topics BY NAME SELECT * FROM new_topics")
        con.execute(
            "DELETE FROM developments WHERE article_id IN (SELECT article_id FROM entity_articles)"
        )
        _store_developments(con, found, resolved)
        if update_trends:
            refresh_trends(con, _stories_of_articles(con, set(found)))
        return con.execute("SELECT count(*) FROM entities").fetchall()[0][0] - before

    finally:
        for name in tables:
            con.unregister(name)


def texts_for_reprocessing(
    con: duckdb.DuckDBPyConnection, after: str | None, limit: int
) -> list[tuple[str, str | None, str | None]]:
    """The next `limit` articles after id `after`: (article_id, title, text); exact duplicates
    read their canonical article's text."""
    return con.execute(
        """
        SELECT a.article_id, a.title, coalesce(a.text, c.text), coalesce(a.published_at, a.fetched_at)
        FROM articles AS a LEFT JOIN articles AS c ON c.article_id = a.duplicate_of
        WHERE a.article_id > coalesce(?, '')
        ORDER BY a.article_id
        LIMIT ?
        """,
        [after, limit],
    ).fetchall()


_ENTITY_SCHEMA = pa.schema(
    [
        ("entity_id", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("source", pa.string()),
        ("role", pa.string()),
        ("first_seen_at", pa.timestamp("us")),
    ]
)
_MENTION_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("entity_id", pa.string()),
        ("count", pa.int32()),
        ("first_offset", pa.int32()),
    ]
)
_TOPIC_SCHEMA = pa.schema(
    [("article_id", pa.string()), ("topic", pa.string()), ("score", pa.float64())]
)


def _resolve_entities(
    con: duckdb.DuckDBPyConnection, refs: set[EntityRef], threshold: float
) -> dict[EntityRef, str]:
    """Map each reference to a stored entity id: same id, else a close spelling of the same kind.

    The best ratio over the stored names of the kind (`process.cdist`, a block of names at a
    time), then over the names of this batch resolved before it (`SpellingIndex`); the higher
    wins, a tie goes to the stored name: the answer of `process.extractOne` over the stored
    names followed by the batch's.
    """
    resolved = {ref: ref.id for ref in refs}
    unknown = [ref for ref in refs if ref.source == "ner"]
    if not unknown:
        return resolved
    con.register("probe_ids", pa.table({"entity_id": [r.id for r in unknown]}))
    try:
        stored_ids = {
            r[0]
            for r in con.execute(
                "SELECT entity_id FROM entities JOIN probe_ids USING (entity_id)"
            ).fetchall()
        }
    finally:
        con.unregister("probe_ids")
    unknown = [ref for ref in unknown if ref.id not in stored_ids]
    for kind in sorted({ref.kind for ref in unknown}):
        rows = con.execute("SELECT name, entity_id FROM entities WHERE kind = ?", [kind]).fetchall()
        # Longest names first, so a variant joins the fullest spelling seen in this batch.
        batch = sorted((r for r in unknown if r.kind == kind), key=lambda r: (-len(r.name), r.name))
        names = [ref.name.casefold() for ref in batch]
        stored = _best_matches(names, [name.casefold() for name, _ in rows], threshold)
        earlier = SpellingIndex(threshold)  # this batch's names, as they are resolved
        for ref, name, in_store in zip(batch, names, stored, strict=True):
            in_batch = earlier.best(name)
            # One list of stored names then the batch's: the higher score wins, and on a tie
            # the earlier name, so a stored one (process.extractOne over that list agrees).
            if in_store is not None and (in_batch is None or in_store[0] >= in_batch[0]):
                resolved[ref] = rows[in_store[1]][1]
            elif in_batch is not None:
                resolved[ref] = in_batch[2]
            earlier.add(name, resolved[ref])
    return resolved


def _best_matches(
    queries: list[str], choices: list[str], threshold: float, cells: int = 2_000_000
) -> list[tuple[float, int] | None]:
    """Per query, the best rapidfuzz `ratio` over `choices` at or above `threshold` and the
    first choice reaching it (None when none does): `process.cdist` over a block of queries
    at a time, each block's score matrix at most `cells` scores (16 MB) however many
    choices there are (at least one row)."""
    found: list[tuple[float, int] | None] = []
    if not choices:
        return [None] * len(queries)
    rows = max(1, min(128, cells // len(choices)))
    for start in range(0, len(queries), rows):
        scores = process.cdist(
            queries[start : start + rows],
            choices,
            scorer=fuzz.ratio,
            score_cutoff=threshold,
            dtype=np.float64,
        )
        for row, column in enumerate(scores.argmax(axis=1)):  # argmax: the first best
            score = float(scores[row, column])
            found.append((score, int(column)) if score >= threshold and score > 0 else None)
    return found


class SpellingIndex:
    """Names with their entity ids, for the best rapidfuzz `ratio` at or above `threshold`.

    The same answer as `process.extractOne` over every name (the earliest added wins a
    tie), without comparing most of them: names are kept by length, and a ratio of at
    least t needs |a - b| <= (1 - t/100)(a + b) for lengths a and b (the Indel distance is
    at least the difference in length), so a name of 15 characters at t = 92 can only match
    names of 13 to 17 characters (one more length is scanned on each side, against rounding).
    The loader keeps in it the names of the batch being resolved, which can match each other.
    """

    def __init__(self, threshold: float):
        self.threshold = threshold
        self._slack = 1 - threshold / 100
        self._by_length: dict[int, tuple[list[str], list[tuple[int, str]]]] = {}
        self._added = 0

    def add(self, name: str, entity_id: str) -> None:
        names, ids = self._by_length.setdefault(len(name), ([], []))
        names.append(name)
        ids.append((self._added, entity_id))
        self._added += 1

    def best(self, name: str) -> tuple[float, int, str] | None:
        """(score, order added, entity id) of the closest name, or None below the threshold."""
        size, slack = len(name), self._slack
        # One length more on each side than the bound allows: rounding must not drop a match.
        low = int(size * (1 - slack) / (1 + slack)) - 1
        high = (
            int(size * (1 + slack) / (1 - slack)) + 1
            if slack < 1
            else max(self._by_length, default=0)
        )
        best: tuple[float, int, str] | None = None
        for length in range(max(0, low), high + 1):
            bucket = self._by_length.get(length)
            if bucket is None:
                continue
            found = process.extractOne(
                name, bucket[0], scorer=fuzz.ratio, score_cutoff=self.threshold
            )
            if found is None:
                continue
            order, entity = bucket[1][found[2]]
            if best is None or (found[1], -order) > (best[0], -best[1]):
                best = (found[1], order, entity)
        return best
