"""Send due alerts through Apprise; record each attempt, retry failures on later cycles."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import cache

from newsmon.alerts.rules import Alerts, target_key
from newsmon.alerts.store import Delivery

log = logging.getLogger(__name__)

# Sends run in threads: each is network wait, and a slow receiver must not hold up the rest.
MAX_PARALLEL = 8


class _PerThread(logging.Handler):
    """Keeps Apprise's log lines of the sends running in this thread (sends run side by side)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        lines = getattr(self.local, "lines", None)
        if lines is not None:
            lines.append((record.levelno, record.getMessage()))


@cache
def _apprise_lines() -> _PerThread:
    # Apprise logs why a send failed rather than raising: its warnings, and the cause under
    # them ("Socket Exception: ... Connection refused") at debug level. They go into the
    # alert's error and our own warning, not to the run's log line by line.
    handler = _PerThread()
    logger = logging.getLogger("apprise")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return handler


def send(url: str, title: str, body: str) -> str | None:
    """Send one message to one Apprise URL; None when delivered, else the error in a line."""
    import apprise

    captured = _apprise_lines()
    captured.local.lines = lines = []
    try:
        notifier = apprise.Apprise()
        if not notifier.add(url):
            return "not a notification URL Apprise knows"
        ok = notifier.notify(title=title, body=body)
    except Exception as exc:  # a plugin bug must not take the other sends down
        return f"{type(exc).__name__}: {exc}"
    finally:
        captured.local.lines = None
    if ok:
        return None
    said = [
        message.strip()[:300]
        for level, message in lines
        if level >= logging.WARNING or "Exception:" in message
    ]
    return " / ".join(dict.fromkeys(said)) or "not delivered"


def retry_at(attempts: int, now: datetime, config: Alerts) -> datetime | None:
    """When to try again after `attempts` failed attempts (doubling), or None: given up."""
    if attempts >= config.max_attempts:
        return None
    wait = min(config.retry_after * 2 ** (attempts - 1), config.retry_max)
    return now + wait


def deliver(
    due: list[Delivery],
    config: Alerts,
    now: datetime,
    sender: Callable[[str, str, str], str | None] = send,
) -> list[tuple[Delivery, str | None, datetime | None]]:
    """Send each due message; return (delivery, error or None, next retry) for each.

    A message whose rule or target is no longer configured is given up with that error.
    """
    urls: dict[tuple[str, str], str] = {}
    for rule in config.rules:
        for url in rule.targets:
            urls[(rule.id, target_key(url))] = url

    def attempt(delivery: Delivery) -> tuple[Delivery, str | None, datetime | None]:
        url = urls.get((delivery.rule_id, delivery.target_key))
        if url is None:
            return delivery, "the rule or this target is no longer in sources.yaml", None
        error = sender(url, delivery.title, delivery.body)
        if error is not None:
            log.warning("alert %s not delivered: %s", delivery.alert_id, error)
            return delivery, error, retry_at(delivery.attempts + 1, now, config)
        return delivery, None, None

    if not due:
        return []
    with ThreadPoolExecutor(min(MAX_PARALLEL, len(due))) as pool:
        return list(pool.map(attempt, due))
