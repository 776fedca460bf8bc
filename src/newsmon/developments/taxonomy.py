"""The taxonomy: kinds, their triggers and cue lists, and how they map to PLOVER.

Read and validated from `taxonomy.yaml` (next to the newsmon package), compiled for matching.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from newsmon.config import read_text, validate_yaml

log = logging.getLogger(__name__)


CUE_KINDS = (
    "negation",
    "refusal",
    "denial",
    "call",
    "proposal",
    "agreement",
    "occurrence",
    "future",
    "hypothetical",
    "threat",
    "readiness",
)
# The stance cues, outermost first when two sit on one word.
_STRONG = ("denial", "refusal", "call", "proposal", "agreement")
_STRONG_STANCE = {
    "denial": "denied",
    "refusal": "rejected",
    "call": "called_for",
    "proposal": "proposed",
    "agreement": "agreed",
}
_ENTITY_REQUIREMENTS = {"@person", "@country", "@organisation", "@place", "@entity", "@number"}
DEFAULT_TAXONOMY = "taxonomy.yaml"  # in the newsmon package, beside this one

Stance = Literal["proposed", "agreed", "rejected", "occurred", "called_for", "denied"]
# PLOVER's event categories as POLECAT codes them.
PloverCategory = Literal[
    "AGREE",
    "CONSULT",
    "SUPPORT",
    "CONCEDE",
    "COOPERATE",
    "AID",
    "RETREAT",
    "REQUEST",
    "ACCUSE",
    "REJECT",
    "THREATEN",
    "PROTEST",
    "SANCTION",
    "MOBILIZE",
    "COERCE",
    "ASSAULT",
]
STANCES: tuple[str, ...] = get_args(Stance)
PLOVER_CATEGORIES: tuple[str, ...] = get_args(PloverCategory)


# ----------------------------------------------------------------------------- the taxonomy


def _words(value: str) -> str:
    words = " ".join(value.split()).casefold()
    if not words:
        raise ValueError("an empty word")
    return words


Word = Annotated[str, AfterValidator(_words)]
_PATTERN_KEYS = {
    "ORTH",
    "TEXT",
    "NORM",
    "LOWER",
    "LEMMA",
    "POS",
    "TAG",
    "MORPH",
    "DEP",
    "ENT_TYPE",
    "ENT_IOB",
    "SHAPE",
    "LENGTH",
    "OP",
    "IS_ALPHA",
    "IS_ASCII",
    "IS_DIGIT",
    "IS_LOWER",
    "IS_UPPER",
    "IS_TITLE",
    "IS_PUNCT",
    "IS_SPACE",
    "IS_STOP",
    "LIKE_NUM",
    "IS_SENT_START",
}


def _check_pattern(pattern: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not pattern:
        raise ValueError("a pattern needs at least one token")
    for token in pattern:
        for key, value in token.items():
            if key not in _PATTERN_KEYS:
                raise ValueError(f"unknown token attribute {key!r} in pattern")
            if isinstance(value, dict):
                for op, items in value.items():
                    if op in ("IN", "NOT_IN") and not all(isinstance(i, str) for i in items):
                        # YAML reads bare on/off/yes/no as booleans: quote them.
                        raise ValueError(f"{key}.{op} must list strings (quote on/off/yes/no)")
    return pattern


Pattern = Annotated[list[dict[str, Any]], AfterValidator(_check_pattern)]


class _Strict(BaseModel):
    # A misspelled key must fail loudly: an analyst's typo would otherwise disable a rule.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Plover(_Strict):
    """A PLOVER category and, optionally, its mode."""

    category: PloverCategory
    mode: str | None = None


class Cues(_Strict):
    """Cue word lists; a kind's lists replace the global ones of the same name."""

    negation: list[Word] | None = None
    refusal: list[Word] | None = None
    denial: list[Word] | None = None
    call: list[Word] | None = None
    proposal: list[Word] | None = None
    agreement: list[Word] | None = None
    occurrence: list[Word] | None = None
    future: list[Word] | None = None
    hypothetical: list[Word] | None = None
    threat: list[Word] | None = None
    readiness: list[Word] | None = None


