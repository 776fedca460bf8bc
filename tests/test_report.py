"""`newsmon report`: one offline HTML file whose charts a real browser draws."""

from __future__ import annotations

import json
import re
import shutil
import socket
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from newsmon import report, schedule, warehouse
from newsmon.cli import main
from newsmon.config import Feed, Settings
from newsmon.feeds import poll
from newsmon.report import RED, content, headline

from .conftest import ROOT, Response

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _launch(playwright):
    """Debian's headless chromium, offline (Playwright cannot download its own here)."""
    if not shutil.which("chromium") and not (ROOT / CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (make test installs it)")
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    )


TOPIC = "russia-ukraine-talks"


def test_report_is_self_contained(demo_db, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(demo_db), "--days", "30", "--out", str(out)]) == 0
    page = out.read_text()
    assert page.count("<svg") >= 3
    # Nothing to fetch: no scripts, stylesheets, images or fonts from anywhere (XML
    # namespace URIs inside the SVG are names, not requests). Links to the articles are
    # <a href>: followed only when the reader clicks.
    assert not re.findall(r"""src\s*=\s*["']?(?:https?:|//)""", page)
    assert not re.findall(r"""<(?!a )[a-z]+[^>]*\shref\s*=\s*["']?(?:https?:|//)""", page)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert "url(" not in page.split("</style>")[0]  # no fonts or images from the stylesheet
    assert "Most reported stories" in page and "transmeridian-wire" in page


def test_report_days_0_covers_every_day_as_query_does(demo_db, tmp_path):
    out = tmp_path / "all.html"
    assert main(["report", "--db", str(demo_db), "--days", "0", "--out", str(out)]) == 0
    assert "2025-05-10 – 2025-06-05 (all days)" in out.read_text()
    assert main(["report", "--db", str(demo_db), "--days", "3", "--out", str(out)]) == 0
    assert "2025-06-03 – 2025-06-05 (the 3 days to the newest with stories)" in out.read_text()


@pytest.mark.slow
def test_report_charts_are_drawn_in_headless_chromium(demo_db, tmp_path):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    out = tmp_path / "report.html"
    main(
        [
            "report",
            "--db",
            str(demo_db),
            "--days",
            "30",
            "--topic",
            "russia-ukraine-talks",
            "--out",
            str(out),
        ]
    )
    png = tmp_path / "report.png"
    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(out.as_uri())
        charts = page.locator(".chart svg")
        boxes = [charts.nth(i).bounding_box() for i in range(charts.count())]
        lines = page.locator(".chart svg path").count()
        page.screenshot(path=str(png), full_page=True)
        browser.close()
    assert requests == [out.as_uri()]  # nothing fetched: works offline
    assert len(boxes) >= 3 and all(b["width"] > 500 and b["height"] > 100 for b in boxes)
    assert lines > 50  # axes, lines and bars were drawn
    image = Image.open(png).convert("RGB").resize((110, 180))
    colours = {pixel for pixel in image.get_flattened_data() if max(pixel) - min(pixel) > 60}
    assert len(colours) > 20  # coloured series, not a blank page


RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Steady</title>
<item><title>Talks resume</title><link>https://steady.example/1</link></item></channel></rss>"""
SVG = "{http://www.w3.org/2000/svg}"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _poll_into(db, feeds: list[Feed], run: int) -> None:
    """Poll real loopback feeds and load their statuses, as a cycle does (without Prefect)."""
    settings = Settings(allow_private_networks=True)
    by_id = {f.id: f for f in feeds}
    with warehouse.connect(db) as con:
        states = warehouse.poll_states(con)
        statuses = []
        for status, _entries in poll(feeds, settings):
            status.state = schedule.advance(
                states.get(status.feed_id),
                by_id[status.feed_id],
                status,
                settings.polling,
                status.polled_at,
            )
            statuses.append(status)
        record = warehouse.RunRecord(run_id=f"r{run}", started_at=datetime(2025, 6, 1, run))
        warehouse.load_cycle(con, record, statuses, [])


