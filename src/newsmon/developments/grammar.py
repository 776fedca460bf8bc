"""Grammar helpers over spaCy's parse: clauses, negation, noun phrases and their entities."""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable, Iterator, Sequence

from newsmon.developments.taxonomy import _ENTITY_REQUIREMENTS, _Rules
from newsmon.entities import (
    ArticleEntities,
    EntityRef,
)

log = logging.getLogger(__name__)


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
# Modifiers of a person's name that make up their title ("Italian Finance Minister X").
_TITLE_DEPS = {"compound", "amod", "nmod", "flat"}
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


# A trigger inside a name of these kinds is part of the name ("Summit Entertainment", "March").
_NAME_ENTITIES = {"ORG", "PERSON", "WORK_OF_ART", "PRODUCT", "DATE", "TIME", "MONEY", "LAW", "FAC"}
# Trigger nouns that, bare after "in", make an idiom of another sense.
_IDIOM_AFTER_IN = {"exchange", "return", "protest", "response", "retaliation"}
_PERSONAL = {"i", "we", "you", "he", "she", "they", "who"}
# Nouns whose "of" phrase is the event itself, in a particular stage or part: climbed through.
_EVENT_FRAMES = {
    "round",
    "wave",
    "series",
    "spate",
    "day",
    "night",
    "week",
    "month",
    "year",
    "hour",
    "start",
    "beginning",
    "end",
    "resumption",
    "launch",
    "outbreak",
    "anniversary",
    "eve",
    "aftermath",
    "part",
    "phase",
    "stage",
    "terms",
    "kind",
    "type",
    "sort",
    "form",
    "use",
    "threat",
    "risk",
    "report",
    "reports",
    "number",
    "scale",
    "total",
    "campaign",
    "package",
    "adoption",
    "set",
    "batch",
    "list",
    "imposition",
    "extension",
    "delivery",
    "entry",
    "shipment",
    "flow",
    "supply",
}
# Modifiers that make an event noun a particular one: "fresh strikes", "the deadly attack".
_SPECIFIC = {
    "new",
    "fresh",
    "latest",
    "recent",
    "overnight",
    "deadly",
    "renewed",
    "continued",
    "continuing",
    "ongoing",
    "heavy",
    "massive",
    "intensified",
    "further",
    "additional",
    "another",
    "weekend",
    "morning",
    "night",
    "fatal",
    "lethal",
    "coordinated",
    "suspected",
    "alleged",
    "apparent",
}
# Words after which "in" names what is taken part in, not the setting: "engaged in talks".
_IN_TAKES_PART = {
    "interest",
    "role",
    "part",
    "participation",
    "involvement",
    "engage",
    "participate",
    "involve",
    "join",
    "interested",
}
# Verbs whose "for" or "over" phrase is a cause that happened: "retaliate for the strike".
_RESPONSE_VERBS = {
    "retaliate",
    "revenge",
    "avenge",
    "punish",
    "apologise",
    "apologize",
    "mourn",
    "protest",
    "sanction",
    "arrest",
    "detain",
    "charge",
    "convict",
    "sentence",
    "praise",
    "thank",
}
_RELATIVE = {"which", "that", "who"}


def _inside(tok, seg) -> bool:
    return seg.start <= tok.i < seg.end


def _word_is(tok, word: str) -> bool:
    return tok.lower_ == word or tok.lemma_.lower() == word


def _word_in(tok, words: Iterable[str]) -> bool:
    return tok.lower_ in words or tok.lemma_.lower() in words


def _headed(tok, heads: Sequence[str], seg, as_subject: bool = False) -> bool:
    """Whether `tok` hangs from one of `heads`, directly, through a preposition ("presented
    with a memorandum") or as the noun a participle describes ("the communiqué issued")."""
    head = tok.head
    if (
        head.i != tok.i
        and _inside(head, seg)
        and (as_subject or tok.dep_ not in ("nsubj", "csubj"))
    ):
        if _word_in(head, heads):
            return True
        if head.dep_ == "prep" and head.lower_ != "in" and _inside(head.head, seg):
            if _word_in(head.head, heads):
                return True
            if (
                head.lower_ == "of"
                and head.head.lemma_.lower() in ("text", "copy", "version", "draft", "content")
                and head.head.head.i != head.head.i
                and _word_in(head.head.head, heads)
            ):
                return True  # "published the full text of Kyiv's memorandum"
    if tok.dep_ in ("ROOT", "nsubj", "nsubjpass", "dobj", "conj", "appos"):
        return any(
            c.dep_ in ("acl", "relcl") and c.tag_ == "VBN" and _word_in(c, heads)
            for c in tok.children
        )
    return False


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
        nxt = child.doc[child.i + 1] if child.i + 1 < len(child.doc) else None
        if nxt is not None and nxt.lower_ in ("only", "just", "merely"):
            continue  # "not only killed dozens": more, not less
        if child.dep_ == "neg":
            return True
        if child.dep_ in ("nsubj", "nsubjpass") and child.lower_ in ("none", "nobody", "nothing"):
            return True  # "None of the devices have exploded"
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
        (c.dep_ == "poss" and c.pos_ != "PRON")
        or (c.dep_ == "det" and c.lower_ in ("the", "this", "that"))
        for c in tok.children
    )


