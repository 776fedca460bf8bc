"""Entities: watch-list matching and NER discovery, with one canonical name per entity."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pycountry
from rapidfuzz import fuzz, process

from newsmon.config import NlpSettings, Topic, WatchEntity

log = logging.getLogger(__name__)

KINDS = ("person", "organisation", "country", "place")
# spaCy labels kept for discovery; NORP ("Russian") only counts when it names a country.
_LABEL_KIND = {
    "PERSON": "person",
    "ORG": "organisation",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "NORP": "country",
}

# Short names for countries whose ISO name is not what the news says.
_COUNTRY_NAMES = {
    "RU": "Russia",
    "US": "United States",
    "GB": "United Kingdom",
    "KR": "South Korea",
    "KP": "North Korea",
    "IR": "Iran",
    "SY": "Syria",
    "VE": "Venezuela",
    "TW": "Taiwan",
    "MD": "Moldova",
    "VN": "Vietnam",
    "BO": "Bolivia",
    "TZ": "Tanzania",
    "CZ": "Czechia",
    "TR": "Türkiye",
    "VA": "Vatican City",
    "PS": "Palestine",
    "LA": "Laos",
    "CD": "DR Congo",
}
# Names and demonyms that pycountry's exact lookup does not know.
_COUNTRY_ALIASES = {
    "russia": "RU",
    "turkey": "TR",
    "turkiye": "TR",
    "britain": "GB",
    "great britain": "GB",
    "uk": "GB",
    "u.k.": "GB",
    "u.k": "GB",
    "u.s": "US",
    "america": "US",
    "u.s.": "US",
    "usa": "US",
    "the united states": "US",
    "vatican": "VA",
    "the vatican": "VA",
    "holy see": "VA",
    "north korea": "KP",
    "syria": "SY",
    "iran": "IR",
    "palestine": "PS",
    "gaza": "PS",
    "czech republic": "CZ",
    "moldova": "MD",
    "russian": "RU",
    "ukrainian": "UA",
    "turkish": "TR",
    "american": "US",
    "british": "GB",
    "french": "FR",
    "german": "DE",
    "polish": "PL",
    "chinese": "CN",
    "indian": "IN",
    "pakistani": "PK",
    "israeli": "IL",
    "palestinian": "PS",
    "iranian": "IR",
    "belarusian": "BY",
    "romanian": "RO",
    "portuguese": "PT",
    "south korean": "KR",
    "north korean": "KP",
    "japanese": "JP",
    "italian": "IT",
    "spanish": "ES",
    "syrian": "SY",
    "georgian": "GE",
    "hungarian": "HU",
    "austrian": "AT",
    "swiss": "CH",
    "dutch": "NL",
    "belgian": "BE",
    "swedish": "SE",
    "finnish": "FI",
    "norwegian": "NO",
    "danish": "DK",
    "greek": "GR",
    "saudi": "SA",
    "qatari": "QA",
    "egyptian": "EG",
    "canadian": "CA",
    "australian": "AU",
    "mexican": "MX",
    "brazilian": "BR",
    "estonian": "EE",
    "latvian": "LV",
    "lithuanian": "LT",
    "slovak": "SK",
    "czech": "CZ",
    "bulgarian": "BG",
    "serbian": "RS",
    "croatian": "HR",
    "moldovan": "MD",
    "azerbaijani": "AZ",
    "armenian": "AM",
    "kazakh": "KZ",
    "emirati": "AE",
}
_SPACE = re.compile(r"\s+")
# A word that is a number, a score or a date ("2011", "20-13"); "76ers" and "117th" are names.
_NUMBER = re.compile(r"[\W\d_]*\d[\W\d_]*")
_WORD = re.compile(r"[^\W\d_]{4,}")
_TRIM = re.compile(r"^(?:the\s+)|(?:'s|’s)$", re.IGNORECASE)
# Titles are not part of a name: "Pope Leo XIV" and "Leo XIV" are one person.
_TITLES = re.compile(
    r"^(?:(?:president|prime minister|pope|chancellor|minister|foreign minister|defence minister|"
    r"secretary of state|secretary|senator|general|gen\.|mr\.?|mrs\.?|ms\.?|dr\.?|sir|king|queen|"
    r"prince|princess|sheikh|rep\.|sen\.)\s+)+",
    re.IGNORECASE,
)


# Last words that make an "organisation" or a "person" a place: people meet, sleep and are held
# there ("Betty Ford Center" is a clinic, not Betty Ford).
_FACILITIES = frozenset(
    [
        "center",
        "centre",
        "hospital",
        "prison",
        "jail",
        "stadium",
        "arena",
        "airport",
        "hotel",
        "courthouse",
        "clinic",
        "park",
        "street",
        "road",
        "avenue",
        "square",
        "store",
        "mall",
        "palace",
        "bridge",
        "station",
        "port",
        "base",
        "airbase",
        "theatre",
        "theater",
        "museum",
        "route",
        "boulevard",
        "highway",
        "motel",
        "plant",
        "factory",
    ]
)
# Things spaCy's small model tags ORG that are not organisations in news.
_NOT_ORGANISATIONS = frozenset(
    ["dui", "dwi", "gmt", "utc", "ir", "mia", "bst", "cet", "est", "edt", "pst"]
)
# Words that open or close the name of a natural feature: "Mount Cook", "Tasman Glacier".
_FEATURE_FIRST = frozenset(["mount", "mt", "mt.", "lake", "cape", "fort"])
_FEATURE_LAST = frozenset(
    ["river", "lake", "island", "islands", "glacier", "valley", "bay", "gulf", "sea", "ocean",
     "mountain", "mountains", "peak", "desert", "strait", "canal", "beach"]
)  # fmt: skip
# Words inside or at the end of a name that the article may also write in lower case.
_CONNECTORS = frozenset(["of", "and", "the", "for", "de", "&", "-", "'s", "’s"])
_ORG_HEADS = frozenset(
    ["police", "university", "college", "school", "court", "bank", "department", "ministry",
     "office", "agency", "service", "council", "committee", "company", "corporation", "group",
     "party", "army", "navy", "fire", "rescue", "county", "city", "state", "island", "congress",
     "parliament", "senate", "assembly"]
)  # fmt: skip
# Lower-case nouns of places a name can modify ("a Woodburn bank", "the Kraft plant").
_PLACE_NOUNS = _FACILITIES | frozenset(
    ["boutique", "shop", "bank", "branch", "apartment", "building", "home", "house", "area",
     "town", "city", "village", "neighborhood", "neighbourhood", "unit", "office"]
)  # fmt: skip
# Nouns that make a person's name the name of what the person leads: "the Bush administration".
_LED_BY = frozenset(["administration", "government", "campaign", "team"])
_EVENT_WORDS = ("awards", "oscars", "olympics", "games", "cup", "championship", "festival")


def _not_an_organisation(name: str) -> bool:
    folded = name.casefold()
    return (
        folded in _NOT_ORGANISATIONS
        or folded.endswith(_EVENT_WORDS)
        or folded.endswith("surgeon general")
    )


def _place_name(name: str) -> bool:
    """A multi-word name that its first or last word marks as a place, whatever spaCy said."""
    words = name.casefold().split()
    return len(words) > 1 and (
        words[-1] in _FACILITIES or words[-1] in _FEATURE_LAST or words[0] in _FEATURE_FIRST
    )


def _one_kind_per_name(named: list[tuple]) -> list[tuple]:
    """(span, name, kind) with each name's most frequent kind in the article.

    One sense per discourse: a name means the same thing throughout an article, and the
    recogniser labels each mention from its sentence alone ("Woodburn" a place in one sentence,
    an organisation in the next). Ties keep each label; nationalities are left alone.
    """
    votes: dict[str, Counter] = {}
    for _, name, kind in named:
        if kind != "country":
            votes.setdefault(name.casefold(), Counter())[kind] += 1
    out = []
    for span, name, kind in named:
        ranked = votes.get(name.casefold(), Counter()).most_common(2)
        if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
            kind = ranked[0][0]
        out.append((span, name, kind))
    return out


def _clean(text: str) -> str:
    name = _TRIM.sub("", _SPACE.sub(" ", text.strip())).strip(" .,;:-\"'“”‘’")
    return _TITLES.sub("", name) if " " in name else name


def _name_parts(people: Iterable[EntityRef]) -> dict[str, EntityRef]:
    """First and last names of full-name people, where they point at one person only."""
    parts: dict[str, set[EntityRef]] = {}
    for ref in people:
        tokens = ref.name.split()
        if len(tokens) > 1:
            for token in (tokens[0], tokens[-1]):
                parts.setdefault(token.casefold(), set()).add(ref)
    return {token: next(iter(refs)) for token, refs in parts.items() if len(refs) == 1}


def _nickname(word: str) -> bool:
    """A plural last word, the short form of a team's name ("Colts", "76ers", "Tar Heels")."""
    # Not "Texas", "Paris", "Bosphorus", "Laos", "Congress": singular names that end in an s.
    return (
        (word[:1].isupper() or word[:1].isdigit())
        and word.endswith("s")
        and not word.lower().endswith(("ss", "us", "is", "as", "os"))
    )


