"""One entity per real-world thing in an article: short forms of a name join the full name.

News writes a name in full once and short after: "Heathrow Airport" then "Heathrow", "the
International Monetary Fund (IMF)" then "IMF", "Louis van Gaal" then "Van Gaal", "the U.S.
Treasury" then "the Treasury". A short form joins a longer name of the same article when
exactly one name fits and the two are of one kind (an acronym takes its full name's kind: the
recogniser's label of a lone acronym is a guess). Each join keeps its reason.
"""

from __future__ import annotations

import re
from collections import Counter

from newsmon.entities.model import ArticleEntities, EntityRef, Mention
from newsmon.entities.names import (
    FACILITIES,
    ORG_HEADS,
    PARTICLES,
    acronym_of,
    country_code,
    fold,
    known_place,
)


def _words(name: str) -> list[str]:
    words = [fold(w).strip(",") for w in name.split()]
    while len(words) > 1 and words[-1] in ("and", "&"):
        words.pop()  # "Kidder, Peabody and Co and": the recogniser ran on
    return words


def _bare(word: str) -> str:
    """A surname without its article: "al-maliki" -> "maliki"."""
    return re.sub(r"^(?:al|el|ad|as|ash|at|an|ar|az)[-‑]", "", word)


def join_reason(
    short: EntityRef, long: EntityRef, s: list[str] | None = None, w: list[str] | None = None
) -> str | None:
    """How the shorter name `short` is the longer `long` of the same article, or None
    (`s` and `w`: their folded words, when the caller has them)."""
    s = s if s is not None else _words(short.name)
    w = w if w is not None else _words(long.name)
    if len(s) > len(w):
        return None
    if len(s) == len(w):
        # "Man City" of "Manchester City": the same words, the first clipped
        if short.kind == long.kind == "organisation" and len(s) > 1 and _clipped(s, w):
            return "clipped"
        return None
    if (
        short.kind != "country"
        and long.kind != "person"
        and len(s) == 1
        and acronym_of(short.name, long.name)
    ):
        return "acronym"
    if short.kind != long.kind:
        return None
    if long.kind == "person":
        # "Van Gaal" of "Louis van Gaal", "Al-Maliki" and "Maliki" of "Nouri al-Maliki".
        if [_bare(x) for x in s] == [_bare(x) for x in w[-len(s) :]] and not all(
            x in PARTICLES for x in s
        ):
            return "surname"
        return None
    if short.kind == long.kind == "organisation" and len(s) == 1 and _clipped(s, w[:1]):
        return "clipped"  # "the Fed" of "the Federal Reserve"
    if w[: len(s)] == s and not known_place(short.name) and not country_code(short.name):
        # "Heathrow" of "Heathrow Airport", "Nasdaq" of "Nasdaq Stock Market".
        return "short form"
    if w[-len(s) :] == s and country_code(" ".join(long.name.split()[: len(w) - len(s)])):
        return "country left out"  # "Treasury" of "U.S. Treasury"
    return None


def _clipped(s: list[str], w: list[str]) -> bool:
    """The first word of `s` is the first of `w` cut to at most 60 % ("fed" of "federal",
    "man" of "manchester"; not "congress" of "congressional"), the others are the same."""
    if len(s) != len(w) or s[1:] != w[1:]:
        return False
    a, b = s[0], w[0]
    return (
        len(a) >= 3 and b.startswith(a) and len(a) <= 0.6 * len(b) and a.isalpha() and b.isalpha()
    )


