"""`newsmon report`: one offline HTML file whose charts a real browser draws."""

from __future__ import annotations

import re
import shutil

import pytest

from newsmon.cli import main

from .conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


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

    if not shutil.which("chromium") and not (ROOT / CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (make test installs it)")
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
        browser = p.chromium.launch(
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
