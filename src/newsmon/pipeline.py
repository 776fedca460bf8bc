"""Stage steps that need the warehouse and more than one module: deduplication of a batch."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from newsmon import analysis, dedup, entities, staging, stories, storylines, warehouse
from newsmon.config import DedupSettings, Sources, StorySettings
from newsmon.errors import WarehouseLocked
from newsmon.extract import Article
from newsmon.storylines import StorylineSettings

log = logging.getLogger(__name__)


@dataclass
class Deduplicated:
    """What loading needs besides the articles: LSH rows and links for stored articles."""

    lsh: list[tuple[str, int, int]] = field(default_factory=list)
    relinks: list[dedup.Link] = field(default_factory=list)
    by_method: Counter = field(default_factory=Counter)


def deduplicate(
    con: duckdb.DuckDBPyConnection,
    articles: list[Article],
    updates: list[Article],
    settings: DedupSettings,
) -> Deduplicated:
    """Mark exact then near-duplicates of a batch, against itself and the warehouse."""
    # Normalise each text once; hashing, shingling and verification all use it.
    normal = {a.article_id: dedup.normalise_text(a.text or "") for a in articles}
    hashes = [dedup.content_hash(a.text, normal[a.article_id]) for a in articles]
    dedup.mark_exact_duplicates(articles, warehouse.known_hashes(con, hashes), normal)
    for article in [*articles, *updates]:
        article.url_key = dedup.url_key(article.canonical_url or article.url)
    for article in updates:
        article.content_hash = dedup.content_hash(article.text)
    # Updated articles (a revised entry, a page that arrived on a retry) are compared again
    # with the text they have now; links for them revise the stored rows (relinks).
    normal.update({a.article_id: dedup.normalise_text(a.text or "") for a in updates})
    prepared = {
        a.article_id: dedup.prepare(a, settings, normal[a.article_id])
        for a in [*articles, *updates]
        if a.duplicate_of is None
    }
    published = {
        a.article_id: a.published_at or a.fetched_at
        for a in [*articles, *updates]
        if a.article_id in prepared
    }
    stored, pairs = warehouse.near_candidates(con, prepared, published, settings.window)
    links = dedup.link_near_duplicates([*articles, *updates], prepared, stored, pairs, settings)
    result = Deduplicated(
        lsh=[(i, band, key) for i, p in prepared.items() for band, key in enumerate(p.bands)],
        relinks=dedup.apply_links(articles, links),
        by_method=Counter(a.dup_method for a in articles if a.duplicate_of is not None),
    )
    log.info("duplicates in batch: %s", dict(result.by_method))
    return result


@contextmanager
def reading(db: Path, wait: float = 2.0) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A connection for the pipeline's reads before loading: the live file when free (which
    also applies migrations), else the read-only snapshot, else None (nothing known yet)."""
    try:
        with warehouse.connect(db, wait=wait) as con:
            yield con
            return
    except WarehouseLocked:
        log.warning("%s is busy; reading the snapshot instead", db)
    snapshot = warehouse.snapshot_path(db)
    if not snapshot.exists():
        yield None
        return
    with warehouse.connect(snapshot, read_only=True) as con:
        yield con


@dataclass
class StoryAssignment:
    """What the story stage gives the loader besides each article's story_id."""

    # per canonical article, and per stored one whose features were computed again
    features: list[tuple[str, int, list[str], list[float]]]
    vectors: list[stories.StoredStory]  # centroids of the stories opened or grown
    opened: int