@pytest.fixture
def failing_feeds_db(site, tmp_path):
    """Two runs over three feeds: steady (100 %), flaky (ok, then 503), dead (refused twice)."""
    site.routes["/steady.xml"] = Response(RSS, content_type="application/rss+xml")
    site.routes["/flaky.xml"] = Response(RSS, content_type="application/rss+xml")
    feeds = [
        Feed(id="steady", name="Steady", url=site.url("/steady.xml")),
        Feed(id="flaky", name="Flaky", url=site.url("/flaky.xml")),
        Feed(id="dead", name="Dead", url=f"http://127.0.0.1:{_closed_port()}/feed.xml"),
    ]
    db = tmp_path / "w.duckdb"
    _poll_into(db, feeds, 1)
    site.routes["/flaky.xml"] = Response(b"busy", 503)
    _poll_into(db, feeds, 2)
    return db


def _feed_chart(page: str) -> ET.Element:
    section = page[page.index("<h2>Feed health</h2>") :]
    svg = section[section.index("<svg") : section.index("</svg>") + len("</svg>")]
    # matplotlib writes each text as glyph outlines after a comment holding the text.
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    return ET.fromstring(svg, parser)


def _group(chart: ET.Element, gid: str) -> ET.Element | None:
    return next((g for g in chart.iter(f"{SVG}g") if g.get("id") == gid), None)


def _red_marks(chart: ET.Element, gid: str) -> list[ET.Element]:
    """The elements of the SVG group with this id (itself included) that are filled red."""
    group = _group(chart, gid)
    if group is None:
        return []
    return [el for el in group.iter() if f"fill: {RED}" in (el.get("style") or "")]


def _texts(chart: ET.Element, gid: str) -> list[str]:
    group = _group(chart, gid)
    return [] if group is None else [el.text.strip() for el in group.iter(ET.Comment)]


def test_failed_feeds_are_drawn_red_and_listed(failing_feeds_db, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(failing_feeds_db), "--live", "--out", str(out)]) == 0
    page = out.read_text()
    chart = _feed_chart(page)
    # A 0 % bar has no width, so the failure is drawn as a red cross and a red label.
    assert _red_marks(chart, "feed-failed-dead"), "the dead feed has no red mark"
    assert _red_marks(chart, "feed-failed-label-dead"), "the dead feed has no red label"
    assert _texts(chart, "feed-failed-label-dead") == ["0 % — latest poll failed"]
    assert _red_marks(chart, "feed-failed-flaky") and _red_marks(chart, "feed-flaky")
    assert _texts(chart, "feed-failed-label-flaky") == ["50 % — latest poll failed"]
    assert _group(chart, "feed-steady") is not None
    assert not _red_marks(chart, "feed-steady") and _group(chart, "feed-failed-steady") is None
    # ... and in words, under the chart.
    failing = page[page.index('<div class="failing">') :]
    failing = failing[: failing.index("</div>")]
    assert "2 feeds are failing" in failing
    assert "dead</span>: 0 % of 2 polls succeeded; latest error: connection refused" in failing
    assert "flaky</span>: 50 % of 2 polls succeeded; latest error: HTTP 503" in failing
    assert "steady" not in failing


def test_healthy_feeds_get_no_alarm(site, tmp_path):
    site.routes["/steady.xml"] = Response(RSS, content_type="application/rss+xml")
    db = tmp_path / "w.duckdb"
    _poll_into(db, [Feed(id="steady", name="Steady", url=site.url("/steady.xml"))], 1)
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(db), "--live", "--out", str(out)]) == 0
    page = out.read_text()
    assert 'class="failing"' not in page
    chart = _feed_chart(page)
    assert _group(chart, "feed-steady") is not None
    assert _group(chart, "feed-failed-steady") is None and not _red_marks(chart, "feed-steady")


