"""The warehouse under concurrent use: a busy file stages the batch, nothing lost or loaded twice."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from flows.poll import poll_feeds
from newsmon import staging, warehouse

from .conftest import Response, write_sources

PAGE = (Path(__file__).parent / "fixtures" / "article.html").read_bytes()


def rss(site, paths):
    items = "".join(
        f"<item><title>Item {p}</title><link>{site.url(p)}</link><description>Summary of {p}.</description></item>"
        for p in paths
    )
    return f'<rss version="2.0"><channel><title>C</title>{items}</channel></rss>'.encode()


class Holder:
    """Another process that keeps the warehouse open (read-only, like an analyst's session)."""

    def __init__(self, db: Path):
        code = f"import duckdb, sys, time; c = duckdb.connect({str(db)!r}, read_only=True); print('open', flush=True); time.sleep(120)"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "open"

    def close(self):
        self.proc.kill()
        self.proc.wait()


@pytest.mark.usefixtures("prefect_harness")
def test_a_busy_warehouse_stages_the_batch_and_the_next_run_loads_it_once(site, tmp_path):
    site.routes["/a"] = Response(PAGE)
    site.routes["/b"] = Response(
        PAGE.replace(b"390 prisoners", b"three hundred and ninety prisoners")
    )
    site.routes["/feed.xml"] = Response(rss(site, ["/a"]))
    db = tmp_path / "w.duckdb"
    sources = write_sources(
        tmp_path / "s.yaml",
        [{"id": "c", "name": "C", "url": site.url("/feed.xml")}],
        db,
        lock_wait=1,
    )
    first = poll_feeds(sources=str(sources))
    assert first["outcome"] == "loaded" and first["articles_new"] == 1
    assert warehouse.snapshot_path(db).exists()

    site.routes["/feed.xml"] = Response(rss(site, ["/a", "/b"]))
    holder = Holder(db)
    try:
        started = time.monotonic()
        second = poll_feeds(sources=str(sources), force=True)
        assert second["outcome"] == "staged"
        assert time.monotonic() - started < 60
        (batch,) = staging.pending(db)
        staged = staging.read(batch)
        assert [a.title for a in staged.articles] == ["Item /b"]
        # Its developments are staged and read back with it, not lost.
        assert any(found.developments for found in staged.entities.values())
        # Analysts can still read the snapshot while the pipeline cannot write.
        with duckdb.connect(str(warehouse.snapshot_path(db)), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 1
    finally:
        holder.close()

    third = poll_feeds(sources=str(sources), force=True)
    assert third["outcome"] == "loaded" and staging.pending(db) == []
    with duckdb.connect(str(db), read_only=True) as con:
        titles = sorted(t for (t,) in con.execute("SELECT title FROM articles").fetchall())
        runs = dict(con.execute("SELECT run_id, status FROM runs").fetchall())
        with_developments = {
            t
            for (t,) in con.execute(
                "SELECT DISTINCT a.title FROM developments JOIN articles AS a USING (article_id)"
            ).fetchall()
        }
        assert con.execute("SELECT count(*) FROM feed_polls").fetchone()[0] == 3
    assert titles == ["Item /a", "Item /b"]  # /b once: from the staged batch, not again
    assert with_developments == {"Item /a", "Item /b"}
    assert runs[second["run_id"]] == "staged" and len(runs) == 3


def test_a_staged_batch_already_loaded_is_removed_not_loaded_again(tmp_path):
    from datetime import datetime

    from newsmon import pipeline
    from newsmon.config import parse_sources

    db = tmp_path / "w.duckdb"
    sources = parse_sources("feeds:\n  - {id: f, name: F, url: 'https://f.example/'}\n")
    run = warehouse.RunRecord("r1", datetime(2025, 5, 16))
    batch = staging.Batch(run, [], [], [], {})
    staging.write(db, batch)
    with warehouse.connect(db) as con:
        warehouse.load_cycle(con, warehouse.RunRecord("r1", datetime(2025, 5, 16)), [], [])
    outcome, _ = pipeline.load_or_stage(
        db,
        staging.Batch(warehouse.RunRecord("r2", datetime(2025, 5, 17)), [], [], [], {}),
        sources,
        0,
    )
    assert outcome == "loaded" and staging.pending(db) == []
    with duckdb.connect(str(db), read_only=True) as con:
        assert sorted(r for (r,) in con.execute("SELECT run_id FROM runs").fetchall()) == [
            "r1",
            "r2",
        ]


def test_a_staged_batch_that_cannot_be_loaded_is_set_aside_and_the_others_load(tmp_path, caplog):
    from datetime import datetime

    from newsmon import pipeline
    from newsmon.config import parse_sources

    db = tmp_path / "w.duckdb"
    sources = parse_sources("feeds:\n  - {id: f, name: F, url: 'https://f.example/'}\n")
    broken = staging.write(
        db, staging.Batch(warehouse.RunRecord("r1", datetime(2025, 5, 16)), [], [], [], {})
    )
    (broken / "articles.parquet").write_bytes(b"not parquet: the disk filled while staging")
    staging.write(
        db, staging.Batch(warehouse.RunRecord("r2", datetime(2025, 5, 17)), [], [], [], {})
    )
    this = staging.Batch(warehouse.RunRecord("r3", datetime(2025, 5, 18)), [], [], [], {})
    outcome, _ = pipeline.load_or_stage(db, this, sources, 0)
    # the batch after it and this run's load; the broken one is kept aside with its error
    assert outcome == "loaded" and staging.pending(db) == []
    (aside,) = staging.set_aside_batches(db)
    assert aside.name == broken.name and (aside / "run.json").exists()
    assert "ArrowInvalid" in (aside / "error.txt").read_text()
    assert "could not be loaded" in caplog.text and broken.name in caplog.text
    with duckdb.connect(str(db), read_only=True) as con:
        runs = sorted(r for (r,) in con.execute("SELECT run_id FROM runs").fetchall())
    assert runs == ["r2", "r3"]
    # repaired and moved back, it loads with the next run
    good = staging.write(
        tmp_path / "elsewhere.duckdb",
        staging.Batch(warehouse.RunRecord("r1", datetime(2025, 5, 16)), [], [], [], {}),
    )
    (aside / "articles.parquet").write_bytes((good / "articles.parquet").read_bytes())
    aside.rename(staging.staging_dir(db) / aside.name)
    later = staging.Batch(warehouse.RunRecord("r4", datetime(2025, 5, 19)), [], [], [], {})
    assert pipeline.load_or_stage(db, later, sources, 0)[0] == "loaded"
    assert staging.pending(db) == [] and staging.set_aside_batches(db) == []
    with duckdb.connect(str(db), read_only=True) as con:
        runs = sorted(r for (r,) in con.execute("SELECT run_id FROM runs").fetchall())
    assert runs == ["r1", "r2", "r3", "r4"]
