"""Polite polling end to end: conditional GET, robots.txt, encodings, per-feed state."""

from __future__ import annotations

import duckdb
import pytest

from flows.poll import poll_feeds
from newsmon.config import Feed, Settings
from newsmon.feeds import parse_feed, poll

from .conftest import Response, write_sources

RSS = """<?xml version="1.0" encoding="{enc}"?><rss version="2.0"><channel><title>{title}</title>
<item><title>{title}</title><link>{link}</link><description>{body}</description></item></channel></rss>"""


def conditional(body: bytes, etag: str | None = None, last_modified: str | None = None):
    """A handler that answers 304 when the client's validator matches."""

    def handler(h):
        if (etag and h.headers.get("If-None-Match") == etag) or (
            last_modified and h.headers.get("If-Modified-Since") == last_modified
        ):
            h.send_response(304)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Length", str(len(body)))
        if etag:
            h.send_header("ETag", etag)
        if last_modified:
            h.send_header("Last-Modified", last_modified)
        h.end_headers()
        h.wfile.write(body)

    return handler


@pytest.mark.usefixtures("prefect_harness")
def test_conditional_get_sends_validators_and_a_304_costs_no_parsing(site, tmp_path):
    body = RSS.format(enc="utf-8", title="Exchange", link=site.url("/p"), body="x").encode()
    site.routes["/etag.xml"] = conditional(body, etag='"abc"')
    site.routes["/lm.xml"] = conditional(
        body.replace(b"/p<", b"/q<"), last_modified="Fri, 23 May 2025 10:00:00 GMT"
    )
    feeds = [
        {"id": "etag", "name": "E", "url": site.url("/etag.xml"), "fetch_pages": False},
        {"id": "lm", "name": "L", "url": site.url("/lm.xml"), "fetch_pages": False},
    ]
    sources = write_sources(tmp_path / "s.yaml", feeds, tmp_path / "w.duckdb")
    first = poll_feeds(sources=str(sources))
    assert (first["feeds_ok"], first["feeds_not_modified"], first["articles_new"]) == (2, 0, 2)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        # everything was new: the interval shrank from the initial 30 minutes
        assert con.execute("SELECT DISTINCT interval_seconds FROM feeds").fetchall() == [(1200,)]
    second = poll_feeds(sources=str(sources), force=True)
    assert (second["feeds_not_modified"], second["entries_seen"]) == (2, 0)
    sent = {path: headers for path, headers in site.requests[-2:]}
    assert (
        sent["/etag.xml"]["If-None-Match"] == '"abc"'
        and "If-Modified-Since" not in sent["/etag.xml"]
    )
    assert sent["/lm.xml"]["If-Modified-Since"] == "Fri, 23 May 2025 10:00:00 GMT"
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT feed_id, last_status, etag, interval_seconds FROM feeds ORDER BY 1"
        ).fetchall()
        polls = con.execute(
            "SELECT status, count(*) FROM feed_polls GROUP BY ALL ORDER BY 1"
        ).fetchall()
    assert [r[:3] for r in rows] == [
        ("etag", "not_modified", '"abc"'),
        ("lm", "not_modified", None),
    ]
    assert all(r[3] == 1500 for r in rows)  # nothing new: the interval grew again
    assert polls == [("not_modified", 2), ("ok", 2)]


@pytest.mark.usefixtures("prefect_harness")
def test_robots_txt_is_honoured_for_article_pages(site, tmp_path):
    page = (
        b"<html><body><article>"
        + b"<p>A long paragraph about the talks in Istanbul.</p>" * 10
        + b"</article></body></html>"
    )
    site.routes["/robots.txt"] = Response(
        b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"
    )
    site.routes["/public/a"] = Response(page)
    site.routes["/private/b"] = Response(page)
    items = "".join(
        f"<item><title>{p}</title><link>{site.url(p)}</link><description>Summary {p}</description></item>"
        for p in ("/public/a", "/private/b")
    )
    site.routes["/feed.xml"] = Response(
        f'<rss version="2.0"><channel><title>R</title>{items}</channel></rss>'.encode()
    )
    sources = write_sources(
        tmp_path / "s.yaml",
        [{"id": "r", "name": "R", "url": site.url("/feed.xml")}],
        tmp_path / "w.duckdb",
    )
    poll_feeds(sources=str(sources))
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        rows = dict(
            con.execute(
                "SELECT title, text_source || ' ' || coalesce(fetch_error, '') FROM articles"
            ).fetchall()
        )
    assert rows == {"/public/a": "page ", "/private/b": "feed disallowed by robots.txt"}
    assert "/private/b" not in [path for path, _ in site.requests]


