"""Quality of story grouping (newsmon.stories) on third-party same-event labels and the demo corpus.

Event-level sets (read from ../shared/data, never copied; a missing set is skipped), each
halved into a dev half (where the settings were chosen) and a test half (never tuned on):
  basil        BASIL: 100 real events, each reported by Fox News, the New York Times and
               HuffPost (2010-2019), replayed as a stream in date order; halves by a hash of
               the event label. Variants: full text; `lead`, headline and first paragraph, as
               the hidden evaluation's streams and feed-only articles are; `lead undated`,
               time ignored, so that all 50 events of a half are open at once (a precision
               test); `lead dense`, each event moved in time, in its order, so that one
               begins every 167/426 days (the hidden stream's density: 426 events in 167
               days), keeping the gaps between an event's reports: BASIL's own dates hold one
               event open at a time.
  rss_may2025  the 162 real feed entries of 16, 17 and 23 May 2025 (five outlets), headline
               and summary only, against the team's event labels (bench/data/
               rss_may2025_events.yaml, ids only; 20 `unsure` entries clustered, not scored);
               halves by a hash of the label. `--show-rss` prints the stories.
  ecbplus      ECB+ topics 1-35, each holding two real events of the same kind (sub-topics
               N_ecb and N_ecbplus), undated; each topic is clustered on its own (a monitor
               watching one kind of event); odd topics are dev. The source URL that opens
               ECB+ documents is dropped: it would tell the sub-topics apart by corpus
               construction. "merged" is the share of predicted same-story pairs that cross
               sub-topics (goal < 5 %).
  40er, google_news  Giveme5W1H (whole, for information): its labels are running topics
               (weeks), the storyline level, not events.
  demo corpus  src/newsmon/demo/corpus.yaml against bench/data/demo_events.yaml (the team's
               text and labels), and the check that the two Istanbul rounds stay apart.

Beside newsmon, every set is clustered by a plain TF-IDF single pass (`baseline_cluster`:
scikit-learn's TfidfVectorizer with English stop words, fitted on the whole set, centroid
cosine, the same window), its threshold (0.20) chosen on the dev halves as newsmon's were
(`--sweep-baseline`). Its IDF knows the whole set in advance; newsmon's knows the last five
days of the stream, as the warehouse does. Figures: pairwise and B-cubed precision, recall
and F1, events split over several stories, stories mixing events, merged pairs.

Features version 3 (this change; before -> after, B-cubed F1 dev / test, baseline in
brackets): basil 0.904 / 0.893 -> 0.985 / 0.980 (0.978 / 0.971); basil lead 0.840 / 0.816 ->
0.948 / 0.926 (0.950 / 0.945); basil lead dense 0.840 / 0.813 -> 0.951 / 0.942 (0.931 /
0.909); basil lead undated 0.839 / 0.787 -> 0.951 / 0.900 (0.935 / 0.889); rss_may2025 0.959
/ 0.927 -> 0.988 / 0.941 (0.959 / 0.963); ECB+ merged 4.3 % / 1.9 % -> 4.1 % / 1.8 % (baseline
24.8 % / 9.0 %). What did it: one key per word whatever its case (names only weigh more),
Snowball stems (PyStemmer) of British spellings made American (breame), numbers' scales
(basil lead dense dev 0.840 -> 0.922, threshold and seed threshold 0.30); then a seed test that grows with
the story (`seed_full_at`: a story of two articles has drifted one step at most, so half the
seed threshold is asked of it; +0.01-0.03 on every stream at equal ECB+ merges); values
chosen on the dev halves: threshold 0.28 (was 0.36), seed threshold 0.35 (was 0.15: with one
key per word, ECB+ events of one kind chain into one story at 0.15, 18 % merged), IDF prior 5
pseudo-articles (was 10: with fewer, the words every report of a one-kind ECB+ topic shares
weigh less), term statistics of the last five days as the warehouse keeps them, time decay
(half-life 8 days after a grace of 1.5) under the 4-day window (level with no decay on the
dev halves; a 7-day window gained nothing there).

Tried and left out (dev halves): a background IDF prior from word frequencies (wordfreq):
+0.01-0.03 on the sparse BASIL streams, but ECB+ merges 14-22 %; term statistics over the
whole stream instead of the last five days (what a longer warehouse window would give):
+0.01-0.02 on basil lead, others flat; title weight 2 or 4, name weight 1.5 or 2.5: worse; a
second pass merging stories whose centroids meet, run offline over each stream as an upper
bound: nothing on the BASIL and feed streams, ECB+ per topic B-cubed 0.513 -> 0.605 at 4.2 %
merged (cosine >= 0.5), more merges below - and it would need the warehouse to move stored
articles between stories.

What stands in the way of the rest: reports of one event written from different angles
("Obama poised to back plan to curb gun violence" / "Obama urges new restrictions on assault
weapons") share few words in a headline and lead (cosine 0.15-0.25), while two ECB+ events
of one kind share most of theirs (cross-event pairs reach cosine 0.4-0.5), so a threshold low
enough for the former merges the latter. On BASIL's own dates a half holds one event open at
a time, so five days of statistics are the three reports of one event: the IDF cannot tell
the event's words from common ones, which the baseline's IDF, fitted on the whole set in
advance, can (basil lead 0.926 against 0.945 on the test half). At a real stream's density
(basil lead dense) the statistics hold a few dozen reports and newsmon is ahead.

Giveme5W1H: the best pairwise F1 a grouping that keeps the labels apart reaches when a story
closes `window_days` after its last article (`window_bound`) is 0.717 (40er) and 0.829
(google_news) with 4 days: its labels are for storylines.

Earlier tuning (features version 2, on the whole sets): the seed test and the 4-day window
keep the demo's developing situation from chaining (the call for a truce, the offer of talks,
the talks, the Trump-Putin call); max-link instead of centroid, name-conflict penalties, word
bigrams, lead-only vectors, IDF warmed from other topics and truncated vectors moved the ECB+
frontier by a point or two at most.

`--scale N` times 1,000 assignments against N synthetic stored articles.

    .venv/bin/python bench/eval_stories.py [--json PATH] [--sweep] [--sweep-baseline]
                                           [--scale 100000] [--threshold T] ...
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import heapq
import json
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from newsmon.stories import (  # noqa: E402
    MAX_TERMS,
    StoryIndex,
    StorySettings,
    central_title,
    features,
)

DATA = ROOT.parent / "shared" / "data"
GIVEME = {
    "40er": ("giveme5w1h/40er/data", lambda doc: doc["newsCluster"]["EventId"]),
    "google_news": ("giveme5w1h/google_news/data", lambda doc: doc["category_id"]),
}
ECBPLUS = "ecbplus/ecbplus_docs.jsonl.gz"
DEMO_EVENTS = ROOT / "bench" / "data" / "demo_events.yaml"
RSS = "rss_may2025/entries.jsonl"
BASIL = "basil/docs.jsonl"
SPLITS = ("dev", "test")
# The baseline's threshold, chosen on the dev splits like newsmon's (`--sweep-baseline`).
BASELINE_THRESHOLD = 0.2
RSS_EVENTS = ROOT / "bench" / "data" / "rss_may2025_events.yaml"

# Demo corpus: the two rounds of Russia-Ukraine talks in Istanbul.
FIRST_ROUND = {
    "tw-istanbul-talks-open",
    "tw-istanbul-talks-end",
    "tw-istanbul-prisoner-deal",
    "ec-istanbul-first-round",
    "ll-istanbul-first-round",
    "hd-istanbul-first-round-analysis",
}
SECOND_ROUND = {
    "ll-second-round-opens",
    "ec-second-round",
    "tw-second-round",
    "ll-second-round-ends",
    "hd-second-round-analysis",
}


@dataclass
class Doc:
    doc_id: str
    label: str
    published_at: datetime | None
    title: str | None
    text: str
    group: str = ""  # ECB+ topic


# -- loading ------------------------------------------------------------------------------


def load_giveme(name: str, *, dated: bool = True) -> list[Doc] | None:
    """A Giveme5W1H set as Docs (description + text as the text), or None when absent."""
    folder, label = GIVEME[name]
    path = DATA / folder
    if not path.is_dir():
        return None
    docs = []
    for file in sorted(path.glob("*.json")):
        raw = json.loads(file.read_text(encoding="utf-8"))
        text = "\n".join(part for part in (raw.get("description"), raw.get("text")) if part)
        published = raw.get("date_publish")
        docs.append(
            Doc(
                doc_id=file.stem,
                label=str(label(raw)),
                published_at=datetime.fromisoformat(published) if dated and published else None,
                title=raw.get("title"),
                text=text,
            )
        )
    return docs


def rss_key(link: str) -> str:
    """How bench/data/rss_may2025_events.yaml names an entry: its link's SHA-1, 12 digits."""
    return hashlib.sha1(link.encode("utf-8")).hexdigest()[:12]


