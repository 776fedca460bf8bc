"""The soak's hostile site (bench/soak.py): the faults a feed or a page answers with (500,
503/429 with Retry-After, 404, stalls, drips, truncated or malformed bodies, bodies over the cap,
a gzip bomb, redirects, HTML, nothing), the outlets' state as they publish, revise and copy one
another (Newsroom), the routes a loopback StaticSite serves it by, and each cycle's plan.
"""

from __future__ import annotations

import gzip
import hashlib
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.soak_outlets import OUTLETS, WINDOW, Item, render_feed, render_page, write_item

BURST_PER_OUTLET = 22  # a burst: about 100 new articles over the five outlets

# ---------------------------------------------------------------------------------------------
# Misbehaviour: what a feed or a page does on a cycle.

FEED_FAULTS = [
    "http-500",
    "http-503-retry-after",
    "http-429-retry-after",
    "http-404",
    "stall",  # headers, then nothing until the client gives up
    "drip",  # a byte now and then, past total_timeout
    "truncated",  # Content-Length larger than the body
    "malformed",  # the feed cut in the middle of an item, then junk
    "huge",  # a body over max_body_bytes
    "gzip-bomb",
    "redirect-loop",
    "redirect",  # 301 to the feed's new address: works
    "html",  # a web page instead of a feed
    "empty",
    "reset",  # the connection closed without an answer
]
PAGE_FAULTS = ["http-500", "http-404", "stall", "huge", "redirect"]
BOMB = gzip.compress(b" " * 20_000_000)
SOME_SECONDS = 4.0  # stalls last longer than total_timeout (2 s)


