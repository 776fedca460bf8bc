"""Developments: typed events (talks, ceasefires, exchanges, sanctions ...) found in report sentences.

A development is one event named in one sentence: its kind (from the taxonomy data file, mapped to
a PLOVER category and mode), the stance the sentence takes on it (proposed, agreed, rejected,
occurred, called for, denied), its actors and recipients (entities from the entity stage), its
quantity, place and date, and the sentence itself with its character offsets as evidence.

It is rule-based and local: spaCy's dependency parse and lemmas (the model the entity stage
uses, loaded with its parser and lemmatizer) plus the cue lists of `taxonomy.yaml`; nothing
leaves the machine. See bench/eval_developments.py for how well it does.

Only some sentences are parsed. The entity stage's NER pass gives tokens, entities and sentence
starts (the model's small `senter`); a sentence is parsed, as a Doc of its own, only when one of
the taxonomy's triggers could match in it - its words stand there in a form the lemmatizer could
read as them, with the context the trigger requires. Most sentences of news pages hold none,
and the parse (tok2vec, tagger, parser, lemmas) costs more than the recogniser.

How one sentence is read:
1. Triggers (taxonomy lemmas and Matcher patterns) propose candidate events; a trigger that is
   only a noun modifier ("sanctions lawyer"), lacks its required context ("release" without
   prisoners) or sits in a question is dropped.
2. From the trigger the parse is climbed to the clause's governing verbs (not across coordinated,
   adverbial or relative clauses, out of a setting such as "after the strikes", out of a past
   clause that reports rather than is agreed, nor above a reporting verb). The outermost stance cue
   on that chain decides the stance ("Europe urged Russia to accept a ceasefire": called_for);
   negation flips agreement to rejection ("ended without agreement on a ceasefire": rejected);
   a hypothetical cue (if, whether, could, any ...) not outranked by a stance cue drops the
   candidate; an event in the complement of a threat is left to the `threat` kind.
3. Actors are the entities in the subject (or `by` agent, or possessor) of the verb carrying the
   stance; recipients those in its objects and `to/with/on/against` phrases; bilateral events
   that happened or were agreed take both sides as actors.
4. The quantity is the number attached to one of the kind's unit nouns in the trigger's phrase
   (or clause); the date is the explicit date attached to that chain, resolved against the
   article's date ("on Friday", "16 May"), else the article's date.
One development per kind per sentence is kept: the best-supported reading.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from newsmon.config import NlpSettings, read_text, validate_yaml
from newsmon.entities import (
    ArticleEntities,
    EntityExtractor,
    EntityRef,
    ner_pass,
    sentence_splitter,
)
from newsmon.errors import ConfigError, NewsmonError

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
_ENTITY_REQUIREMENTS = {"@person", "@country", "@organisation", "@place", "@entity"}
DEFAULT_TAXONOMY = "taxonomy.yaml"  # next to this module

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
    excludes: list[Word] | None = None
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


# ----------------------------------------------------------------------------- the result


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


# ----------------------------------------------------------------------------- compiled rules


@dataclass
class _Rules:
    """A kind's taxonomy entry made ready for matching."""

    kind: Kind
    index: int
    cues: dict[str, dict[str, list[tuple[str, ...]]]]  # cue kind -> first word -> word tuples
    units: dict[str, str]  # lemma -> canonical unit
    heads: frozenset[str]  # modifier heads


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


def _table(words: Iterable[str]) -> dict[str, list[tuple[str, ...]]]:
    table: dict[str, list[tuple[str, ...]]] = {}
    for word in words:
        parts = tuple(word.split())
        table.setdefault(parts[0], []).append(parts)
    return table


_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {
    "hundred": 100,
    "thousand": 1_000,
    "million": 1_000_000,
    "m": 1_000_000,
    "mn": 1_000_000,
    "billion": 1_000_000_000,
    "bn": 1_000_000_000,
    "b": 1_000_000_000,
    "trillion": 1_000_000_000_000,
}
# Words around a count that do not change it: "nearly 300", "a further 1,200".
_HEDGES = {
    "-",
    "than",
    "more",
    "less",
    "about",
    "nearly",
    "almost",
    "over",
    "some",
    "up",
    "to",
    "at",
    "least",
    "around",
    "roughly",
    "another",
    "further",
    "additional",
    "extra",
    "a",
    "an",
    "the",
    "fresh",
    "new",
    "total",
}
# Counts too vague to be a quantity: "dozens of drones", "several hundred", "a few".
_VAGUE = {"dozen", "dozens", "hundreds", "thousands", "millions", "several", "few", "many", "some"}
_CURRENCIES = {
    "$": "USD",
    "us$": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "usd": "USD",
    "€": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "eur": "EUR",
    "£": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "gbp": "GBP",
    "sterling": "GBP",
    "yen": "JPY",
    "¥": "JPY",
    "yuan": "CNY",
    "crowns": "NOK",
    "kroner": "NOK",
    "hryvnias": "UAH",
    "roubles": "RUB",
    "rubles": "RUB",
}
_X_FOR_Y = re.compile(
    r"\b(\d{1,3}(?:,\d{3})+|\d+|a thousand|thousand)[- ]for[- ](?:a[- ])?(?:\d{1,3}(?:,\d{3})+|\d+|thousand)\b",
    re.IGNORECASE,
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_MONTH = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s*(?:-|–|to|and)\s*\d{{1,2}})?\s+(?:of\s+)?({_MONTH})\b\.?(?:,?\s+(\d{{4}}))?",
    re.I,
)
_MONTH_DAY = re.compile(
    rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?", re.I
)
_DURATION = re.compile(
    r"^(?:about |around |nearly |almost |more than |less than |at least |over |up to |some |the )?"
    r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|thirty|"
    r"several|few|a few|many)(?:[- ]\w+)?[- ](?:day|week|month|year|hour|night|decade)s?"
    r"(?: long| old)?$",
    re.I,
)
# Current periods contain the article's date: the event is dated by the article.
_CURRENT = re.compile(
    r"\b(this (week|month|year|morning|afternoon|evening|weekend)|recent (days|weeks|months)|"
    r"recently|these days|so far|now)\b",
    re.I,
)
# Dates attached through these are limits or anchors, not when the event happened.
_NOT_WHEN = {
    "since",
    "until",
    "till",
    "before",
    "by",
    "after",
    "ahead",
    "from",
    "through",
    "throughout",
}
_CLAUSE_DEPS = {"advcl", "relcl", "parataxis", "ccomp", "csubj", "csubjpass", "acl"}
_NP_CORE = {
    "compound",
    "poss",
    "amod",
    "nmod",
    "flat",
    "nummod",
    "det",
    "case",
    "punct",
    "cc",
    "quantmod",
}
_SUBJECTS = {"nsubj", "csubj", "expl"}
_OBJECT_PREPS = {"to", "with", "on", "against", "at", "for", "toward", "towards", "into", "over"}
_TARGET_ONLY_PREPS = {"at"}  # "fired drones at Ukraine"; elsewhere "at" is a place
_PLACE_PREPS = {"in", "at", "near", "inside", "outside", "across", "around", "off"}
# A trigger in these phrases is the setting of the governing verb, not what it is about.
_ADJUNCT_PREPS = {
    "after",
    "before",
    "despite",
    "amid",
    "following",
    "during",
    "since",
    "until",
    "ahead",
    "throughout",
    "at",
    "as",
    "under",
    "because",
    "besides",
    "like",
}


# ----------------------------------------------------------------------------- which sentences to parse

# Sentences parsed per nlp.pipe batch: they are short, so more of them than articles.
_SENTENCE_BATCH = 256
# Universal POS tags a rule lemmatizer may have tables for.
_LEMMA_POS = (
    "adj", "adp", "adv", "aux", "cconj", "det", "intj", "noun", "num", "part", "pron", "propn",
    "punct", "sconj", "sym", "verb", "x",
)  # fmt: skip
_WORD_ATTRS = ("LOWER", "ORTH", "TEXT", "NORM", "LEMMA")
_FORMS_CACHED = 500_000
_NO_WORDS: frozenset[str] = frozenset()