class Trigger(_Strict):
    """Words that name an event, with the context they need."""

    lemmas: list[Word] = []
    patterns: list[Pattern] = []
    pos: list[str] | None = None
    requires: list[Word] | None = None
    # A second condition where `requires` was found: one of these must stand there too
    # ("spoke by telephone" needs a party: "@person", a minister ...).
    also_requires: list[Word] | None = None
    excludes: list[Word] | None = None
    # Where `requires` is looked for: the trigger's own phrase, its clause, or the sentence.
    scope: Literal["phrase", "clause", "sentence"] = "sentence"
    # Where `excludes` is looked for (default: where the required context was found).
    excludes_scope: Literal["phrase", "clause", "sentence"] | None = None
    # The trigger must hang from one of these words ("shells fell", "dropped barrel bombs"),
    # as their object, or also as their subject with `heads_as_subject`.
    heads: list[Word] | None = None
    heads_as_subject: bool = False
    # The event's doer must be someone: an entity, a personal pronoun or an agent noun.
    agentive: bool = False
    # A that-clause under the trigger must be about what someone would do ("warned that it
    # would respond"), not about a thing ("warned that the deal would allow ...").
    agentive_complement: bool = False
    # Kept only with a stance cue or as a definite reference ("aid" alone is a topic).
    needs_cue: bool = False
    # A verb with an object is another sense ("protested the decision", "demonstrated a bias").
    intransitive: bool = False
    mode: str | None = None

    @model_validator(mode="after")
    def _something(self) -> Trigger:
        if not self.lemmas and not self.patterns:
            raise ValueError("a trigger needs lemmas or patterns")
        return self


class Kind(_Strict):
    """One kind of development."""

    label: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=48)
    description: str = ""
    plover: Plover
    plover_by_stance: dict[Stance, PloverCategory] | None = None
    triggers: list[Trigger] = Field(min_length=1)
    requires: list[Word] = []
    excludes: list[Word] = []
    modifier_heads: list[Word] = []
    units: dict[str, list[Word]] = {}
    money: bool = False
    bilateral: bool = False
    targeted: bool = False
    default_stance: Stance = "occurred"
    negated_stance: Stance = "rejected"
    absorbs: list[str] = []
    cues: Cues | None = None


class Taxonomy(_Strict):
    """The whole taxonomy file."""

    version: Literal[1] = 1
    cues: Cues
    reporting: list[Word] = []
    # Verbs whose object is blamed for the event: "Syria accused Israel of bombarding".
    accusing: list[Word] = []
    # Common nouns that can do things (for `agentive` triggers): "officials", "rebels".
    agent_nouns: list[Word] = []
    modifier_heads: list[Word] = []
    plover_by_stance: dict[Stance, PloverCategory] = {}
    kinds: list[Kind] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> Taxonomy:
        missing = [name for name in CUE_KINDS if getattr(self.cues, name) is None]
        if missing:
            raise ValueError(f"cues: missing lists {', '.join(missing)}")
        labels = [kind.label for kind in self.kinds]
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise ValueError(f"duplicate kind labels: {', '.join(duplicates)}")
        unknown = sorted({a for kind in self.kinds for a in kind.absorbs} - set(labels))
        if unknown:
            raise ValueError(f"absorbs names unknown kinds: {', '.join(unknown)}")
        return self

    def kind(self, label: str) -> Kind:
        """The kind with this label."""
        return next(kind for kind in self.kinds if kind.label == label)


def default_taxonomy_path() -> Path:
    """The taxonomy shipped with newsmon."""
    return Path(str(resources.files("newsmon") / DEFAULT_TAXONOMY))


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read and validate a taxonomy file; raise ConfigError naming file, key path and line."""
    path = Path(path) if path is not None else default_taxonomy_path()
    return parse_taxonomy(read_text(path), str(path))


def parse_taxonomy(text: str, filename: str = "<string>") -> Taxonomy:
    """Validate YAML text as a taxonomy."""
    return validate_yaml(text, filename, Taxonomy, "'cues:' and 'kinds:'")[0]


# ----------------------------------------------------------------------------- compiled rules


@dataclass
class _Rules:
    """A kind's taxonomy entry made ready for matching."""

    kind: Kind
    index: int
    cues: dict[str, dict[str, list[tuple[str, ...]]]]  # cue kind -> first word -> word tuples
    units: dict[str, str]  # lemma -> canonical unit
    heads: frozenset[str]  # modifier heads


def _table(words: Iterable[str]) -> dict[str, list[tuple[str, ...]]]:
    table: dict[str, list[tuple[str, ...]]] = {}
    for word in words:
        parts = tuple(word.split())
        table.setdefault(parts[0], []).append(parts)
    return table
