"""The report as an analyst opens it: headless Chromium, from disk, offline — the demo and the
real May 2025 entries (../shared/data/rss_may2025, skipped when absent)."""

from __future__ import annotations

import pytest
import yaml

from newsmon.config import Feed

from .conftest import ROOT, Response, StaticSite, shared_data
from .test_report import _launch

pytestmark = pytest.mark.slow
TOPIC = "russia-ukraine-talks"
# The outlets of the archived feeds, by the start of their file names (the files hold one
# feed and day each: two BBC feeds are one outlet).
OUTLETS = {
    "feeds_bbci": "BBC News",
    "feeds_skynews": "Sky News",
    "rss_nytimes": "The New York Times",
    "www_aljazeera": "Al Jazeera",
    "www_theguardian": "The Guardian",
}


def _open(html, png):
    """What Chromium shows of the report: developments, report links, charts, requests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(html.as_uri())
        sentences = page.locator("tr.development td.sentence")
        seen = {
            "requests": requests,
            "sentences": [
                sentences.nth(i).inner_text()
                for i in range(sentences.count())
                if sentences.nth(i).is_visible()
            ],
            "links": page.locator("li.report a").evaluate_all(
                "els => els.filter(e => e.offsetParent !== null)"
                ".map(e => [e.getAttribute('href'), e.innerText])"
            ),
            "charts": [
                page.locator(".chart svg").nth(i).bounding_box()
                for i in range(page.locator(".chart svg").count())
            ],
            "drawn": page.locator(".chart svg path").count(),
        }
        # A click on a key development's story takes the reader to that story's card.
        page.locator("#key a[href^='#story-']").first.click()
        seen["target"] = page.evaluate("document.querySelector(':target')?.className")
        page.screenshot(path=str(png), full_page=True)
        browser.close()
    return seen


def _check(seen, urls, png, charts=3):
    from PIL import Image

    assert seen["requests"] == [seen["requests"][0]]  # the file itself, nothing else: offline
    assert len(seen["sentences"]) >= 5 and all(len(s) > 20 for s in seen["sentences"])
    links = seen["links"]
    assert len(links) >= 5
    assert all(href in urls and text.strip() for href, text in links)  # headline -> article
    assert len(seen["charts"]) >= charts
    assert all(b["width"] > 500 and b["height"] > 100 for b in seen["charts"])
    assert seen["drawn"] > 50
    assert seen["target"] == "story"
    image = Image.open(png).convert("RGB")
    assert image.height > 3000  # a page with content, not a stub
    small = image.resize((120, 400))
    colours = {px for px in small.get_flattened_data() if max(px) - min(px) > 60}
    assert len(colours) > 20  # coloured charts and badges, not a blank page


def test_the_demo_report_shows_developments_links_and_charts(demo_db, tmp_path):
    import duckdb

    from newsmon import report

    html = tmp_path / "report.html"
    with duckdb.connect(str(demo_db), read_only=True) as con:
        report.write(con, html, None, TOPIC)
        urls = {u for (u,) in con.execute("SELECT url FROM articles").fetchall()}
    png = tmp_path / "report-demo.png"
    seen = _open(html, png)
    _check(seen, urls, png)
    assert any("largest prisoner exchange of the war" in s for s in seen["sentences"])


@pytest.fixture(scope="module")
def may2025_db(prefect_harness, tmp_path_factory):
    """The real entries of 16, 17 and 23 May 2025 polled into a warehouse: the archived feeds
    served on loopback, feed text only (no page is fetched: links stay the outlets' URLs)."""
    folder = shared_data("rss_may2025", "rendered")
    from flows.poll import poll_feeds

    work = tmp_path_factory.mktemp("may2025")
    with StaticSite() as site:
        feeds = []
        for path in sorted(folder.glob("*.xml")):
            site.routes[f"/{path.name}"] = Response(
                path.read_bytes(), content_type="application/rss+xml"
            )
            feed = {
                "id": path.stem[:60].lower().replace("_", "-"),
                "name": path.stem,
                "url": site.url(f"/{path.name}"),
                "fetch_pages": False,
            }
            outlet = next((o for k, o in OUTLETS.items() if path.name.startswith(k)), None)
            if outlet and "outlet" in Feed.model_fields:
                feed["outlet"] = outlet
            feeds.append(feed)
        topics = yaml.safe_load((ROOT / "sources.yaml").read_text(encoding="utf-8"))["topics"]
        sources = work / "sources.yaml"
        settings = {
            "warehouse": str(work / "w.duckdb"),
            "allow_private_networks": True,
            "runner": {"kind": "threads"},
        }
        sources.write_text(
            yaml.safe_dump({"feeds": feeds, "topics": topics, "settings": settings}),
            encoding="utf-8",
        )
        result = poll_feeds(sources=str(sources))
        assert result["feeds_failed"] == 0 and result["articles_new"] >= 150
        assert all(p.endswith(".xml") for p, _ in site.requests)  # no page, no robots.txt
    return work / "w.duckdb"


@pytest.mark.shared_data
def test_the_report_of_real_may_2025_news_shows_developments_links_and_charts(may2025_db, tmp_path):
    import duckdb

    from newsmon import report

    html = tmp_path / "report.html"
    with duckdb.connect(str(may2025_db), read_only=True) as con:
        report.write(con, html, None, TOPIC)
        urls = {u for (u,) in con.execute("SELECT url FROM articles").fetchall()}
    # The screenshot stays in tmp_path: real headlines are never copied into the repository.
    png = tmp_path / "report-may2025.png"
    seen = _open(html, png)
    _check(seen, urls, png, charts=3)
    assert all(href.startswith("https://") for href, _ in seen["links"])  # the outlets' pages
    page = html.read_text(encoding="utf-8")
    assert "2025-05-16 –" in page  # the first Istanbul round is in the default period
