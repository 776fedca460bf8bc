"""Reading one sentence: candidate events, their stance, roles, quantity and date."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from newsmon.config import NlpSettings
from newsmon.developments.grammar import (
    _ADJUNCT_PREPS,
    _EVENT_FRAMES,
    _IDIOM_AFTER_IN,
    _IN_TAKES_PART,
    _NAME_ENTITIES,
    _NP_CORE,
    _OBJECT_PREPS,
    _PERSONAL,
    _PLACE_PREPS,
    _RELATIVE,
    _RESPONSE_VERBS,
    _TARGET_ONLY_PREPS,
    _amount,
    _asserted,
    _clause,
    _complement_path,
    _dateline_end,
    _definite,
    _described,
    _entities_in,
    _entity_tokens,
    _existential,
    _has_context,
    _headed,
    _inside,
    _is_clause,
    _local,
    _modifier_entities,
    _negated,
    _presupposed,
    _reported_future,
    _rest,
    _segments,
    _subject_entities,
    _unique,
    _word_is,
)
from newsmon.developments.numbers import (
    _CURRENCIES,
    _NOT_WHEN,
    _X_FOR_Y,
    _money,
    _number_of,
    _parse_number,
    _parse_number_text,
    _resolve_date,
)
from newsmon.developments.sentence_filter import _SENTENCE_BATCH, _sentence_doc, _SentenceFilter
from newsmon.developments.taxonomy import (
    _STRONG,
    _STRONG_STANCE,
    CUE_KINDS,
    Trigger,
    _Rules,
    _table,
    load_taxonomy,
)
from newsmon.entities import (
    ArticleEntities,
    EntityExtractor,
    EntityRef,
    ner_pass,
    sentence_splitter,
)
from newsmon.errors import ConfigError, NewsmonError

log = logging.getLogger(__name__)


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
        self.accusing = frozenset(self.taxonomy.accusing)
        self.agent_nouns = frozenset(self.taxonomy.agent_nouns)
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
        readings: list[Development] = []
        for cand in kept:
            dev = self._read(doc, seg, cand, refs, published)
            if dev is None:
                continue
            readings.append(dev)
            current = best.get(dev.kind)
            if current is None or dev.confidence > current.confidence:
                best[dev.kind] = dev
        for dev in best.values():
            # "82 killed after Israeli strikes": the other words of the same event name its doer.
            for other in readings:
                if other is not dev and other.kind == dev.kind and other.stance == dev.stance:
                    if not dev.actors and other.actors:
                        dev.actors = [a for a in other.actors if a not in dev.recipients]
                    if not dev.recipients and other.recipients:
                        dev.recipients = [r for r in other.recipients if r not in dev.actors]
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
        trigger = cand.trigger
        if not self._plain_word(cand, seg, refs):
            return False
        if trigger.heads is not None and not _headed(
            eff, trigger.heads, seg, trigger.heads_as_subject
        ):
            return False
        if trigger.agentive and not self._agentive(eff, seg, refs):
            return False
        if (
            trigger.intransitive
            and eff.pos_ == "VERB"
            and (
                any(c.dep_ in ("dobj", "obj", "auxpass") for c in eff.children)
                or (eff.dep_ == "relcl" and any(c.dep_ == "nsubj" for c in eff.children))
            )
        ):
            return False
        if trigger.agentive_complement and eff.pos_ == "VERB":
            for comp in eff.children:
                if (
                    comp.dep_ == "ccomp"
                    and not any(
                        (c.dep_ == "nsubj" and c.lower_ in ("it", "they", "we", "he", "she"))
                        or c.dep_ == "auxpass"  # "weapons could be used": by the one warning
                        for c in comp.children
                    )
                    and not self._agentive(comp, seg, refs)
                ):
                    return False
        requires = trigger.requires if trigger.requires is not None else kind.requires
        excludes = trigger.excludes if trigger.excludes is not None else kind.excludes
        own = _local(eff, seg, keep=("ccomp",))
        clause = _clause(eff, seg)
        if requires:
            # The trigger's own words never count as its context ("rally" needs no rally).
            if _has_context(own, requires, refs, cand, own_span=False):
                context = own
            elif trigger.scope != "phrase" and _has_context(
                clause, requires, refs, cand, own_span=False
            ):
                context, cand.narrow = clause, False
            elif trigger.scope == "sentence" and _has_context(
                list(seg), requires, refs, cand, own_span=False
            ):
                # "captives crossed the border as the swap continued": the sentence's context.
                context, cand.narrow, cand.wide = list(seg), False, True
            else:
                return False
        else:
            context = clause
        if trigger.excludes_scope == "sentence":
            context = list(seg)
        elif trigger.excludes_scope == "clause":
            context = clause
        if excludes and _has_context(context, excludes, refs, cand, own_span=False):
            return False
        cand.scope = context
        return True

    def _plain_word(self, cand: _Candidate, seg, refs) -> bool:
        """Whether the trigger is used as an event word, not in a name, idiom or other sense.

        Not inside a name ("Summit Entertainment", "March"), not a verb with a particle the
        trigger lacks ("struck down the law", "shot up in the polls"), not an idiom of another
        sense ("in exchange for", "in return for", "resigned in protest").
        """
        head = cand.head
        for i in range(cand.start, cand.end):
            tok = head.doc[i]
            if tok.ent_type_ in _NAME_ENTITIES or (i in refs and refs[i].kind != "place"):
                return False
        if head.pos_ == "VERB":
            words = {w for lemma in cand.trigger.lemmas for w in lemma.split()}
            words |= {head.doc[i].lower_ for i in range(cand.start, cand.end)}
            if any(c.dep_ == "prt" and c.lower_ not in words for c in head.children):
                return False
        if (
            head.dep_ == "pobj"
            and head.head.lower_ == "in"
            and not any(c.dep_ in ("det", "poss", "amod", "compound") for c in head.children)
            and head.lemma_.lower() in _IDIOM_AFTER_IN
        ):
            # "in exchange for the wall", "resigned in protest" - but "in exchange for 600
            # prisoners" still names the exchange.
            requires = cand.trigger.requires or cand.rules.kind.requires
            what = [t for c in head.children if c.dep_ == "prep" for t in c.subtree]
            if not (requires and what and _has_context(what, requires, refs, cand)):
                return False
        if (
            head.dep_ == "pobj"
            and head.head.lower_ == "with"
            and head.lemma_.lower() in ("assistance", "help", "support", "aid")
            and any(c.dep_ == "prep" and c.lower_ == "of" for c in head.children)
        ):
            return False  # "with the assistance of the FBI": who helped, not aid
        if head.dep_ == "pobj" and head.head.lower_ == "as" and head.lemma_.lower() == "protest":
            return False  # "a sandwich as a protest against the chain"
        # "was met with applause", "was not consulted on the ad": a reaction, not a meeting.
        return not (
            head.pos_ == "VERB"
            and head.lemma_.lower() in ("meet", "consult")
            and any(c.dep_ == "auxpass" for c in head.children)
        )

    def _agentive(self, eff, seg, refs) -> bool:
        """The event's doer is someone: an entity, a personal pronoun or an agent noun.

        For a verb, its subject (or that of the verb it depends on: "vowed to retaliate",
        "followed up by threatening"); for a noun, its possessor, modifiers or `by` phrase, or
        the subject of the verb it is the object of ("Peru issued an ultimatum").
        """
        if eff.pos_ in ("VERB", "AUX"):
            cur, subjects = eff, []
            for _ in range(4):
                subjects = [c for c in cur.children if c.dep_ in ("nsubj", "agent")]
                if (
                    subjects
                    or cur.dep_ not in ("xcomp", "conj", "pcomp", "prep", "advcl", "acomp")
                    or cur.head.i == cur.i
                    or not _inside(cur.head, seg)
                ):
                    break
                cur = cur.head
            if cur.dep_ == "relcl" and any(c.lower_ in _RELATIVE for c in subjects):
                subjects = [cur.head]  # "Russia, which threatened to ..."
        else:
            subjects = [c for c in eff.children if c.dep_ in ("poss", "compound", "amod", "prep")]
            if eff.dep_ == "dobj" and _inside(eff.head, seg):
                subjects += [c for c in eff.head.children if c.dep_ == "nsubj"]
        for sub in subjects:
            if sub.dep_ == "agent":
                return True  # "threatened with death by the brother of ...": a doer is named
            if sub.dep_ == "prep":
                sub = next((g for g in sub.children if g.dep_ == "pobj"), None)
                if sub is None or sub.head.lower_ != "by":
                    continue  # "the threat from Iran" is a danger, "a threat by Iran" is made
            if sub.i in refs or any(t.i in refs for t in sub.children if t.dep_ in _NP_CORE):
                return True
            if sub.pos_ == "PRON" and sub.lower_ in _PERSONAL:
                return True
            if sub.lemma_.lower() in self.agent_nouns or sub.ent_type_ in ("NORP", "GPE", "ORG"):
                return True
        return False

    # -------------------------------------------------------------------------- one candidate

    def _read(self, doc, seg, cand: _Candidate, refs, published) -> Development | None:
        kind = cand.rules.kind
        chain, context_verb, stop = self._chain(cand.eff, seg, kind.bilateral)
        reading = self._stance(cand, chain, stop, refs)
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

    def _chain(self, eff, seg, kind_bilateral: bool = False) -> tuple[list, Any, str | None]:
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
                if cur is not eff:
                    stop = "description"  # "people waiting for food aid"
                    break
                # "Nearly 100 people killed in ...", "Greeks protesting against ...": the
                # participle is the event itself.
            if (
                cur is eff
                and cur.dep_ == "pobj"
                and head.lower_ in ("of", "into", "about")
                and head.head.pos_ in ("NOUN", "PROPN")
                and _inside(head.head, seg)
                and head.head.lemma_.lower() not in _EVENT_FRAMES
                and not self._cues_any(head.head)
            ):
                # "an investigation into an attack", "the result of a protest", "a review of
                # their detention": a particular event is referred to; an indefinite one is not.
                stop = "setting" if _definite(eff, {}) or _described(eff) else "topic"
                break
            if (
                cur.dep_ == "pobj"
                and head.lower_ in ("since", "until", "till", "before")
                or (
                    cur.dep_ == "pobj"
                    and head.lower_ == "of"
                    and head.head.lemma_.lower() in ("anniversary", "eve", "outbreak")
                )
            ):
                stop = "anchor"  # "since the invasion", "the anniversary of the war": when
                break
            if cur.dep_ == "pobj" and head.dep_ == "prep" and head.lower_ in _ADJUNCT_PREPS:
                # "after the strikes", "after a wave of attacks" (not "during a blockade on aid")
                stop = (
                    "setting"
                    if all(
                        t is eff
                        or (t.pos_ == "ADP" and t.lower_ == "of")
                        or t.lemma_.lower() in _EVENT_FRAMES
                        for t in chain
                    )
                    else None
                )
                break  # "after the strikes", "at the talks": the setting, not the object
            if (
                cur.dep_ == "pobj"
                and head.lower_ == "in"
                and _inside(head.head, seg)
                and head.head.pos_ in ("VERB", "AUX", "NOUN", "PROPN")
                and head.head.lemma_.lower() not in _IN_TAKES_PART
                and not _amount(head.head)  # "1.9 billion euros in military support"
                and not (self._cues_any(head.head) & {"occurrence", "refusal", "denial"})
                and (kind_bilateral or not (self._cues_any(head.head) & set(_STRONG)))
            ):
                stop = "setting" if all(t.pos_ not in ("VERB", "AUX") for t in chain) else None
                break  # "failed to agree in talks", "killed in an attack": the setting
            if (
                cur.dep_ == "pobj"
                and head.lower_ in ("for", "over")
                and _inside(head.head, seg)
                and head.head.lemma_.lower() in _RESPONSE_VERBS
            ):
                stop = "setting"
                break  # "retaliate for the drone strike": the cause, which happened
            if cur.dep_ == "ccomp" and _asserted(cur) and not (self._cues_any(head) & {"denial"}):
                break  # "agreed X, but the talks ended ...": a past clause reports, it is not agreed
            if (
                head.lemma_.lower() in self.reporting
                and head.pos_ in ("VERB", "AUX")
                and cur.dep_ in ("dobj", "nsubjpass")
            ):
                # "announced sanctions", "confirmed the attack": the event is the object.
                chain.append(head)
                cur = head
                continue
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

    def _stance(
        self, cand: _Candidate, chain, stop: str | None, refs
    ) -> tuple[str, int, bool] | None:
        """(stance, chain index of the word that carries it, explicit?) or None to drop."""
        rules, kind = cand.rules, cand.rules.kind
        if stop in ("hypothetical", "topic", "anchor"):
            return None
        strong: list[tuple[int, str, bool]] = []  # (chain index, cue kind, negated)
        hypothetical: list[int] = []
        future: list[int] = []
        readiness: set[int] = set()
        negated_event = _negated(chain[0], rules)
        occurrence_negated = False
        occurrence_at = None
        occurrence_above = False
        generic = False  # "any ceasefire": no particular event
        irrealis = False  # "a possible future ceasefire"
        eff = chain[0]
        if (
            eff.tag_ == "VBG"
            and eff.dep_ in ("csubj", "csubjpass")
            and not any(c.dep_ in ("nsubj", "poss") for c in eff.children)
        ):
            return None  # "attacking the ports would not work": an idea, not an event
        if (
            eff.tag_ == "VBG"
            and eff.dep_ == "pcomp"
            and eff.head.lower_ in ("on", "about", "of", "to", "for", "towards", "toward")
            and not any(c.dep_ in ("nsubj", "poss") for c in eff.children)
            and not any(
                t.lemma_.lower() in self.accusing or self._cues(rules, t) & {"denial", "refusal"}
                for t in chain[1:]
            )
        ):
            return None  # "focus on deporting", "steps towards negotiating": what, not an event
        if any(
            c.dep_ in ("det", "amod") and c.lower_ in ("each", "every", "most", "many", "such")
            for c in eff.children
        ) or any(c.dep_ == "poss" and c.lower_ == "whose" for c in eff.children):
            return None  # "each strike", "most killings": a definition or a rule, not an event
        for c in eff.children:
            if c.dep_ in ("nsubj", "nsubjpass"):
                if c.lower_ in ("none", "nobody", "nothing"):
                    return None  # "None of the devices exploded": no event, and no denial
                if any(d.dep_ == "det" and d.lower_ in ("all", "every") for d in c.children):
                    return None  # "all people arrested ... to be expelled": a rule
        if (
            len(chain) > 2
            and chain[1].lower_ == "of"
            and chain[2].lemma_.lower() in ("kind", "type", "sort", "form", "use", "threat", "risk")
        ):
            return None  # "the kind of assistance", "the use of airstrikes": a type, not an event
        if kind.bilateral and any(c.lower_ == "never" for c in eff.children):
            return None  # "I've never met him": nothing happened, nobody refused
        # "a policy 'to detain and to deport'": a purpose, not an event (unless a stance word
        # says more: "regards any demand to pull its army out as unacceptable").
        purpose = (
            eff.pos_ == "VERB"
            and eff.dep_ in ("advcl", "conj", "acl")
            and len(chain) == 1
            and any(c.tag_ == "TO" for c in eff.children)
        )
        for pos, tok in enumerate(chain):
            if pos > 0 and chain[pos - 1].dep_ == "conj" and tok.pos_ in ("NOUN", "PROPN"):
                continue  # "food, supplies and other aid": a listed noun is no stance of it
            cues = self._cues(rules, tok)
            if (
                "call" in cues
                and tok.lemma_.lower() == "call"
                and (
                    pos == 0
                    or any(
                        c.dep_ in ("oprd", "attr", "acomp")
                        or (c.dep_ == "xcomp" and c.pos_ in ("ADJ", "NOUN", "PROPN"))
                        for c in tok.children
                    )
                )
            ):
                cues.discard("call")  # "calls the bombardment shocking" describes it
                occurrence_above = occurrence_above or pos > 0
            if (
                pos > 0
                and tok.tag_ == "VBG"
                and tok.dep_ == "pcomp"
                and tok.head.lower_ in ("to", "on", "about", "towards", "toward")
                and not any(c.dep_ in ("nsubj", "poss") for c in tok.children)
            ):
                hypothetical.append(pos)  # "committed to carrying out attacks": no particular one
            # Modals, markers and complements attached to the word: "would", "if", "unacceptable".
            for child in tok.children:
                if child.dep_ in ("aux", "auxpass", "mark"):
                    cues |= self._cues(rules, child) & {"future", "hypothetical", "call"}
                    if child.tag_ == "TO" and tok.dep_ == "ROOT":
                        cues.add("future")  # a headline's "Talks to begin": planned
                elif pos == 0 and child.dep_ in ("acl", "amod") and child.tag_ == "VBN":
                    # "a prisoner swap agreed", "the proposed truce", "more protests planned"
                    cues |= self._cues(rules, child) & (set(_STRONG) | {"future"})
                elif child.dep_ == "det":
                    if "hypothetical" in self._cues(rules, child):
                        cues.add("hypothetical")  # "any future meeting"
                        if pos == 0:
                            generic = True
                elif child.dep_ in ("advmod", "amod"):
                    cues |= self._cues(rules, child) & {"hypothetical", "future"}
                elif child.dep_ in ("acomp", "oprd"):
                    cues |= self._cues(rules, child) & {
                        "hypothetical",
                        "refusal",
                        "proposal",
                        "agreement",
                        "readiness",
                    }
                elif child.dep_ == "prep" and child.lower_ == "as":
                    for grand in child.children:  # "regards X as unacceptable"
                        cues |= self._cues(rules, grand) & {"refusal", "agreement"}
            if (
                pos > 0
                and chain[pos - 1].dep_ == "acl"
                and any(c.tag_ == "TO" for c in chain[pos - 1].children)
                and tok.pos_ in ("NOUN", "PROPN")
                and not cues & (set(_STRONG) | {"future", "occurrence"})
            ):
                hypothetical.append(pos)  # "a federal policy to detain every alien"
            if pos == 1 and tok.lemma_ == "be" and chain[0].dep_ == "attr":
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
            if (
                pos > 0
                and chain[pos - 1].dep_ in ("nsubj", "csubj")
                and not any(t.pos_ in ("VERB", "AUX") for t in chain[: pos - 1])
            ):
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
                    if not occurrence_above and not _definite(chain[pos - 1], refs):
                        return None
                    # "The attack was an act of terror", "This week's talks showed ...": a
                    # definite event the sentence talks about has happened.
                    occurrence_at = pos if occurrence_at is None else occurrence_at
                    continue
            if "threat" in cues and pos > 0 and _complement_path(chain, pos):
                return None  # a threatened event belongs to the threat kind
            if pos == 0 and tok.i != cand.head.i:
                cues.discard("agreement")  # the modifier head ("deal") is the event's own noun
            for name in _STRONG:
                if name in cues and not (pos == 0 and name == "call" and tok.pos_ == "NOUN"):
                    strong.append((pos, name, negated))
                    break
            if pos > 0 and (
                "occurrence" in cues or (pos <= 3 and tok.lemma_.lower() in self.accusing)
            ):
                # "reports of strikes", "the launch of the offensive", "condemned the attack"
                occurrence_above = True
            if "occurrence" in cues and occurrence_at is None:
                occurrence_at = pos
                occurrence_negated = negated
        if purpose and not strong:
            return None
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
            if (
                name == "call"
                and not negated
                and any(n == "refusal" and p < pos and not ng for p, n, ng in strong)
            ):
                return None  # "urged Trump to cancel the summit": no stance of ours fits
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
            if any(h <= 1 for h in hypothetical):
                return None  # "should not be deported": an opinion, not a denial
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
        if (
            cand.trigger.needs_cue
            and not (occurrence_at or 0) > 0
            and chain[0].pos_ in ("NOUN", "PROPN")
            and not (presupposed or stop == "setting" or _definite(chain[0], refs))
            and not occurrence_above
        ):
            return None  # "the decision to use foreign aid": a topic, not an event
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
        # An event named by a noun with no stance word: its doer is in its own phrase, or is
        # the subject of a verb that carries it out ("Israel launched strikes") or the one
        # blamed for it ("Ukraine condemns Russia over bus attack") - never whoever reports,
        # condemns or welcomes it.
        bare = (
            stance_token is cand.eff
            and cand.eff.pos_ in ("NOUN", "PROPN")
            and verb is not None
            and verb is not cand.eff
            and not reported
        )
        if stance_token.pos_ in ("NOUN", "PROPN") and not reported:
            # "Russia's offer", "the US proposal", "Ukraine's attack on its airfields"
            actors = _modifier_entities(stance_token, refs, seg, kind.targeted)
        subject_is_event = (
            stance_pos > 0
            and chain[stance_pos - 1].dep_ == "nsubj"
            and all(t.pos_ not in ("VERB", "AUX") for t in chain[: stance_pos - 1])
        )
        if subject_is_event:
            # "Israeli strikes killed 70", "one strike destroyed a tank": the doer is the event's.
            actors = _modifier_entities(cand.eff, refs, seg, kind.targeted)
        elif not actors and bare:
            for tok in chain[1:]:
                if tok.lemma_.lower() in self.accusing:
                    for child in tok.children:
                        if child.dep_ in ("dobj", "nsubjpass") and child not in chain:
                            actors += _entities_in(child, refs, seg, head_only=True)
                    break
        elif not actors and verb is not None:
            actors = _subject_entities(verb, refs, seg)
        if subject_is_event:
            bare = True  # no speaker fallback either
        if not actors and verb is None and kind.bilateral:
            # "agreed on a framework during talks in Geneva": the clause's parties met.
            setting = chain[-1].head
            if setting.dep_ == "prep" and _inside(setting.head, seg) and _is_clause(setting.head):
                actors = _subject_entities(setting.head, refs, seg)
        if not actors and not bare and stance not in ("occurred", "denied"):
            # "Russia says any settlement must recognise ...": the speaker is the actor (of a
            # position; of what happened, the speaker is only the source).
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
        if cand.eff.pos_ == "VERB":
            for child in cand.eff.children:
                if child.dep_ == "nsubjpass":  # "Masra was arrested", "Gaza was struck"
                    recipients += _entities_in(child, refs, seg, head_only=True)
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