def _context_span(ent, text: str):
    """The recogniser's span, corrected by the words around it.

    * A score or a number after a team's or a person's name is not part of it: "the Millbrook
      Foxes 3-1".
    * A person's name before "administration", "government", "campaign" or "team" names an
      organisation: "the Obama administration".
    * A place followed by an untagged plural nickname is a team: "Indianapolis | Colts"; not
      in a title-case headline, where "Iran Seizes" is a place and a verb.
    """
    from spacy.tokens import Span

    doc, start, end, label = ent.doc, ent.start, ent.end, ent.label_
    if label in ("ORG", "PERSON"):
        while end - start > 1 and (_NUMBER.fullmatch(doc[end - 1].text) or doc[end - 1].is_punct):
            end -= 1
    if label == "PERSON" and end < len(doc) and doc[end].lower_ in _LED_BY:
        return Span(doc, start, end + 1, label="ORG")
    if label == "GPE":
        team_end = end
        while (
            team_end < len(doc) and doc[team_end].ent_iob_ == "O" and _nickname(doc[team_end].text)
        ):
            team_end += 1
        if team_end > end and not _title_case(ent, text):
            return Span(doc, start, team_end, label="ORG")
    return ent if end == ent.end else Span(doc, start, end, label=label)


def _headline_span(ent, common: set[str], text: str):
    """`ent` cut before the first common word if it stands in a title-case headline.

    In "Colts Beat Chiefs" or "Lindsay Lohan Checks Into Rehab" every word is capitalised
    and the recogniser runs the name on into the verb; a word the article writes in lower
    case elsewhere ("beat", "checks") is not part of a name. None: nothing is left.
    """
    from spacy.tokens import Span

    heads = _CONNECTORS | _FACILITIES | _ORG_HEADS
    if len(ent) < 2 or ent[-1].lower_ in heads or not _title_case(ent, text):
        return ent  # "Promises Treatment Center" ends as a name does
    for token in ent:
        if _stem(token.lower_) in common and token.lower_ not in heads:
            end = token.i
            while end > ent.start and ent.doc[end - 1].lower_ in _CONNECTORS:
                end -= 1
            return Span(ent.doc, ent.start, end, label=ent.label_) if end > ent.start else None
    return ent


