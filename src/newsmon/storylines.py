"""Storylines: events (stories) linked over weeks through shared actors, places and words.

A story answers "what happened" (the first round of talks on 16 May); a storyline answers
"how does the situation develop" (the rounds, the prisoner exchange and what follows). Each
new story is compared, once, with the storylines seen within `window_days` of it. Its
profile is two unit vectors: the words of its centroid (the story stage's tf-idf terms)
and the entities its articles mention (the share of its articles naming each). The score
is a weighted sum of the two cosines; both must show some overlap, so that a shared place
alone ("Turkey" in a rate decision) or shared vocabulary alone does not link two events,
and the entities shared must include people or organisations (or two countries: a pair of
parties), not only places.
The best storyline at or above the threshold takes the story, otherwise the story opens a
storyline of its own. The link is kept with its score and what the two share.

`StorylineIndex` is the model (pure, used by bench/eval_storylines.py); `assign` runs it
against the warehouse inside the load's transaction.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

import duckdb
import pyarrow as pa

from newsmon.stories import features

log = logging.getLogger(__name__)

Vector = dict[str, float]
LEAD_CHARS = 300  # title + the start of the text: where an article names what it is about


@dataclass
class StorylineSettings:
    """How events are linked into storylines (tuned on bench/eval_storylines.py, dev sets)."""

    window_days: float = 60.0  # a storyline takes no event first seen more than this after its last
    threshold: float = 0.25  # minimum score to join a storyline
    word_weight: float = 0.5  # the score: word_weight * words + (1 - word_weight) * entities
    min_words: float = 0.05  # both cosines must reach these: one kind of overlap is not enough
    min_actors: float = 0.10  # people and organisations: shared places alone do not link
    place_words: float = 0.30  # ...unless the words meet this well too (one shooting's city)
    named_in_words: bool = True  # an entity of one side named in the other's words is shared
    terms: int = 40  # a profile keeps its most weighted terms
    entities: int = 20  # and entities


@dataclass
class StoryProfile:
    """One event as the storyline stage sees it."""

    story_id: str
    first_at: datetime | None
    last_at: datetime | None
    words: Vector  # term -> weight
    entities: Vector  # 'kind:name' -> mention_weight summed over its articles / articles
    size: int = 1  # articles


@dataclass
class Link:
    """A story's storyline, with the score and the shared entities and words that made it."""

    story_id: str
    storyline_id: str
    score: float
    shared: str  # 'opened' for the first event of a storyline


@dataclass(eq=False)
class _Storyline:
    storyline_id: str
    words: Vector = field(default_factory=dict)  # sum of its events' unit vectors
    entities: Vector = field(default_factory=dict)
    last_at: datetime | None = None
    size: int = 0  # events
    norm: float = 0.0  # of `words`, kept with them


def mention_weight(count: int, first_offset: int | None) -> float:
    """How much one article's mentions of an entity say about what it is about: more for
    more mentions, and more when the entity is named in the headline or the lead."""
    lead = first_offset is not None and first_offset < LEAD_CHARS
    return math.log1p(count) + (1.0 if lead else 0.0)


def unit(vector: Mapping[str, float], keep: int) -> Vector:
    """The `keep` largest entries of a vector, scaled to unit length."""
    top = sorted(vector.items(), key=lambda kv: (-kv[1], kv[0]))[:keep]
    norm = math.sqrt(sum(v * v for _, v in top))
    return {k: v / norm for k, v in top} if norm else {}


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na and nb else 0.0


