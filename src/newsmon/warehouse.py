"""The DuckDB warehouse: migrations, views, look-ups for deduplication and the per-cycle load."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
from rapidfuzz import fuzz, process

from newsmon import storylines
from newsmon.dedup import Known, Link, NearCandidate, Prepared
from newsmon.entities import ArticleEntities, EntityRef
from newsmon.errors import WarehouseError, WarehouseLocked
from newsmon.extract import Article
from newsmon.feeds import Entry, FeedStatus
from newsmon.schedule import PageRetry, PollState
from newsmon.stories import FEATURES_VERSION, StoredStory, central_title
from newsmon.storylines import StorylineSettings

log = logging.getLogger(__name__)

_MIGRATION = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@cache
def sql_dir() -> Path:
    """The warehouse/ folder: in the source tree, or packaged as newsmon/_warehouse."""
    packaged = resources.files("newsmon") / "_warehouse"
    if packaged.is_dir():
        return Path(str(packaged))
    source_tree = Path(__file__).resolve().parents[2] / "warehouse"
    if source_tree.is_dir():
        return source_tree
    raise WarehouseError("cannot find the warehouse SQL folder (migrations/, views/)")


def migrations() -> list[tuple[int, str, Path]]:
    """Numbered migration files, in order."""
    found = []
    for path in sorted((sql_dir() / "migrations").glob("*.sql")):
        match = _MIGRATION.match(path.name)
        if not match:
            raise WarehouseError(f"migration file name must look like 0001_name.sql: {path.name}")
        found.append((int(match[1]), match[2], path))
    return found


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations, each in its own transaction, then (re)create the views."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, path in migrations():
        if version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(path.read_text(encoding="utf-8"))
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)", [version, name]
            )
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise WarehouseError(f"migration {path.name} failed: {exc}") from exc
        applied.append(path.name)
        log.info("applied migration %s", path.name)
    for path in sorted((sql_dir() / "views").glob("*.sql")):
        con.execute(path.read_text(encoding="utf-8"))
    return applied


_migrated: set[tuple[str, int]] = set()


# A new warehouse is written in the storage format of this DuckDB release, so that the
# `duckdb` command-line client the package registry offers (duckdb-cli 1.5.x; duckdb 2.0's
# own format is newer) opens it and its snapshot. Set only when a file is created.
STORAGE_VERSION = "v1.5.0"


def _open(path: Path, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, retrying with backoff while another process holds the file."""
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            if not read_only and not path.exists():
                return duckdb.connect(
                    str(path), config={"storage_compatibility_version": STORAGE_VERSION}
                )
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise WarehouseError(f"{path}: cannot open the warehouse: {exc}") from exc
            if time.monotonic() + delay > deadline:
                raise WarehouseLocked(
                    f"{path}: another process holds the warehouse "
                    f"(waited {wait:g}s): {str(exc).splitlines()[0]}"
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        except duckdb.Error as exc:
            raise WarehouseError(f"{path}: cannot open the warehouse: {exc}") from exc


@contextmanager
def connect(
    path: str | Path, read_only: bool = False, wait: float = 0.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (creating and migrating it when writable) and close it afterwards.

    DuckDB lets one process write or several read, not both: while another process holds
    the file this retries with backoff for `wait` seconds, then raises WarehouseLocked.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(f"{path}: no warehouse here yet (run `newsmon run` first)")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, read_only, wait)
    try:
        # One process migrates a file once; later connections of a run skip it. The
        # inode tells a file deleted and created anew (for example under a long-lived
        # Prefect worker) from the one already migrated.
        key = (str(path.resolve()), path.stat().st_ino)
        if not read_only and key not in _migrated:
            migrate(con)
            _migrated.add(key)
        yield con
    finally:
        con.close()


def _arrow(rows: Sequence[object], schema: pa.Schema) -> pa.Table:
    columns = {name: [getattr(row, name) for row in rows] for name in schema.names}
    return pa.table(columns, schema=schema)


_KEYS_SCHEMA = pa.schema(
    [("article_id", pa.string()), ("guid", pa.string()), ("canonical_url", pa.string())]
)


def due_page_retries(
    con: duckdb.DuckDBPyConnection, now: datetime, limit: int
) -> list[tuple[Entry, int]]:
    """Stored articles whose page is due to be fetched again, the longest waiting first,
    as feed entries with the page fetches made so far."""
    if limit <= 0:
        return []
    rows = con.execute(
        """
        SELECT article_id, feed_id, guid, url, canonical_url, title, summary, author,
               published_at, language, entry_hash, fetch_attempts
        FROM articles
        WHERE fetch_retry_at <= ? AND url IS NOT NULL
        ORDER BY fetch_retry_at, article_id
        LIMIT ?
        """,
        [now, limit],
    ).fetchall()
    return [(Entry(*row[:-1]), row[-1] or 0) for row in rows]


def known_keys(con: duckdb.DuckDBPyConnection, entries: Sequence[object]) -> Known:
    """Which of these entries' ids, GUIDs and canonical URLs are already stored."""
    known = Known()
    if not entries:
        return known
    con.register("batch_keys", _arrow(entries, _KEYS_SCHEMA))
    try:
        for column, bucket in (
            ("article_id", known.article_ids),
            ("guid", known.guids),
            ("canonical_url", known.canonical_urls),
        ):
            rows = con.execute(
                f"SELECT DISTINCT a.{column} FROM articles AS a "
                f"JOIN batch_keys AS b ON a.{column} = b.{column}"
            ).fetchall()
            bucket.update(row[0] for row in rows)
        known.entry_hashes = dict(
            con.execute(
                "SELECT a.article_id, a.entry_hash FROM articles AS a "
                "JOIN batch_keys AS b USING (article_id) WHERE a.entry_hash IS NOT NULL"
            ).fetchall()
        )
    finally:
        con.unregister("batch_keys")
    return known


def near_candidates(
    con: duckdb.DuckDBPyConnection,
    prepared: dict[str, Prepared],
    published: dict[str, datetime | None],
    window: timedelta,
) -> tuple[dict[str, NearCandidate], set[tuple[str, str]]]:
    """Stored canonical articles sharing an LSH band or URL id with a new article, within the window.

    Returns the candidates by id and the (new id, stored id) pairs; a stored duplicate
    stands for its canonical article.
    """
    if not prepared:
        return {}, set()
    bands = [(i, b, k) for i, p in prepared.items() for b, k in enumerate(p.bands)]
    urls = [(i, p.url_key) for i, p in prepared.items() if p.url_key]
    con.register(
        "batch_bands",
        pa.table(
            {
                "new_id": [r[0] for r in bands],
                "band": pa.array([r[1] for r in bands], pa.int16()),
                "key": pa.array([r[2] for r in bands], pa.int64()),
            }
        ),
    )
    con.register(
        "batch_urls", pa.table({"new_id": [u[0] for u in urls], "url_key": [u[1] for u in urls]})
    )
    con.register(
        "batch_times",
        pa.table(
            {
                "new_id": list(published),
                "published": pa.array(list(published.values()), pa.timestamp("us")),
            }
        ),
    )
    try:
        pairs = con.execute(
            """
            WITH hits AS (
                SELECT b.new_id, l.article_id AS stored_id
                FROM batch_bands AS b JOIN article_lsh AS l ON l.band = b.band AND l.key = b.key
                UNION
                SELECT u.new_id, a.article_id
                FROM batch_urls AS u JOIN articles AS a ON a.url_key = u.url_key
            )
            SELECT DISTINCT h.new_id, coalesce(a.duplicate_of, a.article_id) AS stored_id
            FROM hits AS h
            JOIN articles AS a ON a.article_id = h.stored_id
            JOIN batch_times AS t ON t.new_id = h.new_id
            WHERE t.published IS NULL OR coalesce(a.published_at, a.fetched_at)
                  BETWEEN t.published - ? AND t.published + ?
            """,
            [window, window],
        ).fetchall()
        ids = sorted({p[1] for p in pairs})
        con.register("candidate_ids", pa.table({"article_id": ids}))
        rows = con.execute(
            "SELECT a.article_id, coalesce(a.published_at, a.fetched_at), a.text, a.url_key "
            "FROM articles AS a JOIN candidate_ids USING (article_id)"
        ).fetchall()
    finally:
        for name in ("batch_bands", "batch_urls", "batch_times", "candidate_ids"):
            with suppress(duckdb.Error):
                con.unregister(name)
    return {r[0]: NearCandidate(*r) for r in rows}, set(pairs)


def known_hashes(con: duckdb.DuckDBPyConnection, hashes: Sequence[str]) -> dict[str, str]:
    """content_hash -> article_id of the canonical stored article, for hashes already stored."""
    hashes = sorted({h for h in hashes if h})
    if not hashes:
        return {}
    con.register("batch_hashes", pa.table({"content_hash": hashes}))
    try:
        rows = con.execute(
            "SELECT a.content_hash, min(a.article_id) FROM articles AS a "
            "JOIN batch_hashes USING (content_hash) WHERE a.duplicate_of IS NULL GROUP BY ALL"
        ).fetchall()
    finally:
        con.unregister("batch_hashes")
    return dict(rows)


ARTICLE_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("feed_id", pa.string()),
        ("url", pa.string()),
        ("canonical_url", pa.string()),
        ("guid", pa.string()),
        ("title", pa.string()),
        ("summary", pa.string()),
        ("text", pa.string()),
        ("author", pa.string()),
        ("published_at", pa.timestamp("us")),
        ("fetched_at", pa.timestamp("us")),
        ("language", pa.string()),
        ("site_name", pa.string()),
        ("text_source", pa.string()),
        ("http_status", pa.int32()),
        ("fetch_error", pa.string()),
        ("fetch_error_kind", pa.string()),
        ("fetch_attempts", pa.int32()),
        ("fetch_retry_at", pa.timestamp("us")),
        ("content_hash", pa.string()),
        ("duplicate_of", pa.string()),
        ("dup_method", pa.string()),
        ("dup_score", pa.float64()),
        ("entry_hash", pa.string()),
        ("url_key", pa.string()),
        ("story_id", pa.string()),
        ("story_score", pa.float64()),
    ]
)


