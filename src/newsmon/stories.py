"""Story grouping: reports of one event, from any outlet and over several days, share a story.

Each article is reduced once to `features`: a small dict of term weights that the warehouse
stores and reloads. One key per word whatever its case or spelling (the Snowball stem of its
American spelling: "Immigration" in a title-case headline and "immigration" in a lead are one
term, and so are "recognise" and "recognized"), numbers with their scale multiplied out ("60m"
= "60 million"); names, capitalised inside sentences, only weigh more. A `StoryIndex` holds the
stories still open (last article less than `window_days` before the new one) and assigns each
new article, in published order, to the most similar open story, or opens a new story.

Similarity is the cosine between the article and a story's centroid, weighted by an inverse
document frequency learnt from the articles of the last `statistics_days` (what the
warehouse counts for a run), and decayed with time: past `grace_days` after the story's last
article the cosine halves every `half_life_days`, so a report a few days on must resemble the
story more than one of the same day, up to the window's cut. Two events of one kind with the
same actors (two rounds of talks, two arrests of players of one team) share most of their
words; what tells them apart is the rarer terms (the other player, the other palace, the new
figures) and time.

A centroid moves as articles join, so a story could drift, one close article at a time, from
its event to the next one of a developing situation (a call for a truce, then the offer of
talks, the talks themselves, a phone call about them). An article therefore joins a story
only if it is also close to the story's first article, its seed (`seed_threshold`): a story
stays about what its first report was about.

Candidate stories come from an inverted index (term -> open stories) probed with the
article's most weighted terms; only the best few candidates are scored in full, so the cost
of one assignment depends on how many stories share its rare terms, not on how many are open.

Between runs the warehouse keeps each story's centroid and seed (`StoredStory`). A run gives
the index the term statistics of the batch's own terms (`attach`) and, for each new article,
the few stored open stories most similar to it, ranked for the whole batch in one query
(`hint`); only those are loaded, so a warm start costs what the batch touches, not what is
open.

A story's title is its most central headline (`central_title`), passing over newsletter,
live-blog and round-up headlines (`is_roundup`) while another exists.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

import Stemmer
from breame.data.spelling_constants import BRITISH_ENGLISH_SPELLINGS

log = logging.getLogger(__name__)

# term -> weight, at most MAX_TERMS entries: stored per article as JSON or a DuckDB MAP.
Features = dict[str, float]
# Bumped whenever features() changes. Stored features of another version are computed again
# from the article's text when the story stage next rebuilds its open stories.
FEATURES_VERSION = 3  # 3: one key per word whatever its case; Snowball stems; numbers' scales

_STEMMER = Stemmer.Stemmer("english")
_AMERICAN: dict[str, str] = BRITISH_ENGLISH_SPELLINGS  # 1,730 British forms -> American

MAX_TERMS = 100
TITLE_WEIGHT = 3.0  # one title word counts as three mentions in the lead
NAME_WEIGHT = 2.0  # names (actors, places) tell one event from another of the same kind
LEAD_TOKENS = 150  # the inverted pyramid: the first tokens say what the event is
TAIL_WEIGHT = 0.4  # weight of a mention far down the text, relative to one in the lead

_DAY = 86400.0

# Function words and the furniture of news copy ("said", "reported"): they carry no event.
_STOPWORDS = """
    a about above according across after afterwards again against ago all almost alone along
    already also although always am among an and another any anyone anything are around as at
    be became because become been before being below beside besides between beyond both but by
    can cannot could did do does doing done down during each either else enough even ever every
    few for former from further had has have having he her here hers herself him himself his how
    however i if in including into is it its itself just last least less like made make many may
    me meanwhile might more most much must my myself neither never nevertheless next no nor not
    nothing now of off often on once one only onto or other others otherwise our ours ourselves
    out over own per perhaps rather same several she should since so some still such than that the
    their theirs them themselves then there thereby therefore these they this those though through
    throughout thus to together too toward towards under until up upon us very via was we well
    were what whatever when whenever where whether which while who whoever whole whom whose why will
    with within without would yet you your yours yourself yourselves
    said says say saying told tell according reported reports report reporting added asked news
    mr mrs ms dr new get got go going went come came take took makes
    s t ll re ve d m don didn doesn isn wasn weren won wouldn couldn shouldn aren hasn haven hadn
    http https www com html htm org net co uk
