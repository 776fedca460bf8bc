"""Numbers, sums of money and dates as a sentence writes them."""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta

log = logging.getLogger(__name__)


_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {
    "hundred": 100,
    "thousand": 1_000,
    "million": 1_000_000,
    "m": 1_000_000,
    "mn": 1_000_000,
    "billion": 1_000_000_000,
    "bn": 1_000_000_000,
    "b": 1_000_000_000,
    "trillion": 1_000_000_000_000,
}
# Words around a count that do not change it: "nearly 300", "a further 1,200".
_HEDGES = {
    "-",
    "than",
    "more",
    "less",
    "about",
    "nearly",
    "almost",
    "over",
    "some",
    "up",
    "to",
    "at",
    "least",
    "around",
    "roughly",
    "another",
    "further",
    "additional",
    "extra",
    "a",
    "an",
    "the",
    "fresh",
    "new",
    "total",
}
# Counts too vague to be a quantity: "dozens of drones", "several hundred", "a few".
_VAGUE = {"dozen", "dozens", "hundreds", "thousands", "millions", "several", "few", "many", "some"}
_CURRENCIES = {
    "$": "USD",
    "us$": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "usd": "USD",
    "€": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "eur": "EUR",
    "£": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "gbp": "GBP",
    "sterling": "GBP",
    "yen": "JPY",
    "¥": "JPY",
    "yuan": "CNY",
    "crowns": "NOK",
    "kroner": "NOK",
    "hryvnias": "UAH",
    "roubles": "RUB",
    "rubles": "RUB",
}
_X_FOR_Y = re.compile(
    r"\b(\d{1,3}(?:,\d{3})+|\d+|a thousand|thousand)[- ]for[- ](?:a[- ])?(?:\d{1,3}(?:,\d{3})+|\d+|thousand)\b",
    re.IGNORECASE,
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_MONTH = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s*(?:-|–|to|and)\s*\d{{1,2}})?\s+(?:of\s+)?({_MONTH})\b\.?(?:,?\s+(\d{{4}}))?",
    re.I,
)
_MONTH_DAY = re.compile(
    rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?", re.I
)
_DURATION = re.compile(
    r"^(?:about |around |nearly |almost |more than |less than |at least |over |up to |some |the )?"
    r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|thirty|"
    r"several|few|a few|many)(?:[- ]\w+)?[- ](?:day|week|month|year|hour|night|decade)s?"
    r"(?: long| old)?$",
    re.I,
)
# Current periods contain the article's date: the event is dated by the article.
_CURRENT = re.compile(
    r"\b(this (week|month|year|morning|afternoon|evening|weekend)|recent (days|weeks|months)|"
    r"recently|these days|so far|now)\b",
    re.I,
)
# Dates attached through these are limits or anchors, not when the event happened.
_NOT_WHEN = {
    "since",
    "until",
    "till",
    "before",
    "by",
    "after",
    "ahead",
    "from",
    "through",
    "throughout",
}


def _number_of(tok) -> float | None:
    """The count attached to a unit noun: '390 prisoners', 'the bodies of 6,000 soldiers'."""
    for child in tok.children:
        if child.dep_ == "nummod" and child.ent_type_ not in ("DATE", "TIME", "PERCENT", "ORDINAL"):
            value = _parse_number(list(child.subtree))
            if value is not None:
                return value
    for child in tok.children:
        if child.dep_ == "prep" and child.lower_ == "of":
            for grand in child.children:
                if grand.dep_ == "pobj":
                    for g in grand.children:
                        if g.dep_ == "nummod":
                            value = _parse_number(list(g.subtree))
                            if value is not None:
                                return value
    return None


def _parse_number(tokens) -> float | None:
    words = [t.lower_ for t in tokens if t.dep_ not in ("advmod", "quantmod") or t.like_num]
    return _parse_number_text(" ".join(w for w in words if w not in _HEDGES))


