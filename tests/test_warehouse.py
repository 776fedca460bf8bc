"""The DuckDB warehouse on real files: migrations, one-transaction loads, look-ups."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from newsmon import schedule, warehouse
from newsmon.config import Feed, PollingSettings
from newsmon.errors import WarehouseError
from newsmon.extract import Article
from newsmon.feeds import Entry, FeedStatus


def article(article_id, **overrides) -> Article:
    fields = dict(
        article_id=article_id,
        feed_id="f",
        url=f"https://x/{article_id}",
        canonical_url=f"https://x/{article_id}",
        guid=f"g-{article_id}",
        title="t",
        summary="s",
        text="body",
        author=None,
        published_at=datetime(2025, 5, 16),
        fetched_at=datetime(2025, 5, 16, 1),
        language="en",
        site_name=None,
        text_source="page",
        content_hash=f"h-{article_id}",
    )
    return Article(**(fields | overrides))


def status(feed_id="f", state="ok", previous=None) -> FeedStatus:
    result = FeedStatus(
        feed_id,
        "https://x/feed",
        "F",
        ["t"],
        "en",
        datetime(2025, 5, 16, 1),
        state,
        http_status=200 if state == "ok" else 500,
        error=None if state == "ok" else "HTTP 500",
        error_kind=None if state == "ok" else "soft",
        etag='"v1"' if state == "ok" else None,
    )
    feed = Feed(id=feed_id, name="F", url="https://x/feed")
    result.state = schedule.advance(previous, feed, result, PollingSettings(), result.polled_at)
    return result


def test_migrations_apply_once_and_are_recorded(tmp_path):
    db = tmp_path / "w.duckdb"
    with warehouse.connect(db) as con:
        versions = con.execute("SELECT version, name FROM schema_migrations ORDER BY 1").fetchall()
        assert versions[0] == (1, "core")
        assert warehouse.migrate(con) == []  # safe on every start
        views = {
            r[0]
            for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        }
        assert {"articles_unique", "articles_daily", "feed_health"} <= views


def test_read_only_open_of_a_missing_file_fails_clearly(tmp_path):
    with (
        pytest.raises(WarehouseError, match="no warehouse here yet"),
        warehouse.connect(tmp_path / "no.duckdb", read_only=True),
    ):
        pass
    assert not (tmp_path / "no.duckdb").exists()


def test_load_cycle_writes_articles_feeds_polls_and_run(tmp_path):
    db = tmp_path / "w.duckdb"
    run = warehouse.RunRecord(run_id="r1", started_at=datetime(2025, 5, 16, 1), feeds_ok=1)
    with warehouse.connect(db) as con:
        added = warehouse.load_cycle(con, run, [status()], [article("a"), article("b")])
        assert added == 2
        run2 = warehouse.RunRecord(run_id="r2", started_at=datetime(2025, 5, 16, 2))
        # the same ids again (a concurrent run got there first) are ignored, not an error
        before = warehouse.poll_states(con)["f"]
        assert before.etag == '"v1"' and before.last_fetched_at == datetime(2025, 5, 16, 1)
        failed = status(state="error", previous=before)
        assert warehouse.load_cycle(con, run2, [failed], [article("a")]) == 0
        feed = con.execute(
            "SELECT last_status, last_error, last_error_kind, consecutive_failures, weighted_errors, "
            "first_polled_at, etag FROM feeds"
        ).fetchone()
        assert feed == ("error", "HTTP 500", "soft", 1, 0.5, datetime(2025, 5, 16, 1), '"v1"')
        after = warehouse.poll_states(con)["f"]
        assert after.next_poll_at > after.last_success_at
        assert con.execute("SELECT run_id, articles_new FROM runs ORDER BY run_id").fetchall() == [
            ("r1", 2),
            ("r2", 0),
        ]
        assert con.execute("SELECT count(*) FROM feed_polls").fetchone()[0] == 2
        assert con.execute("SELECT DISTINCT run_id FROM articles").fetchall() == [("r1",)]


def test_a_failed_load_leaves_nothing_behind(tmp_path):
    db = tmp_path / "w.duckdb"
    run = warehouse.RunRecord(run_id="r1", started_at=datetime(2025, 5, 16, 1))
    with warehouse.connect(db) as con:
        with pytest.raises(duckdb.Error):
            # text_source violates the CHECK constraint: the whole cycle rolls back
            warehouse.load_cycle(
                con, run, [status()], [article("a"), article("b", text_source="bogus")]
            )
        for table in ("articles", "feeds", "feed_polls", "runs"):
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


def test_an_update_revises_the_row_and_keeps_the_old_version(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.load_cycle(
            con,
            warehouse.RunRecord("r1", datetime(2025, 5, 16)),
            [],
            [article("a", entry_hash="e1")],
        )
        new = article("a", title="Talks end", text="new body", entry_hash="e2")
        run = warehouse.RunRecord("r2", datetime(2025, 5, 17))
        assert warehouse.load_cycle(con, run, [], [], [new]) == 0
        assert run.articles_updated == 1
        row = con.execute(
            "SELECT title, text, revision, entry_hash, updated_at IS NOT NULL FROM articles"
        ).fetchone()
        assert row == ("Talks end", "new body", 2, "e2", True)
        old = con.execute(
            "SELECT article_id, revision, title, text FROM article_revisions"
        ).fetchall()
        assert old == [("a", 1, "t", "body")]


def test_known_keys_and_hashes(tmp_path):
    db = tmp_path / "w.duckdb"
    with warehouse.connect(db) as con:
        run = warehouse.RunRecord(run_id="r1", started_at=datetime(2025, 5, 16))
        warehouse.load_cycle(
            con, run, [], [article("a"), article("b", duplicate_of="a", content_hash="h-a")]
        )
        probe = [
            Entry("a", "f", None, None, None, None, None, None, None, None),
            Entry("z", "f", "g-b", None, "https://x/a", None, None, None, None, None),
        ]
        known = warehouse.known_keys(con, probe)
        assert (
            known.article_ids == {"a"}
            and known.guids == {"g-b"}
            and known.canonical_urls == {"https://x/a"}
        )
        assert warehouse.known_hashes(con, ["h-a", "h-zz"]) == {"h-a": "a"}


def test_spelling_index_finds_what_extract_one_over_every_name_finds():
    import random

    from rapidfuzz import fuzz, process

    rng = random.Random(20250516)
    letters = "abcdefgh "
    base = ["".join(rng.choices(letters, k=rng.randint(3, 30))) for _ in range(200)]

    def variant(name: str) -> str:
        i = rng.randrange(len(name))
        return name[:i] + rng.choice(letters) + name[i + rng.randint(0, 2) :]

    for threshold in (92, 75):
        index, names, ids, matched = warehouse.SpellingIndex(threshold), [], [], 0
        for k in range(1500):
            name = variant(rng.choice(base)) if rng.random() < 0.7 else rng.choice(base)
            best = process.extractOne(name, names, scorer=fuzz.ratio, score_cutoff=threshold)
            expected = ids[best[2]] if best else None
            found = index.best(name)
            assert (found[2] if found else None) == expected, (threshold, name)
            matched += expected is not None
            entity = expected or f"e{k}"
            index.add(name, entity)
            names.append(name)
            ids.append(entity)
        assert matched > 500  # the comparison saw many matches, ties among them


def test_discovered_names_resolve_as_extract_one_over_stored_then_batch_names(tmp_path):
    import random

    from bench.bench_load import _resolve_against_every_name, _variant
    from newsmon.entities import EntityRef

    rng = random.Random(7)
    letters = "abcdefgh"
    stored = {"".join(rng.choices(letters, k=rng.randint(8, 16))).capitalize() for _ in range(400)}
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        con.executemany(
            "INSERT INTO entities (entity_id, name, kind, source, first_seen_at) "
            "VALUES (?, ?, 'person', 'ner', ?)",
            [[EntityRef(n, "person", "ner").id, n, datetime(2025, 5, 1)] for n in stored],
        )
        # Stored names, close spellings of them, close spellings of each other, new names.
        names = rng.sample(sorted(stored), 50) + [
            _variant(rng, n) for n in rng.sample(sorted(stored), 150)
        ]
        names += [_variant(rng, n) for n in names[50:100]]
        names += [
            "".join(rng.choices(letters, k=rng.randint(8, 16))).capitalize() for _ in range(100)
        ]
        refs = {EntityRef(n, "person", "ner") for n in names}
        resolved = warehouse._resolve_entities(con, refs, 92.0)
        assert resolved == _resolve_against_every_name(con, refs, 92.0)
    # The stored names are matched a block at a time; blocks of one row give the same.
    queries, choices = [n.casefold() for n in names], sorted(n.casefold() for n in stored)
    assert warehouse._best_matches(queries, choices, 92.0, cells=1) == warehouse._best_matches(
        queries, choices, 92.0
    )
    merged = sum(resolved[r] != r.id for r in refs)
    assert merged > 100  # most close spellings joined a stored entity or an earlier variant


def test_a_batch_whose_articles_are_all_stored_already_loads_without_new_stories(tmp_path):
    # A staged batch can hold articles another run stored first, under other story ids: its
    # stories then have no articles in the warehouse. Loading it must store its run and
    # nothing twice (an empty batch of titles or links made DuckDB's executemany raise).
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.load_cycle(
            con, warehouse.RunRecord("r1", datetime(2025, 5, 16, 2)), [status()],
            [article("a", story_id="s-first")],
        )  # fmt: skip
        warehouse.load_cycle(
            con, warehouse.RunRecord("r2", datetime(2025, 5, 16, 3)), [status()],
            [article("a", story_id="s-staged")],
        )  # fmt: skip
        runs = [r for (r,) in con.execute("SELECT run_id FROM runs ORDER BY 1").fetchall()]
        stories = con.execute("SELECT story_id FROM stories").fetchall()
        articles = con.execute("SELECT article_id, story_id FROM articles").fetchall()
    assert runs == ["r1", "r2"]
    assert stories == [("s-first",)] and articles == [("a", "s-first")]
