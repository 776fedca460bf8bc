"""Which sentences could hold a development, judged before any parse; and their Docs."""

from __future__ import annotations

import logging
from typing import Any

from newsmon.developments.grammar import _segments
from newsmon.developments.taxonomy import _ENTITY_REQUIREMENTS, _Rules
from newsmon.entities import (
    EntityRef,
)

log = logging.getLogger(__name__)


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
                if word == "@number":
                    return True  # checked on the parse; a number is cheap to have
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
