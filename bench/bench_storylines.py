"""Benchmark storyline linking at warehouse scale: the events of a batch of 1,000 new articles
against the storylines of 100,000 stored ones.

The dedup + events step of the same goal is `bench_dedup.py` (random texts, no entities:
nearly one story per article and no storyline ever links). Storylines need events that
recur, so this bench generates a world of running situations: each has its own words (drawn
from the mid and rare part of the Zipf vocabulary of bench_dedup), its people,
organisations, places and countries (countries are few and widely shared, as in real news),
and a run of events over the 30 days; 30 % of situations are one-off events. Each event has
1-7 articles of about 70 words (general Zipf words, the situation's, the event's own, the
actors' names); the article's story features are `stories.features`, the event's centroid
is the sum of its articles' unit tf-idf vectors (the story stage's `story_vectors`), and its
entities are the mentions of its articles weighted by `storylines.mention_weight`.
The stored events are linked in time order by `StorylineIndex.link` (the storyline stage's
own code); the warehouse then holds the articles, stories, mentions, storyline links and
vectors, as the pipeline leaves them. The batch (day 30: 60 % of its events continue a
situation, 40 % are new) is timed in `storylines.assign`, the step `load_cycle` runs, on a
fresh connection inside a transaction that is rolled back (three runs; the median is
reported). Goal from the issue: dedup + events + storylines <= 2 s on 2 cores: the events
figure is read from bench_dedup's result file when present.

    .venv/bin/python bench/bench_storylines.py              # 100,000 stored, batch of 1,000
    .venv/bin/python bench/bench_storylines.py --smoke      # 2,000 stored, batch of 200
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_dedup import _vocabulary  # noqa: E402
from newsmon import storylines, warehouse  # noqa: E402
from newsmon.stories import FEATURES_VERSION, features  # noqa: E402
from newsmon.storylines import (  # noqa: E402
    StorylineIndex,
    StorylineSettings,
    StoryProfile,
    mention_weight,
)

START = datetime(2025, 5, 1)
DAYS = 30
KINDS = ("person", "organisation", "place", "country")


def _name(rng: random.Random, parts: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return " ".join(
        "".join(rng.choices(letters, k=rng.randint(4, 8))).title() for _ in range(parts)
    )


class World:
    """The generated news: situations, their events and articles, in time order."""

    def __init__(self, rng: random.Random, stored: int):
        self.rng = rng
        self.words = _vocabulary(rng)
        self.weights = [1 / (rank + 1) for rank in range(len(self.words))]
        self.countries = [f"country:{_name(rng, 1)}" for _ in range(60)]
        self.country_weights = [1 / (rank + 1) ** 0.8 for rank in range(60)]
        self.places = [f"place:{_name(rng, 1)}" for _ in range(max(200, stored // 50))]
        self.people = [f"person:{_name(rng, 2)}" for _ in range(max(1000, stored // 4))]
        self.orgs = [f"organisation:{_name(rng, 2)}" for _ in range(max(300, stored // 20))]
        self.df: Counter = Counter()
        self.docs = 0
        self.situations: list[dict] = []

    def situation(self, day: float) -> dict:
        rng = self.rng
        actors = rng.sample(self.people, rng.randint(1, 3)) + rng.sample(
            self.orgs, rng.randint(0, 2)
        )
        countries = rng.choices(self.countries, self.country_weights, k=rng.randint(0, 2))
        places = rng.sample(self.places, rng.randint(0, 1))
        s = {
            "id": len(self.situations),
            "words": rng.sample(self.words[1500:], 25),
            "entities": list(dict.fromkeys(actors + countries + places)),
            "day": day,
        }
        self.situations.append(s)
        return s

    def articles(self, situation: dict, n: int) -> list[tuple[str, str, dict]]:
        """(title, text, {entity key: (count, first_offset)}) for `n` reports of one event."""
        rng = self.rng
        own = rng.sample(self.words[500:], 8)
        out = []
        for _ in range(n):
            words = (
                rng.choices(self.words, weights=self.weights, k=40)
                + rng.choices(situation["words"], k=20)
                + rng.choices(own, k=10)
            )
            rng.shuffle(words)
            named = rng.sample(situation["entities"], min(len(situation["entities"]), 3))
            mentions = {}
            for key in named:
                at = rng.randrange(len(words))
                words.insert(at, key.split(":", 1)[1])
                mentions[key] = (rng.randint(1, 3), at * 7)
            title = " ".join(words[:10])
            out.append((title, " ".join(words[10:]) + ".", mentions))
        return out

    def warm(self, n: int = 3000) -> None:
        """Term statistics from a sample of articles (the story stage's window statistics)."""
        for _ in range(n):
            s = {"words": self.rng.sample(self.words[1500:], 25), "entities": []}
            for title, text, _ in self.articles(s, 1):
                self.df.update(features(title, text).keys())
                self.docs += 1

    def centroid(self, reports: list[tuple[str, str, dict]]) -> dict[str, float]:
        """Sum of the reports' unit tf-idf vectors, as the story stage keeps it."""
        total: dict[str, float] = defaultdict(float)
        for title, text, _ in reports:
            feats = features(title, text)
            vec = {t: w * math.log((self.docs + 1) / (self.df[t] + 1.0)) for t, w in feats.items()}
            norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            for t, v in vec.items():
                total[t] += v / norm
        return dict(total)


def generate(stored: int, batch: int, rng: random.Random):
    """(stored events, batch events): each (story_id, day, reports, situation id)."""
    world = World(rng, stored)
    world.warm()
    events = []
    count = 0
    # situations start over the 30 days; each runs a chain of events days apart
    while count < stored:
        s = world.situation(rng.uniform(0, DAYS))
        runs = 1 if rng.random() < 0.3 else rng.randint(2, 14)
        day = s["day"]
        for _ in range(runs):
            if day >= DAYS or count >= stored:
                break
            n = min(stored - count, rng.randint(1, 7))
            events.append((day, s, world.articles(s, n)))
            count += n
            day += rng.expovariate(1 / 3)
    recent = [s for s in world.situations if s["day"] >= DAYS - 20]
    new_events = []
    count = 0
    while count < batch:
        s = rng.choice(recent) if rng.random() < 0.6 else world.situation(DAYS)
        n = min(batch - count, rng.randint(1, 7))
        new_events.append((DAYS + rng.uniform(0, 0.5), s, world.articles(s, n)))
        count += n
    events.sort(key=lambda e: e[0])
    return world, events, new_events


def profile(world: World, story_id: str, day: float, reports) -> StoryProfile:
    when = START + timedelta(days=day)
    share: dict[str, float] = defaultdict(float)
    for _, _, mentions in reports:
        for key, (n, offset) in mentions.items():
            share[key] += mention_weight(n, offset) / len(reports)
    return StoryProfile(story_id, when, when, world.centroid(reports), dict(share), len(reports))


def build(db: Path, world: World, events, new_events, settings: StorylineSettings):
    """The warehouse after the stored events were linked, with the batch's events stored but
    not yet linked (as load_cycle leaves them before `storylines.assign`)."""
    index = StorylineIndex(settings)
    rows = defaultdict(list)
    links = []
    started = time.perf_counter()
    article_no = 0
    for number, (day, _s, reports) in enumerate([*events, *new_events]):
        story_id = f"s{number:08d}"
        p = profile(world, story_id, day, reports)
        is_new = number >= len(events)
        if not is_new:
            link = index.link(p)
            links.append((story_id, link.storyline_id, link.score, link.shared))
        else:
            terms = sorted(p.words.items(), key=lambda kv: (-kv[1], kv[0]))
            norm = math.sqrt(sum(v * v for _, v in terms))
            rows["story_vectors"].append(
                (story_id, FEATURES_VERSION, p.last_at, len(reports),
                 [t for t, _ in terms], [w for _, w in terms], 10, norm)
            )  # fmt: skip
        rows["stories"].append(
            (story_id, reports[0][0], p.first_at, p.last_at, len(reports), len(reports),
             None if is_new else links[-1][1])
        )  # fmt: skip
        for k, (title, _text, mentions) in enumerate(reports):
            article_id = f"a{article_no:09d}"
            article_no += 1
            at = p.first_at + timedelta(minutes=k)
            rows["articles"].append(
                (article_id, f"feed{article_no % 300}", title, at, at, "feed", story_id,
                 None if is_new else links[-1][1])
            )  # fmt: skip
            for key, (n, offset) in mentions.items():
                rows["mentions"].append((article_id, key, n, offset))
        if number % 2000 == 0 and number:
            print(
                f"  linked {number:>6,} events ({time.perf_counter() - started:.0f} s)", flush=True
            )
    build_s = time.perf_counter() - started
    _store(db, index, rows, links)
    return index, build_s


def _store(db: Path, index: StorylineIndex, rows, links) -> None:
    cols = {
        "articles": "article_id feed_id title published_at fetched_at text_source story_id "
        "storyline_id",
        "stories": "story_id title first_seen_at last_seen_at article_count outlet_count "
        "storyline_id",
        "story_vectors": "story_id version last_at size terms weights indexed norm",
        "mentions": "article_id entity_id count first_offset",
        "storyline_links": "story_id storyline_id score shared",
        "storyline_vectors": "storyline_id last_at size terms weights entities entity_weights",
    }
    rows["storyline_links"] = links
    rows["storyline_vectors"] = [storylines._vector_row(s) for s in index.storylines.values()]
    keys = sorted({m[1] for m in rows["mentions"]})
    with warehouse.connect(db) as con:
        for table, names in cols.items():
            names = names.split()
            data = pa.table({n: [r[i] for r in rows[table]] for i, n in enumerate(names)})
            con.register("bulk", data)
            con.execute(f"INSERT INTO {table} ({', '.join(names)}) SELECT * FROM bulk")
            con.unregister("bulk")
        con.executemany(
            "INSERT INTO entities (entity_id, name, kind, source) VALUES (?, ?, ?, 'ner')",
            [(k, k.split(":", 1)[1], k.split(":", 1)[0]) for k in keys],
        )
        con.execute(
            """
            INSERT INTO storylines
            SELECT l.storyline_id, arg_max(s.title, s.article_count), min(s.first_seen_at),
                   max(s.last_seen_at), count(*), sum(s.article_count), 1
            FROM storyline_links AS l JOIN stories AS s USING (story_id) GROUP BY ALL
            """
        )
        con.execute("CHECKPOINT")


def time_assign(db: Path, story_ids: list[str], settings: StorylineSettings, runs: int = 3):
    """Seconds of `storylines.assign` for the batch on fresh connections (rolled back)."""
    seconds = []
    opened = 0
    for _ in range(runs):
        with warehouse.connect(db) as con:
            con.execute("BEGIN TRANSACTION")
            started = time.perf_counter()
            opened = storylines.assign(con, story_ids, settings)
            seconds.append(time.perf_counter() - started)
            links = con.execute(
                "SELECT story_id, storyline_id, score, shared FROM storyline_links "
                "WHERE story_id IN (SELECT unnest(?)) ORDER BY 1",
                [story_ids],
            ).fetchall()
            con.execute("ROLLBACK")
    with warehouse.connect(db) as con:
        con.execute("BEGIN TRANSACTION")
        tracemalloc.start()
        storylines.assign(con, story_ids, settings)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        con.execute("ROLLBACK")
    return seconds, opened, links, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--smoke", action="store_true", help="2,000 stored, batch of 200")
    parser.add_argument("--links", type=Path, help="write the batch's links here (JSON)")
    args = parser.parse_args()
    if args.smoke:
        args.stored, args.batch = 2_000, 200
    settings = StorylineSettings()
    rng = random.Random(11)
    started = time.perf_counter()
    world, events, new_events = generate(args.stored, args.batch, rng)
    print(
        f"generated {len(events):,} stored events and {len(new_events)} new ones "
        f"({time.perf_counter() - started:.0f} s); linking the stored events ...",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "w.duckdb"
        index, build_s = build(db, world, events, new_events, settings)
        ids = [f"s{n:08d}" for n in range(len(events), len(events) + len(new_events))]
        with warehouse.connect(db) as con:
            n_lines, n_open, biggest = con.execute(
                "SELECT count(*), count(*) FILTER (WHERE last_at >= ?), max(size) "
                "FROM storyline_vectors",
                [START + timedelta(days=DAYS) - timedelta(days=settings.window_days)],
            ).fetchone()
            linked_events = con.execute(
                "SELECT count(*) FROM storyline_links WHERE shared <> 'opened'"
            ).fetchone()[0]
        seconds, opened, links, peak = time_assign(db, ids, settings)
    step = statistics.median(seconds)
    joined = len(links) - opened
    figures = {
        "stored": args.stored,
        "batch": args.batch,
        "stored_events": len(events),
        "storylines": n_lines,
        "storylines_open": n_open,
        "largest_storyline_events": biggest,
        "stored_events_linked": linked_events,
        "build_link_seconds": round(build_s, 1),
        "batch_events": len(new_events),
        "batch_opened": opened,
        "batch_joined": joined,
        "storylines_seconds_runs": [round(s, 3) for s in seconds],
        "storylines_seconds": round(step, 3),
        "python_peak_mib": round(peak / 2**20, 1),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
        },
    }
    print(f"\nevents of a batch of {args.batch:,} articles against {args.stored:,} stored:")
    print(
        f"  warehouse         {len(events):,} events in {n_lines:,} storylines "
        f"({linked_events:,} events joined one; largest {biggest} events; "
        f"linked in {build_s:.0f} s)"
    )
    print(
        f"  assign storylines {step:7.3f} s  (median of {', '.join(f'{s:.3f}' for s in seconds)};"
        f" {len(new_events)} events: {joined} joined a storyline, {opened} opened one; "
        f"{n_open:,} storylines open)"
    )
    print(f"  python peak       {figures['python_peak_mib']:7.1f} MiB during the step")
    dedup = ROOT / "bench" / "results" / ("dedup-smoke.json" if args.smoke else "dedup.json")
    events_s = None
    if dedup.exists():
        data = json.loads(dedup.read_text())
        if data.get("batch") == args.batch and data.get("stored") == args.stored:
            events_s = data.get("total_seconds")
    if events_s is None:
        print(
            f"goal: dedup + events + storylines <= 2 s: storylines alone {step:.2f} s "
            f"(no {dedup.name} of this size: run bench_dedup.py for the rest)"
        )
    else:
        total = events_s + step
        figures["events_seconds"] = events_s
        figures["total_seconds"] = round(total, 3)
        print(
            f"goal: dedup + events + storylines <= 2 s: {'PASS' if total <= 2 else 'FAIL'} "
            f"({total:.2f} s: {events_s:.2f} s from {dedup.name} + {step:.2f} s storylines)"
        )
    if args.links:
        args.links.write_text(json.dumps(links, default=str))
    out = (
        ROOT / "bench" / "results" / ("storylines-smoke.json" if args.smoke else "storylines.json")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
