"""Which alerts the rules fire on the runs loaded since the last evaluation."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from newsmon.alerts import store
from newsmon.alerts.rules import Alerts, Rule, masked, target_key
from newsmon.alerts.store import Alert

log = logging.getLogger(__name__)

# The articles the pending runs stored or revised. A staged batch's run is pending until
# the run that loads it evaluates; an article revised in place keeps its first run_id.
_NEW_ARTICLES = f"""
CREATE OR REPLACE TEMP TABLE alert_new AS
SELECT article_id FROM articles
WHERE run_id IN ({store.PENDING_RUNS}) OR (? IS NOT NULL AND updated_at >= ?)
"""

_DEVELOPMENTS = """
SELECT d.development_id, d.article_id, d.kind, d.stance,
       coalesce(d.occurred_on, CAST(coalesce(a.published_at, a.fetched_at) AS DATE)) AS on_day,
       coalesce(a.storyline_id, a.story_id, a.article_id) AS scope, a.storyline_id, a.story_id,
       coalesce(f.outlet, f.name, a.feed_id) AS outlet, coalesce(a.published_at, a.fetched_at) AS seen_at
FROM developments AS d
JOIN articles AS a USING (article_id)
LEFT JOIN feeds AS f ON f.feed_id = a.feed_id
WHERE {where}
ORDER BY on_day, seen_at, d.development_id
"""


@dataclass
class _Found:
    development_id: str
    article_id: str
    kind: str
    stance: str
    on_day: date
    scope: str
    storyline_id: str | None
    story_id: str | None
    outlet: str
    at: datetime


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]


def _scope_filter(rule: Rule, alias: str = "a") -> tuple[list[str], list]:
    where, params = [], []
    if rule.topic:
        where.append(
            f"{alias}.article_id IN (SELECT article_id FROM article_topics WHERE topic = ?)"
        )
        params.append(rule.topic)
    if rule.storyline:
        where.append(f"{alias}.storyline_id = ?")
        params.append(rule.storyline)
    return where, params


def _developments(
    con: duckdb.DuckDBPyConnection,
    rule: Rule,
    stances: list[str],
    new_only: bool = True,
    scopes: list[str] | None = None,
) -> list[_Found]:
    where, params = _scope_filter(rule)
    # No day on a development of a dated article: its sentence puts it in another period
    # ("met in Istanbul in 2022", "last year"). Background, not news.
    where.append("(d.occurred_on IS NOT NULL OR coalesce(a.published_at, a.fetched_at) IS NULL)")
    if new_only:
        where.append("d.article_id IN (SELECT article_id FROM alert_new)")
    if rule.kinds:
        where.append("list_contains(?, d.kind)")
        params.append(list(rule.kinds))
    if stances:
        where.append("list_contains(?, d.stance)")
        params.append(list(stances))
    if rule.min_confidence:
        where.append("coalesce(d.confidence, 1) >= ?")
        params.append(rule.min_confidence)
    if scopes is not None:
        where.append("list_contains(?, coalesce(a.storyline_id, a.story_id, a.article_id))")
        params.append(scopes)
    sql = _DEVELOPMENTS.format(where=" AND ".join(where) or "true")
    return [_Found(*row) for row in con.execute(sql, params).fetchall()]


def _add(alert: Alert, found: _Found) -> bool:
    """Add a development to an alert; True when it brought something new."""
    if found.development_id in alert.development_ids:
        return False
    alert.development_ids.append(found.development_id)
    if found.article_id not in alert.article_ids:
        alert.article_ids.append(found.article_id)
    if found.outlet not in alert.outlets:
        alert.outlets.append(found.outlet)
    alert.first_on = min(filter(None, (alert.first_on, found.on_day)))
    alert.last_on = max(filter(None, (alert.last_on, found.on_day)))
    return True


def _episodes(
    con: duckdb.DuckDBPyConnection, rule: Rule, found: list[_Found], key_of
) -> list[Alert]:
    """Group developments into alerts: one per key and run of dates no further apart than
    the rule's window, joining the alerts the rule fired before. Returns the alerts that are
    new or gained a development."""
    groups: dict[str, list[_Found]] = defaultdict(list)
    for item in found:
        groups[key_of(item)].append(item)
    window = rule.window
    changed: dict[str, Alert] = {}
    stored = store.stored_alerts(con, rule.id, list(groups))
    by_key: dict[str, list[Alert]] = defaultdict(list)
    for alert in stored:
        by_key[alert.alert_key].append(alert)
    for key, items in groups.items():
        alerts = by_key[key]
        for item in items:  # in date order
            home = next(
                (
                    a
                    for a in alerts
                    if a.first_on - window <= item.on_day <= a.last_on + window  # type: ignore[operator]
                ),
                None,
            )
            if home is None:
                home = Alert(
                    alert_id=_digest(rule.id, key, item.on_day),
                    rule_id=rule.id,
                    rule_when=rule.when,
                    alert_key=key,
                    topic=rule.topic,
                    storyline_id=item.storyline_id,
                    story_id=item.story_id,
                    kind=item.kind,
                    stance=item.stance,
                    first_on=item.on_day,
                    last_on=item.on_day,
                )
                alerts.append(home)
            if _add(home, item):
                changed[home.alert_id] = home
    return list(changed.values())


def _on_development(con: duckdb.DuckDBPyConnection, rule: Rule) -> list[Alert]:
    found = _developments(con, rule, list(rule.stances))
    if rule.group_by == "topic":
        return _episodes(con, rule, found, lambda f: f"topic:{rule.topic}|{f.kind}|{f.stance}")
    return _episodes(con, rule, found, lambda f: f"{f.scope}|{f.kind}|{f.stance}")


def _on_stance_change(con: duckdb.DuckDBPyConnection, rule: Rule) -> list[Alert]:
    after = _developments(con, rule, list(rule.to_stances))
    if not after:
        return []
    before = _developments(
        con, rule, list(rule.from_stances), new_only=False, scopes=sorted({f.scope for f in after})
    )
    earliest: dict[tuple[str, str], _Found] = {}
    for item in before:  # in date order: the first `from` of each storyline and kind
        earliest.setdefault((item.scope, item.kind), item)
    turned = [
        f
        for f in after
        if (f.scope, f.kind) in earliest and earliest[(f.scope, f.kind)].on_day <= f.on_day
    ]
    alerts = _episodes(con, rule, turned, lambda f: f"{f.scope}|{f.kind}|>{f.stance}")
    for alert in alerts:
        first = earliest[(alert.alert_key.split("|")[0], alert.kind)]
        alert.reason = (
            f"{alert.kind} {first.stance} on {first.on_day:%d %b %Y} ({first.outlet}), "
            f"then {alert.stance}"
        )
    return alerts


def _on_storyline(con: duckdb.DuckDBPyConnection, rule: Rule) -> list[Alert]:
    where, params = _scope_filter(rule)
    rows = con.execute(
        f"""
        SELECT a.storyline_id, a.article_id, coalesce(f.outlet, f.name, a.feed_id) AS outlet,
               CAST(coalesce(a.published_at, a.fetched_at) AS DATE) AS day,
               -- new: none of its articles came before the pending runs
               NOT EXISTS (SELECT 1 FROM articles AS o WHERE o.storyline_id = a.storyline_id
                           AND o.article_id NOT IN (SELECT article_id FROM alert_new)) AS fresh
        FROM articles AS a LEFT JOIN feeds AS f ON f.feed_id = a.feed_id
        WHERE a.storyline_id IN (SELECT storyline_id FROM articles
                                 WHERE article_id IN (SELECT article_id FROM alert_new))
          AND {" AND ".join(where) or "true"}
        ORDER BY coalesce(a.published_at, a.fetched_at), a.article_id
        """,
        params,
    ).fetchall()
    by_storyline: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        by_storyline[row[0]].append(row)
    stored = {a.alert_key: a for a in store.stored_alerts(con, rule.id, list(by_storyline))}
    changed = []
    for storyline_id, items in by_storyline.items():
        alert = stored.get(storyline_id)
        if alert is None:
            if not items[0][4]:
                continue  # an older storyline that entered the topic: not new
            alert = Alert(
                alert_id=_digest(rule.id, storyline_id),
                rule_id=rule.id,
                rule_when=rule.when,
                alert_key=storyline_id,
                topic=rule.topic,
                storyline_id=storyline_id,
            )
        grew = False
        for _, article_id, outlet, day, _ in items:
            if article_id in alert.article_ids:
                continue
            grew = True
            alert.article_ids.append(article_id)
            if outlet not in alert.outlets:
                alert.outlets.append(outlet)
            alert.first_on = min(filter(None, (alert.first_on, day)))
            alert.last_on = max(filter(None, (alert.last_on, day)))
        if grew:
            changed.append(alert)
    return changed


def _on_entity(con: duckdb.DuckDBPyConnection, rule: Rule) -> list[Alert]:
    where, params = _scope_filter(rule)
    scope = " AND ".join(where) or "true"
    kinds = "WHERE list_contains(?, e.kind)" if rule.entity_kinds else ""
    rows = con.execute(
        f"""
        WITH seen AS (
            SELECT m.entity_id, a.article_id, a.storyline_id, a.story_id,
                   coalesce(f.outlet, f.name, a.feed_id) AS outlet,
                   coalesce(a.published_at, a.fetched_at) AS seen_at,
                   a.article_id IN (SELECT article_id FROM alert_new) AS fresh
            FROM mentions AS m JOIN articles AS a USING (article_id)
            LEFT JOIN feeds AS f ON f.feed_id = a.feed_id
            WHERE {scope} AND m.entity_id IN (  -- only the entities the new articles name
                SELECT entity_id FROM mentions
                WHERE article_id IN (SELECT article_id FROM alert_new))
        )
        SELECT e.entity_id, e.name, e.kind,
               list(s.article_id ORDER BY s.seen_at) FILTER (WHERE s.fresh),
               list(s.outlet ORDER BY s.seen_at) FILTER (WHERE s.fresh),
               (min(s.seen_at) FILTER (WHERE s.fresh))::DATE,
               (max(s.seen_at) FILTER (WHERE s.fresh))::DATE,
               arg_min(s.storyline_id, s.seen_at), arg_min(s.story_id, s.seen_at),
               bool_or(NOT s.fresh) AS named_before
        FROM seen AS s JOIN entities AS e USING (entity_id) {kinds}
        GROUP BY ALL HAVING bool_or(s.fresh)
        ORDER BY min(s.seen_at), e.name
        """,
        [*params, *([list(rule.entity_kinds)] if rule.entity_kinds else [])],
    ).fetchall()
    keys = [f"{rule.topic or '*'}|{row[0]}" for row in rows]
    stored = {a.alert_key: a for a in store.stored_alerts(con, rule.id, keys)}
    changed = []
    for key, row in zip(keys, rows, strict=True):
        _, name, kind, articles, outlets, first, last, storyline, story, named_before = row
        alert = stored.get(key)
        if alert is None:
            if named_before:
                continue  # named in the topic before these runs
            alert = Alert(
                alert_id=_digest(rule.id, key),
                rule_id=rule.id,
                rule_when=rule.when,
                alert_key=key,
                topic=rule.topic,
                storyline_id=storyline,
                story_id=story,
                kind=kind,
                reason=f"{name} ({kind})",
                first_on=first,
                last_on=last,
            )
        # later articles naming it add outlets (an alert waiting for min_outlets gets them)
        new = [a for a in articles if a not in alert.article_ids]
        if not new:
            continue
        alert.article_ids += new
        alert.outlets += [o for o in dict.fromkeys(outlets) if o not in alert.outlets]
        alert.last_on = max(filter(None, (alert.last_on, last)))
        changed.append(alert)
    return changed


def _on_feed_disabled(con: duckdb.DuckDBPyConnection, rule: Rule) -> list[Alert]:
    rows = con.execute(
        f"""
        SELECT feed_id, coalesce(name, feed_id), disabled_at, disabled_reason FROM feeds
        WHERE disabled_at IS NOT NULL AND feed_id IN (
            SELECT feed_id FROM feed_polls WHERE run_id IN ({store.PENDING_RUNS}))
        """
    ).fetchall()
    keys = [f"{feed_id}|{at:%Y-%m-%dT%H:%M:%S}" for feed_id, _, at, _ in rows]
    known = {a.alert_key for a in store.stored_alerts(con, rule.id, keys)}
    return [
        Alert(
            alert_id=_digest(rule.id, key),
            rule_id=rule.id,
            rule_when=rule.when,
            alert_key=key,
            reason=f"feed {name} ({feed_id}) disabled: {reason}",
            first_on=at.date(),
            last_on=at.date(),
            outlets=[name],
        )
        for key, (feed_id, name, at, reason) in zip(keys, rows, strict=True)
        if key not in known
    ]


def _on_cycle_failed(con: duckdb.DuckDBPyConnection, rule: Rule) -> list[Alert]:
    rows = con.execute(
        f"""
        SELECT r.run_id, r.started_at, r.feeds_polled,
               list(p.feed_id || ': ' || p.error ORDER BY p.feed_id)
                   FILTER (WHERE p.error IS NOT NULL)
        FROM runs AS r LEFT JOIN feed_polls AS p USING (run_id)
        WHERE r.run_id IN ({store.PENDING_RUNS}) AND r.feeds_polled > 0 AND r.feeds_ok = 0
        GROUP BY ALL ORDER BY r.started_at
        """
    ).fetchall()
    known = {a.alert_key for a in store.stored_alerts(con, rule.id, [r[0] for r in rows])}
    return [
        Alert(
            alert_id=_digest(rule.id, run_id),
            rule_id=rule.id,
            rule_when=rule.when,
            alert_key=run_id,
            reason=f"no feed could be polled: all {polled} failed: " + "; ".join(errors or []),
            first_on=started.date(),
            last_on=started.date(),
        )
        for run_id, started, polled, errors in rows
        if run_id not in known
    ]


_EVALUATORS = {
    "development": _on_development,
    "stance_change": _on_stance_change,
    "storyline": _on_storyline,
    "entity": _on_entity,
    "feed_disabled": _on_feed_disabled,
    "cycle_failed": _on_cycle_failed,
}


def evaluate(con: duckdb.DuckDBPyConnection, config: Alerts, now: datetime) -> list[Alert]:
    """Fire the rules on the runs loaded since the last evaluation, in one transaction.

    New alerts are stored once per target, due for delivery now; alerts fired before that
    later reports add to are updated (outlets, articles, message) and never sent again. The
    runs are then marked evaluated, so nothing fires twice, whatever restarts or staged
    loads happen between. Returns the alerts new or updated.
    """
    from newsmon.alerts.message import compose

    con.execute("BEGIN TRANSACTION")
    try:
        runs, since = store.pending_since(con)
        fired: list[Alert] = []
        if runs and config.rules:
            con.execute(_NEW_ARTICLES, [since, since])
            run_id = runs[-1]
            for rule in config.rules:
                targets = [(target_key(url), masked(url)) for url in rule.targets]
                # feed and cycle alerts name no outlet: only a rule that sets it waits
                waits_for = rule.min_outlets if "min_outlets" in rule.model_fields_set else 0
                for alert in _EVALUATORS[rule.when](con, rule):
                    compose(con, rule, alert)
                    store.save(con, alert, targets, run_id, now, waits_for)
                    fired.append(alert)
            con.execute("DROP TABLE IF EXISTS alert_new")
        store.mark_evaluated(con, runs, now)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    new = sum(not a.stored for a in fired)
    if fired:
        log.info("alerts: %d fired, %d updated", new, len(fired) - new)
    return fired