def _send(h, status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8", **headers):
    try:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            h.send_header(name.replace("_", "-"), value)
        h.end_headers()
        if body:
            h.wfile.write(body)
    except OSError:  # the client gave up first
        h.close_connection = True


def _misbehave(h, fault: str, body: bytes, moved_to: str) -> None:
    """Answer with `fault` instead of `body`."""
    xml = "application/rss+xml"
    try:
        if fault == "http-500":
            _send(h, 500, b"internal error", "text/plain")
        elif fault == "http-503-retry-after":
            _send(h, 503, b"down for maintenance", "text/plain", Retry_After="2")
        elif fault == "http-429-retry-after":
            _send(h, 429, b"slow down", "text/plain", Retry_After="1")
        elif fault == "http-404":
            _send(h, 404, b"not found", "text/plain")
        elif fault == "stall":
            h.send_response(200)
            h.send_header("Content-Type", xml)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.flush()
            time.sleep(SOME_SECONDS)
            h.close_connection = True
        elif fault == "drip":
            h.send_response(200)
            h.send_header("Content-Type", xml)
            h.end_headers()
            for byte in body[: int(SOME_SECONDS / 0.25)]:
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
                time.sleep(0.25)
            h.close_connection = True
        elif fault == "truncated":
            h.send_response(200)
            h.send_header("Content-Type", xml)
            h.send_header("Content-Length", str(len(body) + 500))
            h.end_headers()
            h.wfile.write(body[: len(body) // 2])
            h.close_connection = True
        elif fault == "malformed":
            cut = body.find(b"<item>", len(body) // 2)
            _send(h, 200, body[: cut if cut > 0 else len(body) // 2] + b"<item><title>&&<<", xml)
        elif fault == "huge":
            h.send_response(200)
            h.send_header("Content-Type", xml)
            h.end_headers()
            chunk = b"<!-- " + b"padding " * 8190 + b"-->"
            for _ in range(50):  # 3 MiB, three times the cap
                h.wfile.write(chunk)
            h.close_connection = True
        elif fault == "gzip-bomb":
            _send(h, 200, BOMB, xml, Content_Encoding="gzip")
        elif fault == "redirect-loop":
            _send(h, 302, Location=h.path)
        elif fault == "redirect":
            _send(h, 301, Location=moved_to)
        elif fault == "html":
            _send(h, 200, b"<!DOCTYPE html><html><body><p>Our feeds have moved.</p></body></html>")
        elif fault == "empty":
            _send(h, 200, b"", xml)
        elif fault == "reset":
            h.close_connection = True  # the handler returns without a word
        else:
            raise ValueError(fault)
    except OSError:
        h.close_connection = True


@dataclass
class Plan:
    """What the site does during one cycle."""

    feed_faults: dict[str, str] = field(default_factory=dict)  # outlet -> fault
    page_faults: dict[str, str] = field(default_factory=dict)  # path -> fault


class Newsroom:
    """The outlets' state and the site's routes: feeds and pages are built on request, from
    the items still listed (older pages are gone, as their entries are from the feeds)."""

    def __init__(self, seed: int):
        self.seed = seed
        self.items: dict[str, list[Item]] = {o: [] for o in OUTLETS}
        self.next_number = 3_100_001
        self.plan = Plan()
        self.base = ""
        self.served_urls: set[str] = set()  # every entry link a feed has listed
        self.lock = threading.Lock()

    def publish(self, outlet: str, count: int) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        with self.lock:
            for _ in range(count):
                item = write_item(self.seed, outlet, self.next_number, now)
                self.next_number += 1
                self.items[outlet].append(item)
            # Only what the feed lists stays reachable: the soak's memory must not grow.
            self.items[outlet] = sorted(self.items[outlet], key=lambda i: i.number)[-WINDOW:]

    def revise(self, rng: random.Random, outlet: str) -> None:
        """A listed article gets a new headline and lead (same GUID or link): an update."""
        with self.lock:
            if not self.items[outlet]:
                return
            item = rng.choice(self.items[outlet])
            item.revision += 1
            item.title = f"{item.title.split(' (updated')[0]} (updated {item.revision - 1})"
            item.summary = f"Updated: {item.summary}"

    def syndicate(self, rng: random.Random, source: str, outlet: str) -> None:
        """`outlet` runs a copy of `source`'s newest article under its own URL."""
        with self.lock:
            if not self.items[source]:
                return
            original = self.items[source][-1]
            copy = Item(
                outlet=outlet,
                number=self.next_number,
                slug=original.slug,
                title=original.title,
                summary=original.summary,
                paragraphs=list(original.paragraphs),
                published=datetime.now(UTC).replace(microsecond=0),
            )
            self.next_number += 1
            self.items[outlet] = self.items[outlet][-(WINDOW - 1) :] + [copy]

    def listed_urls(self) -> set[str]:
        """The entry links the feeds list now."""
        with self.lock:
            return {self._link(i) for items in self.items.values() for i in items}

    def _link(self, item: Item) -> str:
        tail = "?ref=rss" if OUTLETS[item.outlet][1] == "rss-tracking" else ""
        return self.base + item.path + tail

    def route(self, path: str):
        """The route for a request path (a StaticSite route), or None for a 404."""
        parts = path.strip("/").split("/")
        if not parts or parts[0] not in OUTLETS:
            return None
        outlet = parts[0]
        if parts[1:] in (["feed.xml"], ["feed-moved.xml"]):
            return lambda h: self._feed(h, outlet, moved=parts[1] == "feed-moved.xml")
        if len(parts) == 3 and parts[1] in ("news", "story"):
            with self.lock:
                item = next(
                    (i for i in self.items[outlet] if parts[2].endswith(f"-{i.number}")), None
                )
            if item is None:
                return None
            return lambda h: self._page(h, item, redirected=parts[1] == "story")
        return None

    def _feed(self, h, outlet: str, moved: bool) -> None:
        with self.lock:
            body = render_feed(outlet, self.items[outlet], self.base)
            self.served_urls.update(self._link(i) for i in self.items[outlet][-WINDOW:])
        fault = None if moved else self.plan.feed_faults.get(outlet)
        if fault:
            _misbehave(h, fault, body, f"/{outlet}/feed-moved.xml")
            return
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if h.headers.get("If-None-Match") == etag:
            _send(h, 304, ETag=etag)
            return
        kind = "application/atom+xml" if OUTLETS[outlet][1] == "atom" else "application/rss+xml"
        _send(h, 200, body, kind, ETag=etag)

    def _page(self, h, item: Item, redirected: bool) -> None:
        fault = None if redirected else self.plan.page_faults.get(item.path)
        if fault == "redirect":
            _send(h, 302, Location=f"/{item.outlet}/story/{item.slug}-{item.number}")
        elif fault:
            _misbehave(h, fault, b"<html><body><p>", "/")
        else:
            _send(h, 200, render_page(item, self.base))


class Routes(dict):
    """StaticSite's routes, looked up in the newsroom instead of a table."""

    def __init__(self, newsroom: Newsroom):
        super().__init__()
        self.newsroom = newsroom

    def get(self, path, default=None):
        return self.newsroom.route(path) or default


def plan_cycle(
    rng: random.Random, newsroom: Newsroom, burst: bool, clean: bool, streaks: Counter
) -> Plan:
    """Publish this cycle's articles and decide who misbehaves."""
    plan = Plan()
    outlets = list(OUTLETS)
    for outlet in outlets:
        if not clean and rng.random() < 0.1:  # before publishing: an entry already out
            newsroom.revise(rng, outlet)
        newsroom.publish(outlet, BURST_PER_OUTLET if burst else rng.choice([0, 0, 1, 1, 2, 3]))
    if not clean and rng.random() < 0.08:
        source, outlet = rng.sample(outlets, 2)
        newsroom.syndicate(rng, source, outlet)
    if clean:
        return plan
    # In a burst at most one feed fails, so the run still sees 75+ new articles.
    failing = rng.sample(outlets, k=rng.choice([0, 1])) if burst else outlets
    for outlet in failing:
        # Three failures in a row at most, far from disable_after (10 hard failures).
        if (burst or rng.random() < 0.3) and streaks[outlet] < 3:
            plan.feed_faults[outlet] = rng.choice(FEED_FAULTS)
    if len(plan.feed_faults) == len(outlets):
        # A cycle in which no feed can be polled fails as a whole (exit 3), by design; the
        # soak keeps one feed healthy so that every run not killed must exit 0.
        del plan.feed_faults[rng.choice(outlets)]
    for outlet in outlets:
        streaks[outlet] = streaks[outlet] + 1 if outlet in plan.feed_faults else 0
    for items in newsroom.items.values():
        for item in items:
            if rng.random() < 0.04:
                plan.page_faults[item.path] = rng.choice(PAGE_FAULTS)
    return plan