"""
STOPWORDS = frozenset(_STOPWORDS.split())

# A number, with its separators, and an optional scale written onto it ("60m", "1.5bn").
_WORD = re.compile(
    r"\d+(?:[.,]\d+)*(?:(?:bn|mn|m|k|tn|trn)\b)?|[^\W\d_]+(?:'[^\W\d_]+)*", re.UNICODE
)
_SCALE = {
    "k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "millions": 1e6,
    "bn": 1e9, "billion": 1e9, "billions": 1e9, "tn": 1e12, "trn": 1e12, "trillion": 1e12,
}  # fmt: skip
_NUMBER = re.compile(r"(\d+(?:[.,]\d+)*)([a-z]*)$")
# What may precede the first word of a sentence (a capital there is not a name).
_SENTENCE_START = re.compile(r"(?:[.!?:;\"“”«»()\[\]]|``|''|\n|^)\s*$")


def _number(digits: str, scale: str) -> str | None:
    """A number's key: without separators, its scale multiplied out ("60m", "60 million" ->
    "60000000"); None for a single digit, which is everywhere."""
    digits = digits.replace(",", "")  # "1,000", "1,234.5"
    factor = _SCALE.get(scale)
    if factor is not None:
        try:
            value = float(digits) * factor
        except ValueError:
            return None
        return str(int(value)) if value == int(value) else f"{value:g}"
    return digits if len(digits) >= 2 else None


@lru_cache(maxsize=200_000)
def _key(word: str) -> str:
    """One key per word whatever its case or spelling: American spelling, Snowball stem."""
    return _STEMMER.stemWord(_AMERICAN.get(word, word))


def _tokens(text: str, *, in_title: bool) -> list[tuple[str, bool]]:
    """(word, is_name) for each content token: case-folded word, or number's key.

    A capital inside a sentence marks a name, and so does one opening a sentence when the
    next word is a name too ("Mary Horomanski said"). Titles capitalise every word, so they
    mark none. Names only weigh more: a name and the same word in lower case are one key.
    """
    out: list[tuple[str, bool]] = []
    opener = -1  # index in `out` of a capitalised word opening a sentence, while it may be a name
    previous_end = 0
    pending: tuple[int, str] | None = None  # a number that a scale word may follow
    for match in _WORD.finditer(text):
        token = match.group()
        start = match.start()
        follows = opener >= 0 and text[previous_end:start].isspace()
        adjacent = text[previous_end:start] in (" ", "\xa0")
        previous_end = match.end()
        if token[0].isdigit():
            opener = -1
            found = _NUMBER.match(token)
            digits, scale = (found.group(1), found.group(2)) if found else (token, "")
            key = _number(digits, scale)
            pending = None
            if key is not None:
                out.append((key, False))
                if not scale:
                    pending = (len(out) - 1, digits)
            elif not scale:
                pending = (-1, digits)
            continue
        lower = token.casefold()
        if pending is not None and adjacent and lower in _SCALE:
            index, digits = pending
            pending = None
            key = _number(digits, lower)
            if key is not None:
                if index >= 0:
                    out[index] = (key, False)
                else:
                    out.append((key, False))
            continue
        pending = None
        if lower.endswith("'s"):
            lower = lower[:-2]
        capital = not in_title and token[0].isupper()
        initial = capital and bool(_SENTENCE_START.search(text, max(0, start - 3), start))
        is_name = capital and not initial
        if is_name and follows:
            out[opener] = (out[opener][0], True)
        opener = -1
        if lower in STOPWORDS and not (is_name and (token.isupper() or lower == "may")):
            continue  # but "US", "WHO" and the month "May" are names
        if len(lower) >= 2:
            if initial:
                opener = len(out)
            out.append((lower, is_name))
    return out


def _sentence_case(title: str) -> bool:
    """Whether a headline is written in sentence case ("Melania Trump statue goes missing"),
    where a capital marks a name as in running text, rather than in title case."""
    words = _WORD.findall(title)[1:]
    # two, because title case leaves some small words in lower case ("amid", "near", "vs")
    lower = [w for w in words if w[0].islower() and w.casefold() not in STOPWORDS and len(w) > 2]
    return len(lower) >= 2


def features(title: str | None, text: str | None) -> Features:
    """Term weights of one article: what is stored per article and fed to `StoryIndex`.

    Keys: one per word whatever its case or spelling, Snowball stems of the American
    spelling ("recognise", "Recognized" -> "recogn"), numbers without separators and with
    their scale multiplied out ("60m", "60 million" -> "60000000"). Values: positive weights
    (log of the position-weighted count; names, capitalised inside sentences, weigh more),
    3 decimals, the MAX_TERMS largest kept. An empty dict means nothing to compare.
    """
    counts: dict[str, float] = defaultdict(float)
    names: set[str] = set()
    if text:
        text = unicodedata.normalize("NFKC", text).replace("’", "'")
        for i, (word, is_name) in enumerate(_tokens(text, in_title=False)):
            if i < LEAD_TOKENS:
                weight = 1.0
            else:
                weight = max(TAIL_WEIGHT, 1.0 - (i - LEAD_TOKENS) / (4 * LEAD_TOKENS))
            key = word if word[0].isdigit() else _key(word)
            if is_name:
                names.add(key)
            counts[key] += weight
    if title:
        title = unicodedata.normalize("NFKC", title).replace("’", "'")
        sentence = _sentence_case(title)
        for word, is_name in _tokens(title, in_title=not sentence):
            key = word if word[0].isdigit() else _key(word)
            if is_name:
                names.add(key)
            counts[key] += TITLE_WEIGHT
    weights = {}
    for key, count in counts.items():
        # log of a faint tail mention is negative; floor it so the word still counts a little
        weight = max(1.0 + math.log(count), 0.1)
        weights[key] = weight * NAME_WEIGHT if key in names else weight
    top = heapq.nlargest(MAX_TERMS, weights.items(), key=lambda kv: (kv[1], kv[0]))
    return {key: round(weight, 3) for key, weight in top}


# Headlines of newsletters, live blogs and round-ups: they name a format, not the event.
_ROUNDUP = re.compile(
    r"\b(?:briefings?|newsletters?|live\s*(?:blog|updates?|coverage|news)|as it happened"
    r"|what we know(?: so far)?|podcast|digest|round-?ups?|headlines|in pictures|in photos"
    r"|quiz|week in review|the week ahead|first thing)\b"
    r"|\blive\s*:|^\s*(?:live|latest|watch|video|listen)\b\s*[:|\-–—]|[:|\-–—]\s*live\s*$"
    r"|^\s*(?:the\s+)?(?:morning|evening|weekend|daily)\b\s*[:|\-–—]",
    re.IGNORECASE,
)


def is_roundup(title: str) -> bool:
    """Whether a headline names a newsletter, live blog or round-up ("Friday Briefing",
    "Ukraine war live updates") rather than what happened."""
    return bool(_ROUNDUP.search(title))


def central_title(members: Sequence[tuple[str | None, Features]]) -> str | None:
    """The title of a story: the headline of its most central member.

    `members` are (headline, features) of the story's articles, in published order. A
    member's centrality is the cosine of its features to the sum of the other members'
    (each a unit vector), so the report that shares most with the rest names the story,
    not its first report or a side angle. Newsletter, live-blog and round-up headlines
    (`is_roundup`) are passed over while another headline exists; ties go to the earlier
    member. None when no member has a headline.
    """
    units: list[tuple[str, dict[str, float]]] = []
    for title, feats in members:
        if not title or not title.strip():
            continue
        norm = math.sqrt(sum(w * w for w in feats.values()))
        units.append((title.strip(), {t: w / norm for t, w in feats.items()} if norm else {}))
    if not units:
        return None
    plain = [u for u in units if not is_roundup(u[0])]
    candidates = plain or units
    total: dict[str, float] = defaultdict(float)
    for _, unit in units:
        for term, weight in unit.items():
            total[term] += weight
    best_title, best = candidates[0][0], -1.0
    for title, unit in candidates:
        # the sum of the others: the member's own vector left out
        score = sum(w * (total[t] - w) for t, w in unit.items())
        if score > best + 1e-9:
            best_title, best = title, score
    return best_title


@dataclass
class StorySettings:
    """How stories are formed; defaults tuned on the dev halves of bench/eval_stories.py."""

    window_days: float = 4.0  # a story takes no article more than this after its last one
    threshold: float = 0.28  # minimum (time-decayed) cosine to the story centroid to join it
    seed_threshold: float = 0.35  # minimum cosine to the story's first article to join it...
    seed_full_at: int = 3  # ...once the story has this many articles; scaled down before
    # Time decay: past `grace_days` after a story's last article, its cosine to a new article
    # halves every `half_life_days` (None: no decay, only the window's cut).
    half_life_days: float | None = 8.0
    grace_days: float = 1.5
    prior_docs: float = 5.0  # pseudo-articles containing no term: damps IDF while few are seen
    # Term statistics count the articles of this many days before the newest one, as the
    # warehouse does (the window before a run's first article, and the run); None: all seen.
    statistics_days: float | None = 5.0
    probe_terms: int = 12  # an article's most weighted terms used to look up candidate stories
    index_terms: int = 30  # an article's most weighted terms through which its story is found
    max_df: float = 0.05  # terms in more than this share of articles are not probed (too common)
    candidates: int = 10  # candidate stories scored in full


@dataclass
class StoredStory:
    """A story's state as the warehouse keeps it between runs (table `story_vectors`)."""

    story_id: str
    last: datetime | None  # the latest dated article (naive UTC)
    size: int  # articles joined
    terms: list[str]  # the centroid: sum of the unit vectors of its articles
    weights: list[float]
    indexed: int  # terms[:indexed] are the terms whose postings lead to the story
    norm: float  # of the centroid
    seed_terms: list[str]  # the unit vector of its first article, as it was when it opened
    seed_weights: list[float]


