"""Loading one poll cycle into the warehouse in a single transaction."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

import duckdb
import pyarrow as pa

from newsmon import storylines
from newsmon.dedup import Link
from newsmon.entities import ArticleEntities
from newsmon.extract import Article
from newsmon.feeds import FeedStatus
from newsmon.schedule import PageRetry
from newsmon.stories import StoredStory
from newsmon.storylines import StorylineSettings
from newsmon.warehouse.db import _arrow
from newsmon.warehouse.entities import store_entities
from newsmon.warehouse.polling import _feed_rows, _store_feeds
from newsmon.warehouse.search import index_articles
from newsmon.warehouse.stories import _refresh_stories, _store_features, _store_story_vectors
from newsmon.warehouse.trends import (
    _relinked_articles,
    _stories_of_articles,
    _stories_of_feeds,
    refresh_trends,
)

log = logging.getLogger(__name__)

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
    outlets: Mapping[str, str] | None = None,
) -> int:
    """Write one cycle in a single transaction; return the rows added to `articles`.

    `articles` are new rows; `updates` revise stored articles in place, keeping the
    replaced version in `article_revisions`; `lsh` rows are (article_id, band, key) for
    near-duplicate blocking; `relinks` point stored articles (and their duplicates) at an
    earlier canonical article found in this batch; `entities` are the entity-stage results
    by article id (`roles` from the watch lists); `features` and `story_vectors` are the
    story stage's per-article terms and the centroids of the stories it opened or grew;
    `retries` record stored articles whose page failed again; `outlets` name each feed's
    outlet by feed id (`Feed.outlet_name`; default: config.default_outlet of its URL).
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
    feeds_tbl = _feed_rows(feeds, outlets)
    con.register("new_articles", articles_tbl)
    con.register("new_feeds", feeds_tbl)
    con.execute("BEGIN TRANSACTION")
    try:
        before = con.execute("SELECT count(*) FROM articles").fetchone()[0]
        # OR IGNORE: a concurrent run may have stored the same entry since we looked.
        con.execute("INSERT OR IGNORE INTO articles BY NAME SELECT * FROM new_articles")
        added = con.execute("SELECT count(*) FROM articles").fetchone()[0] - before
        # Feeds first: the outlet counts below read each feed's outlet.
        recount = _stories_of_feeds(con, _store_feeds(con, run.run_id))
        if updates:
            _revise(con, run)
        index_articles(con, [a.article_id for a in (*articles, *updates)])
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
        _refresh_stories(con, {a.story_id for a in articles if a.story_id} | recount)
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
        refresh_trends(con, stories_before | _stories_of_articles(con, touched) | recount)
        if recount:  # a feed changed outlet: its storylines' counts too
            storylines._refresh(con, sorted(recount))
        run.articles_new = added
        row = dataclasses.asdict(run)
        con.execute(
            f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
        con.execute("COMMIT")
    except BaseException:  # a Python error inside the transaction must not leave it open
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("new_articles")
        con.unregister("new_feeds")
        con.unregister("updated_articles")
        con.unregister("new_lsh")
    return added


def _revise(con: duckdb.DuckDBPyConnection, run: RunRecord) -> None:
    con.execute(
        """
        INSERT INTO article_revisions (article_id, revision, title, summary, url, text,
                                       text_source, replaced_at, developments,
                                       sentences_added, sentences_removed)
        SELECT a.article_id, a.revision, a.title, a.summary, a.url, a.text, a.text_source, ?,
            -- read before this cycle's entities replace them: what the replaced text said
            coalesce((
                SELECT list({'kind': d.kind, 'stance': d.stance, 'sentence': d.sentence}
                            ORDER BY d.start_offset, d.kind, d.stance)
                FROM developments AS d WHERE d.article_id = a.article_id
            ), []),
            -- the update's diff, computed once here rather than by every query of
            -- `article_changes` (macros of migration 0017)
            sentences_not_in(article_sentences(u.text), article_sentences(a.text)),
            sentences_not_in(article_sentences(a.text), article_sentences(u.text))
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
    run.articles_updated = con.execute("SELECT count(*) FROM updated_articles").fetchall()[0][0]


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