class StorylineIndex:
    """The storylines open to new events, and the linking rule."""

    def __init__(self, settings: StorylineSettings | None = None):
        self.settings = settings or StorylineSettings()
        self.storylines: dict[str, _Storyline] = {}
        # The word cosines of an event with every storyline in one sparse product: the
        # storylines' words as rows of a matrix, built when many are not in it yet; the
        # storylines opened or changed since are scored in Python (`_fresh`).
        self._rows: list[_Storyline] = []
        self._matrix = None  # scipy.sparse CSR, one row per storyline in `_rows`
        self._columns: dict[str, int] = {}  # term -> column
        self._norms = None  # numpy array of the rows' norms
        self._fresh: set[_Storyline] = set()  # not in the matrix, or changed since

    def add_existing(
        self,
        storyline_id: str,
        last_at: datetime | None,
        words: Vector,
        entities: Vector,
        size: int,
    ) -> None:
        """A storyline stored by an earlier run."""
        storyline = _Storyline(storyline_id, {}, dict(entities), last_at, size)
        self.storylines[storyline_id] = storyline
        self._learn_words(storyline, words)

    def _learn_words(self, storyline: _Storyline, words: Mapping[str, float]) -> None:
        for term, weight in words.items():
            storyline.words[term] = storyline.words.get(term, 0.0) + weight
        storyline.norm = math.sqrt(sum(v * v for v in storyline.words.values()))
        self._fresh.add(storyline)

    def _index(self) -> None:
        """Put every storyline's words in the matrix (when enough are outside it)."""
        import numpy as np
        from scipy.sparse import csr_matrix

        self._rows = list(self.storylines.values())
        columns: dict[str, int] = {}
        indptr, indices, data = [0], [], []
        for storyline in self._rows:
            for term, weight in storyline.words.items():
                indices.append(columns.setdefault(term, len(columns)))
                data.append(weight)
            indptr.append(len(indices))
        self._columns = columns
        self._matrix = csr_matrix(
            (np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64), indptr),
            shape=(len(self._rows), max(len(columns), 1)),
        )
        self._norms = np.array([s.norm for s in self._rows], dtype=np.float64)
        self._fresh = set()

    def _candidates(self, words: Vector) -> list[tuple[_Storyline, float]]:
        """The storylines whose word cosine with `words` reaches min_words, with the cosine
        computed exactly as a sum over the event's terms in order (the sparse product only
        chooses them, with a margin for its rounding)."""
        import numpy as np

        if len(self._fresh) > max(64, len(self.storylines) // 8):
            self._index()
        chosen: list[_Storyline] = list(self._fresh)
        if self._matrix is not None and self._rows:
            cols = [(self._columns[t], w) for t, w in words.items() if t in self._columns]
            if cols:
                vec = np.zeros(self._matrix.shape[1])
                for c, w in cols:
                    vec[c] = w
                dots = self._matrix @ vec
                with np.errstate(divide="ignore", invalid="ignore"):
                    cos = np.where(self._norms > 0, dots / self._norms, 0.0)
                for i in np.flatnonzero(cos >= self.settings.min_words - 1e-9):
                    storyline = self._rows[i]
                    if storyline not in self._fresh:
                        chosen.append(storyline)
        out = []
        for storyline in chosen:
            dot, hit = 0.0, False
            for term, weight in words.items():
                value = storyline.words.get(term)
                if value is not None:
                    dot += weight * value
                    hit = True
            if hit:
                out.append((storyline, dot / storyline.norm if storyline.norm else 0.0))
        return out

    def _open(self, storyline: _Storyline, when: datetime | None) -> bool:
        if when is None or storyline.last_at is None:
            return True
        return when - storyline.last_at <= timedelta(days=self.settings.window_days)

    def score(
        self, profile: StoryProfile, storyline: _Storyline, words: float | None = None
    ) -> tuple[float, float, float]:
        """(score, word cosine, actor cosine) of an event against a storyline (`words`: the
        word cosine when the caller has it).

        The score weighs the words and every entity; the actor cosine counts people and
        organisations only: two events that share only places (a city's snowfall record
        and its utility's billing error) are not one storyline.
        """
        s = self.settings
        if words is None:
            words = cosine(profile.words, storyline.words)
        mine, theirs = self._entities(profile, storyline, words)
        entities = cosine(mine, theirs)
        actors = cosine(_actors(mine), _actors(theirs))
        shared = _countries(mine) & _countries(theirs)
        if len(shared) >= 2:
            # Two countries in both (Russia and Ukraine) are parties, not a setting: a pair
            # is as specific as a person, where one country alone ("Turkey") is not.
            actors = max(actors, cosine(_actors(mine, shared), _actors(theirs, shared)))
        if words >= s.place_words and _places(mine) & _places(theirs):
            # A shared city with much shared vocabulary is one happening's setting (the
            # shooting in a city and the inquiry into it), where a city alone is not.
            actors = max(actors, s.min_actors)
        w = s.word_weight
        return w * words + (1 - w) * entities, words, actors

    def _entities(
        self, profile: StoryProfile, storyline: _Storyline, words: float
    ) -> tuple[Vector, Vector]:
        """The entities of an event and of a storyline, as compared.

        The entity stage misses names ("Equifax" found in one report, not in the next): an
        entity of one side whose every word is among the other side's terms counts as named
        there too. Only for pairs whose words already meet, so the cost stays low.
        """
        mine, theirs = profile.entities, storyline.entities
        if self.settings.named_in_words and words >= self.settings.min_words:
            mine, theirs = (
                _with_named(mine, theirs, profile.words),
                _with_named(theirs, mine, storyline.words),
            )
        return mine, theirs

    def link(self, profile: StoryProfile) -> Link:
        """Put an event in the best open storyline, or open one; the storyline learns it."""
        s = self.settings
        words = unit(profile.words, s.terms)
        entities = unit(profile.entities, s.entities)
        event = StoryProfile(
            profile.story_id, profile.first_at, profile.last_at, words, entities, profile.size
        )
        best: tuple[float, str] | None = None
        for storyline, cos in self._candidates(words):
            if cos < s.min_words or not self._open(storyline, profile.first_at):
                continue
            total, w, e = self.score(event, storyline, cos)
            passes = total >= s.threshold and w >= s.min_words and e >= s.min_actors
            if passes and (best is None or (total, storyline.storyline_id) > best):
                best = (total, storyline.storyline_id)
        if best is None:
            storyline = self.storylines[profile.story_id] = _Storyline(profile.story_id)
            link = Link(profile.story_id, profile.story_id, 1.0, "opened")
        else:
            storyline = self.storylines[best[1]]
            mine, theirs = self._entities(event, storyline, s.min_words)
            link = Link(
                profile.story_id,
                best[1],
                round(best[0], 3),
                _shared(mine, theirs, event.words, storyline.words),
            )
        self._learn_words(storyline, words)
        _add(storyline.entities, entities)
        storyline.size += 1
        when = profile.last_at or profile.first_at
        if when is not None and (storyline.last_at is None or when > storyline.last_at):
            storyline.last_at = when
        return link


def _actors(entities: Mapping[str, float], countries: Iterable[str] = ()) -> Vector:
    """People and organisations (and these countries) of a profile."""
    keep = set(countries)
    return {
        k: v for k, v in entities.items() if k.startswith(("person:", "organisation:")) or k in keep
    }


def _countries(entities: Mapping[str, float]) -> set[str]:
    return {k for k in entities if k.startswith("country:")}


def _places(entities: Mapping[str, float]) -> set[str]:
    return {k for k in entities if k.startswith("place:")}


@lru_cache(maxsize=65536)
def name_terms(entity: str) -> frozenset[str]:
    """The term keys of an entity's name, as the story stage keys words ("person:Mara
    Quell" -> {"mara", "quell"}): a name and its words in a text meet."""
    return frozenset(features(None, entity.split(":", 1)[-1]))


def _with_named(entities: Vector, other: Mapping[str, float], words: Mapping[str, float]) -> Vector:
    """`entities` and the entities of `other` that `words` name (all of a name's terms are
    among them), weighted as the weakest of those terms, on the scale of `entities`."""
    words_norm = math.sqrt(sum(v * v for v in words.values()))
    if not words_norm:
        return entities
    scale = (math.sqrt(sum(v * v for v in entities.values())) or 1.0) / words_norm
    out = None
    for name in other.keys() - entities.keys():
        terms = name_terms(name)
        if terms and all(t in words for t in terms):
            if out is None:
                out = dict(entities)
            out[name] = min(words[t] for t in terms) * scale
    return entities if out is None else out


def _add(total: Vector, part: Mapping[str, float]) -> None:
    for k, v in part.items():
        total[k] = total.get(k, 0.0) + v


def _shared(
    entities: Vector, their_entities: Vector, words: Vector, their_words: Vector, top: int = 4
) -> str:
    """What an event shares with a storyline, strongest first: 'entities: ...; words: ...'."""

    def strongest(a: Vector, b: Vector) -> list[str]:
        common = sorted(((a[k] * b[k], k) for k in a.keys() & b.keys()), reverse=True)
        return [k for _, k in common[:top]]

    parts = []
    if names := strongest(entities, their_entities):
        parts.append("entities: " + ", ".join(n.split(":", 1)[-1] for n in names))
    if terms := strongest(words, their_words):
        parts.append("words: " + ", ".join(terms))
    return "; ".join(parts)


# -- the warehouse ------------------------------------------------------------------------


def assign(
    con: duckdb.DuckDBPyConnection, story_ids: Iterable[str], settings: StorylineSettings
) -> int:
    """Link the stories among `story_ids` that have no storyline yet; refresh the storylines
    of all of them (`storylines`, `stories.storyline_id`, `articles.storyline_id`).

    Runs inside the caller's transaction, after the stories, their vectors and their
    articles' mentions are stored. Returns the storylines opened.
    """
    ids = sorted(set(story_ids))
    if not ids:
        return 0
    known = {
        row[0]
        for row in con.execute(
            "SELECT story_id FROM storyline_links WHERE story_id IN (SELECT unnest(?))", [ids]
        ).fetchall()
    }
    new = [i for i in ids if i not in known]
    opened = 0
    if new:
        profiles = _profiles(con, new, settings)
        ordered = sorted(profiles, key=lambda p: (p.first_at or datetime.min, p.story_id))
        index = StorylineIndex(settings)
        if ordered:
            since = (ordered[0].first_at or datetime.min) - timedelta(days=settings.window_days)
            # Only the stored storylines an event of the batch can reach: the others cannot
            # be linked (a storyline the batch changes is in the index from then on).
            for row in con.execute(
                "SELECT storyline_id, last_at, terms, weights, entities, entity_weights, size "
                "FROM storyline_vectors WHERE storyline_id IN (SELECT unnest(?))",
                [_reachable(con, ordered, settings, since)],
            ).fetchall():
                sid, last_at, terms, weights, names, name_weights, size = row
                index.add_existing(
                    sid,
                    last_at,
                    dict(zip(terms, weights, strict=True)),
                    dict(zip(names, name_weights, strict=True)),
                    size,
                )
        links = [index.link(p) for p in ordered]
        opened = sum(link.shared == "opened" for link in links)
        _insert(
            con,
            "storyline_links",
            _LINK_SCHEMA,
            [(x.story_id, x.storyline_id, x.score, x.shared) for x in links],
        )
        changed = {x.storyline_id for x in links}
        _insert(
            con,
            "storyline_vectors",
            _VECTOR_SCHEMA,
            [_vector_row(index.storylines[s]) for s in sorted(changed)],
        )
    _refresh(con, ids)
    return opened


def _reachable(
    con: duckdb.DuckDBPyConnection,
    profiles: list[StoryProfile],
    settings: StorylineSettings,
    since: datetime,
) -> list[str]:
    """The open stored storylines whose word cosine with one of these events reaches
    `min_words` (less a margin for the order of the sums), computed in the warehouse: reading
    every open storyline into Python cost seconds a cycle at 100,000 stored articles."""
    rows = [
        (n, term, weight)
        for n, profile in enumerate(profiles)
        for term, weight in unit(profile.words, settings.terms).items()
    ]
    if not rows:
        return []
    events = pa.table(
        {
            "event": pa.array([r[0] for r in rows], pa.int64()),
            "term": pa.array([r[1] for r in rows], pa.string()),
            "weight": pa.array([r[2] for r in rows], pa.float64()),
        }
    )
    con.register("_storylines_batch_words", events)
    try:
        found = con.execute(
            """
            WITH words AS (
                SELECT storyline_id, unnest(terms) AS term, unnest(weights) AS weight
                FROM storyline_vectors WHERE last_at IS NULL OR last_at >= ?
            ),
            norms AS (
                SELECT storyline_id, sqrt(sum(weight * weight)) AS norm
                FROM words GROUP BY storyline_id
            ),
            dots AS (
                SELECT w.storyline_id, b.event, sum(b.weight * w.weight) AS dot
                FROM words AS w JOIN _storylines_batch_words AS b USING (term)
                GROUP BY ALL
            )
            SELECT DISTINCT d.storyline_id
            FROM dots AS d JOIN norms AS n USING (storyline_id)
            WHERE n.norm > 0 AND d.dot / n.norm >= ?
            ORDER BY 1
            """,
            [since, settings.min_words - 1e-9],
        ).fetchall()
    finally:
        con.unregister("_storylines_batch_words")
    return [storyline_id for (storyline_id,) in found]


def rebuild(con: duckdb.DuckDBPyConnection, settings: StorylineSettings) -> int:
    """Forget every storyline and link all stored stories again (`link_all`)."""
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("storyline_links", "storyline_vectors", "storylines"):
            con.execute(f"DELETE FROM {table}")
        con.execute("UPDATE stories SET storyline_id = NULL WHERE storyline_id IS NOT NULL")
        con.execute("UPDATE articles SET storyline_id = NULL WHERE storyline_id IS NOT NULL")
        con.execute("COMMIT")
    except duckdb.Error:
        con.execute("ROLLBACK")
        raise
    return link_all(con, settings)


def link_all(con: duckdb.DuckDBPyConnection, settings: StorylineSettings, batch: int = 2000) -> int:
    """Link every stored story that has no storyline yet, oldest first, a transaction per
    `batch` stories (`newsmon reprocess`; a warehouse from before storylines). Returns the
    storylines opened."""
    opened = 0
    while ids := [
        row[0]
        for row in con.execute(
            "SELECT story_id FROM stories WHERE story_id NOT IN "
            "(SELECT story_id FROM storyline_links) ORDER BY first_seen_at, story_id LIMIT ?",
            [batch],
        ).fetchall()
    ]:
        con.execute("BEGIN TRANSACTION")
        try:
            opened += assign(con, ids, settings)
            con.execute("COMMIT")
        except duckdb.Error:
            con.execute("ROLLBACK")
            raise
    return opened


_LINK_SCHEMA = pa.schema(
    [
        ("story_id", pa.string()),
        ("storyline_id", pa.string()),
        ("score", pa.float64()),
        ("shared", pa.string()),
    ]
)
_VECTOR_SCHEMA = pa.schema(
    [
        ("storyline_id", pa.string()),
        ("last_at", pa.timestamp("us")),
        ("size", pa.int64()),
        ("terms", pa.list_(pa.string())),
        ("weights", pa.list_(pa.float64())),
        ("entities", pa.list_(pa.string())),
        ("entity_weights", pa.list_(pa.float64())),
    ]
)


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, schema: pa.Schema, rows: list[tuple]
) -> None:
    """INSERT OR REPLACE the rows in one statement (executemany costs milliseconds a row,
    and raises on an empty list)."""
    data = pa.Table.from_pylist([dict(zip(schema.names, r, strict=True)) for r in rows], schema)
    view = f"_storylines_{table}"
    con.register(view, data)
    try:
        names = ", ".join(schema.names)
        con.execute(f"INSERT OR REPLACE INTO {table} ({names}) SELECT {names} FROM {view}")
    finally:
        con.unregister(view)