FEED_SCHEMA = pa.schema(
    [
        ("feed_id", pa.string()),
        ("url", pa.string()),
        ("name", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("language", pa.string()),
        ("polled_at", pa.timestamp("us")),
        ("status", pa.string()),
        ("http_status", pa.int32()),
        ("error", pa.string()),
        ("error_kind", pa.string()),
        ("title", pa.string()),
        ("entries", pa.int32()),
        ("new_entries", pa.int32()),
        ("elapsed_ms", pa.float64()),
        # the state after the poll (schedule.PollState)
        ("etag", pa.string()),
        ("last_modified", pa.string()),
        ("last_fetched_at", pa.timestamp("us")),
        ("last_success_at", pa.timestamp("us")),
        ("next_poll_at", pa.timestamp("us")),
        ("interval_seconds", pa.int32()),
        ("consecutive_failures", pa.int32()),
        ("weighted_errors", pa.float64()),
        ("disabled_at", pa.timestamp("us")),
        ("disabled_reason", pa.string()),
    ]
)

_STATE_FIELDS = [f.name for f in dataclasses.fields(PollState) if f.name != "feed_id"]


def _feed_rows(feeds: Sequence[FeedStatus]) -> pa.Table:
    rows = []
    for status in feeds:
        if status.state is None:
            raise ValueError(f"feed {status.feed_id}: status has no state (run schedule.advance)")
        row = {
            name: getattr(status, name) for name in FEED_SCHEMA.names if name not in _STATE_FIELDS
        }
        row.update({name: getattr(status.state, name) for name in _STATE_FIELDS})
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=FEED_SCHEMA)


def poll_states(con: duckdb.DuckDBPyConnection) -> dict[str, PollState]:
    """The stored polling state of every feed, by feed id."""
    columns = ", ".join(["feed_id", *_STATE_FIELDS])
    cursor = con.execute(f"SELECT {columns} FROM feeds")
    names = [d[0] for d in cursor.description]
    return {row[0]: PollState(**dict(zip(names, row, strict=True))) for row in cursor.fetchall()}


@dataclasses.dataclass
class RunRecord:
    """Counts of one poll cycle, stored in `runs`."""

    run_id: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "completed"
    feeds_ok: int = 0
    feeds_failed: int = 0
    entries_seen: int = 0
    articles_new: int = 0
    text_from_page: int = 0
    text_from_feed: int = 0
    duplicates_skipped: int = 0
    duplicates_marked: int = 0
    feeds_polled: int = 0
    feeds_not_modified: int = 0
    feeds_disabled: int = 0
    feeds_not_due: int = 0
    articles_updated: int = 0
    entities_new: int = 0
    stories_new: int = 0
    pages_retried: int = 0
    pages_recovered: int = 0
    storylines_new: int = 0


