"""What the report says: its period, and the storylines, stories, developments and reports in it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import duckdb

log = logging.getLogger(__name__)

RECENT_DAYS = 14  # the default period: the topic's last two weeks with stories ...
REACH_DAYS = 42  # ... reaching back to the start of its storylines running in them, up to 6 weeks


@dataclass(frozen=True)
class Period:
    """The days a report covers, and in words how they were chosen."""

    start: date
    end: date
    how: str


@dataclass
class Report:
    """One article of a story: who carried it, its headline and link, when."""

    article_id: str
    outlet: str
    feed_id: str
    title: str
    url: str | None
    at: datetime
    copy: str | None  # dup_method when it carries another article's text or is an update
    new: bool = False


@dataclass
class Development:
    """One development of a story (a kind and stance), from all the articles that report it."""

    kind: str
    stance: str
    actors: list[str]
    recipients: list[str]
    quantity: float | None
    unit: str | None
    sentence: str
    url: str | None  # the article the sentence comes from
    outlets: list[str]
    articles: int
    first_at: datetime
    new: bool = False

    @property
    def how_many(self) -> str:
        """'1,000 prisoners', or '' when no quantity was read."""
        if self.quantity is None:
            return ""
        number = (
            f"{self.quantity:,.0f}" if self.quantity == int(self.quantity) else f"{self.quantity:,}"
        )
        return f"{number} {self.unit or ''}".strip()

    @property
    def who(self) -> str:
        """'Russia, Ukraine → Kyiv': actors, and the recipients after an arrow."""
        actors = ", ".join(self.actors)
        if self.recipients:
            return f"{actors} → {', '.join(self.recipients)}".strip()
        return actors


@dataclass
class Story:
    """A story of the period with its developments and its reports, first report first."""

    story_id: str
    title: str
    storyline_id: str | None
    first_day: date
    last_day: date
    developments: list[Development] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)

    @property
    def outlets(self) -> list[str]:
        """Its outlets in the order they first carried it."""
        return list(dict.fromkeys(r.outlet for r in self.reports))

    @property
    def new(self) -> bool:
        """Every report of it came in since the previous report."""
        return bool(self.reports) and all(r.new for r in self.reports)

    @property
    def updated(self) -> bool:
        """Known before, with reports that came in since the previous report."""
        return not self.new and any(r.new for r in self.reports)


@dataclass
class Storyline:
    """Stories of one developing situation, oldest first."""

    storyline_id: str
    title: str
    stories: list[Story]

    @property
    def first_day(self) -> date:
        return min(s.first_day for s in self.stories)

    @property
    def last_day(self) -> date:
        return max(s.last_day for s in self.stories)


def has_relation(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the warehouse has this table or view (older warehouses lack the newer ones)."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? UNION ALL "
        "SELECT count(*) FROM duckdb_views() WHERE view_name = ?",
        [name, name],
    ).fetchall()
    return any(n for (n,) in found)


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = ?",
            [table, column],
        ).fetchall()[0][0]
    )


def period(con: duckdb.DuckDBPyConnection, days: int | None, topic: str) -> Period | None:
    """The days to report on, counted back from the topic's newest day with stories.

    `days` N > 0: exactly the N days to that day; 0: every day; None (the default): the
    topic's recent activity — its last RECENT_DAYS days, reaching back to the first day of
    the storylines that run in them when that is at most REACH_DAYS before the newest day,
    so a report on talks that opened three weeks ago starts with their opening."""
    first, last = con.execute(
        "SELECT min(day), max(day) FROM stories_daily WHERE topic = ?", [topic]
    ).fetchall()[0]
    if last is None:
        return None
    if days == 0:
        return Period(first, last, "all days")
    if days is not None:
        return Period(
            last - timedelta(days=days - 1), last, f"the {days} days to the newest with stories"
        )
    start = last - timedelta(days=RECENT_DAYS - 1)
    how = f"the {RECENT_DAYS} days to the newest with stories"
    if has_relation(con, "storyline_timeline"):
        (opened,) = con.execute(
            """
            SELECT min(first_day) FROM storyline_timeline
            WHERE topic = $topic AND storyline_id IN (
                SELECT storyline_id FROM storyline_timeline
                WHERE topic = $topic AND first_day BETWEEN $start AND $last)
            """,
            {"topic": topic, "start": start, "last": last},
        ).fetchall()[0]
        if opened is not None and opened < start:
            if (last - opened).days < REACH_DAYS:
                start = opened
                how = "recent activity, from the start of its running storylines"
            else:
                how += f" (its storylines began earlier, on {opened:%d %b %Y})"
    return Period(max(start, first), last, how)


def watermark(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the warehouse last took in an article: what a later report counts as new after."""
    return con.execute("SELECT max(fetched_at) FROM articles").fetchall()[0][0]