def _words(doc) -> tuple[list[str], str]:
    """The texts of the tokens and the Doc's text, read from arrays: iterating over a Doc, or
    reading Doc.text, builds a Token object for every token (measured: most of this stage's
    own time)."""
    from spacy.attrs import ORTH, SPACY

    strings = doc.vocab.strings
    table = doc.to_array([ORTH, SPACY]).tolist()
    words = [strings[orth] for orth, _ in table]
    return words, "".join(
        w + " " if space else w for w, (_, space) in zip(words, table, strict=True)
    )


def _stem(word: str) -> str:
    """A word without its inflection, roughly: "checks", "checked" and "checking" -> "check"."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _title_case(ent, text: str) -> bool:
    """Fewer than one in four words of four letters or more on the line of `ent` is in lower
    case: a headline in title case ("Colts Beat Chiefs"), not a sentence full of names."""
    end = text.find("\n", ent.end_char)
    words = _WORD.findall(text[text.rfind("\n", 0, ent.start_char) + 1 : end if end >= 0 else None])
    return bool(words) and sum(w[0].islower() for w in words) * 4 < len(words)


def _names_a_place(ent) -> bool:
    """The words around a name make it a place.

    It modifies a place noun ("a Harry Winston boutique", "the Kraft plant"), or it is a lone
    word tagged an organisation after "in" or "near" ("in Woodburn"): where something happens.
    """
    doc = ent.doc
    after = doc[ent.end] if ent.end < len(doc) else None
    before = doc[ent.start - 1] if ent.start else None
    if (
        before is not None
        and before.lower_ in ("in", "near")
        and ent.label_ == "ORG"
        and len(ent) == 1
        and not ent[0].is_upper
        and ent[0].lower_ not in _ORG_HEADS
    ):
        return True
    possessive = ent[-1].lower_ in ("'s", "’s")  # "Sarah Palin's home" is hers, not a place
    return after is not None and after.is_lower and after.lower_ in _PLACE_NOUNS and not possessive


def _surname_of(name: str, surnames: set[str]) -> bool:
    """A two- or three-word name that ends in a word the article names a person by alone.

    "Bettie Page" tagged an organisation and "Hugh Jackman" a place are people when "Page"
    and "Jackman" alone are tagged as people; a country or a state ("North Carolina") stays.
    """
    words = name.split()
    last = words[-1].casefold() if words else ""
    return (
        1 < len(words) < 4
        and last in surnames
        and last not in _ORG_HEADS
        and all(w[:1].isupper() for w in words)
        and not _known_place(name)
    )


@cache
def _known_place(name: str) -> bool:
    """A country or a country's subdivision (a state, a province, a region) by its name."""
    if country_code(name):
        return True
    try:
        pycountry.subdivisions.lookup(name)
    except LookupError:
        return False
    return True


