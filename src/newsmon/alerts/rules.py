"""The `alerts:` section of sources.yaml: rules (what fires) and delivery retries (pydantic)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from datetime import timedelta
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from newsmon.durations import Duration

log = logging.getLogger(__name__)

_SLUG = r"^[a-z0-9][a-z0-9_.-]*$"

Stance = Literal["proposed", "agreed", "rejected", "occurred", "called_for", "denied"]
EntityKind = Literal["person", "organisation", "country", "place"]
# What a rule watches. development: a new development of some kinds and stances;
# stance_change: a development whose stance turns (a ceasefire proposed, then rejected) in
# one storyline; storyline: a new storyline in a topic; entity: an entity seen for the first
# time in a topic; feed_disabled: a feed disabled after repeated errors; cycle_failed: a
# cycle in which no feed could be polled.
RuleKind = Literal[
    "development", "stance_change", "storyline", "entity", "feed_disabled", "cycle_failed"
]


@cache
def development_kinds() -> frozenset[str]:
    """The kinds of the shipped taxonomy (src/newsmon/taxonomy.yaml), read without spaCy."""
    text = (resources.files("newsmon") / "taxonomy.yaml").read_text(encoding="utf-8")
    return frozenset(kind["label"] for kind in yaml.safe_load(text)["kinds"])


def target_key(url: str) -> str:
    """A stable id of a target URL (its secrets are not stored in the warehouse)."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def masked(url: str) -> str:
    """The target URL for display: password, query and path tokens hidden."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}{':****' if parts.password else ''}@{netloc}"
    path = parts.path if parts.scheme in ("json", "jsons", "form", "forms", "xml", "xmls") else ""
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def _target(value: str) -> str:
    blank = next((c for c in value if c.isspace() or not c.isprintable()), None)
    if blank is not None:
        raise ValueError(f"target must not contain whitespace (found {blank!r}): {value!r}")
    import apprise  # only when a rule has targets: the import costs a third of a second

    if not apprise.Apprise().add(value):
        raise ValueError(
            f"not a notification URL Apprise knows: {masked(value)!r} (for example "
            "json://host:port/path, mailtos://user:password@smtp.host?to=you@example.org)"
        )
    return value


_SCOPE = ("topic", "storyline")
# The keys each kind of rule takes besides id, when and targets.
_SCOPE = (*_SCOPE, "min_outlets")
_TAKES = {
    "development": (*_SCOPE, "kinds", "stances", "min_confidence", "window", "group_by"),
    "stance_change": (*_SCOPE, "kinds", "from_stances", "to_stances", "min_confidence"),
    "storyline": _SCOPE,
    "entity": (*_SCOPE, "entity_kinds"),
    "feed_disabled": (),
    "cycle_failed": (),
}


class Rule(BaseModel):
    """One alert rule: what fires it and where its messages go."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(pattern=_SLUG, max_length=64)
    when: RuleKind
    targets: list[Annotated[str, AfterValidator(_target)]] = Field(min_length=1)
    # Scope: a topic id of sources.yaml, or one storyline (its id, from
    # `newsmon query storyline_timeline`); neither: every article.
    topic: str | None = None
    storyline: str | None = None
    # development, stance_change: development kinds of taxonomy.yaml (empty: all)
    kinds: list[str] = []
    # development: stances (empty: all)
    stances: list[Stance] = []
    # stance_change: a development in one of `to` after one in `from`, same storyline and kind
    from_stances: list[Stance] = Field(default=[], alias="from")
    to_stances: list[Stance] = Field(default=[], alias="to")
    # development, stance_change: developments below this confidence are left out
    min_confidence: float = Field(default=0.0, ge=0, le=1)
    # development: reports whose dates are this close (and of the same storyline, kind and
    # stance) are one development: a later report updates its alert instead of firing again.
    window: Duration = timedelta(days=1)
    # development: what "the same" development shares besides kind, stance and dates: its
    # storyline, or (a rule with a topic) the topic, for storylines that split one situation
    # (a live blog naming no actor opens its own).
    group_by: Literal["storyline", "topic"] = "storyline"
    # development, stance_change, storyline, entity: sent once this many outlets carry it
    # (until then it is stored, waiting; a single outlet's misreading stays quiet).
    min_outlets: int = Field(default=1, ge=1)
    # entity: entity kinds (empty: all)
    entity_kinds: list[EntityKind] = []

    @field_validator(*sorted({f for fields in _TAKES.values() for f in fields}))
    @classmethod
    def _fits_its_kind(cls, value: Any, info: ValidationInfo) -> Any:
        when = info.data.get("when")
        if when is not None and info.field_name not in _TAKES[when]:
            name = cls.model_fields[info.field_name].alias or info.field_name
            raise ValueError(f"a rule on {when} takes no {name}")
        return value

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - development_kinds())
        if unknown:
            raise ValueError(
                f"unknown development kind {', '.join(map(repr, unknown))} (kinds: "
                + ", ".join(sorted(development_kinds()))
                + ")"
            )
        return value

    @model_validator(mode="after")
    def _complete(self) -> Rule:
        if self.topic and self.storyline:
            raise ValueError("give topic or storyline, not both")
        if self.group_by == "topic" and not self.topic:
            raise ValueError("group_by: topic needs a topic")
        if self.when == "stance_change" and not (self.from_stances and self.to_stances):
            raise ValueError("a rule on stance_change needs 'from' and 'to' stances")
        return self


class Alerts(BaseModel):
    """The `alerts:` section: rules, and how failed deliveries are retried."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[Rule] = []
    # A failed delivery is tried again on a later cycle after retry_after, doubling each
    # time up to retry_max, at most max_attempts times in all.
    retry_after: Duration = timedelta(minutes=5)
    retry_max: Duration = timedelta(hours=6)
    max_attempts: int = Field(default=10, ge=1)

    def rule(self, rule_id: str) -> Rule | None:
        """The rule with this id, if configured."""
        return next((r for r in self.rules if r.id == rule_id), None)


def check_rules(data: dict) -> Iterator[tuple[tuple, str]]:
    """(key path, message) for rule ids used twice and topics sources.yaml does not define.

    Read from the parsed YAML (newsmon.config.validate_yaml's `checks`), so that these are
    reported with every other problem of the file, each at its line.
    """
    alerts = data.get("alerts")
    rules = alerts.get("rules") if isinstance(alerts, dict) else None
    if not isinstance(rules, list):
        return
    topics = data.get("topics") if isinstance(data.get("topics"), list) else []
    known = {t.get("id") for t in topics if isinstance(t, dict)}
    first: dict[str, int] = {}
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        rule_id = rule.get("id")
        if isinstance(rule_id, str):
            if rule_id in first:
                yield (
                    ("alerts", "rules", index, "id"),
                    f"duplicate id {rule_id!r} (first used at alerts.rules[{first[rule_id]}])",
                )
            first.setdefault(rule_id, index)
        topic = rule.get("topic")
        if isinstance(topic, str) and topic not in known:
            yield (
                ("alerts", "rules", index, "topic"),
                f"unknown topic {topic!r} (topics: {', '.join(sorted(map(str, known))) or 'none'})",
            )