class _SentenceFilter:
    """Which sentences could hold a development, judged before any parse; it never drops one.

    A sentence is admitted when one of a trigger's entries could match in it - every word of a
    lemma entry ("peace talks") stands in it in some form that the model's rule lemmatizer could
    read as that lemma ("met" -> meet, "talks" -> talk), every word-constrained token a pattern
    requires has a candidate - and the trigger's `requires` context is there too (a word in some
    form, a phrase, or an entity of the wanted kind from the entity stage). `_admit` checks the
    same context on the parse, within the sentence at most, so nothing it keeps is lost here.
    """

    def __init__(self, rules: list[_Rules], nlp):
        self.tables = _lemma_tables(nlp)
        self.ruler_lemmas, self.any_lemmas = _ruler_lemmas(nlp)
        # Per trigger: its alternatives (each a tuple of word sets that must all be present),
        # and its required context (None: no requirement).
        self.triggers: list[tuple[list[tuple[frozenset[str], ...]], tuple[str, ...] | None]] = []
        for rule in rules:
            kind = rule.kind
            for trigger in kind.triggers:
                alternatives = [
                    tuple(frozenset([t.lower_]) for t in nlp.tokenizer(lemma))
                    for lemma in trigger.lemmas
                ]
                alternatives += [_pattern_words(pattern) for pattern in trigger.patterns]
                requires = trigger.requires if trigger.requires is not None else kind.requires
                self.triggers.append((alternatives, tuple(requires) if requires else None))
        self.seen = self.selected = 0  # sentences, for the benchmarks
        self.strings = nlp.vocab.strings
        self._words_of: dict[int, frozenset[str]] = {}  # form -> the words below it could be
        self.vocabulary = frozenset(
            [w for alts, _ in self.triggers for alt in alts for words in alt for w in words]
            + [w for _, requires in self.triggers for w in requires or () if " " not in w]
        )
        # Per trigger, the words one of which must stand in the sentence (None: no such word).
        self._firsts = [
            None if any(not alt for alt in alts) else frozenset().union(*(alt[0] for alt in alts))
            for alts, _ in self.triggers
        ]
        # A lemma the attribute ruler may give any word makes a lemma test meaningless.
        self.always = self.tables is None or any(
            words & self.any_lemmas for alts, _ in self.triggers for alt in alts for words in alt
        )

    def select(self, doc, refs: dict[int, EntityRef]) -> list:
        """The sentences of `doc` (as `_segments` cuts them) where a development could be."""
        segments = list(_segments(doc))
        self.seen += len(segments)
        if self.always:
            self.selected += len(segments)
            return segments
        from spacy.attrs import LOWER, NORM

        ids = doc.to_array([LOWER, NORM]).tolist()
        known, words_of = self._words_of, self._relevant
        out = []
        for seg in segments:
            keys: set[str] = set()
            for lower, norm in ids[seg.start : seg.end]:
                words = known.get(lower)
                if words is None:
                    words = words_of(lower)
                if words:
                    keys |= words
                if norm != lower:
                    keys |= known.get(norm) or words_of(norm)
            if keys and self._admits(seg, keys, refs):
                out.append(seg)
        self.selected += len(out)
        return out

    def _relevant(self, key: int) -> frozenset[str]:
        """The taxonomy's words a form could be compared as: itself or a lemma ("met": meet)."""
        form = self.strings[key].lower()
        found = {form}
        for exceptions, suffixes in self.tables or ():
            found.update(lemma.lower() for lemma in exceptions.get(form, ()))
            for old, new in suffixes:
                if form.endswith(old):
                    found.add(form[: len(form) - len(old)] + new)
        found |= self.ruler_lemmas.get(form, set())
        if len(self._words_of) > _FORMS_CACHED:
            self._words_of.clear()  # a long-running process meets new forms for ever
        words = self._words_of[key] = frozenset(found & self.vocabulary) or _NO_WORDS
        return words

    def _admits(self, seg, keys: set[str], refs: dict[int, EntityRef]) -> bool:
        """Whether some trigger could match in `seg` (its candidate words `keys`) with its context."""
        lowers, kinds = None, None
        for (alternatives, requires), firsts in zip(self.triggers, self._firsts, strict=True):
            if firsts is not None and firsts.isdisjoint(keys):
                continue  # the quick test: no alternative's first word is there
            if not any(all(words & keys for words in alt) for alt in alternatives):
                continue
            if requires is None:
                return True
            if lowers is None:
                lowers = {t.lower_ for t in seg}
                kinds = {refs[i].kind for i in range(seg.start, seg.end) if i in refs}
            for word in requires:
                if word in _ENTITY_REQUIREMENTS:
                    if kinds and (word == "@entity" or word[1:] in kinds):
                        return True
                elif " " in word or "-" in word:
                    # `_has_context` looks for the phrase in a clause's words, which need not
                    # stand side by side in the sentence: here each word is enough.
                    if all(part in lowers for part in word.split()):
                        return True
                elif word in keys:
                    return True
        return False


def _lemma_tables(nlp) -> list[tuple[dict, list]] | None:
    """(exceptions, suffix rules) per part of speech of the rule lemmatizer; None when not one."""
    if "lemmatizer" not in nlp.pipe_names:
        return []  # no lemmas: a lemma is never compared but as the form itself
    lemmatizer = nlp.get_pipe("lemmatizer")
    if getattr(lemmatizer, "mode", None) != "rule":
        return None
    exceptions = lemmatizer.lookups.get_table("lemma_exc", {})
    rules = lemmatizer.lookups.get_table("lemma_rules", {})
    tables = [(exceptions.get(pos, {}), rules.get(pos, [])) for pos in _LEMMA_POS]
    return [(exc, suffixes) for exc, suffixes in tables if exc or suffixes]


def _ruler_lemmas(nlp) -> tuple[dict[str, set[str]], set[str]]:
    """Lemmas the attribute ruler sets: by lower-case form, and those set on any form."""
    by_form: dict[str, set[str]] = {}
    anywhere: set[str] = set()
    if "attribute_ruler" not in nlp.pipe_names:
        return by_form, anywhere
    for entry in nlp.get_pipe("attribute_ruler").patterns:
        lemma = entry.get("attrs", {}).get("LEMMA")
        if not isinstance(lemma, str):
            continue
        for pattern in entry["patterns"]:
            index = entry.get("index", 0)
            forms = _spec_words(pattern[index]) if isinstance(pattern, list) else None
            if forms is None:
                anywhere.add(lemma.lower())
            for form in forms or ():
                by_form.setdefault(form, set()).add(lemma.lower())
    return by_form, anywhere


def _spec_words(token: dict) -> set[str] | None:
    """The lower-cased words one Matcher token can be, or None when it is not limited to words."""
    for attr in _WORD_ATTRS:
        value = token.get(attr)
        if isinstance(value, str):
            return {value.lower()}
        if isinstance(value, dict) and set(value) == {"IN"}:
            return {str(v).lower() for v in value["IN"]}
    return None


def _pattern_words(pattern: list[dict[str, Any]]) -> tuple[frozenset[str], ...]:
    """A word set for each token a pattern needs (optional and negated tokens left out)."""
    out = []
    for token in pattern:
        if token.get("OP", "1") not in ("1", "+"):
            continue
        words = _spec_words(token)
        if words is not None:
            out.append(frozenset(words))
    return tuple(out)


