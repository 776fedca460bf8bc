"""Names in their article: the words around a span, headlines, datelines, repeated names."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from newsmon.entities.model import EntityRef
from newsmon.entities.names import (
    CONNECTORS,
    COUNTRY_BODIES,
    FACILITIES,
    HONORIFICS,
    LED_BY,
    NUMBER,
    ORG_HEADS,
    ORG_NOUNS,
    PARTICLES,
    PLACE_NOUNS,
    RANKS,
    SETTLEMENT_NOUNS,
    SPEECH_FILLERS,
    SPEECH_VERBS,
    TEAM_CUES,
    TITLE_WORDS,
    acronym_of,
    country_code,
    fold,
    known_place,
    person_like,
)

_WORD = re.compile(r"[^\W\d_]{4,}")
# Labels of spans that are not names: "May" in "in May" is a month, not Theresa May.
_NOT_NAMES = frozenset(["DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"])


def one_kind_per_name(named: list[tuple]) -> list[tuple]:
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


def name_parts(people: Iterable[tuple[EntityRef, int]]) -> dict[str, list[tuple[int, EntityRef]]]:
    """First and last names of full-name people: each with the people it is part of, by the
    offset of their first mention ((entity, offset) pairs in)."""
    first: dict[EntityRef, int] = {}
    for ref, offset in people:
        first[ref] = min(offset, first.get(ref, offset))
    parts: dict[str, dict[EntityRef, int]] = {}
    for ref, offset in first.items():
        tokens = ref.name.split()
        if len(tokens) > 1:
            last = tokens[-1].casefold()
            # "Maliki" and "al-Maliki" of "Nouri al-Maliki".
            bare = re.sub(r"^(?:al|el|ad|as|ash|at|an|ar|az)[-‑]", "", last)
            for token in dict.fromkeys((tokens[0].casefold(), last, bare)):
                parts.setdefault(token, {})[ref] = offset
    return {token: sorted((o, r) for r, o in refs.items()) for token, refs in parts.items()}


def person_of(parts: dict[str, list[tuple[int, EntityRef]]], word: str, offset: int):
    """The person a lone first or last name at `offset` stands for, or None.

    One full name has it: that person. Several ("Nick Saban", later "his wife, Terry
    Saban"): the one introduced first, if introduced before this mention -- news names its
    main person first and gives the others their full names.
    """
    candidates = parts.get(word.casefold())
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0][1]
    return candidates[0][1] if candidates[0][0] < offset else None


def nickname(word: str) -> bool:
    """A plural last word, the short form of a team's name ("Colts", "76ers", "Tar Heels")."""
    # Not "Texas", "Paris", "Bosphorus", "Laos", "Congress": singular names that end in an s.
    return (
        (word[:1].isupper() or word[:1].isdigit())
        and word.endswith("s")
        and not word.lower().endswith(("ss", "us", "is", "as", "os"))
    )


def context_span(ent, text: str):
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
        while end - start > 1 and (NUMBER.fullmatch(doc[end - 1].text) or doc[end - 1].is_punct):
            end -= 1
    if label == "PERSON" and end < len(doc) and doc[end].lower_ in LED_BY:
        return Span(doc, start, end + 1, label="ORG")
    if label in ("GPE", "NORP") and body_follows(doc, end) and country_code(ent.text):
        # "the U.S. military", "Iraqi forces": the country's armed forces, an organisation.
        size = 2 if doc[end : end + 2].text.casefold() in COUNTRY_BODIES else 1
        return Span(doc, start, end + size, label="ORG")
    if label == "GPE":
        team_end = end
        while (
            team_end < len(doc) and doc[team_end].ent_iob_ == "O" and nickname(doc[team_end].text)
        ):
            team_end += 1
        if team_end > end and not title_case(ent, text):
            return Span(doc, start, team_end, label="ORG")
    return ent if end == ent.end else Span(doc, start, end, label=label)


def title_run_on(ent) -> list:
    """A title's words run on into the name after it: "Minister for the Middle East Tobias
    Ellwood" tagged as one organisation or place is the Middle East (a place) and Tobias
    Ellwood (a person), when a title stands before the span ("Minister for", "Minister of
    State for the") and its last two words are a census given and family name."""
    from spacy.tokens import Span

    doc = ent.doc
    if ent.label_ == "PERSON" or len(ent) < 3 or not person_like(ent[-2:].text):
        return [ent]
    before = doc[max(0, ent.start - 4) : ent.start]
    if not (
        len(before)
        and before[-1].lower_ in ("for", "of")
        and any(t.lower_.strip(".") in TITLE_WORDS for t in before)
    ):
        return [ent]
    head = ent[:-2]
    while len(head) and (head[0].lower_ == "the" or head[0].is_punct):
        head = head[1:]
    while len(head) and head[-1].is_punct:
        head = head[:-1]
    person = Span(doc, ent.end - 2, ent.end, label="PERSON")
    if not len(head):
        return [person]
    place = (
        ent.label_ in ("GPE", "LOC")
        or known_place(head.text)
        or any(t.lower_ in ("east", "west", "north", "south", "middle") for t in head)
    )  # "Minister for the Middle East"; "Secretary of the Interior" is a department
    return [Span(doc, head.start, head.end, label="LOC" if place else "ORG"), person]


_ORG_WORDS = ORG_NOUNS | ORG_HEADS  # "Meyer Detective Agency": a rank word naming a body


def rank_split(ent) -> list:
    """A rank inside a recognised name divides it: the unit before it, the person after it
    ("Oregon State Police Lt. Gregg Hastings", "Navy Capt" then "Jeff Davis"); a rank alone
    ("Sgt", "Cpl") names nobody."""
    from spacy.tokens import Span

    at = [
        i
        for i, t in enumerate(ent)
        if t.lower_.rstrip(".") in RANKS
        # "Meyer Detective Agency": the rank word names the organisation
        and not (i + 1 < len(ent) and ent[i + 1].lower_ in _ORG_WORDS)
    ]
    if not at:
        return [ent]
    doc, out = ent.doc, []
    first, last = at[0], at[-1]
    unit = ent[:first]
    while len(unit) and (unit[-1].is_punct or unit[-1].lower_ in ("and", "'s", "’s")):
        unit = unit[:-1]
    if len(unit) and unit[-1].lower_ in ("rear", "vice", "staff", "first", "chief", "master"):
        unit = unit[:-1]  # "Rear Admiral", "Staff Sgt."
    if len(unit) and any(t.text[:1].isupper() for t in unit):
        out.append(
            Span(doc, unit.start, unit.end, label="ORG" if ent.label_ == "PERSON" else ent.label_)
        )
    person = ent[last + 1 :]
    while len(person) and person[0].is_punct:
        person = person[1:]
    if len(person) and all(t.text[:1].isupper() for t in person if t.is_alpha):
        out.append(Span(doc, person.start, person.end, label="PERSON"))
    return out


def headline_span(ent, common: set[str], text: str):
    """`ent` cut before the first common word if it stands in a title-case headline.

    In "Colts Beat Chiefs" or "Lindsay Lohan Checks Into Rehab" every word is capitalised
    and the recogniser runs the name on into the verb; a word the article writes in lower
    case elsewhere ("beat", "checks") is not part of a name. None: nothing is left.
    """
    from spacy.tokens import Span

    heads = CONNECTORS | FACILITIES | ORG_HEADS
    if len(ent) < 2 or ent[-1].lower_ in heads or not title_case(ent, text):
        return ent  # "Promises Treatment Center" ends as a name does
    for token in ent:
        if stem(token.lower_) in common and token.lower_ not in heads:
            end = token.i
            while end > ent.start and ent.doc[end - 1].lower_ in CONNECTORS:
                end -= 1
            return Span(ent.doc, ent.start, end, label=ent.label_) if end > ent.start else None
    return ent


def words_of(doc) -> tuple[list[str], str]:
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


def stem(word: str) -> str:
    """A word without its inflection, roughly: "checks", "checked" and "checking" -> "check"."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def title_case(ent, text: str) -> bool:
    """Fewer than one in four words of four letters or more on the line of `ent` is in lower
    case: a headline in title case ("Colts Beat Chiefs"), not a sentence full of names."""
    end = text.find("\n", ent.end_char)
    return _title_case_line(
        text[text.rfind("\n", 0, ent.start_char) + 1 : end if end >= 0 else None]
    )


@lru_cache(maxsize=4096)
def _title_case_line(line: str) -> bool:
    words = _WORD.findall(line)
    return bool(words) and sum(w[0].islower() for w in words) * 4 < len(words)


def names_a_place(ent) -> bool:
    """The words around a name make it a place.

    It modifies a place noun ("a Harry Winston boutique", "the Kraft plant"), it follows "the
    town of" ("the town of Tel Tamer"), or it is a lone word tagged an organisation after "in"
    or "near" ("in Woodburn"): where something happens.
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
        and ent[0].lower_ not in ORG_HEADS
    ):
        return True
    if (
        before is not None
        and before.lower_ in ("in", "near", "outside", "across")
        and ent.label_ == "PERSON"
        and known_place(ent.text)
    ):
        return True  # "in Palmyra": a place the gazetteer knows, not a person
    if (
        ent.start > 1
        and before.lower_ == "of"
        and doc[ent.start - 2].is_lower
        and doc[ent.start - 2].lower_ in SETTLEMENT_NOUNS
    ):
        return True  # "the town of Tel Tamer", "the port city of Tartus"
    possessive = ent[-1].lower_ in ("'s", "’s")  # "Sarah Palin's home" is hers, not a place
    return after is not None and after.is_lower and after.lower_ in PLACE_NOUNS and not possessive


