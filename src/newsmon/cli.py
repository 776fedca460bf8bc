"""The `newsmon` command: check, run, demo."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from newsmon import __version__, warehouse
from newsmon.alerts import cli as alerts_cli
from newsmon.config import DEFAULT_SOURCES, Settings, Sources, load_sources
from newsmon.errors import ConfigError, NewsmonError, RunFailed, UsageError

log = logging.getLogger(__name__)


def _prefect_env() -> None:
    # Offline machines: Prefect's telemetry only produces errors. Users may override.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def _terminate(signum: int, frame) -> None:
    # A scheduler stops a run with SIGTERM: unwind like Ctrl-C, so that the run's workers and
    # its temporary API server are stopped instead of left behind.
    raise KeyboardInterrupt(f"signal {signum}")


def _run_flow(sources: Path, db: Path | None, force: bool) -> dict:
    """Run the poll_feeds flow in-process; without a Prefect server, on a temporary API that
    this process and every worker it starts share, stopped when the run ends.

    Raises RunFailed (after printing nothing) when the cycle failed as a whole; its
    `result` holds what the run stored.
    """
    _prefect_env()
    from flows.api import run_api  # Prefect only loads for commands that run flows
    from flows.poll import poll_feeds
    from flows.runners import stop_process_helpers

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        with run_api():
            state = poll_feeds(
                sources=str(sources), db=str(db) if db else None, force=force, return_state=True
            )
            result = state.result(raise_on_failure=False)
    finally:
        stop_process_helpers()
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    if isinstance(result, dict) and result.get("failed"):
        raise RunFailed(result["failed"], result)
    if state.is_failed():
        raise RunFailed(f"the run failed: {state.message or result}", None)
    return result


def _print_summary(result: dict) -> None:
    from newsmon.summary import failure_line

    leading = failure_line(result["feeds_polled"], result["feeds_failed"])
    if leading:
        print(leading)
        for feed_id, error in sorted((result.get("feed_errors") or {}).items()):
            print(f"  {feed_id}: {error}")
        print()
    if result.get("outcome") == "staged":
        print(
            f"the warehouse {result['warehouse']} was busy: this run's "
            f"{result['entries_seen']} entries are staged and load first on the next run"
        )
        return
    # The snapshot was refreshed by the load; reading it needs no lock on the live file.
    with warehouse.connect(warehouse.snapshot_path(result["warehouse"]), read_only=True) as con:
        rows = warehouse.run_summary(con, result["run_id"])
        total = con.execute("SELECT count(*) FROM articles").fetchone()[0]
        pages_failed, pages_to_retry = warehouse.page_failures(con, result["run_id"])
    header = ("feed", "status", "entries", "new", "page text", "feed text", "duplicates")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  ".join(
                str(v).ljust(w) if i < 2 else str(v).rjust(w)
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    print(
        f"\nfeeds polled {result['feeds_polled']} (not due {result['feeds_not_due']}, "
        f"disabled {result['feeds_disabled']}): ok {result['feeds_ok']} "
        f"(not modified {result['feeds_not_modified']}), failed {result['feeds_failed']}; "
        f"entries seen {result['entries_seen']}; new articles {result['articles_new']} "
        f"({result['text_from_page']} with page text, {result['text_from_feed']} with feed text); "
        f"already stored {_already_stored(result)} (listed again, unchanged); "
        f"skipped as duplicate entries {result['duplicates_skipped']}; "
        f"duplicates marked {result['duplicates_marked']} "
        f"({_methods(result.get('duplicates_by_method') or {})}); "
        f"updated {result['articles_updated']}; new stories {result['stories_new']}; "
        f"new entities {result['entities_new']}; failed pages fetched again "
        f"{result['pages_retried']} (recovered {result['pages_recovered']})"
    )
    if pages_failed:
        print(
            f"pages not fetched {pages_failed} (their feed text is stored; "
            f"{pages_to_retry} will be fetched again on later cycles)"
        )
    print(f"warehouse: {result['warehouse']} ({total} articles in all)")
    print(f"try: newsmon query entity_daily --days 0 --db {result['warehouse']}")


def _already_stored(result: dict) -> int:
    """Entries of the run that were already in the warehouse, unchanged (listed again)."""
    if "entries_stored" in result:
        return result["entries_stored"]
    # A flow that does not report them: what is left of the entries seen once the new, the
    # updated and the skipped ones are counted. Updates include stored articles whose failed
    # page arrived on this run (pages_recovered); those are not entries of its feeds.
    updated = result["articles_updated"] - result["pages_recovered"]
    left = result["entries_seen"] - result["articles_new"] - result["duplicates_skipped"] - updated
    return max(0, left)


def _methods(by_method: dict[str, int]) -> str:
    names = {"hash": "same text", "near": "near-identical text", "url": "same URL article id"}
    parts = [f"{names.get(k, k)} {v}" for k, v in sorted(by_method.items())]
    return ", ".join(parts) or "none"


def cmd_check(args: argparse.Namespace) -> int:
    sources = load_sources(args.sources)
    print(
        f"{args.sources}: ok ({len(sources.feeds)} feeds, {len(sources.topics)} topics, "
        f"warehouse {sources.settings.warehouse})"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    load_sources(args.sources)  # fail before anything is written
    try:
        result = _run_flow(args.sources, args.db, args.force)
    except RunFailed as exc:
        if exc.result:
            _print_summary(exc.result)
        raise
    _print_summary(result)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from newsmon.demo import serve_corpus, write_sources
    from newsmon.demo.corpus import routes

    workdir: Path = args.dir
    db = args.db or workdir / "demo.duckdb"
    # The demo watches what the project's sources file watches (the Istanbul talks).
    topics = []
    if args.sources.exists():
        topics = [
            t.model_dump(mode="json", exclude_none=True) for t in load_sources(args.sources).topics
        ]
    with serve_corpus(args.port) as (site, corpus):
        print(
            f"serving the demo corpus ({len(corpus.articles)} articles, "
            f"{len(corpus.outlets)} outlets) at {site.base_url}"
        )
        sources = write_sources(workdir / "sources.yaml", site, corpus, db, topics)
        # Two cycles: the corpus as first published, then as it stands once an outlet has
        # updated an article in place (the report's "What changed" and `article_changes`).
        site.routes.update(routes(corpus.first_editions(), site.base_url))
        _print_summary(_run_flow(sources, db, force=True))
        site.routes.update(routes(corpus, site.base_url))
        print("\nthe same feeds again, after an outlet updated an article in place:")
        result = _run_flow(sources, db, force=True)
    _print_summary(result)
    print(f"demo sources file: {sources}")
    return 0


def _table(header: tuple[str, ...], rows: list[tuple]) -> str:
    cells = [[("" if v is None else str(v)) for v in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def _ago(value, now) -> str:
    if value is None:
        return "never"
    seconds = (value - now).total_seconds()
    span = abs(seconds)
    text = (
        f"{span / 86400:.1f}d"
        if span >= 86400
        else f"{span / 3600:.1f}h"
        if span >= 3600
        else f"{span / 60:.0f}m"
    )
    return f"in {text}" if seconds > 0 else f"{text} ago"


def cmd_feeds(args: argparse.Namespace) -> int:
    # --db alone: that warehouse's feeds, whatever the sources file in the current folder
    # lists; with a sources file (given, or the default without --db): both, merged.
    sources: Sources | None = None
    if args.sources is not None or args.db is None:
        sources = load_sources(args.sources or DEFAULT_SOURCES)
    db = args.db or sources.settings.warehouse
    # a load under way holds the file for seconds
    wait = (sources.settings if sources else Settings()).lock_wait
    if args.enable:
        with warehouse.connect(db, wait=wait) as con:
            if not warehouse.enable_feed(con, args.enable):
                raise NewsmonError(f"feed {args.enable!r} has never been polled into {db}")
        print(f"feed {args.enable} enabled; it is polled on the next run")
        return 0
    from datetime import UTC, datetime

    from newsmon import queries

    now = datetime.now(UTC).replace(tzinfo=None)
    rows = {}
    if Path(db).exists():
        # writable: applies pending migrations first (held for milliseconds)
        with warehouse.connect(db, wait=wait) as con:
            rows = {r["feed_id"]: r for r in warehouse.feed_report(con)}
    elif sources is None:
        raise NewsmonError(f"{db}: no warehouse here (give --sources to list a file's feeds)")
    configured = [feed.id for feed in sources.feeds] if sources else []
    ids = configured + sorted(set(rows) - set(configured))
    notes = {}
    if sources is not None and rows:
        where = args.sources or DEFAULT_SOURCES
        notes = {i: f"only in {where}" for i in configured if i not in rows}
        notes |= {i: f"only in {db}" for i in rows if i not in configured}
    problem_width = 0 if args.wide else 80
    table = []
    for feed_id in ids:
        r = rows.get(feed_id)
        note = (notes.get(feed_id, ""),) if notes else ()
        if r is None:
            table.append((feed_id, "new", "never", "never", 0, 0, "now", "", 0, *note, ""))
            continue
        table.append(
            (
                feed_id,
                r["status"],
                _ago(r["last_polled_at"], now),
                _ago(r["last_success_at"], now),
                r["consecutive_failures"],
                f"{r['weighted_errors'] or 0:g}",
                "disabled"
                if r["status"] == "disabled"
                else _ago(r["next_poll_at"], now)
                if r["next_poll_at"] and r["next_poll_at"] > now
                else "now",
                f"{(r['interval_seconds'] or 0) / 60:.0f}m" if r["interval_seconds"] else "",
                r["entries_seen"],
                *note,
                queries.clip(r["problem"] or "", problem_width),
            )
        )
    header = (
        "feed",
        "status",
        "polled",
        "last success",
        "errors",
        "weighted",
        "next poll",
        "interval",
        "entries",
        *(("note",) if notes else ()),
        "problem",
    )
    print(_table(header, table))
    return 0


def cmd_reprocess(args: argparse.Namespace) -> int:
    from newsmon import pipeline

    sources = load_sources(args.sources)
    db = args.db or sources.settings.warehouse
    if not Path(db).exists():
        raise NewsmonError(f"{db}: no warehouse here yet (run `newsmon run` first)")

    def progress(done: int, total: int) -> None:
        print(f"\rreprocessed {done:,} of {total:,} articles", end="", file=sys.stderr, flush=True)

    with warehouse.connect(db, wait=sources.settings.lock_wait) as con:
        done = pipeline.reprocess(con, sources, progress=progress)
        entities_count = con.execute("SELECT count(*) FROM entities").fetchall()[0][0]
        warehouse.refresh_snapshot(con, db)  # what `query` and `report` read
    print(file=sys.stderr)
    print(f"reprocessed {done} articles from stored text; {entities_count} entities in {db}")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from newsmon import queries

    if bool(args.name) == bool(args.sql):
        raise UsageError(
            "give either a query name or --sql (names: " + ", ".join(sorted(queries.NAMED)) + ")"
        )
    db = args.db
    if db is None:
        db = load_sources(args.sources).settings.warehouse
    limit = args.limit + 1 if args.limit > 0 else 0  # one more row tells that rows were left out
    note = None
    with queries.open_for_query(db, args.live) as con:
        if args.sql:
            columns, rows = queries.run_sql(con, args.sql, limit)
        else:
            columns, rows = queries.run_named(con, args.name, args.days, args.topic, limit)
            note = _check_topic(con, args)  # after the query name's own check
    cut = 0 < args.limit < len(rows)
    print(queries.render(columns, rows[: args.limit] if cut else rows, args.format, args.wide))
    # on stderr: CSV and JSON on stdout stay data
    if cut:
        print(f"(the first {args.limit} rows; --limit N shows more, 0 all)", file=sys.stderr)
    if note:
        print(f"newsmon: {note}", file=sys.stderr)
    return 0


def _check_topic(con, args: argparse.Namespace) -> str | None:
    """UsageError for a topic that neither the warehouse nor the sources file knows; a note
    for one the sources file adds but no stored article belongs to yet."""
    from newsmon import queries

    if args.topic == "*" or args.topic in queries.stored_topics(con):
        return None
    configured: list[str] = []
    if args.sources.exists():
        try:
            configured = [t.id for t in load_sources(args.sources).topics]
        except ConfigError as exc:  # the warehouse's own topics are still listed
            log.warning("topics of %s not read: %s", args.sources, exc)
    return queries.check_topic(con, args.topic, configured)


def cmd_report(args: argparse.Namespace) -> int:
    from newsmon import queries, report

    db = args.db or load_sources(args.sources).settings.warehouse
    out = args.out or report.default_path(db, args.topic)
    with queries.open_for_query(db, args.live) as con:
        note = _check_topic(con, args)
        out = report.write(con, out, args.days, args.topic)
    print(f"report written to {out}")
    if note:
        print(f"newsmon: {note}", file=sys.stderr)
    return 0


def _count(text: str) -> int:
    """An argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsmon", description=__doc__)
    parser.add_argument("--version", action="version", version=f"newsmon {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    commands = parser.add_subparsers(dest="command", required=True)

    def sources_option(
        p: argparse.ArgumentParser, default: Path | None = DEFAULT_SOURCES, help: str = ""
    ) -> None:
        p.add_argument(
            "--sources",
            type=Path,
            default=default,
            help=help or "sources file (default: %(default)s)",
        )

    check = commands.add_parser("check", help="validate the sources file (exit 2 when invalid)")
    sources_option(check)
    check.set_defaults(func=cmd_check)

    run = commands.add_parser("run", help="run one poll cycle into the warehouse")
    sources_option(run)
    run.add_argument("--db", type=Path, help="warehouse file (default: settings.warehouse)")
    run.add_argument(
        "--force", action="store_true", help="poll every enabled feed now, not only those due"
    )
    run.set_defaults(func=cmd_run)

    feeds = commands.add_parser("feeds", help="list feeds: status, errors, next poll, entries seen")
    sources_option(
        feeds,
        None,
        f"sources file (default: {DEFAULT_SOURCES}, unless --db is given: then the feeds of "
        "that warehouse; both given: both, merged, each feed only in one noted)",
    )
    feeds.add_argument("--db", type=Path, help="warehouse file (default: settings.warehouse)")
    feeds.add_argument(
        "--enable", metavar="ID", help="re-enable a feed disabled after repeated errors"
    )
    feeds.add_argument("--wide", action="store_true", help="show whole problems, not 80 characters")
    feeds.set_defaults(func=cmd_feeds)

    reprocess = commands.add_parser(
        "reprocess",
        help="recompute entities and topics from stored text (after a watch list changes)",
    )
    sources_option(reprocess)
    reprocess.add_argument("--db", type=Path, help="warehouse file (default: settings.warehouse)")
    reprocess.set_defaults(func=cmd_reprocess)

    query = commands.add_parser("query", help="run a named trend query or read-only SQL")
    query.add_argument(
        "name",
        nargs="?",
        help="entity_daily, entity_trending, stories_daily, story_timeline, actor_pairs, development_timeline, feed_health",
    )
    query.add_argument("--sql", help="any SQL, run read-only")
    query.add_argument(
        "--days",
        type=_count,
        default=14,
        help="the N calendar days ending on the newest article's day (0: all; default %(default)s)",
    )
    query.add_argument(
        "--topic", default="*", help="a topic id from sources.yaml (default: all articles)"
    )
    query.add_argument("--format", choices=["table", "csv", "json"], default="table")
    query.add_argument(
        "--wide",
        action="store_true",
        help="table: show whole values (default: cut at 60 characters, marked with …)",
    )
    query.add_argument(
        "--limit", type=_count, default=200, help="rows at most (0: all; default %(default)s)"
    )
    query.add_argument(
        "--live",
        action="store_true",
        help="read the live file, not the snapshot (blocks the pipeline's writes while open)",
    )
    sources_option(query)
    query.add_argument("--db", type=Path, help="warehouse file (default: settings.warehouse)")
    query.set_defaults(func=cmd_query)

    rep = commands.add_parser("report", help="write a self-contained HTML report with charts")
    rep.add_argument(
        "--days",
        type=_count,
        default=None,
        help="the N calendar days ending on the newest day with stories (0: all; default: the"
        " topic's recent activity, its last 14 days from the start of the storylines running"
        " in them, up to 6 weeks back)",
    )
    rep.add_argument(
        "--topic", default="*", help="a topic id from sources.yaml (default: all articles)"
    )
    rep.add_argument(
        "--out",
        type=Path,
        help="HTML file to write (default: report.html next to the warehouse file;"
        " report-TOPIC.html with --topic)",
    )
    rep.add_argument("--live", action="store_true", help="read the live file, not the snapshot")
    sources_option(rep)
    rep.add_argument("--db", type=Path, help="warehouse file (default: settings.warehouse)")
    rep.set_defaults(func=cmd_report)

    alerts_cli.add_command(commands, sources_option, _count)

    demo = commands.add_parser(
        "demo",
        help="serve the bundled corpus on loopback and poll it (again after an update in place)",
    )
    demo.add_argument(
        "--dir",
        type=Path,
        default=Path("data/demo"),
        help="demo work folder (default: %(default)s)",
    )
    demo.add_argument("--db", type=Path, help="warehouse file (default: DIR/demo.duckdb)")
    sources_option(demo)  # only its topics are used
    demo.add_argument(
        "--port",
        type=int,
        default=8765,
        help="loopback port (default: %(default)s; 0 = any free port). Article ids derive"
        " from the URLs, port included: run again on the same port, or 0 into a new --dir",
    )
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except NewsmonError as exc:
        print(f"newsmon: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("newsmon: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
