"""The entity extractor: watch-list matching and NER discovery, one canonical name per entity."""

from __future__ import annotations

import itertools
import json
import logging
import string
from collections import Counter
from collections.abc import Iterable, Iterator

from rapidfuzz import fuzz, process

from newsmon.config import NlpSettings, Topic, WatchEntity
from newsmon.entities.context import (
    alias_fits,
    body_follows,
    context_span,
    defined_acronyms,
    demonym_like,
    describes_organisation,
    free,
    headline_span,
    honorific_names,
    lower_case_trimmed,
    name_parts,
    named_organisation,
    names_a_place,
    nickname,
    one_kind_per_name,
    person_cue,
    person_of,
    plays_as_team,
    rank_split,
    repeats,
    stem,
    surname_of,
    teams_by_cues,
    title_case,
    title_run_on,
    titled,
    words_of,
)
from newsmon.entities.layout import Layout
from newsmon.entities.merge import first_words, merge_short_forms, one_kind_per_batch
from newsmon.entities.model import ArticleEntities, EntityRef, Mention, load_model, ner_pass
from newsmon.entities.names import (
    ARMED_GROUPS,
    COMPANY_WORDS,
    CONNECTORS,
    COUNTRY_BODIES,
    NUMBER,
    ORG_HEADS,
    SPATIAL_PREPOSITIONS,
    armed_group,
    clean,
    common_word,
    country_body,
    country_code,
    country_name,
    event_name,
    fold,
    known_place,
    not_an_organisation,
    person_like,
    place_name,
    region,
    state_of,
    without_legal_form,
)

log = logging.getLogger(__name__)

