"""The report's charts, drawn by matplotlib as inline SVG: readable at a glance, nothing fetched."""

from __future__ import annotations

import io
import logging
from datetime import date, datetime, time, timedelta

import duckdb

from newsmon.report.content import has_relation

log = logging.getLogger(__name__)

# matplotlib's tab10 without its grey, which marks "other": nine colours no eye confuses.
PALETTE = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
]
RED, GREEN, BLUE, GREY = "#d62728", "#2ca02c", "#1f77b4", "#7f7f7f"
LIGHT = "#c7c7c7"  # tab10's light grey: the backdrop of counts
ENTITY_PANELS = 6
PLACES_AT_MOST = 3  # of the entity panels: countries and places crowd out the people otherwise


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # no display here, and none wanted
    import matplotlib.pyplot as plt

    return plt


def _svg(fig) -> str:
    """A matplotlib figure as inline SVG (no files, no scripts, nothing fetched)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    _plt().close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _style(ax, counts: bool = True) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    if counts:  # never "0.5 stories"
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def _dates(ax, days: list[date], ticks: int = 8) -> None:
    """Whole days as '16 May', at most about `ticks` of them (never hours: a report of two
    days would otherwise repeat '16 May' at every six hours)."""
    import matplotlib.dates as mdates

    ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, -(-len(days) // ticks))))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    if days:  # half a day of margin (a date minus 12 hours is the same date: datetimes)
        first, last = (datetime.combine(d, time()) for d in (days[0], days[-1]))
        ax.set_xlim(first - timedelta(hours=12), last + timedelta(hours=12))


def _figure(width: float = 9.5, height: float = 3.0, counts: bool = True):
    fig, ax = _plt().subplots(figsize=(width, height))
    _style(ax, counts)
    return fig, ax


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def entities_chart(con, start: date, end: date, topic: str) -> str | None:
    """Stories per day of the most reported entities, one small panel each (lines of many
    names on one axis tangle): at most PLACES_AT_MOST countries and places, people first."""
    ranked = con.execute(
        """
        SELECT entity_id, name, kind FROM entity_daily
        WHERE topic = ? AND day BETWEEN ? AND ?
        GROUP BY ALL ORDER BY sum(stories) DESC, sum(mentions) DESC, name LIMIT 40
        """,
        [topic, start, end],
    ).fetchall()
    leaders, places = [], 0
    for entity_id, name, kind in ranked:
        is_place = kind in ("country", "place")
        if is_place and places >= PLACES_AT_MOST:
            continue
        places += is_place
        leaders.append((entity_id, name, kind))
        if len(leaders) == ENTITY_PANELS:
            break
    if not leaders:
        return None
    rows = con.execute(
        "SELECT entity_id, day, stories FROM entity_daily WHERE topic = ? AND day BETWEEN ? AND ? "
        "AND entity_id IN (SELECT unnest(?))",
        [topic, start, end, [e for e, _, _ in leaders]],
    ).fetchall()
    by = {(e, d): n for e, d, n in rows}
    days = _days(start, end)
    columns = 3 if len(leaders) > 2 else len(leaders)
    rows_n = -(-len(leaders) // columns)
    fig, axes = _plt().subplots(
        rows_n, columns, figsize=(9.5, 1.9 * rows_n + 0.4), sharex=True, sharey=True, squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        if i >= len(leaders):
            ax.set_visible(False)
            continue
        entity_id, name, kind = leaders[i]
        values = [by.get((entity_id, d), 0) for d in days]
        colour = PALETTE[i % len(PALETTE)]
        ax.fill_between(days, values, color=colour, alpha=0.15, linewidth=0)
        ax.plot(days, values, color=colour, linewidth=1.8, marker="o", markersize=2.5)
        ax.set_title(f"{name} ({kind})", fontsize=9, loc="left", color=colour, fontweight="bold")
        _style(ax)
        _dates(ax, days, ticks=4)
        ax.tick_params(labelsize=8)
        ax.set_ylim(bottom=0)
    for ax in axes[:, 0]:
        ax.set_ylabel("stories", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return _svg(fig)


def stories_chart(con, start: date, end: date, topic: str) -> str | None:
    """Stories per day: those active that day (grey) and, of them, the new ones."""
    rows = con.execute(
        "SELECT day, new_stories, active_stories FROM stories_daily "
        "WHERE topic = ? AND day BETWEEN ? AND ? ORDER BY day",
        [topic, start, end],
    ).fetchall()
    if not rows:
        return None
    fig, ax = _figure(height=2.2)
    days = [r[0] for r in rows]
    ax.bar(days, [r[2] for r in rows], color=LIGHT, label="active that day")
    ax.bar(days, [r[1] for r in rows], width=0.5, color=BLUE, label="new that day")
    ax.set_ylabel("stories")
    _dates(ax, _days(start, end))
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.autofmt_xdate()
    return _svg(fig)


def kind_colours(kinds_by_size: list[str]) -> dict[str, str]:
    """One distinct colour per kind, largest first; beyond the palette, grey 'other'."""
    room = len(PALETTE) if len(kinds_by_size) <= len(PALETTE) else len(PALETTE) - 1
    return {kind: PALETTE[i] if i < room else GREY for i, kind in enumerate(kinds_by_size)}


def developments_chart(con, start: date, end: date, topic: str) -> str | None:
    """Developments per day and kind, each counted once per story, stacked."""
    if not has_relation(con, "development_timeline"):
        return None
    rows = con.execute(
        "SELECT day, kind, sum(stories) FROM development_timeline "
        "WHERE topic = ? AND day BETWEEN ? AND ? GROUP BY ALL ORDER BY day",
        [topic, start, end],
    ).fetchall()
    if not rows:
        return None
    totals: dict[str, int] = {}
    for _, kind, n in rows:
        totals[kind] = totals.get(kind, 0) + n
    kinds = sorted(totals, key=lambda k: (-totals[k], k))
    colours = kind_colours(kinds)
    shown = [k for k in kinds if colours[k] != GREY]
    grouped = {k: (k if k in shown else "other") for k in kinds}
    series = shown + (["other"] if len(shown) < len(kinds) else [])
    days = _days(start, end)
    by: dict[tuple[date, str], int] = {}
    for day, kind, n in rows:
        by[(day, grouped[kind])] = by.get((day, grouped[kind]), 0) + n
    fig, ax = _figure(height=3.0)
    bottom = [0] * len(days)
    for kind in series:
        values = [by.get((d, kind), 0) for d in days]
        label = kind.replace("_", " ")
        if kind == "other":
            label = f"other ({', '.join(k.replace('_', ' ') for k in kinds if k not in shown)})"
        ax.bar(days, values, bottom=bottom, color=colours.get(kind, GREY), label=label, width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("developments\n(once per story)")
    _dates(ax, days)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.autofmt_xdate()
    return _svg(fig)


def feed_health(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(feed, success rate or None, latest status, polls, latest error), in chart order."""
    return con.execute(
        "SELECT feed_id, success_rate, last_status, polls, last_error FROM feed_health "
        "ORDER BY feed_id DESC"
    ).fetchall()