def load_rss() -> tuple[list[Doc], set[str]] | None:
    """The rss_may2025 feed entries as Docs (title and summary, as a feed-only article is
    stored), labelled with the team's events; and the ids of the `unsure` entries. None when
    the data is absent."""
    path = DATA / RSS
    if not path.exists():
        return None
    from newsmon.feeds import html_to_text

    raw = yaml.safe_load(RSS_EVENTS.read_text(encoding="utf-8"))
    label = {key: event for event, keys in raw["events"].items() for key in keys}
    unsure = set(raw["unsure"])
    docs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        key = rss_key(entry["link"])
        docs.append(
            Doc(
                doc_id=key,
                label=label.get(key, key),  # not listed: an event of its own
                published_at=datetime.fromisoformat(entry["date_published"]),
                title=html_to_text(entry.get("title")),
                text=html_to_text(entry.get("description")) or "",
            )
        )
    missing = (set(label) | unsure) - {d.doc_id for d in docs}
    if missing:
        raise SystemExit(f"{RSS_EVENTS}: no entry in {path} for {sorted(missing)}")
    return docs, unsure


def evaluate_rss(settings: StorySettings | None = None) -> dict[str, float] | None:
    """Scores on the rss_may2025 entries (the `unsure` ones are clustered, not scored)."""
    loaded = load_rss()
    if loaded is None:
        return None
    docs, unsure = loaded
    pred = cluster(docs, settings or StorySettings())
    score = Score()
    score.add({d.doc_id: d.label for d in docs if d.doc_id not in unsure}, pred)
    return score.figures()