def merge_short_forms(found: list[tuple]) -> tuple[list[tuple], dict[EntityRef, dict[str, str]]]:
    """`found` ((entity, offset, surface) triples) with each discovered short form replaced by
    the one longer name it stands for, and per kept entity the names that joined it and why.

    Watch-list entities are never replaced (they are canonical); a short form that fits two
    longer names ("Smith" with John and Jane Smith) stays as it is.
    """
    refs = list(dict.fromkeys(ref for ref, _, _ in found))
    words = {ref: _words(ref.name) for ref in refs}
    target: dict[EntityRef, tuple[EntityRef, str]] = {}
    for short in refs:
        if short.source != "ner":
            continue
        s = words[short]
        fits = {}
        for long in refs:
            w = words[long]
            if (
                len(w) > len(s)
                and (len(s) == 1 or w[0] == s[0] or _bare(w[-1]) == _bare(s[-1]))
                or (len(w) == len(s) and long is not short)  # join_reason: a clip only
            ):
                reason = join_reason(short, long, s, w)
                if reason:
                    fits[long] = reason
        if len(fits) == 1:
            target[short] = next(iter(fits.items()))
    if not target:
        return found, {}

    def final(ref: EntityRef) -> EntityRef:
        seen = set()
        while ref in target and ref not in seen:
            seen.add(ref)
            ref = target[ref][0]
        return ref

    joined: dict[EntityRef, dict[str, str]] = {}
    for short, (_, reason) in target.items():
        joined.setdefault(final(short), {})[short.name] = reason
    return [(final(ref), offset, surface) for ref, offset, surface in found], joined


def _person_like(name: str) -> bool:
    """Two to four capitalised words, none a word of an organisation's or a place's name, and
    no known place: a name that is a person's or an organisation's, never a place's."""
    words = name.split()
    return (
        1 < len(words) < 5
        and all(w[:1].isupper() for w in words)
        and not any(fold(w) in ORG_HEADS or fold(w) in FACILITIES for w in words)
        and not known_place(name)
    )


def one_kind_per_batch(articles: list[ArticleEntities]) -> None:
    """Give a discovered full name the kind most of its mentions in the batch have.

    The recogniser labels each article alone: "Britney Spears" a person in four articles and
    an organisation in the fifth. Only names that look like a person's (`_person_like`) are
    settled this way; a single word ("Liverpool": the club or the city) and a known place keep
    the kind of their article. Ties change nothing.
    """
    votes: dict[str, Counter] = {}
    for article in articles:
        for m in article.mentions:
            ref = m.entity
            if ref.source == "ner" and ref.kind != "country" and _person_like(ref.name):
                votes.setdefault(fold(ref.name), Counter())[ref.kind] += m.count
    settled = {}
    for key, kinds in votes.items():
        ranked = kinds.most_common(2)
        if len(ranked) == 2 and ranked[0][1] > ranked[1][1]:
            settled[key] = ranked[0][0]
    if not settled:
        return
    for article in articles:
        merged: dict[EntityRef, Mention] = {}
        for m in article.mentions:
            kind = settled.get(fold(m.entity.name)) if m.entity.source == "ner" else None
            ref = EntityRef(m.entity.name, kind, "ner") if kind else m.entity
            if ref in merged:
                into = merged[ref]
                into.count += m.count
                into.first_offset = min(into.first_offset, m.first_offset)
                into.surfaces |= m.surfaces
                into.spans = sorted(into.spans + m.spans)
                into.joined |= m.joined
            else:
                m.entity = ref
                merged[ref] = m
        article.mentions = list(merged.values())


def first_words(refs) -> dict[str, EntityRef]:
    """Folded first word -> the one discovered organisation or place of several words it
    opens ("heathrow" -> Heathrow Airport, "ford" -> Ford Motor), for a lone word of the same
    article whatever the recogniser called it; not a word that is a place or a country by
    itself ("Istanbul" is not Istanbul Airport)."""
    opens: dict[str, set[EntityRef]] = {}
    for ref in refs:
        words = ref.name.split()
        if ref.source == "ner" and ref.kind in ("organisation", "place") and len(words) > 1:
            opens.setdefault(fold(words[0]), set()).add(ref)
    return {
        word: next(iter(found))
        for word, found in opens.items()
        if len(found) == 1 and not known_place(word) and word not in PARTICLES
    }