def _sentence_doc(seg):
    """A sentence as a Doc of its own: the same tokens and spaces, its entities, no sentence starts."""
    from spacy.tokens import Doc

    tags = []
    for tok in seg:
        if tok.ent_iob_ == "I" and tags and tags[-1] != "O":
            tags.append(f"I-{tok.ent_type_}")
        elif tok.ent_iob_ in ("B", "I"):
            tags.append(f"B-{tok.ent_type_}")  # an entity the sentence cuts starts here
        else:
            tags.append("O")
    spaces = [bool(tok.whitespace_) for tok in seg]
    spaces[-1] = False
    return Doc(seg.doc.vocab, words=[t.text for t in seg], spaces=spaces, ents=tags)


def _day(published: date | datetime | None) -> date | None:
    return published.date() if isinstance(published, datetime) else published


class DevelopmentExtractor:
    """Finds developments in parsed documents, by the rules of a taxonomy file."""

    def __init__(self, nlp, taxonomy_path: Path | None = None, settings: NlpSettings | None = None):
        missing = [pipe for pipe in ("parser", "lemmatizer") if pipe not in nlp.pipe_names]
        if missing:
            raise NewsmonError(
                f"the development stage needs a spaCy pipeline with a parser and a lemmatizer; "
                f"missing {', '.join(missing)} (load the model without excluding them)"
            )
        from spacy.matcher import Matcher

        self.nlp = nlp
        self.settings = settings or NlpSettings()
        self.taxonomy = load_taxonomy(taxonomy_path)
        self.reporting = frozenset(self.taxonomy.reporting)
        self.rules: list[_Rules] = []
        self._lemma_index: dict[str, list[tuple[_Rules, Trigger, tuple[str, ...]]]] = {}
        self.matcher = Matcher(nlp.vocab)
        self._patterns: dict[str, tuple[_Rules, Trigger]] = {}
        global_heads = set(self.taxonomy.modifier_heads)
        for index, kind in enumerate(self.taxonomy.kinds):
            cues = {}
            for name in CUE_KINDS:
                own = getattr(kind.cues, name) if kind.cues else None
                cues[name] = _table(own if own is not None else getattr(self.taxonomy.cues, name))
            units = {lemma: unit for unit, lemmas in kind.units.items() for lemma in lemmas}
            rules = _Rules(
                kind, index, cues, units, frozenset(global_heads | set(kind.modifier_heads))
            )
            self.rules.append(rules)
            for t_index, trigger in enumerate(kind.triggers):
                for lemma in trigger.lemmas:
                    # Tokenise like the model does: "cease-fire" is three tokens.
                    words = tuple(t.lower_ for t in nlp.tokenizer(lemma))
                    self._lemma_index.setdefault(words[0], []).append((rules, trigger, words))
                for p_index, pattern in enumerate(trigger.patterns):
                    key = f"{kind.label}:{t_index}:{p_index}"
                    try:
                        self.matcher.add(key, [pattern])
                    except Exception as exc:  # spaCy raises several types for bad patterns
                        raise ConfigError(
                            f"taxonomy kind {kind.label!r}, trigger {t_index}, pattern {p_index}: {exc}"
                        ) from None
                    self._patterns[key] = (rules, trigger)
        log.debug("taxonomy %s: %d kinds", taxonomy_path or "(default)", len(self.rules))
        self.filter = _SentenceFilter(self.rules, nlp)
        # The parse pass: everything but the recogniser (its entities are copied in) and senter.
        self._parse_excludes = [n for n in nlp.pipe_names if n in ("ner", "senter")]
        self._senter = sentence_splitter(nlp)
        self._fallback_entities: EntityExtractor | None = None
        # The global cue lists, for words whose cues do not depend on the kind.
        self._global = _Rules(
            self.taxonomy.kinds[0],
            -1,
            {name: _table(getattr(self.taxonomy.cues, name)) for name in CUE_KINDS},
            {},
            frozenset(),
        )

    # -------------------------------------------------------------------------- public

    def extract(
        self,
        texts: Iterable[str | None],
        published: date | datetime | Sequence[date | datetime | None] | None = None,
        entity_extractor: EntityExtractor | None = None,
    ) -> list[list[Development]]:
        """Developments of each text, in order; `published` is one date or one per text.

        Reads as the pipeline does (`entities.TextAnalyser`): a NER pass over each whole text,
        then the parse of the sentences a trigger could match (see `from_ner_docs`).
        """
        texts = [(t or "")[: self.settings.max_chars] for t in texts]
        if isinstance(published, Sequence) and not isinstance(published, str):
            dates = list(published)
            if len(dates) != len(texts):
                raise NewsmonError(f"{len(dates)} published dates for {len(texts)} texts")
        else:
            dates = [published] * len(texts)
        out: list[list[Development]] = []
        docs = self.ner_docs(texts)
        size = self.settings.batch_size
        for first in range(0, len(texts), size):
            batch = list(itertools.islice(docs, size))
            entities = [entity_extractor and entity_extractor.from_doc(d) for d in batch]
            out += self.from_ner_docs(batch, entities, dates[first : first + size])
        return out

    def ner_docs(self, texts: Iterable[str], n_process: int = 1) -> Iterator:
        """The NER pass of this model (`entities.ner_pass`): what `from_ner_docs` reads."""
        return ner_pass(self.nlp, texts, self.settings.batch_size, n_process)

    def from_ner_docs(
        self,
        docs: Sequence,
        entities: Sequence[ArticleEntities | None],
        published: Sequence[date | datetime | None],
    ) -> list[list[Development]]:
        """Developments of Docs from the NER pass (`ner_docs`), parsing only where they can be.

        Sentences are the NER pass's (`senter`, not the parser's), cut again at line breaks;
        only those where a trigger could match (`_SentenceFilter`) are parsed, each as a Doc of
        its own, and read as `from_doc` reads a sentence. Offsets are in `doc.text`.
        """
        jobs = []  # (document index, start token, start character, entity tokens), per sentence
        sentences = []
        for n, (doc, found) in enumerate(zip(docs, entities, strict=True)):
            if len(doc) > 1 and not doc.has_annotation("SENT_START"):
                doc = self._senter(doc)
            refs = _entity_tokens(doc, found if found is not None else self._entities(doc))
            for seg in self.filter.select(doc, refs):
                own = {i - seg.start: r for i, r in refs.items() if seg.start <= i < seg.end}
                jobs.append((n, seg.start_char, own))
                sentences.append(_sentence_doc(seg))
        parsed = self.nlp.pipe(sentences, batch_size=_SENTENCE_BATCH, disable=self._parse_excludes)
        out: list[list[Development]] = [[] for _ in docs]
        for (n, offset, refs), sentence in zip(jobs, parsed, strict=True):
            out[n] += self._read_parsed(sentence, refs, _day(published[n]), offset)
        return out

    def from_doc(
        self, doc, entities: ArticleEntities | None, published: date | datetime | None
    ) -> list[Development]:
        """Developments of a fully parsed Doc; offsets are character offsets in `doc.text`."""
        if not doc.has_annotation("DEP"):
            raise NewsmonError("the Doc has no dependency parse: run the full spaCy pipeline")
        if entities is None:
            entities = self._entities(doc)
        return self._read_parsed(doc, _entity_tokens(doc, entities), _day(published))

    def _read_parsed(self, doc, refs, published: date | None, offset: int = 0) -> list:
        pattern_hits: dict[int, list[tuple[_Rules, Trigger, int, int]]] = {}
        for match_id, start, end in self.matcher(doc):
            rules, trigger = self._patterns[self.nlp.vocab.strings[match_id]]
            pattern_hits.setdefault(start, []).append((rules, trigger, start, end))
        found = []
        for seg in _segments(doc):
            found.extend(self._sentence(doc, seg, refs, pattern_hits, published))
        for dev in found:
            dev.start_offset += offset
            dev.end_offset += offset
        return found

    # -------------------------------------------------------------------------- a sentence

    def _sentence(self, doc, seg, refs, pattern_hits, published) -> Iterator[Development]:
        text = seg.text.rstrip()
        if text.endswith("?"):
            return  # a question asks about an event, it does not report one
        dateline = _dateline_end(seg)
        if dateline > seg.start:
            refs = {i: r for i, r in refs.items() if not seg.start <= i < dateline}
        candidates = self._candidates(doc, seg, refs, pattern_hits)
        # A ceasefire's "moratorium on strikes" is not also an attack.
        kept = []
        for cand in candidates:
            absorbed = any(
                cand.rules.kind.label in other.rules.kind.absorbs
                and other.eff is not None
                and (
                    cand.head.i in {t.i for t in other.eff.subtree}
                    # "a moratorium on strikes", whatever the parser attached "on" to
                    or (cand.head.dep_ == "pobj" and cand.head.head.i == other.end)
                )
                for other in candidates
                if other is not cand
            )
            if not absorbed:
                kept.append(cand)
        best: dict[str, Development] = {}
        for cand in kept:
            dev = self._read(doc, seg, cand, refs, published)
            if dev is None:
                continue
            current = best.get(dev.kind)
            if current is None or dev.confidence > current.confidence:
                best[dev.kind] = dev
        yield from sorted(best.values(), key=lambda d: (self._order(d.kind)))

    def _order(self, label: str) -> int:
        return next(r.index for r in self.rules if r.kind.label == label)

    def _candidates(self, doc, seg, refs, pattern_hits) -> list[_Candidate]:
        spans: list[tuple[_Rules, Trigger, int, int]] = []
        for tok in seg:
            keys = {tok.lower_, tok.lemma_.lower()}
            for key in keys:
                for rules, trigger, words in self._lemma_index.get(key, ()):
                    end = tok.i + len(words)
                    if end <= seg.end and all(
                        _word_is(doc[tok.i + j], w) for j, w in enumerate(words)
                    ):
                        spans.append((rules, trigger, tok.i, end))
                    elif len(words) == 2 and any(
                        c.dep_ in ("prt", "prep") and c.lower_ == words[1] and c.i > tok.i + 1
                        for c in tok.children
                    ):
                        spans.append((rules, trigger, tok.i, tok.i + 1))  # "pulled its army out"
            spans.extend(h for h in pattern_hits.get(tok.i, ()) if h[3] <= seg.end)
        # Longest trigger first; a shorter one inside it for the same kind is the same word.
        spans.sort(key=lambda s: (s[2] - s[3], s[2]))
        taken: dict[str, set[int]] = {}
        out = []
        for rules, trigger, start, end in spans:
            used = taken.setdefault(rules.kind.label, set())
            if used & set(range(start, end)):
                continue
            head = doc[start:end].root
            if trigger.pos and head.pos_ not in trigger.pos:
                continue
            cand = _Candidate(rules, trigger, start, end, head)
            if not self._admit(cand, seg, refs):
                continue
            used.update(range(start, end))
            out.append(cand)
        return out

    def _admit(self, cand: _Candidate, seg, refs) -> bool:
        """Apply the modifier rule and the trigger's required and excluded context."""
        head = cand.head
        eff = head
        if (
            head.dep_ in ("compound", "amod", "nmod", "npadvmod")
            and not (cand.start <= head.head.i < cand.end)
            and head.head.pos_ in ("NOUN", "PROPN")
            and _inside(head.head, seg)
        ):
            if head.head.lemma_.lower() not in cand.rules.heads:
                return False  # "sanctions lawyer", "aid worker", "attack helicopter"
            eff = head.head
        cand.eff = eff
        kind = cand.rules.kind
        requires = cand.trigger.requires if cand.trigger.requires is not None else kind.requires
        excludes = cand.trigger.excludes if cand.trigger.excludes is not None else kind.excludes
        own = _local(eff, seg, keep=("ccomp",))
        clause = _clause(eff, seg)
        if requires:
            if _has_context(own, requires, refs, cand):
                context = own
            elif _has_context(clause, requires, refs, cand):
                context, cand.narrow = clause, False
            elif _has_context(list(seg), requires, refs, cand):
                # "captives crossed the border as the swap continued": the sentence's context.
                context, cand.narrow, cand.wide = list(seg), False, True
            else:
                return False
        else:
            context = clause
        if excludes and _has_context(context, excludes, refs, cand, own_span=False):
            return False
        cand.scope = context
        return True

    # -------------------------------------------------------------------------- one candidate

    def _read(self, doc, seg, cand: _Candidate, refs, published) -> Development | None:
        kind = cand.rules.kind
        chain, context_verb, stop = self._chain(cand.eff, seg)
        reading = self._stance(cand, chain, stop)
        if reading is None:
            return None
        stance, stance_pos, explicit = reading
        stance_token = chain[stance_pos]
        actors, recipients = self._parties(cand, chain, stance_pos, stance, refs, seg)
        place = self._place(cand, chain, stance_pos, refs, recipients, seg)
        quantity, unit = self._quantity(cand, chain, stance_pos, seg)
        occurred_on = self._date(doc, seg, cand, chain, stance_pos, context_verb, published)
        category = (
            (kind.plover_by_stance or {}).get(stance)
            or self.taxonomy.plover_by_stance.get(stance)
            or kind.plover.category
        )
        mode = cand.trigger.mode or kind.plover.mode
        confidence = 0.5
        if explicit:
            confidence += 0.2
        if cand.trigger.requires is None and not kind.requires:
            confidence += 0.1
        elif cand.wide:
            confidence -= 0.15
        elif not cand.narrow:
            confidence -= 0.05
        if actors:
            confidence += 0.1
        if quantity is not None:
            confidence += 0.05
        if cand.eff is not cand.head:
            confidence -= 0.1
        if stance_token is not cand.eff and stance_pos > 3:
            confidence -= 0.05
        start = seg.start_char
        end = seg.end_char
        while end > start and doc.text[end - 1].isspace():
            end -= 1
        return Development(
            kind=kind.label,
            plover_category=category,
            plover_mode=mode,
            stance=stance,
            actors=actors,
            recipients=recipients,
            quantity=quantity,
            unit=unit,
            place=place,
            occurred_on=occurred_on,
            sentence=doc.text[start:end],
            start_offset=start,
            end_offset=end,
            confidence=round(max(0.05, min(0.95, confidence)), 2),
            trigger=doc[cand.start : cand.end].text,
        )

    def _chain(self, eff, seg) -> tuple[list, Any, str | None]:
        """The trigger and the words that govern it within its clause, innermost first.

        Returns the chain, the verb of a coordinated clause it stopped at (for dates) and why
        it stopped when that matters: "hypothetical" (a relative clause on "any country"),
        "description" (a participle describing a noun), "topic" (what a reporter talks about).
        """
        chain = [eff]
        cur = eff
        context_verb = None
        stop = None
        while True:
            head = cur.head
            if head.i == cur.i or not _inside(head, seg):
                break
            if cur.dep_ == "conj" and _is_clause(cur):
                context_verb = head  # a coordinated clause: another event, same setting
                break
            if cur.dep_ == "relcl":
                if any(
                    c.dep_ == "det" and c.lower_ in ("any", "every", "each") for c in head.children
                ):
                    stop = "hypothetical"  # "any country that supplied missiles"
                    break
                if not (self._cues_any(head) & {"proposal", "agreement", "call"}):
                    break
                # "a proposal under which Washington would recognise ...": its content.
            elif cur.dep_ in ("advcl", "parataxis", "csubj"):
                break
            elif cur.dep_ == "acl" and cur.tag_ in ("VBG", "VBN"):
                stop = "description"  # "people waiting for food aid"
                break
            if cur.dep_ == "pobj" and head.dep_ == "prep" and head.lower_ in _ADJUNCT_PREPS:
                break  # "after the strikes", "at the talks": the setting, not the object
            if cur.dep_ == "ccomp" and _asserted(cur) and not (self._cues_any(head) & {"denial"}):
                break  # "agreed X, but the talks ended ...": a past clause reports, it is not agreed
            chain.append(head)
            cur = head
            if head.lemma_.lower() in self.reporting and head.pos_ in ("VERB", "AUX"):
                below = chain[-2]
                if below.dep_ == "prep" and below.lower_ in ("on", "about", "over"):
                    stop = "topic"  # "would not comment on the memorandum"
                break  # cues above "said" are about the saying
        return chain, context_verb, stop

    def _cues_any(self, tok) -> set[str]:
        """Cue kinds of a word under the global lists."""
        return self._cues(self._global, tok)

    def _cues(self, rules: _Rules, tok) -> set[str]:
        """Cue kinds of one word (with its particle for multi-word cues)."""
        out = set()
        lemma, lower = tok.lemma_.lower(), tok.lower_
        for name, table in rules.cues.items():
            for words in table.get(lemma, []) + (table.get(lower, []) if lower != lemma else []):
                if _rest(tok, words[1:]):
                    out.add(name)
        return out

    def _stance(self, cand: _Candidate, chain, stop: str | None) -> tuple[str, int, bool] | None:
        """(stance, chain index of the word that carries it, explicit?) or None to drop."""
        rules, kind = cand.rules, cand.rules.kind
        if stop in ("hypothetical", "topic"):
            return None
        strong: list[tuple[int, str, bool]] = []  # (chain index, cue kind, negated)
        hypothetical: list[int] = []
        future: list[int] = []
        readiness: set[int] = set()
        negated_event = _negated(chain[0], rules)
        occurrence_negated = False
        occurrence_at = None
        generic = False  # "any ceasefire": no particular event
        irrealis = False  # "a possible future ceasefire"
        for pos, tok in enumerate(chain):
            cues = self._cues(rules, tok)
            # Modals, markers and complements attached to the word: "would", "if", "unacceptable".
            for child in tok.children:
                if child.dep_ in ("aux", "auxpass", "mark"):
                    cues |= self._cues(rules, child) & {"future", "hypothetical", "call"}
                elif child.dep_ == "det":
                    if "hypothetical" in self._cues(rules, child):
                        cues.add("hypothetical")  # "any future meeting"
                        if pos == 0:
                            generic = True
                elif child.dep_ in ("advmod", "amod"):
                    cues |= self._cues(rules, child) & {"hypothetical", "future"}
                elif child.dep_ in ("acomp", "oprd"):
                    cues |= self._cues(rules, child) & {
                        "refusal",
                        "proposal",
                        "agreement",
                        "readiness",
                    }
                elif child.dep_ == "prep" and child.lower_ == "as":
                    for grand in child.children:  # "regards X as unacceptable"
                        cues |= self._cues(rules, grand) & {"refusal", "agreement"}
            if pos > 0 and tok.lemma_ == "be" and chain[pos - 1].dep_ == "attr":
                # "Kyiv's priority is a ceasefire": the subject says what is sought.
                for child in tok.children:
                    if child.dep_ == "nsubj":
                        cues |= self._cues(rules, child) & {"call", "proposal", "refusal"}
            if "hypothetical" in cues:
                hypothetical.append(pos)
                if pos == 0:
                    irrealis = True
            if "future" in cues:
                future.append(pos)
            if "readiness" in cues:
                readiness.add(pos)
            negated = _negated(tok, rules) if pos > 0 else negated_event
            if pos > 0 and chain[pos - 1].dep_ in ("nsubj", "csubj"):
                # The trigger is the verb's active subject: the verb's stance cues are about
                # its object ("the memorandum calls for X"), and a verb that reports nothing
                # about the event makes the sentence about it ("exchanges have been rare").
                if cues & set(_STRONG) and not cues & {"occurrence"}:
                    occurrence_at = pos if occurrence_at is None else occurrence_at
                    continue
                if not cues & {
                    "occurrence",
                    "future",
                    "hypothetical",
                    "threat",
                } and not _existential(tok):
                    return None
            if "threat" in cues and pos > 0 and _complement_path(chain, pos):
                return None  # a threatened event belongs to the threat kind
            if pos == 0 and tok.i != cand.head.i:
                cues.discard("agreement")  # the modifier head ("deal") is the event's own noun
            for name in _STRONG:
                if name in cues and not (pos == 0 and name == "call" and tok.pos_ == "NOUN"):
                    strong.append((pos, name, negated))
                    break
            if "occurrence" in cues and occurrence_at is None:
                occurrence_at = pos
                occurrence_negated = negated
        if "yet" in {c.lower_ for t in chain for c in t.children if c.dep_ == "advmod"} and (
            negated_event or occurrence_negated or any(n for _, _, n in strong)
        ):
            return None  # "not yet agreed": pending, nothing has happened
        negating = (
            negated_event
            or occurrence_negated
            or any(name in ("refusal", "denial") or neg for _, name, neg in strong)
        )
        if generic and not negating:
            return None  # "any peace agreement" ("rules out any recognition" stays)
        if strong:
            pos, name, negated = max(strong, key=lambda s: s[0])
            if not negating and any(h >= pos for h in hypothetical):
                return None  # "Russia could agree to a ceasefire"
            if irrealis and pos > 2 and not negating:
                return None  # "agreed to set out its vision of a possible future ceasefire"
            if name == "proposal" and pos in readiness:
                inner = [s for s in strong if s[0] < pos and s[1] == "agreement" and not s[2]]
                if inner and not negated:
                    name = "agreement"  # "ready to accept a US proposal"
            stance = _STRONG_STANCE[name]
            if negated:
                if name == "agreement":
                    stance = "rejected"
                elif name == "proposal":
                    stance = "rejected"  # "not ready", "not open to"
                elif name == "call":
                    inner = [s for s in strong if s[0] < pos and not s[2]]
                    if not inner:
                        return None
                    pos, name, _ = max(inner, key=lambda s: s[0])
                    stance = _STRONG_STANCE[name]
                else:
                    return None  # "did not deny", "did not rule out": too uncertain
            if stance == "agreed" and (
                negated_event or any(n == "agreement" and neg for _, n, neg in strong)
            ):
                stance = "rejected"  # "agreed a swap but no ceasefire", "... without agreement on"
            return stance, pos, True
        if stop == "description":
            return None
        if negated_event or occurrence_negated:
            return kind.negated_stance, occurrence_at or 0, True
        presupposed = _presupposed(cand.eff)
        if hypothetical and not (presupposed and 0 not in hypothetical):
            return None
        if future and not presupposed:
            # "Would" is a reported future under "said" ("said it would hand over"), else a
            # hypothesis ("a ceasefire would save lives").
            bare_would = any(
                c.lower_ == "would"
                for t in chain
                for c in t.children
                if c.dep_ in ("aux", "auxpass")
            ) and not _reported_future(chain, self)
            if bare_would:
                return None
            return "proposed", 0, True
        return kind.default_stance, occurrence_at or 0, occurrence_at is not None

    def _parties(self, cand, chain, stance_pos, stance, refs, seg):
        """Actors and recipients: subjects of the stance-bearing word, its objects."""
        kind = cand.rules.kind
        stance_token = chain[stance_pos]
        actors: list[EntityRef] = []
        recipients: list[EntityRef] = []
        partners: list[EntityRef] = []  # "talks with X", "a swap between X and Y"
        # The verb that carries the stance (or governs the noun that does).
        verb = next((t for t in chain[stance_pos:] if _is_clause(t)), None)
        reported = (
            verb is not None
            and stance_token is cand.eff
            and self._cues(cand.rules, verb) & {"occurrence"}
        )
        if stance_token.pos_ in ("NOUN", "PROPN") and not reported:
            # "Russia's offer", "the US proposal", "Ukraine's attack on its airfields"
            actors = _modifier_entities(stance_token, refs, seg)
        if not actors and verb is not None:
            actors = _subject_entities(verb, refs, seg)
        if not actors and verb is None and kind.bilateral:
            # "agreed on a framework during talks in Geneva": the clause's parties met.
            setting = chain[-1].head
            if setting.dep_ == "prep" and _inside(setting.head, seg) and _is_clause(setting.head):
                actors = _subject_entities(setting.head, refs, seg)
        if not actors:
            # "Russia says any settlement must recognise ...": the speaker is the actor.
            for tok in chain[stance_pos:]:
                if tok.lemma_.lower() in self.reporting and tok.pos_ in ("VERB", "AUX"):
                    actors = _subject_entities(tok, refs, seg)
                    break
        objects = [verb] if verb is not None else []
        objects += [t for t in chain[: stance_pos + 1] if t is not verb]
        for tok in objects:
            for child in tok.children:
                if child.dep_ in ("dobj", "dative", "iobj", "obj"):
                    found = _entities_in(child, refs, seg, head_only=True)
                    recipients += found
                    if tok is cand.eff and child.i in refs:
                        partners += found  # "met Putin" (not "released Palestinian prisoners")
                elif child.dep_ == "prep" and child.lower_ in _OBJECT_PREPS:
                    if child.lower_ in _TARGET_ONLY_PREPS and not kind.targeted:
                        continue
                    for grand in child.children:
                        if grand.dep_ == "pobj":
                            found = [
                                r
                                for r in _entities_in(grand, refs, seg, head_only=True)
                                if r.kind != "place" or not kind.bilateral  # "met in Istanbul"
                            ]
                            recipients += found
                            if child.lower_ == "with" or (
                                child.lower_ == "to" and tok is cand.eff and grand.i in refs
                            ):
                                partners += found  # "talks with X", "spoke to X"
                elif child.dep_ == "prep" and child.lower_ == "between" and kind.bilateral:
                    for grand in child.children:
                        if grand.dep_ == "pobj":
                            partners += _entities_in(grand, refs, seg, head_only=True)
        # Lower subjects under a call or proposal are who is asked: "demanded that Ukraine withdraw".
        for tok in chain[1:stance_pos] if stance_pos > 0 else []:
            if _is_clause(tok):
                recipients += _subject_entities(tok, refs, seg, inherit=False)
        if cand.eff.pos_ == "VERB" and stance_pos > 0:
            recipients += _subject_entities(cand.eff, refs, seg, inherit=False)
        actors = _unique(actors)
        if kind.bilateral and stance in ("occurred", "agreed"):
            actors = _unique(actors + partners)  # both sides of a meeting or an exchange
        else:
            recipients += partners
        recipients = [r for r in _unique(recipients) if r not in actors]
        return actors, recipients

    def _place(self, cand, chain, stance_pos, refs, recipients, seg) -> str | None:
        for tok in chain[: stance_pos + 1] + [cand.head]:
            for child in tok.children:
                if child.dep_ == "prep" and child.lower_ in _PLACE_PREPS:
                    for grand in child.children:
                        if grand.dep_ == "pobj":
                            for ref in _entities_in(grand, refs, seg, head_only=True):
                                if ref.kind in ("place", "country"):
                                    return ref.name
                elif child.dep_ == "compound" and child.i in refs:
                    ref = refs[child.i]
                    if ref.kind == "place":
                        return ref.name  # "the Istanbul talks" (but "the US proposal" is an actor)
        if cand.rules.kind.targeted:
            for ref in recipients:
                if ref.kind in ("place", "country"):
                    return ref.name
        return None

    def _quantity(self, cand, chain, stance_pos, seg) -> tuple[float | None, str | None]:
        rules = cand.rules
        # The trigger's own phrase first, then its clause.
        scopes = [_local(cand.eff, seg)]
        verb = next((t for t in chain if _is_clause(t)), None)
        if verb is not None:
            scopes.append(_local(verb, seg))
        if cand.wide:
            scopes.append(cand.scope)  # the sentence gave the context, it may give the count
        for scope in scopes:
            found = []
            for tok in scope:
                unit = rules.units.get(tok.lemma_.lower()) or rules.units.get(tok.lower_)
                if rules.kind.money and unit is None and tok.pos_ in ("NOUN", "PROPN"):
                    unit = _CURRENCIES.get(tok.lower_)  # "1.9 billion euros"
                if unit:
                    value = _number_of(tok)
                    if value is not None:
                        if tok.dep_ == "conj" and _number_of(tok.head) is not None:
                            continue  # "728 drones and 13 missiles": the first counts
                        direct = tok.head.i in (cand.head.i, cand.eff.i) or (
                            verb is not None and tok.head.i == verb.i
                        )
                        found.append((not direct, abs(tok.i - cand.head.i), tok.i, value, unit))
            if rules.kind.money:
                for tok in scope:
                    if tok.ent_type_ == "MONEY" and tok.ent_iob_ == "B":
                        ent = next(e for e in tok.doc.ents if e.start == tok.i)
                        money = _money(ent)
                        if money:
                            found.append((True, abs(tok.i - cand.head.i), tok.i, *money))
            if found:
                *_, value, unit = min(found)
                return float(value), unit
        # "a 1,000-for-1,000 prisoner swap"
        for tok in (cand.head, cand.eff):
            for child in tok.children:
                if child.dep_ == "nummod":
                    value = _parse_number(list(child.subtree))
                    if value is not None and rules.units:
                        return float(value), self._unit_in_span(cand)
        phrase = " ".join(t.text for t in scopes[0])
        match = _X_FOR_Y.search(phrase) or _X_FOR_Y.search(seg.text)
        if match and rules.units:
            value = _parse_number_text(match[1])
            if value is not None:
                return float(value), self._unit_in_span(cand)
        return None, None

    def _unit_in_span(self, cand) -> str:
        for tok in cand.head.doc[cand.start : cand.end]:
            for child in [tok, *tok.children]:
                unit = cand.rules.units.get(child.lemma_.lower())
                if unit:
                    return unit
        return next(iter(cand.rules.kind.units))

    def _date(self, doc, seg, cand, chain, stance_pos, context_verb, published) -> date | None:
        """The explicit date attached to the event's chain, else the article's date."""
        future = any(
            "future" in self._cues(cand.rules, c)
            for t in chain
            for c in t.children
            if c.dep_ in ("aux", "auxpass")
        )
        dated = []
        for ent in seg.ents:
            if ent.label_ not in ("DATE", "TIME"):
                continue
            anchor = ent.root
            while anchor.i in range(ent.start, ent.end) and anchor.head.i != anchor.i:
                anchor = anchor.head
            if anchor.dep_ == "prep" and anchor.lower_ in _NOT_WHEN:
                continue
            if anchor.pos_ == "ADP":
                anchor = anchor.head  # "on Friday" attaches through its preposition
            resolved = _resolve_date(ent.text, published, future)
            if resolved is None:
                continue
            dated.append((anchor, resolved))
        positions = {t.i: pos for pos, t in enumerate(chain)}
        best = None
        for anchor, resolved in dated:
            if isinstance(resolved, date) and published and resolved > published:
                continue  # a planned date, not when this was said or done
            pos = positions.get(anchor.i)
            if pos is None:
                if context_verb is not None and anchor.i == context_verb.i:
                    pos = len(chain)
                else:
                    continue
            stance_here = chain[stance_pos]
            if pos < stance_pos and stance_here is not cand.eff:
                continue  # below the stance word: when the proposed event would happen
            rank = pos
            if best is None or rank < best[0]:
                best = (rank, resolved)
        if best is None:
            days = {
                r for _, r in dated if isinstance(r, date) and not (published and r > published)
            }
            if len(days) == 1 and len(dated) == 1:
                best = (0, next(iter(days)))
        if best is None:
            return published
        resolved = best[1]
        if resolved == "current":
            return published
        if resolved == "other":
            return None
        return resolved

    def _entities(self, doc) -> ArticleEntities:
        # Without the entity stage's result, discover entities with this model and no watch list.
        if self._fallback_entities is None:
            self._fallback_entities = EntityExtractor([], self.settings, nlp=self.nlp)
        return self._fallback_entities.from_doc(doc)


