"""What one run did, in words and tables: the Prefect run artifacts and the CLI summary."""

from __future__ import annotations

import logging
from collections import Counter

import duckdb

log = logging.getLogger(__name__)

_METHODS = {"hash": "same text", "near": "near-identical text", "url": "same URL article id"}


def total_failure(statuses: list) -> str | None:
    """Why a cycle failed as a whole: feeds were polled and none answered; else None."""
    failed = [s for s in statuses if s.status == "error"]
    if not statuses or len(failed) < len(statuses):
        return None
    reasons = Counter(s.error or "unknown error" for s in failed)
    listed = "; ".join(f"{error} ({n})" if n > 1 else error for error, n in reasons.most_common(5))
    more = f"; and {len(reasons) - 5} other errors" if len(reasons) > 5 else ""
    return f"no feed could be polled: all {len(failed)} failed: {listed}{more}"


def failure_line(feeds_polled: int, feeds_failed: int) -> str | None:
    """The line a run summary leads with when feeds failed."""
    if not feeds_failed:
        return None
    if feeds_failed >= feeds_polled:
        return f"FAILED: no feed could be polled (all {feeds_failed} failed)"
    return f"WARNING: {feeds_failed} of {feeds_polled} feeds failed"


def run_markdown(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    """A markdown summary of one run: feeds, articles, duplicates, top entities and topics."""
    run = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id]).fetchall()
    if not run:
        return f"# Poll run {run_id}\n\nNo record of this run in the warehouse."
    names = [d[0] for d in con.description]
    r = dict(zip(names, run[0], strict=True))
    failed = con.execute(
        "SELECT feed_id, error FROM feed_polls WHERE run_id = ? AND status = 'error' ORDER BY feed_id",
        [run_id],
    ).fetchall()
    methods = con.execute(
        "SELECT dup_method, count(*) FROM articles WHERE run_id = ? AND duplicate_of IS NOT NULL "
        "GROUP BY ALL ORDER BY 2 DESC",
        [run_id],
    ).fetchall()
    entities = con.execute(
        """
        SELECT e.name, e.kind, count(DISTINCT m.article_id) AS articles, sum(m.count) AS mentions
        FROM mentions AS m JOIN entities AS e USING (entity_id) JOIN articles AS a USING (article_id)
        WHERE a.run_id = ?
        GROUP BY ALL ORDER BY articles DESC, mentions DESC, e.name LIMIT 10
        """,
        [run_id],
    ).fetchall()
    topics = con.execute(
        "SELECT t.topic, count(*) FROM article_topics AS t JOIN articles AS a USING (article_id) "
        "WHERE a.run_id = ? GROUP BY ALL ORDER BY 2 DESC",
        [run_id],
    ).fetchall()
    lines = [f"# Poll run {r['started_at']:%Y-%m-%d %H:%M} UTC", ""]
    leading = failure_line(r["feeds_polled"], r["feeds_failed"])
    if leading:
        lines += [f"**{leading}** (the reasons are under Failed feeds)", ""]
    lines += [
        "| | |",
        "|---|---|",
        f"| feeds polled | {r['feeds_polled']} (not due {r['feeds_not_due']}, disabled {r['feeds_disabled']}) |",
        f"| feeds ok | {r['feeds_ok']} (not modified {r['feeds_not_modified']}) |",
        f"| feeds failed | {r['feeds_failed']} |",
        f"| entries seen | {r['entries_seen']} |",
        f"| new articles | {r['articles_new']} ({r['text_from_page']} page text, {r['text_from_feed']} feed text) |",
        f"| updated articles | {r['articles_updated']} |",
        f"| failed pages fetched again | {r['pages_retried']} ({r['pages_recovered']} recovered) |",
        f"| duplicates | {r['duplicates_marked']} marked, {r['duplicates_skipped']} entries skipped |",
        f"| new stories | {r['stories_new']} |",
        f"| new entities | {r['entities_new']} |",
    ]
    if methods:
        lines += [
            "",
            "**Duplicates by method:** "
            + ", ".join(f"{_METHODS.get(m, m)} {n}" for m, n in methods),
        ]
    if failed:
        lines += ["", "## Failed feeds", "", "| feed | error |", "|---|---|"]
        lines += [f"| {f} | {(e or '').replace('|', '/')[:120]} |" for f, e in failed]
    if entities:
        lines += [
            "",
            "## Most mentioned in this run",
            "",
            "| entity | kind | articles | mentions |",
            "|---|---|---|---|",
        ]
        lines += [f"| {n} | {k} | {a} | {m} |" for n, k, a, m in entities]
    if topics:
        lines += ["", "**Articles per topic:** " + ", ".join(f"{t} {n}" for t, n in topics)]
    developments = con.execute(
        """
        SELECT d.kind, d.stance, count(DISTINCT coalesce(a.story_id, a.article_id)) AS stories,
               count(*) AS mentions, max(d.quantity) AS quantity, arg_max(d.unit, d.quantity) AS unit
        FROM developments AS d JOIN articles AS a USING (article_id)
        WHERE a.run_id = ?
        GROUP BY ALL ORDER BY stories DESC, mentions DESC LIMIT 10
        """,
        [run_id],
    ).fetchall()
    if developments:
        lines += [
            "",
            "## Top developments",
            "",
            "| kind | stance | stories | sentences | largest quantity |",
            "|---|---|---|---|---|",
        ]
        for kind, stance, stories, sentences, quantity, unit in developments:
            amount = "" if quantity is None else f"{quantity:g} {unit or ''}".strip()
            lines.append(f"| {kind} | {stance} | {stories} | {sentences} | {amount} |")
    return "\n".join(lines) + "\n"


def new_developments_table(
    con: duckdb.DuckDBPyConnection, run_id: str, limit: int = 200
) -> list[dict]:
    """The run's developments, one row each, for a table artifact."""
    cursor = con.execute(
        """
        SELECT d.occurred_on, d.kind, d.stance, d.quantity, d.unit,
               (SELECT string_agg(e.name, ', ') FROM entities e WHERE list_contains(d.actor_ids, e.entity_id)) AS actors,
               a.feed_id, d.sentence
        FROM developments AS d JOIN articles AS a USING (article_id)
        WHERE a.run_id = ? AND a.duplicate_of IS NULL
        ORDER BY d.occurred_on DESC NULLS LAST, d.kind LIMIT ?
        """,
        [run_id, limit],
    )
    names = [c[0] for c in cursor.description]
    return [
        {
            k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in zip(names, row, strict=True)
        }
        for row in cursor.fetchall()
    ]


def new_articles_table(con: duckdb.DuckDBPyConnection, run_id: str, limit: int = 200) -> list[dict]:
    """The run's new articles (not duplicates), newest first, as rows for a table artifact."""
    cursor = con.execute(
        """
        SELECT a.published_at, a.feed_id, a.title, a.text_source, a.url
        FROM articles AS a WHERE a.run_id = ? AND a.duplicate_of IS NULL
        ORDER BY a.published_at DESC NULLS LAST LIMIT ?
        """,
        [run_id, limit],
    )
    names = [d[0] for d in cursor.description]
    return [
        {
            k: (v.isoformat(sep=" ") if hasattr(v, "isoformat") else v)
            for k, v in zip(names, row, strict=True)
        }
        for row in cursor.fetchall()
    ]
