"""The HTTP client against a real loopback server: limits, redirects, refusals."""

from __future__ import annotations

import gzip
import time

import pytest

from newsmon.config import HttpSettings
from newsmon.fetch import fetch_all

from .conftest import Response

FAST = HttpSettings(connect_timeout=2, read_timeout=2, total_timeout=3)


def get(url, http=FAST, allow=True):
    return fetch_all([url], http, allow_private_networks=allow)[0]


def test_fetches_body_and_validators(site):
    site.routes["/feed"] = Response(
        b"<rss/>", headers={"ETag": '"v1"', "Last-Modified": "Fri, 16 May 2025 10:00:00 GMT"}
    )
    result = get(site.url("/feed"))
    assert result.ok and result.content == b"<rss/>"
    assert result.headers["etag"] == '"v1"'
    assert result.headers["last-modified"].startswith("Fri, 16 May")
    path, headers = site.requests[0]
    assert headers["User-Agent"].startswith("newsmon/")


def test_results_keep_input_order_and_report_http_errors(site):
    site.routes["/a"] = Response(b"a")
    results = fetch_all([site.url("/missing"), site.url("/a")], FAST, True)
    assert [r.error for r in results] == ["HTTP 404", None]
    assert results[1].content == b"a"


def test_loopback_is_refused_unless_allowed(site):
    site.routes["/a"] = Response(b"a")
    result = get(site.url("/a"), allow=False)
    assert not result.ok
    assert "non-public address 127.0.0.1" in result.error
    assert site.requests == []  # refused before any byte was sent


def test_non_http_schemes_are_refused():
    assert "refused scheme 'file'" in get("file:///etc/passwd").error
    assert "refused scheme 'ftp'" in get("ftp://example.org/x").error


def test_redirects_are_followed_and_capped(site):
    site.routes["/start"] = Response(b"", 302, headers={"Location": "/next"})
    site.routes["/next"] = Response(b"", 301, headers={"Location": site.url("/end")})
    site.routes["/end"] = Response(b"done")
    result = get(site.url("/start"))
    assert result.content == b"done" and result.final_url == site.url("/end")

    for i in range(8):
        site.routes[f"/loop{i}"] = Response(b"", 302, headers={"Location": f"/loop{i + 1}"})
    assert get(site.url("/loop0")).error == "more than 5 redirects"


def test_redirect_to_a_local_file_is_refused(site):
    site.routes["/evil"] = Response(b"", 302, headers={"Location": "file:///etc/passwd"})
    result = get(site.url("/evil"))
    assert result.content is None and "refused scheme 'file'" in result.error


def test_body_cap_while_streaming(site):
    site.routes["/big"] = Response(b"x" * 200_000)
    http = HttpSettings(max_body_bytes=100_000)
    assert "exceeds the 100000-byte cap" in get(site.url("/big"), http).error


def test_gzip_bomb_is_stopped_by_the_decompressed_cap(site):
    bomb = gzip.compress(b"\0" * 50_000_000)
    assert len(bomb) < 100_000

    def handler(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Encoding", "gzip")
        h.send_header("Content-Length", str(len(bomb)))
        h.end_headers()
        h.wfile.write(bomb)

    site.routes["/bomb"] = handler
    result = get(site.url("/bomb"), HttpSettings(max_body_bytes=1_000_000))
    assert "cap" in result.error and result.content is None


def test_a_page_that_never_ends_times_out(site):
    def drip(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.end_headers()
        try:
            for _ in range(100):
                h.wfile.write(b"<p>more</p>")
                h.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass

    site.routes["/drip"] = drip
    started = time.monotonic()
    result = get(site.url("/drip"), HttpSettings(read_timeout=5, total_timeout=1))
    assert result.error == "timed out after 1s"
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_data_not_exceptions(site, status):
    site.routes["/e"] = Response(b"oops", status)
    assert get(site.url("/e")).error == f"HTTP {status}"