# ----------------------------------------------------------------------------- parse helpers


def _inside(tok, seg) -> bool:
    return seg.start <= tok.i < seg.end


def _word_is(tok, word: str) -> bool:
    return tok.lower_ == word or tok.lemma_.lower() == word


def _rest(tok, words: tuple[str, ...]) -> bool:
    """The remaining words of a multi-word cue follow `tok` or hang from it ("ruled it out")."""
    if not words:
        return True
    doc = tok.doc
    if tok.i + len(words) < len(doc) and all(
        _word_is(doc[tok.i + 1 + j], w) for j, w in enumerate(words)
    ):
        return True
    if len(words) == 1:
        return any(c.lower_ == words[0] and c.dep_ in ("prt", "prep") for c in tok.children)
    return False


def _is_clause(tok) -> bool:
    return tok.pos_ in ("VERB", "AUX") or any(
        c.dep_ in ("nsubj", "nsubjpass") for c in tok.children
    )


def _negated(tok, rules: _Rules) -> bool:
    """Whether the word is negated: "not agree", "no ceasefire", "never sign", "without a deal"."""
    negation = rules.cues["negation"]
    for child in tok.children:
        if child.dep_ == "neg":
            return True
        if child.dep_ in ("det", "advmod", "preconj") and (
            child.lower_ in negation or child.lemma_.lower() in negation
        ):
            return True
    return tok.dep_ == "pobj" and tok.head.lower_ in negation  # "without"