def load_cycle(
    con: duckdb.DuckDBPyConnection,
    run: RunRecord,
    feeds: Sequence[FeedStatus],
    articles: Sequence[Article],
    updates: Sequence[Article] = (),
    lsh: Sequence[tuple[str, int, int]] = (),
    relinks: Sequence[Link] = (),
    entities: dict[str, ArticleEntities] | None = None,
    roles: dict[str, str] | None = None,
    features: Sequence[tuple[str, int, list[str], list[float]]] = (),
    story_vectors: Sequence[StoredStory] = (),
    retries: Sequence[PageRetry] = (),
) -> int:
    """Write one cycle in a single transaction; return the rows added to `articles`.

    `articles` are new rows; `updates` revise stored articles in place, keeping the
    replaced version in `article_revisions`; `lsh` rows are (article_id, band, key) for
    near-duplicate blocking; `relinks` point stored articles (and their duplicates) at an
    earlier canonical article found in this batch; `entities` are the entity-stage results
    by article id (`roles` from the watch lists); `features` and `story_vectors` are the
    story stage's per-article terms and the centroids of the stories it opened or grew;
    `retries` record stored articles whose page failed again.
    """
    articles_tbl = _arrow(articles, ARTICLE_SCHEMA).append_column(
        "run_id", pa.array([run.run_id] * len(articles), pa.string())
    )
    con.register("updated_articles", _arrow(updates, ARTICLE_SCHEMA))
    ids, bands, keys = (list(col) for col in zip(*lsh, strict=True)) if lsh else ([], [], [])
    con.register(
        "new_lsh",
        pa.table(
            {"article_id": ids, "band": bands, "key": keys},
            schema=pa.schema(
                [("article_id", pa.string()), ("band", pa.int16()), ("key", pa.int64())]
            ),
        ),
    )
    feeds_tbl = _feed_rows(feeds)
    con.register("new_articles", articles_tbl)
    con.register("new_feeds", feeds_tbl)
    con.execute("BEGIN TRANSACTION")
    try:
        before = con.execute("SELECT count(*) FROM articles").fetchone()[0]
        # OR IGNORE: a concurrent run may have stored the same entry since we looked.
        con.execute("INSERT OR IGNORE INTO articles BY NAME SELECT * FROM new_articles")
        added = con.execute("SELECT count(*) FROM articles").fetchone()[0] - before
        if updates:
            _revise(con, run)
        for retry in retries:
            con.execute(
                "UPDATE articles SET fetch_error = ?, fetch_error_kind = ?, fetch_attempts = ?, "
                "fetch_retry_at = ? WHERE article_id = ?",
                [retry.error, retry.error_kind, retry.attempts, retry.retry_at, retry.article_id],
            )
        # An updated article's bands replace those of its earlier text.
        con.execute("DELETE FROM article_lsh WHERE article_id IN (SELECT article_id FROM new_lsh)")
        con.execute("INSERT INTO article_lsh SELECT article_id, band, key FROM new_lsh")
        if entities:
            run.entities_new = store_entities(
                con, entities, run.started_at, roles, update_trends=False
            )
        if features:
            _store_features(con, features)
        if story_vectors:
            _store_story_vectors(con, story_vectors)
        _refresh_stories(con, {a.story_id for a in articles if a.story_id})
        run.storylines_new = storylines.assign(
            con, {a.story_id for a in articles if a.story_id}, StorylineSettings()
        )
        # A relink can move an article without a story_id to another story: its old
        # story's trend rows are recomputed too (read before the update).
        relinked = _relinked_articles(con, [link.article_id for link in relinks])
        stories_before = _stories_of_articles(con, relinked)
        for link in relinks:
            con.execute(
                "UPDATE articles SET duplicate_of = ?, dup_method = ?, dup_score = ? "
                "WHERE article_id = ?",
                [link.canonical, link.method, link.score, link.article_id],
            )
            con.execute(
                "UPDATE articles SET duplicate_of = ? WHERE duplicate_of = ?",
                [link.canonical, link.article_id],
            )
        touched = {a.article_id for a in (*articles, *updates)} | set(entities or ()) | relinked
        refresh_trends(con, stories_before | _stories_of_articles(con, touched))
        con.execute(
            """
            INSERT INTO feeds AS f BY NAME
            SELECT feed_id, url, name, tags, language, title,
                   polled_at AS first_polled_at, polled_at AS last_polled_at,
                   status AS last_status, http_status AS last_http_status, error AS last_error,
                   error_kind AS last_error_kind, entries AS last_entries, entries AS entries_seen,
                   etag, last_modified, last_fetched_at, last_success_at, next_poll_at,
                   interval_seconds, consecutive_failures, weighted_errors,
                   disabled_at, disabled_reason
            FROM new_feeds
            ON CONFLICT (feed_id) DO UPDATE SET
                url = excluded.url,
                name = excluded.name,
                tags = excluded.tags,
                language = excluded.language,
                title = coalesce(excluded.title, f.title),
                last_polled_at = excluded.last_polled_at,
                last_status = excluded.last_status,
                last_http_status = excluded.last_http_status,
                last_error = excluded.last_error,
                last_error_kind = excluded.last_error_kind,
                last_entries = excluded.last_entries,
                entries_seen = f.entries_seen + excluded.entries_seen,
                etag = excluded.etag,
                last_modified = excluded.last_modified,
                last_fetched_at = excluded.last_fetched_at,
                last_success_at = excluded.last_success_at,
                next_poll_at = excluded.next_poll_at,
                interval_seconds = excluded.interval_seconds,
                consecutive_failures = excluded.consecutive_failures,
                weighted_errors = excluded.weighted_errors,
                disabled_at = excluded.disabled_at,
                disabled_reason = excluded.disabled_reason
            """
        )
        con.execute(
            """
            INSERT INTO feed_polls BY NAME
            SELECT ? AS run_id, feed_id, polled_at, status, http_status, error, error_kind,
                   entries, new_entries, elapsed_ms
            FROM new_feeds
            """,
            [run.run_id],
        )
        run.articles_new = added
        row = dataclasses.asdict(run)
        con.execute(
            f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
        con.execute("COMMIT")
    except duckdb.Error:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("new_articles")
        con.unregister("new_feeds")
        con.unregister("updated_articles")
        con.unregister("new_lsh")
    return added


_FEATURE_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("version", pa.int32()),
        ("terms", pa.list_(pa.string())),
        ("weights", pa.list_(pa.float64())),
    ]
)


