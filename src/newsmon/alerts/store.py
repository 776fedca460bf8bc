"""The alerts' rows in the warehouse: runs to evaluate, alerts fired, delivery state."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb

log = logging.getLogger(__name__)

PENDING_RUNS = "SELECT run_id FROM runs WHERE run_id NOT IN (SELECT run_id FROM alert_runs)"


@dataclass
class Alert:
    """One happening of one rule, as stored (one row per target) and as sent."""

    alert_id: str
    rule_id: str
    rule_when: str
    alert_key: str
    reason: str = ""
    title: str = ""
    body: str = ""
    topic: str | None = None
    storyline_id: str | None = None
    story_id: str | None = None
    kind: str | None = None
    stance: str | None = None
    first_on: date | None = None
    last_on: date | None = None
    outlets: list[str] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)
    development_ids: list[str] = field(default_factory=list)
    stored: bool = False  # already in the warehouse: an update, never sent again


def pending_since(con: duckdb.DuckDBPyConnection) -> tuple[list[str], datetime | None]:
    """The runs loaded since the last evaluation, and the earliest start among them."""
    rows = con.execute(
        f"SELECT run_id, started_at FROM runs WHERE run_id IN ({PENDING_RUNS}) ORDER BY started_at"
    ).fetchall()
    return [r[0] for r in rows], (rows[0][1] if rows else None)


def mark_evaluated(con: duckdb.DuckDBPyConnection, run_ids: list[str], now: datetime) -> None:
    """Record that the rules have seen these runs' loads."""
    if not run_ids:
        return
    con.executemany(
        "INSERT OR IGNORE INTO alert_runs VALUES (?, ?)", [(run_id, now) for run_id in run_ids]
    )


def stored_alerts(con: duckdb.DuckDBPyConnection, rule_id: str, keys: list[str]) -> list[Alert]:
    """The alerts a rule already fired under these keys (one per happening, any target)."""
    if not keys:
        return []
    rows = con.execute(
        """
        SELECT DISTINCT ON (alert_id) alert_id, rule_id, rule_when, alert_key, reason, title, body,
               topic, storyline_id, story_id, kind, stance, first_on, last_on, outlets,
               article_ids, development_ids
        FROM alerts WHERE rule_id = ? AND list_contains(?, alert_key)
        ORDER BY alert_id
        """,
        [rule_id, keys],
    ).fetchall()
    return [Alert(*row[:14], list(row[14]), list(row[15]), list(row[16]), True) for row in rows]


