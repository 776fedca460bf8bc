"""Evaluate near-duplicate detection: pairwise precision and recall against known copies.

Two sets:
* the demo corpus: syndicated copies (`syndicated_from`) and updated versions
  (`update_of`) are the true duplicate pairs; pages are rendered and extracted exactly as
  the pipeline does (no HTTP), and loaded one day at a time so later copies are matched
  against the warehouse, not only within a batch;
* the real feed entries of May 2025 in ../shared/data/rss_may2025/ (feed text only): the
  true pairs are in-place updates — the same Sky News article id at the end of the URL
  under a new headline. Every other predicted pair counts against precision.

Each set is run twice: as published, and with colliding ids — every page's URL rewritten
to end in the same number (`-0028`), as on the site of issue 17 that names pages
`…/assault-0028` and `…/threaten-0028`. The URL id then puts every two pages of a host
side by side, and only their text may tell an update in place from another article.

Goal: precision 1.0 and recall at least 0.95 on all four.

    .venv/bin/python bench/eval_near_duplicates.py [--json PATH]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from newsmon import pipeline, warehouse
from newsmon.config import DedupSettings, Feed
from newsmon.demo.corpus import Corpus, load_corpus, render_feed, render_page
from newsmon.extract import Article, build_articles
from newsmon.feeds import Entry, article_id, canonical_url, entry_identity, parse_feed
from newsmon.fetch import FetchResult

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


BASE = "http://demo.example"
COLLIDING_ID = "0028"
# The article id at the end of a path, and a file extension after it.
_PATH_ID = re.compile(r"^(.*?)(?:[-_]\d{4,})?(\.[a-z]{2,5})?/?$")


def colliding_url(url: str, number: str = COLLIDING_ID) -> str:
    """The URL with its path ending in `number` instead of its own id (or with it appended)."""
    parts = urlsplit(url)
    stem, ext = _PATH_ID.match(parts.path).groups()
    return urlunsplit(parts._replace(path=f"{stem}-{number}{ext or ''}"))


def _pairs(groups: dict[str, set[str]]) -> set[frozenset[str]]:
    return {
        frozenset(p)
        for members in groups.values()
        for p in itertools.combinations(sorted(members), 2)
    }


def _load_by_day(articles: list[Article], db: Path, settings: DedupSettings) -> dict[str, str]:
    """Deduplicate and load day by day; return article_id -> canonical id."""
    by_day: dict[str, list[Article]] = defaultdict(list)
    for a in articles:
        by_day[(a.published_at or a.fetched_at).date().isoformat()].append(a)
    with warehouse.connect(db) as con:
        for number, day in enumerate(sorted(by_day)):
            batch = by_day[day]
            found = pipeline.deduplicate(con, batch, [], settings)
            run = warehouse.RunRecord(
                run_id=f"eval-{number}", started_at=datetime.now(UTC).replace(tzinfo=None)
            )
            warehouse.load_cycle(con, run, [], batch, lsh=found.lsh, relinks=found.relinks)
        rows = con.execute(
            "SELECT article_id, coalesce(duplicate_of, article_id) FROM articles"
        ).fetchall()
    return dict(rows)


def _score(truth: set[frozenset[str]], canonical: dict[str, str]) -> dict:
    groups: dict[str, set[str]] = defaultdict(set)
    for member, root in canonical.items():
        groups[root].add(member)
    predicted = _pairs(groups)
    hit = truth & predicted
    return {
        "true_pairs": len(truth),
        "predicted_pairs": len(predicted),
        "precision": round(len(hit) / len(predicted), 4) if predicted else 1.0,
        "recall": round(len(hit) / len(truth), 4) if truth else 1.0,
        "articles": len(canonical),
        "marked_duplicate": sum(member != root for member, root in canonical.items()),
        "false_pairs": sorted(sorted(p) for p in predicted - truth)[:10],
        "missed_pairs": sorted(sorted(p) for p in truth - predicted)[:10],
    }


def demo_articles(corpus: Corpus) -> tuple[list[Article], dict[str, str]]:
    """The corpus's articles as the pipeline builds them (feeds parsed, pages extracted), and
    corpus id -> article_id."""
    entries: list[Entry] = []
    ids: dict[str, str] = {}
    pages: dict[str, FetchResult] = {}
    for outlet in corpus.outlets.values():
        feed = Feed(id=outlet.id, name=outlet.name, url=f"{BASE}/{outlet.id}/feed.xml")
        parsed = parse_feed(render_feed(corpus, outlet, BASE).body, feed)
        entries += parsed.entries
    by_url = {e.url: e for e in entries}
    for a in corpus.articles:
        url = f"{BASE}/{a.outlet}{a.path}"
        ids[a.id] = by_url[url].article_id
        page = render_page(corpus, a, BASE)
        pages[url] = FetchResult(
            url=url,
            final_url=url,
            status=page.status,
            content=page.body,
            error=None if page.status == 200 else f"HTTP {page.status}",
        )
    return build_articles(entries, pages, 200), ids


def evaluate_demo(settings: DedupSettings | None = None, colliding: bool = False) -> dict:
    """Near-duplicate pairs on the demo corpus, through rendering and extraction.

    `colliding`: every page's path ends in the same number (the demo outlets share one host).
    """
    settings = settings or DedupSettings()
    corpus = load_corpus()
    if colliding:
        for a in corpus.articles:
            a.path = urlsplit(colliding_url(BASE + a.path)).path
        assert len({a.path for a in corpus.articles}) == len(corpus.articles)
    articles, ids = demo_articles(corpus)
    groups: dict[str, set[str]] = {}
    parent = {a.id: (a.syndicated_from or a.update_of) for a in corpus.articles}
    for a in corpus.articles:
        root = a.id
        while parent.get(root):
            root = parent[root]
        groups.setdefault(root, set()).add(ids[a.id])
    with tempfile.TemporaryDirectory() as tmp:
        canonical = _load_by_day(articles, Path(tmp) / "w.duckdb", settings)
    return _score(_pairs(groups), canonical)


_SKY_ID = re.compile(r"news\.sky\.com/story/.*-(\d{6,})/?$")


def evaluate_rss_may2025(
    settings: DedupSettings | None = None, colliding: bool = False
) -> dict | None:
    """Near-duplicate pairs on real feed entries of May 2025 (None when the data is absent).

    `colliding`: every URL ends in the same number; the true pairs stay the Sky updates.
    """
    path = SHARED / "rss_may2025" / "entries.jsonl"
    if not path.exists():
        return None
    settings = settings or DedupSettings()
    articles, groups = [], defaultdict(set)
    seen = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        link = colliding_url(row["link"]) if colliding else row["link"]
        canonical = canonical_url(link)
        identity = entry_identity("rss", None, canonical, row.get("title"), None)
        aid = article_id(identity)
        if aid in seen:
            continue  # the same entry archived on two days
        seen.add(aid)
        published = (
            datetime.fromisoformat(row["date_published"]).astimezone(UTC).replace(tzinfo=None)
        )
        text = f"{row.get('title') or ''}\n{row.get('description') or ''}"
        articles.append(
            Article(
                article_id=aid,
                feed_id="rss",
                url=link,
                canonical_url=canonical,
                title=row.get("title"),
                summary=row.get("description"),
                text=text,
                published_at=published,
                fetched_at=published,
                language="en",
                text_source="feed",
            )
        )
        match = _SKY_ID.search(row["link"])
        groups[f"sky#{match[1]}" if match else aid].add(aid)
    with tempfile.TemporaryDirectory() as tmp:
        canonical = _load_by_day(articles, Path(tmp) / "w.duckdb", settings)
    return _score(_pairs(groups), canonical)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    results = {
        "demo corpus": evaluate_demo(),
        "demo, colliding ids": evaluate_demo(colliding=True),
        "rss_may2025": evaluate_rss_may2025(),
        "rss, colliding ids": evaluate_rss_may2025(colliding=True),
    }
    print(f"{'set':19} {'true':>5} {'found':>6} {'precision':>9} {'recall':>7}  duplicates")
    for name, r in results.items():
        if r is None:
            print(f"{name:19} skipped (../shared/data absent)")
            continue
        print(
            f"{name:19} {r['true_pairs']:5} {r['predicted_pairs']:6} "
            f"{r['precision']:9.3f} {r['recall']:7.3f}  {r['marked_duplicate']}/{r['articles']}"
        )
        for pair in r["false_pairs"]:
            print(f"   false pair: {pair}")
        for pair in r["missed_pairs"]:
            print(f"   missed pair: {pair}")
    ok = all(r is None or (r["precision"] >= 1.0 and r["recall"] >= 0.95) for r in results.values())
    print(f"goal precision 1.0, recall >= 0.95: {'PASS' if ok else 'FAIL'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
