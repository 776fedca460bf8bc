"""A self-contained HTML report with charts (inline SVG): entities, developments, stories, feeds."""

from __future__ import annotations

import html
import io
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

PALETTE = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7d8c", "#57606a"]


def _svg(fig) -> str:
    """A matplotlib figure as inline SVG (no files, no scripts, nothing fetched)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figure(width: float = 9.5, height: float = 3.2):
    import matplotlib

    matplotlib.use("Agg")  # no display here, and none wanted
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    return fig, ax


def _period(con: duckdb.DuckDBPyConnection, days: int, topic: str) -> tuple[date, date] | None:
    last = con.execute("SELECT max(day) FROM stories_daily WHERE topic = ?", [topic]).fetchall()[0][
        0
    ]
    if last is None:
        return None
    if days <= 0:  # all days, as `newsmon query --days 0`
        first = con.execute(
            "SELECT min(day) FROM stories_daily WHERE topic = ?", [topic]
        ).fetchall()[0][0]
        return first, last
    return last - timedelta(days=days - 1), last


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? UNION ALL "
        "SELECT count(*) FROM duckdb_views() WHERE view_name = ?",
        [name, name],
    ).fetchall()
    return any(n for (n,) in found)


def entities_chart(con, start: date, end: date, topic: str, top: int = 8) -> str | None:
    """Stories per day of the most reported entities."""
    leaders = con.execute(
        """
        SELECT entity_id, name FROM entity_daily
        WHERE topic = ? AND day BETWEEN ? AND ?
        GROUP BY ALL ORDER BY sum(stories) DESC, name LIMIT ?
        """,
        [topic, start, end, top],
    ).fetchall()
    if not leaders:
        return None
    rows = con.execute(
        "SELECT entity_id, day, stories FROM entity_daily WHERE topic = ? AND day BETWEEN ? AND ?",
        [topic, start, end],
    ).fetchall()
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    by = {(e, d): n for e, d, n in rows}
    fig, ax = _figure()
    for i, (entity_id, name) in enumerate(leaders):
        ax.plot(
            days,
            [by.get((entity_id, d), 0) for d in days],
            marker="o",
            markersize=3,
            linewidth=1.6,
            color=PALETTE[i % len(PALETTE)],
            label=name,
        )
    ax.set_ylabel("stories mentioning")
    ax.legend(fontsize=8, ncols=2, frameon=False)
    fig.autofmt_xdate()
    return _svg(fig)


def stories_chart(con, start: date, end: date, topic: str) -> str | None:
    """New and active stories per day."""
    rows = con.execute(
        "SELECT day, new_stories, active_stories FROM stories_daily WHERE topic = ? AND day BETWEEN ? AND ? ORDER BY day",
        [topic, start, end],
    ).fetchall()
    if not rows:
        return None
    fig, ax = _figure()
    ax.bar([r[0] for r in rows], [r[2] for r in rows], color="#c8d1dc", label="active stories")
    ax.bar([r[0] for r in rows], [r[1] for r in rows], color=PALETTE[0], label="new stories")
    ax.set_ylabel("stories")
    ax.legend(fontsize=8, frameon=False)
    fig.autofmt_xdate()
    return _svg(fig)


def developments_chart(con, start: date, end: date, topic: str) -> str | None:
    """Developments per day and kind, each counted once per story."""
    if not _has_table(con, "development_timeline"):
        return None
    rows = con.execute(
        "SELECT day, kind, sum(stories) FROM development_timeline WHERE topic = ? AND day BETWEEN ? AND ? GROUP BY ALL ORDER BY day",
        [topic, start, end],
    ).fetchall()
    if not rows:
        return None
    kinds = sorted({k for _, k, _ in rows})
    days = sorted({d for d, _, _ in rows})
    by = {(d, k): n for d, k, n in rows}
    fig, ax = _figure()
    bottom = [0] * len(days)
    for i, kind in enumerate(kinds):
        values = [by.get((d, kind), 0) for d in days]
        ax.bar(days, values, bottom=bottom, color=PALETTE[i % len(PALETTE)], label=kind)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("developments (per story)")
    ax.legend(fontsize=8, ncols=3, frameon=False)
    fig.autofmt_xdate()
    return _svg(fig)


def _feed_health(con) -> list[tuple]:
    """(feed, success rate or None, latest status, polls, latest error), in chart order."""
    return con.execute(
        "SELECT feed_id, success_rate, last_status, polls, last_error FROM feed_health "
        "ORDER BY feed_id DESC"
    ).fetchall()


def _failing(rate: float | None, last_status: str | None) -> bool:
    # 0 % draws no bar at all, so a feed that never succeeded would look like an empty
    # row; it, and any feed whose latest poll failed, gets marked instead.
    return last_status == "error" or (rate is not None and rate == 0)


def _percent(rate: float | None) -> str:
    return "no polls" if rate is None else f"{rate * 100:.0f} %"


def feeds_chart(con) -> str | None:
    """Success rate per feed, coloured by its latest status; failing feeds marked in red.

    A failing feed (latest poll failed, or no poll ever succeeded) gets a red tick label, a
    red cross at the end of its bar (at 0 when there is no bar) and its rate written next to
    it, so a total failure shows as an alarm, not as an empty row. Every mark carries an SVG
    id (`feed-<id>`, `feed-failed-<id>`) so the drawing can be checked.
    """
    rows = _feed_health(con)
    if not rows:
        return None
    red = PALETTE[1]
    colour = {"ok": PALETTE[2], "not_modified": PALETTE[0], "error": red}
    fig, ax = _figure(height=max(1.6, 0.32 * len(rows) + 0.6))
    names = [r[0] for r in rows]
    bars = ax.barh(
        names,
        [(r[1] or 0) * 100 for r in rows],
        color=[colour.get(r[2], "#888") for r in rows],
    )
    for bar, (feed_id, *_rest) in zip(bars, rows, strict=True):
        bar.set_gid(f"feed-{feed_id}")
    for y, (feed_id, rate, last_status, _, _) in enumerate(rows):
        if not _failing(rate, last_status):
            continue
        x = (rate or 0) * 100
        (mark,) = ax.plot([x], [y], marker="X", markersize=9, color=red, clip_on=False)
        mark.set_gid(f"feed-failed-{feed_id}")
        why = "latest poll failed" if last_status == "error" else "no successful poll"
        ax.annotate(
            f"{_percent(rate)} — {why}",
            (x, y),
            xytext=(9, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            fontweight="bold",
            color=red,
        ).set_gid(f"feed-failed-label-{feed_id}")
        label = ax.get_yticklabels()[y]
        label.set_color(red)
        label.set_fontweight("bold")
    ax.set_xlim(0, 100)
    ax.set_xlabel(
        "polls without error (%) — colour: latest status (green ok, blue 304, red error); "
        "red ✕: failing"
    )
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)


def failing_feeds(con) -> list[tuple[str, str, str | None]]:
    """Feeds whose latest poll failed or that never succeeded: (feed, rate text, last error)."""
    return [
        (feed_id, _percent(rate) + (f" of {polls} polls" if polls else ""), error)
        for feed_id, rate, last_status, polls, error in _feed_health(con)
        if _failing(rate, last_status)
    ]


def _failing_list(failing: list[tuple[str, str, str | None]]) -> str:
    if not failing:
        return ""
    items = "".join(
        f'<li><span class="feed">{html.escape(feed_id)}</span>: {html.escape(rate)} succeeded'
        + (f"; latest error: {html.escape(error)}" if error else "")
        + "</li>"
        for feed_id, rate, error in failing
    )
    noun = "feed is" if len(failing) == 1 else "feeds are"
    return (
        f'<div class="failing"><p><strong>{len(failing)} {noun} failing</strong> '
        f"(latest poll failed, or no poll succeeded):</p><ul>{items}</ul></div>"
    )


def _table(header: list[str], rows: list[tuple]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def storylines_section(con, start: date, end: date, topic: str, top: int = 3) -> str | None:
    """The largest storylines of the period, each as a timeline of its events."""
    if not _has_table(con, "storylines"):
        return None
    rows = con.execute(
        """
        SELECT storyline_id, storyline, first_day, event, articles, outlets, linked_by
        FROM storyline_timeline
        WHERE topic = ? AND storyline_id IN (
            SELECT storyline_id FROM storyline_timeline
            WHERE topic = ? AND first_day BETWEEN ? AND ?
            GROUP BY storyline_id HAVING count(*) > 1
            ORDER BY count(*) DESC, sum(articles) DESC, storyline_id LIMIT ?)
        ORDER BY storyline_id, first_day, story_id
        """,
        [topic, topic, start, end, top],
    ).fetchall()
    if not rows:
        return None
    lines: dict[str, list[tuple]] = {}
    for row in rows:
        lines.setdefault(row[0], []).append(row)
    parts = []
    for events in sorted(lines.values(), key=lambda e: (-len(e), e[0][0])):
        items = "".join(
            f'<li><span class="day">{day:%d %b}</span> {html.escape(event or "")}'
            f' <span class="meta">({articles} articles, {outlets} outlets)</span></li>'
            for _, _, day, event, articles, outlets, _ in events
        )
        parts.append(
            f'<div class="storyline"><h3>{html.escape(events[0][1] or "")}</h3>'
            f'<ol class="timeline">{items}</ol></div>'
        )
    return "".join(parts)


def build(con: duckdb.DuckDBPyConnection, days: int = 14, topic: str = "*") -> str:
    """The report as one HTML document."""
    period = _period(con, days, topic)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = []
    if period is None:
        sections.append("<p>The warehouse has no articles for this topic yet.</p>")
    else:
        start, end = period
        charts = [
            ("Top entities over time", entities_chart(con, start, end, topic)),
            ("Developments timeline", developments_chart(con, start, end, topic)),
            ("Stories per day", stories_chart(con, start, end, topic)),
        ]
        for title, svg in charts:
            content = (
                f'<div class="chart">{svg}</div>'
                if svg
                else '<p class="empty">Nothing to show for this period.</p>'
            )
            sections.append(f"<section><h2>{title}</h2>{content}</section>")
        top_stories = con.execute(
            """
            SELECT s.title, s.first_seen_at::DATE, s.article_count, s.outlet_count
            FROM stories AS s
            WHERE s.first_seen_at::DATE BETWEEN ? AND ?
              AND (? = '*' OR s.story_id IN (
                  SELECT coalesce(a.story_id, a.article_id) FROM articles a
                  JOIN article_topics t USING (article_id) WHERE t.topic = ?))
            ORDER BY s.outlet_count DESC, s.article_count DESC LIMIT 15
            """,
            [start, end, topic, topic],
        ).fetchall()
        timelines = storylines_section(con, start, end, topic)
        if timelines:
            sections.append(f"<section><h2>Storylines</h2>{timelines}</section>")
        sections.append(
            "<section><h2>Most reported stories</h2>"
            + _table(["story", "first seen", "articles", "outlets"], top_stories)
            + "</section>"
        )
    feeds_svg = feeds_chart(con)
    sections.append(
        "<section><h2>Feed health</h2>"
        + (
            f'<div class="chart">{feeds_svg}</div>' + _failing_list(failing_feeds(con))
            if feeds_svg
            else '<p class="empty">No feeds polled yet.</p>'
        )
        + "</section>"
    )
    scope = "all articles" if topic == "*" else f"topic {topic}"
    span = f"{period[0]} – {period[1]}" if period else "no data"
    period_text = "all days" if days <= 0 else f"the {days} days to the newest with stories"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>newsmon report — {html.escape(scope)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; color: #1f2328; }}
h1 {{ font-size: 1.5rem; }} h2 {{ font-size: 1.15rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }}
.meta {{ color: #57606a; }} .chart svg {{ width: 100%; height: auto; }}
table {{ border-collapse: collapse; width: 100%; font-size: .9rem; }}
td, th {{ border-bottom: 1px solid #eaeef2; padding: .3rem .5rem; text-align: left; }}
.empty {{ color: #57606a; font-style: italic; }}
.failing {{ color: #d1242f; border-left: 4px solid #d1242f; padding: .1rem .8rem; }}
.failing .feed {{ font-weight: bold; }}
h3 {{ font-size: 1rem; margin-bottom: .2rem; }}
.timeline {{ list-style: none; padding-left: .8rem; border-left: 3px solid #0969da; }}
.timeline li {{ margin: .25rem 0; }} .timeline .day {{ font-weight: bold; white-space: nowrap; }}
</style></head>
<body>
<h1>newsmon report</h1>
<p class="meta">{html.escape(scope)} · {html.escape(span)} ({period_text}) · generated {generated}</p>
{"".join(sections)}
</body></html>
"""


def write(con: duckdb.DuckDBPyConnection, out: Path, days: int = 14, topic: str = "*") -> Path:
    """Write the report to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build(con, days, topic), encoding="utf-8")
    return out
