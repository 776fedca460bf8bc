"""The analyst's morning page: one self-contained HTML file per topic, with charts (inline SVG).

Steps, one module each: `content` chooses the period and reads the storylines, stories,
developments and reports in it; `state` remembers the previous report written to the same
file, so what came in since is marked new; `charts` draws; `page` writes the HTML;
`headline` gives the same content in a few lines of markdown (the Prefect artifact)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from newsmon.report import charts, content, disputes, headline, page, state
from newsmon.report.charts import (
    PALETTE,
    RED,
    developments_chart,
    entities_chart,
    feeds_chart,
    stories_chart,
)
from newsmon.report.content import Period, Story, Storyline

log = logging.getLogger(__name__)

__all__ = [
    "PALETTE",
    "RED",
    "Period",
    "Story",
    "Storyline",
    "build",
    "default_path",
    "developments_chart",
    "entities_chart",
    "failing_feeds",
    "feeds_chart",
    "headline",
    "stories_chart",
    "write",
    "write_with_headline",
]


def default_path(db: Path, topic: str = "*") -> Path:
    """Where a report goes by default: next to the warehouse, one file per topic."""
    name = "report.html" if topic == "*" else f"report-{topic}.html"
    return Path(db).parent / name


def failing_feeds(con) -> list[tuple[str, str, str | None]]:
    """Feeds whose latest poll failed or that never succeeded: (feed, rate text, last error)."""
    return [
        (feed_id, charts.percent(rate) + (f" of {polls} polls" if polls else ""), error)
        for feed_id, rate, last_status, polls, error in charts.feed_health(con)
        if charts.failing(rate, last_status)
    ]


def _failing_list(failing: list[tuple[str, str, str | None]]) -> str:
    if not failing:
        return ""
    items = "".join(
        f'<li><span class="feed">{page.esc(feed_id)}</span>: {page.esc(rate)} succeeded'
        + (f"; latest error: {page.esc(error)}" if error else "")
        + "</li>"
        for feed_id, rate, error in failing
    )
    noun = "feed is" if len(failing) == 1 else "feeds are"
    return (
        f'<div class="failing"><p><strong>{len(failing)} {noun} failing</strong> '
        f"(latest poll failed, or no poll succeeded):</p><ul>{items}</ul></div>"
    )


def gather(
    con: duckdb.DuckDBPyConnection,
    days: int | None = None,
    topic: str = "*",
    previous: state.Previous | None = None,
) -> tuple[content.Period | None, list[Story]]:
    """The period and its stories (with developments and reports), new ones marked."""
    span = content.period(con, days, topic)
    if span is None:
        return None, []
    # After an empty warehouse's report, everything is new.
    since = (previous.watermark or datetime.min) if previous else None
    return span, content.stories(con, span, topic, since)


def build(
    con: duckdb.DuckDBPyConnection,
    days: int | None = None,
    topic: str = "*",
    previous: state.Previous | None = None,
    gathered: tuple[content.Period | None, list[Story]] | None = None,
) -> str:
    """The report as one HTML document. `days`: None, the topic's recent activity (see
    `content.period`); N, the N days to the newest with stories; 0, every day."""
    span, found = gathered or gather(con, days, topic, previous)
    sections = []
    if span is None:
        sections.append("<p>The warehouse has no articles for this topic yet.</p>")
    else:
        lines, alone = content.storylines(con, found)
        sections.append(
            '<section id="since"><h2>New since the previous report</h2>'
            + page.since_section(found, previous)
            + "</section>"
        )
        sections.append(
            '<section id="key"><h2>Key developments</h2>'
            + page.key_developments_table(page.key_developments(found))
            + "</section>"
        )
        if lines:
            shown = lines[: page.STORYLINES_SHOWN]
            more = len(lines) - len(shown)
            sections.append(
                "<section><h2>Storylines</h2>"
                + "".join(page.storyline_block(line) for line in shown)
                + (f'<p class="meta">{more} smaller storylines not shown.</p>' if more else "")
                + "</section>"
            )
        cards = [s for s in alone if s.developments or len(s.outlets) > 1][
            : page.OTHER_STORIES_SHOWN
        ]
        if cards:
            sections.append(
                "<section><h2>Other stories</h2>"
                + "".join(page.story_card(s) for s in cards)
                + "</section>"
            )
        sections.append(disputes.disputes_section(con, found))
        sections.append(disputes.changes_section(con, found))
        ranked = sorted(found, key=lambda s: (-len(s.outlets), -len(s.reports), s.first_day))[:20]
        sections.append(
            "<section><h2>Most reported stories</h2>" + page.stories_table(ranked) + "</section>"
        )
        sections.append(
            page.chart(
                "Developments timeline", developments_chart(con, span.start, span.end, topic)
            )
        )
        sections.append(
            page.chart("Top entities over time", entities_chart(con, span.start, span.end, topic))
        )
        sections.append(
            page.chart("Stories per day", stories_chart(con, span.start, span.end, topic))
        )
    feeds_svg = feeds_chart(con)
    sections.append(
        page.chart("Feed health", feeds_svg, _failing_list(failing_feeds(con)))
        if feeds_svg
        else '<section><h2>Feed health</h2><p class="empty">No feeds polled yet.</p></section>'
    )
    scope = "all articles" if topic == "*" else f"topic {topic}"
    return page.document(scope=scope, span=span, generated=datetime.now(UTC), sections=sections)


def write(
    con: duckdb.DuckDBPyConnection, out: Path, days: int | None = None, topic: str = "*"
) -> Path:
    """Write the report to `out`, marking what came in since the previous report written
    there (remembered in `<out stem>.state.json` beside it)."""
    return write_with_headline(con, out, days, topic)[0]


def write_with_headline(
    con: duckdb.DuckDBPyConnection, out: Path, days: int | None = None, topic: str = "*"
) -> tuple[Path, str]:
    """Write the report as `write` does; also return its headline content as markdown."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = state.read(out, topic)
    gathered = gather(con, days, topic, previous)
    written_at = datetime.now(UTC).replace(tzinfo=None)
    mark = content.watermark(con)
    out.write_text(build(con, days, topic, previous, gathered), encoding="utf-8")
    state.save(out, topic, written_at, mark)
    more = disputes.markdown(con, gathered[1])
    return out, headline.markdown(gathered, topic, out, previous, more)
