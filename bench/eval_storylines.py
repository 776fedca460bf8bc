"""Quality of storylines (newsmon.storylines): events linked over weeks, on running-story labels.

Sets (read from ../shared/data, never copied; a missing set is skipped):
  40er         Giveme5W1H 40er: 40 articles, 10 running stories (newsCluster.EventId)  - dev
  google_news  Giveme5W1H google_news: 32 articles, 7 running stories (category_id)     - test
  demo corpus  the 45 articles of src/newsmon/demo/corpus.yaml: the Istanbul storyline must
               hold both rounds (as two events) and the prisoner exchange; no other storyline
               may take them (behaviour, not a quality claim: the team wrote that text)

Each set goes through the pipeline's two stages as a stream: documents in date order to
StoryIndex.assign (the events, with the story stage's own settings), then each event, in
order of its first document, to StorylineIndex.link with its profile as the warehouse
builds it: the event's centroid words (sum of its articles' unit tf-idf vectors) and the
entities the entity stage finds in its articles (share of its articles naming each).
Figures: pairwise and B-cubed P/R/F1 of documents by storyline against the labels, and of
the events alone against the same labels (what storylines add). Threshold tuning reads
only the dev set (`--sweep`).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from bench.eval_stories import Doc, Score, load_giveme  # noqa: E402
from newsmon.stories import StoryIndex, StorySettings, features  # noqa: E402
from newsmon.storylines import (  # noqa: E402
    StorylineIndex,
    StorylineSettings,
    StoryProfile,
    mention_weight,
)

SETS = {"40er": "dev", "google_news": "test"}


def entity_keys(docs: list[Doc]) -> dict[str, dict[str, float]]:
    """doc_id -> the 'kind:name' keys the entity stage finds in the document, weighted as
    the warehouse weighs them (storylines.mention_weight)."""
    from newsmon.analysis import analyser_for
    from newsmon.config import NlpSettings
    from newsmon.entities import article_text

    analyser = analyser_for([], NlpSettings())
    texts = [article_text(d.title, d.text) for d in docs]
    days = [(d.published_at or datetime(2000, 1, 1)).date() for d in docs]
    found = analyser.analyse(texts, days)
    return {
        d.doc_id: {
            f"{m.entity.kind}:{m.entity.name}": mention_weight(m.count, m.first_offset)
            for m in result.mentions
        }
        for d, result in zip(docs, found, strict=True)
    }


def storylines(
    docs: list[Doc],
    names: dict[str, dict[str, float]],
    settings: StorylineSettings,
    stories: StorySettings | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """(doc_id -> event, doc_id -> storyline), fed as the pipeline feeds them."""
    index = StoryIndex(stories or StorySettings())
    order = sorted(docs, key=lambda d: (d.published_at is None, d.published_at or datetime.min))
    event_of: dict[str, str] = {}
    members: dict[str, list[Doc]] = defaultdict(list)
    vectors: dict[str, dict[str, float]] = {}
    for doc in order:
        story_id, _, _ = index.assign(doc.doc_id, doc.published_at, features(doc.title, doc.text))
        event_of[doc.doc_id] = story_id
        members[story_id].append(doc)
        vectors[story_id] = dict(index.stories[story_id].vector)
    lines = StorylineIndex(settings)
    line_of_event = {}
    for story_id, group in members.items():  # in order of each event's first document
        share: dict[str, float] = defaultdict(float)
        for doc in group:
            for key, weight in names.get(doc.doc_id, {}).items():
                share[key] += weight / len(group)
        dates = [d.published_at for d in group if d.published_at]
        profile = StoryProfile(
            story_id,
            min(dates) if dates else None,
            max(dates) if dates else None,
            vectors[story_id],
            dict(share),
            len(group),
        )
        line_of_event[story_id] = lines.link(profile).storyline_id
    return event_of, {d: line_of_event[e] for d, e in event_of.items()}


def demo_docs() -> list[Doc]:
    from newsmon.demo.corpus import load_corpus

    # as the pipeline stores them: a stub or missing page keeps the feed summary (extract.py)
    return [
        Doc(a.id, "", a.published, a.title, a.body if a.page == "ok" else a.summary)
        for a in load_corpus().articles
    ]


def evaluate(name: str, settings: StorylineSettings, cache: dict) -> dict | None:
    docs = load_giveme(name)
    if docs is None:
        return None
    if name not in cache:
        cache[name] = entity_keys(docs)
    events, lines = storylines(docs, cache[name], settings)
    gold = {d.doc_id: d.label for d in docs}
    by_line, by_event = Score(), Score()
    by_line.add(gold, lines)
    by_event.add(gold, events)
    return {"storylines": by_line.figures(), "events": by_event.figures()}


def demo(settings: StorylineSettings, cache: dict) -> dict:
    from bench.eval_stories import FIRST_ROUND, SECOND_ROUND

    docs = demo_docs()
    if "demo" not in cache:
        cache["demo"] = entity_keys(docs)
    events, lines = storylines(docs, cache["demo"], settings)
    exchange = {d.doc_id for d in docs if "swap" in d.title.lower() or "exchange" in d.title}
    istanbul = {lines[d] for d in FIRST_ROUND | SECOND_ROUND}
    return {
        "rounds_one_storyline": len(istanbul) == 1,
        "rounds_events": len({events[d] for d in FIRST_ROUND | SECOND_ROUND}),
        "exchange_in_it": bool(exchange) and {lines[d] for d in exchange} <= istanbul,
        "storylines": len(set(lines.values())),
        "istanbul_size": sum(lines[d] in istanbul for d in lines),
    }


def _row(label: str, f: dict) -> str:
    return (
        f"{label:<26} {f['docs']:>4} {f['events']:>6} {f['stories']:>6} "
        f"{f['pair_p']:>6.3f} {f['pair_r']:>6.3f} {f['pair_f1']:>6.3f} "
        f"{f['b3_p']:>6.3f} {f['b3_r']:>6.3f} {f['b3_f1']:>6.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threshold", type=float, default=StorylineSettings().threshold)
    parser.add_argument("--sweep", action="store_true", help="thresholds on the dev set only")
    args = parser.parse_args(argv)
    settings = replace(StorylineSettings(), threshold=args.threshold)
    cache: dict = {}
    if args.sweep:
        for threshold in (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
            result = evaluate("40er", replace(settings, threshold=threshold), cache)
            if result:
                print(_row(f"40er (dev) at {threshold:g}", result["storylines"]))
        return 0
    print(
        f"{'set':<26} {'docs':>4} {'labels':>6} {'groups':>6} "
        f"{'pP':>6} {'pR':>6} {'pF1':>6} {'b3P':>6} {'b3R':>6} {'b3F1':>6}"
    )
    for name, split in SETS.items():
        result = evaluate(name, settings, cache)
        if result is None:
            print(f"{name}: not present, skipped")
            continue
        print(_row(f"{name} ({split}) storylines", result["storylines"]))
        print(_row(f"{name} ({split}) events only", result["events"]))
    d = demo(settings, cache)
    print(
        f"demo: Istanbul rounds in one storyline {d['rounds_one_storyline']} as "
        f"{d['rounds_events']} events; the exchange in it {d['exchange_in_it']}; "
        f"{d['istanbul_size']} of 45 articles in it; {d['storylines']} storylines"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