def show_rss(settings: StorySettings) -> None:
    """Print the rss_may2025 stories of more than one entry, and the labelled events split."""
    loaded = load_rss()
    if loaded is None:
        print(f"no {DATA / RSS}")
        return
    docs, unsure = loaded
    by_id = {d.doc_id: d for d in docs}
    pred = cluster(docs, settings)

    def line(doc: Doc) -> str:
        label = "?" if doc.doc_id in unsure else doc.label
        return f"    {doc.published_at:%d %H:%M}  {label[:34]:<34} {doc.title}"

    print("\nrss_may2025 stories of more than one entry:")
    for members in _groups(pred).values():
        if len(members) > 1:
            print("  story")
            print("\n".join(line(by_id[m]) for m in members))
    events: dict[str, set[str]] = defaultdict(set)
    for doc in docs:
        if doc.doc_id not in unsure:
            events[doc.label].add(doc.doc_id)
    print("labelled events split over several stories:")
    for event, members in events.items():
        if len({pred[m] for m in members}) > 1:
            print(
                f"  {event}: "
                + " | ".join(f"{by_id[m].title} [{pred[m][:6]}]" for m in sorted(members))
            )


def load_ecbplus(*, lead: bool = False) -> list[Doc] | None:
    """ECB+ documents (undated), label = sub-topic, group = topic; None when absent.
    `lead`: the first two lines only (the headline and first sentence), as a feed stores it:
    two events of one kind told in so few words test a lead's threshold."""
    path = DATA / ECBPLUS
    if not path.exists():
        return None
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            raw = json.loads(line)
            lines = raw["text"].split("\n")
            # ECB+ documents open with their source URL, ECB ones do not: a URL would tell
            # the two events of a topic apart by corpus construction, not by content.
            if lines and lines[0].startswith("http"):
                lines = lines[1:]
            if lead:
                lines = [line for line in lines if line.strip()][:2]
            docs.append(
                Doc(
                    doc_id=raw["doc"],
                    label=raw["subtopic"],
                    published_at=None,
                    title=None,
                    text="\n".join(lines),
                    group=str(raw["topic"]),
                )
            )
    return docs


def load_basil(*, lead: bool = False, dated: bool = True) -> list[Doc] | None:
    """BASIL's 300 articles (100 events x 3 outlets) as Docs, label = the event's triplet id;
    None when absent. `lead`: the headline and first paragraph only, as a feed-only article
    is stored (the hidden evaluation's streams are headline and lead)."""
    path = DATA / BASIL
    if not path.exists():
        return None
    docs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        text = raw["text"].strip()
        if lead:
            text = text.split("\n", 1)[0]
        docs.append(
            Doc(
                doc_id=raw["id"],
                label=raw["label"],
                published_at=datetime.fromisoformat(raw["date"]) if dated else None,
                title=raw["title"],
                text=text,
            )
        )
    return docs


# -- clustering and scores ------------------------------------------------------------------


def cluster(
    docs: list[Doc], settings: StorySettings, feats: dict[str, dict] | None = None
) -> dict[str, str]:
    """doc_id -> story_id, feeding the documents in date order (ties/undated: given order)."""
    index = StoryIndex(settings)
    order = sorted(
        range(len(docs)),
        key=lambda i: (docs[i].published_at is None, docs[i].published_at or datetime.min, i),
    )
    out = {}
    for i in order:
        doc = docs[i]
        f = feats[doc.doc_id] if feats is not None else features(doc.title, doc.text)
        out[doc.doc_id], _, _ = index.assign(doc.doc_id, doc.published_at, f)
    return out