def _asserted(verb) -> bool:
    """A past-tense clause with its own subject and no modal: it reports what happened."""
    if not any(c.dep_ in ("nsubj", "nsubjpass") for c in verb.children):
        return False
    if any(c.dep_ in ("aux", "auxpass") and c.tag_ == "MD" for c in verb.children):
        return False
    return verb.tag_ == "VBD"


def _presupposed(tok) -> bool:
    """A definite or possessed event noun refers to an event taken as given ("Ukraine's attack")."""
    if tok.pos_ not in ("NOUN", "PROPN") or tok.dep_ != "pobj":
        return False
    return any(
        c.dep_ == "poss" or (c.dep_ == "det" and c.lower_ in ("the", "this", "that"))
        for c in tok.children
    )


def _existential(tok) -> bool:
    """'There was no ceasefire'."""
    return any(c.dep_ == "expl" for c in tok.children)


def _complement_path(chain, pos: int) -> bool:
    """Whether chain[pos-1] is a complement of chain[pos] (what is threatened, not when)."""
    below = chain[pos - 1]
    if below.dep_ in ("xcomp", "ccomp", "dobj"):
        return True
    if below.dep_ == "prep" and below.lower_ in ("of", "with"):
        return True
    return below.dep_ == "pobj" and below.head.lower_ in ("of", "with") and pos >= 2


