"""Other senses of event words: when a trigger that passed its context still names no development.

Rules found on audits of the stage's output on real news (issue 22), each for a class of false
developments that recurs across sources rather than for one sentence:

* a mishap, not an attack: a killing or shooting the sentence puts down to an accident, a
  crash, a hit-and-run or a disaster ("shot and killed in a hunting accident");
* a suicide: "killed himself", "shot herself";
* a figure of speech: a violent verb whose `with` phrase names no weapon ("bombarded him with
  questions", "ambushed the majority with procedural motions");
* an offence named in a charge: an event noun without a definite determiner in the phrase of
  a charge, count or conviction ("a conviction for assault"), or what one is charged with
  inciting ("arrested on charges of inciting a riot");
* a private meeting: a meeting or negotiation whose other party is a family, staff, fans, an
  agent or a company ("met with the victim's family", "negotiating with textile companies");
* a sports round: "round" of a contest (an ordinal round nobody talks in, "made the rounds")
  is no round of talks unless talks are named in the sentence or in the round's own phrase;
* aid that is only a target: an aid convoy or shipment attacked ("the attack on an aid
  convoy") is news of the attack; the aid is not what was reported;
* political ammunition: "give ammunition to Democrats", "handed critics ammunition".

`other_sense` is asked by the reader for each candidate after its trigger's own context rules.
"""

from __future__ import annotations

from newsmon.developments.grammar import _inside, _is_clause

# ASSAULT: the sentence puts the death or injury down to a mishap.
_MISHAPS = frozenset(
    {
        "accident",
        "crash",
        "collision",
        "collide",
        "hit-and-run",
        "avalanche",
        "earthquake",
        "quake",
        "landslide",
        "drown",
        "overdose",
    }
)

# ASSAULT: what a violent verb's `with` phrase may name when the verb is meant literally.
_WEAPONS = frozenset(
    {
        "weapon",
        "gun",
        "firearm",
        "rifle",
        "pistol",
        "handgun",
        "shotgun",
        "bullet",
        "gunfire",
        "fire",
        "knife",
        "machete",
        "axe",
        "sword",
        "bat",
        "club",
        "hammer",
        "stick",
        "rod",
        "pipe",
        "stone",
        "rock",
        "brick",
        "bottle",
        "acid",
        "gas",
        "bomb",
        "explosive",
        "grenade",
        "missile",
        "rocket",
        "drone",
        "shell",
        "artillery",
        "mortar",
        "tank",
        "jet",
        "aircraft",
        "helicopter",
        "warplane",
        "airstrike",
        "strike",
        "munition",
        "ammunition",
        "car",
        "vehicle",
        "truck",
        "lorry",
        "van",
        "device",
        "force",
        "troop",
        "soldier",
        "fighter",
        "militant",
        "gunman",
        "gunmen",
        "man",
        "men",
        "unit",
    }
)
_VIOLENT_VERBS = frozenset(
    {"attack", "assault", "ambush", "bombard", "bomb", "shell", "pound", "pummel", "hit", "strike"}
)

# Any kind: nouns whose `of`/`for` phrase names an offence, not an event ("charges of rioting").
_CHARGES = frozenset(
    {"charge", "count", "conviction", "indictment", "accusation", "suspicion", "allegation"}
)

_INCITE = frozenset({"incite", "instigate", "provoke"})

# CONSULT: parties a meeting or negotiation with is private or business, not diplomacy.
_PRIVATE_PARTIES = frozenset(
    {
        "family",
        "families",
        "relative",
        "parent",
        "wife",
        "husband",
        "widow",
        "friend",
        "fan",
        "employee",
        "staff",
        "worker",
        "student",
        "pupil",
        "customer",
        "client",
        "agent",
        "owner",
        "investor",
        "shareholder",
        "donor",
        "supporter",
        "volunteer",
        "company",
        "companies",
        "firm",
        "producer",
        "manufacturer",
        "retailer",
        "supplier",
        "studio",
        "distributor",
        "lender",
        "creditor",
    }
)
# "round" is a round of talks only with words of talks in the sentence or the round's phrase.
_TALKS_WORDS = frozenset(
    {
        "talk",
        "talks",
        "negotiation",
        "negotiator",
        "negotiate",
        "consultation",
        "discussion",
        "diplomacy",
        "diplomat",
        "diplomatic",
        "delegation",
        "envoy",
        "ceasefire",
        "truce",
        "peace",
        "summit",
        "meeting",
        "dialogue",
        "mediator",
        "mediation",
    }
)


