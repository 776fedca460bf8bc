"""Two report sections read from the warehouse's views: the figures outlets disagree on
(`disputed_quantities`) and the articles an outlet changed in place (`article_changes`)."""

from __future__ import annotations

from itertools import groupby

import duckdb

from newsmon.report.content import Story, has_relation
from newsmon.report.page import esc, label, link, when

CHANGES_SHOWN = 12
SENTENCES_SHOWN = 3


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _disputes(con: duckdb.DuckDBPyConnection, found: list[Story]) -> list[tuple]:
    ids = [s.story_id for s in found]
    if not ids or not has_relation(con, "disputed_quantities"):
        return []
    return con.execute(
        """
        SELECT story_id, title, kind, unit, lowest, highest, quantity, outlet, stance,
               sentence, url
        FROM disputed_quantities WHERE story_id IN (SELECT unnest(?))
        ORDER BY story_id, kind, unit, quantity, outlet
        """,
        [ids],
    ).fetchall()


def _changes(con: duckdb.DuckDBPyConnection, found: list[Story]) -> list[tuple]:
    ids = [s.story_id for s in found]
    if not ids or not has_relation(con, "article_changes"):
        return []
    return con.execute(
        """
        SELECT changed_at, outlet, url, title_before, title_after, title_changed,
               sentences_added, sentences_removed, developments_added, developments_removed
        FROM article_changes WHERE story_id IN (SELECT unnest(?))
        ORDER BY changed_at DESC NULLS LAST, article_id LIMIT ?
        """,
        [ids, CHANGES_SHOWN],
    ).fetchall()


def _developments(added: list | None, removed: list | None) -> list[tuple[str, str, str]]:
    """("appeared" or "gone", "kind stance", sentence) of the developments a change flags."""
    return [
        ("appeared", f"{label(d['kind'])} {d['stance']}", d["sentence"]) for d in added or []
    ] + [("gone", f"{label(d['kind'])} {d['stance']}", d["sentence"]) for d in removed or []]


def markdown(con: duckdb.DuckDBPyConnection, found: list[Story]) -> list[str]:
    """Both sections as markdown lines for the report run's artifact (none when empty)."""
    from newsmon.report.headline import cell

    lines: list[str] = []
    disputed = _disputes(con, found)
    if disputed:
        lines += ["", "## Disputed figures", "", "| story | kind | figure | outlet | sentence |"]
        lines.append("|---|---|---|---|---|")
        for _, title, kind, unit, _, _, quantity, outlet, _, sentence, _ in disputed:
            figure = f"{_number(quantity)} {unit or ''}".strip()
            lines.append(
                f"| {cell(title, 80)} | {label(kind)} | {figure} | {cell(outlet, 40)} "
                f"| {cell(sentence, 160)} |"
            )
    changed = _changes(con, found)
    if changed:
        lines += [
            "",
            "## What changed",
            "",
            "| when | outlet | headline | was | sentences | developments |",
        ]
        lines.append("|---|---|---|---|---|---|")
        for at, outlet, _, before, after, title_changed, added, removed, *devs in changed:
            flagged = "; ".join(f"{what}: {name}" for what, name, _ in _developments(*devs))
            lines.append(
                f"| {f'{at:%d %b %H:%M}' if at else '—'} | {cell(outlet, 40)} | {cell(after, 100)} "
                f"| {cell(before, 100) if title_changed else '—'} "
                f"| +{len(added or [])} −{len(removed or [])} | {cell(flagged, 120) or '—'} |"
            )
    return lines


def disputes_section(con: duckdb.DuckDBPyConnection, found: list[Story]) -> str:
    """The stories of the period whose developments of one kind give different figures in
    different outlets, each figure with its outlet and sentence: the dispute, not an average."""
    rows = _disputes(con, found)
    if not rows:
        return ""
    blocks = []
    for (_, title, kind, unit, lowest, highest), group in groupby(rows, key=lambda r: r[:6]):
        items = "".join(
            f"<tr><td class='num'>{esc(_number(quantity))}</td><td>{esc(outlet)}</td>"
            f"<td>{esc(stance)}</td><td>{link(url, sentence)}</td></tr>"
            for *_, quantity, outlet, stance, sentence, url in group
        )
        blocks.append(
            f"<h3>{esc(title)} — {esc(label(kind))}"
            f"{f' ({esc(unit)})' if unit else ''}: {esc(_number(lowest))} to "
            f"{esc(_number(highest))}</h3>"
            "<table><tr><th>figure</th><th>outlet</th><th>stance</th><th>sentence</th></tr>"
            f"{items}</table>"
        )
    return '<section id="disputed"><h2>Disputed figures</h2>' + "".join(blocks) + "</section>"


def changes_section(con: duckdb.DuckDBPyConnection, found: list[Story]) -> str:
    """Articles of the period's stories that their outlet updated in place: the headline
    before and after, the developments that appeared or went with the change (flagged), and
    the sentences added and removed, newest change first."""
    rows = _changes(con, found)
    if not rows:
        return ""
    items = []
    for changed_at, outlet, url, before, after, title_changed, added, removed, *devs in rows:
        headline = (
            f"{link(url, after)} <span class='meta'>was: {esc(before)}</span>"
            if title_changed
            else link(url, after)
        )
        lines = [
            f"<li class='flag'>⚑ development {what}: <b>{esc(name)}</b> — {esc(sentence)}</li>"
            for what, name, sentence in _developments(*devs)
        ]
        lines += [f"<li class='added'>+ {esc(s)}</li>" for s in (added or [])[:SENTENCES_SHOWN]]
        lines += [f"<li class='removed'>− {esc(s)}</li>" for s in (removed or [])[:SENTENCES_SHOWN]]
        more = len(added or []) + len(removed or []) - min(len(added or []), SENTENCES_SHOWN)
        more -= min(len(removed or []), SENTENCES_SHOWN)
        if more > 0:
            lines.append(f"<li class='meta'>and {more} more sentences changed</li>")
        stamp = when(changed_at) if changed_at else ""
        items.append(
            f"<li><span class='meta'>{stamp} · {esc(outlet)}</span> {headline}"
            f"<ul>{''.join(lines)}</ul></li>"
        )
    return (
        '<section id="changed"><h2>What changed</h2><ul class="changes">'
        + "".join(items)
        + "</ul></section>"
    )
