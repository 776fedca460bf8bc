"""The particulars of one event: who (actors, recipients), where, how many and when.

A mixin of `DevelopmentExtractor` (reading.py), called once the stance is read.
"""

from __future__ import annotations

import logging
import re
from datetime import date

from newsmon.developments.grammar import (
    _OBJECT_PREPS,
    _PLACE_PREPS,
    _TARGET_ONLY_PREPS,
    _entities_in,
    _inside,
    _is_clause,
    _local,
    _modifier_entities,
    _subject_entities,
    _unique,
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
from newsmon.entities import (
    EntityRef,
)

log = logging.getLogger(__name__)


class DetailReading:
    """Roles, place, quantity and dates of an event from its clause chain."""

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
        subject_is_event = _event_is_subject(chain, stance_pos) or (
            reported and _event_is_subject(chain, chain.index(verb))
        )
        if subject_is_event:
            # "Israeli strikes killed 70", "near Sinjar, one strike destroyed a tank": the doer
            # is the event's, not another word the parser made a subject of its verb.
            actors = _modifier_entities(cand.eff, refs, seg, kind.targeted)
        elif not actors and bare:
            for tok in chain[1:]:
                if tok.lemma_.lower() in self.accusing:
                    for child in tok.children:
                        if child.dep_ in ("dobj", "nsubjpass") and child is not cand.eff:
                            actors += _entities_in(child, refs, seg, head_only=True)
                    break
        elif not actors and verb is not None and _reduced_passive(verb, cand):
            # A headline's "San Diego lineman arrested on suspicion of DUI": the subject of a
            # bare participle is who it happened to; only "by X" did it.
            for child in verb.children:
                if child.dep_ == "agent":
                    for grand in child.children:
                        actors += _entities_in(grand, refs, seg, head_only=True)
                elif child.dep_ == "nsubj":
                    recipients += _entities_in(child, refs, seg, head_only=True)
        elif not actors and verb is not None:
            # "Syria accused Israel of bombarding ...": the one accused did it.
            actors = self._accused(verb, refs, seg) or _subject_entities(verb, refs, seg)
        if not actors and cand.eff.pos_ in ("NOUN", "PROPN"):
            # "the attack, for which Daesh claimed responsibility"
            actors = _claimants(cand.eff, refs, seg)
        if subject_is_event:
            bare = True  # no speaker fallback either
        if not actors and verb is None and kind.bilateral:
            # "agreed on a framework during talks in Geneva", "failed to agree to a ceasefire in
            # their talks", "reported progress in negotiations": the clause's parties met.
            setting = chain[-1].head
            if setting.dep_ == "prep" and _inside(setting.head, seg):
                owner = setting.head
                while (
                    not _is_clause(owner)
                    and owner.dep_ in ("pobj", "prep", "dobj")
                    and _inside(owner.head, seg)
                ):
                    owner = owner.head
                if _is_clause(owner):
                    actors = _subject_entities(owner, refs, seg)
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
            if cand.eff.dep_ == "acl" and cand.eff.tag_ == "VBN" and _inside(cand.eff.head, seg):
                # "Striker Tomas Evandel arrested on suspicion", "villagers killed by shelling"
                recipients += _entities_in(cand.eff.head, refs, seg, head_only=True)
        actors = _unique(actors)
        if kind.bilateral and stance in ("occurred", "agreed"):
            actors = _unique(actors + partners)  # both sides of a meeting or an exchange
        else:
            recipients += partners
        recipients = [r for r in _unique(recipients) if r not in actors]
        return actors, recipients

    def _accused(self, verb, refs, seg) -> list[EntityRef]:
        """Who an accusation names as doing the event: "accused Israel of bombarding", "of
        killing 60 civilians and injuring 200"."""
        while verb.dep_ == "conj" and verb.head.i != verb.i and _inside(verb.head, seg):
            verb = verb.head
        prep = verb.head
        if (
            verb.dep_ != "pcomp"
            or prep.lower_ not in ("of", "for", "over")
            or any(c.dep_ in ("nsubj", "nsubjpass") for c in verb.children)
            or not _inside(prep.head, seg)
        ):
            return []
        accused = prep.head
        if (
            accused.dep_ == "dobj"
            and _inside(accused.head, seg)
            and accused.head.lemma_.lower() in self.accusing
        ):
            # the parser hung "of killing" on the accused: "accused the coalition of killing"
            return _entities_in(accused, refs, seg, head_only=True)
        if accused.lemma_.lower() not in self.accusing:
            return []
        out = []
        for child in prep.head.children:
            if child.dep_ in ("dobj", "nsubjpass"):
                out += _entities_in(child, refs, seg, head_only=True)
        return out

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
                if child.dep_ == "nummod" and not _year_like(child):
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

    def _date(
        self, doc, seg, cand, chain, stance_pos, context_verb, published, stance
    ) -> tuple[date | None, date | None]:
        """(when it happened or was said, when it is to happen).

        The first is the explicit date attached to the event's chain at or above its stance
        word, else the article's date. The second, for an event that has not happened, is a
        date attached to the event below its stance word ("talks on Sunday" under "proposed"),
        or any date after the article's on the chain; it resolves forward from the first
        ("Sunday" in a Friday article is the next Sunday).
        """
        future = any(
            "future" in self._cues(cand.rules, c)
            for t in chain
            for c in t.children
            if c.dep_ in ("aux", "auxpass")
        )
        prospective = stance not in ("occurred", "denied")
        positions = {t.i: pos for pos, t in enumerate(chain)}
        stance_here = chain[stance_pos]
        # A date on the event reads forward only where the sentence schedules it, in the
        # present or future ("talks are due on Sunday", "will meet on Monday"), not "were
        # expected on Thursday", nor "the attack on Sunday will be studied".
        scheduled = any(t.lemma_.lower() in _SCHEDULING for t in chain) and not any(
            t.tag_ == "VBD"
            or any(c.dep_ in ("aux", "auxpass") and c.tag_ == "VBD" for c in t.children)
            for t in chain
            if t.lemma_.lower() not in _REPORTING  # "..., Medinsky said": when it was said
        )
        between = set()  # the words from the trigger up to the stance word: the event's phrase
        for up in cand.head.ancestors:
            if up.i == stance_here.i or up.i in positions and positions[up.i] >= stance_pos:
                break
            between.add(up.i)
        dated = []  # (chain position, entity text, resolved, below the stance word)
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
            while (
                anchor.i not in positions
                and anchor.lemma_.lower() in _TIME_NOUNS
                and anchor.head.i != anchor.i
                and anchor.head.pos_ == "ADP"
            ):
                anchor = anchor.head.head  # "in the spring of 2022": through the period's noun
            pos = positions.get(anchor.i)
            if pos is None and context_verb is not None and anchor.i == context_verb.i:
                pos = len(chain)
            if pos is None and prospective and anchor.i in between:
                pos = 0  # "Sunday's round of talks", "due to hold talks on Sunday": the event's
            below = pos is not None and pos < stance_pos and stance_here is not cand.eff
            resolved = _resolve_date(ent.text, published, future or (below and prospective))
            if (
                not below
                and prospective
                and stance_pos == 0
                and pos is not None
                and pos < len(chain)
                and published is not None
                and scheduled
            ):
                # The event word carries the stance ("talks are due on Sunday", "Sunday's
                # round is expected"): a date that reads as ahead is when it is to happen.
                ahead = _resolve_date(ent.text, published, True)
                if isinstance(ahead, date) and ahead > published:
                    resolved, below = ahead, True
            if resolved is None:
                continue
            dated.append((pos, ent.text, resolved, below))
        best = None
        for pos, _, resolved, below in dated:
            if isinstance(resolved, date) and published and resolved > published:
                continue  # a planned date, not when this was said or done
            if pos is None or below:
                continue  # not on the chain, or when the proposed event would happen
            if best is None or pos < best[0]:
                best = (pos, resolved)
        if best is None:
            days = {
                r
                for _, _, r, _ in dated
                if isinstance(r, date) and not (published and r > published)
            }
            if len(days) == 1 and len(dated) == 1:
                best = (0, next(iter(days)))
        occurred_on = published
        if best is not None:
            occurred_on = {"current": published, "other": None}.get(best[1], best[1])
        return occurred_on, self._schedule(dated, prospective, scheduled, occurred_on, published)

    @staticmethod
    def _schedule(dated, prospective: bool, scheduled: bool, said_on, published) -> date | None:
        """The day a not-yet-happened event is to happen, resolved forward from `said_on`."""
        if not prospective or published is None:
            return None
        base = said_on or published
        found = None
        for pos, text, resolved, below in dated:
            if pos is None or not (below or scheduled):
                continue
            ahead = _resolve_date(text, base, True) if below else resolved
            if not isinstance(ahead, date) or ahead < base or (not below and ahead <= published):
                continue
            if found is None or (not below, pos) < found[0]:
                found = ((not below, pos), ahead)
        return found[1] if found else None


def _reduced_passive(verb, cand) -> bool:
    """The event's own verb as a bare past participle heading a headline, with a subject and
    no auxiliary, object or complement: "Lineman arrested", "Two soldiers killed in raid"."""
    return (
        verb is cand.eff
        and verb.tag_ == "VBN"
        and verb.dep_ in ("ROOT", "ccomp")  # "Police say striker arrested"
        and not cand.rules.kind.bilateral
        and any(c.dep_ == "nsubj" for c in verb.children)
        and not any(
            c.dep_ in ("aux", "auxpass", "dobj", "xcomp", "ccomp", "dative") for c in verb.children
        )
    )


def _event_is_subject(chain, pos: int) -> bool:
    """Whether the event itself (a noun phrase, below chain[pos]) is the subject of chain[pos]."""
    return (
        pos > 0
        and chain[pos - 1].dep_ == "nsubj"
        and all(t.pos_ not in ("VERB", "AUX") for t in chain[: pos - 1])
    )


# Verbs of "claimed responsibility" in a clause describing an event: its doer is their subject.
_CLAIMING = frozenset(["claim", "take", "assume", "admit", "accept"])


def _claimants(event, refs, seg) -> list[EntityRef]:
    """Who claimed an event: "the attack, for which Daesh claimed responsibility"."""
    for clause in event.children:
        if (
            clause.dep_ in ("relcl", "acl")
            and clause.lemma_.lower() in _CLAIMING
            and any(c.lemma_.lower() == "responsibility" for c in clause.children)
        ):
            return _subject_entities(clause, refs, seg, inherit=False)
    return []


def _year_like(tok) -> bool:
    """A year, not a count: "the 1967 killings", "2023 Assault"."""
    return tok.ent_type_ in ("DATE", "TIME", "ORDINAL") or bool(
        re.fullmatch(r"(?:1[89]|20)\d\d", tok.text)
    )


# Nouns of a period that a date can hang from: "in the spring of 2022", "at the end of May".
_TIME_NOUNS = frozenset(
    ["spring", "summer", "autumn", "fall", "winter", "end", "beginning", "start", "middle"]
    + ["half", "quarter", "week", "month", "year", "weekend", "night", "morning", "evening"]
)

# Verbs that put an event on the calendar: a date beside them is when it is to happen.
_SCHEDULING = frozenset(
    ["expect", "due", "plan", "schedule", "set", "slate", "begin", "start", "open", "resume"]
    + ["hold", "meet", "convene", "take", "reconvene", "launch", "sign"]
)
_REPORTING = frozenset(["say", "tell", "announce", "report", "add", "note", "state", "write"])
