"""Reading one sentence: candidate events, their stance, roles, quantity and date."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from newsmon.config import NlpSettings
from newsmon.developments.details import DetailReading
from newsmon.developments.grammar import (
    _ADJUNCT_PREPS,
    _EVENT_FRAMES,
    _IDIOM_AFTER_IN,
    _IN_TAKES_PART,
    _NAME_ENTITIES,
    _NP_CORE,
    _PERSONAL,
    _RELATIVE,
    _RESPONSE_VERBS,
    _amount,
    _asserted,
    _clause,
    _dateline_end,
    _definite,
    _described,
    _entity_tokens,
    _has_context,
    _headed,
    _inside,
    _is_clause,
    _local,
    _rest,
    _segments,
    _word_is,
)
from newsmon.developments.model import Development, _Candidate, _day
from newsmon.developments.senses import other_sense
from newsmon.developments.sentence_filter import _SENTENCE_BATCH, _sentence_doc, _SentenceFilter
from newsmon.developments.stance import StanceReading
from newsmon.developments.taxonomy import (
    _STRONG,
    CUE_KINDS,
    Trigger,
    _Rules,
    _table,
    load_taxonomy,
)
from newsmon.entities import (
    ArticleEntities,
    EntityExtractor,
    ner_pass,
    sentence_splitter,
)
from newsmon.errors import ConfigError, NewsmonError

log = logging.getLogger(__name__)

# Nouns of looking into something: "opened an investigation into the attack".
_INQUIRIES = frozenset(
    ["investigation", "inquiry", "enquiry", "probe", "review", "examination", "study"]
)


class DevelopmentExtractor(StanceReading, DetailReading):
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
        if not self._plain_word(cand, seg, refs) or other_sense(cand, seg, refs):
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
            if trigger.also_requires and not _has_context(
                context, trigger.also_requires, refs, cand, own_span=False
            ):
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
        occurred_on, scheduled_for = self._date(
            doc, seg, cand, chain, stance_pos, context_verb, published, stance
        )
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
            scheduled_for=scheduled_for,
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
                cur is eff
                and cur.dep_ == "pobj"
                and head.lower_ in ("into", "about")
                and head.head.pos_ == "VERB"
                and any(
                    c.dep_ == "dobj" and c.lemma_.lower() in _INQUIRIES for c in head.head.children
                )
            ):
                # "took over the investigation into the shooting", the parser hanging "into"
                # from the verb: the event is what is looked into, not what the verb does.
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

    def _entities(self, doc) -> ArticleEntities:
        # Without the entity stage's result, discover entities with this model and no watch list.
        if self._fallback_entities is None:
            self._fallback_entities = EntityExtractor([], self.settings, nlp=self.nlp)
        return self._fallback_entities.from_doc(doc)
