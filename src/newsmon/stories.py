"""Story grouping: reports of one event, from any outlet and over several days, share a story.

Each article is reduced once to `features`: a small dict of term weights (light stems, names,
numbers) that the warehouse stores and reloads. A `StoryIndex` holds the stories still open
(last article less than `window_days` before the new one) and assigns each new article, in
published order, to the most similar open story, or opens a new story.

Similarity is the cosine between the article and a story's centroid, weighted by an inverse
document frequency learnt from the articles the index has seen. Two events of one kind with
the same actors (two rounds of talks, two arrests of players of one team) share most of
their words; what tells them apart is the rarer terms (the other player, the other palace,
the new figures) and time: a story closes `window_days` after its last article, so a
later event cannot join it through the words they share.

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
"""

from __future__ import annotations

import heapq
import logging
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

log = logging.getLogger(__name__)

# term -> weight, at most MAX_TERMS entries: stored per article as JSON or a DuckDB MAP.
Features = dict[str, float]
# Bumped whenever features() changes. Stored features of another version are computed again
# from the article's text when the story stage next rebuilds its open stories.
FEATURES_VERSION = 2  # 2: sentence-case headlines mark names as running text does

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

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+(?:[.,]\d+)*", re.UNICODE)
# What may precede the first word of a sentence (a capital there is not a name).
_SENTENCE_START = re.compile(r"(?:[.!?:;\"“”«»()\[\]]|``|''|\n|^)\s*$")


def _stem(word: str) -> str:
    """A light English stem so that plural and -ed/-ing forms meet ("talks", "talked" -> "talk")."""
    n = len(word)
    if n <= 3:
        return word
    if word.endswith("ies") and n > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    n = len(word)
    if word.endswith("ing") and n > 5:
        word = word[:-3]
    elif word.endswith("ied") and n > 4:
        return word[:-3] + "y"
    elif word.endswith("ed") and n > 4:
        word = word[:-2]
    else:
        return word[:-1] if word.endswith("e") and n > 4 else word
    # "stopped" -> "stopp" -> "stop"
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]
    return word


def _tokens(text: str, *, in_title: bool) -> list[tuple[str, bool]]:
    """(key, is_name) for each content token: lower-cased word, or number without separators.

    A capital inside a sentence marks a name, and so does one opening a sentence when the
    next word is a name too ("Mary Horomanski said"). Titles capitalise every word, so they
    mark none.
    """
    out: list[tuple[str, bool]] = []
    opener = -1  # index in `out` of a capitalised word opening a sentence, while it may be a name
    previous_end = 0
    for match in _WORD.finditer(text):
        token = match.group()
        start = match.start()
        follows = opener >= 0 and text[previous_end:start].isspace()
        previous_end = match.end()
        if token[0].isdigit():
            opener = -1
            number = token.replace(",", "") if "," in token else token
            if len(number) >= 2:  # single digits are everywhere
                out.append((number, False))
            continue
        lower = token.casefold()
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

    Keys: names (capitalised inside sentences) as "Medinsky", other words as lower-case light
    stems ("prisoner", "exchang"), numbers without separators ("1000"). Values: positive
    weights (log of the position-weighted count, names doubled), 3 decimals, the MAX_TERMS
    largest kept. An empty dict means the article has nothing to compare.
    """
    counts: dict[str, float] = defaultdict(float)
    names: set[str] = set()
    if text:
        text = unicodedata.normalize("NFKC", text).replace("’", "'")
        for i, (key, is_name) in enumerate(_tokens(text, in_title=False)):
            if i < LEAD_TOKENS:
                weight = 1.0
            else:
                weight = max(TAIL_WEIGHT, 1.0 - (i - LEAD_TOKENS) / (4 * LEAD_TOKENS))
            if is_name:
                names.add(key)
            counts[key] += weight
    if title:
        title = unicodedata.normalize("NFKC", title).replace("’", "'")
        sentence = _sentence_case(title)
        for key, is_name in _tokens(title, in_title=not sentence):
            if is_name:
                names.add(key)
            counts[key] += TITLE_WEIGHT
    weights: dict[str, float] = defaultdict(float)
    for key, count in counts.items():
        # log of a faint tail mention is negative; floor it so the word still counts a little
        weight = max(1.0 + math.log(count), 0.1)
        if key in names:
            weights[key.capitalize()] += weight * NAME_WEIGHT
        else:
            weights[_stem(key)] += weight
    top = heapq.nlargest(MAX_TERMS, weights.items(), key=lambda kv: (kv[1], kv[0]))
    return {key: round(weight, 3) for key, weight in top}


@dataclass
class StorySettings:
    """How stories are formed; defaults tuned on bench/eval_stories.py (see its docstring)."""

    window_days: float = 4.0  # a story takes no article more than this after its last one
    threshold: float = 0.36  # minimum cosine to the story centroid to join it
    seed_threshold: float = 0.15  # minimum cosine to the story's first article to join it
    prior_docs: float = 10.0  # pseudo-articles containing no term: damps IDF while few are seen
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

        Every article given counts in the term statistics; those more than `window_days`
        older than the newest given open no story. A story's seed is its first article (the
        one whose `article_id` is the story's id) when that is given and in the window, else
        the earliest of its articles given.
        """
        self.docs += 1
        self.df.update(feats.keys())
        self._pending.append((article_id != story_id, story_id, _epoch(published_at), feats))

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
            closest = max(closest, cosine)
            if cosine <= best:
                continue
            if story.size > 1:  # a story of one article: its seed is its centroid
                seed = story.seed
                if sum(v * seed.get(t, 0.0) for t, v in vec.items()) < s.seed_threshold:
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
        self.docs += 1
        self.df.update(feats.keys())
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