def _parse_number_text(text: str) -> float | None:
    words = text.lower().replace("-", " ").split()
    if not words or any(w in _VAGUE for w in words):
        return None
    total, current, seen = 0.0, 0.0, False
    for word in words:
        plain = word.replace(",", "")
        if re.fullmatch(r"\d+(\.\d+)?", plain):
            current += float(plain)
            seen = True
        elif word in _NUMBER_WORDS:
            current += _NUMBER_WORDS[word]
            seen = True
        elif word in ("a", "an") and not seen:
            current = 1.0
        elif word in _SCALES:
            current = (current or 1.0) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total, current = total + current, 0.0
            seen = True
        elif word in ("and",):
            continue
        else:
            return None
    value = total + current
    return value if seen and value > 0 else None


def _money(ent) -> tuple[float, str] | None:
    """'$3 billion' -> (3e9, 'USD'); '1.9 billion euros' -> (1.9e9, 'EUR')."""
    currency = None
    words = []
    for tok in ent:
        low = tok.lower_
        if low in _CURRENCIES:
            currency = _CURRENCIES[low]
        elif tok.text in _CURRENCIES:
            currency = _CURRENCIES[tok.text]
        else:
            words.append(low)
    if currency is None:
        nxt = ent.doc[ent.end] if ent.end < len(ent.doc) else None
        if nxt is not None and nxt.lower_ in _CURRENCIES:
            currency = _CURRENCIES[nxt.lower_]
    if currency is None:
        return None
    value = _parse_number_text(" ".join(w for w in words if w not in _HEDGES))
    return (value, currency) if value else None


def _resolve_date(text: str, published: date | None, future: bool) -> date | str | None:
    """A day, 'current' (a period holding the article's date), 'other' (another period) or None."""
    t = " ".join(text.lower().split())
    if _DURATION.match(t) and "ago" not in t:
        return None  # "three days", "30-day": how long, not when
    if published is not None:
        if re.search(r"\b(today|tonight|this (morning|afternoon|evening))\b", t):
            return published
        if re.search(r"\b(yesterday|last night)\b", t):
            return published - timedelta(days=1)
        if re.search(r"\btomorrow\b", t):
            return published + timedelta(days=1)
        if re.search(r"\bovernight\b", t):
            return published
    match = _DAY_MONTH.search(t) or _MONTH_DAY.search(t)
    if match:
        if match.re is _DAY_MONTH:
            day, month, year = int(match[1]), _MONTHS[match[2].lower()], match[3]
        else:
            month, day, year = _MONTHS[match[1].lower()], int(match[2]), match[3]
        if year is None and published is None:
            return None
        guess = published.year if year is None else int(year)
        try:
            resolved = date(guess, month, day)
        except ValueError:
            return None
        if year is None and published is not None:
            if resolved - published > timedelta(days=183):
                resolved = resolved.replace(year=guess - 1)
            elif published - resolved > timedelta(days=183) and future:
                resolved = resolved.replace(year=guess + 1)
        return resolved
    for index, name in enumerate(_WEEKDAYS):
        if re.search(rf"\b{name}\b", t):
            if published is None:
                return None
            back = (published.weekday() - index) % 7
            if "next" in t or (future and "last" not in t):
                ahead = (index - published.weekday()) % 7
                return published + timedelta(days=ahead or (7 if "next" in t else 0))
            if "last" in t and back == 0:
                back = 7
            return published - timedelta(days=back)
    if published is None:
        return None
    if _CURRENT.search(t):
        return "current"
    years = [int(m[0]) for m in re.finditer(r"\b(?:19|20)\d\d\b", t)]
    if years:
        if years[0] != published.year:
            return "other"
        months = [_MONTHS[m] for m in re.findall(rf"\b({_MONTH})\b", t)]
        if months and months[0] != published.month:
            return "other"
        return "current"
    months = [_MONTHS[m] for m in re.findall(rf"\b({_MONTH})\b", t)]
    if months:
        return "current" if months[0] == published.month else "other"
    if re.search(r"\b(last|previous) (week|month|year)\b|\bago\b|\bearlier this\b", t):
        return "other"
    return None