def _definite(tok, refs) -> bool:
    """A particular event: "the talks", "this attack", "Israel's offensive", "Israeli strikes"."""
    for c in tok.children:
        if c.dep_ == "det" and c.lower_ in ("the", "this", "that", "these", "those"):
            return True
        if c.dep_ == "nummod" or (c.dep_ == "poss" and c.pos_ != "PRON"):
            return True
        if c.dep_ in ("compound", "amod", "nmod") and (
            c.i in refs or c.ent_type_ in ("NORP", "GPE", "ORG", "DATE")
        ):
            return True
        if c.dep_ in ("amod", "compound") and c.lower_ in _SPECIFIC:
            return True  # "overnight strikes", "the latest attack", "renewed shelling"
    return False


def _amount(tok) -> bool:
    """A count or sum: "1.9 billion euros", "$2 billion", "300 tonnes"."""
    return tok.ent_type_ in ("MONEY", "CARDINAL", "QUANTITY") or any(
        c.dep_ == "nummod" for c in tok.children
    )


def _described(tok) -> bool:
    """An event noun with a clause describing it: "an attack that killed 13"."""
    return any(c.dep_ in ("relcl", "acl") for c in tok.children)


def _generic_participle(tok) -> bool:
    """A participle that describes a class, not an event: "a binder of drug dealers arrested in
    the state", "calling for all people detained to be expelled" (but "two men arrested",
    "the protesters detained on Sunday", the headline "Protesters arrested after clashes")."""
    if tok.dep_ == "conj" and tok.tag_ == "VBN" and tok.head.i != tok.i:
        return _generic_participle(tok.head)  # "people arrested or detained"
    if tok.dep_ != "acl" or tok.tag_ != "VBN":
        return False
    noun = tok.head
    if noun.tag_ not in ("NNS", "NNPS") or noun.dep_ not in ("pobj", "dobj"):
        return False
    for c in noun.children:
        if c.dep_ in ("nummod", "poss", "quantmod") or c.lower_ in _COUNTED:
            return False
        if c.dep_ in ("det", "predet") and c.lower_ not in ("all", "any", "every"):
            return False
    counter = noun.head.head if noun.head.lower_ == "of" else None
    if counter is not None and (counter.like_num or counter.lemma_.lower() in _COUNTED):
        return False  # "dozens of protesters arrested"
    return not any(t.ent_type_ in ("DATE", "TIME") or t.like_num for t in tok.subtree)


# Words that count a plural noun, making its members particular: "several protesters arrested".
_COUNTED = frozenset(
    ["several", "many", "some", "few", "dozen", "dozens", "hundred", "hundreds", "thousand"]
    + ["thousands", "scores", "number", "most", "both", "other", "these", "those"]
)


def _existential(tok) -> bool:
    """'There was no ceasefire'."""
    return any(c.dep_ == "expl" for c in tok.children)


def _complement_path(chain, pos: int) -> bool:
    """Whether chain[pos-1] is a complement of chain[pos] (what is threatened, not when)."""
    below = chain[pos - 1]
    if below.dep_ in ("xcomp", "ccomp", "dobj", "acl"):
        return True  # "threatened to strike", "an ultimatum to halt attacks"
    if below.dep_ == "prep" and below.lower_ in ("of", "with"):
        return True
    return below.dep_ == "pobj" and below.head.lower_ in ("of", "with") and pos >= 2


