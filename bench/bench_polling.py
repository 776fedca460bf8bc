"""Benchmark of polling: 1,000 feeds on slow loopback servers, a full cycle and a conditional one.

What is measured: the wall time of two `poll_feeds` flow runs (Prefect, DuckDB and all)
against feeds served from loopback with an artificial latency per request (default 50 ms,
roughly a distant server). Cycle 1 knows no validators, so every feed answers 200 and is
parsed and stored; cycle 2 sends If-None-Match and about 5 % of the feeds have changed, so
it is mostly 304 and shows the cost of an ordinary steady-state cycle. The goal from the
issue: the second cycle in 10 s or less on 2 cores. A third run times `feeds.poll` alone
(no Prefect, no warehouse), to show how much the orchestration and the database add.

Feeds are spread over several loopback addresses (127.0.0.2 ...) because newsmon limits
connections per host; one host would only measure that limit.
The servers are threads of this process, so they share the cores (and the GIL) with the
poller: on 2 cores the figures err on the slow side. `--profile` adds a cProfile report of
the `feeds.poll` run.

    .venv/bin/python bench/bench_polling.py            # 1,000 feeds, 50 ms, 10 hosts
    .venv/bin/python bench/bench_polling.py --smoke    # 50 feeds, 5 ms, 2 hosts
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import hashlib
import json
import math
import os
import platform
import pstats
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Prefect reads its settings at import: isolate its home and silence telemetry first.
if "PREFECT_HOME" not in os.environ:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="newsmon-bench-prefect-")
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], True)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for `flows`, which is not part of the installed package

import yaml  # noqa: E402

from newsmon import feeds as feeds_mod  # noqa: E402
from newsmon import schedule, warehouse  # noqa: E402
from newsmon.config import load_sources  # noqa: E402

ITEMS = 10
CHANGE_EVERY = 20  # 1 feed in 20 (5 %) changes between cycles
EPOCH = datetime(2025, 5, 25, tzinfo=UTC)


def feed_xml(n: int, generation: int, base: str) -> bytes:
    """RSS for feed n: ITEMS items, newest first; each generation adds one and drops the oldest."""
    items = "".join(
        f"<item><title>Story {k} of feed {n}</title><link>{base}/story/{n}/{k}</link>"
        f"<guid>f{n:04d}-{k}</guid><description>Invented summary {k} for feed {n}.</description>"
        f"<pubDate>{format_datetime(EPOCH + timedelta(minutes=k), usegmt=True)}</pubDate></item>"
        for k in range(generation + ITEMS - 1, generation - 1, -1)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title>'
        f"<link>{base}/</link>{items}</channel></rss>"
    ).encode()


class Farm:
    """The feeds every server answers for (path -> body, ETag) and the responses sent."""

    def __init__(self, latency: float):
        self.latency = latency
        self.pages: dict[str, tuple[bytes, str]] = {}
        self.served: Counter = Counter()
        self._lock = threading.Lock()

    def publish(self, path: str, body: bytes) -> None:
        self.pages[path] = (body, '"' + hashlib.sha1(body).hexdigest()[:16] + '"')

    def count(self, status: int) -> None:
        with self._lock:
            self.served[status] += 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real feed servers do

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        farm: Farm = self.server.farm  # type: ignore[attr-defined]
        time.sleep(farm.latency)  # sleeping per request thread: latency, not server load
        page = farm.pages.get(self.path)
        if page is None:
            status, body, etag = 404, b"not found", None
        else:
            body, etag = page
            status = 304 if self.headers.get("If-None-Match") == etag else 200
        self.send_response(status)
        if etag:
            self.send_header("ETag", etag)
        if status != 304:
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)
        farm.count(status)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default 5 drops connections when a poll opens many at once

    def handle_error(self, request, client_address) -> None:
        pass  # clients hanging up early are not the subject here


def start_servers(farm: Farm, hosts: int) -> tuple[list[str], str | None]:
    """Start one server per loopback address; fall back to ports on 127.0.0.1."""
    servers, note = [], None
    for h in range(hosts):
        try:
            server = _Server((f"127.0.0.{2 + h}", 0), _Handler)
        except OSError as exc:
            # newsmon's per-host limit is keyed by host name, so ports of one address
            # share it: the figures are then much slower and not comparable.
            note = f"binding 127.0.0.{2 + h} failed ({exc}); using {hosts} ports on 127.0.0.1"
            for s in servers:
                s.server_close()
            servers = [_Server(("127.0.0.1", 0), _Handler) for _ in range(hosts)]
            break
        servers.append(server)
    for server in servers:
        server.farm = farm  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return [f"http://{s.server_address[0]}:{s.server_address[1]}" for s in servers], note


def row(name: str, seconds: float, counts: dict, served: Counter) -> dict:
    """One line of the table: counts are http_200, http_304, errors, entries_seen, articles_new."""
    feeds = counts["http_200"] + counts["http_304"] + counts["errors"]
    head = {"cycle": name, "seconds": round(seconds, 3), "feeds_per_s": round(feeds / seconds, 1)}
    by_status = {str(k): v for k, v in sorted(served.items())}
    return head | counts | {"requests_served": sum(served.values()), "served": by_status}


def write_sources(path: Path, farm: Farm, bases: list[str], count: int, db: Path) -> None:
    """Publish `count` feeds round-robin over the servers and list them in a sources file."""
    feeds = []
    for n in range(1, count + 1):
        url = f"{bases[n % len(bases)]}/f{n:04d}.xml"
        farm.publish(f"/f{n:04d}.xml", feed_xml(n, 0, bases[n % len(bases)]))
        feeds.append({"id": f"f{n:04d}", "name": f"Feed {n}", "url": url, "fetch_pages": False})
    settings = {"warehouse": str(db), "allow_private_networks": True}
    path.write_text(yaml.safe_dump({"feeds": feeds, "settings": settings}), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="50 feeds, 5 ms, 2 hosts")
    parser.add_argument("--profile", action="store_true", help="cProfile the feeds.poll run")
    args = parser.parse_args()
    if args.smoke:
        args.feeds, args.latency_ms, args.hosts = 50, 5.0, 2

    farm = Farm(args.latency_ms / 1000)
    bases, note = start_servers(farm, args.hosts)
    work = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    atexit.register(shutil.rmtree, work, True)
    db, sources = work / "bench.duckdb", work / "sources.yaml"
    write_sources(sources, farm, bases, args.feeds, db)

    def change(generation: int) -> None:
        # A different 5 % each time: one new item each, hence a new ETag.
        for n in range(generation, args.feeds + 1, CHANGE_EVERY):
            farm.publish(f"/f{n:04d}.xml", feed_xml(n, generation, bases[n % len(bases)]))

    from prefect.testing.utilities import prefect_test_harness

    from flows.poll import poll_feeds

    rows = []
    started = time.perf_counter()
    with prefect_test_harness(server_startup_timeout=120):
        harness_s = time.perf_counter() - started
        for cycle in (1, 2):
            if cycle == 2:
                change(1)
            farm.served.clear()
            t0 = time.perf_counter()
            s = poll_feeds(sources=str(sources), db=str(db), force=True)
            elapsed = time.perf_counter() - t0
            counts = {
                "http_200": s["feeds_ok"] - s["feeds_not_modified"],  # feeds_ok counts 304s too
                "http_304": s["feeds_not_modified"],
                "errors": s["feeds_failed"],
                "entries_seen": s["entries_seen"],
                "articles_new": s["articles_new"],
            }
            rows.append(row(f"flow {cycle}", elapsed, counts, farm.served.copy()))

    # The polling stage alone, cycle-2 style: validators from the warehouse, 5 % changed again.
    change(2)
    config = load_sources(sources)
    now = datetime.now(UTC).replace(tzinfo=None)
    with warehouse.connect(db) as con:
        states = warehouse.poll_states(con)
    refetch = config.settings.polling.refetch_after
    headers = {f.id: schedule.request_headers(states.get(f.id), now, refetch) for f in config.feeds}
    farm.served.clear()
    profiler = cProfile.Profile() if args.profile else None
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    results = feeds_mod.poll(config.feeds, config.settings, headers)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - t0
    kinds = Counter(status.status for status, _ in results)
    counts = {"http_200": kinds["ok"], "http_304": kinds["not_modified"], "errors": kinds["error"]}
    counts |= {"entries_seen": sum(len(e) for _, e in results), "articles_new": "-"}
    rows.append(row("feeds.poll only", elapsed, counts, farm.served.copy()))

    # Lower bound from latency and limits alone: each host serves per_host_connections at a
    # time; one feeds.poll call also shares max_connections across all hosts.
    http = config.settings.http
    per_host = math.ceil(args.feeds / args.hosts / http.per_host_connections) * farm.latency
    slots = min(http.max_connections, args.hosts * http.per_host_connections)
    floor = {"per_host_s": per_host, "one_call_s": max(per_host, args.feeds / slots * farm.latency)}

    print(f"\n{args.feeds} feeds on {args.hosts} loopback hosts, {args.latency_ms:g} ms a request,")
    print(f"{ITEMS} items a feed, {100 // CHANGE_EVERY} % changed between cycles")
    if note:
        print("NOTE:", note)
    print(f"Prefect harness start-up (not in the timings): {harness_s:.1f} s")
    cols = [("cycle", "<16", ""), ("seconds", ">8", ".2f"), ("feeds_per_s", ">9", ".1f")]
    cols += [(k, ">8", "") for k in ("http_200", "http_304", "errors", "entries_seen")]
    cols += [("articles_new", ">8", ""), ("requests_served", ">8", "")]
    titles = ["cycle", "wall s", "feeds/s", "200", "304", "errors", "entries", "new", "served"]
    line = "".join(f"{t:{a}}" for t, (_, a, _) in zip(titles, cols, strict=True))
    print(line + "\n" + "-" * len(line))
    for r in rows:
        print("".join(f"{r[k]:{a}{f if not isinstance(r[k], str) else ''}}" for k, a, f in cols))
    print(
        f"latency floor: {floor['per_host_s']:.2f} s per host at {http.per_host_connections}"
        f" connections; {floor['one_call_s']:.2f} s for one feeds.poll call"
        f" (max_connections {http.max_connections})"
    )
    passed = rows[1]["seconds"] <= 10
    print(f"second cycle <= 10 s: {'PASS' if passed else 'FAIL'} ({rows[1]['seconds']:.2f} s)")

    machine = {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
    }
    figures = {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "feeds": args.feeds,
        "hosts": args.hosts,
        "latency_ms": args.latency_ms,
        "note": note,
        "harness_startup_s": round(harness_s, 2),
        "rows": rows,
        "latency_floor_s": floor,
        "goal": {"second_cycle_max_s": 10, "passed": passed},
        "machine": machine,
    }
    # A smoke run must not overwrite the figures of a real one.
    out = ROOT / "bench" / "results" / ("polling-smoke.json" if args.smoke else "polling.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {out}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