@pytest.mark.parametrize(
    ("encoding", "declared"),
    [
        ("utf-8", "utf-8"),
        ("windows-1251", "windows-1251"),
        ("iso-8859-1", "iso-8859-1"),
        ("utf-16", "utf-16"),
        ("windows-1251", "utf-8"),
    ],
)
def test_feeds_in_any_charset_land_as_valid_text(encoding, declared):
    title = "Переговоры в Стамбуле" if encoding == "windows-1251" else "Türkiye hosts the talks"
    body = RSS.format(enc=declared, title=title, link="https://x.example/a", body="ok").encode(
        encoding
    )
    entry = parse_feed(body, Feed(id="f", name="F", url="https://x.example/f")).entries[0]
    entry.title.encode("utf-8")  # valid text, whatever the bytes were
    if declared == encoding:
        assert entry.title == title


def test_poll_sends_user_agent_and_records_state_fields(site):
    site.routes["/f.xml"] = Response(
        RSS.format(enc="utf-8", title="T", link="https://x.example/a", body="b").encode(),
        headers={"ETag": '"1"'},
    )
    ((status, entries),) = poll(
        [Feed(id="f", name="F", url=site.url("/f.xml"))], Settings(allow_private_networks=True)
    )
    assert status.status == "ok" and status.etag == '"1"' and len(entries) == 1
    assert site.requests[0][1]["User-Agent"].startswith("newsmon/")


@pytest.mark.usefixtures("prefect_harness")
def test_a_failing_feed_is_disabled_listed_and_can_be_enabled(site, tmp_path, capsys):
    from newsmon.cli import main

    site.routes["/ok.xml"] = Response(
        RSS.format(enc="utf-8", title="T", link="https://x.example/a", body="b").encode()
    )
    feeds = [
        {"id": "ok", "name": "OK", "url": site.url("/ok.xml"), "fetch_pages": False},
        {"id": "gone", "name": "Gone", "url": site.url("/gone.xml")},
    ]
    db = tmp_path / "w.duckdb"
    sources = write_sources(tmp_path / "s.yaml", feeds, db, polling={"disable_after": 2})
    for _ in range(2):
        poll_feeds(sources=str(sources), force=True)
    third = poll_feeds(sources=str(sources), force=True)
    assert (third["feeds_polled"], third["feeds_disabled"]) == (1, 1)
    assert [path for path, _ in site.requests].count("/gone.xml") == 2

    capsys.readouterr()
    assert main(["feeds", "--sources", str(sources)]) == 0
    listing = capsys.readouterr().out
    gone = next(line for line in listing.splitlines() if line.startswith("gone"))
    assert "disabled" in gone and "2 failures in a row" in gone
    ok = next(line for line in listing.splitlines() if line.startswith("ok "))
    assert " ok " in ok and "never" not in ok.split("ok", 2)[2][:30]

    assert main(["feeds", "--sources", str(sources), "--enable", "gone"]) == 0
    # Only the enabled feed is due, and it fails: the cycle fails as a whole, after storing
    # what it learnt.
    state = poll_feeds(sources=str(sources), return_state=True)
    assert state.is_failed() and state.message == "no feed could be polled: all 1 failed: HTTP 404"
    fourth = state.result(raise_on_failure=False)
    assert fourth["feeds_disabled"] == 0 and fourth["feeds_failed"] == 1
    assert main(["feeds", "--sources", str(sources), "--enable", "nope"]) == 1
