"""Hostile and broken feeds: each is recorded on its feed, the others are stored, the run ends."""

from __future__ import annotations

import gzip
import socket
import time

import duckdb
import pytest

from newsmon.cli import main
from newsmon.demo.server import StaticSite

from .conftest import Response, write_sources

GOOD = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Good</title>
<item><title>Second round of talks ends within the hour</title><link>/good/1</link>
<description>Delegations swapped memorandums in Istanbul.</description></item></channel></rss>"""

LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        b'<!ENTITY %s "%s">' % (name, (b"&%s;" % prev) * 10)
        for prev, name in zip(
            [b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h"],
            [b"b", b"c", b"d", b"e", b"f", b"g", b"h", b"i"],
            strict=True,
        )
    )
    + b']><rss version="2.0"><channel><title>L</title><item><title>&i;</title><link>/l/1</link></item></channel></rss>'
)

XXE = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>X</title><item><title>leak &secret; here</title><link>/x/1</link>
<description>&secret;</description></item></channel></rss>"""

INVALID_UTF8 = GOOD.replace(b"Second round", b"Second \xff\xfe round").replace(
    b"/good/1", b"/utf/1"
)


def _raw(status_line: bytes, headers: dict[str, str], body: bytes = b"", then=None):
    def handler(h):
        h.wfile.write(b"HTTP/1.1 " + status_line + b"\r\n")
        for name, value in headers.items():
            h.wfile.write(f"{name}: {value}\r\n".encode())
        h.wfile.write(b"\r\n" + body)
        h.wfile.flush()
        if then:
            then(h)
        h.close_connection = True

    return handler


def _sleep(seconds):
    return lambda h: time.sleep(seconds)


def _drip(h):
    try:
        for _ in range(30):
            h.wfile.write(b"<")
            h.wfile.flush()
            time.sleep(1)
    except OSError:
        pass


def _fifty_megabytes(h):
    try:
        for _ in range(50):
            h.wfile.write(b"<!-- padding -->" * 65536)
    except OSError:
        pass


BOMB = gzip.compress(b" " * 60_000_000)

FAULTS = {
    # feed id: (route, expected error fragment or None when entries land, error kind)
    "http-500": (Response(b"oops", 500), "HTTP 500", "soft"),
    "http-503": (Response(b"busy", 503, headers={"Retry-After": "3600"}), "HTTP 503", "soft"),
    "http-429": (
        Response(b"slow down", 429, headers={"Retry-After": "120"}),
        "HTTP 429",
        "temporary",
    ),
    "never-completes": (
        _raw(
            b"200 OK",
            {"Content-Type": "application/rss+xml", "Content-Length": "5000"},
            b"<rss>",
            _sleep(8),
        ),
        "timed out",
        "temporary",
    ),
    "slow-drip": (
        _raw(b"200 OK", {"Content-Type": "application/rss+xml"}, b"", _drip),
        "timed out",
        "temporary",
    ),
    "truncated": (
        _raw(
            b"200 OK", {"Content-Type": "application/rss+xml", "Content-Length": "4000"}, GOOD[:200]
        ),
        "RemoteProtocolError",
        "temporary",
    ),
    "fifty-mb": (
        _raw(
            b"200 OK",
            {"Content-Type": "application/rss+xml"},
            b"<?xml version='1.0'?>",
            _fifty_megabytes,
        ),
        "byte cap",
        "hard",
    ),
    "gzip-bomb": (
        _raw(
            b"200 OK",
            {
                "Content-Type": "application/rss+xml",
                "Content-Encoding": "gzip",
                "Content-Length": str(len(BOMB)),
            },
            BOMB,
        ),
        "byte cap",
        "hard",
    ),
    "redirect-loop": (
        Response(b"", 302, headers={"Location": "/redirect-loop"}),
        "more than 5 redirects",
        "hard",
    ),
    "to-loopback": (None, "non-public address 127.0.0.1", "hard"),
    # No route: the feed URL itself points nowhere (see URLS).
    "refused": (None, "connection refused", "temporary"),
    "no-dns": (None, "DNS lookup failed for nosuchhost.invalid", "temporary"),
    "html": (
        Response(b"<!DOCTYPE html><html><body><p>We moved!</p></body></html>"),
        "not a feed",
        "hard",
    ),
    "empty": (Response(b"", content_type="application/rss+xml"), "not a feed", "hard"),
    "invalid-utf8": (
        Response(INVALID_UTF8, content_type="application/rss+xml; charset=utf-8"),
        None,
        None,
    ),
    "billion-laughs": (Response(LAUGHS, content_type="application/rss+xml"), None, None),
    "local-doctype": (Response(XXE, content_type="application/rss+xml"), None, None),
}