def save(
    con: duckdb.DuckDBPyConnection,
    alert: Alert,
    targets: list[tuple[str, str]],
    run_id: str | None,
    now: datetime,
    min_outlets: int = 1,
) -> None:
    """Insert a new alert for every target, or update a stored one's contents.

    targets: (target_key, masked URL). A new alert is due now when `min_outlets` outlets
    carry it, else it waits (next_retry_at NULL, no attempt) until an update brings them.
    An update keeps the delivery state: what was sent is not sent again; a message not yet
    delivered goes out with the latest contents.
    """
    ready = now if len(alert.outlets) >= min_outlets else None
    values = [
        alert.reason,
        alert.title,
        alert.body,
        alert.first_on,
        alert.last_on,
        alert.outlets,
        alert.article_ids,
        alert.development_ids,
    ]
    if alert.stored:
        con.execute(
            "UPDATE alerts SET reason = ?, title = ?, body = ?, first_on = ?, last_on = ?, "
            "outlets = ?, article_ids = ?, development_ids = ?, updated_at = ?, "
            # a waiting alert whose outlets are now enough is due
            "next_retry_at = CASE WHEN delivered_at IS NULL AND attempts = 0 "
            "AND next_retry_at IS NULL THEN ? ELSE next_retry_at END WHERE alert_id = ?",
            [*values, now, ready, alert.alert_id],
        )
        return
    con.executemany(
        """
        INSERT OR IGNORE INTO alerts (alert_id, target_key, target, rule_id, rule_when, alert_key,
            topic, storyline_id, story_id, kind, stance, run_id, fired_at, next_retry_at,
            reason, title, body, first_on, last_on, outlets, article_ids, development_ids)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            [
                alert.alert_id,
                key,
                shown,
                alert.rule_id,
                alert.rule_when,
                alert.alert_key,
                alert.topic,
                alert.storyline_id,
                alert.story_id,
                alert.kind,
                alert.stance,
                run_id,
                now,
                ready,
                *values,
            ]
            for key, shown in targets
        ],
    )


@dataclass
class Delivery:
    """One message to send: an alert to one target."""

    alert_id: str
    target_key: str
    rule_id: str
    title: str
    body: str
    attempts: int


def due(con: duckdb.DuckDBPyConnection, now: datetime) -> list[Delivery]:
    """Messages not delivered yet whose (next) attempt is due, oldest first."""
    rows = con.execute(
        """
        SELECT alert_id, target_key, rule_id, title, body, attempts FROM alerts
        WHERE delivered_at IS NULL AND next_retry_at <= ?
        ORDER BY fired_at, alert_id, target_key
        """,
        [now],
    ).fetchall()
    return [Delivery(*row) for row in rows]


def record(
    con: duckdb.DuckDBPyConnection,
    delivery: Delivery,
    now: datetime,
    error: str | None,
    next_retry_at: datetime | None,
) -> None:
    """The outcome of one attempt: delivered, or the error and when to try again (or never)."""
    if error is None:
        con.execute(
            "UPDATE alerts SET delivered_at = ?, attempts = attempts + 1, next_retry_at = NULL "
            "WHERE alert_id = ? AND target_key = ?",
            [now, delivery.alert_id, delivery.target_key],
        )
    else:
        con.execute(
            "UPDATE alerts SET error = ?, attempts = attempts + 1, next_retry_at = ? "
            "WHERE alert_id = ? AND target_key = ?",
            [error, next_retry_at, delivery.alert_id, delivery.target_key],
        )


def listing(
    con: duckdb.DuckDBPyConnection, limit: int, failed: bool, rule: str | None
) -> tuple[list[str], list[tuple]]:
    """Rows for `newsmon alerts`, newest first: failed ones only with `failed`."""
    where = ["true"]
    params: list = []
    if failed:
        where.append("delivered_at IS NULL AND error IS NOT NULL")
    if rule:
        where.append("rule_id = ?")
        params.append(rule)
    sql = f"""
        SELECT fired_at, rule_id, title, len(outlets) AS outlets, target,
               CASE WHEN delivered_at IS NOT NULL THEN 'delivered'
                    WHEN attempts = 0 AND next_retry_at IS NULL THEN 'waiting'
                    WHEN next_retry_at IS NULL THEN 'given up'
                    WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END AS status,
               delivered_at, attempts, next_retry_at, error
        FROM alerts WHERE {" AND ".join(where)}
        ORDER BY fired_at DESC, alert_id, target_key
        {"LIMIT ?" if limit else ""}
    """
    cursor = con.execute(sql, [*params, limit] if limit else params)
    return [c[0] for c in cursor.description], cursor.fetchall()


def bodies(
    con: duckdb.DuckDBPyConnection, limit: int, failed: bool, rule: str | None
) -> list[tuple[str, str]]:
    """(title, message) of each alert, newest first, once whatever its targets."""
    rows = con.execute(
        """
        SELECT title, body FROM (
            SELECT alert_id, any_value(title) AS title, any_value(body) AS body,
                   min(fired_at) AS fired_at,
                   bool_or(delivered_at IS NULL AND error IS NOT NULL) AS failed
            FROM alerts WHERE ? IS NULL OR rule_id = ? GROUP BY alert_id)
        WHERE NOT ? OR failed
        ORDER BY fired_at DESC, alert_id
        """,
        [rule, rule, failed],
    ).fetchall()
    return rows[:limit] if limit else rows
