"""When to poll each feed next: conditional headers, adaptive intervals, backoff, disabling.

This module owns the polling types, PollState and FeedStatus: feeds.py fills FeedStatus
and imports it from here, never the other way round (no import circle).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from newsmon.config import Feed, PollingSettings

log = logging.getLogger(__name__)

# A feed's interval grows by this factor while most entries are already known and
# shrinks faster when most are new, so it settles where about half of a poll is new:
# often enough that nothing falls off the end of the feed between two polls.
GROW = 1.25
SHRINK = 1.5
# Retry-After beyond this is treated as this: a week is plenty of politeness.
MAX_RETRY_AFTER = timedelta(days=7)


# Page fetch failures worth trying again later (newsmon.fetch's error kinds).
RETRYABLE = frozenset({"temporary", "soft"})


def page_retry_at(
    error_kind: str | None, attempts: int, failed_at: datetime, polling: PollingSettings
) -> datetime | None:
    """When to fetch a failed article page again, after `attempts` failed fetches; None: never.

    Only temporary failures are retried, after polling.page_retry_after, doubled for each
    attempt, until polling.page_retries retries have been made.
    """
    if error_kind not in RETRYABLE or attempts > polling.page_retries:
        return None
    return failed_at + polling.page_retry_after * (2 ** (attempts - 1))


@dataclass
class PageRetry:
    """A stored article whose page failed once more: what to record (columns of `articles`)."""

    article_id: str
    error: str | None
    error_kind: str | None
    attempts: int
    retry_at: datetime | None


def failed_again(
    article_id: str, page, attempts_before: int, now: datetime, polling: PollingSettings
) -> PageRetry:
    """What to record of a stored article whose page (a FetchResult, or None when it was not
    fetched) failed once more after `attempts_before` fetches."""
    attempts = attempts_before + 1
    error = page.error if page is not None else "not fetched"
    kind = page.error_kind if page is not None else "temporary"
    return PageRetry(article_id, error, kind, attempts, page_retry_at(kind, attempts, now, polling))


def plan_page_retries(articles, attempts_before: dict[str, int], polling: PollingSettings) -> None:
    """Count each built article's page fetches (those made before it, for a stored article
    fetched again) and, when it kept its feed text, set when to fetch its page again."""
    for article in articles:
        article.fetch_attempts += attempts_before.get(article.article_id, 0)
        if article.text_source == "feed":
            article.fetch_retry_at = page_retry_at(
                article.fetch_error_kind, article.fetch_attempts, article.fetched_at, polling
            )


@dataclass
class PollState:
    """What the warehouse remembers about a feed between polls (columns of `feeds`)."""

    feed_id: str
    etag: str | None = None
    last_modified: str | None = None
    last_fetched_at: datetime | None = None  # last full (200) response
    last_success_at: datetime | None = None
    next_poll_at: datetime | None = None
    interval_seconds: int | None = None
    consecutive_failures: int = 0
    weighted_errors: float = 0.0
    disabled_at: datetime | None = None
    disabled_reason: str | None = None


@dataclass
class FeedStatus:
    """The outcome of polling one feed in one run, and the feed's state after it."""

    feed_id: str
    url: str
    name: str
    tags: list[str]
    language: str | None
    polled_at: datetime
    status: str  # 'ok' | 'not_modified' | 'error'
    http_status: int | None = None
    error: str | None = None
    error_kind: str | None = None  # 'hard' | 'soft' | 'temporary'
    title: str | None = None
    entries: int = 0
    new_entries: int = 0
    elapsed_ms: float = 0.0
    etag: str | None = None
    last_modified: str | None = None
    retry_after: str | None = None
    state: PollState | None = None  # set by the scheduler once new entries are known


def is_due(state: PollState | None, now: datetime) -> bool:
    """Whether a feed should be polled now (never when disabled)."""
    if state is None:
        return True
    if state.disabled_at is not None:
        return False
    return state.next_poll_at is None or state.next_poll_at <= now


def plan(
    feeds: list[Feed], states: dict[str, PollState], now: datetime, force: bool = False
) -> tuple[list[Feed], list[Feed], list[Feed]]:
    """Split configured feeds into (due, not due yet, disabled); `force` polls every enabled feed."""
    due, waiting, disabled = [], [], []
    for feed in feeds:
        state = states.get(feed.id)
        if state is not None and state.disabled_at is not None:
            disabled.append(feed)
        elif force or is_due(state, now):
            due.append(feed)
        else:
            waiting.append(feed)
    return due, waiting, disabled


