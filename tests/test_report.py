"""`newsmon report`: one offline HTML file whose charts a real browser draws."""

from __future__ import annotations

import re
import shutil
import socket
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest

from newsmon import schedule, warehouse
from newsmon.cli import main
from newsmon.config import Feed, Settings
from newsmon.feeds import poll
from newsmon.report import PALETTE

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


def test_report_is_self_contained(demo_db, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(demo_db), "--days", "30", "--out", str(out)]) == 0
    page = out.read_text()
    assert page.count("<svg") >= 3
    # Nothing to fetch: no scripts, stylesheets, images or fonts from anywhere
    # (XML namespace URIs inside the SVG are names, not requests).
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)""", page)
    assert "<script" not in page and "<link" not in page and "@import" not in page
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
RED = PALETTE[1]
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
