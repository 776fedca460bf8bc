"""Polling schedule: conditional headers, adaptive intervals, backoff, Retry-After, disabling."""

from __future__ import annotations

import ast
import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from newsmon import feeds, schedule
from newsmon.config import Feed, PollingSettings
from newsmon.schedule import (
    FeedStatus,
    PollState,
    advance,
    is_due,
    plan,
    request_headers,
    retry_after,
)

NOW = datetime(2025, 5, 16, 12, 0)
FEED = Feed(id="f", name="F", url="https://f.example/rss")
POLLING = PollingSettings()


def outcome(status="ok", entries=20, new=0, **kw) -> FeedStatus:
    result = FeedStatus(
        "f", FEED.url, "F", [], None, NOW, status, entries=entries, new_entries=new, **kw
    )
    return result


def step(state, result, feed=FEED, polling=POLLING, now=NOW):
    return advance(state, feed, result, polling, now, random.Random(7))


def test_conditional_headers_prefer_etag_and_refetch_fully_every_12_hours():
    state = PollState(
        "f", etag='"e1"', last_modified="Fri, 16 May 2025 10:00:00 GMT", last_fetched_at=NOW
    )
    assert request_headers(state, NOW, timedelta(hours=12)) == {"If-None-Match": '"e1"'}
    state.etag = None
    assert request_headers(state, NOW, timedelta(hours=12)) == {
        "If-Modified-Since": "Fri, 16 May 2025 10:00:00 GMT"
    }
    later = NOW + timedelta(hours=12)
    assert request_headers(state, later, timedelta(hours=12)) == {}
    assert request_headers(None, NOW, timedelta(hours=12)) == {}


def test_200_stores_validators_and_304_keeps_them():
    first = step(None, outcome(etag='"e1"', last_modified="lm"))
    assert (first.etag, first.last_modified, first.last_fetched_at) == ('"e1"', "lm", NOW)
    later = NOW + timedelta(hours=1)
    second = step(first, outcome("not_modified", entries=0), now=later)
    assert (
        second.etag == '"e1"' and second.last_fetched_at == NOW and second.last_success_at == later
    )


def test_interval_grows_when_most_entries_are_known_and_shrinks_when_most_are_new():
    start = PollState("f", interval_seconds=3600)
    assert step(start, outcome(entries=20, new=2)).interval_seconds == 4500  # x1.25
    assert step(start, outcome(entries=20, new=15)).interval_seconds == 2400  # /1.5
    assert step(start, outcome(entries=20, new=10)).interval_seconds == 3600  # balanced
    assert step(start, outcome("not_modified", entries=0)).interval_seconds == 4500
    state = None
    for _ in range(60):  # nothing ever new: stops at the ceiling
        state = step(state, outcome(entries=20, new=0))
    assert state.interval_seconds == POLLING.max_interval.total_seconds()
    for _ in range(60):  # everything new: stops at the floor
        state = step(state, outcome(entries=20, new=20))
    assert state.interval_seconds == POLLING.min_interval.total_seconds()


def test_a_feeds_own_interval_wins_and_next_poll_has_small_jitter():
    feed = Feed(id="f", name="F", url="https://f.example/rss", interval="15m")
    state = step(PollState("f", interval_seconds=36000), outcome(new=20), feed=feed)
    assert state.interval_seconds == 900
    assert timedelta(minutes=14) < state.next_poll_at - NOW < timedelta(minutes=16)


def test_errors_back_off_exponentially_with_a_cap_and_reset_on_success():
    state, delays = None, []
    for _ in range(12):
        state = step(
            state, outcome("error", entries=0, error="HTTP 500", error_kind="soft", http_status=500)
        )
        delays.append(state.next_poll_at - NOW)
    assert delays[0] <= POLLING.backoff_base and delays[3] >= 4 * POLLING.backoff_base
    assert max(delays) <= POLLING.backoff_max
    assert (
        state.consecutive_failures == 12
        and state.weighted_errors == 6.0
        and state.disabled_at is None
    )
    ok = step(state, outcome(new=5))
    assert (ok.consecutive_failures, ok.weighted_errors) == (0, 0.0)


@pytest.mark.parametrize(("kind", "count"), [("hard", 10), ("soft", 20), ("temporary", 40)])
def test_a_feed_is_disabled_after_a_weighted_count_of_failures(kind, count):
    state = None
    for i in range(count):
        assert state is None or state.disabled_at is None, i
        state = step(state, outcome("error", entries=0, error="boom", error_kind=kind))
    assert state.disabled_at == NOW
    assert "weighted 10 >= 10" in state.disabled_reason and "last: boom" in state.disabled_reason
    assert plan([FEED], {"f": state}, NOW + timedelta(days=30)) == ([], [], [FEED])


def test_retry_after_is_honoured_on_429_and_503():
    for header in ("7200", "Fri, 16 May 2025 14:00:00 GMT"):
        state = step(
            None,
            outcome(
                "error",
                entries=0,
                error="HTTP 429",
                error_kind="temporary",
                http_status=429,
                retry_after=header,
            ),
        )
        assert state.next_poll_at >= NOW + timedelta(hours=2), header
    # ignored on other statuses
    state = step(
        None,
        outcome(
            "error",
            entries=0,
            error="HTTP 500",
            error_kind="soft",
            http_status=500,
            retry_after="7200",
        ),
    )
    assert state.next_poll_at <= NOW + POLLING.backoff_base
    assert retry_after("garbage", NOW) is None
    assert retry_after("99999999", NOW) == timedelta(days=7)


def test_plan_splits_due_waiting_and_disabled():
    feeds = [Feed(id=i, name=i, url=f"https://{i}.example/") for i in ("new", "due", "wait", "off")]
    states = {
        "due": PollState("due", next_poll_at=NOW - timedelta(seconds=1)),
        "wait": PollState("wait", next_poll_at=NOW + timedelta(minutes=5)),
        "off": PollState("off", disabled_at=NOW, next_poll_at=NOW),
    }
    due, waiting, disabled = plan(feeds, states, NOW)
    assert [f.id for f in due] == ["new", "due"] and [f.id for f in waiting] == ["wait"]
    assert [f.id for f in disabled] == ["off"]
    assert [f.id for f in plan(feeds, states, NOW, force=True)[0]] == ["new", "due", "wait"]
    assert not is_due(states["off"], NOW)


def test_schedule_owns_the_polling_types_and_never_imports_feeds():
    # feeds imports schedule; schedule must not import feeds, not even for type checking.
    tree = ast.parse(Path(schedule.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {"newsmon.feeds", "feeds"} & imported, imported
    assert FeedStatus.__module__ == PollState.__module__ == "newsmon.schedule"
    # Still importable where the flows, the staging area and the warehouse take it from.
    assert feeds.FeedStatus is FeedStatus
    code = "import sys, newsmon.schedule; print('newsmon.feeds' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