# The stories of a topic with an article in the period. A story belongs to a topic when any
# of its articles does, as in the trend views; its reports are all its articles.
STORIES = """
WITH topic_stories AS (
    SELECT DISTINCT coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id
    FROM articles AS a JOIN article_scopes AS s USING (article_id)
    WHERE s.topic = $topic
      AND CAST(coalesce(a.published_at, a.fetched_at) AS DATE) BETWEEN $start AND $end
)
SELECT
    t.story_id,
    coalesce(st.title, arg_min(a.title, coalesce(a.published_at, a.fetched_at))) AS title,
    st.storyline_id,
    min(CAST(coalesce(a.published_at, a.fetched_at) AS DATE)) AS first_day,
    max(CAST(coalesce(a.published_at, a.fetched_at) AS DATE)) AS last_day
FROM topic_stories AS t
JOIN articles AS a ON coalesce(a.story_id, a.duplicate_of, a.article_id) = t.story_id
LEFT JOIN stories AS st ON st.story_id = t.story_id
GROUP BY t.story_id, st.title, st.storyline_id
"""

REPORTS = """
SELECT
    coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id,
    a.article_id, {outlet} AS outlet, a.feed_id, coalesce(a.title, a.url, a.article_id),
    a.url, coalesce(a.published_at, a.fetched_at) AS reported_at, a.dup_method, a.fetched_at
FROM articles AS a LEFT JOIN feeds AS f ON f.feed_id = a.feed_id
WHERE coalesce(a.story_id, a.duplicate_of, a.article_id) IN (SELECT unnest($stories))
ORDER BY reported_at, a.article_id
"""

# One row per development read in an article of these stories; `developments_named` has
# them with names, and the base tables give the same columns in warehouses without it.
DEVELOPMENTS_NAMED = """
SELECT story_id, kind, stance, actors, recipients, quantity, unit, sentence, confidence,
       article_id, url, outlet, reported_at
FROM developments_named
WHERE topic = '*' AND story_id IN (SELECT unnest($stories))
"""
DEVELOPMENTS_BASE = """
SELECT
    coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id, d.kind, d.stance,
    list_transform(coalesce(d.actor_ids, []), lambda x: coalesce(names.map[x], x)) AS actors,
    list_transform(coalesce(d.recipient_ids, []), lambda x: coalesce(names.map[x], x)) AS recipients,
    d.quantity, d.unit, d.sentence, d.confidence, d.article_id, a.url, {outlet} AS outlet,
    coalesce(a.published_at, a.fetched_at) AS reported_at
FROM developments AS d
JOIN articles AS a USING (article_id)
LEFT JOIN feeds AS f ON f.feed_id = a.feed_id
CROSS JOIN (SELECT map(list(entity_id), list(name)) AS map FROM entities) AS names
WHERE coalesce(a.story_id, a.duplicate_of, a.article_id) IN (SELECT unnest($stories))
"""


def _outlet(con: duckdb.DuckDBPyConnection) -> str:
    # An outlet is the publisher a feed belongs to (feeds.outlet); warehouses from before
    # outlets count site names, else URL hosts, as their story counts did.
    if _has_column(con, "feeds", "outlet"):
        return "coalesce(f.outlet, a.feed_id)"
    return (
        "coalesce(a.site_name, f.name, "
        "nullif(regexp_extract(a.url, '^[a-zA-Z]+://([^/:?#]+)', 1), ''), a.feed_id)"
    )