def _pairs(groups: dict[str, set[str]]) -> int:
    return sum(len(g) * (len(g) - 1) // 2 for g in groups.values())


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def pair_counts(gold: dict[str, str], pred: dict[str, str]) -> tuple[int, int, int]:
    """(true-positive pairs, predicted pairs, gold pairs) of a clustering."""
    both: dict[tuple[str, str], int] = Counter((gold[d], pred[d]) for d in gold)
    tp = sum(n * (n - 1) // 2 for n in both.values())
    pred_sizes = Counter(pred[d] for d in gold)
    gold_sizes = Counter(gold.values())
    predicted = sum(n * (n - 1) // 2 for n in pred_sizes.values())
    actual = sum(n * (n - 1) // 2 for n in gold_sizes.values())
    return tp, predicted, actual


def bcubed_sums(gold: dict[str, str], pred: dict[str, str]) -> tuple[float, float, int]:
    """Sums over documents of B-cubed precision and recall, and the number of documents."""
    both = Counter((gold[d], pred[d]) for d in gold)
    gold_sizes = Counter(gold.values())
    pred_sizes = Counter(pred[d] for d in gold)
    p = r = 0.0
    for d in gold:
        common = both[(gold[d], pred[d])]
        p += common / pred_sizes[pred[d]]
        r += common / gold_sizes[gold[d]]
    return p, r, len(gold)


class Score:
    """Accumulates pairwise and B-cubed counts over one or more clusterings (micro average)."""

    def __init__(self) -> None:
        self.tp = self.predicted = self.actual = 0
        self.bp = self.br = 0.0
        self.docs = self.events = self.stories = 0
        self.split = 0  # gold events spread over more than one story
        self.mixed = 0  # stories holding documents of more than one gold event
        self.cross_pairs = 0  # predicted pairs across `group`s (whole-set ECB+ run)

    def add(self, gold: dict[str, str], pred: dict[str, str]) -> None:
        tp, predicted, actual = pair_counts(gold, pred)
        self.tp += tp
        self.predicted += predicted
        self.actual += actual
        bp, br, n = bcubed_sums(gold, pred)
        self.bp += bp
        self.br += br
        self.docs += n
        self.events += len(set(gold.values()))
        self.stories += len({pred[d] for d in gold})
        stories_of: dict[str, set[str]] = defaultdict(set)
        events_of: dict[str, set[str]] = defaultdict(set)
        for d, event in gold.items():
            stories_of[event].add(pred[d])
            events_of[pred[d]].add(event)
        self.split += sum(len(s) > 1 for s in stories_of.values())
        self.mixed += sum(len(e) > 1 for e in events_of.values())

    def figures(self) -> dict[str, float]:
        p = self.tp / self.predicted if self.predicted else 1.0
        r = self.tp / self.actual if self.actual else 1.0
        bp = self.bp / self.docs if self.docs else 1.0
        br = self.br / self.docs if self.docs else 1.0
        return {
            "docs": self.docs,
            "events": self.events,
            "stories": self.stories,
            "split": self.split,
            "mixed": self.mixed,
            "pair_p": p,
            "pair_r": r,
            "pair_f1": _f1(p, r),
            "b3_p": bp,
            "b3_r": br,
            "b3_f1": _f1(bp, br),
            # share of predicted same-story pairs joining different gold events
            "merged_pairs": (self.predicted - self.tp) / self.predicted if self.predicted else 0.0,
        }


def evaluate(docs: list[Doc], settings: StorySettings) -> dict[str, float]:
    """Scores of one incremental clustering of `docs`."""
    score = Score()
    score.add({d.doc_id: d.label for d in docs}, cluster(docs, settings))
    return score.figures()


def window_bound(docs: list[Doc], window_days: float) -> dict[str, float]:
    """The best pairwise scores of a story grouping that keeps the gold events apart (perfect
    text similarity) when a story takes no article more than `window_days` after its last
    one: each gold event cut where two of its dated articles in a row lie further apart."""
    events: dict[str, list[Doc]] = defaultdict(list)
    for doc in docs:
        events[doc.label].append(doc)
    pred = {}
    for label, members in events.items():
        members.sort(key=lambda d: (d.published_at is None, d.published_at or datetime.min))
        part, last = 0, None
        for doc in members:
            when = doc.published_at
            gap = None if last is None or when is None else (when - last).total_seconds()
            if gap is not None and gap > window_days * 86400:  # as StoryIndex closes a story
                part += 1
            pred[doc.doc_id] = f"{label}/{part}"
            last = when or last
    tp, predicted, actual = pair_counts({d.doc_id: d.label for d in docs}, pred)
    precision, recall = (tp / predicted if predicted else 1.0), (tp / actual if actual else 1.0)
    return {"pair_p": precision, "pair_r": recall, "pair_f1": _f1(precision, recall)}


def evaluate_giveme(
    name: str, settings: StorySettings | None = None, *, dated: bool = True
) -> dict[str, float] | None:
    """Scores on a Giveme5W1H set ('40er' or 'google_news'); None when the data is absent."""
    docs = load_giveme(name, dated=dated)
    return None if docs is None else evaluate(docs, settings or StorySettings())


def evaluate_ecbplus(
    settings: StorySettings | None = None, *, whole_set: bool = True
) -> dict[str, dict[str, float]] | None:
    """ECB+ per topic (micro-averaged over topics) and, optionally, on the whole set at once.

    'merged_pairs' of the per-topic run is the share of predicted same-story pairs that cross
    sub-topics; the whole-set run adds 'cross_topic_pairs', the share crossing topics.
    """
    settings = settings or StorySettings()
    docs = load_ecbplus()
    if docs is None:
        return None
    feats = {d.doc_id: features(d.title, d.text) for d in docs}
    by_topic: dict[str, list[Doc]] = defaultdict(list)
    for doc in docs:
        by_topic[doc.group].append(doc)
    per_topic = Score()
    for topic_docs in by_topic.values():
        per_topic.add({d.doc_id: d.label for d in topic_docs}, cluster(topic_docs, settings, feats))
    out = {"per_topic": per_topic.figures()}
    if whole_set:
        pred = cluster(docs, settings, feats)
        whole = Score()
        whole.add({d.doc_id: d.label for d in docs}, pred)
        figures = whole.figures()
        topic_of = {d.doc_id: d.group for d in docs}
        cross = Counter()
        for story in _groups(pred).values():
            topics = Counter(topic_of[d] for d in story)
            n = len(story)
            cross["all"] += n * (n - 1) // 2
            cross["same"] += sum(k * (k - 1) // 2 for k in topics.values())
        figures["cross_topic_pairs"] = (
            (cross["all"] - cross["same"]) / cross["all"] if cross["all"] else 0.0
        )
        out["whole_set"] = figures
    return out


def _groups(assignment: dict[str, str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for doc_id, story_id in assignment.items():
        groups[story_id].append(doc_id)
    return groups


def demo_events() -> dict[str, str]:
    """Article id -> event label of the demo corpus (bench/data/demo_events.yaml)."""
    raw = yaml.safe_load(DEMO_EVENTS.read_text(encoding="utf-8"))
    return {article_id: event for event, ids in raw["events"].items() for article_id in ids}


def demo_stories(settings: StorySettings | None = None) -> dict:
    """Stories of the demo corpus: [(central title, count, ids)], whether the two rounds merged,
    and the scores against the team's event labels."""
    from newsmon.demo.corpus import load_corpus

    corpus = load_corpus()
    articles = sorted(corpus.articles, key=lambda a: a.published)
    index = StoryIndex(settings or StorySettings())
    members: dict[str, list] = defaultdict(list)
    pred = {}
    for article in articles:
        story_id, _, _ = index.assign(
            article.id, article.published, features(article.title, article.body)
        )
        members[story_id].append(article)
        pred[article.id] = story_id
    stories = [
        (
            central_title([(a.title, features(a.title, a.body)) for a in group]),
            len(group),
            [a.id for a in group],
        )
        for group in members.values()
    ]
    rounds_merged = any(FIRST_ROUND & set(ids) and SECOND_ROUND & set(ids) for _, _, ids in stories)
    labels = demo_events()
    missing = set(pred) ^ set(labels)
    if missing:
        raise SystemExit(f"{DEMO_EVENTS}: labels and corpus differ on {sorted(missing)}")
    score = Score()
    score.add(labels, pred)
    return {"stories": stories, "rounds_merged": rounds_merged, "labelled": score.figures()}


# -- event-level sets, dev/test splits and the TF-IDF baseline --------------------------------


# The density of the hidden evaluation's stream: 426 events over 167 days.
DENSE_EVENT_GAP = timedelta(days=167 / 426)


def densify(docs: list[Doc]) -> list[Doc]:
    """The same documents with each event moved in time, in its order, so that one event
    begins every DENSE_EVENT_GAP; the gaps between an event's reports are kept. BASIL's 100
    events span nine years, so that its streams hold one event open at a time; the labelled
    streams newsmon meets hold a few new events a day."""
    first: dict[str, datetime] = {}
    for doc in sorted(docs, key=lambda d: d.published_at):
        first.setdefault(doc.label, doc.published_at)
    rank = {label: i for i, label in enumerate(sorted(first, key=first.__getitem__))}
    origin = datetime(2020, 1, 1, 12, tzinfo=UTC)
    return [
        dataclasses.replace(
            doc,
            published_at=origin
            + rank[doc.label] * DENSE_EVENT_GAP
            + (doc.published_at - first[doc.label]),
        )
        for doc in docs
    ]


def split_of(label: str) -> str:
    """'dev' or 'test' for an event label: a fixed half of a set's events by a hash of the
    label, so that what was tuned on one half is measured on the other."""
    return "dev" if hashlib.sha1(label.encode("utf-8")).digest()[0] % 2 == 0 else "test"


@dataclass
class EventSet:
    """Documents to cluster as one stream (or one stream per `group`), scored on all but
    `unscored` (clustered, not scored: rss_may2025's unsure entries)."""

    name: str
    split: str  # dev, test or all
    docs: list[Doc]
    unscored: frozenset[str] = frozenset()
    by_group: bool = False  # each group (ECB+ topic) is clustered on its own

    def streams(self) -> list[list[Doc]]:
        if not self.by_group:
            return [self.docs]
        groups: dict[str, list[Doc]] = defaultdict(list)
        for doc in self.docs:
            groups[doc.group].append(doc)
        return list(groups.values())


def _halves(name: str, docs: list[Doc], key, **kw) -> list[EventSet]:
    return [EventSet(name, split, [d for d in docs if key(d) == split], **kw) for split in SPLITS]


def event_sets(*, giveme: bool = True) -> list[EventSet]:
    """The event-level sets, each halved into dev and test (the demo and Giveme5W1H whole).

    BASIL (full text; headline and lead; headline and lead with time ignored, where all 100
    events are open at once) and rss_may2025 split by a hash of the event label; ECB+ per
    topic by topic number (odd: dev). Sets whose data is absent are left out.
    """
    sets: list[EventSet] = []
    for name, kw in (
        ("basil", {}),
        ("basil lead", {"lead": True}),
        ("basil lead undated", {"lead": True, "dated": False}),
    ):
        docs = load_basil(**kw)
        if docs is not None:
            sets += _halves(name, docs, lambda d: split_of(d.label))
    docs = load_basil(lead=True)
    if docs is not None:
        for half in _halves("basil lead dense", docs, lambda d: split_of(d.label)):
            half.docs = densify(half.docs)
            sets.append(half)
    loaded = load_rss()
    if loaded is not None:
        docs, unsure = loaded
        # an unsure entry has no event: it goes to the half its own id hashes to
        sets += _halves(
            "rss_may2025",
            docs,
            lambda d: split_of(d.doc_id if d.doc_id in unsure else d.label),
            unscored=frozenset(unsure),
        )
    for name, lead in (("ecbplus per topic", False), ("ecbplus lead per topic", True)):
        docs = load_ecbplus(lead=lead)
        if docs is not None:
            sets += _halves(
                name, docs, lambda d: "dev" if int(d.group) % 2 else "test", by_group=True
            )
    if giveme:
        for name in GIVEME:
            for dated in (True, False):
                docs = load_giveme(name, dated=dated)
                if docs is not None:
                    label = f"{name} ({'dated' if dated else 'undated'})"
                    sets.append(EventSet(label, "all", docs))
    return sets


def score_set(event_set: EventSet, clusterer) -> dict[str, float]:
    """Figures of `clusterer(docs) -> {doc_id: story_id}` on one set."""
    score = Score()
    for docs in event_set.streams():
        pred = clusterer(docs)
        score.add({d.doc_id: d.label for d in docs if d.doc_id not in event_set.unscored}, pred)
    return score.figures()


def _date_order(docs: list[Doc]) -> list[int]:
    return sorted(
        range(len(docs)),
        key=lambda i: (docs[i].published_at is None, docs[i].published_at or datetime.min, i),
    )


def baseline_cluster(
    docs: list[Doc], threshold: float = 0.0, window_days: float = 4.0
) -> dict[str, str]:
    """The plain TF-IDF single pass: scikit-learn's TfidfVectorizer (English stop words, its
    defaults otherwise) fitted on the whole set, documents in date order, each joining the
    open cluster whose centroid is most similar if the cosine reaches `threshold`, else
    opening one; a cluster closes `window_days` after its last document. The IDF knows the
    whole set in advance, which newsmon, reading a stream, does not."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    threshold = threshold or BASELINE_THRESHOLD
    texts = [f"{d.title or ''}\n{d.text}" for d in docs]
    matrix = TfidfVectorizer(stop_words="english").fit_transform(texts)
    sims = (matrix @ matrix.T).toarray()  # unit rows: cosines of every pair
    clusters: list[tuple[list[int], list[float]]] = []  # (members, [norm2, last])
    out: dict[str, str] = {}
    for i in _date_order(docs):
        when = docs[i].published_at
        now = when.timestamp() if when is not None else None
        best, best_cos = None, -1.0
        for members, state in clusters:
            if now is not None and state[1] is not None and now - state[1] > window_days * 86400:
                continue
            cos = float(np.sum(sims[i, members])) / (state[0] ** 0.5 or 1.0)
            if cos > best_cos:
                best, best_cos = (members, state), cos
        if best is not None and best_cos >= threshold:
            members, state = best
            state[0] += 2 * float(np.sum(sims[i, members])) + sims[i, i]
            members.append(i)
            if now is not None:
                state[1] = max(state[1] or now, now)
            out[docs[i].doc_id] = docs[members[0]].doc_id
        else:
            clusters.append(([i], [float(sims[i, i]), now]))
            out[docs[i].doc_id] = docs[i].doc_id
    return out


# -- cost -----------------------------------------------------------------------------------


def time_features(docs: list[Doc]) -> dict[str, float]:
    """Mean cost of features() per article on real texts, and the mean number of terms."""
    start = time.perf_counter()
    sizes = [len(features(d.title, d.text)) for d in docs]
    elapsed = time.perf_counter() - start
    chars = sum(len(d.text) + len(d.title or "") for d in docs)
    return {
        "articles": len(docs),
        "us_per_article": 1e6 * elapsed / len(docs),
        "mean_chars": chars / len(docs),
        "mean_terms": sum(sizes) / len(sizes),
    }


def synthetic_stream(n: int, *, days: float = 30.0, seed: int = 7):
    """n synthetic stored articles [(article_id, story_id, published_at, feats)] in time order.

    Events of 1-30 articles (mean about 2.5) spread over `days`; each article mixes 25
    rare event terms with common ones drawn from a Zipf law, MAX_TERMS at most like
    features(). Term statistics only: it measures cost, not quality.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    origin = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    event = 0
    while len(rows) < n:
        size = min(int(rng.geometric(0.4)), 30)
        start = rng.uniform(0, days * 86400)
        signature = rng.integers(50_000, 5_000_000, size=25)
        for k in range(size):
            general = rng.zipf(1.3, size=120) % 50_000
            own = rng.choice(signature, size=20, replace=False)
            terms = {f"w{t}": w for t, w in zip(general, rng.uniform(0.1, 2.0, 120), strict=True)}
            terms.update({f"E{t}": w for t, w in zip(own, rng.uniform(1.0, 5.0, 20), strict=True)})
            top = heapq.nlargest(MAX_TERMS, terms.items(), key=lambda kv: kv[1])
            feats = {t: round(float(w), 3) for t, w in top}
            when = origin + timedelta(seconds=start + rng.uniform(0, 3 * 86400))
            rows.append((f"a{len(rows)}", f"a{len(rows) - k}", when, feats))
        event += 1
    rows = rows[:n]
    rows.sort(key=lambda r: r[2])
    return rows


def time_scale(stored: int, batch: int = 1000, settings: StorySettings | None = None) -> dict:
    """Cost of assigning `batch` new articles against a warm index of `stored` articles.

    The stored articles span 30 days; all are given to add_existing (only those within the
    window open stories). The batch is the last `batch` articles of the same stream, so
    part of it joins stored stories and part opens new ones.
    """
    settings = settings or StorySettings()
    rows = synthetic_stream(stored + batch)
    old, new = rows[:stored], rows[stored:]
    index = StoryIndex(settings)
    start = time.perf_counter()
    for _, story_id, when, feats in old:
        index.add_existing(story_id, when, feats)
    warm = time.perf_counter() - start
    start = time.perf_counter()
    first = new[0]
    index.assign(first[0], first[2], first[3])
    load = time.perf_counter() - start
    open_stories = len(index.stories)
    start = time.perf_counter()
    opened = 0
    for article_id, _, when, feats in new[1:]:
        opened += index.assign(article_id, when, feats)[2]
    assign = time.perf_counter() - start
    return {
        "stored": stored,
        "batch": batch,
        "add_existing_s": warm,
        "first_assign_s": load,  # builds the open stories from the stored articles
        "open_stories": open_stories,
        "assign_s": assign,
        "assign_us_per_article": 1e6 * assign / max(len(new) - 1, 1),
        "opened": opened,
        "total_s": warm + load + assign,
    }


# -- report --------------------------------------------------------------------------------

_COLUMNS = [
    ("docs", "docs", "{:d}"),
    ("events", "events", "{:d}"),
    ("stories", "stories", "{:d}"),
    ("split", "split", "{:d}"),
    ("mixed", "mixed", "{:d}"),
    ("pair_p", "pair P", "{:.3f}"),
    ("pair_r", "pair R", "{:.3f}"),
    ("pair_f1", "pair F1", "{:.3f}"),
    ("b3_p", "B3 P", "{:.3f}"),
    ("b3_r", "B3 R", "{:.3f}"),
    ("b3_f1", "B3 F1", "{:.3f}"),
    ("merged_pairs", "merged", "{:.1%}"),
]
_BASE_COLUMNS = [
    ("pair_f1", "base pF1", "{:.3f}"),
    ("b3_f1", "base B3F1", "{:.3f}"),
    ("merged_pairs", "base mrgd", "{:.1%}"),
]


def _table(rows: list[tuple[str, dict, dict | None]]) -> str:
    """One line per set: newsmon's figures, then the baseline's where it was run."""
    head = f"{'set':<30}" + "".join(f"{title:>8}" for _, title, _ in _COLUMNS)
    head += "".join(f"{title:>10}" for _, title, _ in _BASE_COLUMNS)
    lines = [head, "-" * len(head)]
    for name, fig, base in rows:
        cells = "".join(f"{fmt.format(fig[key]):>8}" for key, _, fmt in _COLUMNS)
        if base is not None:
            cells += "".join(f"{fmt.format(base[key]):>10}" for key, _, fmt in _BASE_COLUMNS)
        lines.append(f"{name[:30]:<30}{cells}")
    return "\n".join(lines)


def run_events(settings: StorySettings, baseline_threshold: float = BASELINE_THRESHOLD) -> dict:
    """newsmon and the TF-IDF baseline on every event-level set and split:
    {"<set> [<split>]": {"newsmon": figures, "baseline": figures}}."""
    out: dict = {}
    for event_set in event_sets():
        feats = {d.doc_id: features(d.title, d.text) for d in event_set.docs}
        out[f"{event_set.name} [{event_set.split}]"] = {
            "newsmon": score_set(event_set, lambda docs, f=feats: cluster(docs, settings, f)),
            "baseline": score_set(
                event_set,
                lambda docs: baseline_cluster(docs, baseline_threshold, settings.window_days),
            ),
        }
    return out


def run(settings: StorySettings, baseline_threshold: float = BASELINE_THRESHOLD) -> dict:
    """Every evaluation with `settings`: the event-level sets (dev and test halves, with the
    baseline), the whole-set figures the other scripts read, and the demo check."""
    results: dict = {
        "settings": dataclasses.asdict(settings),
        "baseline_threshold": baseline_threshold,
        "events": run_events(settings, baseline_threshold),
    }
    # whole sets, under the keys bench/run_all.py reads
    rss = evaluate_rss(settings)
    if rss is not None:
        results["rss_may2025 (feed entries)"] = rss
    ecb = evaluate_ecbplus(settings)
    if ecb is not None:
        results["ecbplus per topic"] = ecb["per_topic"]
        results["ecbplus whole set"] = ecb["whole_set"]
    results["demo"] = demo_stories(settings)
    results["demo corpus (labelled)"] = results["demo"].pop("labelled")
    return results


def goals(events: dict) -> list[str]:
    """The issue's event-level goals, each with its verdict, on every real set and split."""
    lines = []
    for name, figs in events.items():
        mine, base = figs["newsmon"], figs["baseline"]
        if name.startswith("ecbplus"):
            ok = mine["merged_pairs"] < 0.05
            lines.append(
                f"  {name:<30} merged {mine['merged_pairs']:.1%} (goal < 5 %): "
                f"{'met' if ok else 'NOT met'}; B3 F1 {mine['b3_f1']:.3f} vs baseline "
                f"{base['b3_f1']:.3f} (baseline merged {base['merged_pairs']:.1%})"
            )
        elif not name.startswith(("40er", "google_news")):
            ok = mine["b3_f1"] >= 0.93 and mine["b3_f1"] > base["b3_f1"]
            lines.append(
                f"  {name:<30} B3 F1 {mine['b3_f1']:.3f} (goal >= 0.93 and above baseline "
                f"{base['b3_f1']:.3f}): {'met' if ok else 'NOT met'}"
            )
    return lines


def sweep(thresholds: list[float], base: StorySettings) -> list[dict]:
    """B-cubed F1 of every dev half, and ECB+ dev merged pairs, for each threshold."""
    rows = []
    sets = [s for s in event_sets(giveme=False) if s.split == "dev"]
    feats = {id(s): {d.doc_id: features(d.title, d.text) for d in s.docs} for s in sets}
    for threshold in thresholds:
        settings = dataclasses.replace(base, threshold=threshold)
        row: dict = {"threshold": threshold}
        for event_set in sets:
            f = feats[id(event_set)]
            fig = score_set(event_set, lambda docs, f=f, s=settings: cluster(docs, s, f))
            row[event_set.name] = fig["b3_f1"]
            if event_set.name.startswith("ecbplus"):
                row["ecb merged"] = fig["merged_pairs"]
        row["rounds_merged"] = demo_stories(settings)["rounds_merged"]
        rows.append(row)
    return rows


def _print_sweep(rows: list[dict]) -> None:
    names = [k for k in rows[0] if k not in ("threshold", "rounds_merged")]
    heads = [n.replace("ecbplus per topic", "ecb+").replace("rss_may2025", "rss") for n in names]
    width = max(map(len, heads)) + 2
    print("dev halves, B-cubed F1 against threshold")
    print("threshold " + "".join(f"{h:>{width}}" for h in heads) + "  demo")
    for row in rows:
        cells = "".join(
            f"{row[n]:>{width}.1%}" if n == "ecb merged" else f"{row[n]:>{width}.3f}" for n in names
        )
        demo = "MERGED" if row["rounds_merged"] else "ok"
        print(f"{row['threshold']:>9.2f} {cells}  {demo}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--sweep", action="store_true", help="also print F1 against threshold")
    parser.add_argument(
        "--sweep-baseline",
        action="store_true",
        help="also print the baseline's dev B-cubed F1 against its threshold",
    )
    parser.add_argument("--baseline-threshold", type=float, default=BASELINE_THRESHOLD)
    parser.add_argument(
        "--show-rss",
        action="store_true",
        help="print the rss_may2025 stories: each entry's label and title (label '?': unsure)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=0,
        metavar="N",
        help="also time 1,000 assignments against N synthetic stored articles (e.g. 100000)",
    )
    for f in dataclasses.fields(StorySettings):
        kind = float if f.type in ("float | None", "float") else type(f.default)
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=None)
    args = parser.parse_args(argv)
    overrides = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(StorySettings)
        if getattr(args, f.name) is not None
    }
    settings = StorySettings(**overrides)
    start = time.perf_counter()
    results = run(settings, args.baseline_threshold)
    elapsed = time.perf_counter() - start

    print(f"settings: {results['settings']}")
    print(
        f"baseline: TF-IDF single pass (scikit-learn, IDF over the whole set), threshold "
        f"{args.baseline_threshold}, window {settings.window_days:g} days"
    )
    events = results["events"]
    rows = [(name, figs["newsmon"], figs["baseline"]) for name, figs in events.items()]
    rows += [
        (f"{k.split(' (')[0]} [all]", results[k], None)
        for k in ("rss_may2025 (feed entries)", "ecbplus per topic", "ecbplus whole set")
        if k in results
    ]
    rows.append(("demo corpus (labelled)", results["demo corpus (labelled)"], None))
    print(_table(rows))
    if not events:
        print(f"no third-party data under {DATA}: those sets skipped")
    print("goals (event level):")
    print("\n".join(goals(events)))
    if "ecbplus whole set" in results:
        whole = results["ecbplus whole set"]
        print(
            f"ecbplus all topics: merged pairs across sub-topics, per topic: "
            f"{results['ecbplus per topic']['merged_pairs']:.1%} (goal < 5 %); "
            f"whole set: pairs across topics {whole['cross_topic_pairs']:.1%}"
        )
    giveme = {name: docs for name in GIVEME if (docs := load_giveme(name)) is not None}
    bounds = {
        name: {
            days: window_bound(docs, days)["pair_f1"]
            for days in sorted({settings.window_days, 7.0, 14.0, 30.0})
        }
        for name, docs in giveme.items()
    }
    if bounds:
        results["giveme_window_bound"] = bounds
        print(
            "best pairwise F1 a story window allows on the dated Giveme5W1H sets"
            " (perfect text similarity, time alone limiting):"
        )
        for name, by_days in bounds.items():
            print(f"  {name:<12}" + ", ".join(f"{d:g} days {f1:.3f}" for d, f1 in by_days.items()))
    demo = results["demo"]
    print(f"\ndemo corpus: {len(demo['stories'])} stories (titled by central_title)")
    for title, count, _ in demo["stories"]:
        print(f"  {count:>3}  {title}")
    verdict = "MERGED (bad)" if demo["rounds_merged"] else "separate (ok)"
    print(f"16-May and 2-June Istanbul rounds in one story: {demo['rounds_merged']} -> {verdict}")

    docs = [d for name_docs in giveme.values() for d in name_docs] + (load_ecbplus() or [])
    docs += load_basil() or []
    if docs:
        cost = time_features(docs)
        results["features_cost"] = cost
        print(
            f"\nfeatures(): {cost['us_per_article']:.0f} us per article "
            f"({cost['articles']} real articles, mean {cost['mean_chars']:.0f} chars, "
            f"{cost['mean_terms']:.0f} terms)"
        )
    if args.show_rss:
        show_rss(settings)
    if args.sweep:
        print()
        results["sweep"] = sweep([0.22, 0.26, 0.30, 0.34, 0.38], settings)
        _print_sweep(results["sweep"])
    if args.sweep_baseline:
        print("\nbaseline, dev halves: B-cubed F1 against its threshold")
        results["sweep_baseline"] = {}
        for threshold in (0.10, 0.15, 0.20, 0.25, 0.30):
            figs = {
                s.name: score_set(
                    s, lambda d, t=threshold: baseline_cluster(d, t, settings.window_days)
                )["b3_f1"]
                for s in event_sets(giveme=False)
                if s.split == "dev"
            }
            results["sweep_baseline"][threshold] = figs
            mean = sum(figs.values()) / len(figs)
            print(
                f"  {threshold:.2f}  mean {mean:.3f}  "
                + "  ".join(f"{n} {v:.3f}" for n, v in figs.items())
            )
    if args.scale:
        scale = time_scale(args.scale, settings=settings)
        results["scale"] = scale
        print(
            f"\nscale: {scale['stored']:,} stored articles (synthetic, 30 days) -> "
            f"add_existing {scale['add_existing_s']:.2f} s, first assign (builds "
            f"{scale['open_stories']:,} open stories) {scale['first_assign_s']:.2f} s, "
            f"{scale['batch'] - 1} more assigns {scale['assign_s']:.2f} s "
            f"({scale['assign_us_per_article']:.0f} us each, {scale['opened']} opened a story)"
        )
    print(f"\n({time.perf_counter() - start:.1f} s; evaluation {elapsed:.1f} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
