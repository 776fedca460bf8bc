"""Alerts: rules in sources.yaml, one alert per development, delivery to real loopback
receivers (an HTTP webhook and an SMTP server), retries, and the demo replayed day by day."""

from __future__ import annotations

import asyncio
import email
import functools
import json
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
import yaml

from newsmon.config import load_sources, parse_sources
from newsmon.errors import ConfigError

from .conftest import ROOT, Response, StaticSite

# ---------------------------------------------------------------- receivers on loopback


class Webhook:
    """A real HTTP server on 127.0.0.1 (port 0) that keeps every JSON body POSTed to it.

    stop() closes the port (senders get "connection refused"); start() opens the same
    port again: a receiver that is down and comes back.
    """

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self.start()

    def start(self) -> None:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"


class Mailbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1, port 0, keeping every message."""

    def __init__(self) -> None:
        from aiosmtpd.smtp import SMTP

        self.messages: list[email.message.Message] = []
        mailbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                mailbox.messages.append(email.message_from_bytes(envelope.content))
                return "250 OK"

        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(
            self._loop.create_server(functools.partial(SMTP, Handler()), "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def url(self) -> str:
        return (
            f"mailto://127.0.0.1:{self.port}?from=newsmon@alerts.invalid&to=desk@analysts.invalid"
        )

    def subjects(self) -> list[str]:
        return [
            str(email.header.make_header(email.header.decode_header(m["Subject"])))
            for m in self.messages
        ]

    def text(self, index: int) -> str:
        message = self.messages[index]
        part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
        return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.stop()


@pytest.fixture
def mailbox():
    box = Mailbox()
    yield box
    box.close()


def _rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


# ---------------------------------------------------------------- configuration

FEEDS = "feeds:\n  - {id: a, name: A, url: 'https://a.example/feed'}\ntopics:\n  - id: talks\n"


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_sources(text, "s.yaml")
    return str(info.value)


def test_rules_validate_and_every_problem_names_its_line():
    good = parse_sources(
        FEEDS
        + """alerts:
  retry_after: 1m
  rules:
    - id: turns
      when: development
      topic: talks
      kinds: [ceasefire, prisoner_exchange]
      stances: [agreed, rejected, occurred]
      targets: [json://127.0.0.1:9/hook, 'mailto://127.0.0.1:25?from=a@b.org&to=c@d.org']
    - id: ceasefire-turns
      when: stance_change
      kinds: [ceasefire]
      from: [proposed]
      to: [rejected]
      targets: ['mailtos://user:secret@smtp.example.org:465?to=desk@example.org']
    - {id: broken, when: cycle_failed, targets: [json://127.0.0.1:9/hook]}
""",
        "s.yaml",
    )
    rules = good.alerts.rules
    assert [r.when for r in rules] == ["development", "stance_change", "cycle_failed"]
    assert rules[1].from_stances == ["proposed"] and rules[1].to_stances == ["rejected"]
    assert good.alerts.retry_after.total_seconds() == 60
    bad = (
        FEEDS
        + """alerts:
  rules:
    - id: turns
      when: development
      kinds: [cease_fire]
      stances: [agreed]
      targets: [json://127.0.0.1:9/hook]
    - id: turns
      when: stance_change
      topic: talkz
      from: [proposed]
      to: [rejectd]
      window: 3d
      targets: [json://127.0.0.1:9/hook, 'nonsense://x']
    - id: feeds
      when: feed_disabled
      topic: talks
      targets: []
    - id: half
      when: stance_change
      to: [rejected]
      targets: [json://127.0.0.1:9/hook]
      colour: red
"""
    )
    lines = _error(bad).splitlines()
    assert lines[0].startswith(
        "s.yaml:9: alerts.rules[0].kinds: unknown development kind 'cease_fire'"
    )
    assert lines[1:] == [
        "s.yaml:12: alerts.rules[1].id: duplicate id 'turns' (first used at alerts.rules[0])",
        "s.yaml:14: alerts.rules[1].topic: unknown topic 'talkz' (topics: talks)",
        "s.yaml:16: alerts.rules[1].to[0]: Input should be 'proposed', 'agreed', 'rejected', "
        "'occurred', 'called_for' or 'denied'",
        "s.yaml:17: alerts.rules[1].window: a rule on stance_change takes no window",
        "s.yaml:18: alerts.rules[1].targets[1]: not a notification URL Apprise knows: "
        "'nonsense://x' (for example json://host:port/path, "
        "mailtos://user:password@smtp.host?to=you@example.org)",
        "s.yaml:21: alerts.rules[2].topic: a rule on feed_disabled takes no topic",
        "s.yaml:22: alerts.rules[2].targets: List should have at least 1 item after validation, not 0",
        "s.yaml:27: alerts.rules[3].colour: unknown key",
    ]
    assert "s.yaml:7: alerts.rules[0]: a rule on stance_change needs 'from' and 'to' stances" in (
        _error(
            FEEDS + "alerts:\n  rules:\n    - {id: x, when: stance_change, to: [rejected],"
            " targets: [json://h/x]}\n"
        )
    )
    # `on:` would be a YAML boolean: the key is `when`
    assert "alerts.rules[0].when: missing required key" in _error(
        FEEDS + "alerts:\n  rules:\n    - {id: x, on: storyline, targets: [json://h/x]}\n"
    )


def test_the_readmes_alerts_block_is_valid():
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = next(
        b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if b.startswith("alerts:")
    )
    data = yaml.safe_load(block)
    data["feeds"] = [{"id": "a", "name": "A", "url": "https://a.example/feed"}]
    data["topics"] = [{"id": "russia-ukraine-talks"}]
    sources = parse_sources(yaml.safe_dump(data))
    # the values shown beside the first rule and the retries are the defaults in code
    from newsmon.alerts.rules import Alerts, Rule

    shown, default = sources.alerts, Alerts()
    assert (shown.retry_after, shown.retry_max, shown.max_attempts) == (
        default.retry_after,
        default.retry_max,
        default.max_attempts,
    )
    first = sources.alerts.rules[0]
    for key in ("min_confidence", "window", "group_by", "min_outlets"):
        assert getattr(first, key) == Rule.model_fields[key].default, key
    assert {r.when for r in sources.alerts.rules} == {
        "development",
        "stance_change",
        "storyline",
        "entity",
        "feed_disabled",
        "cycle_failed",
    }


# ---------------------------------------------------------------- through the poll flow

# The team's own text, under invented outlets.
REPORTS = {
    "northgate": (
        "Northgate Tribune",
        "Armenia and Azerbaijan agree to exchange prisoners",
        "Armenia and Azerbaijan agreed on Tuesday to exchange 40 prisoners each, the foreign"
        " ministers of both countries said after a meeting in Geneva. The prisoner exchange is"
        " to take place within two weeks under the supervision of the International Committee"
        " of the Red Cross. Officials in Yerevan and Baku described the agreement as a first"
        " step towards a wider settlement of the conflict over the border regions.",
    ),
    "saltmarsh": (
        "Saltmarsh Herald",
        "Yerevan and Baku strike deal on prisoner swap after Geneva meeting",
        "The foreign ministers of Armenia and Azerbaijan agreed in Geneva on Tuesday to exchange"
        " 40 prisoners each. The swap of prisoners will be overseen by the Red Cross and is due"
        " within two weeks, according to statements from both ministries. Diplomats said the"
        " deal on the prisoners was the first concrete result of talks on the border dispute.",
    ),
    "copperfield": (
        "Copperfield Post",
        "Armenia, Azerbaijan to swap 40 prisoners each, ministers say",
        "Armenia and Azerbaijan have agreed to exchange 40 prisoners each, their foreign"
        " ministers announced in Geneva on Tuesday after a meeting on the border dispute. The"
        " Red Cross will supervise the prisoner exchange, expected within two weeks, officials"
        " in Baku and Yerevan said.",
    ),
}
PUBLISHED = "Tue, 03 Jun 2025 10:00:00 +0000"


def _page(title: str, text: str) -> bytes:
    return (
        f"<html lang='en'><body><article><h1>{title}</h1><p>{text}</p></article></body></html>"
    ).encode()


def _feed(site: StaticSite, outlet: str, present: bool, title: str | None = None) -> Response:
    items = ""
    if present:
        title = title or REPORTS[outlet][1]
        link = site.url(f"/{outlet}/swap")
        items = (
            f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{PUBLISHED}</pubDate><description>{title}.</description></item>"
        )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{outlet}</title>{items}</channel></rss>'
    return Response(body.encode(), content_type="application/rss+xml")


def _write_sources(path: Path, site: StaticSite, db: Path, alerts: dict, **settings) -> Path:
    data = {
        "feeds": [
            {"id": outlet, "name": REPORTS[outlet][0], "url": site.url(f"/{outlet}.xml")}
            for outlet in REPORTS
        ],
        "settings": {"warehouse": str(db), "allow_private_networks": True, **settings},
        "alerts": alerts,
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _run(sources: Path, db: Path):
    from flows.poll import poll_feeds

    return poll_feeds(sources=str(sources), db=str(db), force=True, return_state=True)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_one_alert_per_development_retried_until_the_receiver_is_back(
    tmp_path, webhook, mailbox, capsys
):
    from newsmon.cli import main

    db = tmp_path / "w.duckdb"
    with StaticSite() as site:
        for outlet, (_, title, text) in REPORTS.items():
            site.routes[f"/{outlet}/swap"] = Response(_page(title, text))
        # the first cycle: two outlets report the agreement
        for outlet in REPORTS:
            site.routes[f"/{outlet}.xml"] = _feed(site, outlet, outlet != "copperfield")
        rules = {
            "retry_after": "1s",
            "rules": [
                {
                    "id": "swaps",
                    "when": "development",
                    "kinds": ["prisoner_exchange"],
                    "stances": ["agreed"],
                    "targets": [webhook.url, mailbox.url],
                }
            ],
        }
        sources = _write_sources(tmp_path / "sources.yaml", site, db, rules)
        webhook.stop()  # the webhook is down; the mail server is up
        state = _run(sources, db)
        assert state.is_completed()  # a failed delivery never fails the cycle
        rows = _rows(
            db,
            "SELECT target, outlets, delivered_at IS NOT NULL, attempts, error, next_retry_at "
            "FROM alerts ORDER BY target",
        )
        assert len(rows) == 2  # one alert, one row per target
        hook_row = next(r for r in rows if r[0].startswith("json://"))
        mail_row = next(r for r in rows if r[0].startswith("mailto://"))
        assert sorted(hook_row[1]) == ["Northgate Tribune", "Saltmarsh Herald"]
        assert hook_row[2:4] == (False, 1) and "Connection refused" in hook_row[4]
        assert hook_row[5] is not None  # retried on a later cycle
        assert mail_row[2:4] == (True, 1) and mail_row[4] is None
        assert len(mailbox.messages) == 1
        text = mailbox.text(0)
        assert "Prisoner exchange agreed" in text and "40 prisoners" in text
        assert "Northgate Tribune: http://127.0.0.1" in text and "Saltmarsh Herald" in text
        assert main(["alerts", "--db", str(db), "--failed"]) == 0
        listed = capsys.readouterr().out
        assert "retrying" in listed and "json://127.0.0.1" in listed and "mailto" not in listed

        # the next cycle: the receiver is back, and a third outlet reports the same agreement
        webhook.start()
        site.routes["/copperfield.xml"] = _feed(site, "copperfield", True)
        time.sleep(1.1)  # retry_after
        assert _run(sources, db).is_completed()
        rows = _rows(db, "SELECT alert_id, outlets, delivered_at IS NOT NULL, attempts FROM alerts")
        assert len(rows) == 2 and len({r[0] for r in rows}) == 1  # updated, not a new alert
        assert all(sorted(r[1]) == sorted(n for n, _, _ in REPORTS.values()) for r in rows)
        assert all(r[2] for r in rows)
        assert sorted(r[3] for r in rows) == [1, 2]  # the webhook's second attempt
        assert len(webhook.received) == 1 and len(mailbox.messages) == 1  # nothing twice
        sent = webhook.received[0]
        assert sent["title"].startswith("newsmon: prisoner exchange agreed")
        named = sent["title"].split(": by ")[1].split(", 40 prisoners")[0]
        assert sorted(named.split(", ")) == ["Armenia", "Azerbaijan"]  # their stored names
        assert "Copperfield Post" in sent["message"]  # the retry sends the latest outlets

        # a third cycle with nothing new sends nothing
        assert _run(sources, db).is_completed()
        assert len(webhook.received) == 1 and len(mailbox.messages) == 1


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_an_event_the_sentence_puts_in_another_period_is_background_not_an_alert(tmp_path, webhook):
    db = tmp_path / "w.duckdb"
    history = (
        "Armenia and Azerbaijan prepare new contacts on their border",
        "Armenia and Azerbaijan last exchanged prisoners in the spring of 2021, after a"
        " ceasefire brokered by Moscow. Diplomats in Geneva said on Tuesday that a new round of"
        " contacts on the border dispute was being prepared.",
    )
    news = (
        "Armenia and Azerbaijan exchange 40 prisoners",
        "Armenia and Azerbaijan exchanged 40 prisoners each on Tuesday at the border, the"
        " foreign ministers of both countries said.",
    )
    with StaticSite() as site:
        site.routes["/northgate/swap"] = Response(_page(*history))
        site.routes["/northgate.xml"] = _feed(site, "northgate", True, history[0])
        for outlet in ("saltmarsh", "copperfield"):
            site.routes[f"/{outlet}.xml"] = _feed(site, outlet, False)
        rule = {"id": "swaps", "when": "development", "kinds": ["prisoner_exchange"]}
        rule |= {"stances": ["occurred"], "targets": [webhook.url]}
        sources = _write_sources(tmp_path / "sources.yaml", site, db, {"rules": [rule]})
        assert _run(sources, db).is_completed()
        stored = _rows(
            db, "SELECT stance, occurred_on FROM developments WHERE kind = 'prisoner_exchange'"
        )
        assert stored == [("occurred", None)]  # read, with no day: spring 2021 is not 3 June
        assert _rows(db, "SELECT count(*) FROM alerts")[0][0] == 0
        # the same outlet's report of an exchange that happened that day fires
        site.routes["/saltmarsh/swap"] = Response(_page(*news))
        site.routes["/saltmarsh.xml"] = _feed(site, "saltmarsh", True, news[0])
        assert _run(sources, db).is_completed()
        assert _rows(db, "SELECT first_on FROM alerts") == [(date(2025, 6, 3),)]
        assert len(webhook.received) == 1


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_a_failed_cycle_and_a_disabled_feed_are_alerted_once(tmp_path, webhook):
    db = tmp_path / "w.duckdb"
    with StaticSite() as site:  # no routes: every feed answers 404
        rules = {
            "rules": [
                {"id": "broken", "when": "cycle_failed", "targets": [webhook.url]},
                {"id": "disabled", "when": "feed_disabled", "targets": [webhook.url]},
            ]
        }
        sources = _write_sources(
            tmp_path / "sources.yaml", site, db, rules, polling={"disable_after": 1}
        )
        assert _run(sources, db).is_failed()
        titles = sorted(m["title"] for m in webhook.received)
        assert len(titles) == 4
        assert titles[0].startswith("newsmon: cycle failed: no feed could be polled: all 3")
        assert [t.split(" (")[0] for t in titles[1:]] == [
            "newsmon: feed disabled: feed Copperfield Post",
            "newsmon: feed disabled: feed Northgate Tribune",
            "newsmon: feed disabled: feed Saltmarsh Herald",
        ]
        _run(sources, db)  # disabled feeds are not polled: nothing is due, nothing fires
        assert len(webhook.received) == 4


# ---------------------------------------------------------------- the demo, day by day

# The Istanbul storyline's developments the issue names, each with a day it happened on.
EXPECTED = {
    "talks held (16 May)": ("talks", "occurred", date(2025, 5, 16)),
    "ceasefire not agreed (16 May)": ("ceasefire", "rejected", date(2025, 5, 16)),
    "prisoner exchange agreed (16 May)": ("prisoner_exchange", "agreed", date(2025, 5, 16)),
    "exchange occurred (23-25 May)": ("prisoner_exchange", "occurred", date(2025, 5, 24)),
    "second round (2 June)": ("talks", "occurred", date(2025, 6, 2)),
}


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_the_demo_replayed_day_by_day_fires_each_istanbul_development_once(
    tmp_path, webhook, mailbox
):
    from newsmon.demo.corpus import Corpus, load_corpus, routes, sources_yaml

    corpus = load_corpus()
    db = tmp_path / "demo.duckdb"
    topics = [
        t.model_dump(mode="json", exclude_none=True)
        for t in load_sources(ROOT / "sources.yaml").topics
    ]
    targets = [webhook.url, mailbox.url]
    # group_by topic; by storyline (exchange-by-storyline below) fires the exchange once too,
    # now that the live blog of its second day joins the Istanbul storyline.
    rule = {
        "topic": "russia-ukraine-talks",
        "when": "development",
        "group_by": "topic",
        # sent once two outlets carry it: one outlet's misreading stays quiet
        "min_outlets": 2,
        "targets": targets,
    }
    alerts = {
        "rules": [
            {"id": "talks-held", "kinds": ["talks"], "stances": ["occurred"], **rule},
            {"id": "no-ceasefire", "kinds": ["ceasefire"], "stances": ["rejected"], **rule},
            {
                "id": "exchange",
                "kinds": ["prisoner_exchange"],
                "stances": ["agreed", "occurred"],
                **rule,
            },
            # a ceasefire proposed, then rejected; new storylines; people first named
            {
                "topic": "russia-ukraine-talks",
                "targets": targets,
                "min_outlets": 2,
                "id": "turns",
                "when": "stance_change",
                "kinds": ["ceasefire"],
                "from": ["proposed"],
                "to": ["rejected"],
            },
            {
                "topic": "russia-ukraine-talks",
                "id": "storylines",
                "when": "storyline",
                "min_outlets": 2,
                "targets": targets,
            },
            {
                "topic": "russia-ukraine-talks",
                "id": "people",
                "when": "entity",
                "entity_kinds": ["person"],
                "min_outlets": 2,
                "targets": targets,
            },
            # the same by storyline: the exchange once as well
            {
                **rule,
                "id": "exchange-by-storyline",
                "kinds": ["prisoner_exchange"],
                "stances": ["occurred"],
                "group_by": "storyline",
                "min_outlets": 1,
            },
        ]
    }
    days = sorted({a.published.date() for a in corpus.articles})
    with StaticSite() as site:
        data = yaml.safe_load(sources_yaml(corpus, site.base_url, str(db), topics))
        data["alerts"] = alerts
        sources = tmp_path / "sources.yaml"
        sources.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        sent_by_day = {}
        for day in days:
            shown = Corpus(
                corpus.outlets, [a for a in corpus.articles if a.published.date() <= day]
            )
            site.routes.clear()
            site.routes.update(routes(shown, site.base_url))
            assert _run(sources, db).is_completed()
            sent_by_day[day] = len(webhook.received)
        fired = _rows(
            db,
            "SELECT alert_id, any_value(kind), any_value(stance), any_value(first_on), "
            "any_value(last_on), any_value(outlets), any_value(article_ids), "
            "bool_and(delivered_at IS NOT NULL), count(*), any_value(title), min(fired_at), "
            "any_value(storyline_id) "
            "FROM alerts WHERE rule_id IN ('talks-held', 'no-ceasefire', 'exchange') "
            "GROUP BY alert_id ORDER BY any_value(first_on), any_value(kind)",
        )
        others_fired = _rows(
            db,
            "SELECT rule_id, any_value(reason), any_value(first_on), any_value(storyline_id), "
            "any_value(outlets), bool_and(delivered_at IS NOT NULL), any_value(title) "
            "FROM alerts WHERE rule_id IN ('turns', 'storylines', 'people') "
            "GROUP BY alert_id, rule_id ORDER BY any_value(first_on)",
        )
        by_storyline = _rows(
            db,
            "SELECT DISTINCT alert_id, first_on, last_on, outlets FROM alerts "
            "WHERE rule_id = 'exchange-by-storyline' ORDER BY first_on",
        )
        report = []
        for name, (kind, stance, day) in EXPECTED.items():
            found = [f for f in fired if f[1:3] == (kind, stance) and f[3] <= day <= f[4]]
            assert len(found) == 1, (name, found)  # once
            alert = found[0]
            assert alert[7] and alert[8] == 2  # delivered to both receivers
            # every outlet that carried the development within the alert's days
            carried = _rows(
                db,
                "SELECT DISTINCT f.name FROM developments d JOIN articles a USING (article_id) "
                "JOIN feeds f USING (feed_id) JOIN article_topics t USING (article_id) "
                "WHERE t.topic = 'russia-ukraine-talks' AND d.kind = ? AND d.stance = ? "
                "AND coalesce(d.occurred_on, CAST(a.published_at AS DATE)) BETWEEN ? AND ?",
                [kind, stance, alert[3], alert[4]],
            )
            assert sorted(alert[5]) == sorted(r[0] for r in carried), name
            report.append(f"{name}: {alert[3]}..{alert[4]}, {len(alert[5])} outlets: {alert[9]}")
        others = [
            f"{f[1]} {f[2]} {f[3]}..{f[4]} ({len(f[5])} outlets)"
            for f in fired
            if not any(f[1:3] == (k, s) and f[3] <= d <= f[4] for k, s, d in EXPECTED.values())
        ]
        turns = [r for r in others_fired if r[0] == "turns"]
        assert [r[2] for r in turns if r[5]][0] == date(2025, 5, 16)  # proposed 11 May
        assert "ceasefire proposed on 11 May 2025" in turns[0][1]
        istanbul = _rows(
            db, "SELECT storyline_id FROM storylines ORDER BY article_count DESC LIMIT 1"
        )[0][0]
        assert [r[3] for r in others_fired if r[0] == "storylines"].count(istanbul) == 1
        people = [r[1] for r in others_fired if r[0] == "people"]
        assert len(people) == len(set(people))  # each person once
        # Umerov, first named by one outlet, is sent once a second one names him too
        assert [r[5] for r in others_fired if r[1] == "Rustem Umerov (person)"] == [True]
        print("\nfired as expected:\n  " + "\n  ".join(report))
        print(
            "stance changes, storylines, people:\n  "
            + "\n  ".join(f"{r[0]} {r[2]} {r[1]} delivered={r[5]}: {r[6]}" for r in others_fired)
        )
        print("also fired:\n  " + "\n  ".join(others))
        print("prisoner_exchange occurred, by storyline:\n  " + "\n  ".join(map(str, by_storyline)))
        assert len([a for a in by_storyline if a[1] <= date(2025, 5, 24) <= a[2]]) == 1
        # each alert went out once to each receiver
        sent = sum(f[7] for f in fired) + len(by_storyline) + sum(r[5] for r in others_fired)
        waiting = [f for f in fired if not f[7]]
        assert all(len(f[5]) < 2 for f in waiting)
        print(
            "waiting for a second outlet:\n  "
            + "\n  ".join(f"{f[1]} {f[2]} {f[3]}..{f[4]} ({f[5]})" for f in waiting)
        )
        print("sent:\n  " + "\n  ".join(m["title"] for m in webhook.received))
        assert len(webhook.received) == sent == len(mailbox.messages)
        assert len({m["title"] + m["message"] for m in webhook.received}) == sent

        # replaying again (every day at once, the same feeds) fires and sends nothing
        before = _rows(db, "SELECT count(*), max(updated_at) FROM alerts")
        assert _run(sources, db).is_completed()
        assert _rows(db, "SELECT count(*), max(updated_at) FROM alerts") == before
        assert len(webhook.received) == sent == len(mailbox.messages)


class _Holder:
    """Another process keeping the warehouse open (read-only), so a run must stage its batch."""

    def __init__(self, db: Path):
        import subprocess
        import sys

        code = (
            f"import duckdb, time; c = duckdb.connect({str(db)!r}, read_only=True); "
            "print('open', flush=True); time.sleep(120)"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "open"

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_a_staged_batch_updates_the_alert_once_loaded_and_nothing_is_sent_twice(tmp_path, webhook):
    db = tmp_path / "w.duckdb"
    with StaticSite() as site:
        for outlet, (_, title, text) in REPORTS.items():
            site.routes[f"/{outlet}/swap"] = Response(_page(title, text))
            site.routes[f"/{outlet}.xml"] = _feed(site, outlet, outlet == "northgate")
        rules = {
            "rules": [
                {
                    "id": "swaps",
                    "when": "development",
                    "kinds": ["prisoner_exchange"],
                    "stances": ["agreed"],
                    "targets": [webhook.url],
                }
            ]
        }
        sources = _write_sources(tmp_path / "sources.yaml", site, db, rules, lock_wait=1)
        assert _run(sources, db).is_completed()
        assert len(webhook.received) == 1  # fired by the first outlet's report
        site.routes["/saltmarsh.xml"] = _feed(site, "saltmarsh", True)
        holder = _Holder(db)
        try:
            state = _run(sources, db)
            assert state.result()["outcome"] == "staged"  # nothing evaluated, nothing sent
        finally:
            holder.close()
        site.routes["/copperfield.xml"] = _feed(site, "copperfield", True)
        assert _run(sources, db).result()["outcome"] == "loaded"  # the staged batch, then its own
        rows = _rows(db, "SELECT outlets, attempts FROM alerts")
        assert len(rows) == 1 and rows[0][1] == 1
        # Saltmarsh's report came in the staged batch: its developments load with it
        assert sorted(rows[0][0]) == sorted(name for name, _, _ in REPORTS.values())
        assert _rows(db, "SELECT count(*) FROM alert_runs")[0][0] == 3  # each run once
        assert len(webhook.received) == 1  # updated, never sent again