def assign_stories(
    con: duckdb.DuckDBPyConnection, articles: list[Article], settings: StorySettings
) -> StoryAssignment:
    """Give every new article a story; return the rows to store and the stories opened.

    Canonical articles are compared, in published order, with the stories open in the
    warehouse; duplicates join the story of the article they copy. The open stories are
    loaded from their stored centroids as the batch's terms probe them; when some open
    story has none (a warehouse from before centroids were kept, or a new features
    version), the open stories are rebuilt once from their articles' stored features.
    """
    index = stories.StoryIndex(
        stories.StorySettings(
            window_days=settings.window.total_seconds() / 86400,
            threshold=settings.threshold,
            seed_threshold=settings.seed_threshold,
        )
    )
    canonical = sorted(
        (a for a in articles if a.duplicate_of is None),
        key=lambda a: (a.published_at or a.fetched_at, a.article_id),
    )
    for article in canonical:
        if article.story_features is None:
            article.story_features = stories.features(article.title, article.text)
    version = stories.FEATURES_VERSION
    features: list[tuple[str, int, list[str], list[float]]] = []
    if canonical:
        since = (canonical[0].published_at or canonical[0].fetched_at) - settings.window
        stale = warehouse.stale_open_stories(con, since, version)
        if stale:
            log.info("rebuilding %d open stories from their articles' features", stale)
            stored = warehouse.story_warm_start(con, since, version)
            for article_id, story_id, published, v, terms, weights, title, text in stored:
                if v == version:
                    feats = dict(zip(terms, weights, strict=True))
                else:  # stored by an earlier feature function: computed again, and kept
                    feats = stories.features(title, text)
                    features.append((article_id, version, list(feats), list(feats.values())))
                index.add_existing(story_id, published, feats, article_id)
            if features:
                log.info("recomputed the story features of %d stored articles", len(features))
        else:
            docs, df = warehouse.term_statistics(
                con, since, version, {t for a in canonical for t in a.story_features}
            )
            index.attach(docs, df)
            vectors = []
            for a in canonical:
                vec = index.vector(a.story_features)
                probes = {t for t, _ in index.probes(vec)}
                vectors.append((a.article_id, a.published_at or a.fetched_at, vec, probes))
            # Chosen with the statistics before the batch; the index scores them again as it
            # assigns. A story far below the threshold now cannot win unless articles of this
            # batch join it first, and then the index finds it through its own postings.
            index.hint(
                warehouse.story_candidates(
                    con,
                    version,
                    settings.window,
                    vectors,
                    per_article=index.settings.candidates,
                    floor=settings.threshold / 2,
                )
            )
    opened = 0
    for article in canonical:
        feats = article.story_features
        article.story_id, score, is_new = index.assign(
            article.article_id, article.published_at or article.fetched_at, feats
        )
        article.story_score = round(score, 4)
        opened += is_new
        features.append((article.article_id, version, list(feats), list(feats.values())))
    in_batch = {a.article_id: a.story_id for a in canonical}
    stored = warehouse.stories_of(
        con, [a.duplicate_of for a in articles if a.duplicate_of and a.duplicate_of not in in_batch]
    )
    for article in articles:
        if article.duplicate_of is not None:
            article.story_id = in_batch.get(article.duplicate_of) or stored.get(
                article.duplicate_of
            )
    return StoryAssignment(features, index.changed(), opened)


def load_batch(con: duckdb.DuckDBPyConnection, batch: staging.Batch, sources: Sources) -> Counter:
    """Deduplicate a batch against the warehouse and load it in one transaction.

    Returns the duplicates found by method. A batch whose run is already recorded (a
    staged batch loaded before a crash) adds nothing.
    """
    run = batch.run
    if con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run.run_id]).fetchall()[0][0]:
        log.info("run %s is already in the warehouse; skipping its batch", run.run_id)
        return Counter()
    found = deduplicate(con, batch.articles, batch.updates, sources.settings.dedup)
    run.duplicates_marked = sum(found.by_method.values())
    run.text_from_page = sum(a.text_source == "page" for a in batch.articles)
    run.text_from_feed = len(batch.articles) - run.text_from_page
    run.finished_at = run.finished_at or datetime.now(UTC).replace(tzinfo=None)
    assigned = assign_stories(con, batch.articles, sources.settings.stories)
    run.stories_new = assigned.opened
    warehouse.load_cycle(
        con,
        run,
        batch.statuses,
        batch.articles,
        batch.updates,
        lsh=found.lsh,
        relinks=found.relinks,
        entities=batch.entities,
        roles=entities.roles(sources.topics),
        features=assigned.features,
        story_vectors=assigned.vectors,
        retries=batch.retries,
        outlets={f.id: f.outlet_name for f in sources.feeds},
    )
    return found.by_method


def load_or_stage(
    db: Path, batch: staging.Batch, sources: Sources, wait: float
) -> tuple[str, Counter]:
    """Load staged batches and then this one; stage it when the warehouse stays busy.

    Returns ('loaded' | 'staged', duplicates by method). The write lock is held only here,
    and the read-only snapshot is refreshed after every load.
    """
    try:
        with warehouse.connect(db, wait=wait) as con:
            staged = staging.pending(db)
            for folder in staged:
                try:
                    earlier = staging.read(folder)
                    load_batch(con, earlier, sources)
                except Exception as exc:  # noqa: BLE001 - any error of this batch, not the run's
                    # One batch that cannot be loaded must not stop every later run: it is
                    # kept aside with its error (load_cycle rolled its transaction back).
                    aside = staging.set_aside(folder, exc)
                    log.error(
                        "staged batch %s could not be loaded (%s: %s); set aside in %s, "
                        "move it back into %s to try again",
                        folder.name, type(exc).__name__, exc, aside, folder.parent,
                    )  # fmt: skip
                    continue
                staging.remove(folder)
                log.info("loaded staged run %s", earlier.run.run_id)
            if staged:
                _drop_stored(con, batch)
            by_method = load_batch(con, batch, sources)
            warehouse.refresh_snapshot(con, db)
            return "loaded", by_method
    except WarehouseLocked:
        batch.run.status = "staged"
        staging.write(db, batch)
        return "staged", Counter()