@pytest.mark.slow
def test_a_dead_feed_shows_red_in_headless_chromium(failing_feeds_db, tmp_path):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    out = tmp_path / "report.html"
    main(["report", "--db", str(failing_feeds_db), "--live", "--out", str(out)])
    shot = tmp_path / "dead.png"
    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(out.as_uri())
        # The row of the 0 % feed: from the left edge of the chart to its label's end.
        chart = page.locator(".chart svg").last.bounding_box()
        label = page.locator("#feed-failed-label-dead").bounding_box()
        clip = {
            "x": chart["x"],
            "y": label["y"] - 4,
            "width": label["x"] + label["width"] - chart["x"],
            "height": label["height"] + 8,
        }
        page.screenshot(path=str(shot), clip=clip)
        listed = page.locator(".failing").inner_text()
        listed_colour = page.locator(".failing").evaluate("e => getComputedStyle(e).color")
        browser.close()
    red = tuple(int(RED[i : i + 2], 16) for i in (1, 3, 5))
    pixels = list(Image.open(shot).convert("RGB").get_flattened_data())
    reddish = sum(all(abs(a - b) < 40 for a, b in zip(px, red, strict=True)) for px in pixels)
    assert reddish > 0.03 * len(pixels), reddish  # cross, label and feed name: visibly red
    assert "dead: 0 % of 2 polls succeeded; latest error: connection refused" in listed
    assert listed_colour == f"rgb{red}"  # "rgb(209, 36, 47)"


# --- the morning page: period, content, what is new, charts, the Prefect artifact ---------


def _card(page: str, db: Path, title: str) -> str:
    """The card of the story with this title (story ids follow the demo's URLs and port)."""
    with duckdb.connect(str(db), read_only=True) as con:
        (story_id,) = con.execute(
            "SELECT story_id FROM stories WHERE title = ?", [title]
        ).fetchone()
    return _between(page, f'<article class="story" id="story-{story_id}">', "</article>")


SECOND_ROUND = (
    "Russia and Ukraine exchange peace terms in hour-long Istanbul talks, agree new swaps"
)
SWAP = "Russia and Ukraine swap 390 prisoners each in first stage of largest exchange of war"
DRONES = "Ukraine says drones smuggled into Russia struck strategic bombers at several airbases"


def _between(page: str, start: str, end: str = "</section>") -> str:
    part = page[page.index(start) :]
    return part[: part.index(end)]


def test_the_default_period_reaches_back_to_the_start_of_the_running_storyline(demo_db):
    with duckdb.connect(str(demo_db), read_only=True) as con:
        default = content.period(con, None, TOPIC)
        fixed = content.period(con, 14, TOPIC)
        everything = content.period(con, 0, TOPIC)
    # 14 days end on 5 June and start on 23 May, after both Istanbul rounds began; the
    # storyline running in them opened on 10 May (Putin's proposal), within six weeks.
    assert (fixed.start, fixed.end) == (date(2025, 5, 23), date(2025, 6, 5))
    assert (default.start, default.end) == (date(2025, 5, 10), date(2025, 6, 5))
    assert default.start <= date(2025, 5, 16) and "start of its running storylines" in default.how
    assert (everything.start, everything.end) == (date(2025, 5, 10), date(2025, 6, 5))


def test_newsmon_report_without_days_covers_the_topics_recent_activity(demo_db, tmp_path):
    # Needs `newsmon report --days` to default to None (the recent activity), not 14.
    out = tmp_path / "r.html"
    assert main(["report", "--db", str(demo_db), "--topic", TOPIC, "--out", str(out)]) == 0
    assert "2025-05-10 – 2025-06-05 (recent activity" in out.read_text()


