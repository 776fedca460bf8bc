"""Evaluate the development stage: the team's labelled sentences, the demo corpus, and speed.

Labelled set (bench/data/developments_labelled.jsonl, see bench/data/README.md): one sentence
per line with its publication date and gold developments. Split by id: the number in the id
modulo 3 == 0 is `test` (a third), the rest `dev`. Rules are tuned on dev only; test is reported
for the record and its floors are pinned in tests/test_developments.py.

Protocol:
* Extractor: `DevelopmentExtractor` on the full model of `NlpSettings().models` (parser and
  lemmatizer on), with the entity stage (`EntityExtractor`) on the watch list of
  /work/main/sources.yaml sharing that model, so actors carry canonical names. It reads as the
  pipeline does: a NER pass over the text, then the parse of the sentences a trigger could match.
* Matching: a predicted development matches a gold one of the same kind in the same sentence
  (at most one-to-one; a pair with the same stance is preferred). Unmatched predictions are
  false positives (hard negatives have no gold), unmatched gold are false negatives.
* Per kind: precision, recall, F1; macro-F1 is the mean F1 over the taxonomy's kinds.
* Stance accuracy: over matched pairs. Quantity exact match: over matched gold developments
  that have a quantity (equal numbers). Informative: quantities predicted where gold has none,
  unit agreement, actor set exact match and actor recall (case-insensitive names), date match.

Goal: macro-F1 >= 0.8, stance accuracy >= 0.8, quantity exact match >= 0.9.

Demo corpus: every article (headline + body, its publication date) with the watch list. The
first Istanbul round (articles of 16 May) must yield talks that occurred, a ceasefire that was
not agreed (rejected or denied, and no agreed one), a prisoner exchange agreed with quantity
1000 and unit prisoners, and sanctions called for; the articles of 23-25 May must yield the
exchange as occurred. Speed: documents per second over the demo corpus, as run and with a full
parse of every text (the former way).

    .venv/bin/python bench/eval_developments.py [--split dev|test|both] [--errors] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

from newsmon.config import NlpSettings, load_sources
from newsmon.demo.corpus import load_corpus
from newsmon.developments import DevelopmentExtractor, load_taxonomy
from newsmon.entities import EntityExtractor, article_text, load_model

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "bench" / "data" / "developments_labelled.jsonl"
RESULTS = ROOT / "bench" / "results" / "developments.json"
SOURCES = ROOT / "sources.yaml"
FIRST_ROUND = date(2025, 5, 16)
EXCHANGE_DAYS = (date(2025, 5, 23), date(2025, 5, 25))


def load_labelled(path: Path = LABELLED) -> list[dict]:
    """The labelled sentences, in file order."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def split_of(item: dict) -> str:
    """'test' for a third of the ids (number mod 3 == 0), 'dev' for the rest."""
    return "test" if int(item["id"].rsplit("-", 1)[1]) % 3 == 0 else "dev"


def build(settings: NlpSettings | None = None):
    """One full model shared by the entity and development stages."""
    settings = settings or NlpSettings()
    nlp = load_model(settings.models)
    topics = load_sources(SOURCES).topics
    return DevelopmentExtractor(nlp, settings=settings), EntityExtractor(topics, settings, nlp=nlp)


def _pairs(gold: list[dict], predicted: list) -> list[tuple[dict, object]]:
    """One-to-one pairs of one kind, same stance first."""
    pairs, free = [], list(predicted)
    for wanted_same in (True, False):
        for g in gold:
            if any(g is p[0] for p in pairs):
                continue
            for p in free:
                if not wanted_same or p.stance == g["stance"]:
                    pairs.append((g, p))
                    free.remove(p)
                    break
    return pairs