# AID: a vehicle or load of aid that an attack hits, and the attack words that hit it.
_AID_CARRIERS = frozenset(
    {"convoy", "lorry", "truck", "shipment", "delivery", "flight", "ship", "warehouse", "worker"}
)
_HIT = frozenset(
    {
        "attack",
        "strike",
        "raid",
        "ambush",
        "bombing",
        "shelling",
        "assault",
        "hit",
        "target",
        "fire",
    }
)
# AID: who "ammunition" given or handed is for when it is an argument, not arms.
_ARGUED_WITH = frozenset(
    {
        "critic",
        "opponent",
        "detractor",
        "skeptic",
        "sceptic",
        "rival",
        "democrat",
        "republican",
        "tory",
        "conservative",
        "liberal",
        "campaigner",
        "foe",
        "opposition",
        "prosecutor",
        "lawyer",
    }
)


def other_sense(cand, seg, refs) -> str | None:
    """Why the candidate's trigger names no development here, or None when it may."""
    category = cand.rules.kind.plover.category
    eff = cand.eff if cand.eff is not None else cand.head
    head = cand.head
    if head.pos_ in ("NOUN", "PROPN") and _charged_offence(head, seg):
        return "offence"
    if category == "ASSAULT":
        if _mishap(eff, seg):
            return "mishap"
        if _figurative(head):
            return "figure of speech"
        if _lemma(eff) in ("kill", "shoot") and any(
            c.dep_ == "dobj" and c.lower_ in ("himself", "herself", "themselves", "myself")
            for c in eff.children
        ):
            return "suicide"  # "killed himself" (a suicide bomber's victims are another clause)
    if category == "AID":
        if _aid_hit(head, seg):
            return "aid attacked"
        if _argument_ammunition(eff):
            return "figure of speech"
    if category == "CONSULT":
        if head.lemma_.lower() == "round" and not _talks_round(head, seg):
            return "sports round"
        if _private_party(eff, seg, refs):
            return "private meeting"
    return None


def _lemma(tok) -> str:
    return tok.lemma_.lower()


def _charged_offence(noun, seg) -> bool:
    """ "on charges of inciting a riot", "a conviction for assault": the offence, not an event.

    Only without a definite determiner or possessor: "charged over the shootings of ..."
    names the event that happened.
    """
    if any(
        c.dep_ in ("poss",) or c.lower_ in ("the", "this", "that", "these", "those")
        for c in noun.children
    ):
        return False
    if noun.dep_ == "dobj" and _lemma(noun.head) in _INCITE and noun.head.tag_ == "VBG":
        return True  # "(charged with) inciting a riot", "instigating violence"
    cur = noun
    for _ in range(5):
        if cur.head.i == cur.i or not _inside(cur.head, seg):
            return False
        parent = cur.head
        if cur.dep_ == "conj":  # "charges of larceny and assault"
            cur = parent
            continue
        if cur.dep_ not in ("pobj", "pcomp") or parent.lower_ not in ("of", "for", "with"):
            return False  # "charged with murder in the shootings": the event's own phrase
        holder = parent.head
        if _lemma(holder) in _CHARGES:
            return True
        if holder.pos_ in ("NOUN", "PROPN") and holder.dep_ == "conj":
            cur = holder  # "charges of larceny, possession of stolen property and ..."
            continue
        return False
    return False


