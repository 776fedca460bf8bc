"""Benchmark dedup and stories at warehouse scale: a batch of 1,000 against 100,000 stored.

What is measured: `pipeline.deduplicate` (exact hashes, URL ids, MinHash LSH candidates
joined in DuckDB, rapidfuzz verification) for a new batch of 1,000 articles against a
warehouse of 100,000 stored ones — and, when the story stage is present, assigning the
batch to stories. Texts are synthetic (words drawn from a Zipf-like vocabulary, about 300
words each); 5 % of the batch are edited copies of stored articles and 2 % exact copies, so
the verification path is exercised. Goal from the issue: 2 s or less on 2 cores, with
memory that does not grow with the square of anything (the peak of Python allocations is
printed for the batch step).

    .venv/bin/python bench/bench_dedup.py              # 100,000 stored, batch of 1,000
    .venv/bin/python bench/bench_dedup.py --smoke      # 2,000 stored, batch of 200
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsmon import dedup, pipeline, stories, warehouse
from newsmon.config import DedupSettings, StorySettings
from newsmon.extract import Article

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2025, 5, 1)


def _vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choices(letters, k=rng.randint(3, 10))) for _ in range(size)]


def _text(rng: random.Random, words: list[str], weights: list[float]) -> str:
    return " ".join(rng.choices(words, weights=weights, k=rng.randint(200, 400))) + "."


def _article(i: int, text: str, published: datetime, host: str = "outlet") -> Article:
    url = f"https://{host}{i % 50}.example/news/story-{i}"
    return Article(
        article_id=f"a{i:08d}",
        feed_id=f"feed{i % 50}",
        url=url,
        canonical_url=url,
        title=text[:60],
        text=text,
        published_at=published,
        fetched_at=published,
        language="en",
        text_source="page",
    )


def stored_articles(stored: int, rng: random.Random, words, weights) -> list[Article]:
    """`stored` synthetic articles over 30 days, in published order."""
    times = sorted(START + timedelta(seconds=rng.uniform(0, 30 * 86400)) for _ in range(stored))
    return [_article(i, _text(rng, words, weights), t) for i, t in enumerate(times)]


def build_warehouse(db: Path, articles: list[Article]) -> None:
    """Store the articles with their hashes, LSH keys and stories, in runs of 10,000."""
    settings = DedupSettings()
    stored = len(articles)
    started = time.perf_counter()
    with warehouse.connect(db) as con:
        for offset in range(0, stored, 10_000):
            chunk = articles[offset : offset + 10_000]
            lsh = []
            for a in chunk:
                a.content_hash = dedup.content_hash(a.text)
                prep = dedup.prepare(a, settings)
                a.url_key = prep.url_key
                lsh += [(a.article_id, b, k) for b, k in enumerate(prep.bands)]
            # Stories as the pipeline forms them; random texts rarely meet, so nearly every
            # stored article is its own story: the most open stories a warm start can meet.
            assigned = pipeline.assign_stories(con, chunk, StorySettings())
            run = warehouse.RunRecord(f"setup-{offset}", datetime.now(UTC).replace(tzinfo=None))
            warehouse.load_cycle(
                con,
                run,
                [],
                chunk,
                lsh=lsh,
                features=assigned.features,
                story_vectors=assigned.vectors,
            )
            print(
                f"  stored {offset + len(chunk):>7,} articles ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )


def new_batch(size: int, stored: list[Article], rng: random.Random, words, weights):
    """Mostly new texts, 5 % edited copies and 2 % exact copies of recent stored articles."""
    planted: Counter = Counter()
    batch = []
    now = START + timedelta(days=30)
    # Copies of articles inside the dedup window (7 days): older ones are out of reach by design.
    recent = [a for a in stored if a.published_at >= now - timedelta(days=6)]
    for i in range(size):
        n = 10_000_000 + i
        roll = rng.random()
        if roll < 0.05:
            source = rng.choice(recent).text.split()
            for _ in range(8):
                source[rng.randrange(len(source))] = rng.choice(words)
            text = " ".join(source)
            planted["near"] += 1
        elif roll < 0.07:
            text = rng.choice(recent).text
            planted["hash"] += 1
        else:
            text = _text(rng, words, weights)
        batch.append(_article(n, text, now + timedelta(seconds=i), host="newcomer"))
    return batch, planted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--smoke", action="store_true", help="2,000 stored, batch of 200")
    parser.add_argument(
        "--keep",
        type=Path,
        help="build the stored warehouse at this path once and copy it on later runs "
        "(the batch step writes nothing, but a copy keeps the kept file pristine)",
    )
    args = parser.parse_args()
    if args.smoke:
        args.stored, args.batch = 2_000, 200
    rng = random.Random(7)
    words = _vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "w.duckdb"
        stored = stored_articles(args.stored, rng, words, weights)
        if args.keep and args.keep.exists():
            print(f"copying the stored warehouse from {args.keep}")
            shutil.copyfile(args.keep, db)
        else:
            print(f"building a warehouse of {args.stored:,} articles ...")
            build_warehouse(db, stored)
            if args.keep:
                shutil.copyfile(db, args.keep)
        batch, planted = new_batch(args.batch, stored, rng, words, weights)
        del stored  # 100,000 articles the pipeline would not hold: not the step's memory
        gc.collect()
        for a in batch:  # as the pipeline does, in the per-article analysis before loading
            a.story_features = stories.features(a.title, a.text)
        twin = copy.deepcopy(batch)
        dedup.band_keys("warm up")  # datasketch is imported at first use: once a process
        with warehouse.connect(db) as con:
            story_count, open_count = con.execute(
                "SELECT count(*), count(*) FILTER (WHERE last_seen_at >= ?) FROM stories",
                [batch[0].published_at - StorySettings().window],
            ).fetchall()[0]
            started = time.perf_counter()
            found = pipeline.deduplicate(con, batch, [], DedupSettings())
            dedup_s = time.perf_counter() - started
            started = time.perf_counter()
            opened = pipeline.assign_stories(con, batch, StorySettings()).opened
            stories_s = time.perf_counter() - started
            # Memory on a second, identical batch: tracemalloc slows Python down.
            tracemalloc.start()
            pipeline.deduplicate(con, twin, [], DedupSettings())
            pipeline.assign_stories(con, twin, StorySettings())
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            # What every run pays after its load: the analysts' snapshot is a copy of the
            # whole file (warehouse.refresh_snapshot), so it grows with the warehouse.
            started = time.perf_counter()
            warehouse.refresh_snapshot(con, db)
            snapshot_s = time.perf_counter() - started
        file_mib = db.stat().st_size / 2**20
        marked = {m: n for m, n in sorted(found.by_method.items())}
    figures = {
        "stored": args.stored,
        "batch": args.batch,
        "dedup_seconds": round(dedup_s, 3),
        "dedup_per_article_ms": round(dedup_s / args.batch * 1000, 3),
        "stories_seconds": round(stories_s, 3),
        "stories_opened": opened,
        "stories_stored": story_count,
        "stories_open": open_count,
        "total_seconds": round(dedup_s + stories_s, 3),
        "python_peak_mib": round(peak / 2**20, 1),
        "snapshot_refresh_seconds": round(snapshot_s, 3),
        "warehouse_mib": round(file_mib, 1),
        "duplicates": marked,
        "planted": dict(planted),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
        },
    }
    print(f"\nbatch of {args.batch:,} against {args.stored:,} stored:")
    print(
        f"  deduplicate       {dedup_s:7.3f} s  ({figures['dedup_per_article_ms']} ms an article)"
    )
    print(
        f"  assign stories    {stories_s:7.3f} s  ({opened} new stories; "
        f"{open_count:,} of {story_count:,} stored stories open)"
    )
    print(f"  together          {dedup_s + stories_s:7.3f} s")
    print(f"  python peak       {figures['python_peak_mib']:7.1f} MiB during the batch step")
    print(f"  duplicates found  {marked}  (planted: {dict(planted)})")
    print(
        f"  snapshot refresh  {snapshot_s:7.3f} s  (checkpoint and copy of the {file_mib:,.0f} MiB"
        " warehouse, after each run's load)"
    )
    total = dedup_s + stories_s
    print(
        f"goal: deduplicated and assigned to stories in <= 2 s: {'PASS' if total <= 2 else 'FAIL'} ({total:.2f} s)"
    )
    out = ROOT / "bench" / "results" / ("dedup-smoke.json" if args.smoke else "dedup.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
