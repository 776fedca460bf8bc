"""An alert's message: what happened, who, how many, the sentence, the outlets with links."""

from __future__ import annotations

import logging
from collections import Counter

import duckdb

from newsmon.alerts.rules import Rule
from newsmon.alerts.store import Alert

log = logging.getLogger(__name__)

_WHAT = {
    "storyline": "new storyline",
    "entity": "first seen",
    "feed_disabled": "feed disabled",
    "cycle_failed": "cycle failed",
}


def _days(alert: Alert) -> str:
    if alert.first_on is None:
        return ""
    if alert.last_on is None or alert.last_on == alert.first_on:
        return f"{alert.first_on:%d %b %Y}"
    return f"{alert.first_on:%d %b} – {alert.last_on:%d %b %Y}"


def _quantity(value: float | None, unit: str | None) -> str:
    if value is None:
        return ""
    number = f"{value:,.0f}" if float(value).is_integer() else f"{value:,g}"
    return f"{number} {unit or ''}".strip()


def _links(con: duckdb.DuckDBPyConnection, article_ids: list[str]) -> list[tuple[str, str]]:
    """(outlet, link of its first article) in the order the outlets carried it."""
    if not article_ids:
        return []
    rows = con.execute(
        """
        SELECT coalesce(f.outlet, f.name, a.feed_id) AS outlet,
               arg_min(a.url, coalesce(a.published_at, a.fetched_at)),
               min(coalesce(a.published_at, a.fetched_at)) AS first_at
        FROM articles AS a LEFT JOIN feeds AS f ON f.feed_id = a.feed_id
        WHERE a.article_id IN (SELECT unnest(?::VARCHAR[]))
        GROUP BY ALL ORDER BY first_at, outlet
        """,
        [article_ids],
    ).fetchall()
    return [(outlet, url) for outlet, url, _ in rows]


def _storyline(con: duckdb.DuckDBPyConnection, storyline_id: str | None) -> str:
    if not storyline_id:
        return ""
    row = con.execute(
        "SELECT title, event_count, article_count FROM storylines WHERE storyline_id = ?",
        [storyline_id],
    ).fetchone()
    if row is None:
        return f"storyline {storyline_id}"
    title, events, articles = row
    return f"{title} ({events} events, {articles} articles; storyline {storyline_id})"


def _evidence(con: duckdb.DuckDBPyConnection, development_ids: list[str]):
    """The best sentence, the actors named most, the largest quantity of the developments."""
    rows = con.execute(
        """
        SELECT d.sentence, d.confidence, d.quantity, d.unit,
               list_sort(list_distinct(d.actor_names)) AS actors  -- stored names (0018)
        FROM developments AS d
        JOIN articles AS a USING (article_id)
        WHERE d.development_id IN (SELECT unnest(?::VARCHAR[]))
        ORDER BY d.confidence DESC NULLS LAST, coalesce(a.published_at, a.fetched_at),
                 d.development_id
        """,
        [development_ids],
    ).fetchall()
    if not rows:
        return "", [], ""
    actors = Counter(name for row in rows for name in (row[4] or []))
    quantities = [(q, u) for _, _, q, u, _ in rows if q is not None]
    largest = max(quantities, key=lambda qu: qu[0]) if quantities else (None, None)
    return rows[0][0], [name for name, _ in actors.most_common(3)], _quantity(*largest)


def compose(con: duckdb.DuckDBPyConnection, rule: Rule, alert: Alert) -> None:
    """Write the alert's title, body and (for developments) reason from the warehouse."""
    links = _links(con, alert.article_ids)
    outlets = len(alert.outlets)
    reports = f"{outlets} outlet{'s' * (outlets != 1)}, {len(alert.article_ids)} article" + (
        "s" * (len(alert.article_ids) != 1)
    )
    lines: list[str] = []
    if rule.when in ("development", "stance_change"):
        sentence, actors, quantity = _evidence(con, alert.development_ids)
        what = f"{(alert.kind or '').replace('_', ' ')} {(alert.stance or '').replace('_', ' ')}"
        if rule.when == "development":
            alert.reason = f"{what} in {alert.topic or alert.storyline_id or 'any topic'}"
        details = ", ".join(
            filter(None, [f"by {', '.join(actors)}" if actors else "", quantity, _days(alert)])
        )
        if rule.when == "stance_change":
            what = f"stance change, {what}"
        title = f"{what}: {details}" if details else what
        lines.append(f"{what[0].upper()}{what[1:]} ({details}), reported by {reports}.")
        if rule.when == "stance_change":
            lines.append(f"Stance change: {alert.reason}.")
        if sentence:
            lines.append(f'"{sentence}"')
    else:
        what = _WHAT[rule.when]
        title = f"{what}: {alert.reason}" if alert.reason else what
        if rule.when == "storyline":
            story = _storyline(con, alert.storyline_id)
            title = f"{what}: {story.split(' (')[0]}" if story else what
            lines.append(f"A new storyline in {alert.topic or 'the warehouse'}: {reports}.")
        elif rule.when == "entity":
            lines.append(
                f"{alert.reason} is named for the first time in {alert.topic or 'any article'}, "
                f"by {reports} ({_days(alert)})."
            )
        else:
            lines.append(f"{alert.reason} ({_days(alert)}).")
    if links:
        lines.append("Outlets:")
        lines += [f"- {outlet}: {url}" for outlet, url in links]
    story = _storyline(con, alert.storyline_id)
    if story:
        lines.append(f"Storyline: {story}")
    lines.append(f"Rule: {rule.id} (when: {rule.when})")
    alert.title = f"newsmon: {title}"[:250]
    alert.body = "\n".join(lines)