def _reported_future(chain, extractor: DevelopmentExtractor) -> bool:
    return any(
        t.lemma_.lower() in extractor.reporting and t.pos_ in ("VERB", "AUX") for t in chain[1:]
    )


def _local(tok, seg, keep: tuple[str, ...] = ()) -> list:
    """`tok` and its dependents, without the clauses hanging from it (but those in `keep`)."""
    out, stack = [], [tok]
    while stack:
        cur = stack.pop()
        if not _inside(cur, seg):
            continue
        out.append(cur)
        for child in cur.children:
            if child.dep_ in _CLAUSE_DEPS and child.dep_ not in keep:
                continue
            if child.dep_ == "conj" and _is_clause(child):
                continue
            stack.append(child)
    return sorted(out, key=lambda t: t.i)


def _clause(tok, seg) -> list:
    """The tokens of the clause `tok` stands in (with the noun a relative clause modifies)."""
    cur = tok
    while not _is_clause(cur) and cur.head.i != cur.i and _inside(cur.head, seg):
        cur = cur.head
    tokens = _local(cur, seg)
    if cur.dep_ in ("relcl", "acl") and _inside(cur.head, seg):
        noun = cur.head
        tokens += [t for t in _local(noun, seg) if t not in tokens]
    if tok not in tokens:
        tokens.append(tok)
    return tokens