def evaluate(extractor, entities, items: list[dict], errors: list | None = None) -> dict:
    """Figures of one split (see the module docstring)."""
    predictions = extractor.extract(
        [it["text"] for it in items],
        published=[date.fromisoformat(it["published"]) for it in items],
        entity_extractor=entities,
    )
    kinds = [k.label for k in extractor.taxonomy.kinds]
    counts = {k: Counter() for k in kinds}
    stance_ok = stance_n = qty_ok = qty_n = qty_spurious = unit_ok = unit_n = 0
    actor_exact = actor_n = actor_found = actor_gold = date_ok = date_n = 0
    for item, found in zip(items, predictions, strict=True):
        by_kind_gold, by_kind_pred = defaultdict(list), defaultdict(list)
        for g in item["developments"]:
            by_kind_gold[g["kind"]].append(g)
        for p in found:
            by_kind_pred[p.kind].append(p)
        for kind in set(by_kind_gold) | set(by_kind_pred):
            gold, pred = by_kind_gold[kind], by_kind_pred[kind]
            pairs = _pairs(gold, pred)
            counts.setdefault(kind, Counter())
            counts[kind]["tp"] += len(pairs)
            counts[kind]["fp"] += len(pred) - len(pairs)
            counts[kind]["fn"] += len(gold) - len(pairs)
            if errors is not None:
                for g in gold:
                    if not any(g is a for a, _ in pairs):
                        errors.append((item["id"], "missed", kind, g["stance"], item["text"]))
                for p in pred:
                    if not any(p is b for _, b in pairs):
                        errors.append((item["id"], "spurious", kind, p.stance, item["text"]))
            for g, p in pairs:
                stance_n += 1
                stance_ok += g["stance"] == p.stance
                if errors is not None and g["stance"] != p.stance:
                    errors.append(
                        (item["id"], f"stance {p.stance} != {g['stance']}", kind, "", item["text"])
                    )
                if g["quantity"] is not None:
                    qty_n += 1
                    good = p.quantity is not None and abs(p.quantity - g["quantity"]) < 1e-6
                    qty_ok += good
                    if errors is not None and not good:
                        errors.append(
                            (
                                item["id"],
                                f"quantity {p.quantity} != {g['quantity']}",
                                kind,
                                "",
                                item["text"],
                            )
                        )
                elif p.quantity is not None:
                    qty_spurious += 1
                    if errors is not None:
                        errors.append(
                            (
                                item["id"],
                                f"quantity {p.quantity} {p.unit} spurious",
                                kind,
                                "",
                                item["text"],
                            )
                        )
                if g["unit"] is not None and p.unit is not None:
                    unit_n += 1
                    unit_ok += g["unit"] == p.unit
                want = {a.casefold() for a in g["actors"]}
                got = {a.name.casefold() for a in p.actors}
                actor_n += 1
                actor_exact += want == got
                actor_gold += len(want)
                actor_found += len(want & got)
                date_n += 1
                date_ok += (g["occurred_on"] or None) == (
                    p.occurred_on.isoformat() if p.occurred_on else None
                )
    per_kind = {}
    for kind in kinds:
        c = counts[kind]
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_kind[kind] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "gold": c["tp"] + c["fn"],
            "predicted": c["tp"] + c["fp"],
        }
    return {
        "sentences": len(items),
        "hard_negatives": sum(1 for it in items if not it["developments"]),
        "per_kind": per_kind,
        "macro_f1": sum(v["f1"] for v in per_kind.values()) / len(per_kind),
        "stance_accuracy": stance_ok / stance_n if stance_n else 0.0,
        "matched": stance_n,
        "quantity_exact": qty_ok / qty_n if qty_n else 0.0,
        "quantities": qty_n,
        "quantity_spurious": qty_spurious,
        "unit_agreement": unit_ok / unit_n if unit_n else 0.0,
        "actor_exact": actor_exact / actor_n if actor_n else 0.0,
        "actor_recall": actor_found / actor_gold if actor_gold else 0.0,
        "date_accuracy": date_ok / date_n if date_n else 0.0,
    }