def _free(token, covered: set[int]) -> bool:
    """Not part of a found mention, and untagged or tagged a person (a lone one is dropped)."""
    return token.i not in covered and (token.ent_iob_ == "O" or token.ent_type_ == "PERSON")


def _repeats(doc, words: list[str], covered: set[int], found: list[tuple]) -> list[tuple]:
    """Mentions the recogniser left untagged: a found person's surname or team's nickname again.

    The small model tags a name where its sentence makes it look like one; "Manning threw"
    after "Peyton Manning" is the same person whether it is tagged or not, and "the Colts
    defense" after "the Indianapolis Colts" the same team.
    """
    forms: dict[str, set[EntityRef]] = {}
    for ref, _, _ in found:
        parts = ref.name.split()
        # A person's surname; a team's plural nickname ("Colts" of "Indianapolis Colts").
        if len(parts) > 1 and (
            ref.kind == "person" or (ref.kind == "organisation" and _nickname(parts[-1]))
        ):
            forms.setdefault(parts[-1], set()).add(ref)
    # A word the article also writes in lower case is a common word ("fire"), not a name.
    for word in words:
        if word.islower():
            forms.pop(word.capitalize(), None)
    out = []
    for i, word in enumerate(words):
        refs = forms.get(word)
        if refs and len(refs) == 1 and i not in covered:
            covered.add(i)
            out.append((next(iter(refs)), doc[i].idx, word))
    return out


@cache
def country_code(name: str) -> str | None:
    """ISO 3166 alpha-2 code for a country name, code or demonym ('Russian' -> 'RU')."""
    key = _SPACE.sub(" ", name.strip().casefold())
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    try:
        return pycountry.countries.lookup(key).alpha_2
    except LookupError:
        return None


def country_name(code: str) -> str:
    """The name newsmon uses for a country code."""
    if code in _COUNTRY_NAMES:
        return _COUNTRY_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or country.name