def request_headers(
    state: PollState | None, now: datetime, refetch_after: timedelta
) -> dict[str, str]:
    """Conditional GET headers: If-None-Match, else If-Modified-Since; none when a full refetch is due."""
    if state is None or state.last_fetched_at is None:
        return {}
    if now - state.last_fetched_at >= refetch_after:
        return {}  # for servers that answer 304 to everything
    if state.etag:
        return {"If-None-Match": state.etag}
    if state.last_modified:
        return {"If-Modified-Since": state.last_modified}
    return {}


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (seconds or an HTTP date) as a delay, capped at a week."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is not None:
            when = when.astimezone(UTC).replace(tzinfo=None)
        delay = when - now
    return max(timedelta(0), min(delay, MAX_RETRY_AFTER))


def advance(
    state: PollState | None,
    feed: Feed,
    outcome: FeedStatus,
    polling: PollingSettings,
    now: datetime,
    rng: random.Random | None = None,
) -> PollState:
    """The feed's state after this poll: validators, interval, next poll, errors, disabling."""
    rng = rng or random.Random()
    old = state or PollState(feed_id=feed.id)
    new = PollState(**vars(old))
    if outcome.status == "error":
        return _after_error(new, outcome, polling, now, rng)

    new.consecutive_failures = 0
    new.weighted_errors = 0.0
    new.last_success_at = now
    if outcome.status == "ok":
        # A 200 replaces the validators; a server that stopped sending them gets none back.
        new.etag, new.last_modified = outcome.etag, outcome.last_modified
        new.last_fetched_at = now
    else:  # 304: keep what we had unless the server sent fresher validators
        new.etag = outcome.etag or old.etag
        new.last_modified = outcome.last_modified or old.last_modified

    interval = _interval(old, feed, outcome, polling)
    new.interval_seconds = int(interval.total_seconds())
    # A little jitter so feeds added together do not stay in lockstep.
    new.next_poll_at = now + interval * rng.uniform(0.95, 1.05)
    return new


def _interval(
    old: PollState, feed: Feed, outcome: FeedStatus, polling: PollingSettings
) -> timedelta:
    if feed.interval is not None:
        return feed.interval
    current = (
        timedelta(seconds=old.interval_seconds)
        if old.interval_seconds
        else polling.initial_interval
    )
    if outcome.status == "not_modified" or (outcome.entries and outcome.new_entries == 0):
        current *= GROW
    elif outcome.entries:
        new_share = outcome.new_entries / outcome.entries
        if new_share > 0.5:
            current /= SHRINK
        elif new_share < 0.5:
            current *= GROW
    return max(polling.min_interval, min(polling.max_interval, current))


def _after_error(
    new: PollState, outcome: FeedStatus, polling: PollingSettings, now: datetime, rng: random.Random
) -> PollState:
    weights = {
        "hard": polling.hard_error_weight,
        "soft": polling.soft_error_weight,
        "temporary": polling.temporary_error_weight,
    }
    new.consecutive_failures += 1
    new.weighted_errors = round(
        new.weighted_errors + weights.get(outcome.error_kind or "hard", 1.0), 4
    )
    # Exponential backoff with "full jitter" in its upper half, capped.
    # (The exponent is bounded so a long outage cannot overflow timedelta.)
    doublings = min(new.consecutive_failures - 1, 30)
    backoff = min(polling.backoff_max, polling.backoff_base * 2**doublings)
    delay = backoff * rng.uniform(0.5, 1.0)
    asked = retry_after(outcome.retry_after, now) if outcome.http_status in (429, 503) else None
    if asked is not None:
        delay = max(delay, asked)
    new.next_poll_at = now + delay
    if new.weighted_errors >= polling.disable_after and new.disabled_at is None:
        new.disabled_at = now
        new.disabled_reason = (
            f"{new.consecutive_failures} failures in a row (weighted {new.weighted_errors:g} "
            f">= {polling.disable_after:g}); last: {outcome.error}"
        )
        log.warning("feed %s disabled: %s", new.feed_id, new.disabled_reason)
    return new
