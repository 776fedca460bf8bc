"""The poll_feeds flow end to end: loopback feeds and pages, a real DuckDB file, Prefect."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from flows.poll import poll_feeds

from .conftest import Response, shared_data, write_sources

PAGE = (Path(__file__).parent / "fixtures" / "article.html").read_bytes()
COPY = PAGE.replace(b"The Test Gazette", b"The Other Herald").replace(
    b"<h1>Prisoner exchange completed after three days</h1>", b"<h1>A thousand come home</h1>"
)


def rss(items: list[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><description>{d}</description>"
        f"<pubDate>Sun, 25 May 2025 1{i}:00:00 GMT</pubDate></item>"
        for i, (t, link, d) in enumerate(items)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{body}</channel></rss>'.encode()


@pytest.fixture
def newsroom(site, tmp_path):
    """Two feeds: full pages, a missing page, a stub, a syndicated copy and a shared link."""
    u = site.url
    site.routes["/gazette/exchange"] = Response(PAGE)
    site.routes["/gazette/stub"] = Response(
        b"<html><body><article><p>Developing.</p></article></body></html>"
    )
    site.routes["/herald/copy?utm_source=rss"] = Response(COPY)
    site.routes["/herald/copy"] = Response(COPY)
    site.routes["/gazette.xml"] = Response(
        rss(
            [
                ("Exchange completed", u("/gazette/exchange"), "A thousand each."),
                (
                    "Missing page",
                    u("/gazette/gone"),
                    "Only this summary survives the missing page.",
                ),
                ("Stub page", u("/gazette/stub"), "Summary of a developing story."),
            ]
        ),
        content_type="application/rss+xml",
    )
    site.routes["/herald.xml"] = Response(
        rss(
            [
                (
                    "Exchange completed (via Gazette)",
                    u("/gazette/exchange"),
                    "Same link as the Gazette.",
                ),
                (
                    "A thousand come home",
                    u("/herald/copy?utm_source=rss"),
                    "Syndicated copy, an hour later.",
                ),
            ]
        ),
        content_type="application/rss+xml",
    )
    feeds = [
        {"id": "gazette", "name": "Gazette", "url": u("/gazette.xml")},
        {"id": "herald", "name": "Herald", "url": u("/herald.xml")},
        {"id": "down", "name": "Down", "url": u("/down.xml")},
    ]
    return write_sources(
        tmp_path / "sources.yaml", feeds, tmp_path / "w.duckdb"
    ), tmp_path / "w.duckdb"


@pytest.mark.usefixtures("prefect_harness")
def test_poll_cycle_stores_page_text_and_a_second_run_adds_nothing(newsroom):
    sources, db = newsroom
    first = poll_feeds(sources=str(sources))
    assert (first["feeds_ok"], first["feeds_failed"], first["entries_seen"]) == (2, 1, 5)
    assert first["articles_new"] == 4 and first["duplicates_skipped"] == 1
    assert first["duplicates_marked"] == 1
    with duckdb.connect(str(db), read_only=True) as con:
        rows = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT title, text_source, duplicate_of IS NOT NULL, fetch_error, text FROM articles"
            ).fetchall()
        }
        canonical_id = con.execute(
            "SELECT article_id FROM articles WHERE title = 'Exchange completed'"
        ).fetchone()[0]
        copy = con.execute(
            "SELECT duplicate_of, canonical_url FROM articles WHERE feed_id = 'herald'"
        ).fetchone()
        feeds = dict(con.execute("SELECT feed_id, last_status FROM feeds").fetchall())
    assert rows["Exchange completed"][:3] == ("page", False, None)
    assert "390 prisoners" in rows["Exchange completed"][3]
    assert rows["Missing page"] == (
        "feed",
        False,
        "HTTP 404",
        "Only this summary survives the missing page.",
    )
    assert rows["Stub page"][:3] == ("feed", False, "extracted text too short")
    assert rows["A thousand come home"][:2] == ("page", True)
    assert copy[0] == canonical_id and not copy[1].endswith("utm_source=rss")
    assert feeds == {"gazette": "ok", "herald": "ok", "down": "error"}

    second = poll_feeds(sources=str(sources), force=True)
    assert second["articles_new"] == 0 and second["entries_seen"] == 5
    assert second["articles_updated"] == 0
    # Without force nothing is due yet: the failed feed is backing off, the others wait.
    third = poll_feeds(sources=str(sources))
    assert (third["feeds_polled"], third["feeds_not_due"], third["articles_new"]) == (0, 3, 0)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 4
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 3
        assert con.execute("SELECT count(*) FROM feed_polls").fetchone()[0] == 6


@pytest.mark.shared_data
@pytest.mark.usefixtures("prefect_harness")
def test_real_may_2025_feeds_land_with_feed_text(site, tmp_path):
    folder = shared_data("rss_may2025", "rendered")
    feeds = []
    for path in sorted(folder.glob("*.xml")):
        # Article links point at the real outlets; send them to this loopback server
        # (where they 404) so the test never leaves the machine.
        body = re.sub(rb"https?://", site.base_url.encode() + b"/offline/", path.read_bytes())
        site.routes[f"/{path.name}"] = Response(body, content_type="application/rss+xml")
        feeds.append(
            {
                "id": path.stem[:60].lower().replace("_", "-"),
                "name": path.stem,
                "url": site.url(f"/{path.name}"),
            }
        )
    sources = write_sources(tmp_path / "sources.yaml", feeds, tmp_path / "w.duckdb")
    result = poll_feeds(sources=str(sources))
    assert result["feeds_failed"] == 0 and result["articles_new"] >= 150
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT DISTINCT text_source FROM articles").fetchall() == [("feed",)]
        assert con.execute("SELECT count(*) FROM articles WHERE title IS NULL").fetchone()[0] == 0
    paths = [path for path, _ in site.requests]
    assert all(p.startswith("/offline/") or p.endswith(".xml") or p == "/robots.txt" for p in paths)
    assert paths.count("/robots.txt") == 1  # read once per site and cached


@pytest.mark.usefixtures("prefect_harness")
def test_each_run_publishes_a_markdown_summary_and_a_table(newsroom):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    sources, db = newsroom
    result = poll_feeds(sources=str(sources))

    async def latest(key):
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )
            return sorted(found, key=lambda a: a.created)[-1]

    markdown = asyncio.run(latest("poll-summary"))
    table = asyncio.run(latest("poll-new-articles"))
    assert str(markdown.flow_run_id) == result["run_id"]
    assert "| new articles | 4 (2 page text, 2 feed text) |" in markdown.data
    assert "| down | HTTP 404 |" in markdown.data
    assert "same text 1" in markdown.data
    assert str(table.flow_run_id) == result["run_id"]
    assert "Exchange completed" in str(table.data)
