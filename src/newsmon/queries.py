"""Named trend queries over the warehouse views, and read-only ad-hoc SQL."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import duckdb

from newsmon import warehouse
from newsmon.errors import NewsmonError, UsageError

log = logging.getLogger(__name__)

WIDTH = 60  # characters a table column shows at most, unless wide


@dataclass(frozen=True)
class Named:
    """A view with the column that dates its rows and a useful order."""

    view: str
    day: str | None
    order: str
    topic: bool = True


NAMED = {
    "entity_daily": Named("entity_daily", "day", "day DESC, stories DESC, mentions DESC"),
    "entity_trending": Named("entity_trending", None, "lift DESC, recent_stories DESC"),
    "stories_daily": Named("stories_daily", "day", "day DESC"),
    "story_timeline": Named(
        "story_timeline", "first_day", "first_day DESC, story_id, first_report"
    ),
    "events": Named("events", "first_day", "first_day DESC, articles DESC, story_id"),
    "storyline_timeline": Named(
        "storyline_timeline",
        "first_day",
        "storyline_events DESC, storyline_id, first_day, story_id",
    ),
    "actor_pairs": Named("actor_pairs", "week", "week DESC, stories DESC"),
    "development_timeline": Named("development_timeline", "day", "day DESC, stories DESC"),
    "developments_named": Named(
        "developments_named", "day", "day DESC, story_id, kind, stance, reported_at"
    ),
    "feed_health": Named("feed_health", None, "feed_id", topic=False),
}


def run_named(
    con: duckdb.DuckDBPyConnection, name: str, days: int, topic: str = "*", limit: int = 200
) -> tuple[list[str], list[tuple]]:
    """Rows of a named query for one topic: the `days` calendar days ending on the newest
    article's day (0: all), at most `limit` rows (0: all)."""
    if name not in NAMED:
        raise UsageError(f"unknown query {name!r}; choose from: {', '.join(sorted(NAMED))}")
    q = NAMED[name]
    exists = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE view_name = ?", [q.view]
    ).fetchall()[0][0]
    if not exists:
        raise NewsmonError(
            f"the warehouse has no view {q.view!r} yet (run `newsmon run` to migrate it)"
        )
    where, params = [], []
    if q.topic:
        where.append("topic = ?")
        params.append(topic)
    if q.day and days > 0:
        # Relative to the newest article, so that a warehouse of old news still answers; a
        # constant (not the view's own max) lets DuckDB skip old rows instead of reading all.
        newest = con.execute(
            "SELECT max(CAST(coalesce(published_at, fetched_at) AS DATE)) FROM articles"
        ).fetchall()[0][0]
        if newest is not None:
            where.append(f"{q.day} > ?")
            params.append(newest - timedelta(days=days))
    sql = f"SELECT * FROM {q.view}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {q.order}" + (f" LIMIT {int(limit)}" if limit > 0 else "")
    cursor = con.execute(sql, params)
    return [d[0] for d in cursor.description], cursor.fetchall()


def stored_topics(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The topics that articles of this warehouse belong to."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'article_topics'"
    ).fetchall()[0][0]
    if not exists:
        return set()
    return {row[0] for row in con.execute("SELECT DISTINCT topic FROM article_topics").fetchall()}


def check_topic(
    con: duckdb.DuckDBPyConnection, topic: str, configured: Iterable[str] = ()
) -> str | None:
    """Raise UsageError, listing the known topics, when `topic` is neither '*' nor a topic of
    the warehouse's articles nor of `configured` (the sources file's); a configured topic
    without articles yet returns a note to show, since its rows are empty."""
    if topic == "*":
        return None
    stored = stored_topics(con)
    if topic in stored:
        return None
    configured = set(configured)
    if topic in configured:
        return (
            f"no article of this warehouse belongs to topic {topic!r} yet (after a watch list "
            "changes, `newsmon reprocess` assigns stored articles again)"
        )
    known = ", ".join(sorted(stored | configured)) or "none"
    raise UsageError(f"unknown topic {topic!r}; known topics: {known} ('*': all articles)")


def run_sql(
    con: duckdb.DuckDBPyConnection, sql: str, limit: int = 1000
) -> tuple[list[str], list[tuple]]:
    """Any SQL on a read-only connection (writes fail in DuckDB itself); at most `limit`
    rows (0: all)."""
    try:
        cursor = con.execute(sql)
    except duckdb.Error as exc:
        raise NewsmonError(f"query failed: {exc}") from None
    if cursor.description is None:
        return [], []
    rows = cursor.fetchmany(limit) if limit > 0 else cursor.fetchall()
    return [d[0] for d in cursor.description], rows


def open_for_query(db: Path, live: bool = False):
    """The snapshot (default: never blocks the pipeline) or the live file, read-only."""
    path = Path(db) if live else warehouse.snapshot_path(db)
    if not live and not path.exists() and Path(db).exists():
        raise NewsmonError(
            f"{path}: no snapshot yet — it is written after each load; use --live to read "
            f"{db} itself (blocks the pipeline's writes while open)"
        )
    return warehouse.connect(path, read_only=True)


def clip(text: str, width: int = WIDTH) -> str:
    """`text` cut to `width` characters, the cut marked with "…" (0: never cut)."""
    if width <= 0 or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def _cell(value: object) -> str:
    # A line break inside a value would break the table's rows: shown as ⏎.
    return "" if value is None else str(value).replace("\r\n", "⏎").replace("\n", "⏎")


def render(columns: list[str], rows: list[tuple], fmt: str, wide: bool = False) -> str:
    """Rows as an aligned table, CSV or JSON. Table cells longer than WIDTH characters are
    cut, marked with "…", unless `wide`; CSV and JSON always hold whole values."""
    if fmt == "json":
        return json.dumps(
            [dict(zip(columns, r, strict=True)) for r in rows],
            default=str,
            ensure_ascii=False,
            indent=1,
        )
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return out.getvalue().removesuffix("\n")  # print() ends the last line
    width = 0 if wide else WIDTH
    cells = [[clip(_cell(v), width) for v in row] for row in [tuple(columns), *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + f"\n({len(rows)} rows)"
