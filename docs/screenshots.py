"""Write docs/img/report-demo.png: the report of the demo warehouse, as headless Chromium draws it.

    .venv/bin/python docs/screenshots.py            # runs `newsmon demo` into a temporary folder
    .venv/bin/python docs/screenshots.py --db FILE  # or reports on a warehouse you have

Only the demo's invented outlets appear in the picture, so it may live in the repository; a
report of real news is described in docs/report.md, never committed as an image.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img" / "report-demo.png"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOPIC = "russia-ukraine-talks"


def screenshot(
    html: Path, png: Path, width: int = 1200, height: int = 2400, full: bool = False
) -> Path:
    """The top `height` pixels of the page as Chromium draws it (nothing is fetched)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(html.as_uri())
        png.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(png), full_page=full)
        browser.close()
    return png


def _shrink(png: Path) -> None:
    """256 colours are plenty for text and flat charts: a third of the bytes in the repository."""
    from PIL import Image

    # Fast octree keeps the few flat colours (badges, bars) exact; median cut greys them.
    image = Image.open(png).convert("RGB")
    image.quantize(256, method=Image.Quantize.FASTOCTREE).save(png, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="warehouse to report on (default: a fresh demo)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    import duckdb

    from newsmon import report
    from newsmon.cli import main as newsmon

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = args.db
        if db is None:
            sources = str(ROOT / "sources.yaml")
            if newsmon(
                ["demo", "--port", "0", "--dir", str(folder / "demo"), "--sources", sources]
            ):
                return 1
            db = folder / "demo" / "demo.duckdb"
        html = folder / "report.html"
        with duckdb.connect(str(db), read_only=True) as con:
            report.write(con, html, None, TOPIC)
        screenshot(html, args.out)
    _shrink(args.out)
    print(f"screenshot written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