def surname_of(name: str, surnames: set[str]) -> bool:
    """A two- or three-word name that ends in a word the article names a person by alone.

    "Bettie Page" tagged an organisation and "Hugh Jackman" a place are people when "Page"
    and "Jackman" alone are tagged as people; a country or a state ("North Carolina") stays.
    """
    words = name.split()
    last = words[-1].casefold() if words else ""
    return (
        1 < len(words) < 4
        and last in surnames
        and last not in ORG_HEADS
        and all(w[:1].isupper() for w in words)
        and not known_place(name)
    )


def free(token, covered: set[int]) -> bool:
    """Not part of a found mention, and untagged or tagged a person (a lone one is dropped)."""
    return token.i not in covered and (token.ent_iob_ == "O" or token.ent_type_ == "PERSON")


def repeats(doc, words: list[str], covered: set[int], found: list[tuple]) -> list[tuple]:
    """Mentions the recogniser left untagged: a found person's surname or team's nickname again.

    The small model tags a name where its sentence makes it look like one; "Manning threw"
    after "Peyton Manning" is the same person whether it is tagged or not, and "the Colts
    defense" after "the Indianapolis Colts" the same team.
    """
    people, teams = [], {}
    for ref, offset, _ in found:
        parts = ref.name.split()
        # A person's surname; a team's plural nickname ("Colts" of "Indianapolis Colts").
        if len(parts) > 1 and ref.kind == "person":
            people.append((ref, offset))
        elif len(parts) > 1 and ref.kind == "organisation" and nickname(parts[-1]):
            teams.setdefault(parts[-1], set()).add(ref)
    surnames = {
        word: refs
        for word, refs in name_parts(people).items()
        if any(word == r.name.split()[-1].casefold() for _, r in refs)
    }
    # A word the article also writes in lower case is a common word ("fire"), not a name.
    lower = {word for word in words if word.islower()}
    out = []
    for i, word in enumerate(words):
        if i in covered or word.casefold() in lower or not word[:1].isupper():
            continue
        ref = None
        if word.casefold() in surnames:
            ref = person_of(surnames, word, doc[i].idx)
        elif len(teams.get(word, ())) == 1:
            ref = next(iter(teams[word]))
        if ref is not None and doc[i].ent_type_ not in _NOT_NAMES:  # not "in May"
            covered.add(i)
            out.append((ref, doc[i].idx, word))
    return out