def print_split(name: str, figures: dict) -> None:
    print(
        f"\n== {name}: {figures['sentences']} sentences ({figures['hard_negatives']} hard negatives)"
    )
    print(f"  {'kind':<20} {'prec':>6} {'rec':>6} {'F1':>6} {'gold':>5} {'pred':>5}")
    for kind, v in figures["per_kind"].items():
        print(
            f"  {kind:<20} {v['precision']:>6.3f} {v['recall']:>6.3f} {v['f1']:>6.3f} "
            f"{v['gold']:>5} {v['predicted']:>5}"
        )
    print(f"  macro-F1 on kind          {figures['macro_f1']:.3f}   (goal >= 0.8)")
    print(
        f"  stance accuracy           {figures['stance_accuracy']:.3f}   over {figures['matched']} matched (goal >= 0.8)"
    )
    print(
        f"  quantity exact match      {figures['quantity_exact']:.3f}   over {figures['quantities']} gold quantities (goal >= 0.9)"
    )
    print(f"  quantity where gold none  {figures['quantity_spurious']}")
    print(f"  unit agreement            {figures['unit_agreement']:.3f}")
    print(
        f"  actor set exact / recall  {figures['actor_exact']:.3f} / {figures['actor_recall']:.3f}   (informative)"
    )
    print(f"  date accuracy             {figures['date_accuracy']:.3f}   (informative)")


def _line(d) -> str:
    qty = f" {d.quantity:g} {d.unit}" if d.quantity is not None else ""
    actors = ", ".join(a.name for a in d.actors) or "-"
    return (
        f"{d.kind}/{d.stance} [{d.plover_category}{'/' + d.plover_mode if d.plover_mode else ''}]"
        f"{qty} actors: {actors} on {d.occurred_on} | {d.sentence[:110]}"
    )


def demo(extractor, entities) -> dict:
    """Developments of the demo corpus and the first-round / exchange expectations."""
    articles = load_corpus().articles
    texts = [article_text(a.title, a.body) for a in articles]
    days = [a.published.date() for a in articles]
    found = extractor.extract(texts, published=days, entity_extractor=entities)
    first = [
        d
        for a, devs in zip(articles, found, strict=True)
        if a.published.date() == FIRST_ROUND
        for d in devs
    ]
    exchange = [
        d
        for a, devs in zip(articles, found, strict=True)
        if EXCHANGE_DAYS[0] <= a.published.date() <= EXCHANGE_DAYS[1]
        for d in devs
    ]

    def has(devs, kind, stances, **extra):
        return any(
            d.kind == kind
            and d.stance in stances
            and all(getattr(d, k) == v for k, v in extra.items())
            for d in devs
        )

    expectations = {
        "16 May: talks occurred": has(first, "talks", {"occurred"}),
        "16 May: ceasefire not agreed (rejected/denied, none agreed)": has(
            first, "ceasefire", {"rejected", "denied"}
        )
        and not has(first, "ceasefire", {"agreed"}),
        "16 May: prisoner_exchange agreed, 1000 prisoners": has(
            first, "prisoner_exchange", {"agreed"}, quantity=1000.0, unit="prisoners"
        ),
        "16 May: sanctions called_for": has(first, "sanctions", {"called_for"}),
        "23-25 May: prisoner_exchange occurred": has(exchange, "prisoner_exchange", {"occurred"}),
    }
    print(f"\n== demo corpus: {len(articles)} articles, {sum(len(f) for f in found)} developments")
    print("  16 May (first Istanbul round):")
    for d in first:
        if d.kind in ("talks", "ceasefire", "prisoner_exchange", "sanctions"):
            print("    " + _line(d))
    print("  23-25 May (the exchange):")
    for d in exchange:
        if d.kind == "prisoner_exchange":
            print("    " + _line(d))
    for name, ok in expectations.items():
        print(f"  {name}: {'PASS' if ok else 'FAIL'}")
    counts = Counter((d.kind, d.stance) for devs in found for d in devs)
    return {
        "articles": len(articles),
        "developments": sum(len(f) for f in found),
        "by_kind_stance": {f"{k}/{s}": n for (k, s), n in sorted(counts.items())},
        "expectations": expectations,
    }