def _store_features(con: duckdb.DuckDBPyConnection, rows: Sequence[tuple]) -> None:
    table = pa.Table.from_pylist(
        [dict(zip(_FEATURE_SCHEMA.names, row, strict=True)) for row in rows], schema=_FEATURE_SCHEMA
    )
    con.register("new_features", table)
    try:
        con.execute("INSERT OR REPLACE INTO article_features BY NAME SELECT * FROM new_features")
    finally:
        con.unregister("new_features")


def _refresh_stories(con: duckdb.DuckDBPyConnection, story_ids: set[str]) -> None:
    """Recompute the `stories` rows of these stories from their articles."""
    if not story_ids:
        return
    con.register("touched_stories", pa.table({"story_id": sorted(story_ids)}))
    try:
        con.execute(
            """
            INSERT OR REPLACE INTO stories
                (story_id, title, first_seen_at, last_seen_at, article_count, outlet_count,
                 storyline_id)
            SELECT
                a.story_id,
                arg_min(a.title, coalesce(a.published_at, a.fetched_at)) AS title,
                min(coalesce(a.published_at, a.fetched_at)) AS first_seen_at,
                max(coalesce(a.published_at, a.fetched_at)) AS last_seen_at,
                count(*) AS article_count,
                -- an outlet is the site the page names, else the host of its URL
                count(DISTINCT coalesce(a.site_name, regexp_extract(
                    coalesce(a.canonical_url, a.url), '^[a-z]+://(?:www\\.)?([^/:]+)', 1))) AS outlet_count,
                any_value(l.storyline_id) AS storyline_id
            FROM articles AS a JOIN touched_stories USING (story_id)
            LEFT JOIN storyline_links AS l ON l.story_id = a.story_id
            GROUP BY a.story_id
            """
        )
        # The title: the most central headline of its members (stories.central_title),
        # never a newsletter or live-blog headline when a better one exists.
        members: dict[str, list[tuple[str | None, dict[str, float]]]] = {}
        for story_id, title, terms, weights in con.execute(
            """
            SELECT a.story_id, a.title, f.terms, f.weights
            FROM articles AS a JOIN touched_stories USING (story_id)
            LEFT JOIN article_features AS f USING (article_id)
            ORDER BY a.story_id, coalesce(a.published_at, a.fetched_at), a.article_id
            """
        ).fetchall():
            feats = dict(zip(terms, weights, strict=True)) if terms else {}
            members.setdefault(story_id, []).append((title, feats))
        titles = [(central_title(m), story_id) for story_id, m in members.items()]
        con.executemany(
            "UPDATE stories SET title = ? WHERE story_id = ? AND title IS DISTINCT FROM ?",
            [(title, story_id, title) for title, story_id in titles if title],
        )
    finally:
        con.unregister("touched_stories")


def story_warm_start(
    con: duckdb.DuckDBPyConnection, since: datetime, version: int
) -> list[tuple[str, str, datetime, int, list[str], list[float], str | None, str | None]]:
    """Stored canonical articles published since `since`, in published order: (article_id,
    story_id, published, features version, terms, weights, title, text); title and text only
    for features of another version than `version`, which must be computed again."""
    return con.execute(
        """
        SELECT a.article_id, coalesce(a.story_id, a.article_id),
               coalesce(a.published_at, a.fetched_at), f.version, f.terms, f.weights,
               CASE WHEN f.version <> $version THEN a.title END,
               CASE WHEN f.version <> $version THEN a.text END
        FROM article_features AS f JOIN articles AS a USING (article_id)
        WHERE a.duplicate_of IS NULL AND coalesce(a.published_at, a.fetched_at) >= $since
        ORDER BY 3, 1
        """,
        {"since": since, "version": version},
    ).fetchall()


def stale_open_stories(con: duckdb.DuckDBPyConnection, since: datetime, version: int) -> int:
    """Stories with an article since `since` but no stored centroid of features `version`
    (stored before centroids or seeds were kept), or with an article whose features are of
    another version (stored before the feature function changed)."""
    return con.execute(
        """
        SELECT count(DISTINCT coalesce(a.story_id, a.article_id))
        FROM article_features AS f JOIN articles AS a USING (article_id)
        WHERE a.duplicate_of IS NULL AND coalesce(a.published_at, a.fetched_at) >= $since
          AND (f.version <> $version OR coalesce(a.story_id, a.article_id) NOT IN (
              SELECT story_id FROM story_vectors
              WHERE version = $version AND seed_terms IS NOT NULL))
        """,
        {"since": since, "version": version},
    ).fetchall()[0][0]


def term_statistics(
    con: duckdb.DuckDBPyConnection, since: datetime, version: int, terms: Iterable[str]
) -> tuple[int, dict[str, int]]:
    """Canonical articles stored since `since`, and how many of them hold each of `terms`."""
    con.register("batch_terms", pa.table({"term": sorted(set(terms))}, schema=_TERM_SCHEMA))
    try:
        where = """
            FROM article_features AS f JOIN articles AS a USING (article_id)
            WHERE f.version = $version AND a.duplicate_of IS NULL
              AND coalesce(a.published_at, a.fetched_at) >= $since
        """
        params = {"since": since, "version": version}
        docs = con.execute(f"SELECT count(*) {where}", params).fetchall()[0][0]
        df = con.execute(
            f"""
            SELECT term, count(*)
            FROM (SELECT unnest(f.terms) AS term {where}) JOIN batch_terms USING (term)
            GROUP BY term
            """,
            params,
        ).fetchall()
    finally:
        con.unregister("batch_terms")
    return docs, dict(df)