def stories(
    con: duckdb.DuckDBPyConnection, span: Period, topic: str, since: datetime | None
) -> list[Story]:
    """The topic's stories with an article in the period, each with its developments and reports.

    Reports and developments that came into the warehouse after `since` are marked new."""
    found = {
        row[0]: Story(*row)
        for row in con.execute(
            STORIES, {"topic": topic, "start": span.start, "end": span.end}
        ).fetchall()
    }
    if not found:
        return []
    ids = list(found)
    outlet = _outlet(con)
    for story_id, article_id, name, feed_id, title, url, at, copy, fetched in con.execute(
        REPORTS.format(outlet=outlet), {"stories": ids}
    ).fetchall():
        new = since is not None and fetched is not None and fetched > since
        found[story_id].reports.append(Report(article_id, name, feed_id, title, url, at, copy, new))
    arrived = {r.article_id: r.new for s in found.values() for r in s.reports}
    if has_relation(con, "developments"):
        query = (
            DEVELOPMENTS_NAMED
            if has_relation(con, "developments_named")
            else DEVELOPMENTS_BASE.format(outlet=outlet)
        )
        rows = con.execute(query, {"stories": ids}).fetchall()
        for story_id, developments in _collapse(rows, arrived).items():
            found[story_id].developments = developments
    return sorted(
        found.values(), key=lambda s: (s.first_day, s.reports[0].at if s.reports else datetime.min)
    )


def _collapse(rows: list[tuple], arrived: dict[str, bool]) -> dict[str, list[Development]]:
    """Developments of one kind and stance within a story are one (as `story_developments`):
    the actors of all, the largest quantity, the most confident sentence."""
    groups: dict[tuple[str, str, str], list[tuple]] = {}
    for row in rows:
        groups.setdefault((row[0], row[1], row[2]), []).append(row)
    out: dict[str, list[Development]] = {}
    for (story_id, kind, stance), members in groups.items():
        best = max(members, key=lambda r: (r[8] or 0, -len(r[7] or "")))
        sized = [r for r in members if r[5] is not None]
        biggest = max(sized, key=lambda r: r[5]) if sized else None
        out.setdefault(story_id, []).append(
            Development(
                kind=kind,
                stance=stance,
                actors=list(dict.fromkeys(n for r in members for n in (r[3] or []))),
                recipients=list(dict.fromkeys(n for r in members for n in (r[4] or []))),
                quantity=biggest[5] if biggest else None,
                unit=biggest[6] if biggest else None,
                sentence=best[7] or "",
                url=best[10],
                outlets=list(dict.fromkeys(r[11] for r in sorted(members, key=lambda r: r[12]))),
                articles=len({r[9] for r in members}),
                first_at=min(r[12] for r in members),
                new=all(arrived.get(r[9], False) for r in members),
            )
        )
    for developments in out.values():
        # Most widely reported first; then what happened before what was only said.
        developments.sort(key=lambda d: (-d.articles, d.stance != "occurred", d.first_at))
    return out


def storylines(
    con: duckdb.DuckDBPyConnection, found: list[Story]
) -> tuple[list[Storyline], list[Story]]:
    """The stories grouped by storyline (storylines of two or more stories of the period, most
    recently active first), and the stories that stand alone."""
    by: dict[str, list[Story]] = {}
    for story in found:
        by.setdefault(story.storyline_id or story.story_id, []).append(story)
    titles: dict[str, str] = {}
    if has_relation(con, "storylines") and by:
        titles = dict(
            con.execute(
                "SELECT storyline_id, title FROM storylines WHERE storyline_id IN (SELECT unnest(?))",
                [list(by)],
            ).fetchall()
        )
    lines, alone = [], []
    for key, members in by.items():
        if len(members) > 1:
            lines.append(Storyline(key, titles.get(key) or members[0].title, members))
        else:
            alone.extend(members)
    lines.sort(key=lambda line: (-len(line.stories), -line.last_day.toordinal(), line.storyline_id))
    alone.sort(key=lambda s: (-len(s.outlets), -len(s.reports), s.first_day))
    return lines, alone
