"""The HTTP client against a real loopback server: limits, redirects, refusals."""

from __future__ import annotations

import gzip
import socket
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


def _closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_named_and_temporary():
    result = get(f"http://127.0.0.1:{_closed_port()}/a")
    assert (result.error, result.error_kind) == ("connection refused", "temporary")


@pytest.mark.parametrize(("allow", "kind"), [(True, "temporary"), (False, "temporary")])
def test_dns_failure_is_named(allow, kind):
    # With private networks allowed the name is resolved only when connecting (httpx);
    # otherwise by the address check before it. Either way it is temporary: a network
    # that is down fails every lookup, and the pages are fetched again later.
    result = get("http://nosuchhost.invalid/a", allow=allow)
    assert result.error.startswith("DNS lookup failed for nosuchhost.invalid"), result.error
    assert result.error_kind == kind


def test_a_silent_server_is_a_read_timeout(site):
    def silent(h):
        h.send_response(200)
        h.send_header("Content-Length", "100")
        h.end_headers()
        h.wfile.flush()
        time.sleep(2)

    site.routes["/silent"] = silent
    result = get(site.url("/silent"), HttpSettings(read_timeout=0.5, total_timeout=5))
    assert (result.error, result.error_kind) == ("read timed out after 0.5s", "temporary")


def test_server_error_kind_stays_soft(site):
    site.routes["/e"] = Response(b"oops", 503)
    assert get(site.url("/e")).error_kind == "soft"


# robots.txt as RFC 9309 reads it: 2xx rules, 4xx "no file" (all allowed),
# 5xx or unreachable "not now" (temporary, never a refusal).

PAGE = Response(b"<p>page</p>")


def robots_get(*urls, http=FAST):
    results = fetch_all(urls, http, allow_private_networks=True, robots_txt=True)
    return results[0] if len(urls) == 1 else results


def page_paths(site) -> list[str]:
    return [path for path, _ in site.requests if path != "/robots.txt"]


def test_robots_txt_missing_allows_everything(site):
    site.routes["/a"] = PAGE  # /robots.txt is not routed: 404
    result = robots_get(site.url("/a"))
    assert result.ok and result.content == b"<p>page</p>"
    assert [path for path, _ in site.requests] == ["/robots.txt", "/a"]


def test_a_disallow_rule_is_a_hard_refusal(site):
    site.routes["/robots.txt"] = Response(
        b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"
    )
    site.routes["/public"] = site.routes["/private/b"] = PAGE
    public, private = robots_get(site.url("/public"), site.url("/private/b"))
    assert public.ok
    assert (private.error, private.error_kind) == ("disallowed by robots.txt", "hard")
    assert page_paths(site) == ["/public"]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_robots_txt_server_error_means_not_now(site, status):
    site.routes["/robots.txt"] = Response(b"busy", status)
    site.routes["/a"] = site.routes["/b"] = PAGE
    results = robots_get(site.url("/a"), site.url("/b"))
    for result in results:
        assert (result.error, result.error_kind) == (f"robots.txt: HTTP {status}", "temporary")
        assert result.status is None and result.content is None
    assert page_paths(site) == []  # nothing fetched from the site
    assert [path for path, _ in site.requests] == ["/robots.txt"]  # read once


def test_robots_txt_connection_refused_means_not_now():
    result = robots_get(f"http://127.0.0.1:{_closed_port()}/a")
    assert result.error == "connection refused"
    assert result.error_kind == "temporary"


@pytest.mark.parametrize("allow", [True, False])
def test_robots_txt_dns_failure_means_not_now(allow):
    result = fetch_all(
        ["http://nosuchhost.invalid/a"], FAST, allow_private_networks=allow, robots_txt=True
    )[0]
    assert result.error.startswith(
        "DNS lookup failed for nosuchhost.invalid"
    ), result.error
    assert result.error_kind == "temporary"


def test_robots_txt_timeout_means_not_now_and_is_not_the_page_timing_out(site):
    def slow(h):
        time.sleep(1.5)
        h.send_response(200)
        h.send_header("Content-Length", "0")
        h.end_headers()

    site.routes["/robots.txt"] = slow
    site.routes["/a"] = PAGE
    result = robots_get(site.url("/a"), http=HttpSettings(read_timeout=0.5, total_timeout=5))
    assert result.error == "read timed out after 0.5s"
    assert result.error_kind == "temporary" and page_paths(site) == []


def test_robots_txt_redirect_loop_counts_as_no_file(site):
    # RFC 9309 2.3.1.2: after too many redirects robots.txt may be taken as unavailable.
    site.routes["/robots.txt"] = Response(b"", 302, headers={"Location": "/robots.txt"})
    site.routes["/a"] = PAGE
    assert robots_get(site.url("/a")).ok


def test_a_long_robots_txt_is_read_up_to_the_cap(site):
    # RFC 9309 2.5: a parser may stop at a size limit; the rules before it still count.
    rules = b"User-agent: *\nDisallow: /private/\n" + b"# padding\n" * 20_000
    site.routes["/robots.txt"] = Response(rules, content_type="text/plain")
    site.routes["/public"] = site.routes["/private/b"] = PAGE
    public, private = robots_get(
        site.url("/public"), site.url("/private/b"), http=HttpSettings(max_body_bytes=100_000)
    )
    assert public.ok and private.error == "disallowed by robots.txt"