def _mishap(eff, seg) -> bool:
    """The clause of the event, with its coordinated verbs ("shot and killed in a hunting
    accident"), or a headline, puts the harm down to a mishap: an accident, a crash, a
    hit-and-run, a disaster."""
    root = eff
    while not _is_clause(root) and root.head.i != root.i and _inside(root.head, seg):
        root = root.head
    tokens = list(seg) if len(seg) <= 12 else [t for t in root.subtree if _inside(t, seg)]
    text = " " + " ".join(t.lower_ for t in tokens) + " "
    if " hit - and - run " in text or " hit-and-run " in text:
        return True
    return any(
        t.pos_ in ("NOUN", "PROPN", "VERB") and (_lemma(t) in _MISHAPS or t.lower_ in _MISHAPS)
        for t in tokens
    )


def _figurative(head) -> bool:
    """A violent verb with a `with` phrase that names no weapon: "bombarded them with calls"."""
    if head.pos_ != "VERB" or _lemma(head) not in _VIOLENT_VERBS:
        return False
    for prep in head.children:
        if prep.dep_ == "prep" and prep.lower_ == "with":
            for obj in prep.children:
                if obj.dep_ != "pobj":
                    continue
                words = {_lemma(obj), obj.lower_}
                # "a flurry of questions", "a barrage of insults": the noun after `of`
                for of in obj.children:
                    if of.dep_ == "prep" and of.lower_ == "of":
                        words |= {_lemma(t) for t in of.children if t.dep_ == "pobj"}
                if not words & _WEAPONS:
                    return True
    return False


def _talks_round(round_, seg) -> bool:
    """A round of talks: talks are named in the sentence, or a party in the round's phrase."""
    if round_.dep_ == "dobj" and _lemma(round_.head) in ("make", "do"):
        return False  # "the clip made the rounds"
    return any(
        t.i != round_.i and (_lemma(t) in _TALKS_WORDS or t.lower_ in _TALKS_WORDS) for t in seg
    )


def _private_party(eff, seg, refs) -> bool:
    """The other side of the meeting or negotiation is a private or business party."""
    parties = []
    for child in eff.children:
        if child.dep_ in ("dobj", "obj"):
            parties.append(child)
        elif child.dep_ == "prep" and child.lower_ in ("with", "between"):
            parties += [t for t in child.children if t.dep_ == "pobj"]
    if not parties:
        return False
    for party in parties:
        if party.i in refs and refs[party.i].kind in ("country", "organisation"):
            return False
        words = {_lemma(party), party.lower_}
        words |= {_lemma(c) for c in party.children if c.dep_ == "appos"}
        if not words & _PRIVATE_PARTIES:
            return False
    return True


def _aid_hit(head, seg) -> bool:
    """ "the attack on an aid convoy": aid modifying a carrier that an attack word hits."""
    carrier = head.head if head.dep_ in ("compound", "amod", "nmod") else head
    if _lemma(carrier) not in _AID_CARRIERS or carrier.dep_ != "pobj":
        return False
    prep = carrier.head
    return (
        prep.lower_ in ("on", "against", "at")
        and _inside(prep.head, seg)
        and _lemma(prep.head) in _HIT
    )


def _argument_ammunition(eff) -> bool:
    """ "give ammunition to Democrats", "handed critics ammunition": an argument, not arms."""
    if eff.pos_ != "VERB":
        return False
    objects = [c for c in eff.children if c.dep_ in ("dobj", "obj")]
    if not any(_lemma(o) in ("ammunition", "fodder") for o in objects):
        return False
    takers = [c for c in eff.children if c.dep_ in ("dative", "iobj")]
    for prep in eff.children:
        if prep.dep_ in ("prep", "dative") and prep.lower_ in ("to", "for"):
            takers += [t for t in prep.children if t.dep_ == "pobj"]
    return any(_lemma(t) in _ARGUED_WITH or t.lower_.rstrip("s") in _ARGUED_WITH for t in takers)