def story_candidates(
    con: duckdb.DuckDBPyConnection,
    version: int,
    window: timedelta,
    articles: Sequence[tuple[str, datetime, dict[str, float], set[str]]],
    per_article: int,
    floor: float,
) -> dict[str, list[StoredStory]]:
    """Stored stories worth scoring for each article of a batch.

    `articles` are (article_id, published, unit vector, probe terms). As in
    `StoryIndex.best`, an article's candidates are the open stories its probe terms rank
    highest (at most `per_article`); of those, only the ones whose centroid is within
    cosine `floor` of the article are returned. Both steps run for the whole batch in two
    joins, so Python reads only the few stories that may win.
    """
    rows = [
        (article_id, published - window, term, value, term in probes)
        for article_id, published, vec, probes in articles
        for term, value in vec.items()
    ]
    if not rows:
        return {}
    columns = (list(col) for col in zip(*rows, strict=True))
    con.register(
        "batch_vectors",
        pa.table(
            dict(zip(_BATCH_VECTOR_SCHEMA.names, columns, strict=True)), schema=_BATCH_VECTOR_SCHEMA
        ),
    )
    try:
        pairs = con.execute(
            """
            WITH open_stories AS (
                SELECT * FROM story_vectors
                WHERE version = $version AND norm > 0 AND seed_terms IS NOT NULL
                  AND last_at >= (SELECT min(open_since) FROM batch_vectors)
            ),
            postings AS (  -- the index's postings: a story under its indexed terms
                SELECT story_id, last_at, norm,
                       unnest(terms[:indexed]) AS term, unnest(weights[:indexed]) AS weight
                FROM open_stories
            ),
            ranked AS (
                SELECT b.article_id, s.story_id, sum(b.value * s.weight) / any_value(s.norm) AS score
                FROM batch_vectors AS b JOIN postings AS s USING (term)
                WHERE b.probe AND s.last_at >= b.open_since
                GROUP BY b.article_id, s.story_id
                QUALIFY row_number() OVER (PARTITION BY article_id ORDER BY score DESC) <= $k
            )
            , centroids AS (
                SELECT story_id, norm, unnest(terms) AS term, unnest(weights) AS weight
                FROM open_stories SEMI JOIN ranked USING (story_id)
            )
            SELECT r.article_id, r.story_id
            FROM ranked AS r
            JOIN batch_vectors AS b USING (article_id)
            JOIN centroids AS s ON s.story_id = r.story_id AND s.term = b.term
            GROUP BY ALL
            HAVING sum(b.value * s.weight) / any_value(s.norm) >= $floor
            """,
            {"version": version, "k": per_article, "floor": floor},
        ).fetchall()
    finally:
        con.unregister("batch_vectors")
    if not pairs:
        return {}
    con.register("wanted_stories", pa.table({"story_id": sorted({s for _, s in pairs})}))
    try:
        stored = {
            row[0]: StoredStory(*row)
            for row in con.execute(
                "SELECT story_id, last_at, size, terms, weights, indexed, norm, "
                "seed_terms, seed_weights FROM story_vectors JOIN wanted_stories USING (story_id)"
            ).fetchall()
        }
    finally:
        con.unregister("wanted_stories")
    found: dict[str, list[StoredStory]] = {}
    for article_id, story_id in pairs:
        found.setdefault(article_id, []).append(stored[story_id])
    return found


_BATCH_VECTOR_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("open_since", pa.timestamp("us")),
        ("term", pa.string()),
        ("value", pa.float64()),
        ("probe", pa.bool_()),
    ]
)
_TERM_SCHEMA = pa.schema([("term", pa.string())])

_VECTOR_SCHEMA = pa.schema(
    [
        ("story_id", pa.string()),
        ("version", pa.int32()),
        ("last_at", pa.timestamp("us")),
        ("size", pa.int32()),
        ("terms", pa.list_(pa.string())),
        ("weights", pa.list_(pa.float64())),
        ("indexed", pa.int32()),
        ("norm", pa.float64()),
        ("seed_terms", pa.list_(pa.string())),
        ("seed_weights", pa.list_(pa.float64())),
    ]
)


def _store_story_vectors(con: duckdb.DuckDBPyConnection, vectors: Sequence[StoredStory]) -> None:
    table = pa.Table.from_pylist(
        [
            {
                "story_id": v.story_id,
                "version": FEATURES_VERSION,
                "last_at": v.last,
                "size": v.size,
                "terms": v.terms,
                "weights": v.weights,
                "indexed": v.indexed,
                "norm": v.norm,
                "seed_terms": v.seed_terms,
                "seed_weights": v.seed_weights,
            }
            for v in vectors
        ],
        schema=_VECTOR_SCHEMA,
    )
    con.register("new_story_vectors", table)
    try:
        con.execute("INSERT OR REPLACE INTO story_vectors BY NAME SELECT * FROM new_story_vectors")
    finally:
        con.unregister("new_story_vectors")