@dataclass(eq=False)
class _Story:
    story_id: str
    vector: dict[str, float] = field(default_factory=dict)  # sum of unit article vectors
    seed: dict[str, float] = field(default_factory=dict)  # unit vector of its first article
    norm2: float = 0.0
    norm: float = 0.0
    indexed: set[str] = field(default_factory=set)  # terms whose postings hold this story
    last: float | None = None  # epoch seconds of the latest dated article
    size: int = 0


def _value(item: tuple[str, float]) -> float:
    return item[1]


def _epoch(published_at: datetime | None) -> float | None:
    if published_at is None:
        return None
    if published_at.tzinfo is None:  # naive datetimes are taken as UTC
        published_at = published_at.replace(tzinfo=UTC)
    return published_at.timestamp()


class StoryIndex:
    """The open stories of a monitor and the term statistics to compare a new article with them."""

    def __init__(self, settings: StorySettings | None = None):
        self.settings = settings or StorySettings()
        self.docs = 0  # articles counted in `df`
        self.df: Counter[str] = Counter()
        # (published, n, terms) of the dated articles counted, to forget them as they age
        self._counted: list[tuple[float, int, tuple[str, ...]]] = []
        self.stories: dict[str, _Story] = {}
        self._postings: dict[str, set[_Story]] = defaultdict(set)
        self._expiry: list[tuple[float, str]] = []  # (last, story_id), checked lazily
        self._pending: list[tuple[str, float | None, Features]] = []
        self._hints: dict[str, list[StoredStory]] = defaultdict(list)  # article_id -> stored
        self._changed: dict[str, _Story] = {}  # opened or grown since the index was made

    def _vector(self, feats: Features, cache: dict[str, float] | None = None) -> dict[str, float]:
        """Unit tf-idf vector of an article, with the statistics as they are now (then frozen).

        `cache` keeps IDFs between calls while the statistics do not change (warm start).
        """
        scale = self.docs + self.settings.prior_docs + 1.0
        df = self.df
        if cache is None:
            vec = {t: w * math.log(scale / (df[t] + 1.0)) for t, w in feats.items()}
        else:
            vec = {}
            for t, w in feats.items():
                idf = cache.get(t)
                if idf is None:
                    idf = cache[t] = math.log(scale / (df[t] + 1.0))
                vec[t] = w * idf
        norm = math.sqrt(sum(v * v for v in vec.values()))
        return {t: v / norm for t, v in vec.items()} if norm else {}

    def _join(self, story: _Story, vec: dict[str, float], when: float | None) -> None:
        weights = story.vector
        if weights:
            norm2 = story.norm2
            for term, value in vec.items():
                old = weights.get(term, 0.0)
                new = old + value
                weights[term] = new
                norm2 += new * new - old * old
        else:  # a new story: its vector is the article's (a unit vector)
            weights.update(vec)
            norm2 = 1.0 if vec else 0.0
        # Only an article's strongest terms lead to its story: fewer, shorter postings.
        strongest = sorted(vec, key=vec.__getitem__, reverse=True)[: self.settings.index_terms]
        indexed = story.indexed
        postings = self._postings
        for term in strongest:
            if term not in indexed:
                indexed.add(term)
                postings[term].add(story)
        story.norm2 = norm2
        story.norm = math.sqrt(norm2)
        story.size += 1
        self._changed[story.story_id] = story
        if when is not None and (story.last is None or when > story.last):
            story.last = when
            heapq.heappush(self._expiry, (when, story.story_id))

    def _open(self, story_id: str, vec: dict[str, float], when: float | None) -> None:
        story = self.stories[story_id] = _Story(story_id, seed=vec)
        self._join(story, vec, when)

    def _count(self, when: float | None, feats: Features) -> None:
        self.docs += 1
        self.df.update(feats.keys())
        if when is not None:
            heapq.heappush(self._counted, (when, len(self._counted), tuple(feats)))

    def _forget_before(self, now: float) -> None:
        """Drop from the term statistics the articles older than `statistics_days` before
        `now`, as the warehouse counts only recent ones."""
        days = self.settings.statistics_days
        if days is None:
            return
        limit = now - days * _DAY
        counted = self._counted
        if not counted or counted[0][0] >= limit:
            return
        gone: list[tuple[str, ...]] = []
        while counted and counted[0][0] < limit:
            gone.append(heapq.heappop(counted)[2])
        self.docs -= len(gone)
        df = self.df
        # counted in C first: a common term is looked up once, not once per article
        for term, n in Counter(itertools.chain.from_iterable(gone)).items():
            left = df[term] - n
            if left > 0:
                df[term] = left
            else:
                del df[term]

    def _close_before(self, now: float) -> None:
        """Drop the stories whose last article is more than `window_days` before `now`."""
        limit = now - self.settings.window_days * _DAY
        while self._expiry and self._expiry[0][0] < limit:
            last, story_id = heapq.heappop(self._expiry)
            story = self.stories.get(story_id)
            if story is None or story.last != last:
                continue  # grown since (a later entry exists) or already closed
            for term in story.indexed:
                holders = self._postings.get(term)
                if holders is not None:
                    holders.discard(story)
                    if not holders:
                        del self._postings[term]
            del self.stories[story_id]

    def add_existing(
        self,
        story_id: str,
        published_at: datetime | None,
        feats: Features,
        article_id: str | None = None,
    ) -> None:
        """Warm start: an article already stored in `story_id` (give the recent ones, in any order).

        Every article given counts in the term statistics until it is more than
        `statistics_days` older than an article assigned; those more than `window_days`
        older than the newest given open no story. A story's seed is its first article (the
        one whose `article_id` is the story's id) when that is given and in the window, else
        the earliest of its articles given.
        """
        when = _epoch(published_at)
        self._count(when, feats)
        self._pending.append((article_id != story_id, story_id, when, feats))

    def _load_pending(self, now: float | None) -> None:
        # Vectors are built once all stored articles are counted, so they share one IDF.
        pending, self._pending = self._pending, []
        # founders first (a stable sort keeps the rest in the order given): they seed
        pending.sort(key=lambda item: item[0])
        dated = [when for _, _, when, _ in pending if when is not None]
        # A stored article opens a story only if it is within the window of the newest one
        # or of the first article to assign, whichever is earlier.
        newest = min(max(dated), now) if dated and now is not None else max(dated, default=None)
        oldest = None if newest is None else newest - self.settings.window_days * _DAY
        loaded = 0
        cache: dict[str, float] = {}
        for _, story_id, when, feats in pending:
            if oldest is not None and when is not None and when < oldest:
                continue
            vec = self._vector(feats, cache)
            story = self.stories.get(story_id)
            if story is None:
                self._open(story_id, vec, when)
            else:
                self._join(story, vec, when)
            loaded += 1
        log.debug(
            "warm start: %d stored articles, %d in %d open stories",
            len(pending),
            loaded,
            len(self.stories),
        )

    def attach(self, docs: int, df: Mapping[str, int]) -> None:
        """Warm start from stored stories: `docs` stored articles counted, of which `df[t]`
        contain term t (give at least every term of the articles to assign)."""
        self.docs += docs
        self.df.update(df)

    def vector(self, feats: Features) -> dict[str, float]:
        """An article's unit tf-idf vector with the statistics as they are now."""
        return self._vector(feats)

    def probes(self, vec: dict[str, float]) -> list[tuple[str, float]]:
        """The terms an article vector looks up candidate stories with: its most weighted
        terms that are not common, with the statistics as they are now."""
        s = self.settings
        common = max(s.max_df * self.docs, 50.0)  # small indexes: every term may probe
        df = self.df
        return heapq.nlargest(
            s.probe_terms, ((t, v) for t, v in vec.items() if df[t] <= common), key=_value
        )

    def hint(self, candidates: Mapping[str, Iterable[StoredStory]]) -> None:
        """Stored stories to score for given articles (article_id -> stories), besides the
        stories the index holds: the warehouse ranks its open stories for a whole batch in
        one query, so only the few that may win are loaded."""
        for article_id, stored in candidates.items():
            self._hints[article_id].extend(stored)

    def _hinted(self, article_id: str) -> list[_Story]:
        found = []
        for stored in self._hints.pop(article_id, ()):
            story = self.stories.get(stored.story_id)
            if story is None and stored.story_id not in self._changed:
                story = self._restore(stored)
            if story is not None:
                found.append(story)
        return found

    def _restore(self, stored: StoredStory) -> _Story:
        story = _Story(
            stored.story_id,
            dict(zip(stored.terms, stored.weights, strict=True)),
            dict(zip(stored.seed_terms, stored.seed_weights, strict=True)),
        )
        story.norm = stored.norm
        story.norm2 = stored.norm * stored.norm
        story.size = stored.size
        story.last = _epoch(stored.last)
        if story.last is not None:
            heapq.heappush(self._expiry, (story.last, story.story_id))
        for term in stored.terms[: stored.indexed]:
            story.indexed.add(term)
            self._postings[term].add(story)
        self.stories[story.story_id] = story
        return story

    def changed(self) -> list[StoredStory]:
        """The stories opened or grown since this index was made, to store for the next run."""
        stored = []
        for story in self._changed.values():
            # indexed terms first, so that the warehouse can rank by them with a list slice
            terms = sorted(story.indexed) + sorted(story.vector.keys() - story.indexed)
            last = story.last
            stored.append(
                StoredStory(
                    story.story_id,
                    None
                    if last is None
                    else datetime.fromtimestamp(last, UTC).replace(tzinfo=None),
                    story.size,
                    terms,
                    [story.vector[t] for t in terms],
                    len(story.indexed),
                    story.norm,
                    list(story.seed),
                    list(story.seed.values()),
                )
            )
        return stored

    def best(
        self, vec: dict[str, float], when: float | None, extra: Iterable[_Story] = ()
    ) -> tuple[str | None, float, float]:
        """The most similar open story for an article vector and its cosine (None, 0.0 if
        none), and the highest cosine of any candidate story.

        Only stories whose seed (first article) is within `seed_threshold` of the article
        can be the most similar; the last figure counts the others too. `extra` stories are
        scored besides the candidates the postings give.
        """
        s = self.settings
        partial: dict[_Story, float] = defaultdict(float)
        postings = self._postings
        for term, value in self.probes(vec):
            for story in postings.get(term, ()):
                partial[story] += value * story.vector[term]
        ranked = [
            story
            for story, _ in heapq.nlargest(
                s.candidates, partial.items(), key=lambda kv: kv[1] / kv[0].norm
            )
        ]
        ranked += [story for story in extra if story not in partial]
        if not ranked:
            return None, 0.0, 0.0
        limit = None if when is None else when - s.window_days * _DAY
        best_id, best, closest = None, 0.0, 0.0
        for story in ranked:
            if limit is not None and story.last is not None and story.last < limit:
                continue  # outside the window (the heap closes it at the next dated article)
            weights = story.vector
            if not story.norm:
                continue
            cosine = sum(v * weights.get(t, 0.0) for t, v in vec.items()) / story.norm
            if s.half_life_days and when is not None and story.last is not None:
                gap = max(0.0, when - story.last - s.grace_days * _DAY) / _DAY
                cosine *= 0.5 ** (gap / s.half_life_days)
            closest = max(closest, cosine)
            if cosine <= best:
                continue
            if story.size > 1:  # a story of one article: its seed is its centroid
                seed = story.seed
                # A story of two has drifted one step at most: the test grows with the story.
                need = s.seed_threshold * min(1.0, (story.size - 1) / max(s.seed_full_at - 1, 1))
                if sum(v * seed.get(t, 0.0) for t, v in vec.items()) < need:
                    continue  # the story has drifted away from what the article is about
            best_id, best = story.story_id, cosine
        return best_id, best, closest

    def assign(
        self, article_id: str, published_at: datetime | None, feats: Features
    ) -> tuple[str, float, bool]:
        """Put an article in the most similar open story or open one: (story_id, score, opened).

        A new story's id is the article's id. The score is the cosine to the story joined,
        or, for an article that opens a story, the highest cosine to any candidate story
        (below the threshold, or a story whose seed is too far from the article). Call in
        published order; with published_at None time is ignored and every open story is a
        candidate.
        """
        when = _epoch(published_at)
        if self._pending:
            self._load_pending(when)
        if when is not None:
            self._close_before(when)
            self._forget_before(when)
        self._count(when, feats)
        vec = self._vector(feats)
        story_id, score, closest = self.best(
            vec, when, self._hinted(article_id) if self._hints else ()
        )
        if story_id is not None and score >= self.settings.threshold:
            self._join(self.stories[story_id], vec, when)
            return story_id, score, False
        if article_id in self.stories:  # assigned twice: it stays in the story it opened
            self._join(self.stories[article_id], vec, when)
            return article_id, closest, False
        self._open(article_id, vec, when)
        return article_id, closest, True