def _has_context(tokens, words, refs, cand, own_span: bool = True) -> bool:
    """Whether any of `words` (lemmas, multi-word, or @entity kinds) stands in `tokens`."""
    span = set(range(cand.start, cand.end)) if not own_span else set()
    lemmas = {t.lemma_.lower() for t in tokens if t.i not in span} | {
        t.lower_ for t in tokens if t.i not in span
    }
    text = " " + " ".join(t.lower_ for t in tokens if t.i not in span) + " "
    for word in words:
        if word in _ENTITY_REQUIREMENTS:
            wanted = word[1:]
            for t in tokens:
                ref = refs.get(t.i)
                if ref is not None and (wanted == "entity" or ref.kind == wanted):
                    return True
        elif " " in word or "-" in word:
            if f" {word} " in text:
                return True
        elif word in lemmas:
            return True
    return False


def _entity_tokens(doc, entities: ArticleEntities) -> dict[int, EntityRef]:
    """Token index -> entity, from the entity stage's character spans."""
    refs: dict[int, EntityRef] = {}
    for mention in entities.mentions:
        for start, end in mention.spans:
            span = doc.char_span(start, end, alignment_mode="expand")
            if span is None:
                continue
            for tok in span:
                refs.setdefault(tok.i, mention.entity)
    return refs


def _entities_in(tok, refs, seg, head_only: bool = False) -> list[EntityRef]:
    """Entities of a noun phrase.

    With `head_only`: the phrase's own entities - its head and conjuncts ("Russia and Ukraine"),
    their possessors and modifiers ("Russian and Ukrainian delegations", "Kyiv's team"), and,
    for a common-noun head, its of/from phrases ("the leaders of France and Germany"); not
    places or people further down ("met in Istanbul", "an aide to Putin").
    """
    if not head_only:
        return _unique(refs[t.i] for t in _local(tok, seg) if t.i in refs)
    out, stack = [], [tok]
    while stack:
        cur = stack.pop()
        if not _inside(cur, seg):
            continue
        if cur.i in refs:
            out.append(refs[cur.i])
        for child in cur.children:
            if child.dep_ in _NP_CORE or (child.dep_ == "conj" and not _is_clause(child)):
                stack.append(child)
            elif (
                child.dep_ == "prep"
                and child.lower_ in ("of", "from")
                and cur.i not in refs
                and cur.pos_ == "NOUN"
            ):
                stack.extend(g for g in child.children if g.dep_ == "pobj")
    return _unique(
        sorted(out, key=lambda r: min((i for i, x in refs.items() if x == r), default=0))
    )


def _modifier_entities(tok, refs, seg) -> list[EntityRef]:
    """Entities that own a noun: "Russia's offer", "the US proposal", "calls by Kyiv"."""
    out = []
    for child in tok.children:
        if child.dep_ == "poss" or (child.dep_ in ("compound", "amod", "nmod") and child.i in refs):
            out += _entities_in(child, refs, seg)
        elif child.dep_ in ("agent", "prep") and child.lower_ in ("by", "from"):
            for grand in child.children:
                if grand.dep_ == "pobj":
                    out += _entities_in(grand, refs, seg, head_only=True)
    return _unique(out)


