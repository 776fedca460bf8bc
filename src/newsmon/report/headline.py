"""The report's headline content as markdown: what the Prefect UI shows of a report run."""

from __future__ import annotations

import logging
from pathlib import Path

from newsmon.report.content import Period, Story
from newsmon.report.page import days, key_developments, label
from newsmon.report.state import Previous

log = logging.getLogger(__name__)

TOP_STORIES = 8
MAX_CHARS = 20_000  # Prefect stores artifacts in events of at most 1.5 MB; the UI wants far less
CELL = 220  # characters of a sentence in a table cell


def cell(text: object, width: int = CELL) -> str:
    """A markdown table cell: one line, pipes escaped, cut with '…'."""
    value = " ".join(str(text or "").split()).replace("|", "\\|")
    return value if len(value) <= width else value[: width - 1].rstrip() + "…"


def _link(text: str, url: str | None) -> str:
    # Only web links: a loopback demo URL or a missing one stays plain text.
    if url and url.startswith(("http://", "https://")):
        return (
            f"[{cell(text, 120).replace(']', ')')}]({url.replace(')', '%29').replace(' ', '%20')})"
        )
    return cell(text, 120)


def markdown(
    gathered: tuple[Period | None, list[Story]],
    topic: str,
    out: Path,
    previous: Previous | None,
    more: list[str] = (),
) -> str:
    """Top stories and key developments as markdown tables, and where the report file is."""
    span, found = gathered
    scope = "all articles" if topic == "*" else f"topic `{topic}`"
    lines = [f"# newsmon report — {scope}", ""]
    lines.append(f"Report file: `{Path(out).resolve()}`")
    if span is None:
        lines += ["", "The warehouse has no articles for this topic yet."]
        return "\n".join(lines) + "\n"
    lines.append(f"Period: {span.start} – {span.end} ({span.how})")
    if previous is not None:
        new = sum(s.new for s in found)
        updated = sum(s.updated for s in found)
        developments = sum(d.new for s in found for d in s.developments)
        lines.append(
            f"Since the previous report ({previous.written_at:%Y-%m-%d %H:%M} UTC): "
            f"**{new} new stories**, {updated} with new reports, **{developments} new developments**"
        )
    top = sorted(found, key=lambda s: (-len(s.outlets), -len(s.reports), s.first_day))[:TOP_STORIES]
    lines += [
        "",
        "## Top stories",
        "",
        "| story | days | outlets | developments |",
        "|---|---|---|---|",
    ]
    for story in top:
        mark = " **new**" if story.new else (" *new reports*" if story.updated else "")
        developments = "; ".join(
            f"{label(d.kind)} ({label(d.stance)}{', ' + d.how_many if d.how_many else ''})"
            for d in story.developments[:4]
        )
        lines.append(
            f"| {_link(story.title, story.reports[0].url if story.reports else None)}{mark} "
            f"| {days(story.first_day, story.last_day)} | {cell(', '.join(story.outlets), 120)} "
            f"| {cell(developments) or '—'} |"
        )
    pairs = key_developments(found)
    if pairs:
        lines += [
            "",
            "## Key developments",
            "",
            "| day | development | who | how many | what was reported | outlets |",
            "|---|---|---|---|---|---|",
        ]
        for _story, d in pairs:
            lines.append(
                f"| {d.first_at:%d %b} | {label(d.kind)} ({label(d.stance)}) | {cell(d.who, 80)} "
                f"| {cell(d.how_many, 40)} | {cell(d.sentence)} | {cell(', '.join(d.outlets), 80)} |"
            )
    lines += list(more)  # further sections (disputed figures, what changed)
    text = "\n".join(lines) + "\n"
    if len(text) > MAX_CHARS:  # never expected with the caps above; a guard, not a layout
        text = text[: MAX_CHARS - 40].rsplit("\n", 1)[0] + "\n\n(cut: see the report file)\n"
    return text