def _vector_row(storyline: _Storyline) -> tuple:
    words = sorted(storyline.words.items(), key=lambda kv: (-kv[1], kv[0]))
    names = sorted(storyline.entities.items(), key=lambda kv: (-kv[1], kv[0]))
    return (
        storyline.storyline_id,
        storyline.last_at,
        storyline.size,
        [k for k, _ in words],
        [v for _, v in words],
        [k for k, _ in names],
        [v for _, v in names],
    )


def _profiles(
    con: duckdb.DuckDBPyConnection, story_ids: list[str], settings: StorylineSettings
) -> list[StoryProfile]:
    """The profiles of these stories from their stored centroids and their articles' mentions."""
    rows = con.execute(
        """
        SELECT s.story_id, s.first_seen_at, s.last_seen_at, s.article_count,
               v.terms, v.weights
        FROM stories AS s LEFT JOIN story_vectors AS v USING (story_id)
        WHERE s.story_id IN (SELECT unnest(?))
        """,
        [story_ids],
    ).fetchall()
    mentions: dict[str, Vector] = {}
    for story_id, kind, name, share in con.execute(
        """
        SELECT a.story_id, e.kind, e.name,
               sum(ln(1 + m.count) + CASE WHEN m.first_offset < ? THEN 1 ELSE 0 END)
                   / any_value(s.article_count) AS share
        FROM articles AS a
        JOIN mentions AS m USING (article_id)
        JOIN entities AS e USING (entity_id)
        JOIN stories AS s ON s.story_id = a.story_id
        WHERE a.story_id IN (SELECT unnest(?))
        GROUP BY ALL
        """,
        [LEAD_CHARS, story_ids],
    ).fetchall():
        mentions.setdefault(story_id, {})[f"{kind}:{name}"] = float(share)
    # A story whose centroid is not kept (closed before centroids were stored): the sum of
    # its articles' stored term weights instead.
    summed: dict[str, Vector] = {}
    lacking = [row[0] for row in rows if row[4] is None]
    if lacking:
        for story_id, term, weight in con.execute(
            """
            SELECT story_id, term, sum(weight)
            FROM (
                SELECT a.story_id, unnest(f.terms) AS term, unnest(f.weights) AS weight
                FROM articles AS a JOIN article_features AS f USING (article_id)
                WHERE a.story_id IN (SELECT unnest(?))
            )
            GROUP BY ALL
            """,
            [lacking],
        ).fetchall():
            summed.setdefault(story_id, {})[term] = weight
    profiles = []
    for story_id, first_at, last_at, size, terms, weights in rows:
        words = dict(zip(terms, weights, strict=True)) if terms else summed.get(story_id, {})
        profiles.append(
            StoryProfile(story_id, first_at, last_at, words, mentions.get(story_id, {}), size)
        )
    return profiles


