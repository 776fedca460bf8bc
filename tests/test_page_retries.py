"""Failed article pages are fetched again on later cycles, and the article is revised in place."""

from __future__ import annotations

import time

import duckdb
import pytest

from flows.poll import poll_feeds

from .conftest import Response, write_sources

pytestmark = pytest.mark.usefixtures("prefect_harness")

PAGE = (
    "<html><body><article><h1>{title}</h1><p>{body}</p></article></body></html>"
)
BODIES = {
    "/quay/ferry": (
        "Ferry service resumes",
        "The Marrow Bay ferry sailed again on Monday after a week of repairs. Captain Idris"
        " Vantongeren said the crossing took forty minutes and every one of the 212 seats"
        " was taken. The harbour master, Celestine Aubrecht, thanked the crews who had worked"
        " through the weekend to replace the damaged propeller shaft before the holiday rush.",
    ),
    "/quay/market": (
        "Night market opens",
        "The first night market of the season opened on the Marrow Bay quay on Friday, with"
        " forty stalls selling smoked fish, lanterns and woollen goods. The organiser, Piet"
        " Haldane, said the market would run every Friday until the end of October and that"
        " a second row of stalls would be added along the harbour wall next month.",
    ),
}


def _rss(site) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{site.url(path)}</link>"
        f"<description>{title}: a short summary.</description>"
        f"<pubDate>Mon, 30 Nov 2026 0{i}:00:00 GMT</pubDate></item>"
        for i, (path, (title, _)) in enumerate(BODIES.items())
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Quay Courier</title>'
        f"{items}<item><title>Gone page</title><link>{site.url('/quay/gone')}</link>"
        "<description>Gone page: its summary.</description></item></channel></rss>"
    ).encode()


def _serve_pages(site, ok: bool) -> None:
    site.routes["/robots.txt"] = Response(b"User-agent: *\nAllow: /\n", 200 if ok else 503)
    for path, (title, body) in BODIES.items():
        site.routes[path] = Response(PAGE.format(title=title, body=body).encode())


@pytest.fixture
def quay(site, tmp_path):
    site.routes["/quay.xml"] = Response(_rss(site), content_type="application/rss+xml")
    feeds = [{"id": "quay", "name": "Quay Courier", "url": site.url("/quay.xml")}]
    sources = write_sources(
        tmp_path / "sources.yaml",
        feeds,
        tmp_path / "w.duckdb",
        polling={"page_retry_after": "1s", "page_retries": 2},
    )
    return sources, tmp_path / "w.duckdb"


def _articles(db) -> dict[str, tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT title, text_source, fetch_error, fetch_error_kind, fetch_attempts, "
            "fetch_retry_at IS NOT NULL, revision FROM articles"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_a_page_put_off_by_an_unreachable_site_is_fetched_on_a_later_cycle(site, quay):
    sources, db = quay
    _serve_pages(site, ok=False)  # robots.txt answers 503: the site says "not now"
    first = poll_feeds(sources=str(sources), force=True)
    assert first["articles_new"] == 3 and first["text_from_feed"] == 3
    rows = _articles(db)
    assert rows["Ferry service resumes"][:5] == ("feed", "robots.txt: HTTP 503", "temporary", 1, True)
    assert rows["Gone page"][:5] == ("feed", "robots.txt: HTTP 503", "temporary", 1, True)
    assert not any("disallowed" in (r[1] or "") for r in rows.values())

    _serve_pages(site, ok=True)  # the site is back; /quay/gone answers 404
    time.sleep(1.2)
    second = poll_feeds(sources=str(sources), force=True)
    assert (second["articles_new"], second["pages_retried"], second["pages_recovered"]) == (
        0,
        3,
        2,
    )
    rows = _articles(db)
    assert len(rows) == 3  # revised in place, never a second row
    assert rows["Ferry service resumes"][:5] == ("page", None, None, 2, False)
    assert rows["Ferry service resumes"][5] == 2  # one revision: the page text
    assert rows["Night market opens"][0] == "page"
    assert rows["Gone page"][:5] == ("feed", "HTTP 404", "hard", 2, False)  # not retried again
    with duckdb.connect(str(db), read_only=True) as con:
        names = {
            r[0]
            for r in con.execute(
                "SELECT e.name FROM mentions AS m JOIN entities AS e USING (entity_id) "
                "JOIN articles AS a USING (article_id) WHERE a.title = 'Ferry service resumes'"
            ).fetchall()
        }
        text = con.execute(
            "SELECT text FROM articles WHERE title = 'Ferry service resumes'"
        ).fetchone()[0]
        runs = con.execute(
            "SELECT pages_retried, pages_recovered FROM runs ORDER BY started_at"
        ).fetchall()
    assert "Celestine Aubrecht" in names  # entities come from the page now
    assert "propeller shaft" in text
    assert runs == [(0, 0), (3, 2)]

    time.sleep(1.2)
    third = poll_feeds(sources=str(sources), force=True)
    assert (third["pages_retried"], third["articles_updated"]) == (0, 0)


def test_a_page_that_keeps_failing_is_given_up_after_the_set_retries(site, quay):
    sources, db = quay
    _serve_pages(site, ok=False)
    poll_feeds(sources=str(sources), force=True)
    for attempts, due in ((2, True), (3, False)):
        time.sleep(1.2)
        result = poll_feeds(sources=str(sources), force=True)
        assert result["pages_retried"] == 3 and result["pages_recovered"] == 0
        assert result["articles_updated"] == 0  # a failed retry is not a revision
        ferry = _articles(db)["Ferry service resumes"]
        assert ferry[:5] == ("feed", "robots.txt: HTTP 503", "temporary", attempts, due)
    time.sleep(1.2)
    assert poll_feeds(sources=str(sources), force=True)["pages_retried"] == 0


def test_a_recovered_page_that_copies_a_stored_article_is_marked_a_duplicate(site, quay):
    sources, db = quay
    title, body = BODIES["/quay/ferry"]
    site.routes["/wire/ferry"] = Response(PAGE.format(title="Ferry back", body=body).encode())
    site.routes["/wire.xml"] = Response(
        (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
            f"<item><title>Ferry back</title><link>{site.url('/wire/ferry')}</link>"
            "<pubDate>Sun, 29 Nov 2026 23:00:00 GMT</pubDate></item></channel></rss>"
        ).encode(),
        content_type="application/rss+xml",
    )
    write_sources(
        sources,
        [
            {"id": "wire", "name": "Wire Desk", "url": site.url("/wire.xml")},
            {"id": "quay", "name": "Quay Courier", "url": site.url("/quay.xml")},
        ],
        db,
        polling={"page_retry_after": "1s"},
    )
    site.routes["/robots.txt"] = Response(b"", 503)
    poll_feeds(sources=str(sources), force=True)  # every page put off: nothing to compare
    _serve_pages(site, ok=True)
    time.sleep(1.2)
    poll_feeds(sources=str(sources), force=True)
    with duckdb.connect(str(db), read_only=True) as con:
        marked = con.execute(
            "SELECT a.title, c.title, a.dup_method FROM articles AS a "
            "JOIN articles AS c ON a.duplicate_of = c.article_id"
        ).fetchall()
    assert marked == [("Ferry service resumes", "Ferry back", "near")]