def entity_id(kind: str, name: str) -> str:
    """A stable id for an entity: its kind and case-folded canonical name."""
    return hashlib.sha256(f"{kind}:{name.casefold()}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class EntityRef:
    """An entity as the extractor names it, before it is matched with stored entities."""

    name: str
    kind: str
    source: str  # 'watchlist' | 'ner'

    @property
    def id(self) -> str:
        return entity_id(self.kind, self.name)


@dataclass
class Mention:
    """All mentions of one entity in one article."""

    entity: EntityRef
    count: int
    first_offset: int
    surfaces: set[str] = field(default_factory=set)
    # (start, end) character offsets of every mention, for stages that work by sentence.
    spans: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class ArticleEntities:
    """What the entity stage found in one article."""

    mentions: list[Mention]
    topics: dict[str, float]  # topic id -> score, only topics that pass their threshold
    developments: list = field(default_factory=list)  # newsmon.developments.Development


def ner_pass(nlp, texts: Iterable[str], batch_size: int, n_process: int = 1) -> Iterator:
    """Docs with tokens, sentence starts and entities, no parse: the recogniser after `senter`.

    Sentence starts come first because the recogniser keeps an entity inside a sentence: behind
    the parser of the full pipeline "18. | September" are two dates, and so they are here.
    """
    split = sentence_splitter(nlp).pipe(
        nlp.tokenizer.pipe(texts, batch_size=batch_size), batch_size=batch_size
    )
    return nlp.pipe(
        split, batch_size=batch_size, disable=ner_pass_excludes(nlp), n_process=n_process
    )


def sentence_splitter(nlp):
    """The model's `senter` (its own small tok2vec; enabled or not), else punctuation rules."""
    if "senter" in nlp.component_names:
        shared = nlp.get_pipe("tok2vec") if "tok2vec" in nlp.component_names else None
        if shared is None or "senter" not in shared.listening_components:
            return nlp.get_pipe("senter")
    from spacy.pipeline import Sentencizer

    return Sentencizer()


def ner_pass_excludes(nlp) -> list[str]:
    """The enabled components the recogniser does not need: all but `ner` and what it listens to.

    In en_core_web_sm the recogniser has its own tok2vec; the shared one only feeds the tagger
    and the parser, so a NER pass leaves it out with them.
    """
    needed = {"ner"}
    if "tok2vec" in nlp.pipe_names and "ner" in nlp.get_pipe("tok2vec").listening_components:
        needed.add("tok2vec")
    return [name for name in nlp.pipe_names if name not in needed]


_MODELS: dict[tuple[tuple[str, ...], tuple[str, ...]], Any] = {}


def load_model(packages: Iterable[str], exclude: Iterable[str] = ()):
    """The first installed spaCy model package of `packages`, loaded once per process.

    Analysers of different watch lists share it: none changes the pipeline it is given (the
    NER-only extractor drops an idle tok2vec, from the copy loaded without the parser, once).
    Process workers forked after flows/preload.py loaded it start with it in memory.
    """
    key = (tuple(packages), tuple(exclude))
    if key in _MODELS:
        return _MODELS[key]
    import spacy  # imported here: loading spaCy costs a second, only the NLP stages need it

    tried = []
    for package in key[0]:
        try:
            nlp = spacy.load(package, exclude=list(key[1]))
        except OSError:
            tried.append(package)
            continue
        _MODELS[key] = use_numpy_gemm(nlp)
        return _MODELS[key]
    raise RuntimeError(f"no spaCy model installed (tried {', '.join(tried)}); see README")


def use_numpy_gemm(nlp):
    """Run the model's matrix products through numpy's OpenBLAS, on one thread, not blis.

    thinc multiplies with blis by default; numpy's OpenBLAS held to one thread does the same
    products in less CPU time on this project's machine, with the same entities and
    developments (bench/bench_pipeline.py prints the NLP stage's CPU per article). One
    thread, because newsmon runs a process per core: OpenBLAS's own threads would compete
    with the other workers (and cost more CPU).
    The limit applies to the whole process, which does no other large matrix work.
    """
    from thinc.api import NumpyOps
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    ops = NumpyOps(use_blis=False)
    for _, component in nlp.components:
        model = getattr(component, "model", None)
        if model is not None:
            model._to_ops(ops)
    return nlp


class EntityExtractor:
    """Finds watch-list entities (one multi-pattern pass, plus fuzzy variants) and new names."""

    def __init__(self, topics: list[Topic], settings: NlpSettings, nlp=None):
        from spacy.matcher import PhraseMatcher

        self.settings = settings
        self.topics = topics
        # NER needs only the tokenizer, senter (sentence starts) and ner: leave the rest out.
        self.nlp = nlp or load_model(
            settings.models, exclude=["parser", "lemmatizer", "attribute_ruler", "tagger"]
        )
        # In en_core_web_sm the recogniser has its own tok2vec; the shared one only feeds
        # the tagger and parser. With those left out it is wasted work (measured: 1.6-2x).
        if (
            nlp is None
            and "tok2vec" in self.nlp.pipe_names
            and not self.nlp.get_pipe("tok2vec").listening_components
        ):
            self.nlp.remove_pipe("tok2vec")
        self.watch: dict[str, EntityRef] = {}  # alias (case-folded) -> entity
        self.topic_entities: dict[str, set[EntityRef]] = {}
        self.watch_countries: dict[str, EntityRef] = {}  # ISO code -> watch-list country
        for topic in topics:
            refs = self.topic_entities.setdefault(topic.id, set())
            for entity in topic.entities:
                ref = _watch_ref(entity)
                refs.add(ref)
                for alias in (entity.name, *entity.aliases):
                    self.watch.setdefault(alias.casefold(), ref)
                if entity.kind == "country":
                    for alias in (entity.name, *entity.aliases):
                        code = country_code(alias)
                        if code:
                            self.watch_countries.setdefault(code, ref)
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        aliases = sorted(self.watch)
        self.matcher.add("WATCH", list(self.nlp.tokenizer.pipe(aliases)))
        self.keywords = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        for topic in topics:
            if topic.keywords:
                self.keywords.add(topic.id, list(self.nlp.tokenizer.pipe(topic.keywords)))
        self._fuzzy: dict[str, list[str]] = {}
        for alias, ref in self.watch.items():
            self._fuzzy.setdefault(ref.kind, []).append(alias)

    def extract(self, texts: Iterable[str | None]) -> Iterator[ArticleEntities]:
        """Entities and topic scores of each text, in order (nlp.pipe in batches)."""
        docs = ner_pass(
            self.nlp,
            ((t or "")[: self.settings.max_chars] for t in texts),
            self.settings.batch_size,
            self.settings.processes,
        )
        for doc in docs:
            yield self.from_doc(doc)

    def from_doc(self, doc) -> ArticleEntities:
        """Entities and topics of a parsed spaCy Doc (from this extractor's model or a fuller one)."""
        return self._article(doc)

    def _article(self, doc) -> ArticleEntities:
        found: list[tuple[EntityRef, int, str]] = []  # (entity, offset, surface)
        covered: set[int] = set()
        for _, start, end in self.matcher(doc):
            span = doc[start:end]
            if covered & set(range(start, end)):
                continue  # overlapping aliases: the longest came first
            covered.update(range(start, end))
            found.append((self.watch[span.text.casefold()], span.start_char, span.text))
        # Resolve full names first, then lone names against them: "Umerov" and "Keir"
        # mean the Rustem Umerov and Keir Starmer of the same article, wherever they stand.
        named = []
        words, text = _words(doc)
        common = {_stem(w) for w in {w for w in words if w.islower()}}
        for ent in (_headline_span(_context_span(e, text), common, text) for e in doc.ents):
            kind = _LABEL_KIND.get(ent.label_) if ent else None
            if kind is None or covered & set(range(ent.start, ent.end)):
                continue
            name = _clean(ent.text)
            if kind in ("organisation", "person") and (_place_name(name) or _names_a_place(ent)):
                kind = "place"  # "Promises Treatment Center", "Betty Ford Center", "Mt Cook"
            named.append((ent, name, kind))
        named = _one_kind_per_name(named)
        surnames = {n.casefold() for _, n, k in named if k == "person" and " " not in n}
        named = [
            (e, n, "person" if k in ("organisation", "place") and _surname_of(n, surnames) else k)
            for e, n, k in named
        ]
        pending = []
        for ent, name, kind in named:
            if name and len(name.split()) == 1 and kind in ("person", "organisation", "place"):
                # Lone words wait until the article's full names are known.
                pending.append((ent, name, kind))
                continue
            ref = self._resolve(name, kind)
            if ref is not None:
                covered.update(range(ent.start, ent.end))
                found.append((ref, ent.start_char, ent.text))
        people = _name_parts(ref for ref, _, _ in found if ref.kind == "person")
        teams = {
            ref.name.split()[-1].casefold(): ref
            for ref, _, _ in found
            if ref.kind == "organisation" and " " in ref.name and _nickname(ref.name.split()[-1])
        }
        # One meaning per article: a lone word that is part of a person's name is that
        # person; a lone surname said twice with no full name is kept as a person.
        lone_counts = Counter(name.casefold() for _, name, kind in pending if kind == "person")
        for ent, name, kind in pending:
            ref = people.get(name.casefold())
            if ref is None and kind in ("person", "organisation"):
                ref = teams.get(name.casefold())  # "Colts": the Indianapolis Colts
            if ref is None and kind == "person":
                ref = self._resolve(name, "person", lone=lone_counts[name.casefold()] < 2)
            elif ref is None:
                ref = self._resolve(name, kind)
            if ref is not None:
                covered.update(range(ent.start, ent.end))
                found.append((ref, ent.start_char, ent.text))
        found += self._plural_names(doc, words, text, covered)
        found += _repeats(doc, words, covered, found)
        mentions: dict[EntityRef, Mention] = {}
        for ref, offset, surface in sorted(found, key=lambda f: f[1]):
            mention = mentions.get(ref)
            if mention is None:
                mention = mentions[ref] = Mention(ref, 0, offset)
            mention.count += 1
            mention.surfaces.add(surface)
            mention.spans.append((offset, offset + len(surface)))
        return ArticleEntities(list(mentions.values()), self._topics(doc, mentions))

    def _plural_names(self, doc, words: list[str], text: str, covered: set[int]) -> list[tuple]:
        """Untagged "the" + capitalised words ending in a plural, mid-sentence: a team, a band.

        "the Colts", "the Tar Heels": a capitalised plural after "the" is a name of a group;
        the small model leaves many untagged, or tags them as a person.
        """
        out = []
        for i in range(1, len(words) - 1):
            after = words[i + 1]
            if (
                not _nickname(words[i])
                or words[i].isupper()
                or after[:1].isupper()  # "the Stiles Unit": a longer name goes on
                or after in ("-", "–")  # "the Champs-Elysées"
                or not _free(doc[i], covered)
            ):
                continue
            start = i
            while start > 1 and _free(doc[start - 1], covered) and doc[start - 1].is_title:
                start -= 1
            span = doc[start : i + 1]
            if doc[start - 1].lower_ != "the" or span[0].is_sent_start or _title_case(span, text):
                continue
            ref = self._resolve(span.text, "organisation")
            if ref is not None:
                covered.update(range(span.start, span.end))
                out.append((ref, span.start_char, span.text))
        return out

    def _resolve(self, name: str | None, kind: str, lone: bool = False) -> EntityRef | None:
        if not name or len(name) < 2 or any(_NUMBER.fullmatch(w) for w in name.split()):
            return None
        if kind == "organisation" and _not_an_organisation(name):
            return None
        if kind in ("place", "country"):
            code = country_code(name)
            if code:
                return self.watch_countries.get(code) or EntityRef(
                    country_name(code), "country", "ner"
                )
            if kind == "country":
                return None  # a NORP that is not a nationality: a party, a religion
        if name.isupper() and len(name) > 5 and kind != "organisation":
            return None
        for candidate_kind in (kind, "country") if kind == "place" else (kind,):
            choices = self._fuzzy.get(candidate_kind)
            if not choices:
                continue
            # Spelling and transliteration variants: Zelenskiy, Medinskiy, Turkiye.
            best = process.extractOne(
                name.casefold(),
                choices,
                scorer=fuzz.ratio,
                score_cutoff=self.settings.fuzzy_threshold,
            )
            if best:
                return self.watch[best[0]]
        if name.isupper() and len(name) > 5 and kind != "organisation":
            # A dateline ("ISTANBUL") or shouting, not a name; organisations are often
            # written in capitals ("SEACOM", "UNICEF").
            return None
        if lone:
            # A lone capitalised word tagged PERSON with no full name beside it is as often
            # a common word ("Turnout", "Law") as a person: discovery keeps full names only.
            return None
        return EntityRef(name, kind, "ner")

    def _topics(self, doc, mentions: dict[EntityRef, Mention]) -> dict[str, float]:
        keyword_hits: dict[str, set[str]] = {}
        for match_id, start, end in self.keywords(doc):
            topic = self.nlp.vocab.strings[match_id]
            keyword_hits.setdefault(topic, set()).add(doc[start:end].text.casefold())
        scores = {}
        for topic in self.topics:
            entities = self.topic_entities.get(topic.id, set()) & mentions.keys()
            score = float(len(entities) + len(keyword_hits.get(topic.id, ())))
            if score >= topic.threshold:
                scores[topic.id] = score
        return scores


# One instance per process and configuration: loading a spaCy model costs seconds.
_INSTANCES: dict[tuple[type, str], object] = {}


def _per_process(cls, topics: list[Topic], settings: NlpSettings):
    key = json.dumps(
        [[t.model_dump(mode="json") for t in topics], settings.model_dump(mode="json")]
    )
    if (cls, key) not in _INSTANCES:
        _INSTANCES[cls, key] = cls(topics, settings)
    return _INSTANCES[cls, key]


def extractor_for(topics: list[Topic], settings: NlpSettings) -> EntityExtractor:
    """The entity extractor (NER-only model) for this configuration, loaded once per process."""
    return _per_process(EntityExtractor, topics, settings)


class TextAnalyser:
    """Entities and developments of articles: NER over each whole text, the parse where it counts.

    One model serves both stages in two passes. The NER pass runs the small `senter` and the
    recogniser (its own tok2vec: no tagger, parser or lemmatizer) over each whole text; the
    development stage then parses only the sentences that could hold a development (a trigger
    word in some form, with its required context), each on its own. On the benchmark's news
    pages that is one sentence in twenty; the parse pipeline costs more per token than NER.
    """

    def __init__(self, topics: list[Topic], settings: NlpSettings, taxonomy: str | None = None):
        from newsmon.developments import DevelopmentExtractor

        self.settings = settings
        self.nlp = load_model(settings.models)  # the full pipeline: developments need the parse
        self.entities = EntityExtractor(topics, settings, nlp=self.nlp)
        self.developments = DevelopmentExtractor(self.nlp, taxonomy, settings=settings)

    def analyse(self, texts: list[str], published: list) -> Iterator[ArticleEntities]:
        """Entities, topics and developments of each text, in order."""
        docs = self.developments.ner_docs(
            (t[: self.settings.max_chars] for t in texts), n_process=self.settings.processes
        )
        size = self.settings.batch_size
        for first in range(0, len(texts), size):
            batch = list(itertools.islice(docs, size))
            found = [self.entities.from_doc(doc) for doc in batch]
            days = published[first : first + size]
            for article, developments in zip(
                found, self.developments.from_ner_docs(batch, found, days), strict=True
            ):
                article.developments = developments
                yield article


def analyser_for(topics: list[Topic], settings: NlpSettings) -> TextAnalyser:
    """The entity + development analyser (full model) for this configuration, once per process."""
    return _per_process(TextAnalyser, topics, settings)


def roles(topics: list[Topic]) -> dict[str, str]:
    """Watch-list entity name -> role, for the entities table."""
    return {e.name: e.role for t in topics for e in t.entities if e.role}


def article_text(title: str | None, text: str | None) -> str:
    """What the entity stage reads: the headline, then the text (offsets count from here)."""
    return "\n".join(part for part in (title, text) if part)


def _watch_ref(entity: WatchEntity) -> EntityRef:
    return EntityRef(entity.name, entity.kind, "watchlist")