def _refresh(con: duckdb.DuckDBPyConnection, story_ids: list[str]) -> None:
    """Recompute the storylines of these stories and copy their ids to stories and articles."""
    con.execute(
        """
        UPDATE stories AS s SET storyline_id = l.storyline_id
        FROM storyline_links AS l
        WHERE s.story_id = l.story_id AND s.story_id IN (SELECT unnest(?))
        """,
        [story_ids],
    )
    con.execute(
        """
        UPDATE articles AS a SET storyline_id = l.storyline_id
        FROM storyline_links AS l
        WHERE a.story_id = l.story_id AND a.story_id IN (SELECT unnest(?))
          AND a.storyline_id IS DISTINCT FROM l.storyline_id
        """,
        [story_ids],
    )
    con.execute(
        """
        INSERT OR REPLACE INTO storylines
        SELECT l.storyline_id,
               -- the most central title: of its largest event, the event's own title
               arg_max(s.title, (s.article_count, s.outlet_count, s.first_seen_at)) AS title,
               min(s.first_seen_at), max(s.last_seen_at), count(*) AS event_count,
               sum(s.article_count) AS article_count,
               -- an outlet is the feed's publisher (feeds.outlet, README "Outlets")
               (SELECT count(DISTINCT coalesce(f.outlet, a.feed_id))
                FROM articles AS a LEFT JOIN feeds AS f ON f.feed_id = a.feed_id
                WHERE a.storyline_id = l.storyline_id) AS outlet_count
        FROM storyline_links AS l JOIN stories AS s USING (story_id)
        WHERE l.storyline_id IN (
            SELECT storyline_id FROM storyline_links WHERE story_id IN (SELECT unnest(?)))
        GROUP BY l.storyline_id
        """,
        [story_ids],
    )