def test_a_storyline_that_began_out_of_reach_keeps_the_recent_days(demo_db, monkeypatch):
    monkeypatch.setattr(content, "REACH_DAYS", 20)  # 10 May is 26 days before 5 June
    with duckdb.connect(str(demo_db), read_only=True) as con:
        span = content.period(con, None, TOPIC)
    assert span.start == date(2025, 5, 23) and "began earlier, on 10 May 2025" in span.how


@pytest.fixture(scope="module")
def demo_page(demo_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("page") / "report.html"
    with duckdb.connect(str(demo_db), read_only=True) as con:
        report.write(con, out, None, TOPIC)
        urls = {u for (u,) in con.execute("SELECT url FROM articles").fetchall()}
    return out.read_text(encoding="utf-8"), urls


def test_each_story_lists_its_developments_reports_and_outlets(demo_page, demo_db):
    page, urls = demo_page
    assert "16 May" in page.split("<h2>Storylines</h2>", 1)[1]  # the first round is in
    # The prisoner exchange story: its development with who, how many and the sentence ...
    card = _card(page, demo_db, SWAP)
    rows = re.findall(r'<tr class="development.*?</tr>', card, re.S)
    swap = next(r for r in rows if '<span class="kind">prisoner exchange</span>' in r)
    assert 'class="stance stance-occurred">occurred' in swap and "1,000 prisoners" in swap
    assert "Russia, Ukraine" in swap  # who
    assert "largest prisoner exchange of the war" in swap  # the sentence, as reported
    # ... and its reports: outlet, headline linked to the article, time; first report first.
    reports = re.findall(r'<li class="report">(.*?)</li>', card, re.S)
    assert len(reports) == 5
    assert "transmeridian-wire" in reports[0] and "23 May 15:50" in reports[0]
    assert '<span class="lag">' not in reports[0] and '<span class="lag">+' in reports[1]
    hrefs = re.findall(r'<a href="([^"#]+)"', card)
    assert hrefs and set(hrefs) <= urls
    assert "Swap 390 prisoners each".lower() in card.lower()
    assert "4 outlets" in card


def test_key_developments_lead_the_page_with_their_stories(demo_page):
    page, urls = demo_page
    key = _between(page, '<section id="key">')
    rows = re.findall(r'<tr class="development.*?</tr>', key, re.S)
    assert 5 <= len(rows) <= 10
    assert all('href="#story-' in r for r in rows)  # each names its story, linked to the card
    anchors = set(re.findall(r'href="#(story-[0-9a-f]+)"', key))
    assert all(f'id="{a}"' in page for a in anchors)
    assert any("prisoner exchange" in r and "1,000 prisoners" in r for r in rows)
    # Dates never wrap: the "first seen" and day cells are nowrap.
    assert '<th class="nowrap">first seen</th>' in page


def test_what_came_in_since_the_previous_report_is_marked_new(demo_db, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copy(demo_db, db)
    out = tmp_path / "report.html"
    with duckdb.connect(str(db)) as con:
        report.write(con, out, None, TOPIC)
        first = out.read_text()
        saved = json.loads((tmp_path / "report.state.json").read_text())
        assert saved["topic"] == TOPIC and saved["watermark"]
        assert (
            "No earlier report of this topic" in first
            and 'class="badge new"' not in first.split("</section>", 1)[1]
        )
        # The next cycle brings the reports of 2 June on (stored here by moving their
        # arrival after the first report).
        mark = datetime.fromisoformat(saved["watermark"])
        con.execute(
            "UPDATE articles SET fetched_at = ? WHERE published_at >= '2025-06-02'",
            [mark + timedelta(hours=1)],
        )
        report.write(con, out, None, TOPIC)
    page = out.read_text()
    since = _between(page, '<section id="since">')
    assert "Since the previous report (written" in since
    assert re.search(r"<strong>(\d+) new stories</strong>", since).group(1) == "2"  # 2 and 5 June
    assert int(re.search(r"<strong>(\d+) new developments</strong>", since).group(1)) >= 10
    assert "Russia and Ukraine exchange peace terms" in since  # the second round: new
    assert "first stage of largest exchange" not in since  # 23 May: known before
    card = _card(page, db, SECOND_ROUND)
    assert card.count('class="badge new"') > 3
    old = _card(page, db, SWAP)
    assert 'class="badge' not in old
    # The drone strikes story of 1 June got reports on 2 June: "new reports", not "new".
    drones = _card(page, db, DRONES)
    assert 'class="badge updated">new reports' in drones


def test_a_state_file_of_another_topic_or_unreadable_is_no_previous_report(tmp_path):
    out = tmp_path / "r.html"
    report.state.save(out, "*", datetime(2025, 6, 1, 6), datetime(2025, 6, 1, 5))
    assert report.state.read(out, TOPIC) is None
    assert report.state.read(out, "*").watermark == datetime(2025, 6, 1, 5)
    (tmp_path / "r.state.json").write_text("{not json")
    assert report.state.read(out, "*") is None


SVG_NS = {"svg": "http://www.w3.org/2000/svg"}


def _chart(page: str, title: str) -> ET.Element:
    section = _between(page, f"<h2>{title}</h2>")
    svg = section[section.index("<svg") : section.index("</svg>") + len("</svg>")]
    return ET.fromstring(svg, ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))


def _tick_labels(chart: ET.Element, axis: str) -> list[str]:
    return [
        c.text.strip()
        for g in chart.iter(f"{SVG}g")
        if (g.get("id") or "").startswith(f"{axis}tick_")
        for c in g.iter(ET.Comment)
    ]


def test_charts_use_distinct_colours_integer_counts_and_small_multiples(demo_page):
    page, _ = demo_page
    developments = _chart(page, "Developments timeline")
    legend = next(g for g in developments.iter(f"{SVG}g") if g.get("id") == "legend_1")
    fills = [
        m.group(1)
        for p in legend.iter(f"{SVG}path")
        if (m := re.search(r"fill: (#[0-9a-f]{6})", p.get("style") or ""))
    ]
    assert len(fills) >= 5 and len(set(fills)) == len(fills)  # no two entries alike
    for title in ("Developments timeline", "Top entities over time", "Stories per day"):
        ticks = _tick_labels(_chart(page, title), "y")
        assert ticks and all(re.fullmatch(r"−?\d+", t) for t in ticks), (title, ticks)
    # Entities: one small panel per entity (at most six), one line each, no shared legend.
    entities = _chart(page, "Top entities over time")
    panels = [g for g in entities.iter(f"{SVG}g") if re.fullmatch(r"axes_\d+", g.get("id") or "")]
    assert 2 <= len(panels) <= 6
    assert not any((g.get("id") or "").startswith("legend") for g in entities.iter(f"{SVG}g"))
    titles = [c.text.strip() for p in panels for c in p.iter(ET.Comment) if "(" in c.text]
    assert sum(t.endswith(("(country)", "(place)")) for t in titles) <= 3
    assert any(t.endswith("(person)") for t in titles)


def test_kinds_beyond_the_palette_share_one_grey_other():
    from newsmon.report.charts import GREY, PALETTE, kind_colours

    few = kind_colours(["talks", "ceasefire", "attack"])
    assert len(set(few.values())) == 3 and GREY not in few.values()
    many = kind_colours([f"k{i}" for i in range(12)])
    coloured = [c for c in many.values() if c != GREY]
    assert len(coloured) == len(set(coloured)) == len(PALETTE) - 1


def test_the_headline_markdown_has_top_stories_and_developments(demo_db, tmp_path):
    out = tmp_path / "r.html"
    with duckdb.connect(str(demo_db), read_only=True) as con:
        _, text = report.write_with_headline(con, out, None, TOPIC)
    assert f"Report file: `{out.resolve()}`" in text
    assert "Period: 2025-05-10 – 2025-06-05" in text
    stories = _between(text, "## Top stories", "## Key")
    assert stories.count("\n| ") == 1 + headline.TOP_STORIES  # header and the stories
    assert "Russia and Ukraine exchange peace terms" in stories
    assert "prisoner exchange (occurred, 1,000 prisoners)" in stories
    developments = text[text.index("## Key developments") :].split("\n## ", 1)[0]
    assert "| what was reported |" in developments and developments.count("\n| ") >= 6
    disputed = text[text.index("## Disputed figures") :].split("\n## ", 1)[0]
    assert "| figure |" in disputed and "390 prisoners" in disputed
    assert len(text) < headline.MAX_CHARS
    # Every table row has as many cells as its header (no pipe or newline from a sentence).
    for table in (stories, developments, disputed):
        rows = [line for line in table.splitlines() if line.startswith("|")]
        widths = {len(re.split(r"(?<!\\)\|", line)) for line in rows}
        assert len(widths) == 1, widths


def test_cells_are_one_line_with_pipes_escaped_and_cut():
    assert headline.cell("a | b\nc") == "a \\| b c"
    assert headline.cell("x" * 300, 10) == "x" * 9 + "…"


@pytest.mark.usefixtures("prefect_harness")
def test_the_report_flow_writes_beside_the_warehouse_and_attaches_the_headlines(demo_db, tmp_path):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.report import daily_report

    db = tmp_path / "w.duckdb"
    shutil.copy(demo_db, db)
    shutil.copy(warehouse.snapshot_path(demo_db), warehouse.snapshot_path(db))
    path = daily_report(sources=str(ROOT / "sources.yaml"), db=str(db), topic=TOPIC)
    assert Path(path) == (tmp_path / f"report-{TOPIC}.html").resolve()
    assert "Key developments" in Path(path).read_text()

    async def latest():
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"report-{TOPIC}"]))
            )
            return sorted(found, key=lambda a: a.created)[-1]

    artifact = asyncio.run(latest())
    assert artifact.type == "markdown"
    assert f"Report file: `{path}`" in artifact.data
    assert "## Top stories" in artifact.data and "## Key developments" in artifact.data
    assert "Russia and Ukraine exchange peace terms" in artifact.data


