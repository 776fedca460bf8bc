"""Alerts: rules of sources.yaml fired on what each load brought, delivered through Apprise.

The steps, in the order a cycle takes them, each a module: `rules` (the `alerts:` section),
`evaluate` (which alerts the rules fire on the runs loaded since the last evaluation, one
per development however many outlets report it), `message` (what the alert says), `store`
(the `alerts` table: what fired, why, delivery state), `deliver` (Apprise, retries with
backoff). `cycle` runs them after a load has committed; `cli` is `newsmon alerts`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from newsmon.alerts.rules import Alerts, Rule, check_rules

log = logging.getLogger(__name__)

__all__ = ["Alerts", "CycleAlerts", "Rule", "check_rules", "cycle"]


@dataclass
class CycleAlerts:
    """What one cycle's alert step did."""

    fired: int = 0  # new alerts (each sent once to each of its rule's targets)
    updated: int = 0  # alerts fired before that later reports added outlets to
    delivered: int = 0  # messages delivered (retries of earlier cycles included)
    failed: int = 0  # messages that failed this time (retried later unless given up)


def cycle(db: str | Path, config: Alerts, wait: float = 5.0, now: datetime | None = None):
    """Evaluate the rules on the runs loaded since the last evaluation, then send what is due.

    Call it after a load has committed. The evaluation and the due messages are read in
    one short hold of the warehouse; messages go out with the file released (receivers can
    be slow), and their outcomes are written in a second short hold. A message sent whose
    outcome could not be recorded is sent again on the next cycle (at least once).
    Returns a CycleAlerts.
    """
    from newsmon import warehouse
    from newsmon.alerts import deliver, evaluate, store

    now = now or datetime.now(UTC).replace(tzinfo=None)
    result = CycleAlerts()
    with warehouse.connect(db, wait=wait) as con:
        fired = evaluate.evaluate(con, config, now)
        due = store.due(con, now) if config.rules else []
    result.fired = sum(not a.stored for a in fired)
    result.updated = len(fired) - result.fired
    if not due:
        return result
    outcomes = deliver.deliver(due, config, now)
    with warehouse.connect(db, wait=wait) as con:
        con.execute("BEGIN TRANSACTION")
        for delivery, error, retry in outcomes:
            store.record(con, delivery, now, error, retry)
        con.execute("COMMIT")
    result.delivered = sum(error is None for _, error, _ in outcomes)
    result.failed = len(outcomes) - result.delivered
    return result