def _closed_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_every_fault_is_recorded_on_its_feed_and_the_rest_is_stored(tmp_path):
    # The feeds live on 127.0.0.2, the only private address allowed; a redirect to
    # 127.0.0.1 must be refused like any other private address.
    with StaticSite(host="127.0.0.2") as site, StaticSite() as other:
        other.routes["/secret.xml"] = Response(GOOD)
        site.routes["/good.xml"] = Response(GOOD, content_type="application/rss+xml")
        feeds = [{"id": "good", "name": "Good", "url": site.url("/good.xml")}]
        urls = {
            "refused": f"http://127.0.0.2:{_closed_port('127.0.0.2')}/feed.xml",
            "no-dns": "http://nosuchhost.invalid/feed.xml",  # .invalid never resolves
        }
        for feed_id, (route, _, _) in FAULTS.items():
            if feed_id == "to-loopback":
                route = Response(b"", 302, headers={"Location": other.url("/secret.xml")})
            if route is not None:
                site.routes[f"/{feed_id}"] = route
            feeds.append(
                {
                    "id": feed_id,
                    "name": feed_id,
                    "url": urls.get(feed_id) or site.url(f"/{feed_id}"),
                    "fetch_pages": False,
                }
            )
        db = tmp_path / "w.duckdb"
        sources = write_sources(
            tmp_path / "sources.yaml",
            feeds,
            db,
            allow_private_networks=["127.0.0.2/32"],
            http={
                "connect_timeout": 2,
                "read_timeout": 2,
                "total_timeout": 4,
                "max_body_bytes": 2_000_000,
            },
        )
        started = time.monotonic()
        assert main(["run", "--sources", str(sources)]) == 0
        elapsed = time.monotonic() - started
        assert other.requests == []  # the redirect to 127.0.0.1 was never followed

    # Timeouts bound the run: feeds are fetched concurrently, so roughly one total_timeout
    # (plus the robots.txt/page step and Prefect's own overhead) — not the sum of them.
    assert elapsed < 30, elapsed
    with duckdb.connect(str(db), read_only=True) as con:
        status = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT feed_id, last_status, last_error, last_error_kind, next_poll_at FROM feeds"
            ).fetchall()
        }
        titles = {r[0]: r[1] for r in con.execute("SELECT feed_id, title FROM articles").fetchall()}
        texts = " ".join(
            str(v)
            for row in con.execute("SELECT title, summary, text FROM articles").fetchall()
            for v in row
        )
    assert status["good"][0] == "ok" and titles["good"].startswith("Second round")
    for feed_id, (_, fragment, kind) in FAULTS.items():
        last_status, error, error_kind, _ = status[feed_id]
        if fragment is None:
            assert feed_id in titles, feed_id
        else:
            assert last_status == "error" and fragment in error, (feed_id, error)
            assert error_kind == kind, (feed_id, error_kind)
    assert "Second" in titles["invalid-utf8"] and "round" in titles["invalid-utf8"]
    assert len(titles["billion-laughs"] or "") < 1000  # entities were not expanded
    assert "root:" not in texts  # the local file was never read
    # Retry-After pushed the next poll out.
    assert (status["http-503"][3] - status["good"][3]).total_seconds() > -1


@pytest.mark.usefixtures("prefect_harness")
def test_an_unreachable_robots_txt_puts_pages_off_without_refusing_them(tmp_path):
    # RFC 9309: robots.txt answering 5xx means "not now" for the whole site; the entry is
    # stored with its feed text and the real cause, not as "disallowed by robots.txt".
    from flows.poll import poll_feeds

    with StaticSite(host="127.0.0.2") as feeds_site, StaticSite(host="127.0.0.2") as pages:
        pages.routes["/robots.txt"] = Response(b"maintenance", 503)
        pages.routes["/a"] = Response(b"<html><body><p>page</p></body></html>")
        items = (
            f"<item><title>Talks</title><link>{pages.url('/a')}</link>"
            "<description>Delegations met in Istanbul.</description></item>"
        )
        feeds_site.routes["/feed.xml"] = Response(
            f'<rss version="2.0"><channel><title>F</title>{items}</channel></rss>'.encode(),
            content_type="application/rss+xml",
        )
        db = tmp_path / "w.duckdb"
        sources = write_sources(
            tmp_path / "s.yaml",
            [{"id": "f", "name": "F", "url": feeds_site.url("/feed.xml")}],
            db,
            allow_private_networks=["127.0.0.2/32"],
        )
        poll_feeds(sources=str(sources))
        assert [path for path, _ in pages.requests] == ["/robots.txt"]
    with duckdb.connect(str(db), read_only=True) as con:
        article = con.execute("SELECT text_source, text, fetch_error FROM articles").fetchall()
        feed = con.execute("SELECT last_status FROM feeds").fetchone()
    assert article == [("feed", "Delegations met in Istanbul.", "robots.txt: HTTP 503")]
    assert feed == ("ok",)
