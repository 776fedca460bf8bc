"""What the development stage finds (`Development`) and the candidate it reads on the way."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from newsmon.developments.taxonomy import Trigger, _Rules
from newsmon.entities import EntityRef


@dataclass
class Development:
    """One event named in one sentence, with the sentence that shows it."""

    kind: str  # taxonomy label
    plover_category: str  # e.g. "CONSULT"
    plover_mode: str | None  # e.g. "ceasefire"
    stance: str  # proposed | agreed | rejected | occurred | called_for | denied
    actors: list[EntityRef]  # subject side
    recipients: list[EntityRef]
    quantity: float | None
    unit: str | None  # e.g. "prisoners", "bodies", "drones", "EUR"
    place: str | None  # canonical name of the place or country where it happened, if stated
    occurred_on: date | None  # explicit date in the sentence, else the article's
    sentence: str
    start_offset: int  # of the sentence in the text given
    end_offset: int
    # 0..1: a ranking score from the rules' evidence, not a calibrated probability.
    confidence: float
    trigger: str = ""  # the words that named the event, for inspection
    # For an event not yet happened (proposed, called for, agreed, rejected): the day the
    # sentence says it is to happen ("talks on Sunday" in a Friday article: that Sunday).
    scheduled_for: date | None = None


@dataclass
class _Candidate:
    rules: _Rules
    trigger: Trigger
    start: int  # token span of the trigger
    end: int
    head: Any  # spaCy Token
    eff: Any = None  # the token that stands for the event in the clause
    scope: list = field(default_factory=list)  # tokens whose context satisfied `requires`
    narrow: bool = True  # context found in the trigger's own phrase
    wide: bool = False  # context found only elsewhere in the sentence


def _day(published: date | datetime | None) -> date | None:
    return published.date() if isinstance(published, datetime) else published