def failing(rate: float | None, last_status: str | None) -> bool:
    """A feed whose latest poll failed, or that never succeeded."""
    # 0 % draws no bar at all, so a feed that never succeeded would look like an empty
    # row; it, and any feed whose latest poll failed, gets marked instead.
    return last_status == "error" or (rate is not None and rate == 0)


def percent(rate: float | None) -> str:
    return "no polls" if rate is None else f"{rate * 100:.0f} %"


def feeds_chart(con) -> str | None:
    """Success rate per feed, coloured by its latest status; failing feeds marked in red.

    A failing feed (latest poll failed, or no poll ever succeeded) gets a red tick label, a
    red cross at the end of its bar (at 0 when there is no bar) and its rate written next to
    it, so a total failure shows as an alarm, not as an empty row. Every mark carries an SVG
    id (`feed-<id>`, `feed-failed-<id>`) so the drawing can be checked.
    """
    rows = feed_health(con)
    if not rows:
        return None
    colour = {"ok": GREEN, "not_modified": BLUE, "error": RED}
    fig, ax = _figure(height=max(1.6, 0.32 * len(rows) + 0.6), counts=False)
    ax.grid(axis="y", visible=False)
    names = [r[0] for r in rows]
    bars = ax.barh(
        names, [(r[1] or 0) * 100 for r in rows], color=[colour.get(r[2], GREY) for r in rows]
    )
    for bar, (feed_id, *_rest) in zip(bars, rows, strict=True):
        bar.set_gid(f"feed-{feed_id}")
    for y, (feed_id, rate, last_status, _, _) in enumerate(rows):
        if not failing(rate, last_status):
            continue
        x = (rate or 0) * 100
        (mark,) = ax.plot([x], [y], marker="X", markersize=9, color=RED, clip_on=False)
        mark.set_gid(f"feed-failed-{feed_id}")
        why = "latest poll failed" if last_status == "error" else "no successful poll"
        ax.annotate(
            f"{percent(rate)} — {why}",
            (x, y),
            xytext=(9, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            fontweight="bold",
            color=RED,
        ).set_gid(f"feed-failed-label-{feed_id}")
        label = ax.get_yticklabels()[y]
        label.set_color(RED)
        label.set_fontweight("bold")
    ax.set_xlim(0, 100)
    ax.set_xlabel(
        "polls without error (%) — colour: latest status (green ok, blue 304, red error); "
        "red ✕: failing"
    )
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)