def alias_fits(span, forms: list[str], ent, kind: str = "", known: frozenset = frozenset()) -> bool:
    """A watch-list alias matched (in any case) is a mention only in the form that marks it.

    * Case: a capitalised word of the alias is capitalised in the text, a word in capitals
      is in capitals: "US" is not "us" ("join us"), "Turkey" is not "turkey".
    * Not inside a date or a number: "May" in "in May".
    * The longest name wins: an alias inside a longer name the recogniser found, which
      goes on with a capitalised word, is part of that name: "U.S." in "U.S. Department of
      Education", "Trump" in "Melania Trump" or "Trump Tower" (titles and nationalities
      around a person's name do not count: "President Trump" is still Trump).
    """
    text = [t.text for t in span]
    if not any(_same_case(text, form.split()) for form in forms):
        return False
    if kind == "country" and body_follows(span.doc, span.end):
        return False  # "U.S. military": the armed forces, not the country
    if ent is None:
        return True
    if ent.label_ in _NOT_NAMES:
        return False
    if ent.label_ not in ("PERSON", "ORG", "FAC", "GPE", "LOC") or (
        ent.start == span.start and ent.end == span.end
    ):
        return True
    extra = [t for t in ent if not span.start <= t.i < span.end and not t.is_punct]
    capitalised = [t for t in extra if t.text[:1].isupper()]
    if not capitalised or any(t.lower_ in ("'s", "’s") for t in extra):
        return True
    if ent.label_ == "PERSON":
        # "President Trump", "Ukrainian President Zelensky", "Tayyip Erdogan" (`known`: the
        # folded words of the entity's own names): the alias's own person.
        return all(
            t.lower_ in TITLE_WORDS or country_code(t.text) or fold(t.text) in known
            for t in capitalised
        )
    return False


