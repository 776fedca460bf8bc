"""The report as one HTML page: what is new, the storylines and their stories, then the charts."""

from __future__ import annotations

import html
import logging
from datetime import datetime, timedelta

from newsmon.report.charts import RED
from newsmon.report.content import Development, Period, Report, Story, Storyline
from newsmon.report.state import Previous

log = logging.getLogger(__name__)

STORYLINES_SHOWN = 6
STORIES_PER_STORYLINE = 12
OTHER_STORIES_SHOWN = 10  # as cards; the rest in a table
DEVELOPMENTS_PER_STORY = 6
REPORTS_PER_STORY = 8  # shown at once; the rest folded
KEY_DEVELOPMENTS = 10

COPY = {"hash": "same text", "near": "near-identical text", "url": "updated version"}


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def label(kind: str) -> str:
    return kind.replace("_", " ")


def day(value) -> str:
    return f'<span class="day">{value:%d %b}</span>'


def days(first, last) -> str:
    if first == last:
        return f"{first:%d %b}"
    if first.month == last.month:
        return f"{first:%d}–{last:%d %b}"
    return f"{first:%d %b} – {last:%d %b}"


def when(at: datetime) -> str:
    return f'<time datetime="{at:%Y-%m-%dT%H:%M}">{at:%d %b %H:%M}</time>'