# spaCy labels kept for discovery; NORP ("Russian") only counts when it names a country.
LABEL_KIND = {
    "PERSON": "person",
    "ORG": "organisation",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "NORP": "country",
}


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
        known_place("")  # loads the place gazetteer once, before worker processes fork
        path = getattr(self.nlp, "path", None)
        self._model_path = str(path) if path else None  # its lemmatizer tables: common words
        self.watch: dict[str, EntityRef] = {}  # alias (case-folded) -> entity
        self.alias_forms: dict[str, list[str]] = {}  # alias (case-folded) -> as written
        self.name_words: dict[EntityRef, frozenset[str]] = {}  # words of an entity's names
        self.topic_entities: dict[str, set[EntityRef]] = {}
        self.watch_countries: dict[str, EntityRef] = {}  # ISO code -> watch-list country
        for topic in topics:
            refs = self.topic_entities.setdefault(topic.id, set())
            for entity in topic.entities:
                ref = _watch_ref(entity)
                refs.add(ref)
                for alias in (entity.name, *entity.aliases):
                    self.watch.setdefault(alias.casefold(), ref)
                    self.alias_forms.setdefault(alias.casefold(), []).append(alias)
                self.name_words[ref] = frozenset(
                    fold(w) for alias in (entity.name, *entity.aliases) for w in alias.split()
                )
                if entity.kind == "country":
                    for alias in (entity.name, *entity.aliases):
                        code = country_code(alias)
                        if code:
                            self.watch_countries.setdefault(code, ref)
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        aliases = sorted(self.watch)
        patterns = list(self.nlp.tokenizer.pipe(aliases))
        self.matcher.add("WATCH", patterns)
        # The matcher compares tokens, not text: "U.S." alone is two tokens and so also
        # matches "U.S ." in running text. A match finds its alias by its tokens.
        self._alias_of: dict[tuple[str, ...], str] = {}
        for alias, pattern in zip(aliases, patterns, strict=True):
            self._alias_of.setdefault(tuple(t.lower_ for t in pattern), alias)
        self.keywords = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        for topic in topics:
            if topic.keywords:
                self.keywords.add(topic.id, list(self.nlp.tokenizer.pipe(topic.keywords)))
        # Armed groups by name, tagged or not ("ISIL" as a number, a product or nothing).
        self.groups = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self.groups.add("GROUP", list(self.nlp.tokenizer.pipe(sorted(ARMED_GROUPS))))
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
        while batch := list(itertools.islice(docs, self.settings.batch_size)):
            found = [self.from_doc(doc) for doc in batch]
            one_kind_per_batch(found)
            yield from found

    def from_doc(self, doc) -> ArticleEntities:
        """Entities and topics of a parsed spaCy Doc (from this extractor's model or a fuller one)."""
        return self._article(doc)

    def _article(self, doc) -> ArticleEntities:
        covered: set[int] = set()  # tokens already part of a mention
        found = self._watch_mentions(doc, covered)  # (entity, offset, surface)
        # Resolve full names first, then lone names against them: "Umerov" and "Keir"
        # mean the Rustem Umerov and Keir Starmer of the same article, wherever they stand.
        named = []
        words, text = words_of(doc)
        layout = Layout.of(text)
        found += self._datelines(doc, layout, covered)
        common = {stem(w) for w in {w for w in words if w.islower()}}
        cued: Counter = Counter()  # place names the words around cue as a sports team
        spans = itertools.chain(
            (
                r
                for e in doc.ents
                for p in layout.pieces(e)
                for s in title_run_on(p)
                for r in rank_split(s)
            ),
            honorific_names(doc, words, covered),
        )
        for piece in spans:
            ent = headline_span(context_span(piece, text), common, text)
            kind = LABEL_KIND.get(ent.label_) if ent else None
            if kind is None or covered & set(range(ent.start, ent.end)):
                continue
            if layout.in_headline(ent.start_char, ent.end_char):
                ent, kind = self._confirmed(ent, kind, layout)
                if ent is None or covered & set(range(ent.start, ent.end)):
                    continue
            ent = lower_case_trimmed(ent)
            if ent is None or self._common_word_alone(ent, layout):
                continue
            if len(ent) > 1 and ent[0].is_title and ent[0].lower_ in SPATIAL_PREPOSITIONS:
                # "Near Palmyra, two strikes...": the sentence's first word, and a place.
                from spacy.tokens import Span

                ent, kind = Span(doc, ent.start + 1, ent.end, label=ent.label_), "place"
            name = clean(ent.text, titles=kind != "organisation")
            state = state_of(ent.text) if _after_town(ent) else None
            if (
                kind in ("country", "place")
                and country_code(name)
                and (describes_organisation(doc, ent.end))
            ):
                continue  # "the French export credit agency" is not France
            if state:
                name, kind = state, "place"  # "Tuscaloosa, Ala.": the state of Alabama
            elif armed_group(name):
                kind = "organisation"  # "Daesh", "ISIL" tagged as places or nationalities
            elif kind in ("place", "person") and event_name(name):
                kind = "organisation"  # "Manama Dialogue", "G-20 Interfaith Conference"
            elif kind in ("organisation", "person") and (place_name(name) or names_a_place(ent)):
                kind = "place"  # "Promises Treatment Center", "Betty Ford Center", "Mt Cook"
            elif kind == "place" and named_organisation(ent) and not country_code(name):
                kind = "organisation"  # "the German company Züblin"
            elif (
                kind == "country"
                and not name.isupper()
                and not country_code(name)
                and not demonym_like(name)
                and known_place(name)
            ):
                kind = "place"  # "Aleppo" tagged as a nationality
            elif kind == "country" and name.isupper() and not country_code(name):
                kind = "organisation"  # "ISIL" tagged as a nationality: a group's acronym
            elif kind == "person" and " " in name and known_place(name):
                kind = "place"  # "Tal Afar", "Ayn Isa": two words the gazetteer knows
            elif kind == "person" and " " in name and name.split()[-1].casefold() in ORG_HEADS:
                kind = "organisation"  # "Mahdi Army", "Labour Party"
            elif kind == "person" and " " in name and name.split()[-1].casefold() in COMPANY_WORDS:
                kind = "organisation"  # "Paine Webber International"
            elif kind == "organisation" and person_like(name):
                kind = "person"  # "Britney Spears" (census given and family names)
            if kind == "place" and not country_code(name) and plays_as_team(ent):
                cued[fold(name)] += 1
            named.append((ent, name, kind))
        named += self._armed_groups(doc, named, covered)
        named = teams_by_cues(one_kind_per_name(named), cued)
        surnames = {n.casefold() for _, n, k in named if k == "person" and " " not in n}
        named = [
            (e, n, "person" if k in ("organisation", "place") and surname_of(n, surnames) else k)
            for e, n, k in named
        ]
        # A "person" holding a comma is a list of people ("Timberlake, Diaz reportedly...").
        named = [
            (p, clean(p.text), k) if k == "person" and "," in n else (e, n, k)
            for e, n, k in named
            for p in (layout.pieces(e, person=True) if k == "person" and "," in n else [e])
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
        people = name_parts((ref, offset) for ref, offset, _ in found if ref.kind == "person")
        teams = {
            ref.name.split()[-1].casefold(): ref
            for ref, _, _ in found
            if ref.kind == "organisation" and " " in ref.name and nickname(ref.name.split()[-1])
        }
        heads = first_words(ref for ref, _, _ in found)
        # One meaning per article: a lone word that is part of a person's name is that
        # person; a lone surname said twice with no full name is kept as a person.
        lone_counts = Counter(name.casefold() for _, name, kind in pending if kind == "person")
        for ent, name, kind in pending:
            ref = person_of(people, name, ent.start_char)
            if ref is None and kind in ("person", "organisation"):
                ref = teams.get(name.casefold())  # "Colts": the Indianapolis Colts
            if ref is None:
                ref = heads.get(name.casefold())  # "Heathrow": Heathrow Airport
            if ref is None and kind == "person":
                lone = lone_counts[name.casefold()] < 2 and not person_cue(ent)
                ref = self._resolve(name, "person", lone=lone)
            elif ref is None:
                ref = self._resolve(name, kind)
            if ref is not None:
                covered.update(range(ent.start, ent.end))
                found.append((ref, ent.start_char, ent.text))
        found += self._plural_names(doc, words, text, covered)
        found += repeats(doc, words, covered, found)
        found += defined_acronyms(doc, words, covered, found)
        found, joined = merge_short_forms(found)
        mentions: dict[EntityRef, Mention] = {}
        for ref, offset, surface in sorted(found, key=lambda f: f[1]):
            mention = mentions.get(ref)
            if mention is None:
                mention = mentions[ref] = Mention(ref, 0, offset, joined=joined.get(ref, {}))
            mention.count += 1
            mention.surfaces.add(surface)
            mention.spans.append((offset, offset + len(surface)))
        return ArticleEntities(list(mentions.values()), self._topics(doc, mentions))

    def _watch_mentions(self, doc, covered: set[int]) -> list[tuple]:
        """Watch-list aliases where they stand in the form that marks the name (`alias_fits`);
        a country's alias before "military" or "government" is that body, an organisation."""
        found = []
        ents = {i: ent for ent in doc.ents for i in range(ent.start, ent.end)}
        for _, start, end in self.matcher(doc):
            span = doc[start:end]
            if covered & set(range(start, end)):
                continue  # overlapping aliases: the longest came first
            alias = self._alias_of[tuple(t.lower_ for t in span)]
            ref = self.watch[alias]
            forms = self.alias_forms[alias]
            if not alias_fits(span, forms, ents.get(start), ref.kind, self.name_words[ref]):
                if ref.kind == "country" and body_follows(doc, end):
                    # "US military control": the armed forces, whether tagged or not.
                    size = 2 if doc[end : end + 2].text.casefold() in COUNTRY_BODIES else 1
                    body = doc[start : end + size]
                    body_ref = self._resolve(body.text, "organisation")
                    if body_ref is not None:
                        covered.update(range(body.start, body.end))
                        found.append((body_ref, body.start_char, body.text))
                continue
            covered.update(range(start, end))
            if ref.kind == "country" and describes_organisation(doc, end):
                continue  # "the American export credit agency": not the country itself
            found.append((ref, span.start_char, span.text))
        return found

    def _armed_groups(self, doc, named: list[tuple], covered: set[int]) -> list[tuple]:
        """(span, name, "organisation") of the armed groups the recogniser left out: the small
        model tags "ISIL" as a number, a product or nothing, sentence by sentence. Capitalised
        as a name is ("Taliban", not "taliban"), outside the names already found."""
        taken = set(covered).union(*(range(e.start, e.end) for e, _, _ in named))
        out = []
        for _, start, end in self.groups(doc):
            span = doc[start:end]
            if taken & set(range(start, end)) or not span[0].text[:1].isupper():
                continue
            taken.update(range(start, end))
            out.append((span, clean(span.text), "organisation"))
        return out

    def _datelines(self, doc, layout: Layout, covered: set[int]) -> list[tuple]:
        """The places of the article's datelines ("BAGHDAD, Iraq - ", "MIAMI - "): a known
        place or country in capitals at the start of a line, before a dash. A region that is
        a country, a state or a state's abbreviation ("TUSCALOOSA, Ala.": Alabama) vouches for
        the town before it, known to the gazetteer or not ("BUCKHANNON, W. Va.")."""
        out = []
        for dateline in layout.datelines:
            state = None
            if dateline.region:
                surface = layout.text[slice(*dateline.region)]
                state = state_of(surface) or (_title(surface) if region(_title(surface)) else None)
            for start, end in filter(None, (dateline.place, dateline.region)):
                surface = layout.text[start:end]
                name = state if (start, end) == dateline.region else _title(surface)
                span = doc.char_span(start, end, alignment_mode="expand")
                if not name or span is None or covered & set(range(span.start, span.end)):
                    continue  # "TUSCALOOSA, Ala" with no dot: "Ala" is a town elsewhere
                if not (state or known_place(name) or name.casefold() in self.watch):
                    continue
                ref = self._resolve(name, "place")
                if ref is not None:
                    covered.update(range(span.start, span.end))
                    out.append((ref, start, surface))
        return out

    def _common_word_alone(self, ent, layout: Layout) -> bool:
        """A lone capitalised word opening a sentence that is a common English word and that
        the article does not capitalise elsewhere: "Decorated", "Chemical", "Federally"."""
        token = ent[0]
        return (
            len(ent) == 1
            and (token.is_sent_start or token.i == 0 or token.nbor(-1).is_quote
                 or "\n" in token.nbor(-1).text)
            and token.is_title
            and common_word(token.text, self._model_path)
            and not layout.in_running_text(token.text)
            and token.lower_ not in self.watch
            and not known_place(token.text)  # "Russian negotiators", "Chad said"
        )  # fmt: skip

    def _any_common(self, words: list[str]) -> bool:
        return any(common_word(w, self._model_path) for w in words)

    def _confirmed(self, ent, kind: str, layout: Layout) -> tuple:
        """(span, kind) of the part of a headline's name that the article confirms, or
        (None, None).

        Capitals in a title-case or all-capitals line mark every word, so a name found there
        counts only when the running text writes it too (a person: the full name or the
        surname), it is a person's full name with no common English word in it, the watch list
        has it, or it is a known place; else its longest part that names a country ("Latvia
        Advises" -> Latvia), or nothing ("Begin Amid Doubt", "Ukrainian Man").
        """
        name = clean(ent.text)
        words = name.split()
        if (
            layout.in_running_text(name)
            or (kind == "person" and len(words) > 1 and layout.in_running_text(words[-1]))
            # "Walter Frankenstein, Who Hid...": a person's name of no common word.
            or (kind == "person" and len(words) > 1 and not self._any_common(words))
            # "President Hollande": a title before a name of no common word ("Minister Begins").
            or (
                kind == "person" and len(words) == 1 and titled(ent) and not self._any_common(words)
            )
            or name.casefold() in self.watch
            or (kind == "place" and known_place(name))
        ):
            return ent, kind
        doc = ent.doc
        for size in range(len(ent), 0, -1):
            for start in range(ent.start, ent.end - size + 1):
                part = doc[start : start + size]
                if part[0].is_punct or part[-1].is_punct or part[0].lower_ in CONNECTORS:
                    continue
                if country_code(clean(part.text)):
                    return part, "place"
        return None, None

    def _plural_names(self, doc, words: list[str], text: str, covered: set[int]) -> list[tuple]:
        """Untagged "the" + capitalised words ending in a plural, mid-sentence: a team, a band.

        "the Colts", "the Tar Heels": a capitalised plural after "the" is a name of a group;
        the small model leaves many untagged, or tags them as a person.
        """
        out = []
        for i in range(1, len(words) - 1):
            after = words[i + 1]
            if (
                not nickname(words[i])
                or words[i].isupper()
                or after[:1].isupper()  # "the Stiles Unit": a longer name goes on
                or after in ("-", "–")  # "the Champs-Elysées"
                or not free(doc[i], covered)
            ):
                continue
            start = i
            while start > 1 and free(doc[start - 1], covered) and doc[start - 1].is_title:
                start -= 1
            span = doc[start : i + 1]
            if doc[start - 1].lower_ != "the" or span[0].is_sent_start or title_case(span, text):
                continue
            ref = self._resolve(span.text, "organisation")
            if ref is not None:
                covered.update(range(span.start, span.end))
                out.append((ref, span.start_char, span.text))
        return out

    def _resolve(self, name: str | None, kind: str, lone: bool = False) -> EntityRef | None:
        if not name or len(name) < 2 or any(NUMBER.fullmatch(w) for w in name.split()):
            return None
        if kind == "organisation":
            if not_an_organisation(name):
                return None
            name = without_legal_form(name)  # "Home Depot Inc." is Home Depot
            body = country_body(name)
            if body:
                return EntityRef(body, "organisation", "ner")
        if kind in ("place", "country", "organisation"):
            # A country's name is the country, whatever the recogniser said ("UAE", "DRC" and
            # "Iraq" tagged as organisations).
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


def roles(topics: list[Topic]) -> dict[str, str]:
    """Watch-list entity name -> role, for the entities table."""
    return {e.name: e.role for t in topics for e in t.entities if e.role}


def article_text(title: str | None, text: str | None) -> str:
    """What the entity stage reads: the headline, then the text (offsets count from here)."""
    return "\n".join(part for part in (title, text) if part)


def _after_town(ent) -> bool:
    """`ent` follows a capitalised name and a comma: "Tuscaloosa, | Ala."."""
    doc = ent.doc
    return ent.start > 1 and doc[ent.start - 1].text == "," and doc[ent.start - 2].is_title


def _title(surface: str) -> str:
    """A dateline's word in capitals as a name: "WEST PALM BEACH" -> "West Palm Beach"."""
    name = string.capwords(surface.rstrip("."), " ")
    return "-".join(w[:1].upper() + w[1:] for w in name.split("-"))


def _watch_ref(entity: WatchEntity) -> EntityRef:
    return EntityRef(entity.name, entity.kind, "watchlist")