def speed(extractor, entities, repeat: int = 3) -> dict:
    """Throughput on the demo corpus: the stage as run beside a full parse of every text.

    As run (`entities.TextAnalyser`): the NER pass (tokens, senter, recogniser), the entity
    stage, then the development stage, which parses only the sentences a trigger could match.
    For comparison, the former way: the whole pipeline (tagger, parser, lemmatizer, NER) over
    every text, then the entity stage and the rules on every sentence.
    """
    articles = load_corpus().articles
    texts = [article_text(a.title, a.body) for a in articles] * repeat
    days = [a.published.date() for a in articles] * repeat
    size = extractor.settings.batch_size
    seen, selected = extractor.filter.seen, extractor.filter.selected
    started = time.perf_counter()
    docs = list(extractor.ner_docs(texts))
    ner_done = time.perf_counter()
    ents = [entities.from_doc(doc) for doc in docs]
    matched = time.perf_counter()
    found = []
    for first in range(0, len(docs), size):
        part = slice(first, first + size)
        found += extractor.from_ner_docs(docs[part], ents[part], days[part])
    done = time.perf_counter()
    sentences = extractor.filter.seen - seen
    parsed = extractor.filter.selected - selected
    full_started = time.perf_counter()
    full_docs = list(extractor.nlp.pipe(texts, batch_size=size))
    full_parsed = time.perf_counter()
    full_found = [
        extractor.from_doc(doc, entities.from_doc(doc), day)
        for doc, day in zip(full_docs, days, strict=True)
    ]
    full_done = time.perf_counter()
    n = len(docs)
    figures = {
        "documents": n,
        "sentences": sentences,
        "sentences_parsed": parsed,
        "developments": sum(len(f) for f in found),
        "ms_per_doc_ner_pass": 1000 * (ner_done - started) / n,
        "ms_per_doc_entity_stage": 1000 * (matched - ner_done) / n,
        "ms_per_doc_development_stage": 1000 * (done - matched) / n,
        "docs_per_second": n / (done - started),
        "full_parse_ms_per_doc": 1000 * (full_parsed - full_started) / n,
        "full_parse_rules_ms_per_doc": 1000 * (full_done - full_parsed) / n,
        "full_parse_docs_per_second": n / (full_done - full_started),
        "full_parse_developments": sum(len(f) for f in full_found),
    }
    print(f"\n== speed: demo corpus x{repeat} = {n} documents, {sentences} sentences")
    print(
        f"  as run: NER pass {figures['ms_per_doc_ner_pass']:.1f} ms/doc, entity stage "
        f"{figures['ms_per_doc_entity_stage']:.1f}, development stage (pre-filter, parse of "
        f"{parsed} sentences = {100 * parsed / max(1, sentences):.0f} %, rules) "
        f"{figures['ms_per_doc_development_stage']:.1f}: {figures['docs_per_second']:.1f} docs/s"
    )
    print(
        f"  full parse of every text (the former way): parse {figures['full_parse_ms_per_doc']:.1f}"
        f" ms/doc, entities + rules {figures['full_parse_rules_ms_per_doc']:.1f}:"
        f" {figures['full_parse_docs_per_second']:.1f} docs/s"
    )
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test", "both"), default="both")
    parser.add_argument("--errors", action="store_true", help="list the errors of the dev split")
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args(argv)

    extractor, entities = build()
    taxonomy = load_taxonomy()
    items = load_labelled()
    print(f"taxonomy: {', '.join(k.label for k in taxonomy.kinds)}")
    results: dict = {"labelled": str(LABELLED.relative_to(ROOT))}
    for split in ("dev", "test"):
        if args.split not in (split, "both"):
            continue
        chosen = [it for it in items if split_of(it) == split]
        errors = [] if args.errors and split == "dev" else None
        figures = evaluate(extractor, entities, chosen, errors)
        print_split(split, figures)
        results[split] = figures
        for e in errors or []:
            print("   ", *e)
    if not args.no_demo:
        results["demo"] = demo(extractor, entities)
    if not args.no_speed:
        results["speed"] = speed(extractor, entities)
    if args.split == "both" and args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
        print(
            f"\nwrote {args.json.relative_to(ROOT) if args.json.is_relative_to(ROOT) else args.json}"
        )
    return results


if __name__ == "__main__":
    main()