def _drop_stored(con: duckdb.DuckDBPyConnection, batch: staging.Batch) -> None:
    """Remove from a batch the articles that staged batches have just stored.

    This run read the warehouse before the staged batches were in it, so it may carry the
    same entries again; loading them would count them twice in the run's figures.
    """
    stored = warehouse.known_keys(con, batch.articles).article_ids
    if not stored:
        return
    batch.articles = [a for a in batch.articles if a.article_id not in stored]
    batch.entities = {k: v for k, v in batch.entities.items() if k not in stored}
    for status in batch.statuses:
        status.new_entries = sum(a.feed_id == status.feed_id for a in batch.articles)
    log.info("%d articles of this run were already stored by staged batches", len(stored))


def _reprocess_revisions(con: duckdb.DuckDBPyConnection, analyser, batch_size: int = 200) -> None:
    """Read the developments of every replaced version again, with the rules that read the
    live versions: `article_changes` then flags what the update changed, not what the rules
    did (and versions replaced before migration 0016 get theirs)."""
    revisions = warehouse.revisions_for_reprocessing(con)
    for start in range(0, len(revisions), batch_size):
        part = revisions[start : start + batch_size]
        texts = [entities.article_text(title, text) for _, _, title, text, _ in part]
        found = analyser.analyse(texts, [day for *_, day in part])
        rows = [
            (
                article_id,
                revision,
                [
                    {"kind": d.kind, "stance": d.stance, "sentence": d.sentence}
                    for d in sorted(
                        result.developments, key=lambda d: (d.start_offset, d.kind, d.stance)
                    )
                ],
            )
            for (article_id, revision, *_), result in zip(part, found, strict=True)
        ]
        con.execute("BEGIN TRANSACTION")
        try:
            warehouse.store_revision_developments(con, rows)
            con.execute("COMMIT")
        except duckdb.Error:
            con.execute("ROLLBACK")
            raise


def reprocess(
    con: duckdb.DuckDBPyConnection,
    sources: Sources,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Recompute entities, topics and developments of every stored article from its stored text.

    Nothing is refetched; each batch replaces its articles' mentions and topics in one
    transaction, so running it twice gives the same rows. Returns the articles processed.
    """
    analyser = analysis.analyser_for(sources.topics, sources.settings.nlp)
    roles = entities.roles(sources.topics)
    total = con.execute("SELECT count(*) FROM articles").fetchall()[0][0]
    done, after = 0, None
    now = datetime.now(UTC).replace(tzinfo=None)
    while rows := warehouse.texts_for_reprocessing(con, after, batch_size):
        texts = [entities.article_text(title, text) for _, title, text, _ in rows]
        days = [published.date() for *_, published in rows]
        found = dict(zip((r[0] for r in rows), analyser.analyse(texts, days), strict=True))
        con.execute("BEGIN TRANSACTION")
        try:
            warehouse.store_entities(con, found, now, roles)
            con.execute("COMMIT")
        except duckdb.Error:
            con.execute("ROLLBACK")
            raise
        done += len(rows)
        after = rows[-1][0]
        if progress:
            progress(done, total)
    _reprocess_revisions(con, analyser)
    # Names no article mentions any more (an old NER reading, now a watch-list alias) go.
    con.execute(
        "DELETE FROM entity_aliases WHERE entity_id IN (SELECT entity_id FROM entities "
        "WHERE source = 'ner' AND entity_id NOT IN (SELECT entity_id FROM mentions))"
    )
    con.execute(
        "DELETE FROM entities WHERE source = 'ner' "
        "AND entity_id NOT IN (SELECT entity_id FROM mentions)"
    )
    # Each batch rewrote the trend rows of its stories in id order; put them back in day order.
    warehouse.cluster_trends(con)
    # The storylines read the entities: linked again from the first story on, the same way
    # each time (a second reprocess gives the same storylines).
    storylines.rebuild(con, StorylineSettings())
    return done
