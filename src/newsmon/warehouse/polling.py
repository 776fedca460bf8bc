"""Feeds and their polling state in the warehouse: what each poll left, what is due again."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

import duckdb
import pyarrow as pa

from newsmon.config import default_outlet
from newsmon.feeds import Entry, FeedStatus
from newsmon.schedule import PollState

log = logging.getLogger(__name__)

FEED_SCHEMA = pa.schema(
    [
        ("feed_id", pa.string()),
        ("url", pa.string()),
        ("name", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("language", pa.string()),
        ("polled_at", pa.timestamp("us")),
        ("status", pa.string()),
        ("http_status", pa.int32()),
        ("error", pa.string()),
        ("error_kind", pa.string()),
        ("title", pa.string()),
        ("entries", pa.int32()),
        ("new_entries", pa.int32()),
        ("elapsed_ms", pa.float64()),
        # the state after the poll (schedule.PollState)
        ("etag", pa.string()),
        ("last_modified", pa.string()),
        ("last_fetched_at", pa.timestamp("us")),
        ("last_success_at", pa.timestamp("us")),
        ("next_poll_at", pa.timestamp("us")),
        ("interval_seconds", pa.int32()),
        ("consecutive_failures", pa.int32()),
        ("weighted_errors", pa.float64()),
        ("disabled_at", pa.timestamp("us")),
        ("disabled_reason", pa.string()),
    ]
)

_STATE_FIELDS = [f.name for f in dataclasses.fields(PollState) if f.name != "feed_id"]


def _feed_rows(feeds: Sequence[FeedStatus], outlets: Mapping[str, str] | None = None) -> pa.Table:
    rows = []
    for status in feeds:
        if status.state is None:
            raise ValueError(f"feed {status.feed_id}: status has no state (run schedule.advance)")
        row = {
            name: getattr(status, name) for name in FEED_SCHEMA.names if name not in _STATE_FIELDS
        }
        row.update({name: getattr(status.state, name) for name in _STATE_FIELDS})
        rows.append(row)
    outlets = outlets or {}
    return pa.Table.from_pylist(rows, schema=FEED_SCHEMA).append_column(
        "outlet",
        pa.array(
            [outlets.get(f.feed_id) or default_outlet(f.url, f.feed_id) for f in feeds],
            pa.string(),
        ),
    )


def _store_feeds(con: duckdb.DuckDBPyConnection, run_id: str) -> set[str]:
    """Upsert the polled feeds (`new_feeds`, from _feed_rows) and record their polls;
    return the feeds whose outlet changed (their stories' outlet counts are stale)."""
    changed = {
        r[0]
        for r in con.execute(
            "SELECT n.feed_id FROM new_feeds AS n JOIN feeds AS f USING (feed_id) "
            "WHERE f.outlet IS DISTINCT FROM n.outlet"
        ).fetchall()
    }
    con.execute(
        """
        INSERT INTO feeds AS f BY NAME
        SELECT feed_id, url, name, tags, language, title, outlet,
               polled_at AS first_polled_at, polled_at AS last_polled_at,
               status AS last_status, http_status AS last_http_status, error AS last_error,
               error_kind AS last_error_kind, entries AS last_entries, entries AS entries_seen,
               etag, last_modified, last_fetched_at, last_success_at, next_poll_at,
               interval_seconds, consecutive_failures, weighted_errors,
               disabled_at, disabled_reason
        FROM new_feeds
        ON CONFLICT (feed_id) DO UPDATE SET
            url = excluded.url,
            name = excluded.name,
            tags = excluded.tags,
            language = excluded.language,
            title = coalesce(excluded.title, f.title),
            outlet = excluded.outlet,
            last_polled_at = excluded.last_polled_at,
            last_status = excluded.last_status,
            last_http_status = excluded.last_http_status,
            last_error = excluded.last_error,
            last_error_kind = excluded.last_error_kind,
            last_entries = excluded.last_entries,
            entries_seen = f.entries_seen + excluded.entries_seen,
            etag = excluded.etag,
            last_modified = excluded.last_modified,
            last_fetched_at = excluded.last_fetched_at,
            last_success_at = excluded.last_success_at,
            next_poll_at = excluded.next_poll_at,
            interval_seconds = excluded.interval_seconds,
            consecutive_failures = excluded.consecutive_failures,
            weighted_errors = excluded.weighted_errors,
            disabled_at = excluded.disabled_at,
            disabled_reason = excluded.disabled_reason
        """
    )
    con.execute(
        """
        INSERT INTO feed_polls BY NAME
        SELECT ? AS run_id, feed_id, polled_at, status, http_status, error, error_kind,
               entries, new_entries, elapsed_ms
        FROM new_feeds
        """,
        [run_id],
    )
    return changed


def poll_states(con: duckdb.DuckDBPyConnection) -> dict[str, PollState]:
    """The stored polling state of every feed, by feed id."""
    columns = ", ".join(["feed_id", *_STATE_FIELDS])
    cursor = con.execute(f"SELECT {columns} FROM feeds")
    names = [d[0] for d in cursor.description]
    return {row[0]: PollState(**dict(zip(names, row, strict=True))) for row in cursor.fetchall()}


def due_page_retries(
    con: duckdb.DuckDBPyConnection, now: datetime, limit: int
) -> list[tuple[Entry, int]]:
    """Stored articles whose page is due to be fetched again, the longest waiting first,
    as feed entries with the page fetches made so far."""
    if limit <= 0:
        return []
    rows = con.execute(
        """
        SELECT article_id, feed_id, guid, url, canonical_url, title, summary, author,
               published_at, language, entry_hash, fetch_attempts
        FROM articles
        WHERE fetch_retry_at <= ? AND url IS NOT NULL
        ORDER BY fetch_retry_at, article_id
        LIMIT ?
        """,
        [now, limit],
    ).fetchall()
    return [(Entry(*row[:-1]), row[-1] or 0) for row in rows]


def feed_report(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Per feed: status, last success, errors (consecutive, weighted), next poll, entries seen."""
    cursor = con.execute(
        """
        SELECT feed_id, name, coalesce(CASE WHEN disabled_at IS NOT NULL THEN 'disabled' END,
                                       last_status) AS status,
               last_polled_at, last_success_at, consecutive_failures, weighted_errors,
               next_poll_at, interval_seconds, entries_seen,
               coalesce(disabled_reason, last_error) AS problem
        FROM feeds ORDER BY feed_id
        """
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def enable_feed(con: duckdb.DuckDBPyConnection, feed_id: str) -> bool:
    """Re-enable a disabled feed and clear its error count; False if the feed is unknown."""
    found = con.execute("SELECT count(*) FROM feeds WHERE feed_id = ?", [feed_id]).fetchone()[0]
    con.execute(
        """
        UPDATE feeds SET disabled_at = NULL, disabled_reason = NULL, consecutive_failures = 0,
               weighted_errors = 0, next_poll_at = NULL
        WHERE feed_id = ?
        """,
        [feed_id],
    )
    return bool(found)