def test_disputed_figures_and_articles_changed_in_place_have_their_sections(demo_db, tmp_path):
    db = tmp_path / "copy.duckdb"
    shutil.copy(demo_db, db)
    with duckdb.connect(str(db)) as con:
        disputed = con.execute(
            "SELECT DISTINCT title, kind FROM disputed_quantities WHERE kind = 'prisoner_exchange'"
        ).fetchall()
        html = report.build(con, 0, "russia-ukraine-talks")
        _, artifact = report.write_with_headline(
            con, tmp_path / "r.html", 0, "russia-ukraine-talks"
        )
    assert disputed  # the demo's outlets give different counts of the exchange
    # the report run's Prefect artifact carries both sections too
    assert "## Disputed figures" in artifact and "## What changed" in artifact
    # `newsmon demo` polls twice: the Ledger's exchange report, updated in place in between
    assert "Hundreds come home as the great prisoner exchange begins" in artifact
    assert "appeared: prisoner exchange occurred" in artifact
    section = html[html.index('id="disputed"') : html.index('id="changed"')]
    assert "390" in section and "Prisoner exchange".lower() in section.lower()
    changed = html[html.index('id="changed"') :].split("</section>")[0]
    assert "Hundreds come home as the great prisoner exchange begins" in changed
    assert "was: Prisoner exchange expected to start at the Belarus border" in changed
    assert "− Neither government has said how many people will cross on the first day." in changed
    assert "+ The handover took place at the border with Belarus." in changed
    assert "⚑ development appeared: <b>prisoner exchange occurred</b> — On Friday 390" in changed
    assert "&lt;time" not in changed  # the time of the change is markup, not escaped text