def _same_case(text: list[str], alias: list[str]) -> bool:
    if len(text) != len(alias):
        return True  # tokenised differently: let the match stand
    for word, form in zip(text, alias, strict=True):
        letters = [c for c in form if c.isalpha()]
        if len(letters) > 1 and all(c.isupper() for c in letters):
            if not all(c.isupper() for c in word if c.isalpha()):
                return False
        elif form[:1].isupper() and not word[:1].isupper():
            return False
    return True


def lower_case_trimmed(ent):
    """`ent` without the lower-case words it opens with ("a Women's Champions League", "west
    London", "ex-FBI"), name particles kept ("al-Maliki", "van Gaal"); None: nothing left."""
    from spacy.tokens import Span

    start = ent.start
    doc = ent.doc
    while start < ent.end and (
        doc[start].is_punct
        or (doc[start].text[:1].islower() and doc[start].text.isalpha()
            and doc[start].text.islower() and doc[start].lower_ not in PARTICLES)
    ):  # fmt: skip
        start += 1
    if start == ent.end:
        return None
    return ent if start == ent.start else Span(doc, start, ent.end, label=ent.label_)


def body_follows(doc, end: int) -> bool:
    """A government or an army follows a country's name ("U.S. | military")."""
    return (
        end < len(doc)
        and doc[end].is_lower
        and (
            doc[end].lower_ in COUNTRY_BODIES
            or doc[end : end + 2].text.casefold() in COUNTRY_BODIES
        )
    )


def describes_organisation(doc, end: int) -> bool:
    """Lower-case words ending in an organisation's noun follow a nationality or a country
    ("the French | export credit agency", "German | car maker Volkswagen"): the word before
    describes that organisation and is no mention of the country. Not past a function word
    or a verb's past form: "Ukraine agreed to ..." is the country acting."""
    for token in doc[end : end + 4]:
        if token.lower_ in ORG_NOUNS and token.is_lower:
            return True
        if token.text in ("-", "‑"):
            continue  # "state-owned"
        if not (token.is_lower and token.is_alpha) or token.is_stop or token.lower_.endswith("ed"):
            return False
    return False


def plays_as_team(ent) -> bool:
    """The words around a place's name make it a sports team: "Alabama's coach", "Saban led
    Alabama", "Alabama hasn't won the league" (a cue each; the caller wants two)."""
    doc = ent.doc
    after = [t.lower_ for t in doc[ent.end : ent.end + 4]]
    if after[:1] in (["'s"], ["’s"]):
        return bool(after[1:2]) and after[1] in TEAM_CUES["after_possessive"]
    if any(w in TEAM_CUES["after"] for w in after[:3]):
        return True
    return ent.start > 0 and doc[ent.start - 1].lower_ in TEAM_CUES["before"]


def teams_by_cues(named: list[tuple], cued: Counter) -> list[tuple]:
    """(span, name, kind) with a place that two of its mentions in the article cue as a sports
    team (`cued`: folded name -> cued mentions) an organisation throughout: one sense per
    article, the team ("Alabama" the Crimson Tide, not the state)."""
    teams = {name for name, n in cued.items() if n >= 2}
    if not teams:
        return named
    return [
        (span, name, "organisation" if kind == "place" and fold(name) in teams else kind)
        for span, name, kind in named
    ]