def _subject_entities(
    verb, refs, seg, inherit: bool = True, passive: bool = False
) -> list[EntityRef]:
    """Entities of a verb's subject, or of its passive agent; control and coordination inherit.

    A pronoun subject ("Ukraine said it was ready") takes the entities of the nearest governing
    verb's subject; a raising passive ("Putin is reported to have demanded") passes its subject.
    """
    out = []
    pronoun = False
    subjects = _SUBJECTS | ({"nsubjpass"} if passive else set())
    for child in verb.children:
        if child.dep_ in subjects:
            if child.pos_ == "PRON" or (
                child.pos_ == "NOUN"
                and any(c.dep_ == "poss" and c.pos_ == "PRON" for c in child.children)
            ):
                pronoun = True  # "it", "they", "its drones"
            out += _entities_in(child, refs, seg, head_only=True)
        elif child.dep_ == "agent":
            for grand in child.children:
                out += _entities_in(grand, refs, seg, head_only=True)
    if pronoun and not out:
        up = verb.head
        while up.i != up.head.i and _inside(up, seg) and not _is_clause(up):
            up = up.head
        if up.i != verb.i and _inside(up, seg):
            return _subject_entities(up, refs, seg)
    if out or not inherit:
        return out
    head = verb.head
    if head.i == verb.i or not _inside(head, seg):
        return out
    if verb.dep_ in ("xcomp", "conj", "acomp") or (verb.dep_ == "ccomp" and not _is_clause(head)):
        return _subject_entities(head, refs, seg, passive=verb.dep_ == "xcomp")
    if verb.dep_ in ("relcl", "acl") and head.i in refs:
        return [refs[head.i]]
    if verb.dep_ in ("pcomp", "pobj") and head.head.i != head.i:
        return _subject_entities(head.head, refs, seg)
    return out


def _unique(refs: Iterable[EntityRef]) -> list[EntityRef]:
    seen: dict[EntityRef, None] = {}
    for ref in refs:
        seen.setdefault(ref, None)
    return list(seen)


def _dateline_end(seg) -> int:
    """End of a dateline opening the sentence ("KYIV, May 23 (Wire) -"), else its start."""
    first = seg[0] if len(seg) else None
    if first is None or not (first.is_upper and first.is_alpha and len(first) > 2):
        return seg.start
    for tok in seg[: min(len(seg), 14)]:
        if tok.text in ("-", "–", "—", "--") and tok.i > seg.start + 1:
            return tok.i + 1
    return seg.start


def _segments(doc) -> Iterator:
    """Sentences, split again at line breaks (a headline is its own sentence)."""
    from spacy.attrs import IS_SPACE

    # Whitespace tokens holding a line break, found without a Python loop over every token.
    breaks = [i for i in doc.to_array(IS_SPACE).nonzero()[0].tolist() if "\n" in doc[i].text]
    for sent in doc.sents:
        start = sent.start
        for i in breaks[bisect.bisect_left(breaks, start) : bisect.bisect_left(breaks, sent.end)]:
            if i > start:
                yield from _trim(doc[start:i])
            start = i + 1
        if start < sent.end:
            yield from _trim(doc[start : sent.end])


def _trim(span) -> Iterator:
    start, end = span.start, span.end
    while start < end and span.doc[start].is_space:
        start += 1
    while end > start and span.doc[end - 1].is_space:
        end -= 1
    if end > start:
        yield span.doc[start:end]


# ----------------------------------------------------------------------------- numbers and dates


def _number_of(tok) -> float | None:
    """The count attached to a unit noun: '390 prisoners', 'the bodies of 6,000 soldiers'."""
    for child in tok.children:
        if child.dep_ == "nummod" and child.ent_type_ not in ("DATE", "TIME", "PERCENT", "ORDINAL"):
            value = _parse_number(list(child.subtree))
            if value is not None:
                return value
    for child in tok.children:
        if child.dep_ == "prep" and child.lower_ == "of":
            for grand in child.children:
                if grand.dep_ == "pobj":
                    for g in grand.children:
                        if g.dep_ == "nummod":
                            value = _parse_number(list(g.subtree))
                            if value is not None:
                                return value
    return None


def _parse_number(tokens) -> float | None:
    words = [t.lower_ for t in tokens if t.dep_ not in ("advmod", "quantmod") or t.like_num]
    return _parse_number_text(" ".join(w for w in words if w not in _HEDGES))


def _parse_number_text(text: str) -> float | None:
    words = text.lower().replace("-", " ").split()
    if not words or any(w in _VAGUE for w in words):
        return None
    total, current, seen = 0.0, 0.0, False
    for word in words:
        plain = word.replace(",", "")
        if re.fullmatch(r"\d+(\.\d+)?", plain):
            current += float(plain)
            seen = True
        elif word in _NUMBER_WORDS:
            current += _NUMBER_WORDS[word]
            seen = True
        elif word in ("a", "an") and not seen:
            current = 1.0
        elif word in _SCALES:
            current = (current or 1.0) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total, current = total + current, 0.0
            seen = True
        elif word in ("and",):
            continue
        else:
            return None
    value = total + current
    return value if seen and value > 0 else None


def _money(ent) -> tuple[float, str] | None:
    """'$3 billion' -> (3e9, 'USD'); '1.9 billion euros' -> (1.9e9, 'EUR')."""
    currency = None
    words = []
    for tok in ent:
        low = tok.lower_
        if low in _CURRENCIES:
            currency = _CURRENCIES[low]
        elif tok.text in _CURRENCIES:
            currency = _CURRENCIES[tok.text]
        else:
            words.append(low)
    if currency is None:
        nxt = ent.doc[ent.end] if ent.end < len(ent.doc) else None
        if nxt is not None and nxt.lower_ in _CURRENCIES:
            currency = _CURRENCIES[nxt.lower_]
    if currency is None:
        return None
    value = _parse_number_text(" ".join(w for w in words if w not in _HEDGES))
    return (value, currency) if value else None


def _resolve_date(text: str, published: date | None, future: bool) -> date | str | None:
    """A day, 'current' (a period holding the article's date), 'other' (another period) or None."""
    t = " ".join(text.lower().split())
    if _DURATION.match(t) and "ago" not in t:
        return None  # "three days", "30-day": how long, not when
    if published is not None:
        if re.search(r"\b(today|tonight|this (morning|afternoon|evening))\b", t):
            return published
        if re.search(r"\b(yesterday|last night)\b", t):
            return published - timedelta(days=1)
        if re.search(r"\btomorrow\b", t):
            return published + timedelta(days=1)
        if re.search(r"\bovernight\b", t):
            return published
    match = _DAY_MONTH.search(t) or _MONTH_DAY.search(t)
    if match:
        if match.re is _DAY_MONTH:
            day, month, year = int(match[1]), _MONTHS[match[2].lower()], match[3]
        else:
            month, day, year = _MONTHS[match[1].lower()], int(match[2]), match[3]
        if year is None and published is None:
            return None
        guess = published.year if year is None else int(year)
        try:
            resolved = date(guess, month, day)
        except ValueError:
            return None
        if year is None and published is not None:
            if resolved - published > timedelta(days=183):
                resolved = resolved.replace(year=guess - 1)
            elif published - resolved > timedelta(days=183) and future:
                resolved = resolved.replace(year=guess + 1)
        return resolved
    for index, name in enumerate(_WEEKDAYS):
        if re.search(rf"\b{name}\b", t):
            if published is None:
                return None
            back = (published.weekday() - index) % 7
            if "next" in t or (future and "last" not in t):
                ahead = (index - published.weekday()) % 7
                return published + timedelta(days=ahead or (7 if "next" in t else 0))
            if "last" in t and back == 0:
                back = 7
            return published - timedelta(days=back)
    if published is None:
        return None
    if _CURRENT.search(t):
        return "current"
    years = [int(m[0]) for m in re.finditer(r"\b(?:19|20)\d\d\b", t)]
    if years:
        if years[0] != published.year:
            return "other"
        months = [_MONTHS[m] for m in re.findall(rf"\b({_MONTH})\b", t)]
        if months and months[0] != published.month:
            return "other"
        return "current"
    months = [_MONTHS[m] for m in re.findall(rf"\b({_MONTH})\b", t)]
    if months:
        return "current" if months[0] == published.month else "other"
    if re.search(r"\b(last|previous) (week|month|year)\b|\bago\b|\bearlier this\b", t):
        return "other"
    return None
