"""Updates in place: how alike two versions under one URL article id are, beside different articles.

The `url` layer of deduplication links two pages of one host whose URLs end in the same
numeric id. Some sites number pages per section (`…/assault-0028`, `…/threaten-0028`), so
the id alone is not evidence: the texts must also resemble (`dedup.update_threshold`, on
`newsmon.dedup.update_score`). This script measures where that threshold can sit.

Updates in place (must stay linked):
* rss_may2025: the Sky News entries that keep their id under a new headline (feed summary
  as the text, as the pipeline keeps it when there is no page);
* the demo corpus: each later version of an `update_of` chain against every earlier one
  (the pipeline compares a new version with the group's earliest, canonical one), pages
  rendered and extracted as the pipeline does.

Different articles (must stay apart; each pair stands for a collision of ids):
* rss_may2025: every two entries of one host that do not share an id (feed summaries);
* the demo corpus: every two articles of one outlet outside one update chain;
* BASIL: every two articles of one outlet on different events (full text);
* ECB+: every two articles of one topic on its two different events of the same kind
  (two rehab admissions, two earthquakes: the `assault` / `threaten` case);
* BASIL, one event reported by two outlets: the hardest negatives, shared quotes and facts
  (they never share a host, but stand for a same-outlet follow-up on the same event).

Third-party sets are read from ../shared/data and skipped when absent. Figures per set for
three rapidfuzz scores of the normalised texts: the word-sequence ratio (what the code uses),
the character ratio and token_set_ratio; then the threshold's decisions.

    .venv/bin/python bench/eval_url_updates.py [--json PATH]
"""

from __future__ import annotations

import argparse
import gzip
import html
import itertools
import json
import platform
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from rapidfuzz import fuzz

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT / "src", ROOT):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from bench.eval_near_duplicates import demo_articles  # noqa: E402
from newsmon.config import DedupSettings  # noqa: E402
from newsmon.dedup import normalise_text, update_score, url_key  # noqa: E402
from newsmon.demo.corpus import load_corpus  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results" / "url_updates.json"

Pair = tuple[str, str, str]  # normalised text a, normalised text b, a label for the listing

SCORES: dict[str, Callable[[str, str], float]] = {
    "words": update_score,
    "chars": lambda a, b: fuzz.ratio(a, b) if a and b else 0.0,
    "token_set": lambda a, b: fuzz.token_set_ratio(a, b) if a and b else 0.0,
}


def _norm(text: str | None) -> str:
    return normalise_text(html.unescape(text or ""))


def demo_sets() -> tuple[list[Pair], list[Pair]]:
    """Update pairs and different-article pairs of the demo corpus (pages as extracted)."""
    corpus = load_corpus()
    built, ids = demo_articles(corpus)
    text = {a.article_id: _norm(a.text) for a in built}
    by_id = {a.id: a for a in corpus.articles}

    def root(a):
        while a.update_of:
            a = by_id[a.update_of]
        return a.id

    updates, others = [], []
    for outlet in corpus.outlets:
        members = [a for a in corpus.articles if a.outlet == outlet]
        for a, b in itertools.combinations(members, 2):
            pair = (text[ids[a.id]], text[ids[b.id]], f"{a.id} / {b.id}")
            (updates if root(a) == root(b) else others).append(pair)
    return updates, others