def stories_of(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> dict[str, str]:
    """article_id -> story_id for stored articles."""
    if not article_ids:
        return {}
    con.register("probe_articles", pa.table({"article_id": list(article_ids)}))
    try:
        return dict(
            con.execute(
                "SELECT a.article_id, a.story_id FROM articles AS a "
                "JOIN probe_articles USING (article_id) WHERE a.story_id IS NOT NULL"
            ).fetchall()
        )
    finally:
        con.unregister("probe_articles")


def _revise(con: duckdb.DuckDBPyConnection, run: RunRecord) -> None:
    con.execute(
        """
        INSERT INTO article_revisions
        SELECT a.article_id, a.revision, a.title, a.summary, a.url, a.text, a.text_source, ?
        FROM articles AS a JOIN updated_articles AS u USING (article_id)
        """,
        [run.started_at],
    )
    con.execute(
        """
        UPDATE articles AS a SET
            url = u.url, canonical_url = u.canonical_url, title = u.title,
            summary = u.summary, text = u.text, author = coalesce(u.author, a.author),
            language = coalesce(u.language, a.language), site_name = coalesce(u.site_name, a.site_name),
            text_source = u.text_source, http_status = u.http_status, fetch_error = u.fetch_error,
            fetch_error_kind = u.fetch_error_kind, fetch_attempts = u.fetch_attempts,
            fetch_retry_at = u.fetch_retry_at,
            -- compared again with its new text: the batch's relinks mark it if it still is
            duplicate_of = NULL, dup_method = NULL, dup_score = NULL,
            content_hash = u.content_hash, entry_hash = u.entry_hash,
            revision = a.revision + 1, updated_at = u.fetched_at
        FROM updated_articles AS u
        WHERE a.article_id = u.article_id
        """
    )
    run.articles_updated = con.execute("SELECT count(*) FROM updated_articles").fetchone()[0]


def page_failures(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[int, int]:
    """Of one run's new articles: pages that failed, and those to be fetched again."""
    return con.execute(
        "SELECT count(*) FILTER (WHERE fetch_error IS NOT NULL AND text_source = 'feed'), "
        "count(*) FILTER (WHERE fetch_retry_at IS NOT NULL) FROM articles WHERE run_id = ?",
        [run_id],
    ).fetchone()


def run_summary(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple]:
    """Per feed for one run: (feed, status, entries, new articles, from page, from feed, duplicates)."""
    return con.execute(
        """
        SELECT p.feed_id, p.status, p.entries,
               count(a.article_id) AS new_articles,
               count(a.article_id) FILTER (WHERE a.text_source = 'page') AS from_page,
               count(a.article_id) FILTER (WHERE a.text_source = 'feed') AS from_feed,
               count(a.article_id) FILTER (WHERE a.duplicate_of IS NOT NULL) AS duplicates
        FROM feed_polls AS p
        LEFT JOIN articles AS a ON a.feed_id = p.feed_id AND a.run_id = p.run_id
        WHERE p.run_id = ?
        GROUP BY ALL
        ORDER BY p.feed_id
        """,
        [run_id],
    ).fetchall()


def feed_report(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Per feed: status, last success, errors (consecutive, weighted), next poll, entries seen."""
    cursor = con.execute(
        """
        SELECT feed_id, name, coalesce(CASE WHEN disabled_at IS NOT NULL THEN 'disabled' END,
                                       last_status) AS status,
               last_polled_at, last_success_at, consecutive_failures, weighted_errors,
               next_poll_at, interval_seconds, entries_seen,
               coalesce(disabled_reason, last_error) AS problem
        FROM feeds ORDER BY feed_id
        """
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def enable_feed(con: duckdb.DuckDBPyConnection, feed_id: str) -> bool:
    """Re-enable a disabled feed and clear its error count; False if the feed is unknown."""
    found = con.execute("SELECT count(*) FROM feeds WHERE feed_id = ?", [feed_id]).fetchone()[0]
    con.execute(
        """
        UPDATE feeds SET disabled_at = NULL, disabled_reason = NULL, consecutive_failures = 0,
               weighted_errors = 0, next_poll_at = NULL
        WHERE feed_id = ?
        """,
        [feed_id],
    )
    return bool(found)


def store_entities(
    con: duckdb.DuckDBPyConnection,
    found: dict[str, ArticleEntities],
    seen_at: datetime,
    roles: dict[str, str] | None = None,
    merge_threshold: float = 92.0,
    update_trends: bool = True,
) -> int:
    """Replace the mentions and topics of these articles; add new entities and aliases.

    A discovered name that is a close spelling of a stored entity of the same kind
    (rapidfuzz ratio >= merge_threshold) is that entity. Returns the number of new entities.
    Runs inside the caller's transaction, and recomputes the trend rows of the articles'
    stories unless the caller does that itself (`update_trends=False`).
    """
    refs = {m.entity for result in found.values() for m in result.mentions}
    # Actors of developments are entities too, though usually already mentioned.
    refs |= {
        r
        for result in found.values()
        for d in result.developments
        for r in (*d.actors, *d.recipients)
    }
    resolved = _resolve_entities(con, refs, merge_threshold)
    roles = roles or {}
    new_entities = {
        ref.id: (ref.name, ref.kind, ref.source, roles.get(ref.name))
        for ref in refs
        if resolved[ref] == ref.id
    }
    entity_rows = [
        {"entity_id": i, "name": n, "kind": k, "source": s, "role": r, "first_seen_at": seen_at}
        for i, (n, k, s, r) in new_entities.items()
    ]
    aliases = {
        (surface, resolved[m.entity])
        for result in found.values()
        for m in result.mentions
        for surface in m.surfaces | {m.entity.name}
    }
    mention_rows = [
        {
            "article_id": a,
            "entity_id": resolved[m.entity],
            "count": m.count,
            "first_offset": m.first_offset,
        }
        for a, result in found.items()
        for m in result.mentions
    ]
    merged: dict[tuple[str, str], dict] = {}
    for row in mention_rows:  # two names of one entity in one article: add them up
        key = (row["article_id"], row["entity_id"])
        if key in merged:
            merged[key]["count"] += row["count"]
            merged[key]["first_offset"] = min(merged[key]["first_offset"], row["first_offset"])
        else:
            merged[key] = dict(row)
    topic_rows = [
        {"article_id": a, "topic": t, "score": s}
        for a, result in found.items()
        for t, s in result.topics.items()
    ]
    tables = {
        "new_entities": pa.Table.from_pylist(entity_rows, schema=_ENTITY_SCHEMA),
        "new_aliases": pa.table(
            {"alias": [a for a, _ in aliases], "entity_id": [e for _, e in aliases]},
            schema=pa.schema([("alias", pa.string()), ("entity_id", pa.string())]),
        ),
        "new_mentions": pa.Table.from_pylist(list(merged.values()), schema=_MENTION_SCHEMA),
        "new_topics": pa.Table.from_pylist(topic_rows, schema=_TOPIC_SCHEMA),
        "entity_articles": pa.table(
            {"article_id": list(found)}, schema=pa.schema([("article_id", pa.string())])
        ),
    }
    for name, table in tables.items():
        con.register(name, table)
    try:
        before = con.execute("SELECT count(*) FROM entities").fetchone()[0]
        # A discovered name later put on a watch list becomes a watch-list entity.
        con.execute(
            """
            INSERT INTO entities AS e BY NAME SELECT * FROM new_entities
            ON CONFLICT (entity_id) DO UPDATE SET
                source = CASE WHEN excluded.source = 'watchlist' THEN 'watchlist' ELSE e.source END,
                role = coalesce(excluded.role, e.role)
            """
        )
        con.execute(
            "INSERT OR IGNORE INTO entity_aliases SELECT DISTINCT alias, entity_id FROM new_aliases"
        )
        con.execute(
            "DELETE FROM mentions WHERE article_id IN (SELECT article_id FROM entity_articles)"
        )
        con.execute(
            "DELETE FROM article_topics WHERE article_id IN (SELECT article_id FROM entity_articles)"
        )
        con.execute("INSERT INTO mentions BY NAME SELECT * FROM new_mentions")
        con.execute("INSERT INTO article_topics BY NAME SELECT * FROM new_topics")
        con.execute(
            "DELETE FROM developments WHERE article_id IN (SELECT article_id FROM entity_articles)"
        )
        _store_developments(con, found, resolved)
        if update_trends:
            refresh_trends(con, _stories_of_articles(con, set(found)))
        return con.execute("SELECT count(*) FROM entities").fetchall()[0][0] - before

    finally:
        for name in tables:
            con.unregister(name)


def texts_for_reprocessing(
    con: duckdb.DuckDBPyConnection, after: str | None, limit: int
) -> list[tuple[str, str | None, str | None]]:
    """The next `limit` articles after id `after`: (article_id, title, text); exact duplicates
    read their canonical article's text."""
    return con.execute(
        """
        SELECT a.article_id, a.title, coalesce(a.text, c.text), coalesce(a.published_at, a.fetched_at)
        FROM articles AS a LEFT JOIN articles AS c ON c.article_id = a.duplicate_of
        WHERE a.article_id > coalesce(?, '')
        ORDER BY a.article_id
        LIMIT ?
        """,
        [after, limit],
    ).fetchall()


_DEVELOPMENT_SCHEMA = pa.schema(
    [
        ("development_id", pa.string()),
        ("article_id", pa.string()),
        ("kind", pa.string()),
        ("plover_category", pa.string()),
        ("plover_mode", pa.string()),
        ("stance", pa.string()),
        ("actor_ids", pa.list_(pa.string())),
        ("recipient_ids", pa.list_(pa.string())),
        ("quantity", pa.float64()),
        ("unit", pa.string()),
        ("place", pa.string()),
        ("occurred_on", pa.date32()),
        ("scheduled_for", pa.date32()),
        ("sentence", pa.string()),
        ("start_offset", pa.int32()),
        ("end_offset", pa.int32()),
        ("confidence", pa.float64()),
        ("trigger", pa.string()),
    ]
)


def _store_developments(
    con: duckdb.DuckDBPyConnection,
    found: dict[str, ArticleEntities],
    resolved: dict[EntityRef, str],
) -> None:
    """Insert the developments of these articles (their old ones are already deleted)."""
    rows = []
    for article_id, result in found.items():
        for d in result.developments:
            key = f"{article_id}:{d.kind}:{d.stance}:{d.start_offset}"
            rows.append(
                {
                    "development_id": hashlib.sha256(key.encode()).hexdigest()[:16],
                    "article_id": article_id,
                    "kind": d.kind,
                    "plover_category": d.plover_category,
                    "plover_mode": d.plover_mode,
                    "stance": d.stance,
                    "actor_ids": [resolved.get(r, r.id) for r in d.actors],
                    "recipient_ids": [resolved.get(r, r.id) for r in d.recipients],
                    "quantity": d.quantity,
                    "unit": d.unit,
                    "place": d.place,
                    "occurred_on": d.occurred_on,
                    "scheduled_for": d.scheduled_for,
                    "sentence": d.sentence,
                    "start_offset": d.start_offset,
                    "end_offset": d.end_offset,
                    "confidence": d.confidence,
                    "trigger": d.trigger,
                }
            )
    if not rows:
        return
    con.register("new_developments", pa.Table.from_pylist(rows, schema=_DEVELOPMENT_SCHEMA))
    try:
        con.execute("INSERT OR IGNORE INTO developments BY NAME SELECT * FROM new_developments")
    finally:
        con.unregister("new_developments")


_ENTITY_SCHEMA = pa.schema(
    [
        ("entity_id", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("source", pa.string()),
        ("role", pa.string()),
        ("first_seen_at", pa.timestamp("us")),
    ]
)
_MENTION_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("entity_id", pa.string()),
        ("count", pa.int32()),
        ("first_offset", pa.int32()),
    ]
)
_TOPIC_SCHEMA = pa.schema(
    [("article_id", pa.string()), ("topic", pa.string()), ("score", pa.float64())]
)


def _resolve_entities(
    con: duckdb.DuckDBPyConnection, refs: set[EntityRef], threshold: float
) -> dict[EntityRef, str]:
    """Map each reference to a stored entity id: same id, else a close spelling of the same kind.

    The best ratio over the stored names of the kind (`process.cdist`, a block of names at a
    time), then over the names of this batch resolved before it (`SpellingIndex`); the higher
    wins, a tie goes to the stored name: the answer of `process.extractOne` over the stored
    names followed by the batch's.
    """
    resolved = {ref: ref.id for ref in refs}
    unknown = [ref for ref in refs if ref.source == "ner"]
    if not unknown:
        return resolved
    con.register("probe_ids", pa.table({"entity_id": [r.id for r in unknown]}))
    try:
        stored_ids = {
            r[0]
            for r in con.execute(
                "SELECT entity_id FROM entities JOIN probe_ids USING (entity_id)"
            ).fetchall()
        }
    finally:
        con.unregister("probe_ids")
    unknown = [ref for ref in unknown if ref.id not in stored_ids]
    for kind in sorted({ref.kind for ref in unknown}):
        rows = con.execute("SELECT name, entity_id FROM entities WHERE kind = ?", [kind]).fetchall()
        # Longest names first, so a variant joins the fullest spelling seen in this batch.
        batch = sorted((r for r in unknown if r.kind == kind), key=lambda r: (-len(r.name), r.name))
        names = [ref.name.casefold() for ref in batch]
        stored = _best_matches(names, [name.casefold() for name, _ in rows], threshold)
        earlier = SpellingIndex(threshold)  # this batch's names, as they are resolved
        for ref, name, in_store in zip(batch, names, stored, strict=True):
            in_batch = earlier.best(name)
            # One list of stored names then the batch's: the higher score wins, and on a tie
            # the earlier name, so a stored one (process.extractOne over that list agrees).
            if in_store is not None and (in_batch is None or in_store[0] >= in_batch[0]):
                resolved[ref] = rows[in_store[1]][1]
            elif in_batch is not None:
                resolved[ref] = in_batch[2]
            earlier.add(name, resolved[ref])
    return resolved


def _best_matches(
    queries: list[str], choices: list[str], threshold: float, cells: int = 2_000_000
) -> list[tuple[float, int] | None]:
    """Per query, the best rapidfuzz `ratio` over `choices` at or above `threshold` and the
    first choice reaching it (None when none does): `process.cdist` over a block of queries
    at a time, each block's score matrix at most `cells` scores (16 MB) however many
    choices there are (at least one row)."""
    found: list[tuple[float, int] | None] = []
    if not choices:
        return [None] * len(queries)
    rows = max(1, min(128, cells // len(choices)))
    for start in range(0, len(queries), rows):
        scores = process.cdist(
            queries[start : start + rows],
            choices,
            scorer=fuzz.ratio,
            score_cutoff=threshold,
            dtype=np.float64,
        )
        for row, column in enumerate(scores.argmax(axis=1)):  # argmax: the first best
            score = float(scores[row, column])
            found.append((score, int(column)) if score >= threshold and score > 0 else None)
    return found


class SpellingIndex:
    """Names with their entity ids, for the best rapidfuzz `ratio` at or above `threshold`.

    The same answer as `process.extractOne` over every name (the earliest added wins a
    tie), without comparing most of them: names are kept by length, and a ratio of at
    least t needs |a - b| <= (1 - t/100)(a + b) for lengths a and b (the Indel distance is
    at least the difference in length), so a name of 15 characters at t = 92 can only match
    names of 13 to 17 characters (one more length is scanned on each side, against rounding).
    The loader keeps in it the names of the batch being resolved, which can match each other.
    """

    def __init__(self, threshold: float):
        self.threshold = threshold
        self._slack = 1 - threshold / 100
        self._by_length: dict[int, tuple[list[str], list[tuple[int, str]]]] = {}
        self._added = 0

    def add(self, name: str, entity_id: str) -> None:
        names, ids = self._by_length.setdefault(len(name), ([], []))
        names.append(name)
        ids.append((self._added, entity_id))
        self._added += 1

    def best(self, name: str) -> tuple[float, int, str] | None:
        """(score, order added, entity id) of the closest name, or None below the threshold."""
        size, slack = len(name), self._slack
        # One length more on each side than the bound allows: rounding must not drop a match.
        low = int(size * (1 - slack) / (1 + slack)) - 1
        high = (
            int(size * (1 + slack) / (1 - slack)) + 1
            if slack < 1
            else max(self._by_length, default=0)
        )
        best: tuple[float, int, str] | None = None
        for length in range(max(0, low), high + 1):
            bucket = self._by_length.get(length)
            if bucket is None:
                continue
            found = process.extractOne(
                name, bucket[0], scorer=fuzz.ratio, score_cutoff=self.threshold
            )
            if found is None:
                continue
            order, entity = bucket[1][found[2]]
            if best is None or (found[1], -order) > (best[0], -best[1]):
                best = (found[1], order, entity)
        return best


def _relinked_articles(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> set[str]:
    """These articles and the stored duplicates that point at them (a relink moves both)."""
    if not article_ids:
        return set()
    con.register("probe_relinks", pa.table({"article_id": list(article_ids)}))
    try:
        rows = con.execute(
            "SELECT a.article_id FROM articles AS a WHERE a.article_id IN "
            "(SELECT article_id FROM probe_relinks) OR a.duplicate_of IN "
            "(SELECT article_id FROM probe_relinks)"
        ).fetchall()
    finally:
        con.unregister("probe_relinks")
    return {r[0] for r in rows}


def _stories_of_articles(con: duckdb.DuckDBPyConnection, article_ids: set[str]) -> set[str]:
    """The stories of these stored articles as the views see them (story, else canonical, else self)."""
    if not article_ids:
        return set()
    con.register("probe_story_articles", pa.table({"article_id": sorted(article_ids)}))
    try:
        rows = con.execute(
            "SELECT DISTINCT coalesce(a.story_id, a.duplicate_of, a.article_id) FROM articles AS a "
            "WHERE a.article_id IN (SELECT article_id FROM probe_story_articles)"
        ).fetchall()
    finally:
        con.unregister("probe_story_articles")
    return {r[0] for r in rows}


TREND_TABLES = {
    # table: the column its rows are ordered by (the views filter on it)
    "trend_story_days": "day",
    "trend_entity_days": "day",
    "trend_story_outlets": "first_day",
}
_SCOPE_SCHEMA = pa.schema([("story_id", pa.string())])


def refresh_trends(con: duckdb.DuckDBPyConnection, story_ids: set[str]) -> None:
    """Recompute the trend tables' rows of these stories from their articles.

    Call it inside the transaction of any change to articles' story, duplicate link or
    dates, or to mentions, topics or entities, with every story the change touches (before
    and after). `load_cycle` and `store_entities` do. A story is
    coalesce(story_id, duplicate_of, article_id).
    """
    if not story_ids:
        return
    con.register("trend_scope", pa.table({"story_id": sorted(story_ids)}, schema=_SCOPE_SCHEMA))
    try:
        con.execute(_trend_refresh_sql())
    finally:
        con.unregister("trend_scope")


@cache
def _trend_refresh_sql() -> str:
    return (sql_dir() / "refresh" / "trend_tables.sql").read_text(encoding="utf-8")


def rebuild_trends(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute every story's trend rows, in one transaction (for data written in bulk)."""
    con.execute("BEGIN TRANSACTION")
    try:
        stories = con.execute(
            "SELECT DISTINCT coalesce(story_id, duplicate_of, article_id) FROM articles"
        ).fetchall()
        for table in TREND_TABLES:
            con.execute(f"DELETE FROM {table}")
        refresh_trends(con, {s for (s,) in stories})
        con.execute("COMMIT")
    except duckdb.Error:
        con.execute("ROLLBACK")
        raise


def cluster_trends(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite the trend tables in day order, in one transaction.

    Loads append the rows of the stories they touch, which are recent, so the tables stay
    in day order by themselves; a reprocess rewrites old stories in id order, after which
    the views' date filters could no longer skip row groups. About 20 s at a million
    articles and ten million mentions.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        for table, column in TREND_TABLES.items():
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE trend_sorted AS "
                f"SELECT * FROM {table} ORDER BY {column}, topic"
            )
            con.execute(f"DELETE FROM {table}")
            con.execute(f"INSERT INTO {table} SELECT * FROM trend_sorted")
            con.execute("DROP TABLE trend_sorted")
        con.execute("COMMIT")
    except duckdb.Error:
        con.execute("ROLLBACK")
        raise


def snapshot_path(path: str | Path) -> Path:
    """Where the read-only snapshot of a warehouse lives: beside it, `<name>.snapshot.duckdb`."""
    path = Path(path)
    return path.with_name(f"{path.stem}.snapshot{path.suffix or '.duckdb'}")


def refresh_snapshot(con: duckdb.DuckDBPyConnection, path: str | Path) -> Path:
    """Copy the warehouse to its snapshot, atomically, while this connection holds the lock.

    Analysts keep sessions open on the snapshot without blocking the pipeline; a session
    that is open during a refresh keeps reading the previous copy until it reconnects.
    """
    path = Path(path)
    target = snapshot_path(path)
    con.execute("CHECKPOINT")  # everything in the main file, nothing left in the WAL
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(path, partial)
    partial.replace(target)
    return target