def lag(delta: timedelta) -> str:
    """'+40 min', '+3 h', '+2 d'."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"+{minutes} min"
    if minutes < 48 * 60:
        return f"+{minutes // 60} h"
    return f"+{minutes // (24 * 60)} d"


def link(url: str | None, text: str) -> str:
    if not url:
        return esc(text)
    return f'<a href="{esc(url)}">{esc(text)}</a>'


def badge(new: bool, updated: bool = False) -> str:
    if new:
        return ' <span class="badge new">new</span>'
    if updated:
        return ' <span class="badge updated">new reports</span>'
    return ""


def development_row(d: Development, story: Story | None = None) -> str:
    """One development: when (with a story: the day and the story's link), kind, stance and
    how many, who, the sentence linked to its article, and the outlets that carried it."""
    day_cell = f'<td class="nowrap">{d.first_at:%d %b}</td>' if story else ""
    in_story = (
        f'<br><span class="meta">story: <a href="#story-{esc(story.story_id)}">{esc(story.title)}</a></span>'
        if story
        else ""
    )
    if len(d.outlets) <= 2:
        carried = esc(", ".join(d.outlets)) + (
            f" ({d.articles} articles)" if d.articles > 1 else ""
        )
    else:  # the first outlet, and how widely it was carried (all of them on hover)
        carried = f"first: {esc(d.outlets[0])}<br>{len(d.outlets)} outlets, {d.articles} articles"
    return (
        f'<tr class="development{" is-new" if d.new else ""}">{day_cell}'
        f'<td class="nowrap"><span class="kind">{esc(label(d.kind))}</span><br>'
        f'<span class="stance stance-{esc(d.stance)}">{esc(label(d.stance))}</span>{badge(d.new)}'
        f"{'<br>' + esc(d.how_many) if d.how_many else ''}</td>"
        f'<td class="who">{esc(names(d))}</td>'
        f'<td class="sentence">{esc(d.sentence)} {link(d.url, "↗") if d.url else ""}{in_story}</td>'
        f'<td class="outlets" title="{esc(", ".join(d.outlets))}">{carried}</td></tr>'
    )


HEADER = "<th>development</th><th>who</th><th>what was reported</th><th>carried by</th>"


def developments_table(developments: list[Development], limit: int | None = None) -> str:
    shown = developments if limit is None else developments[:limit]
    if not shown:
        return '<p class="empty">No developments read in its articles.</p>'
    more = len(developments) - len(shown)
    tail = f'<p class="meta">… and {more} more developments.</p>' if more > 0 else ""
    return (
        f'<table class="developments"><thead><tr>{HEADER}</tr></thead>'
        f"<tbody>{''.join(development_row(d) for d in shown)}</tbody></table>{tail}"
    )


def _report_item(report: Report, first: datetime) -> str:
    behind = report.at - first
    extras = []
    if behind > timedelta(0):
        extras.append(f'<span class="lag">{lag(behind)}</span>')
    if report.copy:
        extras.append(f'<span class="copy">{COPY.get(report.copy, report.copy)}</span>')
    if report.new:
        extras.append('<span class="badge new">new</span>')
    return (
        f'<li class="report"><span class="outlet" title="feed {esc(report.feed_id)}">'
        f"{esc(report.outlet)}</span> {link(report.url, report.title)} "
        f'<span class="nowrap meta">{when(report.at)} {" ".join(extras)}</span></li>'
    )


def reports_list(reports: list[Report]) -> str:
    """The story's reports, first report first, each with its lag behind the first."""
    if not reports:
        return ""
    first = reports[0].at
    items = [_report_item(r, first) for r in reports]
    shown = "".join(items[:REPORTS_PER_STORY])
    rest = items[REPORTS_PER_STORY:]
    folded = (
        f"<details><summary>{len(rest)} more reports</summary>"
        f'<ul class="reports">{"".join(rest)}</ul></details>'
        if rest
        else ""
    )
    return f'<ul class="reports">{shown}</ul>{folded}'


def story_card(story: Story) -> str:
    outlets = story.outlets
    first = f"; first: {esc(outlets[0])}" if outlets else ""
    return (
        f'<article class="story" id="story-{esc(story.story_id)}">'
        f"<h4>{esc(story.title)}{badge(story.new, story.updated)}</h4>"
        f'<p class="meta"><span class="nowrap">{days(story.first_day, story.last_day)}</span> · '
        f"{len(story.reports)} reports from {len(outlets)} outlets{first}</p>"
        f"{developments_table(story.developments, DEVELOPMENTS_PER_STORY)}"
        f"{reports_list(story.reports)}</article>"
    )


def storyline_block(line: Storyline) -> str:
    """A storyline: its events as a timeline (linking to their cards), then the cards."""
    stories = line.stories[-STORIES_PER_STORYLINE:]
    items = "".join(
        f'<li>{day(s.first_day)} <a href="#story-{esc(s.story_id)}">{esc(s.title)}</a>'
        f' <span class="meta">({len(s.reports)} articles, {len(s.outlets)} outlets)</span>'
        f"{badge(s.new, s.updated)}</li>"
        for s in stories
    )
    earlier = len(line.stories) - len(stories)
    note = (
        f'<p class="meta">{earlier} earlier stories of this storyline not shown.</p>'
        if earlier
        else ""
    )
    return (
        f'<div class="storyline"><h3>{esc(line.title)}</h3>'
        f'<p class="meta">{days(line.first_day, line.last_day)} · {len(line.stories)} stories</p>'
        f'<ol class="timeline">{items}</ol></div>{note}' + "".join(story_card(s) for s in stories)
    )


def key_developments(found: list[Story]) -> list[tuple[Story, Development]]:
    """The developments of the period most widely reported, one line each."""
    pairs = [(s, d) for s in found for d in s.developments]
    pairs.sort(
        key=lambda p: (-p[1].articles, -len(p[1].outlets), p[1].stance != "occurred", p[1].first_at)
    )
    return pairs[:KEY_DEVELOPMENTS]


def key_developments_table(pairs: list[tuple[Story, Development]]) -> str:
    if not pairs:
        return '<p class="empty">No developments read in this period.</p>'
    return (
        f'<table class="developments key"><thead><tr><th>day</th>{HEADER}</tr></thead>'
        f"<tbody>{''.join(development_row(d, s) for s, d in pairs)}</tbody></table>"
    )


def names(d: Development, most: int = 5) -> str:
    """Who: actors (and recipients after an arrow), at most `most` names of each."""

    def cut(values: list[str]) -> str:
        more = len(values) - most
        return ", ".join(values[:most]) + (f" +{more}" if more > 0 else "")

    return cut(d.actors) + (f" → {cut(d.recipients)}" if d.recipients else "")


def since_section(found: list[Story], previous: Previous | None) -> str:
    if previous is None:
        return (
            '<p class="meta">No earlier report of this topic in this file: from the next one '
            'on, what came in since is marked <span class="badge new">new</span>.</p>'
        )
    new = [s for s in found if s.new]
    updated = [s for s in found if s.updated]
    developments = [(s, d) for s in found for d in s.developments if d.new]
    head = (
        f"<p>Since the previous report (written {previous.written_at:%d %b %Y %H:%M} UTC): "
        f"<strong>{len(new)} new stories</strong>, {len(updated)} with new reports, "
        f"<strong>{len(developments)} new developments</strong>.</p>"
    )
    items = "".join(
        f'<li><a href="#story-{esc(s.story_id)}">{esc(s.title)}</a>{badge(s.new, s.updated)}'
        f' <span class="meta">({len(s.outlets)} outlets)</span></li>'
        for s in new + updated
    )
    return head + (f'<ul class="since">{items}</ul>' if items else "")


def stories_table(found: list[Story]) -> str:
    rows = "".join(
        f"<tr><td>{link(s.reports[0].url if s.reports else None, s.title)}{badge(s.new, s.updated)}</td>"
        f'<td class="nowrap">{s.first_day:%Y-%m-%d}</td><td>{len(s.reports)}</td>'
        f"<td>{len(s.outlets)}</td><td>{esc(', '.join(s.outlets))}</td></tr>"
        for s in found
    )
    return (
        '<table class="stories"><thead><tr><th>story</th><th class="nowrap">first seen</th>'
        "<th>articles</th><th>outlets</th><th>carried by</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def chart(title: str, svg: str | None, note: str = "") -> str:
    content = (
        f'<div class="chart">{svg}</div>{note}'
        if svg
        else '<p class="empty">Nothing to show for this period.</p>'
    )
    return f"<section><h2>{esc(title)}</h2>{content}</section>"


CSS = f"""
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1f2328;
  padding: 0 1rem; line-height: 1.4; }}
h1 {{ font-size: 1.5rem; margin-bottom: .2rem; }}
h2 {{ font-size: 1.2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; margin-top: 2rem; }}
h3 {{ font-size: 1.05rem; margin-bottom: .1rem; }} h4 {{ font-size: 1rem; margin: 0 0 .2rem; }}
a {{ color: #0550ae; }}
.meta {{ color: #57606a; }} .nowrap, .day, time {{ white-space: nowrap; }}
.chart svg {{ width: 100%; height: auto; }}
table {{ border-collapse: collapse; width: 100%; font-size: .88rem; margin: .4rem 0; }}
td, th {{ border-bottom: 1px solid #eaeef2; padding: .3rem .45rem; text-align: left; vertical-align: top; }}
th {{ background: #f6f8fa; }}
.empty {{ color: #57606a; font-style: italic; }}
.failing {{ color: {RED}; border-left: 4px solid {RED}; padding: .1rem .8rem; }}
.failing .feed {{ font-weight: bold; }}
.timeline {{ list-style: none; padding-left: .8rem; border-left: 3px solid #1f77b4; }}
.timeline li {{ margin: .25rem 0; }} .timeline .day {{ font-weight: bold; }}
.story {{ border: 1px solid #d0d7de; border-radius: 6px; padding: .6rem .8rem; margin: .8rem 0; }}
.story:target {{ outline: 2px solid #1f77b4; }}
.kind {{ font-weight: 600; }}
.changes .added {{ color: #116329; }} .changes .removed {{ color: {RED}; }}
.changes .flag {{ background: #fff8c5; }}
.stance {{ font-size: .8rem; border-radius: 3px; padding: 0 .3rem; background: #eaeef2; }}
.stance-occurred {{ background: #dafbe1; }} .stance-agreed {{ background: #ddf4ff; }}
.stance-rejected, .stance-denied {{ background: #ffebe9; }}
.stance-proposed, .stance-called_for {{ background: #fff8c5; }}
.sentence {{ min-width: 22rem; }} .who {{ min-width: 7rem; max-width: 14rem; }}
.outlets {{ max-width: 13rem; font-size: .8rem; color: #57606a; }}
.badge {{ font-size: .72rem; font-weight: bold; border-radius: 3px; padding: 0 .3rem; color: white;
  vertical-align: middle; }}
.badge.new {{ background: #1a7f37; }} .badge.updated {{ background: #9a6700; }}
.reports {{ list-style: none; padding-left: 0; margin: .4rem 0 0; font-size: .9rem; }}
.reports li {{ margin: .15rem 0; }}
.outlet {{ display: inline-block; min-width: 9rem; font-weight: 600; color: #57606a; }}
.lag {{ color: #57606a; }} .copy {{ font-size: .8rem; background: #f6f8fa; border-radius: 3px;
  padding: 0 .3rem; }}
"""


def document(
    *,
    scope: str,
    span: Period | None,
    generated: datetime,
    sections: list[str],
) -> str:
    span_text = f"{span.start} – {span.end} ({span.how})" if span else "no data"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>newsmon report — {esc(scope)}</title>
<style>{CSS}</style></head>
<body>
<h1>newsmon report — {esc(scope)}</h1>
<p class="meta">{esc(span_text)} · generated {generated:%Y-%m-%d %H:%M} UTC</p>
{"".join(sections)}
</body></html>
"""