def rss_sets() -> tuple[list[Pair], list[Pair]] | None:
    """Sky updates and same-host pairs of different entries in rss_may2025 (None if absent)."""
    path = SHARED / "rss_may2025" / "entries.jsonl"
    if not path.exists():
        return None
    rows: dict[str, dict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        rows.setdefault(row["link"], row)  # the same entry archived on two days
    by_host = defaultdict(list)
    for row in rows.values():
        by_host[urlsplit(row["link"]).hostname].append(row)
    updates, others = [], []
    for members in by_host.values():
        for a, b in itertools.combinations(members, 2):
            key = url_key(a["link"])
            pair = (
                _norm(a["description"]),
                _norm(b["description"]),
                f"{a['title']} / {b['title']}",
            )
            (updates if key and key == url_key(b["link"]) else others).append(pair)
    return updates, others


def basil_sets() -> tuple[list[Pair], list[Pair]] | None:
    """BASIL pairs: one outlet on two events, and one event by two outlets (None if absent)."""
    path = SHARED / "basil" / "docs.jsonl"
    if not path.exists():
        return None
    docs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for d in docs:
        d["norm"] = _norm(d["text"])
    same_outlet, same_event = [], []
    for a, b in itertools.combinations(docs, 2):
        pair = (a["norm"], b["norm"], f"{a['title']} / {b['title']}")
        if a["source"].lower() == b["source"].lower() and a["label"] != b["label"]:
            same_outlet.append(pair)
        elif a["label"] == b["label"]:
            same_event.append(pair)
    return same_outlet, same_event


def ecbplus_set() -> list[Pair] | None:
    """ECB+ pairs of one topic on its two different events (None if absent)."""
    path = SHARED / "ecbplus" / "ecbplus_docs.jsonl.gz"
    if not path.exists():
        return None
    with gzip.open(path, "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    by_topic = defaultdict(list)
    for d in docs:
        d["norm"] = _norm(d["text"])
        by_topic[d["topic"]].append(d)
    return [
        (a["norm"], b["norm"], f"{a['doc']} / {b['doc']}")
        for members in by_topic.values()
        for a, b in itertools.combinations(members, 2)
        if a["subtopic"] != b["subtopic"]
    ]


def _quantile(values: list[float], q: float) -> float:
    return values[round(q * (len(values) - 1))]


def describe(pairs: list[Pair]) -> dict:
    """Per score: min, median, 99th percentile, max, and the extreme pair's label."""
    out = {}
    for name, score in SCORES.items():
        scored = sorted((score(a, b), label) for a, b, label in pairs)
        values = [s for s, _ in scored]
        out[name] = {
            "min": round(values[0], 1),
            "median": round(_quantile(values, 0.5), 1),
            "p99": round(_quantile(values, 0.99), 1),
            "max": round(values[-1], 1),
            "lowest": scored[0][1],
            "highest": scored[-1][1],
            "values": [round(v, 1) for v in values] if len(values) <= 10 else None,
        }
    return out


def evaluate(settings: DedupSettings | None = None) -> dict:
    """Score distributions of update pairs and different-article pairs, and the threshold's
    decisions (updates kept, different pairs rejected) on each set present."""
    threshold = (settings or DedupSettings()).update_threshold
    sets: dict[str, tuple[str, list[Pair]]] = {}
    demo_updates, demo_others = demo_sets()
    rss = rss_sets()
    basil = basil_sets()
    ecb = ecbplus_set()
    if rss:
        sets["rss_may2025 Sky updates"] = ("update", rss[0])
    sets["demo updates"] = ("update", demo_updates)
    if rss:
        sets["rss_may2025 same host"] = ("different", rss[1])
    sets["demo same outlet"] = ("different", demo_others)
    if basil:
        sets["BASIL same outlet"] = ("different", basil[0])
    if ecb:
        sets["ECB+ same topic, other event"] = ("different", ecb)
    if basil:
        sets["BASIL same event, 2 outlets"] = ("hardest", basil[1])
    result: dict = {"threshold": threshold, "sets": {}}
    for name, (kind, pairs) in sets.items():
        words = [update_score(a, b) for a, b, _ in pairs]
        passed = sum(w >= threshold for w in words)
        result["sets"][name] = {
            "kind": kind,
            "pairs": len(pairs),
            "at_or_above_threshold": passed,
            "scores": describe(pairs),
        }
    by_kind = defaultdict(list)
    for fig in result["sets"].values():
        by_kind[fig["kind"]].append(fig)
    result["gap"] = {
        name: {
            "lowest_update": min(f["scores"][name]["min"] for f in by_kind["update"]),
            "highest_different": max(f["scores"][name]["max"] for f in by_kind["different"]),
            "highest_hardest": max(
                (f["scores"][name]["max"] for f in by_kind["hardest"]), default=None
            ),
        }
        for name in SCORES
    }
    updates = by_kind["update"]
    result["updates_kept"] = [sum(f["at_or_above_threshold"] for f in updates)]
    result["updates_kept"].append(sum(f["pairs"] for f in updates))
    others = by_kind["different"] + by_kind["hardest"]
    result["different_rejected"] = [sum(f["pairs"] - f["at_or_above_threshold"] for f in others)]
    result["different_rejected"].append(sum(f["pairs"] for f in others))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    r = evaluate()
    for absent, folder in (
        ("rss_may2025 Sky updates", "rss_may2025"),
        ("BASIL same outlet", "basil"),
        ("ECB+ same topic, other event", "ecbplus"),
    ):
        if absent not in r["sets"]:
            print(f"{folder}: skipped (../shared/data absent)")
    print(
        f"{'set':30} {'kind':9} {'pairs':>6}  "
        + "  ".join(f"{n + ' min/med/p99/max':>30}" for n in SCORES)
    )
    for name, fig in r["sets"].items():
        cells = "  ".join(
            f"{'/'.join(f'{s[k]:.0f}' for k in ('min', 'median', 'p99', 'max')):>30}"
            for s in fig["scores"].values()
        )
        print(f"{name:30} {fig['kind']:9} {fig['pairs']:6}  {cells}")
    for name, fig in r["sets"].items():
        if fig["kind"] == "update":
            print(f"{name}: word scores {fig['scores']['words']['values']}")
    print("lowest update vs highest different-article pair (hardest set in brackets):")
    for name, gap in r["gap"].items():
        hardest = "" if gap["highest_hardest"] is None else f" ({gap['highest_hardest']})"
        print(
            f"  {name:10} lowest update {gap['lowest_update']:5.1f}   "
            f"highest different {gap['highest_different']:5.1f}{hardest}"
        )
    words = r["gap"]["words"]
    print(
        f"threshold (dedup.update_threshold, word ratio): {r['threshold']:g}; "
        f"updates kept {r['updates_kept'][0]}/{r['updates_kept'][1]}, "
        f"different pairs rejected {r['different_rejected'][0]:,}/{r['different_rejected'][1]:,}"
    )
    for name, fig in r["sets"].items():
        verb = "kept" if fig["kind"] == "update" else "linked (false)"
        print(f"   {name:30} {verb:15} {fig['at_or_above_threshold']}/{fig['pairs']}")
    ok = (
        r["updates_kept"][0] == r["updates_kept"][1]
        and r["different_rejected"][0] == r["different_rejected"][1]
        and words["lowest_update"] >= r["threshold"] > words["highest_different"]
    )
    print(f"goal every update kept, every different pair rejected: {'PASS' if ok else 'FAIL'}")
    r["machine"] = platform.platform()
    for path in filter(None, (RESULTS, args.json)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(r, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
