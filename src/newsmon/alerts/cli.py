"""`newsmon alerts`: list the alerts fired, their delivery, errors and next retries."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def add_command(commands, sources_option, count) -> None:
    """Add the `alerts` subcommand to newsmon's parser (`count`: a whole-number type)."""
    alerts = commands.add_parser(
        "alerts", help="list the alerts fired: rule, message, target, delivery, retries"
    )
    sources_option(alerts)
    alerts.add_argument("--db", type=Path, help="warehouse file (default: settings.warehouse)")
    alerts.add_argument(
        "--limit",
        type=count,
        default=50,
        help="rows at most, newest first (0: all; default %(default)s)",
    )
    alerts.add_argument(
        "--failed", action="store_true", help="only messages not delivered (retrying or given up)"
    )
    alerts.add_argument("--rule", help="only the alerts of this rule id")
    alerts.add_argument("--body", action="store_true", help="print each message in full")
    alerts.add_argument("--format", choices=["table", "csv", "json"], default="table")
    alerts.add_argument("--wide", action="store_true", help="table: show whole values")
    alerts.set_defaults(func=cmd_alerts)


def cmd_alerts(args: argparse.Namespace) -> int:
    """List the alerts of a warehouse (the live file: delivery state changes after the
    snapshot is taken; it is held for milliseconds)."""
    from newsmon import queries, warehouse
    from newsmon.alerts import store
    from newsmon.config import Settings, load_sources
    from newsmon.errors import NewsmonError

    wait = Settings().lock_wait
    db = args.db
    if db is None:
        settings = load_sources(args.sources).settings
        db, wait = settings.warehouse, settings.lock_wait
    if not Path(db).exists():
        raise NewsmonError(f"{db}: no warehouse here yet (run `newsmon run` first)")
    with warehouse.connect(db, wait=wait) as con:
        columns, rows = store.listing(con, args.limit, args.failed, args.rule)
        bodies = store.bodies(con, args.limit, args.failed, args.rule) if args.body else []
    if args.body:
        for title, body in bodies:
            print(f"{title}\n{body}\n")
        return 0
    print(queries.render(columns, rows, args.format, args.wide))
    if not rows:
        print("(no alerts" + (" failed" if args.failed else "") + ")", file=sys.stderr)
    return 0