def _reported_future(chain, extractor) -> bool:
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
    """Whether any of `words` (lemmas, multi-word, "lemma/noun" or "lemma/verb" for one part
    of speech, or @entity kinds) stands in `tokens`."""
    span = set(range(cand.start, cand.end)) if not own_span else set()
    lemmas = {t.lemma_.lower() for t in tokens if t.i not in span} | {
        t.lower_ for t in tokens if t.i not in span
    }
    text = " " + " ".join(t.lower_ for t in tokens if t.i not in span) + " "
    # The tokenizer splits "hit-and-run" at its hyphens: a hyphenated word is matched joined too.
    joined = text.replace(" - ", "-")
    for word in words:
        if word == "@number":
            if any(t.like_num and t.i not in span for t in tokens):
                return True  # "killed 15", "at least 70 killed"
        elif word in _ENTITY_REQUIREMENTS:
            wanted = word[1:]
            for t in tokens:
                ref = refs.get(t.i)
                if ref is not None and (wanted == "entity" or ref.kind == wanted):
                    return True
        elif word.endswith(("/noun", "/verb")):
            # "storm/noun": the weather, not "stormed a hotel"
            lemma, pos = word.rsplit("/", 1)
            tags = ("NOUN", "PROPN") if pos == "noun" else ("VERB",)
            if any(
                t.i not in span and t.pos_ in tags and lemma in (t.lemma_.lower(), t.lower_)
                for t in tokens
            ):
                return True
        elif " " in word or "-" in word:
            if f" {word} " in text or f" {word} " in joined:
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
        named = (
            [c for c in cur.children if c.dep_ == "appos" and c.i in refs]
            + [
                g  # "a woman named Yvonne Hiller", "a group called Ansar al-Sharia"
                for c in cur.children
                if c.dep_ == "acl" and c.lemma_.lower() in ("name", "call")
                for g in c.children
                if g.dep_ in ("oprd", "attr", "dobj") and g.i in refs
            ]
            if cur.i not in refs and cur.pos_ == "NOUN"
            else []
        )
        if named:
            # "the Senate majority leader, Mitch McConnell": the name, not the title's words
            stack.extend(named)
            stack.extend(c for c in cur.children if c.dep_ == "conj" and not _is_clause(c))
            continue
        person = refs[cur.i] if cur.i in refs and refs[cur.i].kind == "person" else None
        for child in cur.children:
            if person is not None and child.dep_ in _TITLE_DEPS and refs.get(child.i) != person:
                # "British Prime Minister Theresa May", "House Speaker Nancy Pelosi": the words
                # before a person's name are their title, not other parties.
                continue
            if child.dep_ in _NP_CORE or (child.dep_ == "conj" and not _is_clause(child)):
                stack.append(child)
                if child.dep_ == "amod" and child.lemma_.lower() == "lead":
                    # "the US-led coalition": the country that leads it
                    stack.extend(g for g in child.children if g.dep_ in ("npadvmod", "compound"))
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


def _modifier_entities(tok, refs, seg, targeted: bool = False) -> list[EntityRef]:
    """Entities that own a noun: "Russia's offer", "the US proposal", "calls by Kyiv".

    A place named before the noun is where, not who ("the Connecticut shooting"); so is a
    country before a `targeted` event ("the Libya attack"), though not its adjective ("the
    Israeli strikes").
    """
    out = []
    # "Foley's shooting by an off-duty officer": with a doer after "by", the possessor is
    # who it happened to.
    by_agent = any(c.dep_ in ("agent", "prep") and c.lower_ == "by" for c in tok.children)
    for child in tok.children:
        if (
            child.dep_ in ("compound", "nmod")
            and child.i in refs
            and (refs[child.i].kind == "place" or (targeted and child.pos_ == "PROPN"))
        ):
            continue
        if child.dep_ == "poss" and by_agent:
            continue
        if child.dep_ == "poss" or (child.dep_ in ("compound", "amod", "nmod") and child.i in refs):
            out += _entities_in(child, refs, seg)
        elif child.dep_ in ("agent", "prep") and child.lower_ in ("by", "from"):
            for grand in child.children:
                if grand.dep_ == "pobj":
                    out += _entities_in(grand, refs, seg, head_only=True)
        elif child.dep_ == "acl" and child.tag_ == "VBN":
            # "a raid conducted by the U.S. military"
            for agent in child.children:
                if agent.dep_ == "agent":
                    for grand in agent.children:
                        if grand.dep_ == "pobj":
                            out += _entities_in(grand, refs, seg, head_only=True)
    return _unique(out)


# Nouns of a meeting: the place that modifies one ("the Istanbul talks") is its setting.
_GATHERINGS = frozenset(
    ["talk", "talks", "meeting", "summit", "negotiation", "negotiations", "round", "conference"]
)


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
            if child.tag_ in ("WDT", "WP") and verb.dep_ == "relcl":
                pass  # "the attack that killed ...": the antecedent, below; never the speaker
            elif child.pos_ == "PRON" or (
                child.pos_ == "NOUN"
                and any(c.dep_ == "poss" and c.pos_ == "PRON" for c in child.children)
            ):
                pronoun = True  # "it", "they", "its drones"
            found = _entities_in(child, refs, seg, head_only=True)
            if child.lemma_.lower() in _GATHERINGS:
                # "Istanbul talks yield a swap": the place is where they met, not a party
                found = [r for r in found if r.kind != "place"]
            out += found
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
    if (
        verb.dep_ in ("relcl", "acl")
        and head.i in refs
        and refs[head.i].kind != "place"  # "the compound in Benghazi, which killed": misattached
        and not any(c.dep_ in ("auxpass", "nsubjpass") for c in verb.children)
        and verb.tag_ != "VBN"
    ):
        return [refs[head.i]]  # "Russia, which launched ..." (not "Luciano, who was deported")
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
