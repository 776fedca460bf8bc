"""The stance of one candidate event: occurred, proposed, agreed, rejected, called for, denied.

A mixin of `DevelopmentExtractor` (reading.py): it reads the clause chain `_chain` built.
"""

from __future__ import annotations

import logging

from newsmon.developments.grammar import (
    _complement_path,
    _definite,
    _existential,
    _generic_participle,
    _negated,
    _presupposed,
    _reported_future,
)
from newsmon.developments.model import _Candidate
from newsmon.developments.taxonomy import (
    _STRONG,
    _STRONG_STANCE,
)

log = logging.getLogger(__name__)


class StanceReading:
    """How a sentence holds its event: the cue words up its clause chain, negation, modality."""

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
        occurring: list[int] = []
        negated_event = _negated(chain[0], rules)
        occurrence_negated = False
        occurrence_at = None
        occurrence_above = False
        generic = False  # "any ceasefire": no particular event
        irrealis = False  # "a possible future ceasefire"
        eff = chain[0]
        if _generic_participle(eff):
            return None  # "a list of drug dealers arrested in the state": a class, not an event
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
        if (
            kind.bilateral
            and eff.pos_ in ("NOUN", "PROPN")
            and eff.dep_ == "pobj"
            and eff.head.lower_ in ("to", "for")
            and (
                eff.head.head.lemma_.lower() in _ON_THE_WAY
                or eff.head.head.dep_ == "dobj"  # "sends an aide to the talks"
                and eff.head.head.head.lemma_.lower() in _ON_THE_WAY
            )
        ):
            return None  # "sends an aide to the Istanbul talks": on the way to it, not held
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
                        or (c.dep_ == "prt" and c.lower_ in ("up", "in", "back", "out", "off"))
                        for c in tok.children
                    )
                )
            ):
                # "calls the bombardment shocking" describes it; "called up a witness" phoned
                cues.discard("call")
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
                    if child.tag_ == "TO" and (
                        tok.dep_ == "ROOT" or (tok.dep_ == "xcomp" and tok.head.lemma_ == "be")
                    ):
                        # a headline's "Talks to begin", "Kuroda is to hold meetings": planned
                        cues.add("future")
                elif pos == 0 and child.dep_ in ("acl", "amod") and child.tag_ == "VBN":
                    # "a prisoner swap agreed", "the proposed truce", "more protests planned"
                    cues |= self._cues(rules, child) & (set(_STRONG) | {"future"})
                elif pos == 0 and child.dep_ == "relcl":
                    # "the talks that were supposed to start", "talks which are due to begin"
                    for g in (child, *(g for g in child.children if g.dep_ == "acomp")):
                        cues |= self._cues(rules, g) & {"future"}
                elif child.dep_ == "det":
                    if "hypothetical" in self._cues(rules, child):
                        cues.add("hypothetical")  # "any future meeting"
                        if pos == 0:
                            generic = True
                elif child.dep_ == "npadvmod":
                    cues |= self._cues(rules, child) & {"future"}  # "tomorrow open talks"
                elif child.dep_ in ("advmod", "amod"):
                    cues |= self._cues(rules, child) & {"hypothetical", "future"}
                    if tok.tag_ in ("VB", "VBP", "VBZ") and "when" in (
                        child.lower_,
                        *(g.lower_ for g in child.children if g.dep_ == "advmod"),
                    ):
                        cues.add("hypothetical")  # "when (exactly) the talks start": not yet
                elif child.dep_ in ("acomp", "oprd"):
                    cues |= self._cues(rules, child) & {
                        "future",  # "was due in Ankara for talks", "had been due to begin"
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
            if pos > 0 and "occurrence" in cues:
                occurring.append(pos)  # "begin", "take place" above the event noun
            negated = _negated(tok, rules) if pos > 0 else negated_event
            if (
                pos > 0
                and chain[pos - 1].dep_ in ("nsubj", "csubj")
                and not any(t.pos_ in ("VERB", "AUX") for t in chain[: pos - 1])
            ):
                # The trigger is the verb's active subject: the verb's stance cues are about
                # its object ("the memorandum calls for X"), and a verb that reports nothing
                # about the event makes the sentence about it ("exchanges have been rare").
                if (
                    "agreement" in cues
                    and tok.tag_ in ("VBD", "VBN")
                    and not any(
                        c.dep_ in ("dobj", "xcomp", "attr", "neg")
                        or (c.dep_ == "prep" and c.lower_ in ("to", "on", "upon"))
                        for c in tok.children
                    )
                ):
                    # An event cannot agree: "the exchange agreed in Istanbul could start"
                    # is the parser's misreading of an exchange that was agreed.
                    strong.append((pos, "agreement", False))
                    continue
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
        if stop == "setting" and eff.dep_ == "pobj" and eff.head.lower_ in ("at", "in", "during"):
            # "who will represent Russia at the talks": not held yet ("would retaliate for the
            # strike" keeps its cause, which happened)
            verb = eff.head.head
            if any(
                c.dep_ in ("aux", "auxpass") and self._cues(rules, c) & {"future", "hypothetical"}
                for c in verb.children
            ):
                return None
        if any(p in hypothetical for p in occurring):
            return None  # "the first stage of the exchange could begin": not (yet) begun
        if hypothetical and not (presupposed and 0 not in hypothetical):
            return None
        if future and (not presupposed or any(p in future for p in occurring)):
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


# Verbs of going or sending somewhere: "X to the talks" after them is where someone is
# headed, not a meeting that took place.
_ON_THE_WAY = frozenset(
    ["send", "travel", "head", "arrive", "go", "fly", "come", "dispatch", "due", "leave"]
    + ["depart", "bring", "appoint", "name", "delegate"]
)