def named_organisation(ent) -> bool:
    """A lower-case organisation's noun stands just before the name: "the German company
    Züblin", "the credit agency Coface": the name is that organisation's."""
    doc = ent.doc
    return ent.start > 0 and doc[ent.start - 1].is_lower and doc[ent.start - 1].lower_ in ORG_NOUNS


def titled(ent) -> bool:
    """A capitalised title or honorific stands before a lone name: "President Hollande",
    "Mr. Obama" (inside the recogniser's span or just before it)."""
    before = [ent.doc[ent.start - 1]] if ent.start else []
    return any(
        token.text[:1].isupper() and token.lower_.rstrip(".") in TITLE_WORDS
        for token in before + list(ent[:-1])
    )


def person_cue(ent) -> bool:
    """The words around a lone name tagged a person vouch that it is one, though the article
    never gives the full name.

    * A title or an honorific stands before it: "President Hollande", "Mr. Obama".
    * It is the subject of a verb of saying, perhaps after an auxiliary or an adverb
      ("Hollande said", "Obama has also said"), or follows one at the end of an attribution
      ("...," says Manal.).
    * An age follows it between commas: "Hiller, 43, then shot...".
    """
    if titled(ent):
        return True
    doc = ent.doc
    before = doc[ent.start - 1] if ent.start else None
    i = ent.end
    while i < len(doc) and i < ent.end + 3 and doc[i].lower_ in SPEECH_FILLERS:
        i += 1
    if i < len(doc) and doc[i].lower_ in SPEECH_VERBS:
        return True
    if (
        before is not None
        and before.lower_ in SPEECH_VERBS
        and (ent.end == len(doc) or doc[ent.end].is_punct)
    ):
        return True
    after = [t.text for t in doc[ent.end : ent.end + 3]]
    return (
        len(after) == 3
        and after[0] == ","
        and after[1].isdigit()
        and len(after[1]) <= 3
        and after[2] in (",", ";", ")")
    )


def honorific_names(doc, words: list[str], covered: set[int]):
    """Spans of capitalised words after an honorific that the recogniser left untagged:
    "Mr Alzoubi", "Dr. Ana Ruiz" (a title after it is not a name: "Mr President")."""
    from spacy.tokens import Span

    lower = {w for w in words if w.islower()}
    for i, word in enumerate(words[:-1]):
        if word not in HONORIFICS:
            continue
        end = i + 1
        while (
            end < len(words)
            and end not in covered
            and doc[end].ent_iob_ == "O"
            and words[end][:1].isupper()
            and words[end].isalpha()
            and words[end].casefold() not in lower
            and words[end].casefold() not in TITLE_WORDS
        ):
            end += 1
        if end > i + 1:
            yield Span(doc, i + 1, end, label="PERSON")


def demonym_like(name: str) -> bool:
    """A word that reads as a people or a direction, not a place: "Sunnis", "Kurdish",
    "Western" (the recogniser tags them NORP, as it does a town's name now and then)."""
    word = name.casefold()
    return " " in word or word.endswith(("s", "an", "ese", "ish", "ic", "ern", "ist", "i"))


def defined_acronyms(doc, words: list[str], covered: set[int], found: list[tuple]) -> list[tuple]:
    """Untagged uses of an acronym the article defines: in brackets just after a found name
    whose initials it is ("the Corvale Relief Fund (CRF)"), there and wherever it stands
    again, it is that name's entity (not a person's: "John Smith (JS)" is no definition)."""
    ends = {offset + len(surface): ref for ref, offset, surface in found if ref.kind != "person"}
    defined: dict[str, EntityRef] = {}
    for i in range(2, len(words) - 1):
        if words[i - 1] == "(" and words[i + 1] == ")":
            last = doc[i - 2]
            ref = ends.get(last.idx + len(last.text))
            if ref is not None and acronym_of(words[i], ref.name):
                defined.setdefault(words[i], ref)
    out = []
    for i, word in enumerate(words):
        if word in defined and i not in covered:
            covered.add(i)
            out.append((defined[word], doc[i].idx, word))
    return out
